"""``kiln.model_zoo`` (also ``kiln.gluon.model_zoo``): predefined networks and the local store
of their pretrained parameters (MXNet Gluon 1.9's ``gluon.model_zoo``).

Example::

    >>> from kiln.gluon import model_zoo
    >>> net = model_zoo.vision.get_model('mobilenet0.25', classes=10)
    >>> bert = model_zoo.get_model('bert_12_768_12')
"""
from . import model_store, text, vision


def get_model(name, **kwargs):
    """A vision or text model by registry name (``vision.get_model``, ``text.get_model``).

    Example::

        >>> type(get_model('bert_2_128_2')).__name__
        'BERTModel'
    """
    if name.lower() in text._MODELS:
        return text.get_model(name, **kwargs)
    if name.lower() not in vision._MODELS:
        raise ValueError("Model %s is not supported. Available options are\n\t%s" % (
            name, "\n\t".join(sorted(vision._MODELS) + sorted(text._MODELS))))
    return vision.get_model(name, **kwargs)


__all__ = ["vision", "text", "model_store", "get_model"]
