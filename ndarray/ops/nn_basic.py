"""Basic neural-network ops: FullyConnected, Dropout, Embedding, SequenceMask.

``Dropout`` is a registry op (MXNet's): in training mode (or ``mode='always'``) it draws its mask
as a second, hidden output that the gradient reuses; ``kiln.nd.Dropout`` returns the first.
"""
import math

import numpy as np

from ...base import OpError
from .. import ops as F
from .._registry import REQUIRED, STATE, Aval, Sample, register
from ._rules import check_param_dtypes, check_shapes, norm_axis, sequence_length_range
from ._samples import rnd
from ._xp import dense
from .indexing import scatter_rows


# ---- FullyConnected ------------------------------------------------------------------------
def _fc_kernel(xp, x, w, b=None, num_hidden=None, no_bias=False, flatten=True):
    if w.dtype != x.dtype or (b is not None and b.dtype != x.dtype):
        check_param_dtypes(x, weight=w, bias=None if no_bias else b)
    # explicit sizes, not -1: an empty batch (0, ...) reshapes too
    if flatten and x.ndim != 2:
        x2, shape = x.reshape(x.shape[0], math.prod(x.shape[1:])), None
    elif x.ndim > 2:  # one 2-d product: numpy's matmul of a 3-d array by a matrix skips BLAS
        x2, shape = x.reshape(math.prod(x.shape[:-1]), x.shape[-1]), x.shape[:-1]
    else:
        x2, shape = x, None
    # the bias is added in the product's own new array (dense: transposed for few rows)
    y = dense(xp, x2, w, None if no_bias else b)
    return y if shape is None else y.reshape(shape + (w.shape[0],))


def _embedding_param_shapes(d, input_dim=REQUIRED, output_dim=REQUIRED, **_):
    """``weight (input_dim, output_dim)``."""
    return {"weight": (int(input_dim), int(output_dim))}


def _embedding_infer(d, w, input_dim, output_dim, **_):
    want = _embedding_param_shapes(d, input_dim, output_dim)
    check_shapes("Embedding", weight=(w, want["weight"]))
    return Aval(tuple(d.shape) + (int(output_dim),), np.dtype(w.dtype))


def _fc_param_shapes(x, num_hidden=REQUIRED, no_bias=False, flatten=True, **_):
    """``weight (num_hidden, in_units)``, in_units the trailing axes' size (``flatten``) or the
    last axis; ``bias (num_hidden,)``."""
    in_units = math.prod(x.shape[1:]) if flatten else x.shape[-1]
    shapes = {"weight": (int(num_hidden), int(in_units))}
    if not no_bias:
        shapes["bias"] = (int(num_hidden),)
    return shapes


def _fc_infer(x, w, b=None, num_hidden=None, no_bias=False, flatten=True):
    check_param_dtypes(x, weight=w, bias=None if no_bias else b)
    lead = tuple(x.shape[:1]) if flatten else tuple(x.shape[:-1])
    in_units = _fc_param_shapes(x, num_hidden, no_bias, flatten)["weight"][1]
    if tuple(w.shape) != (int(num_hidden), in_units):
        raise OpError(f"weight shape {tuple(w.shape)} does not match (num_hidden, input "
                      f"units) = ({num_hidden}, {in_units}) for data {tuple(x.shape)}")
    if b is not None and not no_bias and tuple(b.shape) != (int(num_hidden),):
        raise OpError(f"bias shape {tuple(b.shape)} is not ({num_hidden},)")
    return Aval(lead + (int(num_hidden),), np.dtype(x.dtype))


def _fc_grad(i, o, g, num_hidden, no_bias=False, flatten=True):
    x, w, b = i
    gy = g[0]
    in_units = int(w.shape[1])
    # rows: batch (flatten) or all leading axes; 2-d arrays as they are (an eager reshape
    # is a dispatched op: three of them were a third of a small Dense layer's gradient)
    x2 = x if len(x.shape) == 2 else F.reshape(x, shape=(-1, in_units))
    gy2 = gy if len(gy.shape) == 2 else F.reshape(gy, shape=(-1, int(num_hidden)))
    dx = F.dot(gy2, w)
    if len(x.shape) != 2:
        dx = F.reshape(dx, shape=tuple(x.shape))
    dw = F.dot(gy2, x2, transpose_a=True)
    db = F.sum(gy2, axis=0) if (b is not None and not no_bias) else None
    return dx, dw, db


