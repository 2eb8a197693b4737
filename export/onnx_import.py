"""Read an ONNX model into a kiln Symbol built from registry ops.

A file that is not a valid ONNX model for kiln (unreadable, no graph, structure refused by
``onnx.checker``, an operator kiln cannot convert) raises ``FileFormatError`` naming it; a model
without inputs imports as its constant outputs (a block called with no arguments). Operators
whose output shape depends on the data (``DATA_DEPENDENT``) import only when their inputs are
constants; otherwise the error names the node and says how to cut the model before it.
Constant folding never materializes a value larger than ``max(FOLD_MIN_BYTES, the bytes of the
model's initializers)``: output sizes are inferred before anything is evaluated.

Float initializers become parameters (``arg_params``; BatchNormalization's mean/variance become
``aux_params``); Constant nodes, integer initializers and anything computed only from them (the
``Shape -> Gather -> Concat -> Reshape`` patterns, with static input shapes) are evaluated at
import time and used as attribute values or graph constants. With dynamic dims such chains
become MXNet reshape codes (onnx_import_shape.py; dims matched by ONNX's symbolic inference).
A shape-like operand that is a graph input (a Reshape's ``shape`` fed at run time) cannot be
a kiln attribute: ``specialize(model, feed)`` binds such inputs to their values, a model per
value. If/Loop/Scan bodies are inlined (loops unrolled) and operators that ONNX defines as
functions are expanded into their bodies when kiln has no converter of its own.

Example::

    >>> sym, arg_params, aux_params = import_model("net.onnx")
    >>> out = sym.eval(data=x, **arg_params, **aux_params)
"""
import math
import os

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..base import FileFormatError, MXNetError
from ..ndarray import _registry
from ..ndarray.ndarray import NDArray
from ..symbol.graph import Node, hashable
from ..symbol.symbol import Symbol
from .onnx_import_attention import CONVERTERS as _ATTENTION_CONVERTERS
from .onnx_import_control import CONVERTERS as _CONTROL_CONVERTERS
from .onnx_import_conv import CONVERTERS as _CONV_CONVERTERS
from .onnx_import_function import expand, expandable
from .onnx_import_grid import CONVERTERS as _GRID_CONVERTERS
from .onnx_import_index import CONVERTERS as _INDEX_CONVERTERS
from .onnx_import_math import CONVERTERS as _MATH_CONVERTERS
from .onnx_import_norm import CONVERTERS as _NORM_CONVERTERS
from .onnx_import_ops import CONVERTERS as _OP_CONVERTERS
from .onnx_import_pad import CONVERTERS as _PAD_CONVERTERS
from .onnx_import_pool import CONVERTERS as _POOL_CONVERTERS
from .onnx_import_quant import CONVERTERS as _QUANT_CONVERTERS
from .onnx_import_resize import CONVERTERS as _RESIZE_CONVERTERS
from .onnx_import_rnn import CONVERTERS as _RNN_CONVERTERS
from .onnx_import_shape import dim_symbols, kiln_shape, track
from .onnx_passes import value_types

CONVERTERS = {**_OP_CONVERTERS, **_CONV_CONVERTERS, **_RNN_CONVERTERS, **_MATH_CONVERTERS,
              **_INDEX_CONVERTERS, **_NORM_CONVERTERS, **_ATTENTION_CONVERTERS,
              **_PAD_CONVERTERS, **_RESIZE_CONVERTERS, **_POOL_CONVERTERS,
              **_QUANT_CONVERTERS, **_CONTROL_CONVERTERS, **_GRID_CONVERTERS}
FOLD_MIN_BYTES = 1 << 24
# operators whose output shape depends on the input values: imported when their inputs are
# constants (folded at import time), otherwise refused with the reason and a way around
DATA_DEPENDENT = ("NonZero", "Unique", "NonMaxSuppression", "Compress")


