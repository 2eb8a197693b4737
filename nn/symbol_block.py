"""SymbolBlock (a graph as a block) and ``HybridBlock.export`` in MXNet 1.x's file formats.

``export(path, epoch)`` writes ``path-symbol.json`` (MXNet graph JSON) and ``path-%04d.params``
(MXNet's binary NDArray list, keys ``arg:<name>`` / ``aux:<name>`` with the parameters' full
names, ``arg:dense0_weight``, as MXNet 1.9 writes them); ``SymbolBlock.imports`` reads them
back, including files written by MXNet 1.x itself.

Example::

    >>> net.hybridize(); net(x); net.export("model")        # model-symbol.json, model-0000.params
    >>> net2 = SymbolBlock.imports("model-symbol.json", ["data"], "model-0000.params")
"""
import os

import numpy as np

from .. import ndarray as nd
from ..base import FileFormatError, MXNetError, atomic_write
from ..ndarray._registry import STATE
from ..symbol import api as sym_api
from ..symbol import passes
from ..symbol.cached import CachedGraph
from ..symbol.evaluate import evaluate
from ..symbol.graph import Node, topo_order
from ..symbol.mxnet_json import _mark_aux, symbol_to_json
from ..symbol.symbol import Group, Symbol
from .block import HybridBlock
from .parameter import Parameter, ParameterError

__all__ = ["SymbolBlock", "export_block", "export_onnx", "block_graph"]

# a graph variable's __storage_type__ attribute for row_sparse (MXNet's storage-type id)
_ROW_SPARSE = str(nd.ndarray._STORAGE_TYPE_STR_TO_ID["row_sparse"])


