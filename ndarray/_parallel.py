"""Worker threads for numpy work that runs beside the calling thread.

numpy's ufuncs and BLAS calls release the GIL, so a Python thread pool runs them on several
cores at once. kiln uses that in two places where a core would otherwise sit idle:

* ``split_rows``: one large elementwise kernel (the loss's ``exp`` over a (700, 10000) logits
  array) split into row blocks, one per core; numpy runs every ufunc on one core.
* ``background``: an independent product (a weight's gradient, which nothing else in the
  backward reads) computed while the calling thread runs a kernel that keeps one core busy
  (an RNN's step loop); opt-in (``KILN_OVERLAP=1``, symbol/memory_plan.py), as is the RNN's
  ``run_blocks`` (``KILN_RNN_BLOCKS=1``): both measured slower on a 2-vCPU machine, where the
  two threads share one cache.

The pool has ``cpu_count - 1`` workers (at most 3): the calling thread is the last worker.
``KILN_THREADS=1`` (or a one-core machine) turns both off: the work then runs inline.
Everything here is numpy-only; callers pass cupy work straight through.

Example::

    >>> out = np.empty_like(x)
    >>> split_rows(lambda lo, hi: np.exp(x[lo:hi], out=out[lo:hi]), len(x), x.size)
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = ["workers", "cores", "split_rows", "run_blocks", "background", "reserved",
           "is_reserved", "MIN_SPLIT"]

MIN_SPLIT = 1 << 19  # elements below which a thread handoff costs more than it saves
_POOL = [None]
_LOCK = threading.Lock()
_IN_WORKER = threading.local()  # .flag: set in the pool's threads (their work runs inline)
_RESERVED = threading.local()   # .n: open reserved() scopes of this thread


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


_CORES = _cores()


def workers():
    """Worker threads available besides the caller (0: run everything inline, as inside a
    worker: work a worker waited on could queue behind itself)."""
    if getattr(_IN_WORKER, "flag", False):
        return 0
    env = os.environ.get("KILN_THREADS")
    total = int(env) if env and env.isdigit() else _CORES
    return max(0, min(total - 1, 3))


def _mark_worker():
    _IN_WORKER.flag = True


def cores():
    """The cores this process may run on (a property of the machine, not of KILN_THREADS)."""
    return _CORES


class reserved:
    """``with reserved():`` tells the kernels inside that a worker is busy with work started
    beside them (``background``): a kernel then keeps its work on the calling thread rather
    than cutting it into blocks that would run one after the other there. A compiled function
    opens it around a serial kernel that follows such work (codegen), so the choice follows
    the graph alone and the numbers never depend on timing."""

    def __enter__(self):
        _RESERVED.n = getattr(_RESERVED, "n", 0) + 1
        return self

    def __exit__(self, *exc):
        _RESERVED.n -= 1
        return False


def is_reserved():
    """Whether the calling thread runs inside ``reserved()``."""
    return getattr(_RESERVED, "n", 0) > 0


def _pool():
    pool = _POOL[0]
    if pool is None:
        with _LOCK:
            pool = _POOL[0]
            if pool is None:
                pool = _POOL[0] = ThreadPoolExecutor(
                    max(1, workers()), thread_name_prefix="kiln", initializer=_mark_worker)
    return pool


def _forget_pool():  # a forked child has the executor object but none of its threads
    _POOL[0] = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def split_rows(fn, rows, size, min_size=MIN_SPLIT):
    """Run ``fn(lo, hi)`` over ``[0, rows)`` cut into one block per core, the first block on
    the calling thread; return after all are done (re-raising the first error). ``size``: the
    elements the call touches; below ``min_size`` (or with no workers) ``fn(0, rows)`` runs
    alone. The blocks must write disjoint memory."""
    if size < min_size:  # first: the usual small call never reads the environment
        fn(0, rows)
        return
    n = min(workers(), rows - 1)
    if n <= 0:
        fn(0, rows)
        return
    run_blocks(fn, [(rows * k // (n + 1), rows * (k + 1) // (n + 1)) for k in range(n + 1)])


def run_blocks(fn, blocks):
    """Run ``fn(lo, hi)`` for every ``(lo, hi)`` in ``blocks`` (disjoint writes), the calling
    thread and the workers together; return when all are done, re-raising the first error.

    The caller runs the first block, then every block no worker has started yet: work queued
    behind a busy worker (a gradient running ``background``) never keeps the caller waiting.
    """
    if len(blocks) == 1 or workers() <= 0:
        for lo, hi in blocks:
            fn(lo, hi)
        return
    state = _Blocks(fn, blocks)
    pool = _pool()
    for k in range(1, len(blocks)):
        pool.submit(state.run, k)
    for k in range(len(blocks)):
        state.run(k)
    state.wait()


class _Blocks:
    """Who runs which block of a ``run_blocks`` call: each is claimed once, by the caller or
    a worker; the caller waits only for the blocks workers claimed."""

    def __init__(self, fn, blocks):
        self.fn, self.blocks = fn, blocks
        self.lock = threading.Lock()
        self.claimed = [False] * len(blocks)
        self.done = [threading.Event() for _ in blocks]
        self.errors = []

    def run(self, k):
        with self.lock:
            if self.claimed[k]:
                return
            self.claimed[k] = True
        try:
            self.fn(*self.blocks[k])
        except BaseException as e:  # noqa: BLE001 - re-raised by the caller in wait()
            self.errors.append(e)
        finally:
            self.done[k].set()

    def wait(self):
        for event in self.done:
            event.wait()
        if self.errors:
            raise self.errors[0]


class _Done:
    """The handle of work that already ran inline: ``result()`` returns its value or raises
    its error, as a worker's handle does."""

    __slots__ = ("value", "error")

    def __init__(self, fn, *args, **kwargs):
        self.value = self.error = None
        try:
            self.value = fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - handed to whoever joins, as a Future does
            self.error = e

    def result(self):
        if self.error is not None:
            raise self.error
        return self.value


def background(fn, *args, **kwargs):
    """Start ``fn(*args, **kwargs)`` on a worker; ``.result()`` of the returned handle waits
    for it (and re-raises its error). Without workers it runs now, inline."""
    if workers() <= 0:
        return _Done(fn, *args, **kwargs)
    return _pool().submit(fn, *args, **kwargs)
