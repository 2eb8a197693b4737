"""Worker pools for ``DataLoader(num_workers>0)``: processes (default) or threads.

Both pools share one interface: ``submit(indices) -> handle`` and ``handle.result(timeout)``,
which returns the batch ``batchify_fn([dataset[i] for i in indices])`` or re-raises the
worker's exception (with the worker's traceback text attached as ``__cause__``).

The process pool forks (spawns where fork is unavailable) its workers once, when the DataLoader
is built, as MXNet does: the workers see the dataset as it was then. Each worker reseeds numpy's
global generator, Python's ``random`` and ``kiln.random`` from a seed drawn in the parent, so
random augmentations differ between workers yet follow ``numpy.random.seed``. A worker that dies
is reported at once (no waiting for the timeout); the pool is closed when the DataLoader is
garbage-collected and at interpreter exit.
"""
import multiprocessing as mp
import os
import pickle
import queue
import random
import signal
import threading
import traceback
import warnings
import weakref
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as _FutureTimeout

import numpy as np

_POLL_S = 0.1  # how often a waiting parent checks that its workers are alive
_TIMEOUT_MSG = ("Worker timed out after {} seconds. This might be caused by slow transforms: "
                "increase DataLoader's `timeout` to allow slower data loading in each worker.")


class RemoteTraceback(Exception):
    """The formatted traceback of an exception raised in a DataLoader worker."""

    def __init__(self, tb):
        super().__init__(tb)
        self.tb = tb

    def __str__(self):
        return self.tb


def _pack_error(exc):
    """Something picklable that rebuilds ``exc`` in the parent, plus its traceback text."""
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    tb = f'\n"""\n{tb}"""'
    try:
        payload = pickle.dumps(exc)
        pickle.loads(payload)
    except Exception:  # an exception type that does not pickle: keep its text
        payload = pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"))
    return payload, tb


def _raise_packed(payload, tb):
    exc = pickle.loads(payload)
    exc.__cause__ = RemoteTraceback(tb)
    raise exc


def _context():
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods else "spawn")


def _worker_loop(dataset, batchify_fn, tasks, results, seed, parent_pid):
    """Run batches until told to stop (None) or the parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    from ..device import Context
    Context._stack.value = []  # CPU batches, as MXNet's workers: CUDA does not survive fork()
    np.random.seed(seed % (2 ** 32))
    random.seed(seed)
    from ..ndarray import rng as _krandom
    _krandom.seed(seed % (2 ** 31))
    while True:
        try:
            task = tasks.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent_pid:
                return
            continue
        if task is None:
            return
        key, indices = task
        try:
            out = (key, True, pickle.dumps(batchify_fn([dataset[i] for i in indices]),
                                           protocol=pickle.HIGHEST_PROTOCOL))
        except Exception as e:  # noqa: BLE001  (sent to the parent, which re-raises it)
            out = (key, False, _pack_error(e))
        results.put(out)


def _shutdown_processes(procs, tasks):
    """Stop the workers: a polite sentinel each, then terminate the stragglers."""
    for _ in procs:
        try:
            tasks.put_nowait(None)
        except Exception:  # noqa: BLE001  (queue already closed)
            break
    for p in procs:
        p.join(timeout=0.5)
        if p.is_alive():
            p.terminate()
            p.join(timeout=1.0)
    tasks.cancel_join_thread()


class _ProcessHandle:
    __slots__ = ("_pool", "_key")

    def __init__(self, pool, key):
        self._pool = pool
        self._key = key

    def result(self, timeout):
        return self._pool._fetch(self._key, timeout)

    def cancel(self):
        self._pool._cancel(self._key)


class ProcessPool:
    """``num_workers`` worker processes holding ``dataset`` and ``batchify_fn``."""

    def __init__(self, num_workers, dataset, batchify_fn):
        ctx = _context()
        self._tasks = ctx.Queue()
        self._results = ctx.Queue()
        self._next_key = 0
        self._done = {}
        self._cancelled = set()
        self._lock = threading.Lock()
        base_seed = int(np.random.randint(0, 2 ** 31 - 1))
        self._procs = []
        for wid in range(num_workers):
            p = ctx.Process(target=_worker_loop, daemon=True,
                            args=(dataset, batchify_fn, self._tasks, self._results,
                                  base_seed + wid, os.getpid()))
            with warnings.catch_warnings():
                # Python >= 3.12 warns about fork() in a threaded process; the workers only run
                # dataset code and never touch the parent's locks.
                warnings.simplefilter("ignore", DeprecationWarning)
                p.start()
            self._procs.append(p)
        self._finalizer = weakref.finalize(self, _shutdown_processes, self._procs, self._tasks)

    @property
    def alive(self):
        return self._finalizer.alive

    def submit(self, indices):
        with self._lock:
            key = self._next_key
            self._next_key += 1
        self._tasks.put((key, list(indices)))
        return _ProcessHandle(self, key)

    def _cancel(self, key):
        with self._lock:
            if self._done.pop(key, None) is None:
                self._cancelled.add(key)

    def _check_workers(self):
        for p in self._procs:
            if p.exitcode is not None:
                self.shutdown()
                raise RuntimeError(f"DataLoader worker (pid {p.pid}) exited unexpectedly with "
                                   f"exit code {p.exitcode}.")

    def _fetch(self, key, timeout):
        waited = 0.0
        while key not in self._done:
            if not self.alive:
                raise RuntimeError("DataLoader worker pool is already shut down")
            try:
                got, ok, payload = self._results.get(timeout=_POLL_S)
            except queue.Empty:
                waited += _POLL_S
                self._check_workers()
                if waited >= timeout:
                    raise mp.TimeoutError(_TIMEOUT_MSG.format(timeout)) from None
                continue
            with self._lock:
                if got in self._cancelled:
                    self._cancelled.discard(got)
                else:
                    self._done[got] = (ok, payload)
        ok, payload = self._done.pop(key)
        if not ok:
            _raise_packed(*payload)
        return pickle.loads(payload)

    def shutdown(self):
        self._finalizer()


class _ThreadHandle:
    __slots__ = ("_future",)

    def __init__(self, future):
        self._future = future

    def result(self, timeout):
        try:
            return self._future.result(timeout)
        except _FutureTimeout:
            raise mp.TimeoutError(_TIMEOUT_MSG.format(timeout)) from None

    def cancel(self):
        self._future.cancel()


def _thread_task(dataset, batchify_fn, indices):
    return batchify_fn([dataset[i] for i in indices])


class ThreadPool:
    """``num_workers`` threads (``thread_pool=True``): no pickling, shares the GIL."""

    def __init__(self, num_workers, dataset, batchify_fn):
        self._dataset = dataset
        self._batchify_fn = batchify_fn
        self._executor = ThreadPoolExecutor(num_workers, thread_name_prefix="kiln-data")
        self._finalizer = weakref.finalize(self, self._executor.shutdown, wait=False,
                                           cancel_futures=True)

    @property
    def alive(self):
        return self._finalizer.alive

    def submit(self, indices):
        return _ThreadHandle(self._executor.submit(_thread_task, self._dataset,
                                                   self._batchify_fn, list(indices)))

    def shutdown(self):
        self._finalizer()
