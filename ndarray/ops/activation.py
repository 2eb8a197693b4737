"""Pointwise activations (relu, sigmoid, gelu, elu, selu, ...), ``Activation`` and ``LeakyReLU``.

Each activation is one row of ``_ACTS``: a stable kernel over ``xp``, its derivative written with
registry ops (so gradients are differentiable again), an ONNX lowering and a float64 numpy
reference. ``Activation`` and ``LeakyReLU`` dispatch to the same rows. The softmax family
(softmax, log_softmax, softmin, SoftmaxActivation) is at the bottom.
"""
import math

import numpy as np

from .. import ops as F
from .._ort_kernels import softmax_rows
from .._registry import REQUIRED, Sample, register
from . import _xp
from ._rules import check_param_dtypes, same
from ._samples import away, rnd

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_LAMBDA = 1.0507009873554804934193349852946
_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_K = 0.044715
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _c(g, a, v):
    """A scalar constant in the input's dtype."""
    return g.const(np.asarray(v, a[0].dtype))


# ---- kernels (xp only; stable for large |x|) ----
def _sigmoid(xp, x):
    # exp of -|x| never overflows, and keeps full relative precision in the far tails
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1, e) / (1 + e)


def _softplus(xp, x):
    return xp.logaddexp(x, 0)


def _gelu(xp, x, approximation="erf"):
    if approximation == "tanh":
        return 0.5 * x * (1 + xp.tanh(_GELU_C * (x + _GELU_K * x * x * x)))
    if approximation != "erf":
        raise ValueError(f"approximation must be 'erf' or 'tanh', got {approximation!r}")
    return 0.5 * x * (1 + _xp.erf(xp, x * (1 / math.sqrt(2.0))))


def _elu(xp, x, alpha=1.0):
    # expm1 of min(x, 0): no overflow on the branch that where() discards
    return xp.where(x > 0, x, float(alpha) * xp.expm1(xp.minimum(x, 0)))


def _selu(xp, x):
    return SELU_LAMBDA * _elu(xp, x, SELU_ALPHA)


def _leaky(xp, x, slope=0.25):
    return xp.where(x > 0, x, float(slope) * x)


def _hard_sigmoid(xp, x, alpha=0.2, beta=0.5):
    return xp.clip(float(alpha) * x + float(beta), 0, 1)


def _swish(xp, x, beta=1.0):
    return x * _sigmoid(xp, float(beta) * x)


def _log_sigmoid(xp, x):
    return -_softplus(xp, -x)


def _mish(xp, x):
    return x * xp.tanh(_softplus(xp, x))


# ---- derivatives dy/dx with registry ops (x is an NDArray) ----
def _d_gelu(x, approximation="erf"):
    if approximation == "tanh":
        t = F.tanh(_GELU_C * (x + _GELU_K * x * x * x))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _GELU_C * (1 + 3 * _GELU_K * x * x)
    cdf = 0.5 * (1 + F.erf(x * (1 / math.sqrt(2.0))))
    return cdf + x * F.exp(x * x * -0.5) * (1 / _SQRT_2PI)


def _d_elu(x, alpha=1.0):
    pos = F.greater(x, 0)
    return pos + (1 - pos) * float(alpha) * F.exp(F.minimum(x, 0))


def _d_leaky(x, slope=0.25):
    pos = F.greater(x, 0)
    return pos + (1 - pos) * float(slope)


def _d_hard_sigmoid(x, alpha=0.2, beta=0.5):
    u = float(alpha) * x + float(beta)
    return float(alpha) * F.greater(u, 0) * F.lesser(u, 1)


def _d_swish(x, beta=1.0):
    s = F.sigmoid(float(beta) * x)
    return s + float(beta) * x * s * (1 - s)


def _d_mish(x):
    t = F.tanh(F.softrelu(x))
    return t + x * (1 - t * t) * F.sigmoid(x)


def _d_softsign(x):
    d = 1 + F.abs(x)
    return 1 / (d * d)


# ---- ONNX lowerings: lower(g, x_name, in_avals, **attrs) ----
def _o(op_type, **fixed):
    return lambda g, x, a, **_: g.op(op_type, x, **fixed)


def _o_gelu(g, x, a, approximation="erf"):
    if g.opset >= 20:
        return g.op("Gelu", x, approximate="tanh" if approximation == "tanh" else "none")
    if approximation == "tanh":
        inner = g.op("Mul", _c(g, a, _GELU_C), g.op("Add", x, g.op(
            "Mul", _c(g, a, _GELU_K), g.op("Mul", x, g.op("Mul", x, x)))))
        t = g.op("Tanh", inner)
    else:
        t = g.op("Erf", g.op("Mul", x, _c(g, a, 1 / math.sqrt(2.0))))
    return g.op("Mul", g.op("Mul", x, _c(g, a, 0.5)), g.op("Add", t, _c(g, a, 1.0)))


