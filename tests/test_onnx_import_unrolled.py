"""ONNX import of the forms kiln builds step by step from registry ops (export/onnx_import_lstm.py,
onnx_import_grid.py, onnx_import_control.py's Scan-8), of models without inputs, and of the
operators whose output shape depends on the data (refused with the reason, or folded).

onnxruntime is the oracle; gradients are checked where the imported block should train.
"""
import numpy as np
import pytest
from kiln import autograd, nd
from kiln.base import FileFormatError
from kiln.nn.symbol_block import SymbolBlock
from onnx import TensorProto, helper, numpy_helper

ort = pytest.importorskip("onnxruntime")

F, I32, I64 = TensorProto.FLOAT, TensorProto.INT32, TensorProto.INT64


def _model(nodes, inputs, outputs, inits=(), opset=17):
    vi = [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs]
    vo = [helper.make_tensor_value_info(n, t, s) for n, t, s in outputs]
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in dict(inits).items()]
    m = helper.make_model(helper.make_graph(nodes, "t", vi, vo, initializer=inits),
                          opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def _ort(model, feed):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feed)


def _kiln(model, feed):
    net = SymbolBlock.from_onnx(model)
    outs = net(*[nd.array(feed[n], dtype=feed[n].dtype) for n in net._input_names])
    return [o.asnumpy() for o in (outs if isinstance(outs, (list, tuple)) else [outs])]


def _same(model, feed, atol=1e-5):
    want, got = _ort(model, feed), _kiln(model, feed)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, w.shape, g.dtype, w.dtype)
        np.testing.assert_allclose(g, w, atol=atol, rtol=1e-4)


def _grad(model, feed, name, eps=1e-3):
    """d sum(w * out0) / d feed[name]: kiln's autograd vs central differences in onnxruntime."""
    net = SymbolBlock.from_onnx(model)
    args = {n: nd.array(feed[n], dtype=feed[n].dtype) for n in net._input_names}
    args[name].attach_grad()
    with autograd.record():
        out = net(*[args[n] for n in net._input_names])
        out = out[0] if isinstance(out, (list, tuple)) else out
        w = np.linspace(0.5, 1.5, out.size, dtype=np.float32).reshape(out.shape)
        loss = (out * nd.array(w)).sum()
    loss.backward()
    x = feed[name].astype(np.float64)
    num = np.zeros_like(x)
    for k in range(x.size):
        vals = []
        for s in (eps, -eps):
            xp = x.copy()
            xp.flat[k] += s
            vals.append(float((_ort(model, {**feed, name: xp.astype(np.float32)})[0] * w).sum()))
        num.flat[k] = (vals[0] - vals[1]) / (2 * eps)
    np.testing.assert_allclose(args[name].grad.asnumpy(), num, atol=2e-2, rtol=2e-2)


def _rng(seed=0):
    return np.random.default_rng(seed)


# ---- LSTM cells MXNet's cannot say: peepholes, clip, input_forget ----

@pytest.mark.parametrize("attrs,direction", [({}, "forward"), ({"clip": 0.7}, "reverse"),
                                             ({"input_forget": 1}, "bidirectional"),
                                             ({"clip": 1.5, "input_forget": 1}, "forward")])
@pytest.mark.parametrize("lens", [False, True])
def test_lstm_peepholes_clip_input_forget(attrs, direction, lens):
    T, N, C, H = 4, 3, 5, 2
    D = 2 if direction == "bidirectional" else 1
    r = _rng(1)
    inits = {"W": r.standard_normal((D, 4 * H, C)).astype(np.float32),
             "R": r.standard_normal((D, 4 * H, H)).astype(np.float32),
             "B": r.standard_normal((D, 8 * H)).astype(np.float32) * 0.5,
             "P": r.standard_normal((D, 3 * H)).astype(np.float32),
             "h0": r.standard_normal((D, N, H)).astype(np.float32),
             "c0": r.standard_normal((D, N, H)).astype(np.float32)}
    if lens:
        inits["L"] = np.array([4, 2, 3], np.int32)
    node = helper.make_node("LSTM", ["X", "W", "R", "B", "L" if lens else "", "h0", "c0", "P"],
                            ["Y", "Yh", "Yc"], hidden_size=H, direction=direction, **attrs)
    m = _model([node], [("X", F, [T, N, C])],
               [("Y", F, [T, D, N, H]), ("Yh", F, [D, N, H]), ("Yc", F, [D, N, H])], inits)
    feed = {"X": r.standard_normal((T, N, C)).astype(np.float32)}
    _same(m, feed, atol=1e-5)
    if not lens and direction == "forward" and not attrs:
        _grad(m, feed, "X")


# ---- Scan-8: a batch axis, unrolled per batch element ----

def test_scan8_batched():
    body = helper.make_graph(
        [helper.make_node("Add", ["s_in", "x_t"], ["s_out"]),
         helper.make_node("Mul", ["s_out", "x_t"], ["y_t"])], "body",
        [helper.make_tensor_value_info("s_in", F, [2]),
         helper.make_tensor_value_info("x_t", F, [2])],
        [helper.make_tensor_value_info("s_out", F, [2]),
         helper.make_tensor_value_info("y_t", F, [2])])
    node = helper.make_node("Scan", ["", "s0", "x"], ["s", "y"], body=body, num_scan_inputs=1,
                            directions=[1])
    m = _model([node], [("s0", F, [3, 2]), ("x", F, [3, 4, 2])],
               [("s", F, [3, 2]), ("y", F, [3, 4, 2])], opset=8)
    r = _rng(2)
    feed = {"s0": r.standard_normal((3, 2)).astype(np.float32),
            "x": r.standard_normal((3, 4, 2)).astype(np.float32)}
    _same(m, feed)
    _grad(m, feed, "s0")


