"""Gluon 1.x symbolic calls: a block called on a ``Symbol`` returns a graph, named as MXNet does.

``net(sym.var('data'))`` runs the block's ``forward`` under a :class:`SymbolicTracer`: each
parameter stands as its ``param.var()`` (no data needed, so parameters need not be initialized),
``hybrid_forward`` gets ``F`` = :data:`F` (kiln's ops that accept MXNet's ``name=``/``attr=``),
and nodes are named like MXNet 1.9's ``NameManager``/``Prefix``: the calling block's prefix plus
the op's ``name=`` (``dense0_fwd``) or an automatic ``<hint><n>`` (``custom0_broadcast_mul0``),
the counters starting afresh in each block call.

Example::

    >>> net = nn.Dense(4, activation='relu', prefix='fc_')
    >>> out = net(sym.var('data'))
    >>> out.list_arguments(), out.list_outputs()
    (['data', 'fc_weight', 'fc_bias'], ['fc_relu_fwd_output'])
"""
import types
from contextlib import contextmanager

from .. import ndarray as _nd
from ..device import current_context
from ..ndarray import _registry
from ..ndarray._registry import STATE
from .api import load, load_json
from .graph import _ids, is_entry
from .mx_names import op_hint
from .symbol import Group, Symbol, Variable, var
from .trace import tracing

# ``F.<name>`` functions MXNet writes in Python over an internal op (the hint is the op's)
_FUNCTION_HINTS = {"zeros": "_zeros", "ones": "_ones", "full": "_full", "arange": "_arange"}


class _Prefixes(dict):
    """id(block) -> prefix for the blocks under the called one (what ``Block.__call__`` passes
    to ``in_block``); a block outside that tree is named from its own name."""

    def get(self, key, default=""):
        hit = dict.get(self, key)
        if hit is not None:
            return hit
        return default + "_" if default else ""


def _block_prefixes(root):
    prefixes, stack = _Prefixes({id(root): getattr(root, "prefix", "")}), [root]
    while stack:
        blk = stack.pop()
        for child in getattr(blk, "_children", {}).values():
            child = child() if callable(child) and not hasattr(child, "forward") else child
            if id(child) not in prefixes:
                prefixes[id(child)] = child.prefix
                stack.append(child)
    return prefixes


class SymbolicTracer:
    """``STATE.tracer`` during a symbolic call: parameters are their ``var()``, nodes get
    MXNet's names, and mode-dependent ops keep their mode open (decided when the graph runs)."""

    records_mode = False  # trace_op leaves ``_train`` out: the graph serves both modes

    def __init__(self, root):
        self.ctx = current_context()
        self.training = False
        self.paths = _block_prefixes(root)
        self.F = F
        self.pending = None   # (name, hint) from an ``F.<op>(..., name=)`` call in progress
        self._scopes = []     # (prefix, counters) per block call, innermost last

    def param_value(self, param):
        return param.var()

    @contextmanager
    def in_block(self, prefix):
        """Name the nodes made inside with ``prefix``, counters starting from 0 (MXNet opens a
        new ``Prefix`` name manager in every block call)."""
        self._scopes.append((prefix, {}))
        try:
            yield
        finally:
            self._scopes.pop()

    def block_path(self):
        return self._scopes[-1][0] if self._scopes else ""

    def auto_name(self, hint):
        prefix, counts = self._scopes[-1] if self._scopes else ("", {})
        k = counts.get(hint, 0)
        counts[hint] = k + 1
        return f"{prefix}{hint}{k}"

    def given_name(self, name):
        return self.block_path() + name

    def node_name(self, op, inputs):
        if op.mutates and not callable(op.mutates):  # BatchNorm's moving statistics:
            for k in op.mutates:                     # auxiliary states, as in MXNet
                if k < len(inputs) and is_entry(inputs[k]) and inputs[k][0].kind == "var":
                    inputs[k][0].meta["aux"] = True
        pending, self.pending = self.pending, None
        if pending is None:
            return self.auto_name(op_hint(op, inputs))
        name, hint = pending
        return self.given_name(name) if name else self.auto_name(hint)


def call_block(block, args, kwargs):
    """Run ``block.forward(*args, **kwargs)`` on Symbols as MXNet 1.x does (see module doc)."""
    tracer = SymbolicTracer(block)
    with tracing(tracer), tracer.in_block(block.prefix):
        return block.forward(*args, **kwargs)


# ---- F: kiln's ops with MXNet's name= and attr= ----------------------------------------------
def _set_attr(out, attr):
    if attr and isinstance(out, Symbol) and len(out._entries) == 1:
        out._entries[0][0].meta.setdefault("attr", {}).update(
            {k: str(v) for k, v in attr.items()})


def _named(fn, hint):
    """``fn`` taking MXNet's ``name=``/``attr=``: the node it makes gets the name."""
    single = getattr(fn, "op", None) is not None  # a registry op: exactly one node

    def call(*args, name=None, attr=None, **kwargs):
        tracer = STATE.tracer
        if not isinstance(tracer, SymbolicTracer):
            return fn(*args, **kwargs)
        if single:
            tracer.pending = (name, hint)
            try:
                out = fn(*args, **kwargs)
            finally:
                tracer.pending = None
        else:
            out = _call_composite(tracer, fn, hint, name, args, kwargs)
        _set_attr(out, attr)
        return out
    call.__name__ = getattr(fn, "__name__", hint)
    call.__doc__ = fn.__doc__
    return call


def _call_composite(tracer, fn, hint, name, args, kwargs):
    """A kiln function written in Python over registry ops (``moveaxis``, ``concatenate``...):
    its result node takes the name; a result that is an input unchanged becomes a named
    identity node so the graph keeps one node per call, as MXNet's. (``Dropout`` is a registry
    op whose public function carries ``.op``: it takes the single-node path above and makes
    MXNet's ``Dropout`` node, ``dropout0_fwd``.)"""
    mark = next(_ids)
    out = fn(*args, **kwargs)
    if not (isinstance(out, Symbol) and len(out._entries) == 1):
        return out
    node = out._entries[0][0]
    if node.id < mark or node.kind != "op":
        tracer.pending = (name, hint)
        try:
            return _registry.OPS["identity"].func(out)
        finally:
            tracer.pending = None
    node.name = tracer.given_name(name) if name else tracer.auto_name(hint)
    return out


class _Namespace(types.ModuleType):
    """``F`` of a symbolic call: ``kiln.nd``'s functions (and sub-namespaces such as
    ``contrib``) taking ``name=``/``attr=``, plus ``kiln.sym``'s ``Symbol``/``var``/``Group``."""

    def __init__(self, module, hint_prefix=""):
        super().__init__(getattr(module, "__name__", "F"))
        self._module, self._hint_prefix = module, hint_prefix
        self._cache = {}

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        hit = self._cache.get(attr)
        if hit is None:
            hit = self._cache[attr] = self._wrap(attr)
        return hit

    def _wrap(self, attr):
        if not self._hint_prefix and attr in _FROM_SYM:
            return _FROM_SYM[attr]
        value = getattr(self._module, attr)
        if isinstance(value, types.ModuleType):
            prefix = "_random_" if attr == "random" else ""
            return _Namespace(value, prefix)
        if callable(value) and not isinstance(value, type):
            hint = self._hint_prefix + _FUNCTION_HINTS.get(attr, attr.lower())
            return _named(value, hint)
        return value

    def __dir__(self):
        return dir(self._module)


_FROM_SYM = {"Symbol": Symbol, "var": var, "Variable": Variable, "Group": Group, "load": load,
             "load_json": load_json}
F = _Namespace(_nd)
