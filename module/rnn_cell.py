"""``kiln.rnn``: MXNet 1.x's symbolic recurrent cells, the pre-Gluon API that builds
``kiln.sym`` graphs for a Module: the stepping cells and ``RNNParams`` (rnn_cell_basic.py),
``FusedRNNCell`` (rnn_cell_fused.py), ``SequentialRNNCell``, ``BidirectionalCell`` and
``DropoutCell`` (rnn_cell_stack.py). For Gluon code use ``gluon.rnn`` instead.

Example::

    >>> stack = rnn.SequentialRNNCell()
    >>> stack.add(rnn.LSTMCell(4, prefix="l0_"))
    >>> outs, states = stack.unroll(3, sym.var("data"), merge_outputs=True)
    >>> outs.infer_shape(data=(2, 3, 5))[1]    # the begin states' batch learnt at bind
    [(2, 3, 4)]
"""
from .rnn_cell_basic import BaseRNNCell, GRUCell, LSTMCell, RNNCell, RNNParams
from .rnn_cell_fused import FusedRNNCell
from .rnn_cell_stack import BidirectionalCell, DropoutCell, SequentialRNNCell

__all__ = ["RNNParams", "BaseRNNCell", "RNNCell", "LSTMCell", "GRUCell", "FusedRNNCell",
           "SequentialRNNCell", "BidirectionalCell", "DropoutCell"]
