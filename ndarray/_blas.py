"""``y += alpha * x`` in one pass, through the BLAS that numpy itself ships.

numpy has no fused multiply-add: ``w -= lr * g`` writes the product to a temporary the size of
the weight and reads it back, three passes over memory where BLAS's ``axpy`` needs one (and
runs on numpy's BLAS threads). For a 784x256 float32 weight that is ~50 us against ~16 us on
the reference machine, the largest single cost of an SGD step after the matrix products.

numpy's wheels bundle OpenBLAS (``numpy.libs``/``numpy/.dylibs``) with its CBLAS symbols
prefixed; ``axpy`` finds it with ``ctypes`` once. Where it is absent (another BLAS, another
platform) or the arrays do not suit it (small, non-contiguous, mixed dtypes, overlapping,
cupy), ``axpy`` returns False and the caller runs its numpy expression. ``KILN_BLAS=0`` turns
it off.

Example::

    >>> w, g = np.ones(100000, np.float32), np.ones(100000, np.float32)
    >>> axpy(-0.5, g, w) or np.subtract(w, 0.5 * g, out=w)   # w is now 0.5 everywhere
"""
import ctypes
import glob
import os
import threading

import numpy as np

__all__ = ["axpy", "axpby", "suits", "available", "threads"]

MIN_SIZE = 1 << 14  # below this a numpy call is cheaper than the ctypes call
_FUNCS = []  # [(saxpy, daxpy) or None], found on first use
_AXPBY = []  # [(saxpby, daxpby) or None]: OpenBLAS's extension, found on first use
_THREADS = []  # [(get_num_threads, set_num_threads) or None], found on first use


def _library_paths():
    root = os.path.dirname(np.__file__)
    for pattern in ("../numpy.libs/*openblas*", ".dylibs/*openblas*", "../numpy.libs/*.dll"):
        yield from sorted(glob.glob(os.path.join(root, pattern)))


def _bind(lib, name, ctype, int_t, scaled_y=False):
    """``lib``'s ``name`` as an ``axpy``-shaped ctypes function (``scaled_y``: ``axpby``'s,
    with a scale of y after x), or None where ``lib`` lacks it."""
    fn = getattr(lib, name, None)
    if fn is None:
        return None
    fn.restype = None
    fn.argtypes = [int_t, ctype, ctypes.c_void_p, int_t] + ([ctype] if scaled_y else []) + \
        [ctypes.c_void_p, int_t]
    return fn


def _libraries():
    for path in _library_paths():
        try:
            yield ctypes.CDLL(path)
        except OSError:
            continue


def _first(routine, works, scaled_y=False):
    """The first (single, double) pair of ``cblas_?<routine>`` among the bundled libraries'
    spellings (scipy-openblas of numpy >= 2, then the older openblas64_ builds, then plain
    CBLAS) that passes ``works``; None if none does."""
    names = (("scipy_cblas_s{}64_", "scipy_cblas_d{}64_", ctypes.c_int64),
             ("cblas_s{}64_", "cblas_d{}64_", ctypes.c_int64),
             ("scipy_cblas_s{}", "scipy_cblas_d{}", ctypes.c_int),
             ("cblas_s{}", "cblas_d{}", ctypes.c_int))
    for lib in _libraries():
        for s, d, int_t in names:
            fs = _bind(lib, s.format(routine), ctypes.c_float, int_t, scaled_y)
            fd = _bind(lib, d.format(routine), ctypes.c_double, int_t, scaled_y)
            if fs is not None and fd is not None and works(fs, fd):
                return fs, fd
    return None


def _find():
    if os.environ.get("KILN_BLAS", "1") == "0":
        return None
    return _first("axpy", _works)


def _find_axpby():
    """OpenBLAS's ``cblas_?axpby`` (not in every CBLAS) from the library ``axpy`` uses."""
    return _first("axpby", _axpby_works, scaled_y=True) if available() else None


def _axpby_works(fs, fd):
    for fn, dt in ((fs, np.float32), (fd, np.float64)):
        x, y = np.arange(4, dtype=dt), np.ones(4, dt)
        fn(4, -2.0, x.ctypes.data, 1, 0.5, y.ctypes.data, 1)
        if not np.array_equal(y, 0.5 - 2 * np.arange(4, dtype=dt)):
            return False
    return True


def _works(fs, fd):
    """A check on first use that the symbols compute what they should."""
    for fn, dt in ((fs, np.float32), (fd, np.float64)):
        x, y = np.arange(4, dtype=dt), np.ones(4, dt)
        fn(4, -2.0, x.ctypes.data, 1, y.ctypes.data, 1)
        if not np.array_equal(y, 1 - 2 * np.arange(4, dtype=dt)):
            return False
    return True


