"""Gradient allreduce overlapped with the backward (the schedule of PyTorch DDP and Horovod).

A dist Trainer registers an ``autograd`` gradient-ready hook on each parameter. The first
step learns the order in which the gradients become ready (rank 0's order is taken by every
rank, so all build the same buckets) and reduces as before; from then on each hook copies its
gradient into its slot of a bucket (flat arrays of one dtype: the first up to 1 MB so that
communication starts early, as DDP's first bucket, the others up to
``KILN_KVSTORE_BUCKET_MB``), and a full bucket goes to a communication thread that allreduces
it on a communicator of its own (MPI_THREAD_MULTIPLE) while the backward goes on. Buckets
start in a fixed order on every rank, so the ranks issue the same collectives whatever order
their hooks fire in. ``step()`` packs what no hook reported (parameters without a gradient
this step: their ``.grad`` is reduced as before), waits, and hands the sums to the update.

The collectives only ever touch the buckets, never ``.grad``: a second backward before the
step (a GAN's discriminator) writes ``.grad`` freely; a bucket sent before a parameter of it
was reported again is sent once more at the step with the current values. Each bucket
carries two tag numbers (t, t*t summed across ranks) so a rank that sent different buckets
raises instead of summing unrelated arrays.

Example (what ``gluon.Trainer`` does on a dist store)::

    >>> ov = GradOverlap(comm.side(), comm.bucket_bytes)
    >>> ov.attach(signature, [(key, param.list_data()[0]) for key, param in ...])
    >>> # ... backward: hooks fill and send buckets ...
    >>> sums = ov.reduce(grads_by_key)     # {key: summed array}; None on the learning step
"""
import queue
import threading
import time
import weakref

import numpy as np

from .. import autograd
from .base import KVStoreError

__all__ = ["GradOverlap", "FIRST_BUCKET_BYTES"]

# the first bucket (the last layers) starts communication early, as DDP's (1 MB, or the
# bucket size if smaller)
FIRST_BUCKET_BYTES = 1 << 20


class _Bucket:
    """Flat float buffer of several gradients; ``filled``: keys packed this step."""

    def __init__(self, index, keys, shapes, dtype):
        self.index, self.keys, self.shapes = index, keys, shapes
        sizes = [int(np.prod(s)) for s in shapes]
        self.offsets = list(np.cumsum([0] + sizes[:-1]))
        self.sizes = sizes
        self.flat = np.empty(sum(sizes) + 2, dtype)  # + the two tag numbers
        self.filled, self.launched, self.stale = set(), False, False
        self.done, self.error, self.tag = threading.Event(), None, 0
        self.done.set()

    def pack(self, pos, data):
        o, n = self.offsets[pos], self.sizes[pos]
        self.flat[o:o + n] = data.reshape(-1)

    def view(self, pos):
        o, n = self.offsets[pos], self.sizes[pos]
        return self.flat[o:o + n].reshape(self.shapes[pos])


class _Worker:
    """The one thread per communicator that runs the bucket allreduces, first in, first out
    (one thread: collectives on one communicator must not run concurrently)."""

    def __init__(self, comm):
        self.comm, self.queue = comm, queue.SimpleQueue()
        threading.Thread(target=self._run, name="kiln-kvstore-overlap", daemon=True).start()

    def submit(self, bucket):
        bucket.done.clear()
        self.queue.put(bucket)

    def _run(self):
        comm = self.comm
        while True:
            b = self.queue.get()
            try:
                with comm._deadline(f"the overlapped allreduce of bucket {b.index} "
                                    f"({len(b.keys)} gradient(s))"):
                    comm.comm.Allreduce(comm.MPI.IN_PLACE, b.flat, op=comm.MPI.SUM)
            except BaseException as e:  # handed to the training thread, raised in step()
                b.error = e
            finally:
                b.done.set()


def _worker(comm):
    w = getattr(comm, "_overlap_worker", None)
    if w is None:
        w = comm._overlap_worker = _Worker(comm)
    return w