def _fc_onnx(g, i, a, o, num_hidden=None, no_bias=False, flatten=True):
    x, w, b = i
    bias = None if no_bias else b
    if flatten:
        x2 = x if len(a[0].shape) == 2 else g.op("Flatten", x, axis=1)
        return g.op("Gemm", x2, w, bias, transB=1)
    y = g.op("MatMul", x, g.op("Transpose", w, perm=[1, 0]))
    return y if bias is None else g.op("Add", y, bias)


def _fc_ref(x, w, b=None, num_hidden=None, no_bias=False, flatten=True):
    x2 = x.reshape(len(x), -1) if flatten else x
    y = np.einsum("...i,hi->...h", x2, w)
    return y if (b is None or no_bias) else y + b


fully_connected = register(
    "fully_connected", _fc_kernel, inputs=("data", "weight", "bias?"),
    attrs={"num_hidden": REQUIRED, "no_bias": False, "flatten": True},
    infer=_fc_infer, grad=_fc_grad, onnx=_fc_onnx, ref=_fc_ref, second_order=True,
    overlap=True,
    samples=[Sample(rnd(2, 3), rnd(4, 3, salt=1), rnd(4, salt=2), num_hidden=4),
             Sample(rnd(2, 2, 3), rnd(4, 6, salt=1), None, num_hidden=4, no_bias=True),
             Sample(rnd(2, 2, 3), rnd(4, 3, salt=1), rnd(4, salt=2), num_hidden=4,
                    flatten=False)],
    aliases=("FullyConnected",), param_shapes=_fc_param_shapes,
    doc="""Affine layer ``y = x W^T + b`` (MXNet ``FullyConnected``).

    data (N, d1, ...) is flattened to (N, d1*...) when ``flatten`` (the default); otherwise the
    transform applies to the last axis. weight: (num_hidden, in_units); bias: (num_hidden,).
    Output: (N, num_hidden), or data.shape[:-1] + (num_hidden,) without flattening.

    Example::

        >>> nd.FullyConnected(nd.ones((2, 3)), nd.ones((4, 3)), nd.zeros(4), num_hidden=4)
    """, amp="lp16")


# ---- Dropout -------------------------------------------------------------------------------
def _mask_shape(shape, axes):
    shape = list(shape)
    for ax in (axes or ()):
        shape[norm_axis(ax, len(shape), "dropout")] = 1
    return tuple(shape)


def _dropout_mask_kernel(xp, x, p=0.5, axes=()):
    from .. import rng as _random
    shape = _mask_shape(x.shape, axes)
    keep = 1.0 - float(p)
    if keep <= 0.0:
        return xp.zeros(shape, x.dtype)
    draw = _random.generator(xp).random(shape)
    return ((draw < keep) * (1.0 / keep)).astype(x.dtype)


dropout_mask = register(
    "dropout_mask", _dropout_mask_kernel, attrs={"p": 0.5, "axes": ()},
    infer=lambda x, p=0.5, axes=(): Aval(_mask_shape(x.shape, axes), np.dtype(x.dtype)),
    random=True, samples=[Sample(rnd(3, 4), p=0.5), Sample(rnd(2, 3, 4), p=0.3, axes=(1,))],
    no_grad="random mask: a constant that does not depend on the data's values",
    no_onnx="training-only: exported inference graphs contain no dropout",
    no_ref="random: checked statistically in tests/test_nn_ops.py",
    doc="""Dropout's scaled keep-mask: 0 or 1/(1-p), shaped like data with ``axes`` set to 1.

    Example::

        >>> m = nd.dropout_mask(nd.ones((2, 3)), p=0.5)   # values in {0, 2}
    """)


_DROPOUT_MODES = ("training", "always")


def _dropout_active(p, mode, train):
    """Whether a Dropout call draws a mask: p > 0, and training mode or ``mode='always'``."""
    if mode not in _DROPOUT_MODES:
        raise ValueError(f"Dropout: mode must be 'training' or 'always', got {mode!r}")
    return float(p) > 0.0 and (mode == "always" or bool(train))


def _dropout_n_out(attrs):
    # The mask is a second, hidden output (as in MXNet) of a call that draws one, so the
    # gradient reuses it. A node built without a mode (symbolic call, loaded file) has one
    # output: its mode is only known when it runs, through the public function below.
    if "_train" not in attrs:
        return 1
    return 2 if _dropout_active(attrs.get("p", 0.5), attrs.get("mode", "training"),
                                attrs["_train"]) else 1


