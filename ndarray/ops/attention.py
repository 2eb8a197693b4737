"""Transformer attention ops of MXNet 1.9's ``contrib``: the interleaved multi-head products
(``interleaved_matmul_selfatt_qk`` / ``_valatt``, ``interleaved_matmul_encdec_qk`` / ``_valatt``),
``div_sqrt_dim`` and ``arange_like``. Each is also registered as ``_contrib_<name>``, which
``nd.contrib`` and ``sym.contrib`` expose as ``<name>``.

MXNet's interleaved layout: a self-attention projection is ``(T, B, heads * 3 * D)`` where each
head's query, key and value (``D`` wide each) sit side by side, i.e. it reshapes to
``(T, B, heads, 3, D)``; an encoder-decoder key/value projection is ``(T, B, heads, 2, D)`` and a
query ``(T, B, heads, D)``. Attention scores are ``(B * heads, T_q, T_k)`` (batch-major, head
minor) and the query is scaled by ``1 / sqrt(D)``. MXNet 1.9.1 runs these in float32 only on the
CPU; kiln accepts any float dtype.
"""
import math

import numpy as np

from .. import ops as F
from .._registry import REQUIRED, Aval, Sample, register
from ._rules import same
from ._samples import rnd


# ---- the layout, once over xp (kernels), once with registry ops (gradients) ----------------
def _split(xp, x, heads, parts, j):
    """Part ``j`` of ``x`` (T, B, heads*parts*D) as (B*heads, T, D)."""
    t, b, w = x.shape
    d = w // (heads * parts)
    y = x.reshape(t, b, heads, parts, d)[:, :, :, j]
    return xp.ascontiguousarray(y.transpose(1, 2, 0, 3)).reshape(b * heads, t, d)


