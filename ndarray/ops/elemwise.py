"""Elementwise arithmetic: binary ops with numpy broadcasting, and the unary math table.

Each op: kernel over ``xp``, shared infer rule, gradient in registry ops (``F``), ONNX lowering,
samples and a numpy reference. Gradients may return broadcast shapes: the engine sums back.
"""
import numpy as np

from .. import ops as F
from .._registry import REQUIRED, Sample, register
from . import _xp
from ._rules import broadcast, same
from ._samples import away, pos, rnd


def is_tensor(x):
    """True for arrays and traced values, False for Python/numpy scalars and None."""
    return x is not None and not isinstance(x, (int, float, bool, np.generic))


def _binary(name, kernel, grad, onnx, samples, ref, infer=broadcast, aliases=(), **kw):
    return register(name, kernel, inputs=("lhs", "rhs"), infer=infer, grad=grad, onnx=onnx,
                    samples=samples, ref=ref, aliases=aliases, **kw)


def _bsamples(lo=None, rhs=None):
    lhs = lo or rnd
    rhs = rhs or rnd
    return [Sample(lhs(2, 3), rhs(2, 3, salt=9)), Sample(lhs(2, 1, 3), rhs(4, 1, salt=9)),
            Sample(lhs(3, 2), 0.5)]


def _keep_dtype(xp, res, a, b):
    """Integer inputs keep an integer result (C semantics), as MXNet does for division."""
    dts = [x.dtype for x in (a, b) if hasattr(x, "dtype") and not isinstance(x, np.generic)]
    if dts and all(d.kind in "iub" for d in dts) and res.dtype.kind == "f":
        return res.astype(np.result_type(*dts))
    return res


add = _binary("add", lambda xp, a, b: xp.add(a, b),
              lambda i, o, g: (g[0], g[0]),
              lambda g, i, a, o: g.op("Add", *i), _bsamples(), np.add, second_order=True,
              aliases=("broadcast_add", "elemwise_add", "_plus", "_add", "broadcast_plus"),
              amp="widest")
subtract = _binary("subtract", lambda xp, a, b: xp.subtract(a, b),
                   lambda i, o, g: (g[0], F.negative(g[0])),
                   lambda g, i, a, o: g.op("Sub", *i), _bsamples(), np.subtract,
                   second_order=True,
                   aliases=("broadcast_sub", "elemwise_sub", "_minus", "_sub",
                            "broadcast_minus"), amp="widest")
multiply = _binary("multiply", lambda xp, a, b: xp.multiply(a, b),
                   lambda i, o, g: (g[0] * i[1] if is_tensor(i[0]) else None,
                                    g[0] * i[0] if is_tensor(i[1]) else None),
                   lambda g, i, a, o: g.op("Mul", *i), _bsamples(), np.multiply,
                   second_order=True,
                   aliases=("broadcast_mul", "elemwise_mul", "_mul"), amp="widest")


def _divide_kernel(xp, a, b):
    return _keep_dtype(xp, xp.true_divide(a, b), a, b)


def _divide_grad(i, o, g):
    a, b = i
    ga = g[0] / b if is_tensor(a) else None
    gb = F.negative(g[0]) * a / (b * b) if is_tensor(b) else None
    return ga, gb


divide = _binary("divide", _divide_kernel, _divide_grad,
                 lambda g, i, a, o: g.op("Div", *i),
                 _bsamples(rhs=lambda *s, salt=0: pos(*s, salt=salt)), np.true_divide,
                 second_order=True,
                 aliases=("broadcast_div", "elemwise_div", "_div", "true_divide"), amp="widest")


def _power_grad(i, o, g):
    a, b = i
    ga = g[0] * b * F.power(a, b - 1) if is_tensor(a) else None
    gb = g[0] * F.power(a, b) * F.log(a) if is_tensor(b) else None
    return ga, gb


power = _binary("power", lambda xp, a, b: xp.power(a, b), _power_grad,
                lambda g, i, a, o: g.op("Pow", *i),
                [Sample(pos(2, 3), rnd(2, 3, salt=9)), Sample(pos(3, 1), rnd(1, 4)),
                 Sample(pos(3, 2), 2.0), Sample(pos(2, 2), 0.5)],
                np.power, second_order=True, aliases=("broadcast_power", "_power", "pow"),
                amp="fp32")


