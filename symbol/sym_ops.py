"""``kiln.sym.<op>``: registry ops that build graph nodes, MXNet-style.

Inputs may be given by position or by name; missing parameter inputs become variables named
``<name>_<input>`` (``fc1_weight``, ``fc1_bias``), BatchNorm's moving statistics auxiliary ones.

Example::

    >>> net = sym.FullyConnected(sym.var("data"), num_hidden=10, name="fc1")
    >>> net.list_arguments()
    ['data', 'fc1_weight', 'fc1_bias']
"""
import itertools

from ..ndarray import _registry
from .graph import Node, hashable
from .symbol import Symbol
from .trace import _infer, const_entry

_counter = itertools.count()


def _wanted(op, input_name, attrs):
    """Whether an optional input that was not given should become a variable."""
    if input_name == "bias":
        return not attrs.get("no_bias", op.attrs.get("no_bias", False))
    if input_name == "gamma" and op.name == "leaky_relu":
        return attrs.get("act_type", op.attrs.get("act_type")) == "prelu"
    return False


def make_sym_function(op):
    """The ``kiln.sym`` function for ``op``."""
    in_names = [n.lstrip("*").rstrip("?") for n in op.inputs]

    def fn(*args, name=None, attr=None, **kwargs):
        if op.variadic and len(args) == 1 and isinstance(args[0], (list, tuple)):
            args = tuple(args[0])
        syms = [a for a in args if isinstance(a, Symbol)]
        rest = [a for a in args if not isinstance(a, Symbol)]
        attrs = dict(zip([k for k in op.attrs if k not in kwargs], rest))
        given = {}
        for k, v in kwargs.items():
            if k in in_names and not op.variadic:
                given[k] = v
            elif k in op.attrs:
                attrs[k] = v
            elif k not in op.ignored and not k.startswith("__"):
                raise TypeError(f"{op.name}() got an unexpected argument {k!r}")
        name = name or f"{op.name}{next(_counter)}"
        inputs = list(syms) if op.variadic else _collect(op, in_names, syms, given, attrs, name)
        entries = [i._entry() if isinstance(i, Symbol) else
                   (const_entry(i) if hasattr(i, "_data") else i) for i in inputs]
        full = {k: hashable(attrs.get(k, v)) for k, v in op.attrs.items()}
        missing = [k for k, v in full.items() if v is _registry.REQUIRED]
        if missing:
            raise TypeError(f"{op.name}() missing required attribute(s) {missing}")
        avals = _infer(op, entries, dict(full, **({"_train": False} if op.uses_mode else {})),
                       "", "")
        node = Node("op", op, entries, full, name=name, avals=avals,
                    meta={"attr": dict(attr or {})})
        n = node.num_outputs
        sym = Symbol([(node, k) for k in range(n)])
        return sym
    fn.__name__ = op.name
    fn.__doc__ = op.doc
    return fn


def _collect(op, in_names, syms, given, attrs, name):
    from .symbol import var
    inputs, pos = [], iter(syms)
    for spec, nm in zip(op.inputs, in_names):
        if nm in given:
            inputs.append(given[nm])
            continue
        nxt = next(pos, None)
        if nxt is not None:
            inputs.append(nxt)
            continue
        optional = spec.endswith("?")
        if optional and not _wanted(op, nm, attrs):
            inputs.append(None)
            continue
        v = var(f"{name}_{nm}")
        if inputs and op.mutates and len(inputs) in op.mutates:
            v._entries[0][0].meta["aux"] = True
        inputs.append(v)
    return inputs


def install(namespace):
    """Fill ``namespace`` with a sym function per op and alias."""
    for name, op in _registry.OPS.items():
        namespace[name] = make_sym_function(op)
    for alias, name in _registry.ALIASES.items():
        namespace.setdefault(alias, namespace[name])