class SymbolBlock(HybridBlock):
    """Wrap a graph (``outputs`` computed from the variables ``inputs``) as a HybridBlock.

    Every other variable becomes a Parameter named like the variable (``collect_params()`` keys),
    the graph's arguments first, then its auxiliary states (BatchNorm's moving statistics,
    ``grad_req='null'``), as in MXNet 1.9. ``params`` (a ParameterDict or dict) supplies
    existing Parameters by name. As in MXNet, ``save_parameters`` keys are the names less
    their common prefix (``conv0_weight`` for ``resnet_conv0_weight``).
    """

    def __init__(self, outputs, inputs, params=None):
        super().__init__(prefix="", params=None)
        outputs = outputs if isinstance(outputs, Symbol) else Group(list(outputs))
        inputs = [inputs] if isinstance(inputs, Symbol) else list(inputs)
        self._graph = outputs
        self._input_names = [s.name for s in inputs]
        nodes = topo_order(outputs._entries)
        _mark_aux(outputs._entries)
        var_names = [n.name for n in nodes if n.kind == "var"]
        missing = [n for n in self._input_names if n not in var_names]
        if missing:
            raise MXNetError(f"SymbolBlock inputs {missing} are not variables of the graph "
                             f"(its variables: {var_names})")
        given = dict(params.items()) if params is not None else {}
        by_name = {p.name: p for p in given.values()}
        owned = [n for n in nodes if n.kind == "var" and n.name not in self._input_names]
        owned = ([n for n in owned if not n.meta.get("aux")]
                 + [n for n in owned if n.meta.get("aux")])
        made = {}
        for node in owned:
            if (node.meta or {}).get("attr", {}).get("__storage_type__") == _ROW_SPARSE:
                raise ParameterError(f"SymbolBlock doesn't support Parameter '{node.name}' "
                                     f"because its storage type is 'row_sparse'.")
            p = by_name.get(node.name) or given.get(node.name)
            if p is None:
                aux = bool(node.meta.get("aux"))
                shape = (node.meta or {}).get("shape")
                p = Parameter(node.name, grad_req="null" if aux else "write",
                              shape=tuple(shape) if shape else None, allow_deferred_init=True)
            p._prefixed = True
            made[node.name] = p
        cut = len(os.path.commonprefix(list(made))) if len(made) > 1 else 0
        self._var_of = {}   # registered (local) name -> graph variable name
        for name, p in made.items():
            self._register_param(name[cut:], p)
            self._var_of[name[cut:]] = name

    def forward(self, *args):
        if len(args) != len(self._input_names):
            raise MXNetError(f"SymbolBlock takes {len(self._input_names)} inputs "
                             f"{self._input_names}, got {len(args)}")
        ctx = next((a.context for a in args if isinstance(a, nd.NDArray)), None)
        feed = dict(zip(self._input_names, args))
        for local, name in self._var_of.items():
            feed[name] = self._reg_params[local].data(ctx)
        outs = evaluate(self._graph._entries, feed)
        return outs[0] if len(outs) == 1 else outs

    def infer_shape(self, *args):
        shapes = {n: a.shape for n, a in zip(self._input_names, args)}
        dtypes = {n: np.dtype(a.dtype) for n, a in zip(self._input_names, args)}
        known = sym_api.infer_avals(self._graph, shapes, dtypes, partial=True)
        by_var = {name: self._reg_params[local] for local, name in self._var_of.items()}
        for node in topo_order(self._graph._entries):
            p = by_var.get(node.name) if node.kind == "var" else None
            av = known.get((node.id, 0))
            if p is not None and av is not None and (p.shape is None or 0 in p.shape
                                                     or -1 in p.shape):
                p.shape = tuple(av.shape)

    @staticmethod
    def from_onnx(model_or_path, ctx=None):
        """An ONNX model (path, bytes or ModelProto) as a SymbolBlock with trainable parameters.

        Graph inputs keep their ONNX names; BatchNorm statistics become ``grad_req='null'``
        parameters. A file kiln cannot import raises ``FileFormatError`` naming it;
        ``kiln.export.onnx.import_symbol`` gives MXNet's ``(sym, arg_params, aux_params)``.

        Example::

            >>> net = SymbolBlock.from_onnx("model.onnx")
            >>> y = net(nd.ones((1, 3, 32, 32)))
        """
        from ..export.onnx import import_symbol
        sym, arg_params, aux_params = import_symbol(model_or_path)
        values = {**arg_params, **aux_params}
        # positional inputs in the file's graph.input order (the importer records it), not
        # in order of first use: Sub(b, a) with inputs [a, b] must not swap them
        nodes = sorted((n for n in topo_order(sym._entries)
                        if n.kind == "var" and n.name not in values),
                       key=lambda n: n.meta.get("input_index", 0))
        inputs = [Symbol([(n, 0)]) for n in nodes]
        block = SymbolBlock(sym, inputs)
        for name, p in block.collect_params().items():
            if name in values:
                p.shape = tuple(values[name].shape)
                p.initialize(ctx=ctx)
                p.set_data(values[name])
        return block

    @staticmethod
    def imports(symbol_file, input_names, param_file=None, ctx=None, allow_missing=False,
                ignore_extra=False):
        """Load ``*-symbol.json`` (+ ``.params``) written by ``export`` or by MXNet 1.x."""
        from .. import symbol as sym
        graph = sym.load(symbol_file, predict_outputs=True)  # inputs: the data, no labels
        if isinstance(input_names, str):
            input_names = [input_names]
        inputs = [sym.var(n) for n in input_names]
        try:
            block = SymbolBlock(graph, inputs)
        except MXNetError as e:   # the file's graph does not fit input_names
            raise FileFormatError(os.fspath(symbol_file), str(e)) from None
        if param_file is not None:
            # MXNet 1.9: parameters take the saved dtypes (a float16 export stays float16)
            block.collect_params().load(param_file, ctx=ctx, allow_missing=allow_missing,
                                        ignore_extra=ignore_extra, cast_dtype=True,
                                        dtype_source="saved")
        return block


