"""Mixed-precision conversion of a trained float32 model, for inference (MXNet's
``convert_symbol``, ``convert_model``, ``convert_hybrid_block``).

The graph is replayed op by op through the dispatch point with the mixed-precision cast
installed, so the new graph has the same ``amp_cast``/``amp_multicast`` nodes that
``amp.init()`` puts into a traced graph; the original graph is not changed.
"""
import numpy as np

from ..base import MXNetError
from ..ndarray import NDArray, _registry
from ..ndarray.ops.amp_ops import Policy
from ..nn.block import HybridBlock
from ..nn.symbol_block import SymbolBlock, block_graph
from ..symbol.evaluate import public_attrs
from ..symbol.graph import Node, is_entry, topo_order
from ..symbol.symbol import Symbol
from .lists import build_rules, check_target


def convert_symbol(sym, target_dtype="float16", target_dtype_ops=None, fp32_ops=None,
                   conditional_fp32_ops=None, excluded_sym_names=None, data_names=None,
                   cast_optional_params=False):
    """A copy of the float32 graph ``sym`` with mixed-precision casts added.

    The op lists default to the registry's (``amp.list_lp16_ops`` ...); ``excluded_sym_names``
    names nodes left in their original precision; ``data_names`` the graph inputs that are
    data (default: the variables without a dtype attribute, i.e. all); with
    ``cast_optional_params`` the parameters read only through a cast to ``target_dtype`` get
    that dtype themselves (``__dtype__`` attribute), halving their memory.

    Example::

        >>> fp16 = amp.convert_symbol(net_sym)   # Convolution/FullyConnected in float16
    """
    if not isinstance(sym, Symbol):
        raise TypeError(f"kiln.amp.convert_symbol: expected a Symbol, got {type(sym).__name__}")
    dtype = check_target(target_dtype)
    rules = build_rules(target_dtype_ops, conditional_fp32_ops, fp32_ops)
    excluded = frozenset(excluded_sym_names or ())
    current = [None]
    policy = Policy(dtype, rules, excluded=lambda op: current[0] in excluded)
    prev = _registry.set_amp(policy)
    try:
        entries, variables = _replay(sym._entries, current)
    finally:
        _registry.set_amp(prev)
    if cast_optional_params:
        data = set(data_names) if data_names is not None else set()
        _cast_params(entries, variables, data, dtype)
    return Symbol(entries)


def _replay(entries, current):
    """Call every op of the graph again on Symbols (new variable nodes, same names)."""
    values, variables = {}, {}
    for node in topo_order(entries):
        if node.kind == "var":
            var = Node("var", name=node.name, avals=node.avals, meta=node.meta)
            variables[node.name] = var
            values[(node.id, 0)] = Symbol([(var, 0)])
            continue
        if node.kind == "const":
            values[(node.id, 0)] = NDArray(node.value)
            continue
        args = [values[(i[0].id, i[1])] if is_entry(i) else i for i in node.inputs]
        current[0] = node.name
        res = node.op.func(*args, **public_attrs(node))
        current[0] = None
        outs = [res] if node.num_outputs == 1 else list(res)
        for k, out in enumerate(outs):
            values[(node.id, k)] = out
        _keep_name(node, outs[0])
    return [values[(n.id, i)]._entry() for n, i in entries], variables


def _keep_name(old, out):
    """The new node keeps the old one's name, block path and line (error messages, JSON)."""
    new = out._entries[0][0] if isinstance(out, Symbol) else None
    if new is not None and new.kind == "op" and new.op is old.op:
        new.name, new.block, new.source = old.name, old.block, old.source
        new.meta.update({k: v for k, v in old.meta.items() if k not in new.meta})


