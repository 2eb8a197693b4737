"""Read an ONNX model into a kiln Symbol built from registry ops.

Float initializers become parameters (``arg_params``; BatchNormalization's mean/variance become
``aux_params``); Constant nodes, integer initializers and anything computed only from them (the
``Shape -> Gather -> Concat -> Reshape`` patterns, with static input shapes) are evaluated at
import time and used as attribute values or graph constants.

Example::

    >>> sym, arg_params, aux_params = import_model("net.onnx")
    >>> out = sym.eval(data=x, **arg_params, **aux_params)
"""
import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..base import MXNetError
from ..ndarray import _registry
from ..ndarray.ndarray import NDArray
from ..symbol.graph import Node, hashable
from ..symbol.symbol import Symbol
from .onnx_import_ops import CONVERTERS
from .onnx_import_shape import track
from .onnx_passes import value_types


class Importer:
    """State while converting one graph: tensors, static values, parameters."""

    def __init__(self, model):
        self.model = model
        self.types = value_types(model)
        self.inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        self.static = {k: v for k, v in self.inits.items() if v.dtype.kind != "f"}
        self.entries, self.params, self.aux = {}, {}, set()
        self.symdims = {}   # symbolic shape tensors (see onnx_import_shape)

    # ---- tensors ----
    def shape(self, name):
        t = self.types.get(name)
        if t is None or t[1] is None or None in t[1]:
            raise MXNetError(f"ONNX import: the shape of {name!r} must be static here")
        return tuple(t[1])

    def rank(self, name):
        if name in self.static:
            return self.static[name].ndim
        t = self.types.get(name)
        if t is None or t[1] is None:
            raise MXNetError(f"ONNX import: the rank of {name!r} must be known here")
        return len(t[1])

    def value(self, name, required=True):
        """The constant value of a tensor (initializer, Constant or folded), or None."""
        if name in self.static:
            return self.static[name]
        if name in self.inits:
            return self.inits[name]
        if required:
            raise MXNetError(f"ONNX import: {name!r} must be a constant (shape, axes, pads...)")
        return None

    def t(self, name, scalar_ok=False):
        """An entry (or a literal scalar) for tensor ``name``."""
        if not name:
            return None
        if name in self.entries:
            return self.entries[name]
        if name in self.static:
            v = self.static[name]
            if scalar_ok and v.ndim == 0 and v.dtype.kind == "f":
                return float(v)
            node = Node("const", value=v, name=_clean(name))
        elif name in self.inits:
            v = self.inits[name]
            if scalar_ok and v.ndim == 0:
                return float(v)
            node = Node("var", name=_clean(name), meta={"shape": v.shape, "dtype": v.dtype})
            self.params[node.name] = v
        else:
            raise MXNetError(f"ONNX import: tensor {name!r} is used before it is produced")
        self.entries[name] = (node, 0)
        return self.entries[name]

    def mark_aux(self, name):
        entry = self.t(name)
        if entry[0].kind == "var":
            entry[0].meta["aux"] = True
            self.aux.add(entry[0].name)
        return entry

    def op(self, onnx_node, op_name, inputs, **attrs):
        """A kiln op node; returns its first output entry."""
        op = _registry.get(op_name)
        full = {k: hashable(attrs.get(k, v)) for k, v in op.attrs.items()}
        missing = [k for k, v in full.items() if v is _registry.REQUIRED]
        if missing:
            raise MXNetError(f"ONNX import: {op_name} needs {missing}")
        name = _clean(onnx_node.output[0] or onnx_node.name)
        name = name[:-len("_output")] if name.endswith("_output") else name
        node = Node("op", op, tuple(inputs), full, name=name)
        return (node, 0)


def _clean(name):
    return name.replace("/", ".").replace(":", "_")


def _fold(model, node, imp):
    """Evaluate a node whose inputs are all static values."""
    from onnx.reference import ReferenceEvaluator
    if node.op_type == "Shape":
        shape = np.asarray(imp.shape(node.input[0]), np.int64)
        start = next((a.i for a in node.attribute if a.name == "start"), 0)
        end = next((a.i for a in node.attribute if a.name == "end"), len(shape))
        return [shape[start:end]]
    ins = [i for i in node.input if i]
    inits = [numpy_helper.from_array(np.asarray(imp.value(i)), i) for i in dict.fromkeys(ins)]
    outs = [helper.make_value_info(o, onnx.TypeProto()) for o in node.output]
    graph = helper.make_graph([node], "fold", [], outs, initializer=inits)
    m = helper.make_model(graph, opset_imports=list(model.opset_import))
    return [np.asarray(r) for r in ReferenceEvaluator(m).run(None, {})]


def _is_static(imp, node):
    if node.op_type == "Shape":
        t = imp.types.get(node.input[0])
        return t is not None and t[1] is not None and None not in t[1]
    if node.op_type == "Constant":
        return True
    ins = [i for i in node.input if i]
    return bool(ins) and all(i in imp.static for i in ins)


def import_model(model_or_path):
    """``(sym, arg_params, aux_params)`` from an ONNX file or ModelProto.

    Raises MXNetError listing every ONNX operator kiln cannot convert.
    """
    model = onnx.load(model_or_path) if not isinstance(model_or_path, onnx.ModelProto) \
        else model_or_path
    imp = Importer(model)
    graph = model.graph
    bad = sorted({n.op_type for n in graph.node if n.op_type not in CONVERTERS and
                  n.op_type not in ("Constant", "Shape")})
    if bad:
        raise MXNetError(f"ONNX import: unsupported operator(s) {bad}")
    for vi in graph.input:
        if vi.name in imp.inits:
            continue
        tt = vi.type.tensor_type
        shape = tuple(d.dim_value if d.HasField("dim_value") else 0 for d in tt.shape.dim)
        dtype = helper.tensor_dtype_to_np_dtype(tt.elem_type)
        node = Node("var", name=vi.name, meta={"shape": shape, "dtype": dtype, "input": True})
        imp.entries[vi.name] = (node, 0)
    for node in graph.node:
        if _is_static(imp, node):
            if node.op_type == "Constant":
                vals = [numpy_helper.to_array(node.attribute[0].t)] \
                    if node.attribute[0].name == "value" else _fold(model, node, imp)
            else:
                vals = _fold(model, node, imp)
            imp.static.update(zip(node.output, vals))
            continue
        if track(imp, node):
            continue
        try:
            outs = CONVERTERS[node.op_type](imp, node)
        except MXNetError:
            raise
        except Exception as e:
            raise MXNetError(f"ONNX import: cannot convert {node.op_type} node "
                             f"{node.name or node.output[0]!r}: {e}") from e
        outs = [outs] if isinstance(outs, tuple) and len(outs) == 2 and \
            isinstance(outs[0], Node) else list(outs)
        for name, entry in zip(node.output, outs):
            if name:
                imp.entries[name] = entry
    entries = [imp.t(o.name) for o in graph.output]
    sym = Symbol(entries)
    used = set(sym.list_inputs())
    arg = {k: NDArray(v) for k, v in imp.params.items() if k in used and k not in imp.aux}
    aux = {k: NDArray(v) for k, v in imp.params.items() if k in used and k in imp.aux}
    return sym, arg, aux


__all__ = ["import_model"]