def _data_dependent(imp, n):
    raise MXNetError(
        f"ONNX import: {n.op_type} node {n.name or n.output[0]!r}: its output shape depends on "
        f"the input values, and a kiln graph has static shapes (it is traced, hybridized and "
        f"exported with them); import the part before it (onnx.utils.extract_model(src, dst, "
        f"input_names, output_names)) and run this step outside, e.g. in numpy or onnxruntime")


CONVERTERS.update({op: _data_dependent for op in DATA_DEPENDENT})
# folding these (convolutions, pooling) in onnx's reference evaluator costs more than running
# them: they stay graph nodes even when every input is constant
_NO_FOLD = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalMaxPool",
            "GlobalAveragePool", "BatchNormalization", "InstanceNormalization",
            "LayerNormalization"}
# outputs no larger than the inputs (a bound when shape inference cannot say)
_SIZE_KEEPING = {"Identity", "Cast", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose",
                 "Slice", "Neg", "Abs", "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Floor",
                 "Ceil", "Sign", "Not", "Erf", "Reciprocal", "Clip", "Softmax", "LogSoftmax",
                 "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd"}


class Importer:
    """State while converting one graph: tensors, static values, parameters."""

    def __init__(self, model, values=None):
        self.model = model
        # graph inputs read as constants (shape, axes, pads...) are bound from ``values``
        self.values, self.bound = dict(values or {}), []
        try:
            self.types = value_types(model)
        except Exception as e:   # onnx's shape inference refusing the graph
            raise MXNetError(f"ONNX import: shape inference fails: {e}") from None
        self.inits = {}
        for t in model.graph.initializer:
            try:
                self.inits[t.name] = numpy_helper.to_array(t)
            except Exception as e:   # onnx's decoding of a damaged tensor, in many ways
                raise MXNetError(f"ONNX import: initializer {t.name!r} cannot be read "
                                 f"({type(e).__name__}: {e})") from None
        self.limit = max(FOLD_MIN_BYTES, sum(v.nbytes for v in self.inits.values()))
        self.static = {k: v for k, v in self.inits.items() if v.dtype.kind != "f"}
        self.entries, self.params, self.aux = {}, {}, set()
        self.symdims = {}   # symbolic shape tensors (see onnx_import_shape)
        self._symbols = None
        self.consumed = set()   # tensors some node or graph output reads
        self.producer = {o: n for n in model.graph.node for o in n.output if o}
        # the default domain's opset: converters apply each op's semantics for this version
        self.opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                         default=1)

    # ---- tensors ----
    def shape(self, name, required=True):
        """The static shape of tensor ``name`` (ONNX's inference, else kiln's), or raise."""
        if name in self.static:
            return tuple(np.shape(self.static[name]))
        t = self.types.get(name)
        if t is not None and t[1] is not None and None not in t[1]:
            return tuple(t[1])
        shape = kiln_shape(self, name)
        if shape is None and required:
            raise MXNetError(f"ONNX import: the shape of {name!r} must be static here")
        return shape

    def rank(self, name):
        if name in self.static:
            return self.static[name].ndim
        t = self.types.get(name)
        if t is None or t[1] is None:
            shape = kiln_shape(self, name)
            if shape is None:
                raise MXNetError(f"ONNX import: the rank of {name!r} must be known here")
            return len(shape)
        return len(t[1])

    def value(self, name, required=True):
        """The constant value of a tensor (initializer, Constant or folded), or None."""
        if name in self.static:
            return self.static[name]
        if name in self.inits:
            return self.inits[name]
        if required and name in self.values:   # a graph input read as a constant: bind it
            v = np.asarray(self.values.pop(name))
            (self.inits if v.dtype.kind == "f" else self.static)[name] = v
            self.bound.append(name)
            return v
        if required and self._derive(name):   # computed from constants and bound inputs
            return self.static[name]
        if required:
            raise MXNetError(f"ONNX import: {name!r} must be a constant (shape, axes, pads...)")
        return None

    def dim_symbols(self):
        """tensor -> named dynamic dims (computed once, on the first dynamic Reshape)."""
        if self._symbols is None:
            self._symbols = dim_symbols(self.model)
        return self._symbols

    def _derive(self, name, depth=0):
        """Make ``name`` static by folding the nodes it is computed from (binding the graph
        inputs among them from ``values``); True when it worked."""
        if name in self.static or name in self.inits:
            return True
        if name in self.values:
            return self.value(name) is not None
        node = self.producer.get(name)
        if node is None or depth > 64 or node.op_type in _NO_FOLD or \
                node.op_type in ("If", "Loop", "Scan"):
            return False
        if node.op_type != "Shape" and \
                not all(self._derive(i, depth + 1) for i in node.input if i):
            return False
        if node.op_type == "Shape" and not _is_static(self, node):
            return False
        self.static.update(zip(node.output, _fold(self.model, node, self)))
        return name in self.static

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

    def check_bytes(self, nbytes, what):
        """Refuse to materialize more than ``self.limit`` bytes for ``what``."""
        if nbytes > self.limit:
            raise MXNetError(f"ONNX import: {what} would materialize {nbytes} bytes, more than "
                             f"the limit of {self.limit} (the model's initializers' size)")

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
    """Evaluate a node whose inputs are all static values (outputs' sizes checked first)."""
    from onnx.reference import ReferenceEvaluator
    if node.op_type == "Shape":
        shape = np.asarray(imp.shape(node.input[0]), np.int64)
        start = next((a.i for a in node.attribute if a.name == "start"), 0)
        end = next((a.i for a in node.attribute if a.name == "end"), len(shape))
        return [shape[start:end]]
    if node.op_type == "CastLike":
        from .onnx_import_math import dtype_of
        return [np.asarray(imp.static[node.input[0]]).astype(dtype_of(imp, node.input[1]))]
    ins = [i for i in node.input if i]
    inits = [numpy_helper.from_array(np.asarray(imp.value(i)), i) for i in dict.fromkeys(ins)]
    outs = [helper.make_value_info(o, onnx.TypeProto()) for o in node.output]
    graph = helper.make_graph([node], "fold", [], outs, initializer=inits)
    m = helper.make_model(graph, opset_imports=list(model.opset_import))
    imp.check_bytes(_folded_bytes(m, node, imp), f"folding constant node "
                                                 f"{node.name or node.output[0]!r}")
    try:
        return [np.asarray(r) for r in ReferenceEvaluator(m).run(None, {})]
    except Exception as e:   # onnx's reference evaluator, on values read from the file
        raise MXNetError(f"ONNX import: cannot evaluate constant node "
                         f"{node.name or node.output[0]!r} ({node.op_type}): "
                         f"{type(e).__name__}: {e}") from None


