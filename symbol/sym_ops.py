"""``kiln.sym.<op>``: registry ops that build graph nodes, MXNet-style.

Positional arguments fill the op's inputs, then its attributes, as in MXNet's generated
signature (``sym.sum(x, 1)`` is ``axis=1``). An input slot takes a Symbol (or an NDArray, kept as
a constant); a Python number there is an error, as in MXNet, except for the functions MXNet
writes in Python that accept numbers (``pow``/``power``/``maximum``/``minimum``, and kiln's
``add``/``subtract``/... like ``kiln.nd``): ``sym.maximum(x, 3)`` is MXNet's
``_maximum_scalar``. Missing parameter inputs become variables named ``<name>_<input>``
(``fc1_weight``, ``fc1_bias``), BatchNorm's moving statistics auxiliary ones.

Example::

    >>> net = sym.FullyConnected(sym.var("data"), num_hidden=10, name="fc1")
    >>> net.list_arguments()
    ['data', 'fc1_weight', 'fc1_bias']
    >>> sym.power(2, sym.var("e")).list_arguments()      # 2 ** e (MXNet's _rpower_scalar)
    ['e']
"""
import numbers
import operator

import numpy as np

from ..ndarray import _registry
from .graph import Node, hashable
from .mx_names import auto_name, op_hint
from .symbol import Symbol, var
from .trace import _infer, const_entry

# Names whose scalar operands become scalar inputs (MXNet's Python-level ``mx.sym.pow/power/
# maximum/minimum``; the rest are kiln's own names, scalar-friendly like ``kiln.nd``'s).
# MXNet's generated ops (``broadcast_add``, ``elemwise_mul``, ``_power``...) refuse numbers.
SCALAR_FRIENDLY = {
    "pow": "power", "power": "power", "maximum": "maximum", "minimum": "minimum",
    "add": "add", "subtract": "subtract", "multiply": "multiply", "divide": "divide",
    "true_divide": "divide", "mod": "mod", "modulo": "mod", "equal": "equal",
    "not_equal": "not_equal", "greater": "greater", "greater_equal": "greater_equal",
    "lesser": "lesser", "lesser_equal": "lesser_equal", "hypot": "hypot",
}
# what MXNet's Python wrappers return when both operands are numbers (comparisons give 1/0)
_ON_NUMBERS = {
    "power": operator.pow, "add": operator.add, "subtract": operator.sub,
    "multiply": operator.mul, "divide": operator.truediv, "mod": operator.mod,
    "maximum": lambda a, b: a if a > b else b, "minimum": lambda a, b: a if a < b else b,
    "equal": lambda a, b: int(a == b), "not_equal": lambda a, b: int(a != b),
    "greater": lambda a, b: int(a > b), "greater_equal": lambda a, b: int(a >= b),
    "lesser": lambda a, b: int(a < b), "lesser_equal": lambda a, b: int(a <= b),
    "hypot": lambda a, b: (a * a + b * b) ** 0.5,
}


class SymbolInputError(TypeError, AssertionError):
    """A non-Symbol value in an op's input slot (MXNet raises an ``AssertionError`` there)."""


def _wanted(op, input_name, attrs):
    """Whether an optional input that was not given should become a variable."""
    if input_name == "bias":
        return not attrs.get("no_bias", op.attrs.get("no_bias", False))
    if input_name == "gamma" and op.name == "leaky_relu":
        return attrs.get("act_type", op.attrs.get("act_type")) == "prelu"
    if op.name == "rnn":   # MXNet's RNN lists these arguments in the modes that read them
        if input_name == "state_cell":
            return attrs.get("mode", op.attrs.get("mode")) == "lstm"
        if input_name == "sequence_length":
            return bool(attrs.get("use_sequence_length", False))
    return False


def _is_input(v):
    return isinstance(v, Symbol) or hasattr(v, "_data")


def _check_input(op, name, v):
    if v is not None and not _is_input(v):
        raise SymbolInputError(f"{op.name}(): argument {name} must be a Symbol, but got {v!r} "
                               "(use the scalar form, e.g. x + 2 or sym.maximum(x, 2))")


def _unknown_keyword(op, k):
    """MXNet ignores keywords given to an op without parameters, and ``__attr__`` keys."""
    if op.attrs and k not in op.ignored and not k.startswith("__"):
        raise TypeError(f"{op.name}() got an unexpected argument {k!r}")


def _split_args(op, in_names, args, kwargs):
    """``(given inputs, attrs)`` from positional then keyword arguments."""
    slots = in_names + list(op.attrs)
    if len(args) > len(slots):
        raise TypeError(f"{op.name}() takes at most {len(slots)} positional arguments "
                        f"({len(args)} given)")
    given, attrs = {}, {}
    for k, v in zip(slots, args):
        if k in op.number_inputs and isinstance(v, numbers.Number):
            attrs[op.number_inputs[k]] = v
        else:
            (given if k in in_names else attrs)[k] = v
    for k, v in kwargs.items():
        if k in given or k in attrs:
            raise TypeError(f"{op.name}() got multiple values for argument {k!r}")
        if k in op.number_inputs and isinstance(v, numbers.Number):
            attrs[op.number_inputs[k]] = v
        elif k in in_names:
            given[k] = v
        elif k in op.attrs:
            attrs[k] = v
        else:
            _unknown_keyword(op, k)
    for k, v in given.items():
        _check_input(op, k, v)
    return {k: v for k, v in given.items() if v is not None}, attrs


