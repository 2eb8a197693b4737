"""One CUDA kernel each for the fused softmax cross-entropy and its gradient (cupy only).

On the GPU a small training step is bound by kernel launches and cupy's per-call Python: the
generic ``_log_softmax_pick`` runs about fifteen array operations (row max, shift, exp, row
sum, log, label positions, gathers), its gradient four. For the common layout (2-D logits,
classes on the last axis, one label per row) these kernels do each in one launch, one thread
per row (class counts of a classifier are small), with the generic path's arithmetic: the same
values as numpy up to the device's exp/log rounding.

Example (what ``fused._lsp_kernel`` does on cupy arrays)::

    >>> out = lsp_rows(cupy, logits, labels, scale=-1.0, wrap=False)   # None: not this layout
"""
import numpy as np

_KERNELS = {}

_FORWARD = """
    const T* row = &x[i * C];
    T m = row[0];
    for (long long j = 1; j < C; j++) {
        T v = row[j];
        if (v > m || isnan(v)) m = v;          // a NaN anywhere makes the row NaN, as max does
        if (isnan(m)) break;
    }
    T total = 0;
    for (long long j = 0; j < C; j++) {
        T v = exp(row[j] - m);
        e[i * C + j] = v;
        total += v;
    }
    long long k = (long long)label;             // truncated toward zero, as astype(int64)
    if (wrap) { k %= C; if (k < 0) k += C; }
    else { k = k < 0 ? 0 : (k > C - 1 ? C - 1 : k); }
    s = total;
    pos = i * C + k;
    loss = scale == T(-1) ? log(total) - (row[k] - m) : ((row[k] - m) - log(total)) * scale;
"""

_BACKWARD = """
    long long r = i / C;
    T h = nscale == T(1) ? g[r] : g[r] * nscale;
    T v = e[i] * (h / s[r]);
    res = pos[r] == i ? v - h : v;
"""


def _kernel(cupy, name):
    k = _KERNELS.get(name)
    if k is None:
        if name == "forward":
            k = cupy.ElementwiseKernel(
                "raw T x, L label, int64 C, bool wrap, T scale", "T loss, raw T e, T s, int64 pos",
                _FORWARD, "kiln_log_softmax_pick")
        else:
            k = cupy.ElementwiseKernel(
                "raw T e, raw T s, raw T g, raw int64 pos, int64 C, T nscale", "T res",
                _BACKWARD, "kiln_log_softmax_pick_backward")
        _KERNELS[name] = k
    return k


_FLOATS = (np.float32, np.float64)  # (float16 has no arithmetic of its own in these kernels)


def _fits(data, index, axis):
    return (data.ndim == 2 and axis in (-1, 1) and index.shape == data.shape[:1]
            and data.dtype in _FLOATS and data.shape[1] > 0 and data.flags.c_contiguous
            and (index.dtype in _FLOATS or index.dtype.kind in "iu"))


def lsp_rows(cupy, data, index, axis, keepdims, mode, scale):
    """(out, e, s, pos) as the generic kernel returns them with ``hidden=True``, or None
    when the layout is not 2-D logits with one label per row."""
    if not _fits(data, index, axis):
        return None
    n, c = data.shape
    e = cupy.empty_like(data)
    out, s = cupy.empty(n, data.dtype), cupy.empty(n, data.dtype)
    pos = cupy.empty(n, np.int64)
    label = index if index.flags.c_contiguous else cupy.ascontiguousarray(index)
    _kernel(cupy, "forward")(data, label, c, mode == "wrap", data.dtype.type(scale),
                             out, e, s, pos)
    if keepdims:
        out, pos = out.reshape(n, 1), pos.reshape(n, 1)
    return out, e, s.reshape(n, 1), pos