def _o_swish(g, x, a, beta=1.0):
    return g.op("Mul", x, g.op("Sigmoid", g.op("Mul", x, _c(g, a, float(beta)))))


def _o_log_sigmoid(g, x, a):
    return g.op("Neg", g.op("Softplus", g.op("Neg", x)))


def _o_mish(g, x, a):
    if g.opset >= 18:
        return g.op("Mish", x)
    return g.op("Mul", x, g.op("Tanh", g.op("Softplus", x)))


# ---- float64 references, written from the definitions ----
def _r_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _r_gelu(x, approximation="erf"):
    if approximation == "tanh":
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return x * 0.5 * (1 + erf(x / np.sqrt(2)))


def _r_elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * (np.exp(x) - 1))


# Derivatives written from the output y: the backward then needs only y, which a following
# layer's weight gradient keeps anyway, and the forward computes no masks. sign(relu(x)) is 1
# for x > 0, 0 for x <= 0 and NaN for NaN (MXNet's relu_grad).
# (nd.relu's gradient lets NaN through, as MXNet's relu; Activation's uses _relu_backward)
_FROM_OUTPUT = {"relu": lambda y, g: g * F.sign(y),
                "sigmoid": lambda y, g: g * (y * (1 - y)), "tanh": lambda y, g: g * (1 - y * y)}


def _act_grad(name, i, o, g, **kw):
    if name in _FROM_OUTPUT:
        return (_FROM_OUTPUT[name](o[0], g[0]),)
    return (g[0] * _ACTS[name][1](i[0], **kw),)


def _relu_backward_onnx(g, i, a, o):
    mask = g.op("Greater", i[1], _c(g, a[1:], 0.0))
    return g.op("Mul", i[0], g.op("Cast", mask, to=g.onnx_dtype(a[0].dtype)))


# Activation(relu)'s gradient from its output, one op: a boolean mask (y > 0) costs a quarter
# of sign(y)'s time and memory, and the compiled backward writes it in place (fastpath)
_relu_backward = register(
    "_relu_backward", _xp.relu_backward, inputs=("grad", "y"),
    infer=lambda grad, y: same(grad), grad=lambda i, o, g: (F._relu_backward(g[0], i[1]), None),
    onnx=_relu_backward_onnx, ref=lambda grad, y: grad * (y > 0), second_order=True,
    samples=[Sample(rnd(2, 3), away(2, 3)), Sample(rnd(4, 5, salt=3), away(4, 5, salt=4))],
    doc="relu's gradient from its output y: ``grad * (y > 0)`` (internal).\n\n"
        "    >>> nd._relu_backward(nd.array([1., 2.]), nd.array([0., 3.]))  # [0. 2.]")


# name: (kernel, derivative (None: see _FROM_OUTPUT), onnx, reference, smooth, sample maker, attrs)
_ACTS = {
    "relu": (_xp.relu, None, _o("Relu"),
             lambda x: np.where(x > 0, x, 0), False, away, {}),
    "sigmoid": (_sigmoid, None, _o("Sigmoid"), _r_sigmoid, True, rnd, {}),
    "tanh": (lambda xp, x: xp.tanh(x), None, _o("Tanh"), np.tanh, True, rnd, {}),
    "softrelu": (_softplus, lambda x: F.sigmoid(x), _o("Softplus"),
                 lambda x: np.log(1 + np.exp(x)), True, rnd, {}),
    "softsign": (lambda xp, x: x / (1 + xp.abs(x)), _d_softsign, _o("Softsign"),
                 lambda x: x / (1 + np.abs(x)), True, away, {}),
    "gelu": (_gelu, _d_gelu, _o_gelu, _r_gelu, True, rnd, {"approximation": "erf"}),
    "elu": (_elu, _d_elu, lambda g, x, a, alpha=1.0: g.op("Elu", x, alpha=float(alpha)),
            _r_elu, True, away, {"alpha": 1.0}),
    "selu": (_selu, lambda x: SELU_LAMBDA * _d_elu(x, SELU_ALPHA),
             _o("Selu", alpha=SELU_ALPHA, gamma=SELU_LAMBDA),
             lambda x: SELU_LAMBDA * _r_elu(x, SELU_ALPHA), True, away, {}),
    "hard_sigmoid": (_hard_sigmoid, _d_hard_sigmoid,
                     lambda g, x, a, alpha=0.2, beta=0.5: g.op(
                         "HardSigmoid", x, alpha=float(alpha), beta=float(beta)),
                     lambda x, alpha=0.2, beta=0.5: np.minimum(np.maximum(alpha * x + beta, 0),
                                                               1),
                     False, lambda *s: away(*s) * 4, {"alpha": 0.2, "beta": 0.5}),
    "swish": (_swish, _d_swish, _o_swish, lambda x, beta=1.0: x * _r_sigmoid(beta * x), True,
              rnd, {"beta": 1.0}),
    "log_sigmoid": (_log_sigmoid, lambda x: F.sigmoid(F.negative(x)), _o_log_sigmoid,
                    lambda x: -np.log(1 + np.exp(-x)), True, rnd, {}),
    "mish": (_mish, _d_mish, _o_mish, lambda x: x * np.tanh(np.log(1 + np.exp(x))), True, rnd,
             {}),
}