def _folded_bytes(m, node, imp):
    """The bytes a fold's outputs take, from ONNX shape inference (nothing is evaluated)."""
    try:
        inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True, data_prop=True)
        total = 0
        for vi in inferred.graph.output:
            tt = vi.type.tensor_type
            dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
            if not tt.HasField("shape") or None in dims or any(d < 0 for d in dims):
                raise ValueError("an output shape is not static")
            size = helper.tensor_dtype_to_np_dtype(tt.elem_type).itemsize
            total += math.prod(dims) * size
        return total
    except Exception as e:   # onnx's shape inference refusing the node, in many ways
        if node.op_type in _SIZE_KEEPING or node.op_type == "Compress":
            return sum(np.asarray(imp.value(i)).nbytes for i in node.input if i)
        if node.op_type in ("NonZero", "Unique"):   # int64 indices: at most rank (3) per item
            x = np.asarray(imp.value(node.input[0]))
            return x.nbytes + x.size * 8 * max(x.ndim, 3)
        raise MXNetError(f"ONNX import: cannot bound the size of constant node "
                         f"{node.name or node.output[0]!r} ({node.op_type}): {e}") from None


def _is_static(imp, node):
    # control flow is inlined (its body's nodes fold one by one): onnx's shape inference
    # cannot bound a Loop's outputs before evaluating it
    if node.op_type in _NO_FOLD or node.op_type in ("If", "Loop", "Scan"):
        return False
    if node.op_type == "Shape":
        return imp.shape(node.input[0], required=False) is not None
    if node.op_type == "CastLike":   # only the value is read; the other input gives the type
        return node.input[0] in imp.static
    if node.op_type == "Constant":
        return True
    ins = [i for i in node.input if i]
    return bool(ins) and all(i in imp.static for i in ins)


