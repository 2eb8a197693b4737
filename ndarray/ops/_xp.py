"""Array-module helpers for functions numpy lacks (erf) and for random numbers per module."""
import math

import numpy as np

from .._parallel import MIN_SPLIT, split_rows

# elements from which a memory-bound elementwise pass gains from a row block per core: below
# it the data sits in cache and one core keeps up (a (32, 64, 16, 16) add: 0.26 ms on one,
# 0.30 split; (4096, 512): 0.99 against 0.67; the 2-vCPU machine, 2026-12-07)
ROWS_MIN = 4 * MIN_SPLIT

_SCIPY_ERF = []  # [scipy's erf or None], looked up on first use: importing scipy.special
                 # costs a third of a second, which `import kiln` should not pay


def _scipy_erf():
    if not _SCIPY_ERF:
        try:  # scipy is optional: exact and fast when present
            from scipy.special import erf
        except Exception:  # pragma: no cover - depends on the environment
            erf = None
        _SCIPY_ERF.append(erf)
    return _SCIPY_ERF[0]


def erf(xp, x):
    """Error function on numpy (scipy when present, else a 1.2e-7-accurate rational form)."""
    if xp is not np:
        from cupyx.scipy.special import erf as cupy_erf
        return cupy_erf(x)
    scipy_erf = _scipy_erf()
    if scipy_erf is not None:
        return scipy_erf(x).astype(x.dtype, copy=False)
    return _erf_numpy(x)


