"""MXNet's legacy loss layers: the regression outputs, ``SVMOutput`` and ``make_loss``.

Each passes its data through forward (the logistic one applies a sigmoid) and, backward,
IGNORES the head gradient and returns the loss's own gradient, as MXNet 1.9 does; the label
gets a zero gradient. The regression outputs scale by ``grad_scale / m``, ``m`` being the
number of outputs per sample (``data.size / data.shape[0]``); the label may have any shape of
data's size (MXNet reshapes it).
"""
import numpy as np

from ...base import OpError
from .. import ops as F
from .._registry import Aval, Sample, register
from ._samples import away, rnd


def _like(x, ref):
    """``x`` in ``ref``'s dtype and shape (labels may be integer or flattened)."""
    if np.dtype(x.dtype) != np.dtype(ref.dtype):
        x = F.cast(x, dtype=np.dtype(ref.dtype).name)
    return x if tuple(x.shape) == tuple(ref.shape) else F.reshape(x, shape=tuple(ref.shape))


def _check_label(name, data, label):
    ds, ls = tuple(data.shape), tuple(label.shape)
    if not ds or not ls or int(np.prod(ds)) != int(np.prod(ls)) or ls[0] != ds[0]:
        raise OpError(f"{name}: label shape {ls} does not fit data shape {ds} (same size and "
                      "batch axis needed)")
    return Aval(ds, np.dtype(data.dtype))


def _per_sample(data):
    return max(int(np.prod(data.shape[1:])), 1)


# ---- Linear, MAE and Logistic regression outputs ---------------------------------------------
def _regression(name, alias, forward, onnx_op, grad_of, doc):
    def kernel(xp, data, label, grad_scale=1.0):
        _check_label(alias, data, label)
        return forward(xp, data)

    def grad(ins, outs, gouts, grad_scale=1.0):
        data, label = ins
        diff = outs[0] - _like(label, data)
        return grad_of(diff) * (float(grad_scale) / _per_sample(data)), F.zeros_like(label)

    return register(
        name, kernel, inputs=("data", "label"), attrs={"grad_scale": 1.0},
        infer=lambda data, label, grad_scale=1.0: _check_label(alias, data, label),
        grad=grad, save_outputs=True, onnx=lambda g, i, a, o, grad_scale=1.0: g.op(onnx_op, i[0]),
        ref=lambda data, label, grad_scale=1.0: forward(np, data), aliases=(alias,), amp="fp32",
        param_shapes=lambda data, **_: {"label": tuple(data.shape)},
        samples=[Sample(rnd(3, 2), rnd(3, 2, salt=7), grad=False),
                 Sample(rnd(3, 1), rnd(3, salt=7), grad_scale=3.0, grad=False),
                 Sample(rnd(2, 2, 2), rnd(2, 4, salt=7), grad=False)],
        doc=doc)


linear_regression_output = _regression(
    "linear_regression_output", "LinearRegressionOutput", lambda xp, x: x.copy(), "Identity",
    lambda d: d, """Identity forward; backward ``(data - label) * grad_scale / m`` whatever the
    head gradient (MXNet ``LinearRegressionOutput``, squared loss; ``m`` = outputs per sample).

    Example::

        >>> nd.LinearRegressionOutput(nd.ones((2, 3)), nd.zeros((2, 3))).shape
        (2, 3)
    """)

mae_regression_output = _regression(
    "mae_regression_output", "MAERegressionOutput", lambda xp, x: x.copy(), "Identity",
    lambda d: F.sign(d),
    """Identity forward; backward ``sign(data - label) * grad_scale / m`` whatever the head
    gradient (MXNet ``MAERegressionOutput``, absolute loss; ``m`` = outputs per sample).

    Example::

        >>> nd.MAERegressionOutput(nd.ones((2, 3)), nd.zeros((2, 3))).shape
        (2, 3)
    """)


def _sigmoid(xp, x):
    return (1 / (1 + xp.exp(-x))).astype(x.dtype)


logistic_regression_output = _regression(
    "logistic_regression_output", "LogisticRegressionOutput", _sigmoid, "Sigmoid", lambda d: d,
    """``sigmoid(data)`` forward; backward ``(sigmoid(data) - label) * grad_scale / m``
    whatever the head gradient (MXNet ``LogisticRegressionOutput``, binary cross entropy).

    Example::

        >>> nd.LogisticRegressionOutput(nd.zeros((2, 1)), nd.ones((2,)))   # [[0.5] [0.5]]
    """)


# ---- SVMOutput -------------------------------------------------------------------------------
def _svm_infer(data, label, **_):
    ds, ls = tuple(data.shape), tuple(label.shape)
    if len(ds) < 2 or ls != (ds[0],):
        raise OpError(f"SVMOutput: data {ds} needs at least 2 axes and label shape "
                      f"{ds[:1]}, got label {ls}")
    return Aval(ds, np.dtype(data.dtype))