def import_model(model_or_path):
    """``(sym, arg_params, aux_params)`` from an ONNX file (path), its bytes, a binary file
    object or a ModelProto.

    Raises ``FileFormatError`` naming the file when it is unreadable, has no graph, fails
    ``onnx.checker``, uses ONNX operators kiln cannot convert (all listed), or
    would materialize constants beyond the folding limit.

    Example::

        >>> sym, arg_params, aux_params = import_model("net.onnx")
    """
    model, source = read_model(model_or_path)
    try:
        _check_model(model, source)
        return _import(model)
    except FileFormatError:
        raise
    except MXNetError as e:
        raise FileFormatError(source, str(e)) from None


def read_model(model_or_path):
    """``(ModelProto, source)`` from a path (external data loaded), bytes, a binary file object
    or a ModelProto; ``source`` names the file in messages. An unreadable file raises
    ``FileFormatError`` naming it; a missing one ``FileNotFoundError``."""
    if isinstance(model_or_path, onnx.ModelProto):
        return model_or_path, None
    if isinstance(model_or_path, (bytes, bytearray, memoryview)):
        source, blob = "<bytes>", bytes(model_or_path)
    elif hasattr(model_or_path, "read"):
        source, blob = str(getattr(model_or_path, "name", "<file object>")), model_or_path.read()
    elif isinstance(model_or_path, (str, os.PathLike)):
        source = os.fspath(model_or_path)
        with open(source, "rb") as f:   # a missing file is FileNotFoundError, as for open()
            blob = f.read()
    else:
        raise TypeError(f"import_model: expected a path, bytes, a file object or a ModelProto, "
                        f"got {type(model_or_path).__name__}")
    try:
        model = onnx.load_model_from_string(blob)
        if isinstance(model_or_path, (str, os.PathLike)):
            from onnx.external_data_helper import load_external_data_for_model
            load_external_data_for_model(model, os.path.dirname(os.path.abspath(source)))
    except Exception as e:   # protobuf and onnx report damaged files in many ways
        raise FileFormatError(source, f"not a readable ONNX model ({type(e).__name__}: "
                                      f"{e})") from None
    return model, source


def _check_model(model, source):
    """The structure kiln relies on, then onnx.checker's own checks."""
    graph = model.graph
    if not model.HasField("graph") or not graph.output:
        raise MXNetError("ONNX import: the model has no graph outputs (an empty or damaged "
                         "file?)")
    if not any(o.domain in ("", "ai.onnx") for o in model.opset_import):
        raise MXNetError("ONNX import: the model names no ai.onnx opset")
    try:
        if model.ByteSize() < (1 << 31) - (1 << 20):
            onnx.checker.check_model(model)
    except Exception as e:   # onnx.checker's ValidationError and its parsing errors
        raise MXNetError(f"ONNX import: onnx.checker refuses the model: "
                         f"{str(e).strip().splitlines()[0] if str(e).strip() else e!r}") \
            from None