_ALIASES = {"softrelu": ("softplus",), "swish": ("silu",)}
_SAMPLE_ATTRS = {"gelu": [{"approximation": "tanh"}], "elu": [{"alpha": 0.5}],
                 "hard_sigmoid": [{"alpha": 0.3, "beta": 0.4}], "swish": [{"beta": 1.5}]}
_DOCS = {
    "relu": "max(x, 0).\n\n    >>> nd.relu(nd.array([-1, 2]))  # [0. 2.]",
    "sigmoid": "1 / (1 + exp(-x)).\n\n    >>> nd.sigmoid(nd.array([0]))  # [0.5]",
    "softrelu": "log(1 + exp(x)) (softplus).\n\n    >>> nd.softrelu(nd.array([0]))  # [0.6931]",
    "softsign": "x / (1 + |x|).\n\n    >>> nd.softsign(nd.array([1]))  # [0.5]",
    "gelu": "x * Phi(x) (``approximation='erf'``) or its tanh form.\n\n"
            "    >>> nd.gelu(nd.array([1]))  # [0.8413]",
    "elu": "x if x > 0 else alpha * (exp(x) - 1).\n\n    >>> nd.elu(nd.array([-1]))  # [-0.6321]",
    "selu": "lambda * elu(x, alpha) with the self-normalizing constants.\n\n"
            "    >>> nd.selu(nd.array([1]))  # [1.0507]",
    "hard_sigmoid": "clip(alpha * x + beta, 0, 1).\n\n"
                    "    >>> nd.hard_sigmoid(nd.array([0]))  # [0.5]",
    "swish": "x * sigmoid(beta * x) (SiLU for beta = 1).\n\n"
             "    >>> nd.swish(nd.array([1]))  # [0.7311]",
    "log_sigmoid": "log(sigmoid(x)), stable.\n\n    >>> nd.log_sigmoid(nd.array([0]))  # [-0.6931]",
    "mish": "x * tanh(softplus(x)).\n\n    >>> nd.mish(nd.array([1]))  # [0.8651]",
}


def _keep_int(kernel):
    """An integer input keeps its dtype (MXNet: sigmoid(int32) is int32, truncated)."""
    def run(xp, x, **kw):
        if getattr(x, "dtype", np.dtype(float)).kind not in "iu":  # (scalars pass too)
            return kernel(xp, x, **kw)
        with np.errstate(all="ignore"):
            res = kernel(xp, x, **kw)
            return res if res.dtype == x.dtype else res.astype(x.dtype)
    run.__doc__ = kernel.__doc__
    return run


# Activations that mixed precision runs in float32 (MXNet's AMP list: softrelu, elu, selu; the
# others built on softplus/log follow it).
_AMP_FP32_ACTS = frozenset({"softrelu", "elu", "selu", "log_sigmoid", "mish"})


def _register_act(name, kernel, deriv, onnx, ref, smooth, make, attrs):
    def grad(i, o, g, **kw):
        return _act_grad(name, i, o, g, **kw)

    def lower(g, i, a, o, **kw):
        return onnx(g, i[0], a, **kw)

    samples = [Sample(make(2, 3)), Sample(make(4, 5))]
    samples += [Sample(make(3, 4), **kw) for kw in _SAMPLE_ATTRS.get(name, [])]
    return register(name, _keep_int(kernel), attrs=dict(attrs), infer=same, grad=grad,
                    onnx=lower, save_outputs=name in _FROM_OUTPUT,
                    samples=samples, ref=ref, second_order=smooth,
                    aliases=_ALIASES.get(name, ()),
                    doc=f"{name}(data): " + _DOCS.get(name, name),
                    amp="fp32" if name in _AMP_FP32_ACTS else None)


