"""ONNX import semantics (export/onnx_import*.py): tiny hand-built models run in onnxruntime
(the oracle) and imported with kiln; outputs (and gradients where the op has one) compared.

Each case is a silent wrong result or crash the importer had: input order, per-opset
semantics, pooling padding modes, reductions with empty axes, Gather ranges, bool
comparisons, attribute forms of old opsets, multi-output nodes, Clip forms.
"""
import numpy as np
import pytest
from kiln import autograd, nd
from kiln.base import FileFormatError
from kiln.nn.symbol_block import SymbolBlock
from onnx import TensorProto, helper, numpy_helper

ort = pytest.importorskip("onnxruntime")

F, I64, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL
_NP = {F: np.float32, I64: np.int64, B: np.bool_}


def _model(nodes, inputs, outputs, inits=(), opset=17):
    """``inputs``/``outputs``: ``(name, elem_type, shape)``; shapes may hold None (dynamic),
    an int shape is a rank (dims unknown)."""
    vi = [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs]
    vo = [helper.make_tensor_value_info(n, t, [None] * s if isinstance(s, int) else s)
          for n, t, s in outputs]
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in dict(inits).items()]
    graph = helper.make_graph(nodes, "t", vi, vo, initializer=inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def _ort(model, feed):
    opts = ort.SessionOptions()
    opts.log_severity_level = 3   # old opsets: the transpose optimizer's warnings
    sess = ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    return sess.run(None, feed)


def _kiln(model, feed, grad=False):
    """Outputs (and the first input's gradient of sum(outputs[0]) when ``grad``)."""
    net = SymbolBlock.from_onnx(model)
    args = [nd.array(feed[n], dtype=feed[n].dtype) for n in net._input_names]
    if not grad:
        outs = net(*args)
        return [o.asnumpy() for o in (outs if isinstance(outs, (list, tuple)) else [outs])]
    x = args[0]
    x.attach_grad()
    with autograd.record():
        outs = net(*args)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        loss = (outs[0] * nd.array(_weights(outs[0].shape))).sum()
    loss.backward()
    return [o.asnumpy() for o in outs], x.grad.asnumpy()


def _weights(shape):
    return np.linspace(0.5, 1.5, int(np.prod(shape)), dtype=np.float32).reshape(shape)


def _same(model, feed, atol=1e-5, grad=False):
    want = _ort(model, feed)
    got = _kiln(model, feed)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape, (g.shape, w.shape)
        assert g.dtype == w.dtype, (g.dtype, w.dtype)
        np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), atol=atol)
    if grad:
        _grad_check(model, feed)
    return got


def _grad_check(model, feed, eps=1e-3):
    """kiln's gradient against central differences of onnxruntime's output."""
    name = next(iter(feed))
    _, g = _kiln(model, feed, grad=True)
    x = feed[name].astype(np.float64)
    num = np.zeros_like(x)
    w = None
    for k in range(x.size):
        vals = []
        for s in (eps, -eps):
            xp = x.copy()
            xp.flat[k] += s
            out = _ort(model, {**feed, name: xp.astype(np.float32)})[0]
            w = _weights(out.shape) if w is None else w
            vals.append(float((out.astype(np.float64) * w).sum()))
        num.flat[k] = (vals[0] - vals[1]) / (2 * eps)
    np.testing.assert_allclose(g, num, atol=2e-2, rtol=2e-2)


def _rand(*shape, seed=0):
    # distinct values: max-pool gradients stay well defined under finite differences
    rng = np.random.default_rng(seed)
    return rng.permutation(np.arange(int(np.prod(shape)))).reshape(shape).astype(np.float32) \
        / 7.0 - 1.0


# ---- 1. inputs in graph.input order ----

def test_inputs_follow_graph_input_order():
    m = _model([helper.make_node("Sub", ["b", "a"], ["y"])],
               [("a", F, [3]), ("b", F, [3])], [("y", F, [3])])
    net = SymbolBlock.from_onnx(m)
    a, b = np.array([1, 2, 3], np.float32), np.array([10, 20, 30], np.float32)
    assert net._input_names == ["a", "b"]
    np.testing.assert_allclose(net(nd.array(a), nd.array(b)).asnumpy(), b - a)