def specialize(model, feed):
    """``model`` with the graph inputs that kiln reads as constants (a Reshape's ``shape``, a
    Slice's ``starts``, a Resize's ``scales`` given as graph inputs) replaced by initializers
    holding their values in ``feed``; ``(model, bound names)``. kiln's graphs have static
    semantics per op, so such a model is imported once per value of those inputs.

    Example::

        >>> m, bound = specialize(model, {"x": x, "shape": np.array([2, -1])})   # ["shape"]
    """
    model, _ = read_model(model)
    imp = Importer(model, values={k: v for k, v in feed.items()})
    try:
        _import(model, imp)
    except MXNetError:   # the bound model reports the same error when imported
        pass
    if not imp.bound:
        return model, []
    out = onnx.ModelProto()
    out.CopyFrom(model)
    keep = [vi for vi in out.graph.input if vi.name not in imp.bound]
    del out.graph.input[:]
    out.graph.input.extend(keep)
    out.graph.initializer.extend(numpy_helper.from_array(np.asarray(feed[k]), k)
                                 for k in imp.bound)
    return out, list(imp.bound)


def _import(model, imp=None):
    imp = imp or Importer(model)
    graph = model.graph
    bad = sorted({n.op_type for n in graph.node if n.op_type not in CONVERTERS and
                  n.op_type not in ("Constant", "Shape") and not expandable(imp, n)})
    if bad:
        raise MXNetError(f"ONNX import: unsupported operator(s) {bad}")
    for index, vi in enumerate(vi for vi in graph.input if vi.name not in imp.inits):
        tt = vi.type.tensor_type
        shape = tuple(d.dim_value if d.HasField("dim_value") else 0 for d in tt.shape.dim)
        try:
            dtype = helper.tensor_dtype_to_np_dtype(tt.elem_type)
        except Exception:   # onnx's KeyError for an unknown element type
            raise MXNetError(f"ONNX import: input {vi.name!r} has no known element "
                             f"type") from None
        # input_index: graph.input's order (a block's positional inputs), not first use
        node = Node("var", name=vi.name, meta={"shape": shape, "dtype": dtype, "input": True,
                                               "input_index": index})
        imp.entries[vi.name] = (node, 0)
    imp.consumed = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
    # If/Loop/Scan bodies are converted inline, node by node, through the same path
    imp.convert_node = lambda node: _convert(model, imp, node)
    for node in graph.node:
        _convert(model, imp, node)
    entries = [imp.t(o.name) for o in graph.output]
    sym = Symbol(entries)
    used = set(sym.list_inputs())
    arg = {k: NDArray(v) for k, v in imp.params.items() if k in used and k not in imp.aux}
    aux = {k: NDArray(v) for k, v in imp.params.items() if k in used and k in imp.aux}
    return sym, arg, aux


def _convert(model, imp, node):
    """Fold one node into static values, track it as a shape, or convert it to kiln ops."""
    if _is_static(imp, node):
        if node.op_type == "Constant":
            value = next((a for a in node.attribute if a.name == "value"), None)
            vals = [_tensor(value.t, node)] if value is not None else _fold(model, node, imp)
        else:
            vals = _fold(model, node, imp)
        imp.static.update(zip(node.output, vals))
        return
    try:
        if track(imp, node):
            return
        outs = CONVERTERS.get(node.op_type, expand)(imp, node)
    except MXNetError:
        raise
    except Exception as e:
        raise MXNetError(f"ONNX import: cannot convert {node.op_type} node "
                         f"{node.name or node.output[0]!r}: {e}") from e
    outs = [outs] if isinstance(outs, tuple) and len(outs) == 2 and \
        isinstance(outs[0], Node) else list(outs)
    missing = [o for o in node.output[len(outs):] if o and o in imp.consumed]
    if missing:
        raise MXNetError(f"ONNX import: {node.op_type} node {node.name or node.output[0]!r}: "
                         f"kiln does not produce its output(s) {missing} (used by the graph)")
    for name, entry in zip(node.output, outs):
        if name:
            imp.entries[name] = entry


def _tensor(t, node):
    try:
        return numpy_helper.to_array(t)
    except Exception as e:   # onnx's decoding of a damaged tensor
        raise MXNetError(f"ONNX import: the value of Constant node "
                         f"{node.name or node.output[0]!r} cannot be read ({e})") from None


__all__ = ["import_model", "read_model", "specialize"]
