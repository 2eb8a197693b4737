"""Automatic mixed precision at the op level: ``amp_cast``, ``amp_multicast`` and the input
cast that ``kiln.amp.init()`` installs at the dispatch point (``_registry.set_amp``).

Each op's ``amp`` facet says in which precision mixed precision runs it (see
``_registry``): ``"lp16"`` ops (convolution, fully_connected, rnn) get their float inputs cast
to the low-precision type, ``"fp32"`` ops (softmax, the norms, exp/log, sums, losses) to
float32, ``"widest"`` ops (binary arithmetic, concat, dot) to the widest float type among their
inputs. The casts are ``amp_cast``/``amp_multicast`` calls made inside ``invoke``, so they are
taped eagerly and become graph nodes while tracing: a hybridized graph, its backward included,
runs in mixed precision, and each cast's gradient casts back to its input's dtype (float32
master weights get float32 gradients).
"""
import warnings

import numpy as np

from .. import ops as F
from .._registry import OPS, REQUIRED, Aval, Sample, get, register
from ._samples import ints, rnd

# MXNet's amp casts move only between low-precision floats and float32: other dtypes (float64,
# integers) pass unchanged.
_AMP_TYPES = (np.dtype(np.float16), np.dtype(np.float32))


def _castable(dtype):
    return np.dtype(dtype) in _AMP_TYPES


# ---- amp_cast --------------------------------------------------------------------------------
def _amp_cast_kernel(xp, x, dtype):
    """Cast ``x`` to ``dtype`` if it is float16/float32; other dtypes pass unchanged (a copy)."""
    return x.astype(np.dtype(dtype) if _castable(x.dtype) else x.dtype, copy=True)


def _amp_cast_infer(x, dtype):
    return Aval(tuple(x.shape), np.dtype(dtype) if _castable(x.dtype) else np.dtype(x.dtype))


def _amp_cast_grad(i, o, g, dtype):
    if np.dtype(i[0].dtype).kind != "f":
        return (None,)
    return (F.amp_cast(g[0], dtype=np.dtype(i[0].dtype).name),)


def _amp_cast_onnx(g, i, a, o, dtype):
    if a[0].dtype == o[0].dtype:
        return g.op("Identity", i[0])
    return g.op("Cast", i[0], to=g.onnx_dtype(o[0].dtype))


def _amp_cast_ref(x, dtype):
    return x.astype(dtype) if _castable(x.dtype) else x.copy()


amp_cast = register(
    "amp_cast", _amp_cast_kernel, attrs={"dtype": REQUIRED}, infer=_amp_cast_infer,
    grad=_amp_cast_grad, onnx=_amp_cast_onnx, ref=_amp_cast_ref,
    samples=[Sample(rnd(2, 3), dtype="float16", grad=False, rtol=1e-3),
             Sample(rnd(2, 3), dtype="float32"),
             Sample(ints(2, 3), dtype="float16", grad=False)],
    doc="""Mixed precision's cast: float16/float32 ``data`` becomes ``dtype``; other dtypes
    (float64, integers) pass unchanged. The gradient is cast back to the input's dtype.

    >>> nd.amp_cast(nd.ones((2, 3)), dtype="float16").dtype  # numpy.float16""")


# ---- amp_multicast ---------------------------------------------------------------------------
def _common_type(dtypes, cast_narrow):
    floats = [np.dtype(d) for d in dtypes if _castable(d)]
    if not floats:
        return None
    pick = min if cast_narrow else max
    return pick(floats, key=lambda d: d.itemsize)


def _multicast_kernel(xp, *xs, num_outputs, cast_narrow=False):
    to = _common_type([x.dtype for x in xs], cast_narrow)
    return tuple(x.astype(to if _castable(x.dtype) else x.dtype, copy=True) for x in xs)


def _multicast_infer(*xs, num_outputs, cast_narrow=False):
    _check_count(len(xs), num_outputs)
    to = _common_type([x.dtype for x in xs], cast_narrow)
    return tuple(Aval(tuple(x.shape), to if _castable(x.dtype) else np.dtype(x.dtype))
                 for x in xs)


def _check_count(n, num_outputs):
    if n != int(num_outputs):
        from ...base import OpError
        raise OpError(f"amp_multicast: num_outputs={num_outputs} but {n} inputs were given")


def _multicast_grad(i, o, g, num_outputs, cast_narrow=False):
    return tuple(None if gi is None or np.dtype(x.dtype).kind != "f"
                 else F.amp_cast(gi, dtype=np.dtype(x.dtype).name) for x, gi in zip(i, g))


def _multicast_onnx(g, i, a, o, num_outputs, cast_narrow=False):
    return [g.op("Identity", n) if ai.dtype == oi.dtype
            else g.op("Cast", n, to=g.onnx_dtype(oi.dtype)) for n, ai, oi in zip(i, a, o)]


def _multicast_ref(*xs, num_outputs, cast_narrow=False):
    to = _common_type([x.dtype for x in xs], cast_narrow)
    return tuple(x.astype(to) if _castable(x.dtype) else x.copy() for x in xs)


