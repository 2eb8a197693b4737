"""``kiln.gluon.contrib``: MXNet Gluon 1.9's contrib namespace; ``contrib.rnn`` holds
``LSTMPCell`` and ``VariationalDropoutCell`` (``kiln.nn.rnn._cell_contrib``).

Example::

    >>> from kiln.gluon.contrib import rnn
    >>> cell = rnn.VariationalDropoutCell(kiln.gluon.rnn.GRUCell(4), drop_inputs=0.1)
"""
from ..nn.rnn import _cell_contrib as rnn

__all__ = ["rnn"]
