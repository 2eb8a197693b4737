"""MXNet 1.x op types of kiln graph nodes (``FullyConnected``, ``_plus_scalar``...).

One table serves every place that names a node's op as MXNet does: the symbol JSON writer
(``symbol/mxnet_json.py``), op hooks in compiled graphs (``codegen``) and ``tools/viz``. It lives
in ``symbol/`` so that the code generator needs nothing from ``export/`` (imports run down).

Example: ``x + 1`` is ``_plus_scalar`` with ``{"scalar": "1.0"}``; ``nd.relu``'s Activation
alias makes ``Activation``; ``add`` of two equal shapes is ``elemwise_add``.
"""
import numpy as np

from .graph import is_entry

# binary ops with a scalar operand: (kiln op, scalar on the right?) -> MXNet op
_SCALAR_OPS = {
    ("add", True): "_plus_scalar", ("add", False): "_plus_scalar",
    ("subtract", True): "_minus_scalar", ("subtract", False): "_rminus_scalar",
    ("multiply", True): "_mul_scalar", ("multiply", False): "_mul_scalar",
    ("divide", True): "_div_scalar", ("divide", False): "_rdiv_scalar",
    ("power", True): "_power_scalar", ("power", False): "_rpower_scalar",
    ("mod", True): "_mod_scalar", ("mod", False): "_rmod_scalar",
    ("maximum", True): "_maximum_scalar", ("maximum", False): "_maximum_scalar",
    ("minimum", True): "_minimum_scalar", ("minimum", False): "_minimum_scalar",
    ("equal", True): "_equal_scalar", ("equal", False): "_equal_scalar",
    ("not_equal", True): "_not_equal_scalar", ("not_equal", False): "_not_equal_scalar",
    ("greater", True): "_greater_scalar", ("greater", False): "_lesser_scalar",
    ("greater_equal", True): "_greater_equal_scalar",
    ("greater_equal", False): "_lesser_equal_scalar",
    ("lesser", True): "_lesser_scalar", ("lesser", False): "_greater_scalar",
    ("lesser_equal", True): "_lesser_equal_scalar",
    ("lesser_equal", False): "_greater_equal_scalar",
    ("hypot", True): "_hypot_scalar", ("hypot", False): "_hypot_scalar",
}

_BROADCAST_NAMES = {"add": ("elemwise_add", "broadcast_add"),
                    "subtract": ("elemwise_sub", "broadcast_sub"),
                    "multiply": ("elemwise_mul", "broadcast_mul"),
                    "divide": ("elemwise_div", "broadcast_div")}
_EXPORT_NAMES = {"identity": "_copy", "zeros": "_zeros", "ones": "_ones", "full": "_full",
                 "arange": "_arange", "power": "broadcast_power", "maximum": "broadcast_maximum",
                 "minimum": "broadcast_minimum", "mod": "broadcast_mod", "hypot": "broadcast_hypot",
                 "equal": "broadcast_equal", "not_equal": "broadcast_not_equal",
                 "greater": "broadcast_greater", "greater_equal": "broadcast_greater_equal",
                 "lesser": "broadcast_lesser", "lesser_equal": "broadcast_lesser_equal",
                 "random_uniform": "_random_uniform", "random_normal": "_random_normal",
                 # kiln spells these without MXNet's leading underscore (2026-12-07 sweep,
                 # tests/compat/mx_json_sweep.py)
                 "eye": "_eye", "linspace": "_linspace", "split_v2": "_split_v2",
                 "full_like": "_npi_full_like", "matmul": "_npi_matmul",
                 "_contrib_adamw_update": "_adamw_update",
                 "_contrib_mp_adamw_update": "_mp_adamw_update"}
# attributes MXNet names differently: (kiln op, kiln attribute) -> MXNet attribute
ATTR_NAMES = {("full", "val"): "value"}
# ops whose MXNet 1.9.1 form refuses a negative data axis: kiln op -> its axis attribute
_NONNEG_AXES = {"transpose": "axes", "flip": "axis", "cumsum": "axis",
                "broadcast_axis": "axis"}
# variadic ops whose MXNet form needs ``num_args`` although kiln's has no such attribute
_NUM_ARGS = {"khatri_rao"}


def _split_v2_attrs(a):
    """``split_v2``'s one ``indices_or_sections`` as MXNet's ``_split_v2`` spells it (what
    ``mx.nd.split_v2`` passes): a count as ``sections``, split points as ``indices`` after 0."""
    ios, rest = a["indices_or_sections"], {k: v for k, v in a.items()
                                            if k != "indices_or_sections"}
    if isinstance(ios, int):
        return dict(rest, indices=(), sections=ios)
    return dict(rest, indices=(0,) + tuple(ios), sections=0)


def _split_v2_read(a):
    """The inverse of ``_split_v2_attrs`` on parsed MXNet attributes."""
    rest = {k: v for k, v in a.items() if k not in ("indices", "sections")}
    sections = a.get("sections", 0)
    if sections:
        return dict(rest, indices_or_sections=int(sections))
    indices = a.get("indices", ())
    indices = (indices,) if isinstance(indices, int) else tuple(indices)
    return dict(rest, indices_or_sections=indices[1:])


