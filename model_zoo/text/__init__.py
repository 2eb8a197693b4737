"""``kiln.model_zoo.text`` (also ``kiln.gluon.model_zoo.text``): text models with GluonNLP 0.x's
structure: the Transformer encoder-decoder, BERT and the LSTM language models (``lm``).

Construct with random weights (``text.bert_12_768_12()``) or by registry name
(``get_model('transformer_en_de_512', src_vocab_size=32000)``). ``pretrained=True`` never
downloads: it loads ``<root>/<name>.params`` and raises FileNotFoundError naming the path when
the file is missing. A module adding models imports them here and adds lines to ``_MODELS``.

Example::

    >>> from kiln.gluon.model_zoo import text
    >>> net = text.get_model('bert_2_128_2', use_classifier=False); net.initialize()
    >>> seq, pooled = net(kiln.nd.ones((2, 8)), kiln.nd.zeros((2, 8)), kiln.nd.array([8, 5]))
    >>> seq.shape, pooled.shape
    ((2, 8, 128), (2, 128))
"""
# ruff: noqa: F401, F403, F405
import types as _types

from .._names import build as _build
from .attention import *
from .bert import *
from .lm import *
from .transformer import *

_MODELS = {
    "transformer_en_de_512": transformer_en_de_512,
    "transformer_2_64_4": transformer_2_64_4,
    "bert_12_768_12": bert_12_768_12,
    "bert_24_1024_16": bert_24_1024_16,
    "bert_2_128_2": bert_2_128_2,
    "standard_lstm_lm_200": standard_lstm_lm_200,
    "standard_lstm_lm_650": standard_lstm_lm_650,
    "standard_lstm_lm_1500": standard_lstm_lm_1500,
    "awd_lstm_lm_600": awd_lstm_lm_600,
    "awd_lstm_lm_1150": awd_lstm_lm_1150,
}


def get_model(name, **kwargs):
    """A text model by registry name (case-insensitive), e.g. 'bert_12_768_12',
    'transformer_en_de_512'. Keywords go to the constructor (``vocab_size``, ``pretrained``,
    ``root``...). Raises ValueError listing the available names for an unknown one.

    Example::

        >>> type(get_model('bert_2_128_2', vocab_size=50)).__name__
        'BERTModel'
    """
    return _build(_MODELS, name, **kwargs)


__all__ = sorted(n for n, v in dict(globals()).items()
                 if not n.startswith("_") and not isinstance(v, _types.ModuleType))
