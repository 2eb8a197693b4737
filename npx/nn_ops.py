"""``npx``'s operators: kiln's registry ops (MXNet's nd operators under their npx names)
returning ``kiln.np`` arrays; the attributes are MXNet's.

Example::

    >>> npx.softmax(np.array([[1., 1.]])).shape
    (1, 2)
"""
import numpy as onp

from ..ndarray import io as _nd_io
from ..ndarray import ops as F
from ..ndarray.ops import multibox as _multibox
from ..nparray._core import _BOOL, cast_to, wrap
from ..nparray.creation import array


def _wrapped(fn, name, doc):
    def f(*args, **kwargs):
        return wrap(fn(*args, **kwargs))
    f.__name__ = name
    f.__doc__ = doc
    return f


relu = _wrapped(F.relu, "relu", "max(x, 0). Example: ``npx.relu(x)``.")
sigmoid = _wrapped(F.sigmoid, "sigmoid", "1 / (1 + exp(-x)). Example: ``npx.sigmoid(x)``.")
activation = _wrapped(F.activation, "activation",
                      "MXNet's Activation (``act_type``). Example: "
                      "``npx.activation(x, act_type='tanh')``.")
leaky_relu = _wrapped(F.leaky_relu, "leaky_relu", "MXNet's LeakyReLU. Example: "
                      "``npx.leaky_relu(x, slope=0.1)``.")
batch_dot = _wrapped(F.batch_dot, "batch_dot",
                     "Batched matrix product of (B, n, m) and (B, m, k) arrays (``transpose_a``/"
                     "``transpose_b``). Example: ``npx.batch_dot(q, k, transpose_b=True)``.")
batch_flatten = _wrapped(F.flatten, "batch_flatten",
                         "Reshape to (N, -1). Example: ``npx.batch_flatten(x)``.")
reshape_like = _wrapped(F.reshape_like, "reshape_like", "``lhs`` in ``rhs``'s shape.")
layer_norm = _wrapped(F.layer_norm, "layer_norm",
                      "Layer normalization over ``axis`` (data, gamma, beta). Example: "
                      "``npx.layer_norm(x, g, b, axis=-1)``.")
batch_norm = _wrapped(F.batch_norm, "batch_norm",
                      "MXNet's BatchNorm (data, gamma, beta, moving_mean, moving_var, ...).")
convolution = _wrapped(F.convolution, "convolution",
                       "MXNet's Convolution (data, weight, bias, kernel=, num_filter=, ...).")
pooling = _wrapped(F.pooling, "pooling", "MXNet's Pooling (kernel=, pool_type=, stride=, ...).")
fully_connected = _wrapped(F.fully_connected, "fully_connected",
                           "MXNet's FullyConnected (data, weight, bias, num_hidden=, ...).")
embedding = _wrapped(F.embedding, "embedding",
                     "MXNet's Embedding (data, weight, input_dim=, output_dim=).")
dropout = _wrapped(F.dropout, "dropout", "Dropout with probability ``p`` (active in training).")
deconvolution = _wrapped(F.deconvolution, "deconvolution",
                         "MXNet's Deconvolution (data, weight, bias, kernel=, num_filter=, ...).")
rnn = _wrapped(F.rnn, "rnn", "MXNet's fused RNN op (data, parameters, state, ...).")
cast = _wrapped(F.cast, "cast", "``data`` cast to ``dtype``. Example: ``npx.cast(x, 'int32')``.")
arange_like = _wrapped(F.arange_like, "arange_like",
                       "0, 1, 2... in ``data``'s shape (or along ``axis``).")
gather_nd = _wrapped(F.gather_nd, "gather_nd", "Elements of ``data`` at the (ndim, ...) "
                     "``indices``. Example: ``npx.gather_nd(x, idx)``.")
shape_array = _wrapped(F.shape_array, "shape_array", "``data``'s shape as an int64 array.")
smooth_l1 = _wrapped(F.smooth_l1, "smooth_l1", "MXNet's smooth L1 (``scalar`` = sigma).")
erf = _wrapped(F.erf, "erf", "The error function. Example: ``npx.erf(x)``.")
gamma = _wrapped(F.gamma, "gamma", "The gamma function. Example: ``npx.gamma(x)``.")
gammaln = _wrapped(F.gammaln, "gammaln", "log|gamma(x)|. Example: ``npx.gammaln(x)``.")


def nonzero(x):
    """The (N, ndim) int64 indices of ``x``'s nonzero elements (computed on the host).

    Example::

        >>> npx.nonzero(np.array([0., 1., 2.])).shape
        (2, 1)
    """
    return array(onp.argwhere(x.asnumpy()), dtype=onp.int64, ctx=x.context)