def test_importer_records_graph_input_order():
    from kiln.export.onnx import import_symbol
    from kiln.symbol.graph import topo_order
    m = _model([helper.make_node("Sub", ["b", "a"], ["y"])],
               [("a", F, [3]), ("b", F, [3])], [("y", F, [3])])
    sym, _, _ = import_symbol(m)
    index = {n.name: n.meta.get("input_index") for n in topo_order(sym._entries)
             if n.kind == "var"}
    assert index == {"a": 0, "b": 1}


# ---- 2. the model's opset decides the semantics ----

@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("opset,axis", [(11, 1), (11, None), (11, 0), (11, -1), (13, 1),
                                        (13, None)])
def test_softmax_family_per_opset(op, opset, axis):
    kw = {} if axis is None else {"axis": axis}
    m = _model([helper.make_node(op, ["x"], ["y"], **kw)], [("x", F, [2, 3, 4])],
               [("y", F, [2, 3, 4])], opset=opset)
    _same(m, {"x": _rand(2, 3, 4) / 3})


def test_softmax11_gradient_and_dynamic_batch():
    m = _model([helper.make_node("Softmax", ["x"], ["y"], axis=1)], [("x", F, [None, 3, 2])],
               [("y", F, [None, 3, 2])], opset=11)
    _same(m, {"x": _rand(2, 3, 2) / 3}, grad=True)
    _same(m, {"x": _rand(4, 3, 2) / 3})


# ---- 3. padding modes of pooling and convolution ----

_POOLS = [
    dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"),
    dict(kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_LOWER"),
    dict(kernel_shape=[3, 3], auto_pad="SAME_LOWER"),
    dict(kernel_shape=[2, 2], auto_pad="VALID"),
    dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
    dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1),
    dict(kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1),
    dict(kernel_shape=[3, 2], strides=[2, 1], pads=[0, 1, 1, 0]),
    dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
]


@pytest.mark.parametrize("attrs", _POOLS)
@pytest.mark.parametrize("op,cip", [("MaxPool", None), ("AveragePool", 0),
                                    ("AveragePool", 1)])
def test_pool_padding(op, cip, attrs):
    kw = dict(attrs) if cip is None else dict(attrs, count_include_pad=cip)
    m = _model([helper.make_node(op, ["x"], ["y"], **kw)], [("x", F, [None, 2, 5, 6])],
               [("y", F, 4)])
    _same(m, {"x": _rand(1, 2, 5, 6)}, grad=attrs is _POOLS[0] or attrs is _POOLS[5])
    _same(m, {"x": _rand(3, 2, 5, 6, seed=1)})


def test_pool_same_upper_shape():
    m = _model([helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2],
                                 auto_pad="SAME_UPPER")],
               [("x", F, [1, 2, 7, 7])], [("y", F, 4)])
    assert _same(m, {"x": _rand(1, 2, 7, 7)})[0].shape == (1, 2, 4, 4)


@pytest.mark.parametrize("attrs", [dict(auto_pad="SAME_UPPER", strides=[2, 2]),
                                   dict(auto_pad="SAME_LOWER"),
                                   dict(pads=[1, 0, 0, 1])])
def test_conv_padding(attrs):
    w = _rand(3, 2, 2, 3, seed=2)
    m = _model([helper.make_node("Conv", ["x", "w"], ["y"], **attrs)],
               [("x", F, [1, 2, 5, 6])], [("y", F, 4)], inits={"w": w})
    _same(m, {"x": _rand(1, 2, 5, 6)}, atol=1e-4, grad=True)


@pytest.mark.parametrize("attrs", [dict(strides=[2, 2], output_shape=[8, 10]),
                                   dict(strides=[2, 2], output_shape=[10, 12]),
                                   dict(strides=[2, 2], output_padding=[1, 0]),
                                   dict(strides=[2, 2], auto_pad="SAME_UPPER"),
                                   dict(strides=[2, 2], auto_pad="SAME_LOWER"),
                                   dict(strides=[2, 2], output_shape=[9, 11],
                                        auto_pad="SAME_UPPER"),
                                   dict(pads=[1, 0, 0, 1])])
