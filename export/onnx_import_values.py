"""Small helpers every ONNX op converter uses: a tensor's numpy dtype and graph constants."""
import numpy as np
from onnx import helper

from ..base import MXNetError
from ..symbol.graph import Node
from .onnx_import_shape import kiln_aval


def dtype_of(imp, name):
    """The numpy dtype of tensor ``name`` (from ONNX type inference or its constant value)."""
    if name in imp.static:
        return np.asarray(imp.static[name]).dtype
    if name in imp.inits:
        return imp.inits[name].dtype
    t = imp.types.get(name)
    if t is None or not t[0]:
        av = kiln_aval(imp, name)   # a tensor ONNX's inference did not type (an If branch)
        if av is None:
            raise MXNetError(f"ONNX import: the element type of {name!r} is unknown")
        return np.dtype(av.dtype)
    return np.dtype(helper.tensor_dtype_to_np_dtype(t[0]))


def const(imp, n, k, value):
    """A graph constant entry holding ``value`` (checked against the folding limit)."""
    value = np.asarray(value)
    imp.check_bytes(value.nbytes, f"{n.op_type} {n.name or n.output[0]!r}'s constant")
    return (Node("const", value=value, name=f"{n.output[0]}_c{k}"), 0)