def lsp_backward_rows(cupy, grad, e, s, pos, scale):
    """The gradient as the generic backward computes it, or None for another layout."""
    if (e.ndim != 2 or pos.size != e.shape[0] or s.size != e.shape[0] or grad.size != pos.size
            or e.dtype not in _FLOATS or s.dtype != e.dtype or grad.dtype.kind != "f"):
        return None
    n, c = e.shape
    res = cupy.empty_like(e)
    g = grad.reshape(n).astype(e.dtype, copy=False)
    _kernel(cupy, "backward")(e, s.reshape(n), cupy.ascontiguousarray(g),
                              cupy.ascontiguousarray(pos.reshape(n)), c,
                              e.dtype.type(-scale), res)
    return res


# ---- the training step's other hot spots: relu's gradient and SGD's update ------------------
_ELEMENTWISE = {
    # g * (y > 0) (the mask as 0/1: an infinite or NaN gradient where y <= 0 gives NaN, as numpy)
    "relu_backward": ("T g, T y", "T r", "r = y > 0 ? g : g * T(0)"),
    # the expressions of optimizer/sgd.py's sgd_kernel, in their order
    "sgd": ("T g, T step", "T w", "w = w - step * g"),
    "sgd_wd": ("T g, T lr, T decay, T rescale", "T w", "w = decay * w - lr * (rescale * g)"),
    "sgd_mom": ("T g, T lr, T wd, T momentum, T rescale", "T w, T mom",
                "mom = momentum * mom - (lr * wd * w + lr * (rescale * g)); w = w + mom"),
    # optimizer/adam.py's adam_kernel (lr bias-corrected by the caller), in its order
    "adam": ("T g, T rescale, T wd, T beta1, T c1, T beta2, T c2, T lr, T eps",
             "T w, T mean, T var",
             "T d = rescale * g + wd * w; mean = beta1 * mean + c1 * d;"
             " var = beta2 * var + d * d * c2; w = w - lr * mean / (sqrt(var) + eps)"),
}


def _elementwise(cupy, name):
    k = _KERNELS.get(name)
    if k is None:
        ins, outs, body = _ELEMENTWISE[name]
        k = _KERNELS[name] = cupy.ElementwiseKernel(ins, outs, body, f"kiln_{name}")
    return k


def _floats(*arrays):
    dt = arrays[0].dtype
    return dt in _FLOATS and all(a.dtype == dt for a in arrays)


def relu_backward(cupy, g, y, out=None):
    """``g * (y > 0)`` in one launch (float32/float64; else None)."""
    if not _floats(g, y) or g.shape != y.shape:
        return None
    return _elementwise(cupy, "relu_backward")(g, y, *(() if out is None else (out,)))


def sgd_update(w, g, mom, lr, wd, momentum, rescale):
    """``sgd_kernel`` without clipping in one launch on cupy arrays; False when it does not
    apply (numpy arrays, mixed or non-float dtypes, numpy scalars)."""
    if isinstance(w, np.ndarray) or not (type(lr) in (int, float) and type(wd) in (int, float)):
        return False
    import cupy
    if not isinstance(w, cupy.ndarray) or not _floats(w, g, *([] if mom is None else [mom])):
        return False
    t = w.dtype.type
    if mom is not None:
        _elementwise(cupy, "sgd_mom")(g, t(lr), t(wd), t(momentum), t(rescale), w, mom)
    elif wd:
        _elementwise(cupy, "sgd_wd")(g, t(lr), t(1 - lr * wd), t(rescale), w)
    else:
        _elementwise(cupy, "sgd")(g, t(lr * rescale), w)
    return True


def adam_update(w, g, mean, var, lr, wd, beta1, beta2, epsilon, rescale):
    """``adam_kernel`` without clipping in one launch on cupy arrays; False when it does not
    apply (numpy arrays, mixed or non-float dtypes, numpy scalars)."""
    if isinstance(w, np.ndarray) or not all(type(v) in (int, float) for v in
                                            (lr, wd, beta1, beta2, epsilon, rescale)):
        return False
    import cupy
    if not isinstance(w, cupy.ndarray) or not _floats(w, g, mean, var):
        return False
    t = w.dtype.type
    _elementwise(cupy, "adam")(g, t(rescale), t(wd), t(beta1), t(1 - beta1), t(beta2),
                               t(1 - beta2), t(lr), t(epsilon), w, mean, var)
    return True
