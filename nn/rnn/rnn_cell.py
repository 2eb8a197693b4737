"""Recurrent cells (MXNet Gluon 1.9 ``gluon.rnn.*Cell``; ``LSTMPCell`` and
``VariationalDropoutCell`` are ``gluon.contrib.rnn`` there and both here).

The cells live in private modules: the bases and unroll helpers (``_cell_base``), the gated
cells (``_cell_basic``), stacks and the bidirectional cell (``_cell_stack``), dropout and the
modifier cells (``_cell_modifiers``).

Example::

    >>> from kiln.gluon import rnn
    >>> cell = rnn.LSTMCell(8); cell.initialize()
    >>> out, states = cell.unroll(3, kiln.nd.ones((2, 3, 4)), merge_outputs=True)
    >>> out.shape
    (2, 3, 8)
"""
from ._cell_base import HybridRecurrentCell, RecurrentCell
from ._cell_basic import GRUCell, LSTMCell, LSTMPCell, RNNCell
from ._cell_modifiers import (
    DropoutCell,
    ModifierCell,
    ResidualCell,
    VariationalDropoutCell,
    ZoneoutCell,
)
from ._cell_stack import BidirectionalCell, HybridSequentialRNNCell, SequentialRNNCell

__all__ = ["RecurrentCell", "HybridRecurrentCell", "RNNCell", "LSTMCell", "GRUCell",
           "SequentialRNNCell", "HybridSequentialRNNCell", "DropoutCell", "ModifierCell",
           "ZoneoutCell", "ResidualCell", "BidirectionalCell", "LSTMPCell",
           "VariationalDropoutCell"]
