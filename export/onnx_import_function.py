"""ONNX operators that kiln has no converter for but ONNX defines as a function: expanded.

Many ONNX operators (LinearAttention, RotaryEmbedding, CenterCropPad, AffineGrid, the
losses...) are specified by a function body of simpler operators, possibly depending on the
node's attributes and input types (a context-dependent function). Such a node is replaced by
its body (the function of the newest version not above the model's opset), with onnx's own
renaming of the body's tensors and attribute references, and each body node is converted as
usual, under the function's opset.

Example: ``CenterCropPad(x, shape)`` expands to the Shape/Slice/Pad nodes of its definition.
"""
import onnx
from onnx import helper

from ..base import MXNetError


def _schema(op_type, domain, opset):
    try:
        return onnx.defs.get_schema(op_type, opset, domain=domain)
    except Exception:   # onnx.defs.SchemaError: no such operator at this opset
        return None


def expandable(imp, n):
    s = _schema(n.op_type, n.domain, imp.opset)
    return s is not None and bool(s.function_opset_versions or
                                  s.context_dependent_function_opset_versions)


def _function(imp, n, schema):
    plain = [v for v in schema.function_opset_versions]
    context = [v for v in schema.context_dependent_function_opset_versions]
    best = max((v for v in plain + context if v <= imp.opset), default=None)
    if best is None:
        best = min(plain + context)
    fp = onnx.FunctionProto()
    if best in plain:
        fp.ParseFromString(schema.get_function_with_opset_version(best))
        return fp
    types = [_type(imp, i) for i in n.input]
    fp.ParseFromString(schema.get_context_dependent_function_with_opset_version(
        best, n.SerializeToString(), [t.SerializeToString() for t in types]))
    return fp


def _type(imp, name):
    if not name:
        return onnx.TypeProto()
    from .onnx_import_math import dtype_of
    shape = imp.shape(name, required=False)
    return helper.make_tensor_type_proto(helper.np_dtype_to_tensor_dtype(dtype_of(imp, name)),
                                         shape)


def expand(imp, n):
    """Convert node ``n`` through its ONNX function body; the entries of its outputs."""
    from onnx.backend.test.case.node import function_expand_helper
    schema = _schema(n.op_type, n.domain, imp.opset)
    if schema is None:
        raise MXNetError(f"ONNX import: unsupported operator {n.op_type!r}")
    node = onnx.NodeProto()
    node.CopyFrom(n)
    given = {a.name for a in node.attribute}
    for name, attr in schema.attributes.items():   # the body may refer to defaults
        if name not in given and attr.default_value and attr.default_value.name:
            node.attribute.extend([attr.default_value])
    fp = _function(imp, n, schema)
    body = function_expand_helper(node, fp, f"{n.output[0]}.{n.op_type}/")
    opset = next((o.version for o in fp.opset_import if o.domain in ("", "ai.onnx")),
                 imp.opset)
    imp.producer.update({o: sub for sub in body for o in sub.output if o})
    saved, imp.opset = imp.opset, opset
    try:
        for sub in body:
            imp.consumed.update(sub.input)
            imp.convert_node(sub)
    finally:
        imp.opset = saved
    return [imp.t(o) if o else None for o in n.output]