def _variadic_args(op, args, kwargs):
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        args = tuple(args[0])
    for i, a in enumerate(args):
        _check_input(op, f"#{i}", a)
    attrs = {}
    for k, v in kwargs.items():
        if k in op.attrs:
            attrs[k] = v
        else:
            _unknown_keyword(op, k)
    return list(args), attrs


def make_node(op, inputs, attrs, name, attr=None):
    """A Symbol over a new ``op`` node; ``inputs`` are Symbols, NDArrays, numbers or None."""
    entries = []
    for i in inputs:
        if isinstance(i, Symbol):
            entries.append(i._entry())
        elif hasattr(i, "_data"):
            entries.append(const_entry(i))
        else:
            entries.append(i.item() if isinstance(i, np.generic) else i)
    full = {k: hashable(attrs.get(k, v)) for k, v in op.attrs.items()}
    missing = [k for k, v in full.items() if v is _registry.REQUIRED]
    if missing:
        raise TypeError(f"{op.name}() missing required attribute(s) {missing}")
    avals = _infer(op, entries, dict(full, **({"_train": False} if op.uses_mode else {})),
                   "", "")
    node = Node("op", op, entries, full, name=name, avals=avals,
                meta={"attr": dict(attr or {})})
    return Symbol([(node, k) for k in range(node.num_outputs)])


def make_sym_function(op):
    """The ``kiln.sym`` function for ``op``."""
    in_names = [n.lstrip("*").rstrip("?") for n in op.inputs]

    def fn(*args, name=None, attr=None, **kwargs):
        name = name or auto_name(op_hint(op, ()))   # FullyConnected: fullyconnected0
        attr = _mult_attrs(attr, kwargs)
        if op.variadic:
            inputs, attrs = _variadic_args(op, args, kwargs)
        else:
            given, attrs = _split_args(op, in_names, args, kwargs)
            inputs = _collect(op, in_names, given, attrs, name, attr)
        return make_node(op, inputs, attrs, name, attr)
    fn.__name__ = op.name
    fn.__doc__ = op.doc
    return fn


def make_scalar_binary(op, fname):
    """``sym.<fname>(lhs, rhs)`` where either side may be a Python number: a number becomes a
    scalar input (exported as MXNet's ``_<op>_scalar``); two numbers give a number."""
    generic = make_sym_function(op)

    def fn(lhs, rhs, name=None, attr=None):
        nums = [isinstance(v, numbers.Number) for v in (lhs, rhs)]
        if all(nums):
            return _ON_NUMBERS[op.name](lhs, rhs)
        if not all(n or _is_input(v) for n, v in zip(nums, (lhs, rhs))):
            raise TypeError(f"types ({type(lhs)}, {type(rhs)}) not supported")
        if not any(nums):
            return generic(lhs, rhs, name=name, attr=attr)
        entries = [v._entry() if isinstance(v, Symbol) else v for v in (lhs, rhs)]
        return make_node(op, [lhs, rhs], {}, name or auto_name(op_hint(op, entries)), attr)
    fn.__name__ = fname
    fn.__doc__ = op.doc
    return fn


def _mult_attrs(attr, kwargs):
    """MXNet lets an op call take ``lr_mult``/``wd_mult``: they become the node's (and its
    auto-created variables') ``__lr_mult__``/``__wd_mult__`` attributes."""
    extra = {f"__{k}__": str(kwargs.pop(k)) for k in ("lr_mult", "wd_mult") if k in kwargs}
    return dict(attr or {}, **extra) if extra else attr


def _default_init(op, nm, v):
    """Give variable ``v`` (composed as ``op``'s input ``nm``) the op's default initializer
    as ``__init__`` unless it has one: MXNet sets it on compose, so a given variable gets it too
    (``LeakyReLU(act_type='prelu')``'s gamma starts at 0.25 in ``Module.init_params``)."""
    init = op.input_init.get(nm)
    if init is None or not isinstance(v, Symbol) or len(v._entries) != 1:
        return
    node = v._entries[0][0]
    if node.kind == "var":
        node.meta.setdefault("attr", {}).setdefault("__init__", init)


def _collect(op, in_names, given, attrs, name, attr=None):
    inputs = []
    for spec, nm in zip(op.inputs, in_names):
        if nm in given:
            _default_init(op, nm, given[nm])
            inputs.append(given[nm])
            continue
        if spec.endswith("?") and not _wanted(op, nm, attrs):
            inputs.append(None)
            continue
        v = var(f"{name}_{nm}", attr=attr)
        _default_init(op, nm, v)
        if inputs and op.mutates and len(inputs) in op.mutated(attrs):
            v._entries[0][0].meta["aux"] = True
        inputs.append(v)
    return inputs