for _name, _row in _ACTS.items():
    if _name != "tanh":  # tanh is the unary math op; only Activation dispatches to this row
        globals()[_name] = _register_act(_name, *_row)


# ---- Activation(data, act_type) ----
_ACT_TYPES = ("relu", "sigmoid", "tanh", "softrelu", "softsign", "log_sigmoid", "mish")


def _act_row(act_type):
    if act_type not in _ACT_TYPES:
        raise ValueError(f"act_type must be one of {_ACT_TYPES}, got {act_type!r}")
    return _ACTS[act_type]


def _activation_samples():
    return [Sample(_ACTS[t][5](2, 3), act_type=t) for t in _ACT_TYPES]


def _activation_grad(i, o, g, act_type):
    _act_row(act_type)  # an unknown act_type raises here as in the forward
    if act_type == "relu":  # a boolean mask: NaN gets gradient 0, as in MXNet's Activation
        return (F._relu_backward(g[0], o[0]),)
    return _act_grad(act_type, i, o, g)


def _amp_activation(act_type, **_):
    return "fp32" if act_type in _AMP_FP32_ACTS else None


activation = register(
    "activation", lambda xp, x, act_type: _act_row(act_type)[0](xp, x),
    attrs={"act_type": REQUIRED}, infer=same,
    grad=_activation_grad,
    save_outputs=True,
    onnx=lambda g, i, a, o, act_type: _act_row(act_type)[2](g, i[0], a),
    samples=_activation_samples(),
    ref=lambda x, act_type: _act_row(act_type)[3](x), second_order=True,
    aliases=("Activation",),
    doc="Activation(data, act_type): act_type in relu, sigmoid, tanh, softrelu, softsign, "
        "log_sigmoid, mish.\n\n    >>> nd.Activation(nd.array([-1, 1]), act_type='relu')"
        "  # [0. 1.]", amp=_amp_activation)


# ---- LeakyReLU(data, gamma=None, act_type='leaky', slope, lower_bound, upper_bound) ----
_LEAKY_TYPES = ("leaky", "elu", "selu", "gelu", "prelu", "rrelu")


def _gamma_shape(gshape, xshape):
    """Where PReLU's gamma sits in the data's shape (MXNet 1.9's rule, axes 0 and 1 only).

    Gamma's axes are matched right to left against data axes 1 and 0: an axis lines up where
    the sizes agree or gamma's is 1; every other data axis gets 1. So (C,) goes to axis 1 of
    (N, C, H, W), (N, C) to axes 0 and 1, (1,) everywhere, and (N,) to axis 0 of (N, K) when
    K != N. Returns gamma's shape padded to the data's rank, e.g. (1, C, 1, 1).
    """
    gshape, xshape = tuple(gshape), tuple(xshape)
    out, s = [1] * len(xshape), len(gshape) - 1
    for i in range(len(xshape) - 1, -1, -1):
        if s >= 0 and i <= 1 and gshape[s] in (xshape[i], 1):
            out[i], s = gshape[s], s - 1
    if s != -1:
        raise ValueError(f"LeakyReLU(prelu): cannot broadcast gamma {gshape} to data {xshape}")
    return tuple(out)


def _leaky_kernel(xp, x, gamma=None, act_type="leaky", slope=0.25, lower_bound=0.125,
                  upper_bound=0.334):
    if act_type == "leaky":
        return _leaky(xp, x, slope)
    if act_type == "elu":  # MXNet uses `slope` as ELU's alpha
        return _elu(xp, x, slope)
    if act_type == "selu":
        return _selu(xp, x)
    if act_type == "gelu":
        return _gelu(xp, x)
    if act_type == "prelu":
        if gamma is None:
            raise ValueError("act_type='prelu' needs the gamma input")
        if gamma.dtype != x.dtype:  # MXNet raises; numpy would promote or truncate
            check_param_dtypes(x, gamma=gamma)
        gb = gamma.reshape(_gamma_shape(gamma.shape, x.shape)).astype(x.dtype, copy=False)
        return xp.where(x > 0, x, gb * x)
    if act_type == "rrelu":  # deterministic: the mean slope (MXNet's inference behaviour)
        return _leaky(xp, x, (float(lower_bound) + float(upper_bound)) / 2)
    raise ValueError(f"act_type must be one of {_LEAKY_TYPES}, got {act_type!r}")


def _gamma_axes(x, gamma):
    """Data axes that gamma is spread over (the 1s of its padded shape)."""
    return tuple(k for k, n in enumerate(_gamma_shape(gamma.shape, x.shape)) if n == 1)