def test_conv_transpose_output_shape(attrs):
    w = _rand(2, 3, 3, 3, seed=3)
    m = _model([helper.make_node("ConvTranspose", ["x", "w"], ["y"], **attrs)],
               [("x", F, [1, 2, 4, 5])], [("y", F, 4)], inits={"w": w})
    _same(m, {"x": _rand(1, 2, 4, 5)}, atol=1e-4, grad=attrs.get("pads") is not None)


# ---- 4. reductions: axes as an input, noop_with_empty_axes ----

@pytest.mark.parametrize("op,opset", [("ReduceSum", 13), ("ReduceMean", 18),
                                      ("ReduceMax", 18), ("ReduceProd", 18)])
@pytest.mark.parametrize("axes,noop,keep", [(None, 1, 1), ([], 1, 0), ([], 0, 1), (None, 0, 0),
                                            ([1], 0, 1), ([-1, 0], 1, 0)])
def test_reduce_axes_input(op, opset, axes, noop, keep):
    ins, inits = ["x"], {}
    if axes is not None:
        ins.append("axes")
        inits["axes"] = np.array(axes, np.int64)
    rank = 3 if noop and not axes or keep else 3 - (len(axes) if axes else 3)
    m = _model([helper.make_node(op, ins, ["y"], keepdims=keep, noop_with_empty_axes=noop)],
               [("x", F, [2, 3, 4])], [("y", F, rank)], inits=inits, opset=opset)
    _same(m, {"x": _rand(2, 3, 4) / 8}, atol=1e-4, grad=op == "ReduceSum" and bool(axes))


def test_reduce_axes_attribute_opset11():
    m = _model([helper.make_node("ReduceMean", ["x"], ["y"], axes=[0, 2], keepdims=0)],
               [("x", F, [2, 3, 4])], [("y", F, [3])], opset=11)
    _same(m, {"x": _rand(2, 3, 4)})


# ---- 5. Gather: negative indices in range work, out of range raises ----

def _gather_model(axis=0, static=None):
    inputs = [("x", F, [4, 3])] + ([] if static is not None else [("i", I64, [2])])
    inits = {} if static is None else {"i": np.array(static, np.int64)}
    return _model([helper.make_node("Gather", ["x", "i"], ["y"], axis=axis)], inputs,
                  [("y", F, 2)], inits=inits)


@pytest.mark.parametrize("axis", [0, 1])
def test_gather_negative_indices(axis):
    x = _rand(4, 3)
    _same(_gather_model(axis), {"x": x, "i": np.array([-1, 1], np.int64)}, grad=True)
    _same(_gather_model(axis, static=[-3, 2]), {"x": x}, grad=True)


def test_gather_out_of_range_raises():
    x = _rand(4, 3)
    feed = {"x": x, "i": np.array([0, 4], np.int64)}
    with pytest.raises(Exception, match="out of bounds|invalid|INVALID"):
        _ort(_gather_model(), feed)
    with pytest.raises(Exception, match="out of range"):
        _kiln(_gather_model(), feed)
    with pytest.raises(Exception, match="out of range"):
        _kiln(_gather_model(), {**feed, "i": np.array([-5, 0], np.int64)})
    with pytest.raises(FileFormatError, match="Gather.*out of range"):
        _kiln(_gather_model(static=[4]), {"x": x})


# ---- 6. comparisons and logic give bool; Where and Cast with bool ----

@pytest.mark.parametrize("op", ["Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual"])
@pytest.mark.parametrize("elem", [F, I64])
def test_comparisons_give_bool(op, elem):
    m = _model([helper.make_node(op, ["a", "b"], ["y"])], [("a", elem, [2, 3]), ("b", elem, [3])],
               [("y", B, [2, 3])])
    a = np.array([[1, 2, 3], [3, 2, 1]], _NP[elem])
    _same(m, {"a": a, "b": np.array([2, 2, 2], _NP[elem])})


@pytest.mark.parametrize("op", ["And", "Or", "Xor", "Not"])
def test_logic_ops(op):
    ins = ["a", "b"] if op != "Not" else ["a"]
    m = _model([helper.make_node(op, ins, ["y"])], [(i, B, [4]) for i in ins],
               [("y", B, [4])], opset=13)
    _same(m, {"a": np.array([0, 0, 1, 1], bool), "b": np.array([0, 1, 0, 1], bool)}
          if op != "Not" else {"a": np.array([0, 0, 1, 1], bool)})


