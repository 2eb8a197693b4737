"""``kiln.model_zoo`` (also ``kiln.gluon.model_zoo``): predefined networks and the local store
of their pretrained parameters (MXNet Gluon 1.9's ``gluon.model_zoo``).

Example::

    >>> from kiln.gluon import model_zoo
    >>> net = model_zoo.vision.get_model('mobilenet0.25', classes=10)
"""
from . import model_store, vision
from .vision import get_model

__all__ = ["vision", "model_store", "get_model"]