def block_graph(block, *example_inputs):
    """The block's predict-mode graph as ``(symbol, params, input_names)``.

    Graph inputs are named ``data`` (or ``data0``, ``data1``...), parameters by their full
    names (``hybridsequential0_dense0_weight``, the ``collect_params()`` keys) as MXNet 1.9's
    export does; ``params`` maps those names to ``(NDArray, is_aux)``. Without example
    inputs, the block's last hybridized call signature is used.
    """
    cg = getattr(block, "_cached_op", None)
    if example_inputs:
        if any(p._data is None for p in block.collect_params().values()):
            block(*example_inputs)  # completes deferred initialization
        cg = CachedGraph(block)
        cg.last_args, cg.last_ctx = example_inputs, _ctx_of(example_inputs)
    elif cg is None or not cg.entries:
        raise MXNetError(f"export(): call {block.name} once after hybridize() so its graph is "
                         "known (net.hybridize(); net(x); net.export(path))")
    entry = cg.inference_entry()
    outputs = passes.optimize(entry.outputs, entry.xp)
    _mark_aux(outputs)
    names = {}
    inputs = entry.input_entries
    for k, (node, _) in enumerate(inputs):
        names[node.id] = "data" if len(inputs) == 1 else f"data{k}"
    # parameters are written under their collect_params() keys: MXNet's full names, made
    # unique where two parameters share one (see ParameterDict._add_collected)
    keys = {id(p): k for k, p in block.collect_params().items()}
    params = {}
    for node in topo_order(outputs):
        param = node.meta.get("param") if node.kind == "var" else None
        if param is not None:
            names[node.id] = keys.get(id(param), param.name)
            params[names[node.id]] = (param.data(entry.ctx).as_in_context(_cpu()),
                                      bool(node.meta.get("aux")))

    def rename(node, ins):
        if node.kind == "var" and node.id in names:
            meta = {k: v for k, v in node.meta.items() if k != "param"}
            return [(Node("var", name=names[node.id], avals=node.avals, meta=meta), 0)]
        return None
    symbol = Symbol(passes.rewrite(outputs, rename))
    return symbol, params, [names[n.id] for n, _ in inputs]


def _ctx_of(args):
    for a in args:
        if isinstance(a, nd.NDArray):
            return a.context
    return None


def export_block(block, path, epoch=0):
    """Write ``path-symbol.json`` and ``path-%04d.params`` for a hybridized, called block."""
    symbol, params, _ = block_graph(block)
    text, consts = symbol_to_json(symbol)
    arrays = {f"{'aux' if aux else 'arg'}:{name}": value for name, (value, aux) in
              params.items()}
    for name, value in consts.items():
        arrays[f"arg:{name}"] = nd.NDArray(np.asarray(value) if isinstance(
            value, np.ndarray) else value.get())
    sym_file, params_file = f"{path}-symbol.json", f"{path}-{epoch:04d}.params"
    atomic_write(sym_file, text.encode())
    nd.save(params_file, arrays)
    return sym_file, params_file


def export_onnx(block, path, *example_inputs, opset=None, dynamic_axes=None, input_names=None,
                output_names=None, verify=True, **kwargs):
    """Export ``block`` to ONNX (``net.export_onnx``); inputs may be arrays or shape tuples."""
    from ..export.onnx import export_model
    arrays = [nd.random.normal(shape=x) if isinstance(x, tuple) else x for x in example_inputs]
    symbol, params, names = block_graph(block, *arrays)
    if input_names:
        symbol = _rename_inputs(symbol, dict(zip(names, input_names)))
        if dynamic_axes:
            dynamic_axes = {dict(zip(names, input_names)).get(k, k): v
                            for k, v in dynamic_axes.items()}
        names = list(input_names)
    flat = {name: value for name, (value, _) in params.items()}
    return export_model(symbol, flat, in_shapes=[a.shape for a in arrays],
                        in_types=[np.dtype(a.dtype) for a in arrays], onnx_file_path=path,
                        opset=opset, dynamic_axes=dynamic_axes, input_names=names,
                        output_names=output_names, verify=verify, example_inputs=arrays,
                        **kwargs)


def _rename_inputs(symbol, mapping):
    def visit(node, ins):
        if node.kind == "var" and node.name in mapping:
            return [(Node("var", name=mapping[node.name], avals=node.avals, meta=node.meta), 0)]
        return None
    return Symbol(passes.rewrite(symbol._entries, visit))


def _cpu():
    from ..device import cpu
    return cpu()


_ = STATE