def _leaky_grad(i, o, g, act_type="leaky", slope=0.25, lower_bound=0.125, upper_bound=0.334):
    x, gamma = i
    if act_type == "prelu":
        axes = _gamma_axes(x, gamma)
        neg = 1 - F.greater(x, 0)
        gb = F._broadcast_reduced(gamma, shape=tuple(x.shape), axes=axes) if axes else gamma
        gx = g[0] * (1 - neg + neg * gb)
        gg = g[0] * x * neg
        if axes:
            gg = F.sum(gg, axis=axes, keepdims=True)
        return gx, F.reshape_like(gg, gamma)
    deriv = {"leaky": lambda v: _d_leaky(v, slope), "elu": lambda v: _d_elu(v, slope),
             "selu": lambda v: SELU_LAMBDA * _d_elu(v, SELU_ALPHA), "gelu": _d_gelu,
             "rrelu": lambda v: _d_leaky(v, (float(lower_bound) + float(upper_bound)) / 2)}
    return g[0] * deriv[act_type](x), None


def _leaky_onnx(g, i, a, o, act_type="leaky", slope=0.25, lower_bound=0.125,
                upper_bound=0.334):
    x = i[0]
    if act_type == "leaky":
        return g.op("LeakyRelu", x, alpha=float(slope))
    if act_type == "rrelu":
        return g.op("LeakyRelu", x, alpha=(float(lower_bound) + float(upper_bound)) / 2)
    if act_type == "elu":
        return g.op("Elu", x, alpha=float(slope))
    if act_type == "selu":
        return g.op("Selu", x, alpha=SELU_ALPHA, gamma=SELU_LAMBDA)
    if act_type == "gelu":
        return _o_gelu(g, x, a)
    # gamma padded to the data's rank, so PRelu's numpy-style broadcast lines it up
    gamma = g.op("Reshape", i[1], g.ints(list(_gamma_shape(a[1].shape, a[0].shape))))
    if np.dtype(a[1].dtype) != np.dtype(a[0].dtype):
        gamma = g.op("Cast", gamma, to=g.onnx_dtype(a[0].dtype))
    return g.op("PRelu", x, gamma)


def _leaky_ref(x, gamma=None, act_type="leaky", slope=0.25, lower_bound=0.125,
               upper_bound=0.334):
    if act_type == "prelu":
        if gamma.size == 1:
            gb = gamma.reshape(())
        elif gamma.ndim == 1 and x.ndim >= 2 and x.shape[1] == gamma.shape[0]:
            gb = gamma[(None, slice(None)) + (None,) * (x.ndim - 2)]  # channels on axis 1
        else:  # (N,), (N, C), (N, 1), (1, C): the leading axes
            gb = gamma.reshape(gamma.shape + (1,) * (x.ndim - gamma.ndim))
        return np.where(x > 0, x, gb * x)
    if act_type == "rrelu":
        slope, act_type = (lower_bound + upper_bound) / 2, "leaky"
    ref = {"leaky": lambda v: np.where(v > 0, v, slope * v), "elu": lambda v: _r_elu(v, slope),
           "selu": lambda v: SELU_LAMBDA * _r_elu(v, SELU_ALPHA), "gelu": _r_gelu}
    return ref[act_type](x)


def _leaky_samples():
    s = [Sample(away(2, 3)), Sample(away(2, 3), None, act_type="leaky", slope=0.1),
         Sample(away(3, 4), None, act_type="elu", slope=0.7),
         Sample(away(3, 4), None, act_type="selu"), Sample(rnd(3, 4), None, act_type="gelu"),
         Sample(away(2, 3, 2, 2), rnd(3, lo=0.1, hi=0.5), act_type="prelu"),
         Sample(away(4, 3), rnd(3, lo=0.1, hi=0.5), act_type="prelu"),
         Sample(away(2, 3, 2), rnd(1, lo=0.1, hi=0.5), act_type="prelu"),
         # gamma over the first two axes (N, C), and (N,) on axis 0 when C != N (MXNet 1.9)
         Sample(away(2, 3, 2, 2), rnd(2, 3, lo=0.1, hi=0.5), act_type="prelu"),
         Sample(away(3, 4), rnd(3, 4, lo=0.1, hi=0.5), act_type="prelu"),
         Sample(away(3, 4, 2), rnd(3, lo=0.1, hi=0.5), act_type="prelu"),
         Sample(away(2, 3, 2), rnd(1, 3, lo=0.1, hi=0.5), act_type="prelu"),
         Sample(away(2, 3), None, act_type="rrelu")]
    return s


def _leaky_param_shapes(x, act_type="leaky", **_):
    """prelu's ``gamma``: ``(C,)`` for ``x (N, C, ...)`` (MXNet's default; gamma may also be
    ``(1,)`` or cover axes 0 and 1); the other types have no parameter."""
    return {"gamma": (x.shape[1],)} if act_type == "prelu" else {}