def softmax(data, axis=-1, length=None, temperature=None, use_length=False, dtype=None):
    """Softmax over ``axis`` (``length`` with ``use_length=True`` masks positions past each
    row's length). Example: ``npx.softmax(np.ones((2, 3)))``."""
    return wrap(F.softmax(data, length, axis=axis, temperature=temperature, dtype=dtype,
                          use_length=use_length))


def log_softmax(data, axis=-1, length=None, temperature=None, use_length=False, dtype=None):
    """Log of the softmax over ``axis``. Example: ``npx.log_softmax(np.ones((2, 3)))``."""
    if use_length:  # kiln's log_softmax takes no lengths: the log of the masked softmax
        return wrap(F.log(softmax(data, axis, length, temperature, True, dtype)))
    return wrap(F.log_softmax(data, axis=axis, temperature=temperature, dtype=dtype))


def _masked(fn, data, mask, axis, temperature):
    """``fn`` over ``axis`` with positions where ``mask`` is false left out (they get 0)."""
    keep = cast_to(mask, onp.dtype(data.dtype))
    low = -6e4 if data.dtype == onp.float16 else -1e30  # far below any logit, still finite
    scaled = data if temperature in (None, 1.0) else F.divide(data, temperature)
    masked = F.add(F.multiply(scaled, keep), F.multiply(F.subtract(1.0, keep), low))
    return fn(masked, axis=axis), keep


def masked_softmax(data, mask, axis=-1, temperature=1.0, normalize=True):
    """Softmax over ``axis`` where ``mask`` is true, 0 elsewhere (MXNet npx's).

    Example::

        >>> npx.masked_softmax(np.ones((1, 3)), np.array([[1, 1, 0]]) > 0)
        array([[0.5, 0.5, 0. ]])
    """
    res, keep = _masked(F.softmax, data, mask, axis, temperature)
    return wrap(F.multiply(res, keep))


def masked_log_softmax(data, mask, axis=-1, temperature=1.0, normalize=True):
    """Log-softmax over ``axis`` where ``mask`` is true, -inf elsewhere."""
    res, keep = _masked(F.log_softmax, data, mask, axis, temperature)
    return wrap(F.where(F.cast(keep, dtype=_BOOL), res, F.full_like(res, -onp.inf)))


def sequence_mask(data, sequence_length=None, use_sequence_length=False, value=0.0, axis=0):
    """Positions past each sequence's length along ``axis`` set to ``value``.

    Example::

        >>> npx.sequence_mask(np.ones((2, 3)), np.array([1, 2]), True, axis=1)
        array([[1., 0., 0.],
               [1., 1., 0.]])
    """
    return wrap(F.sequence_mask(data, sequence_length, use_sequence_length=use_sequence_length,
                                value=value, axis=axis))


def one_hot(data, depth, on_value=1.0, off_value=0.0, dtype="float32"):
    """One-hot rows of length ``depth`` for integer indices. Example: ``npx.one_hot(y, 10)``."""
    return wrap(F.one_hot(data, depth=depth, on_value=on_value, off_value=off_value,
                          dtype=dtype))


def pick(data, index, axis=-1, mode="clip", keepdims=False):
    """``data``'s element at ``index`` along ``axis`` per row. Example: ``npx.pick(p, y)``."""
    return wrap(F.pick(data, index, axis=axis, mode=mode, keepdims=keepdims))


def topk(data, axis=-1, k=1, ret_typ="indices", is_ascend=False, dtype="float32"):
    """The ``k`` largest (or smallest) along ``axis``: indices, values or both (MXNet's
    float32 indices unless ``dtype``). Example: ``npx.topk(x, k=2)``."""
    return wrap(F.topk(data, axis=axis, k=k, ret_typ=ret_typ, is_ascend=is_ascend,
                       dtype=dtype))


def save(file, arr):
    """Save an array, a list or a dict of arrays (MXNet's ``.params`` format, as ``nd.save``).

    Example: ``npx.save("x.params", {"w": np.ones(2)})``."""
    _nd_io.save(file, arr)


def load(file):
    """Arrays saved by ``npx.save`` (or ``nd.save``/MXNet), as np arrays (a list or a dict)."""
    res = _nd_io.load(file)
    if isinstance(res, dict):
        return {k: wrap(v) for k, v in res.items()}
    return wrap(res)


def waitall():
    """Wait for all pending computation (kiln computes eagerly: nothing to wait for)."""


