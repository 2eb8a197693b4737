"""``kiln.gluon.contrib``: MXNet Gluon 1.9's contrib namespace.

* ``contrib.rnn``: ``LSTMPCell``, ``VariationalDropoutCell``, the ``Conv{1,2,3}D{RNN,LSTM,GRU}Cell``
  convolutional cells and ``rnn_cell.dynamic_unroll`` (``kiln.nn.rnn._cell_contrib``);
* ``contrib.nn``: ``Concurrent``, ``HybridConcurrent``, ``Identity``, ``PixelShuffle1D/2D/3D``,
  ``SyncBatchNorm`` (``kiln.kvstore.sync_batchnorm``);
* ``contrib.cnn``: ``DeformableConvolution``, ``ModulatedDeformableConvolution``;
* ``contrib.data``: ``IntervalSampler``;
* ``contrib.estimator``: ``Estimator`` and its event handlers (a training loop with logging,
  validation, checkpoints and early stopping).

Example::

    >>> from kiln.gluon.contrib import rnn
    >>> cell = rnn.VariationalDropoutCell(kiln.gluon.rnn.GRUCell(4), drop_inputs=0.1)
"""
from ...nn.rnn import _cell_contrib as rnn
from . import cnn, data, estimator, nn

__all__ = ["rnn", "nn", "cnn", "data", "estimator"]