def _mod_onnx(g, i, a, o):
    if o[0].dtype.kind in "iu":
        return g.op("Mod", *i, fmod=0)
    # Python-style modulo for floats: a - floor(a / b) * b (ONNX Mod needs fmod=1 for floats)
    return g.op("Sub", i[0], g.op("Mul", g.op("Floor", g.op("Div", *i)), i[1]))


def _mod_grad(i, o, g):
    # MXNet's mod_grad / mod_rgrad are 1 and -floor(a / b) for floats only, 0 for integers
    if _input_dtype(*i).kind in "iub":
        return None, None
    return g[0], F.negative(g[0]) * F.floor(i[0] / i[1]) if is_tensor(i[1]) else None


mod = _binary("mod", lambda xp, a, b: xp.mod(a, b), _mod_grad, _mod_onnx,
              [Sample(rnd(2, 3, lo=0.1, hi=0.9) + np.array([0., 1, 2]), 1.25),
               Sample(rnd(2, 3, lo=1.1, hi=1.9), pos(2, 3, lo=1.0, hi=1.05))],
              np.mod, aliases=("broadcast_mod", "_mod", "modulo"), amp="widest")
floor_divide = _binary("floor_divide", lambda xp, a, b: xp.floor_divide(a, b),
                       lambda i, o, g: (None, None),
                       lambda g, i, a, o: g.op("Floor", g.op("Div", *i)),
                       [Sample(rnd(2, 3, lo=-3, hi=3) + 0.05, 0.7)], np.floor_divide,
                       no_grad="piecewise constant: zero gradient almost everywhere", amp="widest")


def _minmax_grad(pick_lhs):
    def grad(i, o, g):
        a, b = i
        mask = F.greater_equal(a, b) if pick_lhs else F.lesser_equal(a, b)
        ga = g[0] * mask if is_tensor(a) else None
        gb = g[0] * (1 - mask) if is_tensor(b) else None
        return ga, gb
    return grad


maximum = _binary("maximum", _xp.maximum, _minmax_grad(True),
                  lambda g, i, a, o: g.op("Max", *i), _bsamples(lo=away, rhs=away), np.maximum,
                  aliases=("broadcast_maximum", "_maximum"), amp="widest")
minimum = _binary("minimum", lambda xp, a, b: xp.minimum(a, b), _minmax_grad(False),
                  lambda g, i, a, o: g.op("Min", *i), _bsamples(lo=away, rhs=away), np.minimum,
                  aliases=("broadcast_minimum", "_minimum"), amp="widest")


def _hypot_grad(i, o, g):
    # d/da sqrt(a^2 + b^2) = a / hypot (MXNet's hypot_grad_left; NaN where a = b = 0)
    a, b = i
    return (g[0] * a / o[0] if is_tensor(a) else None,
            g[0] * b / o[0] if is_tensor(b) else None)


def _hypot_onnx(g, i, a, o):
    return g.op("Sqrt", g.op("Add", g.op("Mul", i[0], i[0]), g.op("Mul", i[1], i[1])))


hypot = _binary("hypot", lambda xp, a, b: _keep_dtype(xp, xp.hypot(a, b), a, b), _hypot_grad,
                _hypot_onnx, _bsamples(lo=away, rhs=away) + [Sample(np.array([3.0, 0]), 4.0)],
                np.hypot, save_outputs=True, second_order=True,
                aliases=("broadcast_hypot", "_hypot"),
                doc="""Hypotenuse ``sqrt(lhs^2 + rhs^2)``, elementwise with numpy broadcasting
    (MXNet ``broadcast_hypot``, ``_hypot``; a number as either side is MXNet's
    ``_hypot_scalar``). Integer inputs give an integer result, as in MXNet. Output: the
    broadcast shape.

    Example::

        >>> nd.broadcast_hypot(nd.array([[3, 3, 3]]), nd.array([[4], [4]]))   # 2x3 of 5.
    """, amp="fp32")


