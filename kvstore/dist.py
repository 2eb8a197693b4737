"""The dist kvstores: 'dist_sync' (MPI), 'dist_device_sync' (NCCL for GPU arrays) and
'horovod'.

Every rank holds a replica of each stored array. ``push`` sums the values of this process's
devices, allreduces the sums across ranks (one bucketed call per ``push``/``pushpull`` of a key
list), then stores the total or applies the optimizer to the stored weight; every rank applies
the same update to the same numbers, so the replicas stay equal without a server. ``init`` (and
so ``broadcast``) stores rank 0's value on every rank.

The first push of a set of keys checks that every rank pushes the same keys, shapes and dtypes
(a mismatch raises naming both ranks instead of corrupting or hanging).

Example (run under ``mpirun -n 2``)::

    >>> kv = kiln.kv.create('dist_sync'); kv.rank, kv.num_workers
    (0, 2)
"""
import numpy as np

from ..ndarray.ndarray import NDArray
from . import base
from .base import KVStoreError
from .comm import MPIComm
from .local import KVStore

__all__ = ["DistKVStore"]


class DistKVStore(KVStore):
    """A store shared by the processes of an MPI job; see the module docstring."""

    def __init__(self, name="dist_sync"):
        super().__init__(name)
        self._comm = MPIComm.world()
        self._nccl = None
        self._checked = set()  # key-set signatures already checked across ranks

    @property
    def rank(self):
        """This process's rank in the MPI job."""
        return self._comm.rank

    @property
    def num_workers(self):
        """The number of processes in the MPI job."""
        return self._comm.size

    @property
    def local_rank(self):
        """This process's rank among those of its host: use ``kiln.gpu(kv.local_rank)``."""
        return self._comm.local_rank

    @property
    def allreduce_seconds(self):
        """Seconds spent in cross-process allreduces so far (for benchmarks)."""
        return self._comm.seconds

    def is_capable(self, capability):
        """'horovod' leaves the optimizer to the workers (as MXNet's Horovod store)."""
        if capability.lower() == "optimizer" and self._type == "horovod":
            return False
        return super().is_capable(capability)

    def _barrier(self):
        """Wait for every rank (deadline: ``KILN_KVSTORE_TIMEOUT``)."""
        self._comm.barrier("kvstore barrier")

    def _initial(self, key, value):
        data = value._data.copy()
        comm = self._host_comm() if _is_host(data) else self._device_comm()
        comm.bcast_([data], root=0, what=f"init of key {key!r}")
        return NDArray(data, value.context)

    def _allreduce(self, keys, merged):
        self._check_same(keys, merged, "push")
        host = [m._data for m in merged if _is_host(m._data)]
        dev = [m._data for m in merged if not _is_host(m._data)]
        what = f"allreduce of {len(keys)} key(s) starting with {keys[0]!r}" if keys else ""
        if host:
            self._host_comm().allreduce_(host, what)
        if dev:
            self._device_comm().allreduce_(dev, what)

    def init(self, key, value):
        """Store rank 0's ``value`` under ``key`` on every rank (after checking that every rank
        inits the same keys, shapes and dtypes)."""
        pairs = self._pairs(key, value, "init")
        self._check_same([k for k, _ in pairs], [v[0] for _, v in pairs], "init")
        super().init(key, value)

    def _check_same(self, keys, arrays, what="push"):
        lines = [f"{k!r}: {tuple(a.shape)} {np.dtype(a.dtype).name}" for k, a in zip(keys, arrays)]
        sig = "\n".join(lines)
        if sig in self._checked:
            return
        found = self._comm.allgather(sig, f"the key check of a {what}")
        for other, theirs in enumerate(found):
            if theirs != sig:
                mine, them = _first_difference(lines, theirs.split("\n"))
                raise KVStoreError(
                    f"kvstore {self._type}: every rank must {what} the same keys, shapes and "
                    f"dtypes in the same order; rank {self.rank} has {mine} where rank {other} "
                    f"has {them}")
        self._checked.add(sig)

    def _host_comm(self):
        return self._comm

    def _device_comm(self):
        """NCCL through cupy for GPU arrays ('dist_device_sync'), else MPI via host copies."""
        if self._nccl is None:
            from .nccl import NCCLComm, StagedComm
            self._nccl = NCCLComm(self._comm) if self._type == "dist_device_sync" \
                else StagedComm(self._comm)
        return self._nccl


def _first_difference(mine, theirs):
    for a, b in zip(mine, theirs):
        if a != b:
            return a, b
    n, m = len(mine), len(theirs)
    return (f"{n} keys", f"{m} keys")


def _is_host(data):
    return type(data).__module__.split(".")[0] == "numpy"


for _name in ("dist_sync", "dist", "dist_sync_device", "dist_device_sync", "horovod"):
    base._TYPES[_name] = DistKVStore
