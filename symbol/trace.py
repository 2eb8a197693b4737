"""Tracing: the registry's dispatch hands op calls on Symbols here, and they become graph nodes.

``Tracer`` is installed as ``STATE.tracer`` while a hybridized block's ``forward`` runs on
symbolic inputs; it also maps Parameters to graph variables and tracks the block path.
"""
from contextlib import contextmanager

import numpy as np

from ..base import OpError, describe_args, user_frame
from ..ndarray._registry import STATE, Aval
from ..ndarray.ndarray import NDArray
from . import control_flow
from .graph import Node, TraceScope, hashable, tracing  # noqa: F401 - tracing: re-exported
from .mx_names import auto_name, method_hint, op_hint
from .symbol import Symbol, to_np_inplace


class Tracer(TraceScope):
    """Collects the graph of one traced call."""

    def __init__(self, ctx, training=False):
        super().__init__(ctx)
        self.training = training
        self.params = {}        # id(Parameter) -> (Parameter, Symbol)
        self.inputs = []        # var Nodes for the data inputs, in order
        # MXNet 1.9's node names, kept beside kiln's for op hooks (``mx_name`` in node.meta):
        # (prefix, counters) per block call, the ``name=`` of the op call being traced, and
        # structural path -> block prefix (set by CachedGraph before tracing)
        self.mx_scopes, self.mx_pending, self.mx_prefixes = [("", {})], None, {}

    def input(self, name, aval, like=None):
        """A data input; np-flavoured when the array it stands for (``like``) is a kiln.np one."""
        node = Node("var", name=name, avals=(aval,), meta={"input": True})
        self.inputs.append(node)
        sym = Symbol([(node, 0)])
        return to_np_inplace(sym) if getattr(like, "_is_np", False) else sym

    def param_value(self, param):
        """The graph variable standing for ``param`` (one per parameter per trace)."""
        hit = self.params.get(id(param))
        if hit is None:
            prev, STATE.tracer = STATE.tracer, None
            try:
                data = param.data(self.ctx)
            finally:
                STATE.tracer = prev
            aval = Aval(tuple(data.shape), np.dtype(data.dtype))
            node = Node("var", name=param.name, avals=(aval,),
                        meta={"param": param, "aux": param.grad_req == "null"
                              and not getattr(param, "_differentiable", True)})
            sym = Symbol([(node, 0)])
            if getattr(data, "_is_np", False):  # Parameters made in np mode trace as np values
                to_np_inplace(sym)
            hit = self.params[id(param)] = (param, sym)
        return hit[1]

    @contextmanager
    def in_block(self, path):
        """Attribute the nodes traced inside to block ``path`` (a full dotted path)."""
        self.mx_scopes.append((self.mx_prefixes.get(path, ""), {}))
        try:
            with super().in_block(path):
                yield
        finally:
            self.mx_scopes.pop()

    def mx_name(self, op, inputs):
        """MXNet's name for the node being made: the block prefix plus the op call's ``name=``
        (``dense0_fwd``) or an automatic ``<hint><n>`` counted per block call."""
        prefix, counts = self.mx_scopes[-1]
        given, self.mx_pending = self.mx_pending, None
        if given:
            return prefix + given
        hint = op_hint(op, inputs)
        k = counts.get(hint, 0)
        counts[hint] = k + 1
        return f"{prefix}{hint}{k}"


def const_entry(arr):
    """A captured NDArray becomes a constant node."""
    data = arr._data
    return (Node("const", value=data, avals=(Aval(tuple(data.shape), np.dtype(data.dtype)),)),
            0)


def _aval_of(x):
    if type(x) is tuple:
        node, i = x
        return None if node.avals is None else node.avals[i]
    return x


def trace_op(op, args, attrs):
    """Append ``op(args, attrs)`` to the graph; return its output Symbol(s).

    ``nd.contrib.foreach``/``while_loop``/``cond`` on traced values arrive here too (``op`` is
    then their ``ndarray/control_flow.Call`` marker): they become one node holding subgraphs."""
    if getattr(op, "control_flow", False):
        return control_flow.trace_call(op.name, args, attrs)
    tracer = STATE.tracer
    inputs = []
    for a in args:
        if isinstance(a, Symbol):
            inputs.append(a._entry())
        elif isinstance(a, NDArray):
            inputs.append(const_entry(a))
        elif isinstance(a, (list, tuple)):
            inputs.append(const_entry(NDArray(np.asarray(a, dtype=np.float32))))
        else:
            inputs.append(a.item() if isinstance(a, np.generic) else a)
    attrs = {k: hashable(v) for k, v in attrs.items()}
    if op.uses_mode and (tracer is None or tracer.records_mode):
        attrs["_train"] = STATE.training
    source = user_frame()
    block = tracer.block_path() if tracer is not None else ""
    avals = _infer(op, inputs, attrs, block, source)
    name = tracer.node_name(op, inputs) if tracer is not None else auto_name(
        method_hint(op, inputs))
    node = Node("op", op, inputs, attrs, name=name, avals=avals, block=block, source=source)
    if isinstance(tracer, Tracer):
        node.meta["mx_name"] = tracer.mx_name(op, inputs)
    n = node.num_outputs
    is_np = any(getattr(a, "_is_np", False) for a in args)
    if n > 1 and tracer is None and not is_np:
        # a method on a plain graph (``data.split(...)``): one Symbol grouping the outputs, as
        # MXNet's (and kiln.sym's functions) return; it indexes and unpacks like the list
        return Symbol([(node, i) for i in range(n)])
    outs = [Symbol([(node, i)]) for i in range(n)]
    if is_np:  # np in, np out, as eager np code
        outs = [to_np_inplace(o) for o in outs]
    return outs[0] if n == 1 else outs


def _infer(op, inputs, attrs, block, source):
    in_avals = [_aval_of(i) for i in inputs]
    if any(type(i) is tuple and a is None for i, a in zip(inputs, in_avals)):
        return None  # some input shape unknown (kiln.sym without shapes): infer later
    if op.uses_mode and "_train" not in attrs:  # a symbolic call leaves the mode open
        attrs = dict(attrs, _train=False)
    try:
        out = op.infer(*in_avals, **attrs)
    except Exception as e:
        shown = {k: v for k, v in attrs.items() if not k.startswith("_")}
        err = OpError(f"{op.name}: {str(e).splitlines()[0] if str(e) else type(e).__name__} "
                      f"(input shapes {describe_args(in_avals)}, attrs {shown}) at "
                      f"{source or '?'}")
        # the blocks the error leaves name themselves (nn/_block_utils._name_block_in), with
        # this node's structural path resolved below the hybridized block
        err.graph_block = block or ""
        raise err from e
    return (out,) if isinstance(out, Aval) else tuple(out)