def _leaky_infer(x, gamma=None, act_type="leaky", **_):
    if act_type == "prelu" and gamma is not None:
        _gamma_shape(gamma.shape, x.shape)  # raises where MXNet cannot broadcast gamma
        check_param_dtypes(x, gamma=gamma)
    return same(x)


def _amp_leaky(act_type="leaky", **_):
    return "fp32" if act_type in ("elu", "selu") else None


leaky_relu = register(
    "leaky_relu", _leaky_kernel, inputs=("data", "gamma?"),
    attrs={"act_type": "leaky", "slope": 0.25, "lower_bound": 0.125, "upper_bound": 0.334},
    infer=_leaky_infer, grad=_leaky_grad, onnx=_leaky_onnx,
    samples=_leaky_samples(), ref=_leaky_ref, aliases=("LeakyReLU",),
    param_shapes=_leaky_param_shapes, input_init={"gamma": '["Constant", {"value": 0.25}]'},
    doc="LeakyReLU(data, gamma=None, act_type='leaky', slope=0.25, lower_bound=0.125, "
        "upper_bound=0.334): leaky (slope), elu (alpha=slope), selu, gelu, prelu (learned "
        "gamma over axis 1, or axes 0 and 1) or rrelu (mean slope).\n\n"
        "    >>> nd.LeakyReLU(nd.array([-1, 2]), slope=0.1)  # [-0.1  2. ]", amp=_amp_leaky)


# ---- softmax family ----
def _axis_of(ndim, axis):
    return int(axis) % max(ndim, 1)


def _reduce_kept(xp, name, x, axis):
    """``x.<name>(axis, keepdims=True)`` for name max or sum; numpy's ufunc.reduce skips the
    method's Python layer (microseconds, most of the cost on a loss's small arrays)."""
    if xp is np:
        return (np.maximum if name == "max" else np.add).reduce(x, axis=axis, keepdims=True)
    return getattr(x, name)(axis=axis, keepdims=True)


ORT_MIN_SIZE = 1 << 15   # elements from which onnxruntime's softmax beats numpy's passes


def _softmax_rows(xp, x, axis):
    """Softmax over the last axis of a large C-contiguous numpy array through onnxruntime's
    vectorized kernel (``_ort_kernels.softmax_rows``; numpy's exp is a scalar loop on one
    core): an attention layer's (256, 128, 128) scores 15 against ~2 ms (2026-12-07). False
    where it does not apply; the result otherwise."""
    if (xp is not np or axis != x.ndim - 1 or x.size < ORT_MIN_SIZE
            or not x.flags.c_contiguous):
        return False
    out = np.empty_like(x)
    n = x.shape[-1]
    return out if softmax_rows(x.reshape(-1, n), out.reshape(-1, n)) else False


def _softmax_core(xp, x, axis, temperature=None, length=None, log=False, dtype=None):
    """Stable (log-)softmax along ``axis``; ``length`` masks positions >= length (output 0)."""
    if dtype is None and temperature is None and length is None and x.dtype.kind == "f":
        res = False if log else _softmax_rows(xp, x, axis)
        if res is not False:
            return res
        z = x - _reduce_kept(xp, "max", x, axis)
        if log:
            z -= xp.log(_reduce_kept(xp, "sum", xp.exp(z), axis))
            return z
        e = xp.exp(z, out=z)
        e /= _reduce_kept(xp, "sum", e, axis)
        return e
    out_dt = np.dtype(dtype) if dtype is not None else x.dtype
    x = x.astype(np.result_type(x.dtype, out_dt), copy=False)
    if temperature is not None and float(temperature) != 1.0:
        x = x / float(temperature)
    mask = None
    if length is not None:
        n = x.shape[axis]
        pos = xp.arange(n).reshape((n,) + (1,) * (x.ndim - axis - 1))
        mask = pos < xp.expand_dims(length, axis)
        x = xp.where(mask, x, -xp.inf)
    m = xp.max(x, axis=axis, keepdims=True)
    if mask is not None:  # fully masked slices: max is -inf; shift by 0 instead
        m = xp.where(xp.isfinite(m), m, 0)
    z = x - m
    e = xp.exp(z)
    s = e.sum(axis=axis, keepdims=True)
    if log:
        res = z - xp.log(s)
    else:
        res = e / (xp.where(s > 0, s, 1) if mask is not None else s)
    return res.astype(out_dt, copy=False)


