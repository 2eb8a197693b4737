"""MXNet 1.9's contrib ``fft``, ``ifft`` and ``count_sketch`` (cuFFT/CUDA-only there; here
they run on numpy or cupy, following MXNet's layouts).

``fft`` of real data (..., d) gives (..., 2d) with real and imaginary parts interleaved
(``[re0, im0, re1, im1, ...]``); ``ifft`` takes that layout back to the real part (..., d) of
the *unnormalised* inverse transform, as cuFFT computes it: ``ifft(fft(x)) == d * x``. Each
is the other's gradient.

Example::

    >>> nd.contrib.fft(nd.array([[1., 0., 0., 0.]]))     # [[1. 0. 1. 0. 1. 0. 1. 0.]]
    >>> nd.contrib.ifft(nd.contrib.fft(x)) / x.shape[-1]  # x again
"""
import numpy as np

from ...base import OpError
from .. import ops as F
from .._registry import Aval, Sample, register
from ._samples import rnd


def _fft_kernel(xp, data, compute_size=128):
    c = xp.fft.fft(data, axis=-1)
    return xp.stack([c.real, c.imag], axis=-1).reshape(data.shape[:-1] + (-1,)) \
        .astype(data.dtype)


def _ifft_kernel(xp, data, compute_size=128):
    z = data.reshape(data.shape[:-1] + (-1, 2))
    d = z.shape[-2]
    # numpy's ifft divides by d; cuFFT's inverse (MXNet's) does not
    return (xp.fft.ifft(z[..., 0] + 1j * z[..., 1], axis=-1).real * d).astype(data.dtype)


def _fft_infer(data, compute_size=128):
    return Aval(tuple(data.shape[:-1]) + (2 * data.shape[-1],), np.dtype(data.dtype))


