"""The small graph builder that ops' ``onnx`` facets emit into.

A lowering has the signature ``onnx(g, ins, in_avals, out_avals, **attrs)`` and returns the
name (or list of names) of its output tensors. ``ins`` holds tensor names (``None`` for an absent
optional input). Inside it, use:

* ``g.op(op_type, *inputs, outputs=1, **attrs)``: add a node; returns its output name(s).
* ``g.const(array_or_scalar, dtype=None)``: an initializer; returns its name.
* ``g.ints(values)``: an int64 1-D initializer (shapes, axes, pads for opset >= 13 inputs).
* ``g.opset``: the target opset; ``g.onnx_dtype(np_dtype)``: the TensorProto enum.
"""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..base import ExportError

MIN_IR = {13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10, 23: 11,
          24: 11, 25: 11, 26: 12, 27: 12, 28: 13}


# metadata_props entry of an export that kept BatchNorm unfolded (``fold_batchnorm=False``): the
# importer then makes those BatchNorm layers trainable (batch statistics in training mode)
TRAINABLE_BN_KEY, TRAINABLE_BN_VALUE = "kiln.batchnorm", "trainable"

# ExportError lives in kiln.base so the op definitions (ndarray/) can raise it.


class Builder:
    """Collects ONNX nodes and initializers; names are made unique with a readable prefix."""

    def __init__(self, opset=17, prefix=""):
        self.opset = int(opset)
        self.nodes, self.initializers = [], []
        self.prefix = prefix
        self._names = set()
        self._consts = {}

    def fresh(self, hint):
        base = (self.prefix + hint).replace("/", ".")
        name, i = base, 0
        while name in self._names:
            i += 1
            name = f"{base}_{i}"
        self._names.add(name)
        return name

    def op(self, op_type, *inputs, outputs=1, domain="", name=None, **attrs):
        """Add a node of ``op_type``; ``None`` attributes are dropped, absent inputs are ''."""
        ins = ["" if i is None else i for i in inputs]
        while ins and ins[-1] == "":
            ins.pop()
        hint = name or op_type.lower()
        outs = [self.fresh(hint if outputs == 1 else f"{hint}_out{k}") for k in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(helper.make_node(op_type, ins, outs, name=self.fresh(f"{hint}_node"),
                                           domain=domain, **attrs))
        return outs[0] if outputs == 1 else outs

    def const(self, value, dtype=None, name="const"):
        """An initializer holding ``value`` (cached: equal constants share one tensor)."""
        arr = np.asarray(value, dtype=dtype)
        key = (arr.dtype.str, arr.shape, arr.tobytes())
        if key in self._consts:
            return self._consts[key]
        tname = self.fresh(name)
        self.initializers.append(numpy_helper.from_array(arr, tname))
        self._consts[key] = tname
        return tname

    def ints(self, values, name="ints"):
        return self.const(np.asarray(list(values), dtype=np.int64), name=name)

    @staticmethod
    def onnx_dtype(dtype):
        return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))

    def model(self, inputs, outputs, graph_name="kiln"):
        """Wrap into a ModelProto. ``inputs``/``outputs``: lists of (name, dtype, shape)."""
        def vi(name, dtype, shape):
            return helper.make_tensor_value_info(name, self.onnx_dtype(dtype), shape)
        graph = helper.make_graph(self.nodes, graph_name, [vi(*i) for i in inputs],
                                  [vi(*o) for o in outputs], initializer=self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)],
                                  producer_name="kiln")
        model.ir_version = MIN_IR.get(self.opset, onnx.IR_VERSION)
        return model


def one_op_model(op, inputs, attrs, opset=17):
    """A model holding one registry op, its array inputs as graph inputs (for tests).

    ``inputs`` are numpy arrays, Python scalars or None. Returns ``(model, feed)``.
    """
    from ..ndarray._registry import Aval
    if op.onnx is None:
        raise ExportError(f"{op.name} has no ONNX lowering")
    g = Builder(opset)
    arrays = [a for a in inputs if isinstance(a, np.ndarray)]
    scalar_dtype = arrays[0].dtype if arrays else np.dtype(np.float32)
    names, avals, graph_inputs, feed = [], [], [], {}
    for i, a in enumerate(inputs):
        if a is None:
            names.append(None)
            avals.append(None)
        elif isinstance(a, np.ndarray):
            nm = f"in{i}"
            names.append(nm)
            avals.append(Aval(a.shape, a.dtype))
            graph_inputs.append((nm, a.dtype, a.shape))
            feed[nm] = a
        else:
            names.append(g.const(np.asarray(a, dtype=scalar_dtype), name=f"scalar{i}"))
            avals.append(a)
    out_avals = op.infer(*avals, **attrs)
    out_avals = [out_avals] if isinstance(out_avals, Aval) else list(out_avals)
    outs = op.onnx(g, names, avals, out_avals, **attrs)
    outs = [outs] if isinstance(outs, str) else list(outs)
    final = []
    for k, (o, av) in enumerate(zip(outs, out_avals)):
        nm = f"out{k}"
        g.nodes.append(helper.make_node("Identity", [o], [nm]))
        final.append((nm, av.dtype, av.shape))
    model = g.model(graph_inputs, final, graph_name=op.name)
    return model, feed


def run_onnxruntime(model, feed):
    """Run a ModelProto in onnxruntime on the CPU; returns the list of outputs."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    return sess.run(None, feed)


__all__ = ["Builder", "ExportError", "one_op_model", "run_onnxruntime", "TensorProto"]