def test_where_on_comparison_and_casts():
    nodes = [helper.make_node("Greater", ["x", "t"], ["c"]),
             helper.make_node("Where", ["c", "x", "z"], ["y"]),
             helper.make_node("Cast", ["c"], ["cf"], to=F),
             helper.make_node("Cast", ["x"], ["xb"], to=B),
             helper.make_node("Cast", ["xb"], ["xi"], to=I64)]
    m = _model(nodes, [("x", F, [2, 3])], [("y", F, [2, 3]), ("cf", F, [2, 3]),
                                           ("xb", B, [2, 3]), ("xi", I64, [2, 3])],
               inits={"t": np.float32(0.1), "z": np.zeros(3, np.float32)})
    x = np.array([[0.0, 0.5, -1.0], [2.0, 0.0, 0.05]], np.float32)
    _same(m, {"x": x}, grad=True)


# ---- 7. attribute forms of old opsets: Pad-2, Slice-1 ----

@pytest.mark.parametrize("mode", ["constant", "edge", "reflect"])
def test_pad2_attributes(mode):
    kw = dict(value=1.5) if mode == "constant" else {}
    m = _model([helper.make_node("Pad", ["x"], ["y"], pads=[0, 0, 1, 2, 0, 0, 2, 1], mode=mode,
                                 **kw)],
               [("x", F, [1, 2, 3, 4])], [("y", F, [1, 2, 6, 7])], opset=2)
    _same(m, {"x": _rand(1, 2, 3, 4)}, grad=True)


def test_slice1_attributes():
    m = _model([helper.make_node("Slice", ["x"], ["y"], starts=[1, -3], ends=[2**40, -1],
                                 axes=[0, 2])],
               [("x", F, [3, 2, 5])], [("y", F, [2, 2, 2])], opset=1)
    _same(m, {"x": _rand(3, 2, 5)}, grad=True)
    m = _model([helper.make_node("Slice", ["x"], ["y"], starts=[0, 1], ends=[2, 2])],
               [("x", F, [3, 2])], [("y", F, [2, 1])], opset=9)
    _same(m, {"x": _rand(3, 2)})


# ---- 8. multi-output forms: produced, or a clear error naming the node ----

def test_dropout_inference_identity_and_mask():
    nodes = [helper.make_node("Dropout", ["x", "r"], ["y", "mask"], name="drop")]
    m = _model(nodes, [("x", F, [2, 3])], [("y", F, [2, 3]), ("mask", B, [2, 3])],
               inits={"r": np.float32(0.5)}, opset=13)
    _same(m, {"x": _rand(2, 3)}, grad=True)
    m = _model([helper.make_node("Dropout", ["x"], ["y"], ratio=0.3)], [("x", F, [2, 3])],
               [("y", F, [2, 3])], opset=7)
    _same(m, {"x": _rand(2, 3)}, grad=True)


def test_dropout_training_mode_draws_a_mask():
    nodes = [helper.make_node("Dropout", ["x", "r", "t"], ["y", "mask"], name="drop")]
    m = _model(nodes, [("x", F, [40, 50])], [("y", F, [40, 50]), ("mask", B, [40, 50])],
               inits={"r": np.float32(0.5), "t": np.bool_(True)}, opset=13)
    x = _rand(40, 50) + 3.0   # no zeros: a dropped element is the only 0
    y, mask = _kiln(m, {"x": x})
    assert mask.dtype == np.bool_ and 0.4 < mask.mean() < 0.6
    np.testing.assert_allclose(y, np.where(mask, x * 2, 0), rtol=1e-6)
    # training_mode given at run time: False is the identity with a mask of ones
    m = _model(nodes, [("x", F, [2, 3]), ("t", B, [])], [("y", F, [2, 3]), ("mask", B, [2, 3])],
               inits={"r": np.float32(0.5)}, opset=13)
    _same(m, {"x": _rand(2, 3), "t": np.array(False)})
    y, mask = _kiln(m, {"x": x[:2, :3], "t": np.array(True)})
    np.testing.assert_allclose(y, np.where(mask, x[:2, :3] * 2, 0), rtol=1e-6)