def _dropout_kernel(xp, x, p=0.5, mode="training", axes=(), cudnn_off=False, _train=False):
    if not _dropout_active(p, mode, _train):
        return x.copy()   # a new array, as MXNet's predict-mode Dropout writes one
    mask = _dropout_mask_kernel(xp, x, p, axes)
    return x * mask, mask


def _dropout_infer(x, p=0.5, mode="training", axes=(), cudnn_off=False, _train=False):
    out = Aval(tuple(x.shape), np.dtype(x.dtype))
    if not _dropout_active(p, mode, _train):
        return out
    return out, Aval(_mask_shape(x.shape, axes), np.dtype(x.dtype))


def _dropout_grad(i, o, g, p=0.5, mode="training", axes=(), cudnn_off=False, _train=False):
    if o is not None and len(o) == 2:
        return (g[0] * o[1],)   # the mask the forward drew
    return (g[0],)


def _dropout_onnx(g, i, a, o, p=0.5, mode="training", axes=(), cudnn_off=False, _train=False):
    # inference graphs: Dropout is the identity (a drawn mask would be all ones)
    out = g.op("Identity", i[0])
    if len(o) < 2:
        return out
    return [out, g.const(np.ones(tuple(o[1].shape), o[1].dtype))]


def _dropout_samples():
    # outside autograd these are predict-mode calls (a copy); the gradient checks record in
    # training mode, where only p=0 is deterministic. Masks: tests/test_nn_ops.py.
    return [Sample(rnd(3, 4), p=0.5, grad=False),
            Sample(rnd(2, 3, 4), p=0.3, axes=(1,), grad=False),
            Sample(rnd(3, 4), p=0.0),
            Sample(rnd(2, 3), p=0.0, mode="always")]


_dropout_op_func = register(
    "dropout", _dropout_kernel, attrs={"p": 0.5, "mode": "training", "axes": (),
                                       "cudnn_off": False},
    num_outputs=_dropout_n_out, infer=_dropout_infer, grad=_dropout_grad, onnx=_dropout_onnx,
    samples=_dropout_samples(), uses_mode=True, random=True, second_order=True,
    no_ref="random: checked statistically in tests/test_nn_ops.py", aliases=("Dropout",))
_DROPOUT = _dropout_op_func.op


def dropout(data, p=0.5, mode="training", axes=(), cudnn_off=False, out=None, **kwargs):
    """Randomly zero elements with probability ``p`` and scale the rest by ``1/(1-p)``
    (MXNet ``Dropout``).

    A copy of data unless autograd is in training mode or ``mode='always'``. ``axes`` share one
    mask value along those axes (variational dropout). The gradient is the output gradient
    times the same mask. ``cudnn_off`` is accepted for MXNet compatibility. Output: same shape
    and dtype as data.

    Example::

        >>> with kl.autograd.train_mode():
        ...     y = nd.Dropout(nd.ones((2, 4)), p=0.5)   # entries 0 or 2
    """
    tracer = STATE.tracer
    if (tracer is not None and getattr(tracer, "records_mode", True)
            and _dropout_active(p, mode, STATE.training)):
        # A trace that draws a mask spells it out as its own node: a compiled backward reads
        # only the mask, and symbol/codegen recomputes a multi-output node (a new random draw)
        # unless every output of it is provided. Same draws as the op, so hybridized == eager.
        # (Export writes this pair back as MXNet's Dropout: symbol/mxnet_json.py.)
        res = data * F.dropout_mask(data, p=p, axes=tuple(axes or ()))
    else:
        res = _dropout_op_func(data, p, mode, axes, cudnn_off, **kwargs)
    if isinstance(res, list):   # the hidden mask output stays inside (autograd keeps it)
        res = res[0]
    if out is not None:
        out[:] = res
        return out
    return res


# The public function (kiln.nd.Dropout, the graph evaluator, kiln.sym's F) shows one output,
# as MXNet's Dropout does: the op's function is this wrapper.
dropout.op = _DROPOUT
dropout.__module__ = "kiln.ndarray"
_DROPOUT.func = dropout
_DROPOUT.doc = dropout.__doc__


# ---- Embedding -----------------------------------------------------------------------------
def _indices(xp, data, input_dim):
    # MXNet reads float indices by truncation and clips them into [0, input_dim - 1]
    return xp.clip(data.astype(np.int64), 0, int(input_dim) - 1)