# ---- GridSample: every mode and padding, gradients to the input and the grid ----

@pytest.mark.parametrize("mode", ["linear", "nearest", "cubic"])
@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align", [0, 1])
def test_grid_sample(mode, padding, align):
    r = _rng(3)
    node = helper.make_node("GridSample", ["X", "G"], ["Y"], mode=mode, padding_mode=padding,
                            align_corners=align)
    m = _model([node], [("X", F, [2, 3, 4, 5]), ("G", F, [2, 3, 6, 2])],
               [("Y", F, [2, 3, 3, 6])], opset=20)
    # coordinates past the borders (reflection folds them back more than once)
    feed = {"X": r.standard_normal((2, 3, 4, 5)).astype(np.float32),
            "G": r.uniform(-2.6, 2.6, (2, 3, 6, 2)).astype(np.float32)}
    if (mode, padding) != ("cubic", "border"):
        _same(m, feed, atol=1e-4)
        return
    # onnxruntime 1.32 clamps every cubic coordinate into [0, d - 1]; onnx's reference (the
    # spec's, and the conformance data's) only those past the sampling range: kiln follows it
    from onnx.reference import ReferenceEvaluator
    np.testing.assert_allclose(_kiln(m, feed)[0], ReferenceEvaluator(m).run(None, feed)[0],
                               atol=1e-4)


def test_grid_sample_trains():
    r = _rng(4)
    m = _model([helper.make_node("GridSample", ["X", "G"], ["Y"], mode="bilinear")],
               [("G", F, [1, 2, 3, 2]), ("X", F, [1, 2, 3, 4])], [("Y", F, [1, 2, 2, 3])],
               opset=16)
    feed = {"G": r.uniform(-0.9, 0.9, (1, 2, 3, 2)).astype(np.float32),
            "X": r.standard_normal((1, 2, 3, 4)).astype(np.float32)}
    _grad(m, feed, "G")
    _grad(m, {"X": feed["X"], "G": feed["G"]}, "X")


def test_grid_sample_volumetric():
    r = _rng(5)
    m = _model([helper.make_node("GridSample", ["X", "G"], ["Y"], mode="linear",
                                 padding_mode="border")],
               [("X", F, [1, 2, 3, 4, 3]), ("G", F, [1, 2, 2, 3, 3])],
               [("Y", F, [1, 2, 2, 2, 3])], opset=20)
    _same(m, {"X": r.standard_normal((1, 2, 3, 4, 3)).astype(np.float32),
              "G": r.uniform(-1.3, 1.3, (1, 2, 2, 3, 3)).astype(np.float32)}, atol=1e-4)


# ---- a model without inputs is its constant outputs ----

def test_model_without_inputs_imports_as_constants():
    nodes = [helper.make_node("Range", ["a", "b", "c"], ["r"]),
             helper.make_node("ConstantOfShape", ["shape"], ["z"],
                              value=numpy_helper.from_array(np.array([2.5], np.float32))),
             helper.make_node("Relu", ["w"], ["y"])]
    m = _model(nodes, [], [("r", I32, [3]), ("z", F, [2, 2]), ("y", F, [2])],
               inits={"a": np.int32(7), "b": np.int32(1), "c": np.int32(-2),
                      "shape": np.array([2, 2], np.int64), "w": np.array([-1, 2], np.float32)})
    net = SymbolBlock.from_onnx(m)
    assert net._input_names == []
    r, z, y = (o.asnumpy() for o in net())
    np.testing.assert_array_equal(r, [7, 5, 3])
    np.testing.assert_array_equal(z, np.full((2, 2), 2.5, np.float32))
    np.testing.assert_array_equal(y, [0, 2])
    # the float initializer stays a trainable parameter
    assert [p.shape for p in net.collect_params().values()] == [(2,)]


# ---- output shapes that depend on the data ----

@pytest.mark.parametrize("op,inputs,out", [("NonZero", ["x"], (I64, [3, None])),
                                           ("Unique", ["x"], (F, [None])),
                                           ("Compress", ["x", "keep"], (F, [None])),
                                           ("NonMaxSuppression", ["x", "s"], (I64, [None, 3]))])
def test_data_dependent_shapes_refused_with_the_reason(op, inputs, out):
    node = helper.make_node(op, inputs, ["y"], name="dyn")
    m = _model([node], [("x", F, [1, 2, 4]), ("keep", TensorProto.BOOL, [1]),
                        ("s", F, [1, 1, 2])], [("y", *out)], opset=11)
    with pytest.raises(FileFormatError, match=f"{op} node 'dyn': its output shape depends on "
                                              "the input values.*extract_model"):
        SymbolBlock.from_onnx(m)


def test_data_dependent_op_of_constants_folds():
    nodes = [helper.make_node("NonZero", ["c"], ["nz"]),
             helper.make_node("Cast", ["nz"], ["f"], to=F),
             helper.make_node("Add", ["x", "f"], ["y"])]
    m = _model(nodes, [("x", F, [1, 2])], [("y", F, [1, 2])],
               inits={"c": np.array([0, 2, 0, 5], np.int64)})
    _same(m, {"x": np.ones((1, 2), np.float32)})