class GradOverlap:
    """Buckets, hooks and the wait of one Trainer's overlapped allreduce (module docstring).

    ``comm``: an ``MPIComm`` used by nothing else (``MPIComm.side()``); ``bucket_bytes``:
    the size of every bucket after the first."""

    def __init__(self, comm, bucket_bytes):
        self.comm, self.bucket_bytes = comm, bucket_bytes
        self.worker = _worker(comm)
        self.signature, self.handles, self.keys = None, [], frozenset()
        self.buckets, self.slot = None, {}
        self.order, self.next = [], 0
        self.seconds = 0.0  # time step() waited for buckets (benchmarks)

    # ---- hooks -------------------------------------------------------------------------------
    def attach(self, signature, entries):
        """Hook ``entries`` (``(key, variable)`` pairs: a parameter's data array) and start
        learning the ready order again (the next ``reduce`` returns None)."""
        self.drain()
        for h in self.handles:
            h.remove()
        ref = weakref.ref(self)  # a dropped Trainer leaves no live hooks behind

        def hook(v, key):
            ov = ref()
            if ov is not None:
                ov._ready(key, v)
        self.handles = [autograd.register_grad_ready_hook(v, lambda v, k=k: hook(v, k))
                        for k, v in entries]
        self.keys = frozenset(k for k, _ in entries)
        self.signature, self.buckets, self.slot = signature, None, {}
        self.order, self.next = [], 0

    def _ready(self, key, v):
        if self.buckets is None:  # learning the order
            if key not in self.slot:
                self.slot[key] = None
                self.order.append(key)
            return
        where = self.slot.get(key)
        if where is None:
            return
        b, pos = where
        if b.launched:  # reported again after its bucket left: resent at the step
            b.stale = True
            return
        b.pack(pos, v._grad._data)
        b.filled.add(key)
        while self.next < len(self.buckets):
            b = self.buckets[self.next]
            if len(b.filled) < len(b.keys):
                break
            self._launch(b, 0)
            self.next += 1

    def _launch(self, b, phase):
        b.launched, b.error = True, None
        t = float(b.index + 1 + phase * len(self.buckets))
        b.flat[-2], b.flat[-1] = t, t * t
        b.tag = t
        self.worker.submit(b)

    # ---- the step ----------------------------------------------------------------------------
    def build(self, main_comm, grads):
        """After a learning step: buckets in rank 0's ready order (then the keys no hook
        reported, in key order), the same on every rank. ``grads``: key -> gradient array
        (its shape and dtype). Collective on ``main_comm``. While rank 0 saw no hook fire
        (hooks attached after the backward, at a step that found the parameters changed),
        the next step learns again."""
        mine = ",".join(str(k) for k in self.order if k in grads)
        order = [int(k) for k in main_comm.allgather(mine, "the overlap's bucket order")[0]
                 .split(",") if k]
        self.order, self.slot = [], {}
        if not order:
            return
        unknown = [k for k in order if k not in grads]
        if unknown:
            raise KVStoreError(f"overlapped allreduce: rank 0 reports gradients {unknown} "
                               f"that rank {main_comm.rank} does not train")
        reported = set(order)
        # keys no hook reported (a layer this model skips) get buckets of their own, last:
        # they would hold a bucket of reported ones back until the step
        order += [k for k in grads if k not in reported]
        self.buckets, self.slot, self.next = [], {}, 0
        cap, current, size, dtype = min(FIRST_BUCKET_BYTES, self.bucket_bytes), [], 0, None
        for k in order:
            g = grads[k]
            kind = np.float32 if g.dtype == np.float16 else g.dtype  # MPI has no float16
            nbytes = g.size * np.dtype(kind).itemsize
            if current and (kind != dtype or size + nbytes > cap
                            or (k in reported) != (current[-1] in reported)):
                self._add_bucket(current, grads, dtype)
                cap, current, size = self.bucket_bytes, [], 0
            current.append(k)
            size += nbytes
            dtype = kind
        if current:
            self._add_bucket(current, grads, dtype)

    def _add_bucket(self, keys, grads, dtype):
        b = _Bucket(len(self.buckets), keys, [grads[k].shape for k in keys], dtype)
        self.buckets.append(b)
        for pos, k in enumerate(keys):
            self.slot[k] = (b, pos)

    def reduce(self, grads):
        """The sums across ranks of ``grads`` (key -> this rank's gradient array) as
        ``{key: array}`` (views of the buckets, valid until the next backward), or None on a
        learning step (the caller reduces as before, then calls ``build``)."""
        if self.buckets is None:
            return None
        start = time.perf_counter()
        try:
            for b in self.buckets[self.next:]:  # what no hook reported: .grad as it is
                for pos, k in enumerate(b.keys):
                    if k not in b.filled:
                        b.pack(pos, grads[k])
                self._launch(b, 0)
            self.next = len(self.buckets)
            self._wait(self.buckets)
            stale = [b for b in self.buckets if b.stale]
            for b in stale:  # a later backward changed them after they left
                for pos, k in enumerate(b.keys):
                    b.pack(pos, grads[k])
                self._launch(b, 1)
            self._wait(stale)
        finally:
            self.seconds += time.perf_counter() - start
            self._reset()
        return {k: b.view(pos) for k, (b, pos) in self.slot.items()}

    def _wait(self, buckets):
        size = self.comm.size
        for b in buckets:
            b.done.wait()
            if b.error is not None:
                raise KVStoreError(f"overlapped allreduce of bucket {b.index} failed on "
                                   f"rank {self.comm.rank}: {b.error}") from b.error
            if b.flat[-2] != size * b.tag or b.flat[-1] != size * b.tag * b.tag:
                raise KVStoreError(
                    f"overlapped allreduce: rank {self.comm.rank} sent bucket {b.index} "
                    f"(keys {b.keys}) while another rank sent a different one; every rank "
                    "must run the same backward passes between steps")

    def _reset(self):
        self.next = 0
        for b in self.buckets:
            b.filled.clear()
            b.launched = b.stale = False

    def drain(self):
        """Wait for the buckets in flight and forget them (before re-planning)."""
        for b in self.buckets or ():
            b.done.wait()
        if self.buckets:
            self._reset()
