"""Let numpy's OpenBLAS workers go to sleep soon after a product instead of spinning ~0.1 s.

After every multi-threaded call OpenBLAS's worker threads busy-wait for new work for 2^28 CPU
cycles (~0.1 s) before they sleep. kiln runs work of its own on the other cores right after
such products: the fused RNN's second thread, onnxruntime's kernels and Scans, the row blocks
of ``_parallel``. A spinning worker takes a core from them: on the 2-vCPU reference machine
(2026-12-07) a process burnt 105 ms of CPU in a 200 ms sleep after one (700, 256) x (256,
10000) product, and W4's training step (an LSTM language model) ran 117 ms against 99 ms with
the workers sleeping after 2^22 cycles (~1.5 ms), ResNet-18 inference at batch 32 44.6
against 33.2 ms, its training step 146 against 132 ms; the MLP step (back-to-back small
products, where spinning pays) was unchanged.

OpenBLAS reads its timeout (``OPENBLAS_THREAD_TIMEOUT``, log2 of the cycles) once, when it
starts its threads. ``before_numpy()`` (called when kiln is imported, before numpy) puts
kiln's value in the environment for that start; ``after_numpy()`` takes it out again (child
processes get the user's environment) and, where numpy was loaded first, applies the value
by re-reading the environment and stopping the idle threads, which OpenBLAS restarts with the
new timeout on the next multi-threaded call. That restart is only done while no other Python
thread is running (one could be inside a product). Nothing is done with ``KILN_BLAS=0``,
``KILN_BLAS_SPIN=0``, when the user set ``OPENBLAS_THREAD_TIMEOUT`` (theirs wins), or where
numpy's BLAS is not a pthreads OpenBLAS with these symbols.

Example::

    >>> before_numpy(); import numpy; after_numpy()
    >>> active()   # True where the short timeout is in effect
"""
import ctypes
import os
import sys
import threading

__all__ = ["before_numpy", "after_numpy", "active", "TIMEOUT"]

TIMEOUT = 22   # log2 of the cycles a worker spins: ~1.5 ms, longer than a graph's gaps
_ENV = "OPENBLAS_THREAD_TIMEOUT"
_STATE = {"set_env": False}


def _wanted():
    return (os.environ.get("KILN_BLAS", "1") != "0"
            and os.environ.get("KILN_BLAS_SPIN", "1") != "0" and _ENV not in os.environ)


def before_numpy():
    """Put kiln's timeout in the environment if numpy is not loaded yet and the user set
    none (``after_numpy`` takes it out again)."""
    if "numpy" not in sys.modules and _wanted():
        os.environ[_ENV] = str(TIMEOUT)
        _STATE["set_env"] = True


def _openblas():
    from . import _blas
    for lib in _blas._libraries():
        fns = [getattr(lib, n, None) for n in
               ("openblas_read_env", "openblas_thread_timeout", "blas_thread_shutdown_")]
        if all(f is not None for f in fns):
            for f in fns:
                f.restype, f.argtypes = ctypes.c_int, []
            fns[0].restype = None
            return fns
    return None


def _pthreads_build():
    from . import _blas
    for lib in _blas._libraries():
        for name in ("scipy_openblas_get_parallel64_", "scipy_openblas_get_parallel",
                     "openblas_get_parallel64_", "openblas_get_parallel"):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.restype, fn.argtypes = ctypes.c_int, []
                return fn() == 1   # 0 sequential, 1 pthreads, 2 OpenMP
    return False


def after_numpy():
    """Take kiln's value out of the environment again, or apply it to an OpenBLAS that
    started before kiln was imported (see the module docstring)."""
    if _STATE.pop("set_env", False):
        os.environ.pop(_ENV, None)
        return
    if not _wanted() or threading.active_count() != 1 or not _pthreads_build():
        return
    fns = _openblas()
    if fns is None:
        return
    read_env, timeout, shutdown = fns
    os.environ[_ENV] = str(TIMEOUT)
    try:
        read_env()
    finally:
        os.environ.pop(_ENV, None)
    if timeout() == TIMEOUT:
        shutdown()   # restarted, with the new timeout, by the next multi-threaded call


def active():
    """Whether OpenBLAS runs with kiln's timeout in this process."""
    fns = _openblas()
    return fns is not None and fns[1]() == TIMEOUT