def _npx_target(shape, codes, reverse):
    """MXNet npx.reshape's codes: -1 infers one axis, -2 copies the axis, -3 drops a size-1
    axis, -4 copies every remaining axis, -5 merges two axes, -6 splits one into the next two
    values (one may be -1)."""
    if reverse:
        return tuple(reversed(_npx_target(tuple(reversed(shape)),
                                          _reverse_codes(list(codes)), False)))
    out, i, k, codes = [], 0, 0, list(codes)
    while k < len(codes):
        c = codes[k]
        if c >= 0 or c == -1:
            out.append(c)
            i += 1
        elif c == -2:
            out.append(shape[i])
            i += 1
        elif c == -3:
            if shape[i] != 1:
                raise ValueError(f"npx.reshape: -3 drops a size-1 axis, axis {i} has "
                                 f"size {shape[i]}")
            i += 1
        elif c == -4:
            out.extend(shape[i:])
            i = len(shape)
        elif c == -5:
            out.append(shape[i] * shape[i + 1])
            i += 2
        elif c == -6:
            a, b = codes[k + 1], codes[k + 2]
            a = shape[i] // b if a == -1 else a
            b = shape[i] // a if b == -1 else b
            out.extend([a, b])
            i, k = i + 1, k + 2
        k += 1
    return tuple(out)


def _reverse_codes(codes):
    """Codes read right to left (a -6's two values keep following it)."""
    out, k = [], len(codes) - 1
    while k >= 0:
        if k >= 2 and codes[k - 2] == -6:
            out.extend([-6, codes[k], codes[k - 1]])
            k -= 3
        else:
            out.append(codes[k])
            k -= 1
    return out


def reshape(a, newshape, reverse=False, order="C"):
    """MXNet's ``npx.reshape`` with its special codes (see ``_npx_target``).

    Example::

        >>> npx.reshape(np.ones((2, 3, 4)), (-2, -5)).shape
        (2, 12)
    """
    if isinstance(newshape, int):
        newshape = (newshape,)
    target = _npx_target(tuple(int(s) for s in a.shape), newshape, reverse)
    return wrap(F.reshape(a, shape=target))


def slice(data, begin, end, step=None):  # noqa: A001 - MXNet's name
    """``data[begin:end:step]`` per axis (None keeps an axis whole).

    Example: ``npx.slice(np.arange(10), (2,), (8,), (2,))``."""
    return wrap(F.slice(data, begin=tuple(begin), end=tuple(end),
                        step=None if step is None else tuple(step)))


def erfinv(data):
    """The inverse error function, elementwise (-1 and 1 give -inf and inf): Giles'
    approximation refined by Newton steps on kiln's ``erf``.

    Example: ``npx.erfinv(np.array([0.5]))`` is about ``[0.4769]``."""
    x = data.asnumpy().astype(onp.float64)
    with onp.errstate(divide="ignore", invalid="ignore"):
        w = -onp.log((1.0 - x) * (1.0 + x))
        y = x * onp.where(w < 5, 1.50140941 + 0.246640727 * (w - 2.5),
                          2.83297682 + 1.00167406 * (onp.sqrt(w) - 3.0))
        for _ in range(4):  # Newton on erf(y) = x
            err = F.erf(array(y, dtype="float64")).asnumpy() - x
            y = onp.where(onp.abs(x) < 1, y - err / (2 / onp.sqrt(onp.pi) * onp.exp(-y * y)),
                          onp.sign(x) * onp.inf)
    return array(y.astype(data.dtype), dtype=data.dtype, ctx=data.context)


def constraint_check(input, msg="Constraint violated!"):  # noqa: A002 - MXNet's name
    """Raise ``ValueError(msg)`` unless every element of the bool array ``input`` is true;
    returns ``True`` (as an np bool array) otherwise."""
    if not bool(input.asnumpy().all()):
        raise ValueError(msg)
    return array(True, dtype=bool, ctx=input.context)

# the detection ops MXNet's npx serves (registry ops of ndarray/ops/multibox.py)
multibox_prior = _wrapped(_multibox.multibox_prior, "multibox_prior",
                          "SSD anchors (``contrib.MultiBoxPrior``). Example: "
                          "``npx.multibox_prior(x, sizes=(.5,))``.")
multibox_target = _wrapped(F.multibox_target, "multibox_target",
                           "SSD training targets (``contrib.MultiBoxTarget``). Example: "
                           "``loc, mask, cls = npx.multibox_target(anchors, labels, cls_pred)``.")
multibox_detection = _wrapped(F.multibox_detection, "multibox_detection",
                              "SSD detections (``contrib.MultiBoxDetection``). Example: "
                              "``npx.multibox_detection(cls_prob, loc_pred, anchors)``.")
roi_pooling = _wrapped(F.roi_pooling, "roi_pooling",
                       "ROI max pooling (``ROIPooling``). Example: "
                       "``npx.roi_pooling(x, rois, pooled_size=(2, 2), spatial_scale=1.0)``.")
