"""GEMM convolution kernels over a channel-major column buffer (numpy or cupy via ``xp``).

Layout: the columns are ``(C, taps, N, *O)``; a group's rows ``(C/g * taps)`` are contiguous and
the batch and output positions form one long axis, so every product is one GEMM per group
(``(F, C*K) @ (C*K, N*O)``) whatever the batch, the weight ``(F, C/g, *K)`` is read in place
(a reshape, never a transpose-copy), and the weight gradient ``gy (F, N*O) @ cols.T`` and the
data gradient ``W.T @ gy`` hand BLAS a transposed operand instead of copying one.

No padded copy of the data is ever made: a kernel offset (tap) reads or writes only the output
range whose input position lies inside the data (``Taps``), the rest of its column block is
zero. Taps that touch no data at all (the eight border taps of a padded 3x3 convolution on a
1x1 map) are dropped from the GEMMs and from the scatter.

Special cases, each measured faster where it is chosen: a 1x1 stride-1 convolution is a
per-sample product ``(F, C) @ (N, C, P)`` with no columns at all (``_per_sample``); the
stride-1 data gradient is the convolution of ``gy`` with the flipped weight (im2col copies
instead of col2im's read-modify-write adds) where the weight copy is small; depthwise
convolutions go to ``_depthwise`` where it pays.
"""
import functools
import math
import threading

import numpy as np

from .. import _derived, _ort_conv, _ort_nchwc
from .._blas import threads as blas_threads
from .._parallel import is_reserved, run_blocks, workers
from . import _depthwise as dw_
from . import _small_map

_ALL = slice(None)