# kiln ops that MXNet 1.9.1 spells as another op with other attributes: kiln op ->
# (MXNet op, kiln attrs -> MXNet attrs). Reading back, LeakyReLU/Activation are kiln ops too.
_REWRITES = {
    "elu": ("LeakyReLU", lambda a: {"act_type": "elu", "slope": a.get("alpha", 1.0)}),
    "selu": ("LeakyReLU", lambda a: {"act_type": "selu"}),
    "gelu": ("LeakyReLU", lambda a: {"act_type": "gelu"}),   # erf form only: MXNet 1.9.1's
    "softrelu": ("Activation", lambda a: {"act_type": "softrelu"}),
    "split_v2": ("_split_v2", _split_v2_attrs),
}
# MXNet ops whose attributes kiln's op takes in another form: MXNet op -> parsed attrs -> kiln's
IMPORT_ATTRS = {"_split_v2": _split_v2_read}


def format_attr(v):
    """A kiln attribute value as MXNet writes it."""
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, tuple):
        return "(" + ", ".join(format_attr(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def export_name(node):
    """MXNet op name for a kiln node (and any scalar attribute it needs)."""
    inputs = [(_Shaped(i[0].avals[i[1]].shape if i[0].avals else None) if is_entry(i) else i)
              for i in node.inputs]
    rewritten, _ = _rewrite(node.op, node.attrs)
    return (rewritten, {}) if rewritten else call_name(node.op, inputs)


def _is_array(x):
    return hasattr(x, "shape") and not isinstance(x, np.generic)


class _Shaped:
    """An array input seen by its shape only (None: unknown)."""

    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = shape


def call_name(op, inputs):
    """MXNet op name (and any scalar attribute it needs) of ``op`` called on ``inputs``: arrays
    (anything with a ``shape``) and literals. Example: ``add`` of an array and 1.0 is
    ``("_plus_scalar", {"scalar": "1.0"})``; the profiler names eager calls with it."""
    arrays = [i for i in inputs if _is_array(i)]
    scalars = [i for i in inputs if not _is_array(i) and i is not None]
    if len(inputs) == 2 and len(arrays) == 1 and len(scalars) == 1:
        key = (op.name, _is_array(inputs[0]))
        if key in _SCALAR_OPS:
            return _SCALAR_OPS[key], {"scalar": format_attr(float(scalars[0]))}
    if op.name in _BROADCAST_NAMES and len(arrays) == 2:
        shapes = [a.shape for a in arrays]
        same = shapes[0] is not None and tuple(shapes[0]) == tuple(shapes[1])
        return _BROADCAST_NAMES[op.name][0 if same else 1], {}
    if op.name in _EXPORT_NAMES:
        return _EXPORT_NAMES[op.name], {}
    return _registered_name(op), {}


def _registered_name(op):
    """MXNet's name among ``op``'s aliases: the contrib form of a CamelCase name where MXNet
    registers only that (``_contrib_ROIAlign``), the CamelCase one, a contrib one
    (``_contrib_arange_like``), the broadcasting one (``broadcast_logical_and``), the
    underscored one (``_random_uniform_like``), else kiln's own name."""
    aliases = op.aliases
    camel = [a for a in aliases if a[:1].isupper()]
    for pick in ([f"_contrib_{a}" for a in camel if f"_contrib_{a}" in aliases], camel,
                 [a for a in aliases if a.startswith("_contrib_")],
                 [a for a in aliases if a == f"broadcast_{op.name}"],
                 [a for a in aliases if a == f"_{op.name}"]):
        if pick:
            return pick[0]
    return op.name


def _rewrite(op, attrs):
    """``(MXNet op name or None, attrs)``: ``op``'s MXNet form where it has another op's."""
    form = _REWRITES.get(op.name)
    if form is None or (op.name == "gelu" and attrs.get("approximation") != "erf"):
        return None, attrs
    return form[0], form[1](attrs)


def _nonnegative_axes(op, attrs, data_ndim):
    """``attrs`` with the data-axis attribute of an op whose MXNet form refuses negative axes
    (``transpose``'s axes, ``flip``'s axis...) counted from the front, when the data's rank
    is known: kiln takes ``axis=-1`` there, MXNet 1.9.1 fails at bind."""
    key = _NONNEG_AXES.get(op.name)
    value = attrs.get(key)
    if key is None or data_ndim is None or value is None:
        return attrs

    def from_front(a):
        return a + data_ndim if isinstance(a, int) and -data_ndim <= a < 0 else a
    value = tuple(map(from_front, value)) if isinstance(value, tuple) else from_front(value)
    return dict(attrs, **{key: value})


def export_attrs(op, attrs, n_inputs, data_ndim=None):
    """A node's attributes as MXNet's JSON writes them (strings), ``n_inputs`` its array
    inputs. kiln keeps every attribute, defaults included; MXNet types most parameters (bool,
    int, shape) and refuses ``"None"`` for them, so an attribute left at a ``None`` default is
    left out (MXNet's own default applies: kiln's None default means the same), a variadic op's
    ``num_args`` is its input count, renamed attributes take MXNet's name, and a negative axis
    MXNet refuses is counted from the front (``data_ndim``: the first input's rank). Private
    attributes (``_train``) and ``ctx`` are not written. Example: ``arange(3)`` writes
    ``{"start": "3", "step": "1.0", "repeat": "1"}`` (plus a dtype, see mxnet_json)."""
    _, attrs = _rewrite(op, attrs)
    attrs = _nonnegative_axes(op, attrs, data_ndim)
    out = {}
    for k, v in attrs.items():
        if k.startswith("_") or k == "ctx":
            continue
        if k == "num_args" and v is None:
            v = n_inputs
        if v is None and op.attrs.get(k, v) is None:
            continue
        out[ATTR_NAMES.get((op.name, k), k)] = format_attr(v)
    if op.name in _NUM_ARGS:
        out["num_args"] = str(n_inputs)
    return out