def _embedding_kernel(xp, data, weight, input_dim, output_dim, dtype="float32",
                      sparse_grad=False):
    return weight[_indices(xp, data, input_dim)]


def _embedding_onnx(g, i, a, o, input_dim, output_dim, dtype="float32", sparse_grad=False):
    idx = g.op("Cast", i[0], to=g.onnx_dtype(np.int64))
    idx = g.op("Clip", idx, g.const(np.int64(0)), g.const(np.int64(int(input_dim) - 1)))
    return g.op("Gather", i[1], idx, axis=0)


def _embedding_grad(i, o, g, input_dim, output_dim, dtype="float32", sparse_grad=False):
    return None, F._embedding_weight_grad(i[0], g[0], input_dim=input_dim)


embedding = register(
    "embedding", _embedding_kernel, inputs=("data", "weight"),
    attrs={"input_dim": REQUIRED, "output_dim": REQUIRED, "dtype": "float32",
           "sparse_grad": False},
    infer=_embedding_infer,
    grad=_embedding_grad, onnx=_embedding_onnx, second_order=True,
    samples=[Sample(np.array([[0.0, 2, 1], [2, 3, 0]]), rnd(4, 3), input_dim=4, output_dim=3,
                    wrt=[1]),
             Sample(np.array([1.0, 1, 5, -1]), rnd(5, 2), input_dim=5, output_dim=2, wrt=[1])],
    ref=lambda d, w, input_dim, output_dim, **_: w[np.clip(d.astype(int), 0, input_dim - 1)],
    aliases=("Embedding",), param_shapes=_embedding_param_shapes,
    doc="""Look up rows of ``weight`` (input_dim, output_dim) at the indices in ``data``.

    Indices arrive as floats and are clipped into range. Output: data.shape + (output_dim,).
    The gradient w.r.t. weight adds up the output gradients of repeated indices.

    Example::

        >>> nd.Embedding(nd.array([0, 2]), nd.ones((3, 4)), input_dim=3, output_dim=4).shape
        (2, 4)
    """)


def _scatter_add_kernel(xp, data, ograd, input_dim, out=None):
    idx = _indices(xp, data, input_dim).reshape(-1)
    rows = ograd.reshape(idx.shape[0], ograd.shape[-1])   # not -1: an empty batch too
    if out is None:
        out = xp.zeros((int(input_dim), rows.shape[1]), ograd.dtype)
    else:  # the .grad buffer (facet out_arg): cleared, then scattered into
        out.fill(0)
    return scatter_rows(xp, out, idx, rows)


def _scatter_add_onnx(g, i, a, o, input_dim):
    # one-hot (n, input_dim) transposed times the rows: valid for every opset >= 11
    dt = a[1].dtype
    n = int(np.prod(a[0].shape))
    idx = g.op("Cast", g.op("Reshape", i[0], g.ints([-1])), to=g.onnx_dtype(np.int64))
    idx = g.op("Clip", idx, g.const(np.int64(0)), g.const(np.int64(int(input_dim) - 1)))
    hot = g.op("OneHot", idx, g.ints([int(input_dim)]), g.const(np.array([0, 1], dt)),
               axis=-1)
    rows = g.op("Reshape", i[1], g.ints([n, -1]))
    return g.op("Gemm", hot, rows, transA=1)


def _scatter_add_ref(data, ograd, input_dim):
    idx = np.clip(data.astype(int).reshape(-1), 0, input_dim - 1)
    hot = np.eye(input_dim)[idx]                       # (n, input_dim)
    return hot.T @ ograd.reshape(len(idx), -1)


_embedding_weight_grad = register(
    "_embedding_weight_grad", _scatter_add_kernel, inputs=("data", "ograd"),
    attrs={"input_dim": REQUIRED},
    infer=lambda d, og, input_dim: Aval((int(input_dim), int(og.shape[-1])), np.dtype(og.dtype)),
    grad=lambda i, o, g, input_dim: (None, F.embedding(
        i[0], g[0], input_dim=input_dim, output_dim=int(g[0].shape[-1]))),
    onnx=_scatter_add_onnx, ref=_scatter_add_ref, second_order=True, out_arg=True,
    samples=[Sample(np.array([[0.0, 2, 2], [2, 3, 0]]), rnd(2, 3, 2), input_dim=4, wrt=[1])],
    doc="Embedding's weight gradient: rows of ``ograd`` scatter-added at ``data``'s indices.")