def test_layer_norm_mean_inv_std_dev():
    nodes = [helper.make_node("LayerNormalization", ["x", "s", "b"], ["y", "mu", "inv"],
                              epsilon=1e-3)]
    m = _model(nodes, [("x", F, [2, 3, 4])], [("y", F, [2, 3, 4]), ("mu", F, [2, 3, 1]),
                                              ("inv", F, [2, 3, 1])],
               inits={"s": _rand(4, seed=4), "b": _rand(4, seed=5)}, opset=17)
    _same(m, {"x": _rand(2, 3, 4)}, atol=1e-4, grad=True)


@pytest.mark.parametrize("attrs", [dict(kernel_shape=[2, 2]),
                                   dict(kernel_shape=[3, 2], strides=[2, 1], pads=[1, 0, 1, 1]),
                                   dict(kernel_shape=[2, 2], storage_order=1),
                                   dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], ceil_mode=1,
                                        strides=[2, 2])])
def test_max_pool_indices(attrs):
    nodes = [helper.make_node("MaxPool", ["x"], ["y", "idx"], name="pool", **attrs)]
    m = _model(nodes, [("x", F, [2, 3, 5, 4])], [("y", F, 4), ("idx", I64, 4)])
    _same(m, {"x": _rand(2, 3, 5, 4)}, grad=True)
    # an output nobody reads is fine
    m = _model(nodes, [("x", F, [2, 3, 5, 4])], [("y", F, 4)])
    _same(m, {"x": _rand(2, 3, 5, 4)})


def test_batch_norm_training_mode():
    nodes = [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"],
                              ["y", "rm", "rv"], name="bn", training_mode=1, momentum=0.8,
                              epsilon=1e-3)]
    m = _model(nodes, [("x", F, [4, 2, 3])], [("y", F, [4, 2, 3]), ("rm", F, [2]),
                                              ("rv", F, [2])],
               inits={"s": _rand(2, seed=1), "b": _rand(2, seed=2), "m": _rand(2, seed=3),
                      "v": _rand(2, seed=4) + 2}, opset=15)
    _same(m, {"x": _rand(4, 2, 3)}, atol=1e-4, grad=True)


def test_unproduced_outputs_name_the_node():
    c = np.ones(2, np.float32)
    nodes = [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"],
                              ["y", "rm", "rv", "sm", "sv"], name="bn7")]
    m = _model(nodes, [("x", F, [3, 2])], [("y", F, [3, 2]), ("sm", F, [2])],
               inits={"s": c, "b": c * 0, "m": c * 0, "v": c}, opset=7)
    with pytest.raises(FileFormatError, match="BatchNormalization node 'bn7'.*'sm'"):
        SymbolBlock.from_onnx(m)


# ---- 9. Clip: attributes (opset 6), inputs (opset >= 11), run-time bounds ----

@pytest.mark.parametrize("form", ["attrs", "both", "min_only", "max_only", "none",
                                  "runtime", "runtime_max", "int64"])
def test_clip_forms(form):
    x = _rand(2, 5)
    inputs, inits, kw, opset, ins = [("x", F, [2, 5])], {}, {}, 13, ["x"]
    if form == "attrs":
        kw, opset = dict(min=-0.5, max=0.7), 6
    elif form in ("both", "min_only", "max_only"):
        inits = {"lo": np.float32(-0.5), "hi": np.float32(0.7)}
        ins = ["x", "lo" if form != "max_only" else "", "hi" if form != "min_only" else ""]
    elif form == "runtime":
        inputs += [("lo", F, []), ("hi", F, [])]
        ins = ["x", "lo", "hi"]
    elif form == "runtime_max":
        inputs += [("hi", F, [])]
        ins = ["x", "", "hi"]
    elif form == "int64":
        inputs, x = [("x", I64, [2, 5])], np.arange(-5, 5, dtype=np.int64).reshape(2, 5)
        inits, ins = {"lo": np.int64(-2), "hi": np.int64(3)}, ["x", "lo", "hi"]
    elem = I64 if form == "int64" else F
    m = _model([helper.make_node("Clip", ins, ["y"], **kw)], inputs, [("y", elem, [2, 5])],
               inits=inits, opset=opset)
    feed = {"x": x, "lo": np.array(-0.5, np.float32), "hi": np.array(0.7, np.float32)}
    feed = {k: v for k, v in feed.items() if k in [i[0] for i in inputs]}
    _same(m, feed, grad=form in ("attrs", "runtime"))