def _input_dtype(a, b):
    dts = [x.dtype for x in (a, b) if hasattr(x, "dtype") and not isinstance(x, np.generic)]
    return np.result_type(*dts) if dts else np.dtype(np.float32)


# ---- comparisons and logic: MXNet returns 0/1 in the input dtype ----
def _compare(name, np_fn, onnx_fn, aliases=()):
    fn_name = np_fn.__name__

    def kernel(xp, a, b):
        res = getattr(xp, fn_name)(a, b)
        return res.astype(_input_dtype(a, b), copy=False)

    def onnx(g, i, a, o):
        return g.op("Cast", onnx_fn(g, i), to=g.onnx_dtype(o[0].dtype))

    def ref(a, b):
        return np_fn(a, b).astype(_input_dtype(a, b))

    samples = [Sample(away(2, 3), away(2, 3, salt=7)), Sample(away(2, 1, 3), away(4, 1)),
               Sample(away(3, 2), 0.0), Sample(np.array([1.0, 2, 3]), np.array([1.0, 0, 3]))]
    return register(name, kernel, inputs=("lhs", "rhs"), infer=broadcast, grad=None,
                    onnx=onnx, samples=samples, ref=ref, aliases=aliases, amp="widest",
                    no_grad="comparison: piecewise constant, zero gradient")


def _not(g, x):
    return g.op("Not", x)


def _bool(g, x):
    return g.op("Cast", x, to=g.onnx_dtype(np.bool_))


equal = _compare("equal", np.equal, lambda g, i: g.op("Equal", *i),
                 ("broadcast_equal", "_equal"))
not_equal = _compare("not_equal", np.not_equal, lambda g, i: _not(g, g.op("Equal", *i)),
                     ("broadcast_not_equal", "_not_equal"))
greater = _compare("greater", np.greater, lambda g, i: g.op("Greater", *i),
                   ("broadcast_greater", "_greater"))
greater_equal = _compare("greater_equal", np.greater_equal,
                         lambda g, i: g.op("GreaterOrEqual", *i),
                         ("broadcast_greater_equal", "_greater_equal"))
lesser = _compare("lesser", np.less, lambda g, i: g.op("Less", *i),
                  ("broadcast_lesser", "_lesser", "less"))
lesser_equal = _compare("lesser_equal", np.less_equal, lambda g, i: g.op("LessOrEqual", *i),
                        ("broadcast_lesser_equal", "_lesser_equal", "less_equal"))
logical_and = _compare("logical_and", np.logical_and,
                       lambda g, i: g.op("And", _bool(g, i[0]), _bool(g, i[1])),
                       ("broadcast_logical_and", "_logical_and"))
logical_or = _compare("logical_or", np.logical_or,
                      lambda g, i: g.op("Or", _bool(g, i[0]), _bool(g, i[1])),
                      ("broadcast_logical_or", "_logical_or"))
logical_xor = _compare("logical_xor", np.logical_xor,
                       lambda g, i: g.op("Xor", _bool(g, i[0]), _bool(g, i[1])),
                       ("broadcast_logical_xor", "_logical_xor"))


def _logical_not_kernel(xp, x):
    return (x == 0).astype(x.dtype)


logical_not = register(
    "logical_not", _logical_not_kernel, infer=same,
    onnx=lambda g, i, a, o: g.op("Cast", g.op("Not", _bool(g, i[0])),
                                 to=g.onnx_dtype(o[0].dtype)),
    samples=[Sample(np.array([0.0, 1.0, -2.0, 0.0]))], ref=lambda x: (x == 0).astype(x.dtype),
    no_grad="piecewise constant")


# ---- ternary ----
def _clip_kernel(xp, x, a_min, a_max):
    return xp.clip(x, a_min, a_max)


def _clip_onnx(g, i, a, o, a_min, a_max):
    dt = o[0].dtype
    return g.op("Clip", i[0], g.const(np.asarray(a_min, dt)), g.const(np.asarray(a_max, dt)))