class Taps:
    """Kernel offsets that touch the data, with the output and data slices of each.

    ``big``: spatial size of the data side (convolution input / deconvolution output);
    ``small``: the other side. Position ``o`` on the small side reads ``o * s + k * d - p``.
    """

    def __init__(self, big, small, kernel, stride, dilate, pad):
        axes = [self._axis(*a) for a in zip(big, small, kernel, stride, dilate, pad)]
        self.key = (tuple(big), tuple(small), tuple(kernel), tuple(stride), tuple(dilate),
                    tuple(pad))
        self.kernel, self.small = tuple(kernel), tuple(small)
        self.stride, self.dilate, self.pad = tuple(stride), tuple(dilate), tuple(pad)
        self.taps = []   # (flat kernel index, small-side slices, big-side slices, covers all)
        for kidx in np.ndindex(*self.kernel):
            rng = [axes[a][k] for a, k in enumerate(kidx)]
            if any(hi <= lo for lo, hi, _, _ in rng):
                continue
            sm = tuple(slice(lo, hi) for lo, hi, _, _ in rng)
            bg = tuple(slice(b, e, s) for _, _, (b, e), s in rng)
            full = all(lo == 0 and hi == o for (lo, hi, _, _), o in zip(rng, small))
            self.taps.append((int(np.ravel_multi_index(kidx, self.kernel)), sm, bg, full))
        self.index = [t[0] for t in self.taps]
        self.all = len(self.taps) == math.prod(self.kernel)
        # a 1x1 stride-1 unpadded convolution is a plain product over the channels
        self.pointwise = self.all and len(self.taps) == 1 and self.taps[0][3] \
            and tuple(big) == self.small

    @staticmethod
    def _axis(big, small, k, s, d, p):
        res = []
        for j in range(k):
            off = j * d - p
            lo = max(0, -(off // s))                 # first o with o*s + off >= 0
            hi = min(small, (big - 1 - off) // s + 1)  # past the last o with o*s + off < big
            res.append((lo, hi, (lo * s + off, (hi - 1) * s + off + 1), s))
        return res


@functools.lru_cache(maxsize=512)
def taps_for(big, small, kernel, stride, dilate, pad):
    """Cached ``Taps`` (all arguments are tuples of ints)."""
    return Taps(big, small, kernel, stride, dilate, pad)


def _zero_border(dst, sm, small):
    """Zero the parts of ``dst (C, N, *small)`` outside the slices ``sm``."""
    for a, (sl, o) in enumerate(zip(sm, small)):
        pre = (_ALL,) * (2 + a)
        if sl.start:
            dst[pre + (slice(0, sl.start),)] = 0
        if sl.stop < o:
            dst[pre + (slice(sl.stop, o),)] = 0


# Column buffers kept per thread and geometry: a tap writes the same interior every call, so
# the zero border written once stays valid, and a reused buffer costs no page faults. A full
# cache admits nothing new rather than evicting: a network cycles through its layers, and LRU
# over a cycle larger than the cache would miss every time.
_WS = threading.local()
WORKSPACE_BYTES = 32 << 20   # per thread; buffers past the cap are allocated per call


def _workspace(xp, shape, dtype, taps):
    """A cached zero-bordered column buffer, or None (cupy, or no room in the cache)."""
    if xp is not np:
        return None
    cache = getattr(_WS, "cols", None)
    if cache is None:
        cache = _WS.cols = {}
        _WS.nbytes = 0
    key = (shape, np.dtype(dtype).str, taps.key)
    buf = cache.get(key)
    if buf is None:
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        if _WS.nbytes + nbytes > WORKSPACE_BYTES:
            return None
        buf = cache[key] = np.zeros(shape, dtype)
        _WS.nbytes += nbytes
    return buf


def im2col(xp, x, taps, every_tap=False):
    """Columns ``(C, len(taps), N, *small)`` of ``x (N, C, *big)``: slab copies, no padding.

    The result may be a cached buffer: use it before the next ``im2col`` call of this thread.
    ``every_tap``: columns ``(C, prod(kernel), N, *small)`` for every kernel offset, those
    that touch no data left zero.
    """
    n, c = x.shape[:2]
    shape = (c, math.prod(taps.kernel) if every_tap else len(taps.taps), n) + taps.small
    out = _workspace(xp, shape, x.dtype, taps)
    bordered = out is not None
    if out is None:
        out = (xp.zeros if every_tap else xp.empty)(shape, x.dtype)
    xt = x.swapaxes(0, 1)
    for t, (kidx, sm, bg, full) in enumerate(taps.taps):
        dst = out[:, kidx if every_tap else t]
        if not (full or bordered):
            _zero_border(dst, sm, taps.small)
        dst[(_ALL, _ALL) + sm] = xt[(_ALL, _ALL) + bg]
    return out


def col2im(xp, cols, taps, big, batch_first=True, every_tap=False):
    """Sum the column blocks ``cols (C, len(taps), N, *small)`` back onto the data side
    (``every_tap``: ``(C, prod(kernel), N, *small)``, the offsets touching no data ignored).

    Returns ``(N, C, *big)`` (``batch_first``) or ``(C, N, *big)``.
    """
    c, _, n = cols.shape[:3]
    res = xp.zeros((c, n) + tuple(big), cols.dtype)
    for t, (kidx, sm, bg, _) in enumerate(taps.taps):
        res[(_ALL, _ALL) + bg] += cols[(_ALL, kidx if every_tap else t, _ALL) + sm]
    return xp.ascontiguousarray(res.swapaxes(0, 1)) if batch_first else res


def _size(shape):
    return math.prod(shape)   # np.prod on a short tuple costs microseconds


def _split(a, g):
    """``(g*M, K)`` as ``(g, M, K)`` (explicit sizes: an empty batch reshapes too)."""
    return a.reshape(g, a.shape[0] // g, a.shape[1])


def _channel_major(xp, gy):
    """``gy (N, F, *O)`` as a C-contiguous ``(F, N*O)``."""
    n, f = gy.shape[:2]
    return xp.ascontiguousarray(gy.swapaxes(0, 1)).reshape(f, n * _size(gy.shape[2:]))


def _mm(xp, a, b, g):
    """``a @ b`` per group: ``a (g*M, K)``, ``b (g*K, P)`` as ``(g, M, K) @ (g, K, P)``."""
    if g == 1:
        return a @ b
    return xp.matmul(_split(a, g), _split(b, g))


def _weight_taps(w, taps):
    """``w (F, Cg, *K)`` as ``(F, Cg * len(taps))`` over the taps that touch data."""
    f, cg = w.shape[:2]
    if taps.all:
        return w.reshape(f, -1)
    w3 = w.reshape(f, cg, -1)
    if len(taps.index) == 1:
        # one tap (a 3x3 convolution on 1x1 maps): a strided slice copies it in half the time
        # of take from a cold weight (ResNet-18's 512x512x3x3: 0.48 against 1.12 ms); kept
        # while the weight is unchanged (``_derived``), so a training step's forward and data
        # gradient copy it once between two optimizer updates
        k = int(taps.index[0])
        return _derived.memo(w, ("tap", k), lambda: _frozen(w3[:, :, k].copy()))
    if isinstance(w3, np.ndarray):
        # numpy's take copies whole runs: 0.6 ms against 1.6 ms by fancy indexing for the
        # four taps of ResNet-18's 512x256x3x3 on a 2x2 map (a slice of the 2x2 box of taps
        # copied in 4.3 ms: its rows are two floats long)
        return w3.take(taps.index, axis=2).reshape(f, -1)
    return w3[:, :, taps.index].reshape(f, -1)


def _frozen(a):
    """``a`` read-only where numpy can say so: a kept copy is shared by every call."""
    if type(a) is np.ndarray:
        a.flags.writeable = False
    return a


def _whole_weight(taps):
    """Whether a GEMM takes the weight whole, against columns with zero rows for the offsets
    that touch no data, rather than a copy of the offsets that do: where several but not all
    do (small maps). ``take`` of 4 of 9 taps from a cold 512x256x3x3 weight made the forward
    1.16 ms, the whole weight 0.68; one tap stays a slice copy (0.81 against 1.11)."""
    return not taps.all and len(taps.taps) > 1


def _weight_matrix(w, taps):
    """The forward's ``(F, Cg * K)`` weight: whole (``_whole_weight``) or its touching taps."""
    return w.reshape(w.shape[0], -1) if _whole_weight(taps) else _weight_taps(w, taps)


def batch_major(xp, y_t):
    """``(F, N, *O)`` -> C-contiguous ``(N, F, *O)``."""
    return xp.ascontiguousarray(y_t.swapaxes(0, 1))


# the batched (per-sample) product reads NCHW in place; below this many positions per sample
# one GEMM over the transposed batch is faster than N small ones
PER_SAMPLE_MIN = 64


def _per_sample(taps, n, g):
    return taps.pointwise and g == 1 and (n == 1 or (n > 1 and _size(taps.small) >=
                                                     PER_SAMPLE_MIN))


def conv_forward(xp, x, w, taps, g, bias=None, epilogue=None):
    """``(N, C, *S) * (F, C/g, *K) (+ bias (F,)) -> (N, F, *O)``: one GEMM per group over the
    columns. The result is a new array aliasing no input. ``epilogue(y, lo, hi)``: in-place
    work on the samples ``lo:hi`` of the result ``y`` (after the bias), run on each batch block
    while it is in cache where the work is cut by batch (``_batch_split``); an epilogue with an
    ``affine`` attribute ``(scale or None, shift, residual or None, act)`` that does
    ``act(y * scale + shift + residual)`` may be done inside onnxruntime's kernel instead."""
    n, f = x.shape[0], w.shape[0]
    if _small_map.suits(xp, x, w, taps, g):   # maps of a few positions, the weight kept
        y = _small_map.forward(x, w, taps)
        if bias is not None:
            y += bias.reshape((1, -1) + (1,) * len(taps.small))
        if epilogue is not None:
            epilogue(y, 0, n)
        return y
    blocked = _ort_nchwc.suits(x, w, taps, g)
    if blocked or _ort_conv.suits(x, w, taps, g):
        # block-sized channels: MLAS's NCHWc kernels; small weights over many positions:
        # MLAS's Conv (both onnxruntime's, which ``suits`` found present)
        affine = getattr(epilogue, "affine", None) if blocked and bias is None else None
        if affine is not None and _ort_nchwc.fuses(*affine, (n, f) + taps.small):
            scale, shift, residual, act = affine
            return _ort_nchwc.forward(x, w, taps, shift, scale, residual, act)
        y = (_ort_nchwc if blocked else _ort_conv).forward(x, w, taps, bias)
        if epilogue is not None:
            epilogue(y, 0, n)
        return y
    if _batch_split(xp, x, w, taps, g):
        return _forward_blocks(x, w, taps, bias, epilogue)
    if not taps.taps:
        y = xp.zeros((n, f) + taps.small, x.dtype)
    elif _per_sample(taps, n, g):  # (F, C) @ (N, C, P): no columns, no transposes
        y = xp.matmul(w.reshape(f, -1), x.reshape(n, x.shape[1], _size(taps.small)))
        y = y.reshape((n, f) + taps.small)
    elif dw_.blocked_ok(xp, x, w, taps, g):  # the bias is added block by block, in cache
        y = dw_.forward_blocked(x, w, taps, bias)
        bias = None
    elif dw_.flat_ok(x, w, taps, g):
        y = dw_.forward_flat(xp, x, w, taps)
    else:
        wt = _weight_matrix(w, taps)
        cols = im2col(xp, x, taps, every_tap=_whole_weight(taps))
        y = _mm(xp, wt, cols.reshape(wt.shape[1] * g, n * _size(taps.small)), g)
        y = batch_major(xp, y.reshape((f, n) + taps.small))
    if bias is not None:
        y += bias.reshape((1, -1) + (1,) * len(taps.small))
    if epilogue is not None:
        epilogue(y, 0, n)
    return y


# Below this many multiply-adds a convolution stays on the calling thread (and BLAS's own
# threads). Measured on ResNet-18 (2-vCPU Xeon, 2026-12-07): at 32x32 and batch 32 (layers of
# 37-77M multiply-adds) the blocks were even in inference and cost the training step 5-8%
# (151-155 against 138-147 ms, most of it in the data gradients: a worker's half of a gradient
# that the caller's core has just written comes through the other core's cache); at 64x64
# (300M) they saved 20% of inference and 1-2% of training.
SPLIT_MIN_MACS = 1 << 27


def _batch_split(xp, x, w, taps, g):
    """Whether ``conv_forward`` cuts the batch into one block per core (numpy, one group,
    the im2col route, enough work, workers free)."""
    if xp is not np or g != 1 or x.shape[0] < 2 or not taps.taps or \
            _per_sample(taps, x.shape[0], g) or workers() <= 0 or is_reserved():
        return False
    macs = w.shape[0] * w.shape[1] * len(taps.taps) * x.shape[0] * _size(taps.small)
    return macs >= SPLIT_MIN_MACS


def _forward_blocks(x, w, taps, bias, epilogue):
    """``conv_forward``'s im2col route, one batch block per core, each on one BLAS thread.

    numpy runs every copy (im2col, the transpose into ``(N, F, *O)``) and ufunc on one core,
    and OpenBLAS's threads share only the GEMM (and spin, or stall when the machine is
    shared); whole blocks on Python threads (numpy releases the GIL) run all of it on both."""
    n, c = x.shape[:2]
    f, p = w.shape[0], _size(taps.small)
    wt = _weight_matrix(w, taps)
    whole = _whole_weight(taps)
    y = np.empty((n, f) + taps.small, x.dtype)
    y3 = y.reshape(n, f, p)
    per_filter = None if bias is None else bias.reshape(1, f, 1)

    def block(lo, hi):
        cols = im2col(np, x[lo:hi], taps, every_tap=whole).reshape(wt.shape[1], (hi - lo) * p)
        prod = (wt @ cols).reshape(f, hi - lo, p).swapaxes(0, 1)
        if per_filter is None:
            y3[lo:hi] = prod
        else:
            np.add(prod, per_filter, out=y3[lo:hi])
        if epilogue is not None:
            epilogue(y[lo:hi], lo, hi)

    m = min(n, workers() + 1)
    with blas_threads(1):
        run_blocks(block, [(n * k // m, n * (k + 1) // m) for k in range(m)])
    return y


def flipped(w, g):
    """Weight of the convolution equal to the adjoint: ``(C, F/g, *K)`` reversed in ``K``."""
    f, cg = w.shape[:2]
    nsp = w.ndim - 2
    wg = w.reshape((g, f // g, cg) + w.shape[2:]).swapaxes(1, 2)
    wf = wg[(_ALL,) * 3 + (slice(None, None, -1),) * nsp]
    return wf.reshape((g * cg, f // g) + w.shape[2:])


def flip_taps(taps, big):
    """Stride-1 adjoint as a convolution: ``gy`` is the data, ``big`` the output."""
    k, d = taps.kernel, taps.dilate
    pads = tuple(dd * (kk - 1) - p for dd, kk, p in zip(d, k, taps.pad))
    return taps_for(taps.small, tuple(big), k, (1,) * len(k), d, pads)


def conv_data_grad(xp, gy, w, taps, big, g):
    """Adjoint of ``conv_forward`` in ``x``: ``gy (N, F, *O)``, ``w (F, C/g, *K)`` ->
    ``(N, C, *big)``; also the deconvolution of ``gy`` by ``w``."""
    n, f = gy.shape[:2]
    c = w.shape[1] * g
    if not taps.taps:
        return xp.zeros((n, c) + tuple(big), gy.dtype)
    if _per_sample(taps, n, g):
        gx = xp.matmul(w.reshape(f, -1).T, gy.reshape(n, f, _size(taps.small)))
        return gx.reshape((n, c) + tuple(big))
    if all(st == 1 for st in taps.stride) and (gy.size * 4 >= w.size or w.shape[1] == 1):
        # the adjoint of a stride-1 convolution is a convolution: im2col copies instead of
        # col2im's read-modify-write adds; only where the flipped weight copy is small
        ft = flip_taps(taps, big)
        return conv_forward(xp, gy, xp.ascontiguousarray(flipped(w, g)), ft, g)
    if dw_.is_depthwise(w, g):
        return dw_.data_grad(xp, gy, w, taps, big, c)
    gyt = _channel_major(xp, gy)
    wt = _weight_matrix(w, taps)                       # (F, Cg * T), or (F, Cg * K)
    if g == 1:
        cols = wt.T @ gyt                              # (C*T, N*O), W.T read in place
    else:
        cols = xp.matmul(_split(wt, g).swapaxes(1, 2), _split(gyt, g))
    return col2im(xp, cols.reshape((c, wt.shape[1] // (c // g), n) + taps.small), taps, big,
                  every_tap=_whole_weight(taps))


def conv_weight_grad(xp, x, gy, taps, g, out=None):
    """``dW (F, C/g, *K)`` of ``conv_forward``: ``gy (F, N*O) @ cols (C*T, N*O).T``, into
    ``out`` (a C-contiguous array of dW's shape and dtype, overwritten whole) when given: the
    GEMM writes a parameter's ``.grad`` itself (ResNet-18's step had copied 45 MB of weight
    gradients from new arrays into the buffers)."""
    n, f = gy.shape[:2]
    c = x.shape[1]
    cg, k = c // g, math.prod(taps.kernel)
    if not taps.taps:
        return _into(xp.zeros((f, cg) + taps.kernel, gy.dtype), out)
    if _per_sample(taps, n, g):  # sum over the batch of (F, P) @ (P, C)
        p = _size(taps.small)
        x3, g3 = x.reshape(n, c, p), gy.reshape(n, f, p)
        dw = g3[0] @ x3[0].T
        for i in range(1, n):
            dw += g3[i] @ x3[i].T
        return _into(dw.reshape(w_shape(f, cg, taps)), out)
    if g == 1 and len(taps.taps) * SPARSE_TAPS <= k:
        return _weight_grad_sparse(xp, x, gy, taps, out)
    # with offsets that touch no data (small maps) the columns keep a zero row block for
    # each, so the GEMM writes dW whole: scattering the computed taps into a zeroed dW cost
    # more than the zero rows' products (ResNet-18's 512x256x3x3 on a 2x2 map, 4 of 9
    # taps: 1.60 -> 0.68 ms from cold memory)
    cols = im2col(xp, x, taps, every_tap=True).reshape(c * k, n * _size(taps.small))
    gyt = _channel_major(xp, gy)
    if g == 1:
        dw = xp.matmul(gyt, cols.T, out=None if out is None else out.reshape(f, c * k))
    else:
        dw = xp.matmul(_split(gyt, g), _split(cols, g).swapaxes(1, 2),
                       out=None if out is None else out.reshape(g, f // g, cg * k))
    return dw.reshape(w_shape(f, cg, taps)) if out is None else out


# A weight gradient whose offsets touching data are at most 1/SPARSE_TAPS of the kernel (a 3x3
# convolution on a 1x1 map: the centre only) multiplies those columns alone and zeroes the
# rest of dW: ResNet-18's 512x512x3x3 on 1x1 maps at batch 32, one thread, into a warm .grad
# buffer: 1.70 -> 1.05 ms; at 4 of 9 taps the whole-kernel product stays faster (0.88 against
# 1.75 ms), 2026-12-08.
SPARSE_TAPS = 4


def _weight_grad_sparse(xp, x, gy, taps, out):
    """``conv_weight_grad`` (one group) over the offsets that touch data, zeros elsewhere."""
    n, f = gy.shape[:2]
    c, k, t = x.shape[1], math.prod(taps.kernel), len(taps.taps)
    cols = im2col(xp, x, taps).reshape(c * t, n * _size(taps.small))
    part = (_channel_major(xp, gy) @ cols.T).reshape(f, c, t)
    dw = xp.empty((f, c) + taps.kernel, gy.dtype) if out is None else out
    flat = dw.reshape(f, c, k)
    # zeros, then the computed taps, a cache-sized block of filters at a time: the taps'
    # strided writes find the lines the zeroing just wrote (512x512x3x3: 0.75 -> 0.59 ms)
    rows = max(1, SPARSE_BLOCK_BYTES // (c * k * dw.dtype.itemsize))
    for lo in range(0, f, rows):
        block = flat[lo:lo + rows]
        block.fill(0)
        for j, kidx in enumerate(taps.index):
            block[:, :, kidx] = part[lo:lo + rows, :, j]
    return dw


SPARSE_BLOCK_BYTES = 1 << 18


def _into(result, out):
    """``result``, or ``out`` holding it."""
    if out is None:
        return result
    out[...] = result
    return out


def w_shape(f, cg, taps):
    return (f, cg) + taps.kernel