def _svm_kernel(xp, data, label, margin=1.0, regularization_coefficient=1.0, use_linear=False):
    _svm_infer(data, label)
    return data.copy()


def _svm_grad(ins, outs, gouts, margin=1.0, regularization_coefficient=1.0, use_linear=False):
    data, label = ins
    x = F.reshape(data, shape=(data.shape[0], -1))
    hit = F.one_hot(label, depth=x.shape[1], dtype=np.dtype(data.dtype).name)
    reg, m = float(regularization_coefficient), float(margin)
    if use_linear:  # L1-SVM: -reg at the label while x < margin, +reg elsewhere while x > -margin
        pull, push = F.lesser(x, m), F.greater(x, -m)
    else:           # L2-SVM: the derivative of the squared hinge
        pull, push = F.relu(m - x) * 2.0, F.relu(x + m) * 2.0
    g = (push * (1.0 - hit) - pull * hit) * reg
    return F.reshape(g, shape=tuple(data.shape)), F.zeros_like(label)


svm_output = register(
    "svm_output", _svm_kernel, inputs=("data", "label"),
    attrs={"margin": 1.0, "regularization_coefficient": 1.0, "use_linear": False},
    infer=_svm_infer, grad=_svm_grad, onnx=lambda g, i, a, o, **_: g.op("Identity", i[0]),
    ref=lambda data, label, **_: data, aliases=("SVMOutput",), amp="fp32",
    param_shapes=lambda data, **_: {"label": tuple(data.shape[:1])},
    samples=[Sample(rnd(3, 4) * 1.5, np.array([0.0, 2.0, 3.0]), grad=False),
             Sample(rnd(3, 4) * 1.5, np.array([1.0, 0.0, 3.0]), use_linear=True, margin=0.5,
                    regularization_coefficient=2.0, grad=False)],
    doc="""Identity forward; backward the hinge-loss gradient whatever the head gradient (MXNet
    ``SVMOutput``): data (N, K), label (N,) class indices. L2-SVM (default): ``-2 * reg *
    max(0, margin - x)`` at the label, ``2 * reg * max(0, margin + x)`` elsewhere; with
    ``use_linear`` (L1-SVM): ``-reg`` at the label where ``x < margin``, ``reg`` elsewhere where
    ``x > -margin``. Output: like data.

    Example::

        >>> nd.SVMOutput(nd.ones((2, 3)), nd.array([0, 2])).shape
        (2, 3)
    """)


# ---- make_loss -------------------------------------------------------------------------------
_NORMS = ("null", "batch", "valid")


def _make_loss_infer(data, grad_scale=1.0, valid_thresh=0.0, normalization="null"):
    if normalization not in _NORMS:
        raise OpError(f"MakeLoss: normalization must be one of {_NORMS}, got {normalization!r}")
    return Aval(tuple(data.shape), np.dtype(data.dtype))


def _make_loss_kernel(xp, data, grad_scale=1.0, valid_thresh=0.0, normalization="null"):
    _make_loss_infer(data, normalization=normalization)
    return data.copy()


def _make_loss_grad(ins, outs, gouts, grad_scale=1.0, valid_thresh=0.0, normalization="null"):
    x = ins[0]
    g = F.ones_like(x) * float(grad_scale)
    if normalization == "batch":
        return (g / float(x.shape[0]),)
    if normalization == "valid":  # the number of elements above the threshold, at least 1
        return (g / F.maximum(F.sum(F.greater(x, float(valid_thresh))), 1.0),)
    return (g,)


make_loss = register(
    "make_loss", _make_loss_kernel, attrs={"grad_scale": 1.0, "valid_thresh": 0.0,
                                           "normalization": "null"},
    infer=_make_loss_infer, grad=_make_loss_grad, ref=lambda data, **_: data,
    onnx=lambda g, i, a, o, **_: g.op("Identity", i[0]), aliases=("MakeLoss",), amp="fp32",
    samples=[Sample(away(3, 4), grad=False),
             Sample(away(3, 4), normalization="valid", valid_thresh=0.2, grad=False),
             Sample(away(3, 4), normalization="batch", grad_scale=2.0, grad=False)],
    doc="""Identity forward; backward ``grad_scale`` (divided by the batch size with
    ``normalization='batch'``, by the number of elements above ``valid_thresh`` with
    ``'valid'``) whatever the head gradient: the data is the loss (MXNet ``MakeLoss`` /
    ``make_loss``). Output: like data.

    Example::

        >>> nd.make_loss(nd.array([1.0, 2.0]))      # [1. 2.]; its gradient is [1. 1.]
    """)