def test_ceil_max_pool_dynamic_spatial_dims():
    m = _model([helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                                 ceil_mode=1)], [("x", F, [None, 2, None, None])],
               [("y", F, 4)])
    for h, w in ((6, 7), (8, 5)):
        _same(m, {"x": _rand(1, 2, h, w)})
    avg = _model([helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3],
                                   strides=[2, 2], ceil_mode=1, name="avg")],
                 [("x", F, [None, 2, None, None])], [("y", F, 4)])
    with pytest.raises(FileFormatError, match="AveragePool 'avg' needs static spatial dims"):
        SymbolBlock.from_onnx(avg)


def test_gather_embedding_table():
    table = _rand(10, 4)
    m = _model([helper.make_node("Gather", ["w", "i"], ["y"])], [("i", I64, [None, 3])],
               [("y", F, [None, 3, 4])], inits={"w": table})
    _same(m, {"i": np.array([[0, -1, 9], [3, 3, -10]], np.int64)})
    with pytest.raises(Exception, match="out of range"):
        _kiln(m, {"i": np.array([[0, 10, 1]], np.int64)})


def test_conv_transpose_bias_and_larger_output_shape():
    w, b = _rand(2, 3, 3, 3, seed=3), np.array([0.5, -1.0, 2.0], np.float32)
    for attrs in (dict(output_shape=[10, 12]), dict(output_shape=[8, 9], pads=[0, 0, 0, 0]),
                  dict(pads=[1, 0, 0, 2])):
        m = _model([helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], strides=[2, 2],
                                     **attrs)],
                   [("x", F, [1, 2, 4, 5])], [("y", F, 4)], inits={"w": w, "b": b})
        _same(m, {"x": _rand(1, 2, 4, 5)}, atol=1e-4)


# ---- 9. run-time shapes, specialization, composed operators are trainable ----

def _encoder_attention(opset=17):
    """torch.onnx/dynamo-style self-attention with a dynamic batch: the head split and merge
    reshape to shapes built by Shape -> Slice -> Concat (no static batch anywhere)."""
    e, h = 8, 2
    wq = _rand(e, e, seed=5) / 4
    i64 = lambda *v: np.array(v, np.int64)   # noqa: E731
    nodes = [
        helper.make_node("Shape", ["x"], ["shp"]),
        helper.make_node("Slice", ["shp", "c0", "c1"], ["b"]),
        helper.make_node("Slice", ["shp", "c1", "c2"], ["s"]),
        helper.make_node("Concat", ["b", "s", "heads", "dh"], ["split_shape"], axis=0),
        helper.make_node("MatMul", ["x", "wq"], ["q"]),
        helper.make_node("Reshape", ["q", "split_shape"], ["q4"]),
        helper.make_node("Transpose", ["q4"], ["qh"], perm=[0, 2, 1, 3]),
        helper.make_node("Transpose", ["q4"], ["kt"], perm=[0, 2, 3, 1]),
        helper.make_node("MatMul", ["qh", "kt"], ["scores"]),
        helper.make_node("Softmax", ["scores"], ["p"], axis=-1),
        helper.make_node("MatMul", ["p", "qh"], ["ctx"]),
        helper.make_node("Transpose", ["ctx"], ["ctx_t"], perm=[0, 2, 1, 3]),
        helper.make_node("Concat", ["b", "s", "minus1"], ["merge_shape"], axis=0),
        helper.make_node("Reshape", ["ctx_t", "merge_shape"], ["y"]),
    ]
    inits = {"wq": wq, "c0": i64(0), "c1": i64(1), "c2": i64(2), "heads": i64(h),
             "dh": i64(e // h), "minus1": i64(-1)}
    return _model(nodes, [("x", F, [None, None, e])], [("y", F, 3)], inits=inits, opset=opset)


def test_dynamic_batch_shape_chains_import_as_reshape_codes():
    m = _encoder_attention()
    for batch, seq in ((2, 3), (3, 5)):
        _same(m, {"x": _rand(batch, seq, 8, seed=batch) / 20}, atol=1e-4)
    _grad_check(m, {"x": _rand(1, 2, 8) / 3})


def test_runtime_shape_input_is_named_then_specialized():
    from kiln.export.onnx_import import specialize
    m = _model([helper.make_node("Reshape", ["x", "shape"], ["y"])],
               [("x", F, [2, 6]), ("shape", I64, [2])], [("y", F, 2)])
    with pytest.raises(FileFormatError, match="'shape' must be a constant"):
        SymbolBlock.from_onnx(m)
    feed = {"x": _rand(2, 6), "shape": np.array([3, -1], np.int64)}
    bound, names = specialize(m, feed)
    assert names == ["shape"]
    assert [vi.name for vi in bound.graph.input] == ["x"]
    np.testing.assert_allclose(_kiln(bound, {"x": feed["x"]})[0], _ort(m, feed)[0])


@pytest.mark.parametrize("node,shape,inits", [
    (helper.make_node("LayerNormalization", ["x", "g", "b"], ["y"], axis=1), [2, 3, 4],
     {"g": _rand(3, 4, seed=1), "b": _rand(3, 4, seed=2)}),
    (helper.make_node("Resize", ["x", "", "sc"], ["y"], mode="linear"), [1, 1, 3, 4],
     {"sc": np.array([1, 1, 2, 1.5], np.float32)}),
    (helper.make_node("Pad", ["x", "p"], ["y"], mode="reflect"), [2, 5],
     {"p": np.array([1, 2, 0, 1], np.int64)}),
    (helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], dilations=[2, 2]),
     [1, 1, 5, 5], {}),
    (helper.make_node("CumSum", ["x", "ax"], ["y"], reverse=1), [3, 4],
     {"ax": np.array(1, np.int64)}),
    (helper.make_node("ReduceL2", ["x", "axes"], ["y"]), [3, 4],
     {"axes": np.array([1], np.int64)}),
], ids=["layernorm_axis1", "resize_linear", "pad_reflect_2d", "maxpool_dilated", "cumsum",
        "reduce_l2"])
