"""MXNet Gluon 1.9's ``gluon.contrib.rnn`` cells (``kiln.gluon.contrib.rnn`` is this module):
``LSTMPCell`` and ``VariationalDropoutCell``, the same classes as ``kiln.gluon.rnn``'s. The
convolutional cells (``Conv2DLSTMCell``...) and ``dynamic_unroll`` are not provided.

Example::

    >>> from kiln.gluon.contrib import rnn
    >>> rnn.LSTMPCell(8, 4, input_size=3)
    LSTMPCell(3 -> 32 -> 4)
"""
from ._cell_basic import LSTMPCell
from ._cell_modifiers import VariationalDropoutCell

__all__ = ["LSTMPCell", "VariationalDropoutCell"]
