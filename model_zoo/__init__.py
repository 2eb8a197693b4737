"""``kiln.model_zoo`` (also ``kiln.gluon.model_zoo``): predefined networks and the local store
of their pretrained parameters (MXNet Gluon 1.9's ``gluon.model_zoo``).

Example::

    >>> from kiln.gluon import model_zoo
    >>> net = model_zoo.vision.get_model('mobilenet0.25', classes=10)
    >>> bert = model_zoo.get_model('bert_12_768_12')
"""
from . import model_store, text, vision
from ._names import build


def get_model(name, **kwargs):
    """A vision or text model by registry name (``vision.get_model``, ``text.get_model``).

    Example::

        >>> type(get_model('bert_2_128_2')).__name__
        'BERTModel'
    """
    return build({**vision._MODELS, **text._MODELS}, name, **kwargs)


__all__ = ["vision", "text", "model_store", "get_model"]