# ---- SequenceMask --------------------------------------------------------------------------
def _seq_kernel(xp, data, length=None, use_sequence_length=False, value=0.0, axis=0):
    if not use_sequence_length or length is None:
        return data.copy()
    # step t is kept while t + 1 <= length: a fractional length counts its whole steps (MXNet)
    steps = xp.arange(1, data.shape[axis] + 1)
    if int(axis) == 0:
        keep = steps[:, None] <= length[None, :]         # (T, B)
    else:
        keep = steps[None, :] <= length[:, None]         # (B, T)
    keep = keep.reshape(keep.shape + (1,) * (data.ndim - 2))
    return xp.where(keep, data, xp.asarray(value, dtype=data.dtype))


def _seq_grad(i, o, g, use_sequence_length=False, value=0.0, axis=0):
    return F.sequence_mask(g[0], i[1], use_sequence_length=use_sequence_length, value=0.0,
                           axis=axis), None


def _seq_onnx(g, i, a, o, use_sequence_length=False, value=0.0, axis=0):
    data, length = i
    if not use_sequence_length or length is None:
        return g.op("Identity", data)
    shape = tuple(a[0].shape)
    axis = int(axis)
    # steps 1..T with T read at run time, so a dynamic sequence axis is not baked in
    n = g.op("Slice", g.op("Shape", data), g.ints([axis]), g.ints([axis + 1]))
    steps = g.op("Range", g.const(np.int64(1)),
                 g.op("Add", g.op("Reshape", n, g.ints([])), g.const(np.int64(1))),
                 g.const(np.int64(1)))
    steps = g.op("Cast", steps, to=g.onnx_dtype(np.dtype(a[1].dtype)))
    if axis == 0:
        drop = g.op("Greater", g.op("Reshape", steps, g.ints([-1, 1])),
                    g.op("Reshape", length, g.ints([1, -1])))
    else:
        drop = g.op("Greater", g.op("Reshape", steps, g.ints([1, -1])),
                    g.op("Reshape", length, g.ints([-1, 1])))
    keep = g.op("Not", drop)
    if len(shape) > 2:   # 0 copies the (T, B) or (B, T) dims
        keep = g.op("Reshape", keep, g.ints([0, 0] + [1] * (len(shape) - 2)))
    return g.op("Where", keep, data, g.const(np.asarray(value, a[0].dtype)))


def _seq_ref(data, length=None, use_sequence_length=False, value=0.0, axis=0):
    out = data.copy()
    if not use_sequence_length:
        return out
    moved = np.moveaxis(out, axis, 0)                  # (T, B, ...), a view into out
    for b, n in enumerate(length.astype(int)):
        moved[n:, b] = value
    return out


sequence_mask = register(
    "sequence_mask", _seq_kernel, inputs=("data", "sequence_length?"),
    attrs={"use_sequence_length": False, "value": 0.0, "axis": 0},
    infer=lambda d, *_, **__: Aval(tuple(d.shape), np.dtype(d.dtype)),
    grad=_seq_grad, onnx=_seq_onnx, ref=_seq_ref, second_order=True,
    samples=[Sample(rnd(4, 3, 2), np.array([1.0, 4, 2]), use_sequence_length=True, wrt=[0]),
             Sample(rnd(3, 4, 2), np.array([1.0, 4, 2]), use_sequence_length=True, axis=1,
                    value=-1.5, wrt=[0]),
             Sample(rnd(4, 3, 2), np.array([1.5, 3.7, 0]), use_sequence_length=True, wrt=[0]),
             Sample(rnd(3, 4), np.array([2, 4, 1], dtype=np.int32), use_sequence_length=True,
                    axis=1, wrt=[0]),
             Sample(rnd(3, 2), np.array([2.0, 1]), use_sequence_length=True, value=0.5,
                    wrt=[0]),
             Sample(rnd(3, 2), None)],
    aliases=("SequenceMask",), value_ranges=sequence_length_range(),
    doc="""Set steps at or beyond each sequence's length to ``value`` (MXNet ``SequenceMask``).

    data: (T, B, ...) for axis=0 or (B, T, ...) for axis=1; sequence_length: (B,). Without
    ``use_sequence_length`` the data passes through unchanged. Output: like data.

    Example::

        >>> nd.SequenceMask(nd.ones((3, 2)), nd.array([1, 2]), use_sequence_length=True)
    """)
