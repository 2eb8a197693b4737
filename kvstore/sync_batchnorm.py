"""SyncBatchNorm: BatchNorm whose batch statistics cover the batch of every process of the
dist kvstore (MXNet's ``gluon.contrib.nn.SyncBatchNorm``).

In training mode, forward sums each channel's ``sum(x)``, ``sum(x*x)`` and count across the
ranks (one allreduce), so every rank normalizes with the global batch's mean and biased
variance and updates the running statistics with them; backward sums ``sum(dy)`` and
``sum(dy * x_hat)`` across the ranks for the input gradient. gamma's and beta's gradients stay
local sums: the Trainer's store adds them up like every other gradient. Without a dist store
of several processes (or in predict mode, or with ``use_global_stats``) it is BatchNorm,
hybridizable; the synchronized path runs eagerly (a block holding it cannot be hybridized
for training across processes: it says so).

Example (under ``mpirun -n 2``, after ``kiln.kv.create('dist_sync')``)::

    >>> bn = SyncBatchNorm(in_channels=3); bn.initialize()
    >>> with kiln.autograd.record():
    ...     y = bn(x_of_this_rank)            # normalized with both ranks' statistics
"""
import numpy as np

from .. import autograd
from ..base import MXNetError
from ..ndarray._derived import thaw
from ..ndarray.ndarray import NDArray
from ..nn.basic_layers import BatchNorm
from . import comm as _comm

__all__ = ["SyncBatchNorm"]


class SyncBatchNorm(BatchNorm):
    """BatchNorm over the batches of all ranks; ``num_devices``: the number of processes
    (checked against the MPI job when given; one device per process). Other arguments and
    the parameters are BatchNorm's. Input: (N, C, ...), channels on axis 1.
    """

    def __init__(self, in_channels=0, num_devices=None, momentum=0.9, epsilon=1e-5,
                 center=True, scale=True, use_global_stats=False, beta_initializer="zeros",
                 gamma_initializer="ones", running_mean_initializer="zeros",
                 running_variance_initializer="ones", **kwargs):
        super().__init__(axis=1, momentum=momentum, epsilon=epsilon, center=center,
                         scale=scale, use_global_stats=use_global_stats,
                         beta_initializer=beta_initializer, gamma_initializer=gamma_initializer,
                         running_mean_initializer=running_mean_initializer,
                         running_variance_initializer=running_variance_initializer,
                         in_channels=in_channels, **kwargs)
        self._num_devices = num_devices
        self.comm = None  # set to a communicator to override the MPI world (tests)

    def _sync_comm(self):
        comm = self.comm or (_comm._WORLD[0] if _comm._WORLD else None)
        if self._num_devices not in (None, 1) and (comm is None or
                                                   comm.size != self._num_devices):
            size = 1 if comm is None else comm.size
            raise MXNetError(f"SyncBatchNorm: num_devices={self._num_devices} but the dist "
                             f"kvstore's MPI job has {size} process(es); kiln synchronizes "
                             "the processes of the job (one device each)")
        return comm if comm is not None and comm.size > 1 else None

    def hybrid_forward(self, F, x, gamma, beta, running_mean, running_var):
        comm = self._sync_comm()
        if comm is None or self._kwargs["use_global_stats"] or not autograd.is_training():
            return super().hybrid_forward(F, x, gamma, beta, running_mean, running_var)
        if not isinstance(x, NDArray):
            raise MXNetError(f"SyncBatchNorm {self.name}: the statistics of {comm.size} "
                             "processes are synchronized eagerly; do not hybridize a block "
                             "that holds it for training across processes")
        fn = _SyncBN(comm, self._kwargs, running_mean, running_var)
        return fn(x, gamma, beta)


class _SyncBN(autograd.Function):
    """The synchronized batch normalization of one call (forward then backward)."""

    def __init__(self, comm, kwargs, running_mean, running_var):
        super().__init__()
        self.comm, self.eps, self.momentum = comm, kwargs["eps"], kwargs["momentum"]
        self.fix_gamma = kwargs["fix_gamma"]
        self.running = (running_mean, running_var)

    def forward(self, x, gamma, beta):
        xd = x._data
        axes = (0,) + tuple(range(2, xd.ndim))
        shape = (1, -1) + (1,) * (xd.ndim - 2)
        count = xd.size // xd.shape[1]
        x64 = xd.astype(np.float64)
        sums = np.concatenate([x64.sum(axis=axes), (x64 * x64).sum(axis=axes), [count]])
        self.comm.allreduce_([sums], "SyncBatchNorm statistics")
        c = xd.shape[1]
        total = sums[-1]
        mean = sums[:c] / total
        var = np.maximum(sums[c:2 * c] / total - mean * mean, 0.0)
        inv = 1.0 / np.sqrt(var + self.eps)
        xhat = ((x64 - mean.reshape(shape)) * inv.reshape(shape))
        g = np.ones(c) if self.fix_gamma else gamma._data.astype(np.float64)
        y = xhat * g.reshape(shape) + beta._data.astype(np.float64).reshape(shape)
        m = self.momentum
        for param, batch in zip(self.running, (mean, var)):
            thaw(param._data)   # an inference session may hold it (ndarray/_derived)
            param._data[...] = m * param._data + (1 - m) * batch
        self.saved = (xhat, inv, g, total, axes, shape, xd.dtype, gamma, beta)
        return NDArray(y.astype(xd.dtype), x.context)

    def backward(self, dy):
        xhat, inv, g, total, axes, shape, dtype, gamma, beta = self.saved
        d = dy._data.astype(np.float64)
        g1, g2 = d.sum(axis=axes), (d * xhat).sum(axis=axes)
        both = np.concatenate([g1, g2])
        self.comm.allreduce_([both], "SyncBatchNorm gradients")
        c = g1.size
        big1, big2 = both[:c] / total, both[c:] / total
        dx = (g * inv).reshape(shape) * (d - big1.reshape(shape) - xhat * big2.reshape(shape))
        dgamma = np.zeros_like(g2) if self.fix_gamma else g2
        return (NDArray(dx.astype(dtype), dy.context),
                NDArray(dgamma.astype(gamma.dtype), gamma.context),
                NDArray(g1.astype(beta.dtype), beta.context))