def _erf_numpy(x):
    # Numerical Recipes' erfc Chebyshev fit: fractional error below 1.2e-7 everywhere.
    z = np.abs(x).astype(np.float64)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (
        0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (
            1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
    r = 1.0 - t * np.exp(poly)
    return np.where(x >= 0, r, -r).astype(x.dtype if x.dtype.kind == "f" else np.float64)


_ZEROS = {}  # (shape, dtype) -> read-only zeros: relu's second operand
_ZEROS_MAX_BYTES = 1 << 26  # the cache is emptied before it would hold more (64 MB)
_ZEROS_BYTES = [0]


def relu(xp, x, out=None):
    """``maximum(x, 0)``, bit for bit, faster on numpy.

    numpy's vectorized ``maximum`` loop runs when both operands are contiguous arrays; an
    array against the scalar 0 takes a slower strided loop (16k float32: ~9 us against ~3 us
    on the reference machine). For a C-contiguous float array up to 16 MB the zeros come
    from a cache of read-only arrays (64 MB at most); larger arrays are memory-bound anyway.

    Example::

        >>> relu(np, np.array([-1., 2.], np.float32))   # array([0., 2.], dtype=float32)
    """
    if (xp is np and x.size >= ROWS_MIN and x.dtype.kind == "f" and x.ndim
            and x.flags.c_contiguous and (out is None or out.flags.c_contiguous)):
        # memory-bound: a row block per core ((4096, 2048) float32: 3.3 -> 1.5 ms on the
        # 2-vCPU machine, 2026-12-07; at a quarter of that size one core keeps up)
        zero = x.dtype.type(0)
        return row_blocks(np.empty_like(x) if out is None else out,
                          lambda lo, hi, o: np.maximum(x[lo:hi], zero, out=o))
    # (below ~128 elements the call costs more than the loop saves)
    if (xp is np and x.size >= 128 and x.dtype.kind == "f" and x.flags.c_contiguous
            and x.nbytes <= 1 << 24):
        key = (x.shape, x.dtype)
        zeros = _ZEROS.get(key)
        if zeros is None:
            if _ZEROS_BYTES[0] + x.nbytes > _ZEROS_MAX_BYTES:
                _ZEROS.clear()
                _ZEROS_BYTES[0] = 0
            zeros = _ZEROS[key] = np.zeros(x.shape, x.dtype)
            zeros.flags.writeable = False
            _ZEROS_BYTES[0] += x.nbytes
        return np.maximum(x, zeros) if out is None else np.maximum(x, zeros, out=out)
    # (an explicit out=None costs numpy's keyword parsing: as much as a small relu)
    return xp.maximum(x, 0) if out is None else xp.maximum(x, 0, out=out)


def is_plus_zero(v):
    """Whether ``v`` is the Python scalar +0 (``maximum(x, v)`` is then relu)."""
    return type(v) in (int, float) and v == 0 and math.copysign(1.0, v) > 0


def maximum(xp, a, b):
    """``xp.maximum``; ``maximum(x, 0)`` takes relu's vectorized numpy loop (same bits)."""
    if is_plus_zero(b) and hasattr(a, "dtype"):
        return relu(xp, a)
    return xp.maximum(a, b)


def relu_backward(xp, g, y, out=None):
    """``g * (y > 0)`` (relu's gradient from its output): one kernel launch on cupy."""
    if xp is not np:
        from ._cuda_fused import relu_backward as on_gpu
        res = on_gpu(xp, g, y, out)
        if res is not None:
            return res
    if (xp is np and g.size >= ROWS_MIN and g.shape == y.shape and g.ndim
            and g.flags.c_contiguous and y.flags.c_contiguous
            and (out is None or (out.shape == g.shape and out.dtype == g.dtype
                                 and out.flags.c_contiguous))):
        # memory-bound: a row block per core (the FFN activations of a Transformer layer,
        # (4096, 2048) float32: 9.3 -> 5.2 ms, 2026-12-07); the same numbers as one pass
        return row_blocks(np.empty_like(g) if out is None else out,
                          lambda lo, hi, o: np.multiply(g[lo:hi], np.greater(y[lo:hi], 0),
                                                        out=o))
    mask = xp.greater(y, 0)
    return xp.multiply(g, mask) if out is None else xp.multiply(g, mask, out=out)


def binary_rows(xp, ufunc, a, b, out=None):
    """``ufunc(a, b)`` (add, subtract, multiply) with a row block of the result per core for
    large numpy float arrays of one dtype (scalars pass whole): such ops are memory-bound,
    and one core does not reach the memory's bandwidth (a Transformer layer's (256, 128, 128)
    attention products in its softmax gradient ran ~2x faster on two, 2026-12-07). Every
    element is computed as in one pass; anything else runs the plain ufunc.

    Example::

        >>> binary_rows(np, np.multiply, np.ones((4, 3)), 2.0)   # every entry 2.0
    """
    shape = _rows_shape(xp, a, b, out)
    if shape is None:
        return ufunc(a, b) if out is None else ufunc(a, b, out=out)
    if out is None:
        out = np.empty(shape, (a if isinstance(a, np.ndarray) else b).dtype)

    def rows(x, lo, hi):   # broadcast operands (fewer axes, or one row) pass whole
        if not isinstance(x, np.ndarray) or x.ndim < len(shape) or x.shape[0] != shape[0]:
            return x
        return x[lo:hi]
    return row_blocks(out, lambda lo, hi, o: ufunc(rows(a, lo, hi), rows(b, lo, hi), out=o))


def row_blocks(out, fill):
    """Fill ``out`` (numpy, at least 1-D) a block of leading rows per core:
    ``fill(lo, hi, out[lo:hi])`` for each block (``_parallel.split_rows``); returns ``out``.
    The memory-bound passes over large arrays use it (see ``ROWS_MIN``).

    Example::

        >>> row_blocks(np.empty((4, 3)), lambda lo, hi, o: o.fill(lo))
    """
    split_rows(lambda lo, hi: fill(lo, hi, out[lo:hi]), out.shape[0], out.size)
    return out


def _rows_shape(xp, a, b, out):
    """The result's shape where ``binary_rows`` splits it, else None."""
    arrays = [x for x in (a, b) if isinstance(x, np.ndarray)]
    if xp is not np or not arrays or any(not isinstance(x, (np.ndarray, int, float))
                                         for x in (a, b)):
        return None
    dt = arrays[0].dtype
    if dt.kind != "f" or any(x.dtype != dt for x in arrays):
        return None
    shape = np.broadcast_shapes(*(x.shape for x in arrays))
    if len(shape) == 0 or shape[0] < 2 or math.prod(shape) < ROWS_MIN:
        return None
    if out is not None and (out.shape != shape or out.dtype != dt or not out.flags.c_contiguous):
        return None
    return shape


def add_into(a, b):
    """``a + b`` written into ``a`` (a product the caller owns): a Dense layer's bias added to
    its matrix product without a second output-sized array; a large numpy product's rows are
    split across the cores (``_parallel.split_rows``: numpy adds on one core).

    Example::

        >>> add_into(x @ w.T, bias)   # the product's buffer now holds the sum
    """
    if type(a) is np.ndarray and a.ndim == 2 and a.size >= MIN_SPLIT:
        split_rows(lambda lo, hi: np.add(a[lo:hi], b, out=a[lo:hi]), a.shape[0], a.size)
        return a
    a += b
    return a


# ``x (M, K) @ w (N, K).T`` with few rows M: OpenBLAS cuts and packs this "NT" product poorly
# (it splits M across its threads); ``w @ x.T`` is the same product with the long side first,
# and its (N, M) result goes into the (M, N) output through the bias pass that runs anyway.
# Measured with the bias, weights cycled (2-vCPU Xeon, two threads, 2026-12-08): 32x512x1000
# 294 -> 227 us, 32x784x256 119 -> 84, 8x512x1000 183 -> 114, 64x784x256 169 -> 157 (the
# MLP's two layers with hot weights: 3%); it loses where the transposed pass outgrows the
# cache (64x100x4096 1.36x, 128 rows and up 1.07-2.2x) and for few outputs (N=10 1.02-1.15x).
DENSE_T_MAX_ROWS = 64
DENSE_T_MIN_COLS = 64
DENSE_T_MAX_OUT = 1 << 15


def dense_transposed_pays(m, n):
    """Whether ``dense`` computes an ``(m, K) x (n, K).T`` product as ``w @ x.T``."""
    return 2 <= m <= DENSE_T_MAX_ROWS and n >= DENSE_T_MIN_COLS and m * n <= DENSE_T_MAX_OUT


def dense(xp, x, w, b=None, out=None):
    """``x (M, K) @ w (N, K).T + b (N,)`` (``b`` optional) as a new ``(M, N)`` array or into
    ``out``: on numpy, for the shapes ``dense_transposed_pays`` names, ``w @ x.T`` transposed
    into the result by the bias pass.

    Example::

        >>> dense(np, np.ones((8, 3)), np.ones((64, 3)), np.zeros(64))[0, 0]   # 3.0
    """
    if xp is np and dense_transposed_pays(x.shape[0], w.shape[0]):
        t = np.matmul(w, x.T)
        y = np.empty((x.shape[0], w.shape[0]), t.dtype) if out is None else out
        if b is None:
            np.copyto(y, t.T)
        else:
            np.add(t.T, b, out=y)
        return y
    y = xp.matmul(x, w.T) if out is None else xp.matmul(x, w.T, out=out)
    return y if b is None else add_into(y, b)
