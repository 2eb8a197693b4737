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
                 "random_uniform": "_random_uniform", "random_normal": "_random_normal"}


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
    return call_name(node.op, inputs)


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
    # MXNet's CamelCase name, else its contrib one (``_contrib_arange_like``), else kiln's
    camel = [a for a in op.aliases if a[:1].isupper()] or [
        a for a in op.aliases if a.startswith("_contrib_")]
    return (camel[0] if camel else op.name), {}