def _softmax_kernel(xp, x, length=None, axis=-1, temperature=None, dtype=None, use_length=False):
    ax = _axis_of(x.ndim, axis)
    return _softmax_core(xp, x, ax, temperature, length if use_length else None, dtype=dtype)


def _scale(temperature):
    return 1.0 if temperature is None else 1.0 / float(temperature)


def _back_dtype(gx, x):
    """Gradients go back in the input's dtype when ``dtype=`` changed the output's."""
    if np.dtype(gx.dtype) != np.dtype(x.dtype):
        return F.cast(gx, dtype=np.dtype(x.dtype).name)
    return gx


def _softmax_grad(i, o, g, axis=-1, temperature=None, dtype=None, use_length=False):
    x, y = i[0], o[0]
    ax = _axis_of(x.ndim, axis)
    gx = y * (g[0] - F.sum(g[0] * y, axis=ax, keepdims=True)) * _scale(temperature)
    return _back_dtype(gx, x), None


def _softmax_infer(x, length=None, axis=-1, temperature=None, dtype=None, use_length=False):
    return same(x)._replace(dtype=np.dtype(dtype) if dtype is not None else np.dtype(x.dtype))


def _onnx_prepare(g, x, a, temperature, dtype):
    """Cast to the output dtype and divide by the temperature (shared by the softmax lowerings)."""
    if dtype is not None and np.dtype(dtype) != np.dtype(a.dtype):
        x = g.op("Cast", x, to=g.onnx_dtype(dtype))
    dt = np.dtype(dtype) if dtype is not None else np.dtype(a.dtype)
    if temperature is not None and float(temperature) != 1.0:
        x = g.op("Div", x, g.const(np.asarray(float(temperature), dt)))
    return x, dt


def _softmax_onnx(g, i, a, o, axis=-1, temperature=None, dtype=None, use_length=False):
    x, dt = _onnx_prepare(g, i[0], a[0], temperature, dtype)
    ax = _axis_of(len(a[0].shape), axis)
    if not use_length:
        return g.op("Softmax", x, axis=ax)
    n, ndim = a[0].shape[ax], len(a[0].shape)
    pos = g.const(np.arange(n).reshape((n,) + (1,) * (ndim - ax - 1)).astype(a[1].dtype))
    mask = g.op("Less", pos, g.op("Unsqueeze", i[1], g.ints([ax])))
    sm = g.op("Softmax", g.op("Where", mask, x, g.const(np.asarray(-np.inf, dt))), axis=ax)
    return g.op("Where", mask, sm, g.const(np.asarray(0, dt)))


def _softmax_ref(x, length=None, axis=-1, temperature=None, dtype=None, use_length=False):
    z = x / (temperature or 1.0)
    if use_length:
        idx = np.arange(x.shape[axis]).reshape((-1,) + (1,) * (x.ndim - axis % x.ndim - 1))
        keep = idx < np.expand_dims(length, axis)
        e = np.where(keep, np.exp(z - z.max()), 0)
    else:
        e = np.exp(z - z.max())
    return e / e.sum(axis=axis, keepdims=True)


softmax = register(
    "softmax", _softmax_kernel, inputs=("data", "length?"),
    attrs={"axis": -1, "temperature": None, "dtype": None, "use_length": False},
    infer=_softmax_infer, grad=_softmax_grad, onnx=_softmax_onnx, save_outputs=True,
    second_order=True, ref=_softmax_ref,
    samples=[Sample(rnd(2, 3) * 3), Sample(rnd(2, 3, 4) * 3, None, axis=1),
             Sample(rnd(3, 4) * 3, None, axis=0, temperature=2.0),
             Sample(rnd(2, 3), None, dtype="float64"),
             Sample(rnd(3, 5) * 2, np.array([2, 5, 1], dtype=np.int64), use_length=True),
             Sample(rnd(2, 4, 3), np.array([[1, 3, 2], [4, 2, 1]], dtype=np.int64), axis=1,
                    use_length=True)],
    doc="softmax(data, length=None, axis=-1, temperature=None, dtype=None, use_length=False):\n"
        "exp(x/t) normalized along ``axis``; with ``use_length`` positions >= length are 0.\n\n"
        "    >>> nd.softmax(nd.array([[1, 1]]))  # [[0.5 0.5]]", amp="fp32")


def _log_softmax_kernel(xp, x, axis=-1, temperature=None, dtype=None, use_length=False):
    return _softmax_core(xp, x, _axis_of(x.ndim, axis), temperature, log=True, dtype=dtype)


def _log_softmax_grad(i, o, g, axis=-1, temperature=None, dtype=None, use_length=False):
    x, y = i[0], o[0]
    ax = _axis_of(x.ndim, axis)
    gx = (g[0] - F.exp(y) * F.sum(g[0], axis=ax, keepdims=True)) * _scale(temperature)
    return (_back_dtype(gx, x),)