amp_multicast = register(
    "amp_multicast", _multicast_kernel, inputs=("*data",),
    attrs={"num_outputs": REQUIRED, "cast_narrow": False},
    num_outputs=lambda a: int(a["num_outputs"]), infer=_multicast_infer,
    grad=_multicast_grad, onnx=_multicast_onnx, ref=_multicast_ref,
    samples=[Sample(rnd(2, 3), rnd(2, 3, salt=5), num_outputs=2),
             Sample(rnd(4), ints(4), num_outputs=2, grad=False),
             Sample(rnd(3), rnd(3, salt=5), num_outputs=2, cast_narrow=True)],
    doc="""Mixed precision's common cast: the float16/float32 inputs all become the widest of
    their types (the narrowest with ``cast_narrow=True``); other dtypes pass unchanged. Returns
    ``num_outputs`` (= the number of inputs) arrays of the inputs' shapes.

    >>> a, b = nd.amp_multicast(nd.ones((2,), dtype="float16"), nd.ones((2,)), num_outputs=2)
    >>> a.dtype  # numpy.float32""")


# ---- the dispatch point's cast (installed by kiln.amp.init) ----------------------------------
def facet_rules():
    """``{op name: rule}`` of every op whose ``amp`` facet is set (a string or a function of the
    attributes)."""
    return {name: op.amp for name, op in OPS.items() if op.amp is not None}


class Policy:
    """The input cast ``invoke`` applies while mixed precision is on: ``policy(op, args,
    attrs) -> args`` with the op's float inputs cast per its rule (``rules``: op name ->
    ``"lp16"`` | ``"fp32"`` | ``"widest"`` | function of the attributes).

    Example: ``_registry.set_amp(Policy("float16", facet_rules()))`` makes every
    ``convolution`` run in float16 and every ``softmax`` in float32.
    """

    def __init__(self, target_dtype, rules, excluded=None, loss_outputs=(), loss_scale=None):
        self.target = np.dtype(target_dtype)
        self.rules = dict(rules)
        self.excluded = excluded  # a function of the op: True skips the cast (convert_symbol)
        # MXNet's *Output loss ops ignore their head gradient, so scaling their output scales
        # nothing: their ``grad_scale`` takes the loss scale (``loss_scale()``) instead
        self.loss_outputs, self.loss_scale = frozenset(loss_outputs), loss_scale

    def __call__(self, op, args, attrs):
        if op.name in self.loss_outputs and self.loss_scale is not None:
            _scale_grad(op, args, attrs, self.loss_scale())
        rule = self.rules.get(op.name)
        if rule is None or (self.excluded is not None and self.excluded(op)):
            return args
        if not isinstance(rule, str):
            rule = rule(**attrs)
        if rule == "lp16":
            return _cast_all(args, self.target)
        if rule == "fp32":
            return _cast_all(args, _AMP_TYPES[1])
        if rule == "widest":
            return _widest(args, self.target)
        return args


def _scale_grad(op, args, attrs, scale):
    if any(hasattr(a, "_trace_node") for a in args):
        # a traced graph would keep this call's scale for good (MXNet only logs this)
        warnings.warn(f"{op.name}: the loss scale of mixed precision is not applied in "
                      "hybridized or symbolic graphs; use a gluon loss with amp.scale_loss",
                      stacklevel=4)
        return
    attrs["grad_scale"] = attrs.get("grad_scale", 1.0) * scale


_SCALARS = (int, float, bool, np.generic)


def _dtype_of(a):
    """An array's or traced value's numpy dtype; None when not an array or not known
    (``sym.var`` without a dtype)."""
    data = getattr(a, "_data", None)  # NDArray: the raw array's dtype, the cheap read
    if data is not None:
        return data.dtype
    if hasattr(a, "_trace_node"):
        try:
            av = a._aval()
        except Exception:  # noqa: BLE001 - a grouped symbol: let the op raise its own error
            return None
        return None if av is None or av.dtype is None else np.dtype(av.dtype)
    return a.dtype if isinstance(a, np.ndarray) else None


def _cast_all(args, to):
    out = None
    for k, a in enumerate(args):
        if a is None or isinstance(a, _SCALARS):
            continue
        dt = _dtype_of(a)
        if dt == to or (dt is not None and not _castable(dt)):
            continue
        if dt is None and not hasattr(a, "_trace_node"):
            continue  # lists and other non-arrays: the op coerces them itself
        if out is None:
            out = list(args)
        out[k] = F.amp_cast(a, dtype=to.name)
    return args if out is None else tuple(out)


def _widest(args, target):
    """float16 meeting float32 becomes float32; a traced input of unknown dtype gets an
    ``amp_multicast`` that decides when the graph runs, as MXNet's does."""
    first, mixed, unknown = None, False, False
    for a in args:
        if a is None or isinstance(a, _SCALARS):
            continue
        dt = _dtype_of(a)
        if dt is None:
            unknown = unknown or hasattr(a, "_trace_node")
        elif dt in _AMP_TYPES:
            if first is None:
                first = dt
            elif dt != first:
                mixed = True
    if unknown:
        return _multicast(args)
    return _cast_all(args, _AMP_TYPES[1]) if mixed else args


def _multicast(args):
    arrays = [k for k, a in enumerate(args)
              if hasattr(a, "_trace_node") or _dtype_of(a) is not None]
    if len(arrays) < 2:
        return args
    outs = F.amp_multicast(*[args[k] for k in arrays], num_outputs=len(arrays))
    res = list(args)
    for k, o in zip(arrays, outs):
        res[k] = o
    return tuple(res)


def resolve(names):
    """Registry op names for MXNet op or alias names (``"FullyConnected"`` ->
    ``"fully_connected"``); names kiln does not have are skipped."""
    out = []
    for n in names:
        try:
            out.append(get(n).name)
        except KeyError:
            continue
    return out