def test_composed_converters_match_and_train(node, shape, inits):
    """Operators kiln composes from its ops: outputs as onnxruntime, gradients as its
    finite differences (the imported block is trainable)."""
    m = _model([node], [("x", F, shape)], [("y", F, len(shape))], inits=inits, opset=18)
    _same(m, {"x": _rand(*shape)}, atol=1e-4, grad=True)


def test_attention_op_trains():
    q, kv = [("q", F, [1, 2, 3, 4])], {"k": _rand(1, 2, 5, 4, seed=3) / 3,
                                       "v": _rand(1, 2, 5, 4, seed=4)}
    m = _model([helper.make_node("Attention", ["q", "k", "v"], ["y"], is_causal=1)], q,
               [("y", F, 4)], inits=kv, opset=23)
    _same(m, {"q": _rand(1, 2, 3, 4) / 3}, atol=1e-5, grad=True)


def test_if_with_runtime_condition_selects_per_output():
    then = helper.make_graph([helper.make_node("Neg", ["x"], ["t"])], "then", [],
                             [helper.make_tensor_value_info("t", F, [3])])
    other = helper.make_graph([helper.make_node("Exp", ["x"], ["e"])], "else", [],
                              [helper.make_tensor_value_info("e", F, [3])])
    m = _model([helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=other)],
               [("c", B, []), ("x", F, [3])], [("y", F, [3])])
    for c in (True, False):
        _same(m, {"c": np.array(c), "x": np.array([0.5, -1.0, 2.0], np.float32)})


def test_scan_unrolls_with_gradients():
    body = helper.make_graph(
        [helper.make_node("Add", ["s_in", "x_t"], ["s_out"]),
         helper.make_node("Mul", ["s_out", "x_t"], ["y_t"])], "body",
        [helper.make_tensor_value_info("s_in", F, [2]),
         helper.make_tensor_value_info("x_t", F, [2])],
        [helper.make_tensor_value_info("s_out", F, [2]),
         helper.make_tensor_value_info("y_t", F, [2])])
    m = _model([helper.make_node("Scan", ["s0", "xs"], ["s", "ys"], body=body,
                                 num_scan_inputs=1)],
               [("xs", F, [4, 2]), ("s0", F, [2])], [("s", F, [2]), ("ys", F, [4, 2])])
    _same(m, {"xs": _rand(4, 2), "s0": np.array([0.5, -0.5], np.float32)}, grad=True)