def _log_softmax_onnx(g, i, a, o, axis=-1, temperature=None, dtype=None, use_length=False):
    x, _ = _onnx_prepare(g, i[0], a[0], temperature, dtype)
    return g.op("LogSoftmax", x, axis=_axis_of(len(a[0].shape), axis))


_SM_ATTRS = {"axis": -1, "temperature": None, "dtype": None, "use_length": False}


def _sm_samples():
    return [Sample(rnd(2, 3) * 3), Sample(rnd(2, 3, 4) * 3, axis=1),
            Sample(rnd(3, 4) * 3, axis=0, temperature=0.5), Sample(rnd(2, 3), dtype="float64")]


log_softmax = register(
    "log_softmax", _log_softmax_kernel, attrs=dict(_SM_ATTRS),
    infer=lambda x, **kw: _softmax_infer(x, **kw), grad=_log_softmax_grad,
    onnx=_log_softmax_onnx, save_outputs=True, second_order=True, samples=_sm_samples(),
    ref=lambda x, axis=-1, temperature=None, **_: np.log(_softmax_ref(x, None, axis,
                                                                      temperature)),
    doc="log_softmax(data, axis=-1, temperature=None, dtype=None): log of softmax, stable.\n\n"
        "    >>> nd.log_softmax(nd.array([0, 0]))  # [-0.6931 -0.6931]", amp="fp32")


def _softmin_kernel(xp, x, axis=-1, temperature=None, dtype=None, use_length=False):
    return _softmax_core(xp, -x, _axis_of(x.ndim, axis), temperature, dtype=dtype)


def _softmin_grad(i, o, g, axis=-1, temperature=None, dtype=None, use_length=False):
    x, y = i[0], o[0]
    ax = _axis_of(x.ndim, axis)
    gx = y * (F.sum(g[0] * y, axis=ax, keepdims=True) - g[0]) * _scale(temperature)
    return (_back_dtype(gx, x),)


def _softmin_onnx(g, i, a, o, axis=-1, temperature=None, dtype=None, use_length=False):
    x, _ = _onnx_prepare(g, g.op("Neg", i[0]), a[0], temperature, dtype)
    return g.op("Softmax", x, axis=_axis_of(len(a[0].shape), axis))


softmin = register(
    "softmin", _softmin_kernel, attrs=dict(_SM_ATTRS),
    infer=lambda x, **kw: _softmax_infer(x, **kw), grad=_softmin_grad, onnx=_softmin_onnx,
    save_outputs=True, second_order=True, samples=_sm_samples(),
    ref=lambda x, axis=-1, temperature=None, **_: _softmax_ref(-x, None, axis, temperature),
    doc="softmin(data, axis=-1, temperature=None, dtype=None): softmax of -data.\n\n"
        "    >>> nd.softmin(nd.array([0, 0]))  # [0.5 0.5]", amp="fp32")


def _sa_axis(ndim, mode):
    if mode == "channel":
        if ndim < 3:
            raise ValueError("mode='channel' needs an input of at least 3 dimensions")
        return 1
    if mode != "instance":
        raise ValueError(f"mode must be 'instance' or 'channel', got {mode!r}")
    return ndim - 1  # MXNet flattens to 2-D keeping the last axis: softmax over it


softmax_activation = register(
    "softmax_activation",
    lambda xp, x, mode="instance": _softmax_core(xp, x, _sa_axis(x.ndim, mode)),
    attrs={"mode": "instance"}, infer=same,
    grad=lambda i, o, g, mode="instance": _softmax_grad(i, o, g,
                                                        axis=_sa_axis(i[0].ndim, mode))[:1],
    onnx=lambda g, i, a, o, mode="instance": g.op("Softmax", i[0],
                                                  axis=_sa_axis(len(a[0].shape), mode)),
    save_outputs=True, second_order=True,
    samples=[Sample(rnd(2, 5) * 3), Sample(rnd(2, 3, 4) * 3, mode="channel"),
             Sample(rnd(2, 3, 2, 2) * 3, mode="instance")],
    ref=lambda x, mode="instance": _softmax_ref(x, None, _sa_axis(x.ndim, mode)),
    aliases=("SoftmaxActivation",),
    doc="SoftmaxActivation(data, mode='instance'): softmax over the last axis ('instance') or "
        "over axis 1 at each position ('channel').\n\n"
        "    >>> nd.SoftmaxActivation(nd.array([[1, 1]]))  # [[0.5 0.5]]", amp="fp32")