def available():
    """Whether numpy's BLAS was found (``axpy`` can take the one-pass route)."""
    if not _FUNCS:
        _FUNCS.append(_find())
    return _FUNCS[0] is not None


def _address(a):
    # cheaper than ``a.ctypes.data``; needs a writeable buffer
    return ctypes.addressof(ctypes.c_char.from_buffer(a))


def suits(y, *xs):
    """Whether ``axpy`` can run on ``y`` with each of ``xs``: large C-contiguous writeable
    float32/float64 numpy arrays of one dtype and size, not overlapping ``y``."""
    if type(y) is not np.ndarray or y.size < MIN_SIZE or y.dtype.char not in "fd":
        return False
    fy = y.flags
    if not (fy.c_contiguous and fy.writeable) or not available():
        return False
    for x in xs:
        if type(x) is not np.ndarray or x.dtype != y.dtype or x.size != y.size:
            return False
        fx = x.flags
        if not (fx.c_contiguous and fx.writeable) or x is y:
            return False
        # two arrays that own their memory cannot overlap; views need numpy's bounds check
        if (x.base is not None or y.base is not None) and np.may_share_memory(x, y):
            return False
    return True


def axpy(alpha, x, y, checked=False):
    """``y += alpha * x`` in place for arrays that ``suits`` accepts; False (nothing done)
    when the caller must use numpy instead. ``checked``: the caller asked ``suits`` already."""
    if not checked and not suits(y, x):
        return False
    fn = _FUNCS[0][0] if y.dtype.char == "f" else _FUNCS[0][1]
    fn(y.size, alpha, _address(x), 1, _address(y), 1)
    return True


def axpby(alpha, x, beta, y, checked=False):
    """``y = alpha * x + beta * y`` in place, one pass (``y *= beta; y += alpha * x`` takes
    two): True, or False (nothing done) where the BLAS lacks it or the arrays do not suit
    (``suits``; ``checked``: the caller asked already)."""
    if not checked and not suits(y, x):
        return False
    if not _AXPBY:
        _AXPBY.append(_find_axpby())
    fns = _AXPBY[0]
    if fns is None:
        return False
    fn = fns[0] if y.dtype.char == "f" else fns[1]
    fn(y.size, alpha, _address(x), 1, beta, _address(y), 1)
    return True


def _find_threads():
    if os.environ.get("KILN_BLAS", "1") == "0":
        return None
    # scipy-openblas (numpy >= 2, 64-bit and 32-bit integer builds), then plain OpenBLAS
    names = (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
             ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
             ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
             ("openblas_get_num_threads", "openblas_set_num_threads"))
    for lib in _libraries():
        for g, s in names:
            get, set_ = getattr(lib, g, None), getattr(lib, s, None)
            if get is None or set_ is None:
                continue
            get.restype, get.argtypes = ctypes.c_int, []
            set_.restype, set_.argtypes = None, [ctypes.c_int]
            if get() >= 1:
                return get, set_
    return None


class threads:
    """``with threads(n):`` runs numpy's BLAS on at most ``n`` threads inside the block and
    restores the count after it (also on an exception). A no-op where the BLAS, or its
    thread-count symbols, were not found, or with one thread already.

    For loops of small GEMMs (an RNN's per-step recurrent products, (20, 256) x (256, 1024)):
    waking and joining OpenBLAS's threads for each costs more than the product itself, and on
    a shared machine a descheduled worker stalls every call.

    OpenBLAS's count is process-wide (its ``openblas_set_num_threads_local`` is not
    thread-local in numpy's build: measured), so scopes opened by several Python threads are
    counted together: the count is the smallest any open scope asks for, and the count from
    before the first scope comes back when the last one closes, in whatever order they close.

    Example::

        >>> with threads(1):
        ...     for t in range(35):
        ...         h = np.tanh(x[t] + h @ w)
    """
    __slots__ = ("n", "entered")
    _lock = threading.Lock()
    _open = []      # the limits of the open scopes, all threads together
    _base = [None]  # the count before the first scope opened

    def __init__(self, n=1):
        self.n, self.entered = int(n), False

    def __enter__(self):
        if not _THREADS:
            _THREADS.append(_find_threads())
        fns = _THREADS[0]
        if fns is None:
            return self
        with self._lock:
            if not self._open:
                self._base[0] = fns[0]()
            self._open.append(self.n)
            self.entered = True
            self._apply(fns)
        return self

    def __exit__(self, *exc):
        if self.entered:
            with self._lock:
                self._open.remove(self.n)
                self.entered = False
                self._apply(_THREADS[0])
        return False

    @classmethod
    def _apply(cls, fns):
        want = min(cls._open + [cls._base[0]])
        if fns[0]() != want:
            fns[1](want)
