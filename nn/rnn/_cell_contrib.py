"""MXNet Gluon 1.9's ``gluon.contrib.rnn`` (``kiln.gluon.contrib.rnn`` is this module):
``LSTMPCell`` and ``VariationalDropoutCell`` (the same classes as ``kiln.gluon.rnn``'s), the
convolutional cells ``Conv{1,2,3}D{RNN,LSTM,GRU}Cell``, and the submodules ``rnn_cell``
(with ``dynamic_unroll``) and ``conv_rnn_cell``.

Example::

    >>> from kiln.gluon.contrib import rnn
    >>> rnn.LSTMPCell(8, 4, input_size=3)
    LSTMPCell(3 -> 32 -> 4)
"""
from . import _cell_conv as conv_rnn_cell
from . import _contrib_cells as rnn_cell
from ._cell_basic import LSTMPCell
from ._cell_conv import (
    Conv1DGRUCell,
    Conv1DLSTMCell,
    Conv1DRNNCell,
    Conv2DGRUCell,
    Conv2DLSTMCell,
    Conv2DRNNCell,
    Conv3DGRUCell,
    Conv3DLSTMCell,
    Conv3DRNNCell,
)
from ._cell_modifiers import VariationalDropoutCell

__all__ = ["LSTMPCell", "VariationalDropoutCell", "Conv1DRNNCell", "Conv2DRNNCell",
           "Conv3DRNNCell", "Conv1DLSTMCell", "Conv2DLSTMCell", "Conv3DLSTMCell",
           "Conv1DGRUCell", "Conv2DGRUCell", "Conv3DGRUCell", "rnn_cell", "conv_rnn_cell"]