clip = register("clip", _clip_kernel, attrs={"a_min": REQUIRED, "a_max": REQUIRED}, infer=same,
                grad=lambda i, o, g, a_min, a_max: (
                    g[0] * F.greater_equal(i[0], a_min) * F.lesser_equal(i[0], a_max),),
                onnx=_clip_onnx, samples=[Sample(away(3, 4) * 2, a_min=-0.5, a_max=0.7)],
                ref=lambda x, a_min, a_max: np.clip(x, a_min, a_max))


def _where_grad(i, o, g):
    cond, x, y = i
    zero = F.zeros_like(g[0])
    return (None, F.where(cond, g[0], zero) if is_tensor(x) else None,
            F.where(cond, zero, g[0]) if is_tensor(y) else None)


def _row_cond_shape(c_shape, x, y):
    """MXNet's 1-D condition picks whole rows: shape (n,) against x (n, ...) becomes (n, 1, ...).

    Other shapes broadcast numpy-style. Returns the condition's effective shape.
    """
    nd_ = max(len(getattr(v, "shape", ())) for v in (x, y))
    if len(c_shape) != 1 or nd_ < 2:
        return tuple(c_shape)
    n = next(v.shape[0] for v in (x, y) if len(getattr(v, "shape", ())) == nd_)
    if c_shape[0] != n:
        raise ValueError(f"where: a 1-D condition needs x.shape[0] = {n} elements, "
                         f"got {c_shape[0]}")
    return (n,) + (1,) * (nd_ - 1)


def _where_kernel(xp, c, x, y):
    return xp.where(c.reshape(_row_cond_shape(c.shape, x, y)) != 0, x, y)


def _where_infer(c, x, y):
    c = c._replace(shape=_row_cond_shape(tuple(c.shape), x, y))
    return broadcast(c, x, y)._replace(dtype=broadcast(x, y).dtype)


def _where_onnx(g, i, a, o):
    cond = _bool(g, i[0])
    shape = _row_cond_shape(tuple(a[0].shape), *a[1:])
    if shape != tuple(a[0].shape):
        cond = g.op("Reshape", cond, g.ints(shape))
    return g.op("Where", cond, i[1], i[2])


def _where_ref(c, x, y):
    c = c.reshape(_row_cond_shape(c.shape, x, y))
    return np.where(c != 0, x, y)


where = register(
    "where", _where_kernel, inputs=("condition", "x", "y"), infer=_where_infer,
    grad=_where_grad, onnx=_where_onnx,
    samples=[Sample(np.array([[1.0, 0, 1], [0, 0, 1]]), rnd(2, 3), rnd(2, 3, salt=5)),
             Sample(np.array([1.0, 0]), rnd(2, 3), rnd(2, 3, salt=5)),
             Sample(np.array([1.0, 0, 1]), rnd(3), rnd(3, salt=5))],
    ref=_where_ref,
    doc="""Elementwise ``x if condition else y``. A 1-D condition with ``x`` of higher rank
    selects whole rows (its size must be ``x.shape[0]``), as in MXNet; other shapes broadcast.

    >>> nd.where(nd.array([1, 0]), nd.ones((2, 2)), nd.zeros((2, 2)))  # [[1. 1.] [0. 0.]]""",
    amp="widest")


def _add_n_kernel(xp, *args, num_args=None):
    out = args[0].copy()
    for a in args[1:]:  # one pass per input array, not per element
        out += a
    return out


def _add_n_infer(*args, num_args=None):
    return args[0]


add_n = register(
    "add_n", _add_n_kernel, inputs=("*args",), attrs={"num_args": None}, infer=_add_n_infer,
    grad=lambda i, o, g, num_args=None: tuple(g[0] for _ in i),
    onnx=lambda g, i, a, o, num_args=None: g.op("Sum", *i),
    samples=[Sample(rnd(2, 3), rnd(2, 3, salt=5), rnd(2, 3, salt=7)), Sample(rnd(4))],
    ref=lambda *args, num_args=None: sum(args[1:], args[0]),
    doc="""Sum of same-shape arrays: ``add_n(a, b, c)`` is ``a + b + c`` (no broadcasting).

    >>> nd.add_n(nd.ones((2,)), nd.ones((2,)))  # [2. 2.]""",
    second_order=True, aliases=("ElementWiseSum",), amp="widest")
