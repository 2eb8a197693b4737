"""``kiln.nn.rnn`` (also ``kiln.gluon.rnn``): recurrent layers (``RNN``, ``LSTM``, ``GRU``: one
fused op over the whole sequence) and cells (``RNNCell``, ``LSTMCell``... stepped or unrolled),
with MXNet Gluon 1.9's names, parameter names and semantics.

Example::

    >>> from kiln.gluon import rnn
    >>> cell = rnn.LSTMCell(20)
"""
# ruff: noqa: F401
from .rnn_cell import *  # noqa: F403
from .rnn_cell import __all__ as _cell_all
from .rnn_layer import *  # noqa: F403
from .rnn_layer import __all__ as _layer_all

__all__ = list(_cell_all) + list(_layer_all)