def _cast_params(entries, variables, data, dtype):
    """Variables (not data) whose every consumer casts them to ``dtype`` take ``dtype``."""
    consumers = {}
    for node in topo_order(entries):
        for i in node.inputs:
            if is_entry(i) and i[0].kind == "var":
                consumers.setdefault(i[0].name, []).append(node)
    for name, var in variables.items():
        users = consumers.get(name, [])
        if name in data or not users or var.meta.get("aux"):
            continue
        if all(u.kind == "op" and u.op.name == "amp_cast" and
               np.dtype(u.attrs.get("dtype")) == dtype for u in users):
            var.meta["dtype"] = dtype.name
            var.meta["__dtype__"] = dtype.name
            if var.avals is not None:
                var.avals = tuple(type(a)(a.shape, dtype) for a in var.avals)


def param_dtype(sym, name):
    """The dtype ``convert_symbol(cast_optional_params=True)`` gave variable ``name``, or
    None."""
    for node in topo_order(sym._entries):
        if node.kind == "var" and node.name == name:
            d = node.meta.get("__dtype__")
            return np.dtype(d) if d else None
    return None


def convert_model(sym, arg_params, aux_params, target_dtype="float16", target_dtype_ops=None,
                  fp32_ops=None, conditional_fp32_ops=None, excluded_sym_names=None,
                  cast_optional_params=False):
    """``(symbol, arg_params, aux_params)`` of the mixed-precision model: the converted graph
    and the parameter dicts, parameters cast where ``cast_optional_params`` chose it."""
    if not isinstance(arg_params, dict) or not isinstance(aux_params, dict):
        raise TypeError("kiln.amp.convert_model: arg_params and aux_params must be dicts of "
                        "name -> NDArray")
    if excluded_sym_names is not None and not isinstance(excluded_sym_names, list):
        raise ValueError("kiln.amp.convert_model: excluded_sym_names must be a list of node "
                         f"names, got {type(excluded_sym_names).__name__}")
    names = set(arg_params) | set(aux_params)
    data_names = [n for n in sym.list_inputs() if n not in names]
    out = convert_symbol(sym, target_dtype, target_dtype_ops, fp32_ops, conditional_fp32_ops,
                         excluded_sym_names, data_names, cast_optional_params)
    arg_params, aux_params = dict(arg_params), dict(aux_params)
    for params in (arg_params, aux_params):
        for name, value in params.items():
            d = param_dtype(out, name)
            if d is not None and np.dtype(value.dtype) != d:
                params[name] = value.astype(d)
    return out, arg_params, aux_params


def convert_hybrid_block(block, target_dtype="float16", target_dtype_ops=None, fp32_ops=None,
                         conditional_fp32_ops=None, excluded_sym_names=None, ctx=None,
                         cast_optional_params=False):
    """A ``SymbolBlock`` that runs ``block`` (hybridized and called once) in mixed precision,
    for inference. Its parameters are copies of ``block``'s (float32, or ``target_dtype``
    where ``cast_optional_params`` allows).

    Example::

        >>> net.hybridize(); net(x)
        >>> fp16_net = amp.convert_hybrid_block(net)
        >>> fp16_net(x)          # convolutions and dense layers compute in float16
    """
    if not isinstance(block, HybridBlock):
        raise TypeError("kiln.amp.convert_hybrid_block: expected a HybridBlock, got "
                        f"{type(block).__name__}")
    try:
        sym, params, input_names = block_graph(block)
    except MXNetError as e:
        raise RuntimeError("kiln.amp.convert_hybrid_block: call block.hybridize() and run it "
                           "once before converting it") from e
    converted = convert_symbol(sym, target_dtype, target_dtype_ops, fp32_ops,
                               conditional_fp32_ops, excluded_sym_names, input_names,
                               cast_optional_params)
    variables = {n.name: n for n in topo_order(converted._entries) if n.kind == "var"}
    ret = SymbolBlock(converted, [Symbol([(variables[n], 0)]) for n in input_names])
    for local, full in ret._var_of.items():
        value = params[full][0]
        d = param_dtype(converted, full)
        p = ret._reg_params[local]
        if d is not None:
            value = value.astype(d)
        p.cast(value.dtype)
        p._load_init(value, ctx if ctx is not None else value.context)
    return ret