def _ifft_infer(data, compute_size=128):
    if data.shape[-1] % 2:
        raise OpError(f"ifft: the last axis holds (real, imag) pairs, so it must be even; got "
                      f"shape {tuple(data.shape)}")
    return Aval(tuple(data.shape[:-1]) + (data.shape[-1] // 2,), np.dtype(data.dtype))


def _dft(g, x, ndim, inverse):
    """ONNX DFT along axis ndim-1 of a (..., n, 1|2) tensor; its axis became an input in 20."""
    if g.opset >= 20:
        return g.op("DFT", x, None, g.const(np.array(ndim - 1, np.int64)), inverse=inverse)
    return g.op("DFT", x, axis=ndim - 1, inverse=inverse)


def _fft_onnx(g, i, a, o, compute_size=128):
    nd = len(a[0].shape)
    spec = _dft(g, g.op("Unsqueeze", i[0], g.ints([-1])), nd, 0)     # (..., d, 2)
    return g.op("Reshape", spec, g.ints([0] * (nd - 1) + [-1]))


def _ifft_onnx(g, i, a, o, compute_size=128):
    nd = len(a[0].shape)
    d = a[0].shape[-1] // 2
    z = g.op("Reshape", i[0], g.ints([0] * (nd - 1) + [-1, 2]))
    real = g.op("Gather", _dft(g, z, nd, 1), g.const(np.array(0, np.int64)), axis=-1)
    # ONNX's inverse DFT is normalised by 1/d; MXNet's is not
    return g.op("Mul", real, g.const(np.array(d, dtype=np.dtype(a[0].dtype))))


_contrib_fft = register(
    "_contrib_fft", _fft_kernel, attrs={"compute_size": 128}, infer=_fft_infer,
    grad=lambda i, o, g, compute_size=128: (F._contrib_ifft(g[0]),), amp="fp32",
    onnx=_fft_onnx, ref=lambda x, compute_size=128: _fft_kernel(np, x),
    samples=[Sample(rnd(3, 4)), Sample(rnd(2, 1, 3, 5, salt=1), compute_size=2)],
    doc="""1-D discrete Fourier transform of real data along the last axis (MXNet
    ``contrib.fft``): data (..., d) -> (..., 2d), ``[re0, im0, re1, im1, ...]``.
    ``compute_size`` (MXNet's cuFFT batch size) does not change the result.

    Example::

        >>> nd.contrib.fft(nd.array([[1., 2.]]))    # [[3. 0. -1. 0.]]
    """)

_contrib_ifft = register(
    "_contrib_ifft", _ifft_kernel, attrs={"compute_size": 128}, infer=_ifft_infer,
    grad=lambda i, o, g, compute_size=128: (F._contrib_fft(g[0]),), amp=None,
    onnx=_ifft_onnx, ref=lambda x, compute_size=128: _ifft_kernel(np, x),
    samples=[Sample(rnd(3, 8)), Sample(rnd(2, 1, 3, 6, salt=1))],
    doc="""Real part of the unnormalised inverse DFT along the last axis (MXNet
    ``contrib.ifft``): data (..., 2d) holding ``[re0, im0, re1, im1, ...]`` -> (..., d);
    ``ifft(fft(x)) == d * x``.

    Example::

        >>> nd.contrib.ifft(nd.array([[3., 0., -1., 0.]]))    # [[2. 4.]]
    """)


# ---- count_sketch ---------------------------------------------------------------------------
def _sketch_matrix(xp, h, s, out_dim, dtype):
    """(d, out_dim) with s[i] at (i, h[i]): the sketch is one matrix product."""
    idx = h.reshape(-1).astype(np.int64)
    m = xp.zeros((idx.size, int(out_dim)), dtype=dtype)
    m[xp.arange(idx.size), idx] = s.reshape(-1).astype(dtype)
    return m


def _cs_kernel(xp, data, h, s, out_dim=None, processing_batch_size=32):
    flat = data.reshape(-1, data.shape[-1])
    out = flat @ _sketch_matrix(xp, h, s, out_dim, data.dtype)
    return out.reshape(data.shape[:-1] + (int(out_dim),))


def _cs_infer(data, h, s, out_dim=None, processing_batch_size=32):
    if out_dim is None:
        raise OpError("count_sketch: out_dim is required")
    d = data.shape[-1]
    if h.shape[-1] != d or s.shape[-1] != d:
        raise OpError(f"count_sketch: h and s need data's last axis ({d}) entries, got "
                      f"{tuple(h.shape)} and {tuple(s.shape)}")
    return Aval(tuple(data.shape[:-1]) + (int(out_dim),), np.dtype(data.dtype))


def _cs_grad(ins, outs, gouts, out_dim=None, processing_batch_size=32):
    data, h, s = ins
    # d out[n, h[i]] / d data[n, i] = s[i]: read each input position's bucket back
    picked = F.take(gouts[0], F.reshape(h, shape=(-1,)), axis=-1)
    return F.broadcast_mul(picked, F.reshape(s, shape=(-1,))), None, None


def _cs_onnx(g, i, a, o, out_dim=None, processing_batch_size=32):
    dt = np.dtype(a[0].dtype)
    idx = g.op("Cast", g.op("Reshape", i[1], g.ints([-1])), to=g.onnx_dtype(np.int64))
    hot = g.op("OneHot", idx, g.const(np.array(int(out_dim), np.int64)),
               g.const(np.array([0, 1], dt)), axis=-1)            # (d, out_dim)
    sign = g.op("Reshape", g.op("Cast", i[2], to=g.onnx_dtype(dt)), g.ints([-1, 1]))
    return g.op("MatMul", i[0], g.op("Mul", hot, sign))


_contrib_count_sketch = register(
    "_contrib_count_sketch", _cs_kernel, inputs=("data", "h", "s"),
    attrs={"out_dim": None, "processing_batch_size": 32}, infer=_cs_infer, grad=_cs_grad,
    onnx=_cs_onnx, amp="fp32",
    ref=lambda data, h, s, out_dim=None, processing_batch_size=32: _cs_kernel(np, data, h, s,
                                                                              out_dim),
    samples=[Sample(rnd(2, 3), np.array([[0.0, 3.0, 4.0]]), np.array([[1.0, -1.0, 1.0]]),
                    out_dim=5, wrt=[0]),
             Sample(rnd(4, 6, salt=1), np.array([[1.0, 1.0, 0.0, 2.0, 1.0, 0.0]]),
                    np.array([[-1.0, 1.0, 1.0, -1.0, -1.0, 1.0]]), out_dim=3, wrt=[0])],
    doc="""Count sketch (MXNet ``contrib.count_sketch``): data (N, d), hash buckets h (1, d)
    in [0, out_dim), signs s (1, d) of +-1; ``out[n, h[i]] += s[i] * data[n, i]``, output
    (N, out_dim). ``processing_batch_size`` (MXNet's CUDA batching) does not change it.

    Example::

        >>> nd.contrib.count_sketch(nd.array([[1.2, 2.5, 3.4]]), nd.array([[0, 3, 4]]),
        ...                         nd.array([[1, -1, 1]]), out_dim=5)
        [[ 1.2  0.   0.  -2.5  3.4]]
    """)