def _merge(xp, y, batch):
    """(B*heads, T, D) back to (T, B, heads*D)."""
    bh, t, d = y.shape
    return xp.ascontiguousarray(y.reshape(batch, bh // batch, t, d).transpose(2, 0, 1, 3)
                                ).reshape(t, batch, -1)


def _f_split(x, heads, parts, j):
    t, b, w = (int(s) for s in x.shape)
    d = w // (heads * parts)
    y = F.reshape(x, shape=(t, b, heads, parts, d))
    if parts > 1:
        y = F.slice_axis(y, axis=3, begin=j, end=j + 1)
    y = F.transpose(F.reshape(y, shape=(t, b, heads, d)), axes=(1, 2, 0, 3))
    return F.reshape(y, shape=(b * heads, t, d))


def _f_merge(parts, batch, heads):
    """(B*heads, T, D) pieces, interleaved back into (T, B, heads*len(parts)*D)."""
    bh, t, d = (int(s) for s in parts[0].shape)
    ys = [F.transpose(F.reshape(p, shape=(batch, heads, t, d)), axes=(2, 0, 1, 3))
          for p in parts]
    y = ys[0] if len(ys) == 1 else F.stack(*ys, axis=3)
    return F.reshape(y, shape=(t, batch, heads * len(parts) * d))


def _o_split(g, x, shape, heads, parts, j):
    t, b, w = shape
    d = w // (heads * parts)
    y = g.op("Reshape", x, g.ints([0, 0, heads, parts, d]))     # 0: T and B copied at run time
    y = g.op("Gather", y, g.const(np.int64(j)), axis=3)
    y = g.op("Transpose", y, perm=[1, 2, 0, 3])
    # (B*heads, T, D) with T and D read at run time: a constant shape would bake T in
    tail = g.op("Slice", g.op("Shape", y), g.ints([2]), g.ints([4]))
    return g.op("Reshape", y, g.op("Concat", g.ints([-1]), tail, axis=0))


def _o_merge(g, y, batch, heads, t, d):
    tail = g.op("Slice", g.op("Shape", y), g.ints([1]), g.ints([3]))    # (T, D) at run time
    y = g.op("Reshape", y, g.op("Concat", g.ints([-1, heads]), tail, axis=0))
    y = g.op("Transpose", y, perm=[2, 0, 1, 3])
    return g.op("Reshape", y, g.ints([0, 0, heads * d]))


def _head_dim(shape, heads, parts, name):
    w = int(shape[-1])
    if len(shape) != 3 or w % (int(heads) * parts):
        raise ValueError(f"{name}: input must be (T, B, heads*{parts}*D), got {tuple(shape)} "
                         f"with heads={heads}")
    return w // (int(heads) * parts)


def _scale(d):
    return 1.0 / math.sqrt(d)


def _o_scale(g, x, dtype, d):
    return g.op("Mul", x, g.const(np.asarray(_scale(d), dtype)))


# ---- self attention ------------------------------------------------------------------------
def _sqk_kernel(xp, qkv, heads):
    d = _head_dim(qkv.shape, heads, 3, "interleaved_matmul_selfatt_qk")
    q = _split(xp, qkv, heads, 3, 0) * qkv.dtype.type(_scale(d))
    return xp.matmul(q, _split(xp, qkv, heads, 3, 1).transpose(0, 2, 1))


def _sqk_infer(qkv, heads):
    _head_dim(qkv.shape, heads, 3, "interleaved_matmul_selfatt_qk")
    t, b, _ = qkv.shape
    return Aval((b * int(heads), t, t), np.dtype(qkv.dtype))


def _sqk_grad(i, o, g, heads):
    qkv, heads = i[0], int(heads)
    d = _head_dim(qkv.shape, heads, 3, "interleaved_matmul_selfatt_qk")
    q, k = _f_split(qkv, heads, 3, 0), _f_split(qkv, heads, 3, 1)
    gq = F.batch_dot(g[0], k) * _scale(d)
    gk = F.batch_dot(g[0], q, transpose_a=True) * _scale(d)
    return (_f_merge([gq, gk, F.zeros_like(gk)], int(qkv.shape[1]), heads),)


def _sqk_onnx(g, i, a, o, heads):
    shape, heads = tuple(a[0].shape), int(heads)
    d = _head_dim(shape, heads, 3, "interleaved_matmul_selfatt_qk")
    q = _o_scale(g, _o_split(g, i[0], shape, heads, 3, 0), a[0].dtype, d)
    k = _o_split(g, i[0], shape, heads, 3, 1)
    return g.op("MatMul", q, g.op("Transpose", k, perm=[0, 2, 1]))


def _ref_split(x, heads, parts, j):
    t, b, w = x.shape
    d = w // (heads * parts)
    return x.reshape(t, b, heads, parts, d)[:, :, :, j].transpose(1, 2, 0, 3).reshape(
        b * heads, t, d)


def _ref_merge(y, batch):
    bh, t, d = y.shape
    return y.reshape(batch, bh // batch, t, d).transpose(2, 0, 1, 3).reshape(t, batch, -1)


def _sqk_ref(qkv, heads):
    q, k = _ref_split(qkv, heads, 3, 0), _ref_split(qkv, heads, 3, 1)
    return np.einsum("btd,bsd->bts", q, k) / math.sqrt(q.shape[-1])


_ATTRS = {"heads": REQUIRED}
interleaved_matmul_selfatt_qk = register(
    "interleaved_matmul_selfatt_qk", _sqk_kernel, inputs=("queries_keys_values",),
    attrs=dict(_ATTRS), infer=_sqk_infer, grad=_sqk_grad, onnx=_sqk_onnx, ref=_sqk_ref,
    second_order=True,
    samples=[Sample(rnd(3, 2, 12), heads=2), Sample(rnd(4, 1, 6), heads=1)],
    aliases=("_contrib_interleaved_matmul_selfatt_qk",),
    doc="""Self-attention scores ``q @ k^T / sqrt(D)`` of every head from MXNet's interleaved
    projection.

    queries_keys_values: (T, B, heads*3*D). Output: (B*heads, T, T).

    Example::

        >>> nd.contrib.interleaved_matmul_selfatt_qk(nd.ones((5, 2, 24)), heads=2).shape
        (4, 5, 5)
    """, amp="widest")


def _sva_kernel(xp, qkv, att, heads):
    _head_dim(qkv.shape, heads, 3, "interleaved_matmul_selfatt_valatt")
    return _merge(xp, xp.matmul(att, _split(xp, qkv, heads, 3, 2)), qkv.shape[1])


def _sva_infer(qkv, att, heads):
    d = _head_dim(qkv.shape, heads, 3, "interleaved_matmul_selfatt_valatt")
    t, b, _ = qkv.shape
    if tuple(att.shape) != (b * int(heads), t, t):
        raise ValueError(f"interleaved_matmul_selfatt_valatt: attention must be "
                         f"{(b * int(heads), t, t)}, got {tuple(att.shape)}")
    return Aval((t, b, int(heads) * d), np.dtype(qkv.dtype))


def _sva_grad(i, o, g, heads):
    qkv, att = i
    heads, batch = int(heads), int(qkv.shape[1])
    v = _f_split(qkv, heads, 3, 2)
    gy = _f_split(g[0], heads, 1, 0)                          # (B*heads, T, D)
    gv = F.batch_dot(att, gy, transpose_a=True)
    zero = F.zeros_like(gv)
    return _f_merge([zero, zero, gv], batch, heads), F.batch_dot(gy, v, transpose_b=True)


def _sva_onnx(g, i, a, o, heads):
    shape, heads = tuple(a[0].shape), int(heads)
    d = _head_dim(shape, heads, 3, "interleaved_matmul_selfatt_valatt")
    y = g.op("MatMul", i[1], _o_split(g, i[0], shape, heads, 3, 2))
    return _o_merge(g, y, shape[1], heads, shape[0], d)


def _sva_ref(qkv, att, heads):
    return _ref_merge(att @ _ref_split(qkv, heads, 3, 2), qkv.shape[1])


interleaved_matmul_selfatt_valatt = register(
    "interleaved_matmul_selfatt_valatt", _sva_kernel,
    inputs=("queries_keys_values", "attention"), attrs=dict(_ATTRS), infer=_sva_infer,
    grad=_sva_grad, onnx=_sva_onnx, ref=_sva_ref, second_order=True,
    samples=[Sample(rnd(3, 2, 12), rnd(4, 3, 3, salt=5), heads=2),
             Sample(rnd(2, 3, 9), rnd(9, 2, 2, salt=5), heads=3)],
    aliases=("_contrib_interleaved_matmul_selfatt_valatt",),
    doc="""Attention-weighted values of every head, from MXNet's interleaved projection.

    queries_keys_values: (T, B, heads*3*D); attention: (B*heads, T, T).
    Output: (T, B, heads*D).

    Example::

        >>> nd.contrib.interleaved_matmul_selfatt_valatt(
        ...     nd.ones((5, 2, 24)), nd.ones((4, 5, 5)), heads=2).shape
        (5, 2, 8)
    """, amp="widest")


# ---- encoder-decoder attention -------------------------------------------------------------
def _eqk_kernel(xp, q, kv, heads):
    d = _head_dim(q.shape, heads, 1, "interleaved_matmul_encdec_qk")
    qs = _split(xp, q, heads, 1, 0) * q.dtype.type(_scale(d))
    return xp.matmul(qs, _split(xp, kv, heads, 2, 0).transpose(0, 2, 1))


def _eqk_infer(q, kv, heads):
    d = _head_dim(q.shape, heads, 1, "interleaved_matmul_encdec_qk")
    if _head_dim(kv.shape, heads, 2, "interleaved_matmul_encdec_qk") != d or \
            kv.shape[1] != q.shape[1]:
        raise ValueError(f"interleaved_matmul_encdec_qk: keys_values {tuple(kv.shape)} does "
                         f"not match queries {tuple(q.shape)} (heads={heads})")
    return Aval((int(q.shape[1]) * int(heads), q.shape[0], kv.shape[0]), np.dtype(q.dtype))


def _eqk_grad(i, o, g, heads):
    q, kv = i
    heads, batch = int(heads), int(q.shape[1])
    d = _head_dim(q.shape, heads, 1, "interleaved_matmul_encdec_qk")
    qh, k = _f_split(q, heads, 1, 0), _f_split(kv, heads, 2, 0)
    gq = F.batch_dot(g[0], k) * _scale(d)
    gk = F.batch_dot(g[0], qh, transpose_a=True) * _scale(d)
    return _f_merge([gq], batch, heads), _f_merge([gk, F.zeros_like(gk)], batch, heads)


def _eqk_onnx(g, i, a, o, heads):
    qs, kvs, heads = tuple(a[0].shape), tuple(a[1].shape), int(heads)
    d = _head_dim(qs, heads, 1, "interleaved_matmul_encdec_qk")
    q = _o_scale(g, _o_split(g, i[0], qs, heads, 1, 0), a[0].dtype, d)
    k = _o_split(g, i[1], kvs, heads, 2, 0)
    return g.op("MatMul", q, g.op("Transpose", k, perm=[0, 2, 1]))


def _eqk_ref(q, kv, heads):
    qh, k = _ref_split(q, heads, 1, 0), _ref_split(kv, heads, 2, 0)
    return np.einsum("btd,bsd->bts", qh, k) / math.sqrt(qh.shape[-1])


interleaved_matmul_encdec_qk = register(
    "interleaved_matmul_encdec_qk", _eqk_kernel, inputs=("queries", "keys_values"),
    attrs=dict(_ATTRS), infer=_eqk_infer, grad=_eqk_grad, onnx=_eqk_onnx, ref=_eqk_ref,
    second_order=True,
    samples=[Sample(rnd(3, 2, 4), rnd(5, 2, 8, salt=5), heads=2),
             Sample(rnd(2, 1, 3), rnd(4, 1, 6, salt=5), heads=1)],
    aliases=("_contrib_interleaved_matmul_encdec_qk",),
    doc="""Encoder-decoder attention scores ``q @ k^T / sqrt(D)`` of every head.

    queries: (T_q, B, heads*D); keys_values: (T_k, B, heads*2*D) (MXNet's interleaved layout).
    Output: (B*heads, T_q, T_k).

    Example::

        >>> nd.contrib.interleaved_matmul_encdec_qk(nd.ones((3, 2, 8)), nd.ones((5, 2, 16)),
        ...                                         heads=2).shape
        (4, 3, 5)
    """, amp="widest")


def _eva_kernel(xp, kv, att, heads):
    _head_dim(kv.shape, heads, 2, "interleaved_matmul_encdec_valatt")
    return _merge(xp, xp.matmul(att, _split(xp, kv, heads, 2, 1)), kv.shape[1])


def _eva_infer(kv, att, heads):
    d = _head_dim(kv.shape, heads, 2, "interleaved_matmul_encdec_valatt")
    tk, b, _ = kv.shape
    if len(att.shape) != 3 or tuple(att.shape)[0::2] != (b * int(heads), tk):
        raise ValueError(f"interleaved_matmul_encdec_valatt: attention must be "
                         f"({b * int(heads)}, T_q, {tk}), got {tuple(att.shape)}")
    return Aval((att.shape[1], b, int(heads) * d), np.dtype(kv.dtype))


def _eva_grad(i, o, g, heads):
    kv, att = i
    heads, batch = int(heads), int(kv.shape[1])
    v = _f_split(kv, heads, 2, 1)
    gy = _f_split(g[0], heads, 1, 0)                          # (B*heads, T_q, D)
    gv = F.batch_dot(att, gy, transpose_a=True)               # (B*heads, T_k, D)
    return (_f_merge([F.zeros_like(gv), gv], batch, heads),
            F.batch_dot(gy, v, transpose_b=True))


def _eva_onnx(g, i, a, o, heads):
    shape, heads = tuple(a[0].shape), int(heads)
    d = _head_dim(shape, heads, 2, "interleaved_matmul_encdec_valatt")
    y = g.op("MatMul", i[1], _o_split(g, i[0], shape, heads, 2, 1))
    return _o_merge(g, y, shape[1], heads, int(a[1].shape[1]), d)


def _eva_ref(kv, att, heads):
    return _ref_merge(att @ _ref_split(kv, heads, 2, 1), kv.shape[1])


interleaved_matmul_encdec_valatt = register(
    "interleaved_matmul_encdec_valatt", _eva_kernel, inputs=("keys_values", "attention"),
    attrs=dict(_ATTRS), infer=_eva_infer, grad=_eva_grad, onnx=_eva_onnx, ref=_eva_ref,
    second_order=True,
    samples=[Sample(rnd(5, 2, 8), rnd(4, 3, 5, salt=5), heads=2),
             Sample(rnd(4, 1, 6), rnd(3, 2, 4, salt=5), heads=3)],
    aliases=("_contrib_interleaved_matmul_encdec_valatt",),
    doc="""Encoder-decoder attention-weighted values of every head.

    keys_values: (T_k, B, heads*2*D) (MXNet's interleaved layout); attention: (B*heads, T_q,
    T_k). Output: (T_q, B, heads*D).

    Example::

        >>> nd.contrib.interleaved_matmul_encdec_valatt(nd.ones((5, 2, 16)),
        ...                                             nd.ones((4, 3, 5)), heads=2).shape
        (3, 2, 8)
    """, amp="widest")


# ---- div_sqrt_dim, arange_like -----------------------------------------------------------
def _root(n, dtype):
    """sqrt(n) in ``dtype`` (truncated for integer dtypes, like MXNet)."""
    return np.dtype(dtype).type(math.sqrt(n))


def _div_sqrt_dim_kernel(xp, data):
    s = _root(data.shape[-1], data.dtype)
    if data.dtype.kind in "iub":   # C integer division: truncated toward zero
        return (data / s).astype(data.dtype)
    return data / s


def _div_sqrt_dim_onnx(g, i, a, o):
    return g.op("Div", i[0], g.const(_root(a[0].shape[-1], a[0].dtype)))


div_sqrt_dim = register(
    "div_sqrt_dim", _div_sqrt_dim_kernel, infer=same,
    grad=lambda i, o, g: (F.div_sqrt_dim(g[0]),), onnx=_div_sqrt_dim_onnx,
    ref=lambda x: x / math.sqrt(x.shape[-1]), second_order=True,
    samples=[Sample(rnd(2, 4)), Sample(rnd(3, 2, 5))],
    aliases=("_contrib_div_sqrt_dim",),
    doc="""``data / sqrt(data.shape[-1])``: scaled dot-product attention's scaling.

    data: any shape (...,  D). Output: like data.

    Example::

        >>> nd.contrib.div_sqrt_dim(nd.ones((2, 4)))   # all 0.5
    """)


def _arange_shape(shape, axis):
    shape = tuple(int(s) for s in shape)
    if axis is None:
        return shape
    return (shape[int(axis) % len(shape)],)


def _arange_like_kernel(xp, data, start=0.0, step=1.0, repeat=1, axis=None):
    shape = _arange_shape(data.shape, axis)
    dt = data.dtype
    i = xp.arange(int(np.prod(shape)), dtype=np.int64) // int(repeat)
    out = dt.type(start) + dt.type(step) * i.astype(dt)
    return out.astype(dt, copy=False).reshape(shape)


def _arange_like_onnx(g, i, a, o, start=0.0, step=1.0, repeat=1, axis=None):
    dt = a[0].dtype
    shape = g.op("Shape", i[0])
    if axis is None:
        n = g.op("ReduceProd", shape, keepdims=1)
    else:
        n = g.op("Slice", shape, g.ints([int(axis) % len(a[0].shape)]),
                 g.ints([int(axis) % len(a[0].shape) + 1]))
    idx = g.op("Range", g.const(np.int64(0)), g.op("Reshape", n, g.ints([])),
               g.const(np.int64(1)))
    idx = g.op("Cast", g.op("Div", idx, g.const(np.int64(int(repeat)))), to=g.onnx_dtype(dt))
    out = g.op("Add", g.const(np.dtype(dt).type(start)),
               g.op("Mul", g.const(np.dtype(dt).type(step)), idx))
    return out if axis is not None else g.op("Reshape", out, shape)


def _arange_like_ref(data, start=0.0, step=1.0, repeat=1, axis=None):
    shape = _arange_shape(data.shape, axis)
    return (start + step * (np.arange(int(np.prod(shape))) // repeat)).reshape(shape)


arange_like = register(
    "arange_like", _arange_like_kernel,
    attrs={"start": 0.0, "step": 1.0, "repeat": 1, "axis": None}, ignored=("ctx",),
    infer=lambda d, start=0.0, step=1.0, repeat=1, axis=None: Aval(
        _arange_shape(d.shape, axis), np.dtype(d.dtype)),
    grad=None, no_grad="the output depends on the input's shape only",
    onnx=_arange_like_onnx, ref=_arange_like_ref,
    samples=[Sample(rnd(2, 3)), Sample(rnd(2, 3, 4), start=1.0, step=2.0, repeat=2),
             Sample(rnd(2, 3, 4), start=-1.0, step=-0.5, repeat=2, axis=-2),
             Sample(rnd(5, 2), start=3.0, axis=0)],
    aliases=("_contrib_arange_like",),
    doc="""``start + step * (i // repeat)`` for ``i`` counting the elements of ``data`` (shaped
    like it) or, with ``axis``, the length of that axis (1-D). The output has ``data``'s dtype
    (for an integer dtype ``start`` and ``step`` are truncated first, like MXNet) and ignores its
    values (zero gradient). ``ctx=`` is accepted and ignored: the output lives on data's device.

    Example::

        >>> nd.contrib.arange_like(nd.ones((2, 3)), start=1, step=2, repeat=2)
        # [[1. 1. 3.] [3. 5. 5.]]
    """)
