"""float16 conversion for ``kiln.export.quantize(mode='fp16')``; why there is no bf16.

The conversion is onnxruntime's own ``onnxruntime.transformers.float16`` (the converter of
``onnxconverter-common``, shipped inside the onnxruntime wheel, so no new dependency): float
initializers and ops become float16, Cast nodes sit at the boundaries, ``keep_io_types`` keeps
the graph inputs/outputs float32. Two things were found by trying onnxruntime 1.32 (CPU):

* Its CPU provider registers float16 kernels mostly for data movement (Reshape, Transpose,
  Concat, Slice, Gather, LayerNormalization, ...), not for Conv, Gemm, MatMul or the
  activations: it runs those by inserting Casts to float32 itself (its InsertCastTransformer).
  An fp16 file is therefore half the size on the CPU and computes in float32 there; a GPU
  provider computes in float16. Results match float32 within float16 rounding.
* A float16 Transpose whose result reaches a MatMul (``Transpose -> Cast -> MatMul``, or
  ``Transpose -> MatMul`` where onnxruntime inserts that Cast itself) crashes onnxruntime's
  session creation (segfault, in its NchwcTransformer at the default ORT_ENABLE_ALL level):
  kiln's LSTM + Dense(flatten=False) export has it. Transpose is kept float32 (data movement:
  the Casts around it cost little, and the CPU computes in float32 anyway).
* Constant inputs of the ops kept float32 are still stored float16, behind a Cast that
  onnxruntime folds at load, so the file halves whatever is kept.

bfloat16: onnxruntime's CPU provider has no bfloat16 kernel for any compute op (Conv, Gemm,
MatMul, Relu, Add, ...) and, unlike float16, inserts no Casts for it: a bfloat16 model fails to
load with NOT_IMPLEMENTED. ``mode='bf16'`` raises ``ValueError`` saying so.

Example::

    >>> model16 = to_float16(onnx.load("net.onnx"), keep_io_types=True)
"""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

from .quantize_calib import ort_tools_path

# Ops kept float32, beyond the converter's own list (ML ops, NonMaxSuppression, TopK, Range,
# CumSum, Min/Max, ...): see the module docstring for Transpose.
KEEP_FLOAT32 = ("Transpose",)

BF16_UNSUPPORTED = (
    "mode='bf16': onnxruntime's CPU provider has no bfloat16 kernels for Conv, Gemm, MatMul, "
    "the activations or elementwise math (only data movement ops such as Reshape, Transpose, "
    "Concat, Gather, Slice), and it does not insert Casts for bfloat16 as it does for float16, "
    "so a bfloat16 model does not load there. Use mode='fp16' (half the file size, float32 "
    "compute on the CPU) or mode='static'/'dynamic' int8")


def to_float16(model, keep_io_types=True, keep_float32=(), min_cast_size=16):
    """A float16 copy of ``model`` (``onnx.ModelProto``); ``keep_float32``: more op types to keep
    float32. Constant float32 inputs of kept ops with at least ``min_cast_size`` elements are
    stored float16 and cast back to float32 in the graph (onnxruntime folds the Cast at load)."""
    DEFAULT_OP_BLOCK_LIST, convert_float_to_float16 = _converter()
    block = sorted(set(DEFAULT_OP_BLOCK_LIST) | set(KEEP_FLOAT32) | set(keep_float32))
    with ort_tools_path():
        model16 = convert_float_to_float16(model, keep_io_types=keep_io_types,
                                           op_block_list=block, disable_shape_infer=False)
    _halve_kept_weights(model16, set(block), min_cast_size)
    _sort_nodes(model16.graph)
    return model16


def _sort_nodes(graph):
    """Topological order (the converter appends its Casts at the end; onnx.checker wants every
    input produced before it is read). Stable: nodes keep their order where they can."""
    ready = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        rest = []
        for node in pending:
            if all(name in ready for name in node.input):
                ordered.append(node)
                ready.update(node.output)
            else:
                rest.append(node)
        if len(rest) == len(pending):   # a cycle or a dangling input: leave it to the checker
            ordered.extend(rest)
            break
        pending = rest
    del graph.node[:]
    graph.node.extend(ordered)


def _converter():
    # onnxruntime/transformers/__init__.py appends its own folder to sys.path (so its ~100
    # modules, `benchmark`, `constants`, ..., become importable top-level names): only while
    # onnxruntime's tools run (quantize_calib.ort_tools_path)
    with ort_tools_path():
        from onnxruntime.transformers import float16
    return float16.DEFAULT_OP_BLOCK_LIST, float16.convert_float_to_float16


def _halve_kept_weights(model, kept_ops, min_size):
    """float32 initializers read only by float32-kept ops -> float16 + Cast(to float32)."""
    graph = model.graph
    readers = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    outputs = {o.name for o in graph.output}
    casts = []
    for init in graph.initializer:
        users = readers.get(init.name, [])
        if (init.data_type != TensorProto.FLOAT or not users or init.name in outputs
                or any(u.op_type not in kept_ops for u in users)
                or int(np.prod(init.dims)) < min_size):
            continue
        name, half = init.name, init.name + "_fp16"
        init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16),
                                              half))
        casts.append(helper.make_node("Cast", [half], [name], to=TensorProto.FLOAT,
                                      name=half + "_cast"))
    graph.node.extend(casts)   # _sort_nodes puts them first
