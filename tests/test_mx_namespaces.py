"""MXNet 1.9 namespaces reached through ``import kiln as mx``: nd.contrib, the nd creation
signatures, mx.io, mx.model, mx.test_utils and mx.onnx (expected values checked against MXNet
1.9.1)."""
import os

import kiln as mx
import numpy as np
import pytest
from kiln import nd


# ---- nd.contrib ----
def test_contrib_exposes_registry_contrib_ops():
    assert nd.contrib.ctc_loss is nd.ctc_loss
    assert nd.contrib.CTCLoss is nd.ctc_loss
    assert {"ctc_loss", "CTCLoss", "foreach", "isnan"} <= set(dir(nd.contrib))
    with pytest.raises(AttributeError):
        nd.contrib.no_such_op  # noqa: B018


def test_contrib_ctc_loss_matches_nd():
    data = nd.array(np.random.RandomState(0).randn(4, 1, 3))
    label = nd.array([[1, 2]])
    np.testing.assert_allclose(nd.contrib.ctc_loss(data, label).asnumpy(),
                               nd.CTCLoss(data, label).asnumpy())


def test_contrib_element_tests_keep_dtype():
    for dt in ("float16", "float32", "float64"):
        a = nd.array([1, np.inf, -np.inf, np.nan], dtype=dt)
        assert nd.contrib.isnan(a).dtype == np.dtype(dt)
        np.testing.assert_array_equal(nd.contrib.isnan(a).asnumpy(), [0, 0, 0, 1])
        np.testing.assert_array_equal(nd.contrib.isinf(a).asnumpy(), [0, 1, 1, 0])
        np.testing.assert_array_equal(nd.contrib.isfinite(a).asnumpy(), [1, 0, 0, 0])
    i = nd.array([1, 2], dtype="int32")
    np.testing.assert_array_equal(nd.contrib.isfinite(i).asnumpy(), [1, 1])
    assert nd.contrib.isinf(i).dtype == np.int32


def test_contrib_foreach_while_cond():
    out, st = nd.contrib.foreach(lambda d, s: (d + s[0], [s[0] + d]),
                                 nd.arange(6).reshape((3, 2)), [nd.zeros(2)])
    np.testing.assert_array_equal(out.asnumpy(), [[0, 1], [2, 4], [6, 9]])
    np.testing.assert_array_equal(st[0].asnumpy(), [6, 9])
    out, (i, s) = nd.contrib.while_loop(lambda i, s: i < 3,
                                        lambda i, s: (i * 2, (i + 1, s + i)),
                                        (nd.array([0]), nd.array([1])), max_iterations=5)
    assert out.shape == (5, 1)
    np.testing.assert_array_equal(out.asnumpy()[:3, 0], [0, 2, 4])
    assert i.asscalar() == 3 and s.asscalar() == 4
    assert nd.contrib.cond(nd.array([0]), lambda: nd.ones(2),
                           lambda: nd.zeros(2)).asnumpy().sum() == 0


def test_contrib_foreach_gradient():
    x = nd.array([[1.0, 2.0], [3.0, 4.0]])
    x.attach_grad()
    with mx.autograd.record():
        out, _ = nd.contrib.foreach(lambda d, s: (d * s, s + 1), x, nd.ones(2))
        out.sum().backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), [[1, 1], [2, 2]])


def test_contrib_composites():
    x = nd.array([[1.5, -2.5, 0.2], [3, 4, 5]], dtype="float64")
    np.testing.assert_allclose(nd.contrib.div_sqrt_dim(x).asnumpy(), x.asnumpy() / np.sqrt(3))
    np.testing.assert_array_equal(nd.contrib.round_ste(x).asnumpy(), [[2, -3, 0], [3, 4, 5]])
    np.testing.assert_array_equal(nd.contrib.sign_ste(x).asnumpy(), [[1, -1, 1], [1, 1, 1]])
    np.testing.assert_allclose(nd.contrib.quadratic(x, a=1, b=2, c=3).asnumpy(),
                               x.asnumpy() ** 2 + 2 * x.asnumpy() + 3)
    ar = nd.contrib.arange_like(x, start=1, step=2, repeat=2, axis=1)
    np.testing.assert_array_equal(ar.asnumpy(), [1, 1, 3])
    assert nd.contrib.arange_like(x).dtype == np.float64
    np.testing.assert_array_equal(nd.contrib.boolean_mask(x, nd.array([0, 1])).asnumpy(),
                                  [[3, 4, 5]])
    assert nd.contrib.boolean_mask(x, nd.array([0, 0])).shape == (0, 3)
    x.attach_grad()
    with mx.autograd.record():
        y = nd.contrib.round_ste(x) * 2
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), np.full((2, 3), 2.0))


# ---- creation signatures: (shape, ctx, dtype) ----
def test_creation_positional_ctx_then_dtype():
    a = nd.zeros((2, 3), mx.cpu(), "int32")
    assert a.dtype == np.int32 and a.context == mx.cpu()
    assert nd.ones((2,), mx.cpu(), "float64").dtype == np.float64
    assert nd.ones(3).dtype == np.float32
    f = nd.full((2,), 7, mx.cpu(), "int32")
    assert f.dtype == np.int32 and f.asnumpy().tolist() == [7, 7]
    assert nd.full((2,), 7).dtype == np.float32
    assert nd.empty((2, 2), "cpu(0)", "float16").dtype == np.float16
    assert nd.zeros((1,), stype="default").shape == (1,)
    assert nd.zeros(4, ctx="cpu").shape == (4,)


def test_creation_errors_are_clear():
    with pytest.raises(TypeError, match="dtype="):
        nd.zeros((2,), "float32")       # MXNet's 2nd positional is ctx
    with pytest.raises(mx.MXNetError, match="2-D"):
        nd.zeros((2,), stype="csr")       # CSR is a matrix format
    with pytest.raises(ValueError, match="storage type"):
        nd.zeros((2,), stype="bogus")
    assert isinstance(nd.empty((2,), stype="row_sparse"), nd.sparse.RowSparseNDArray)
    assert isinstance(nd.zeros((2, 3), stype="csr"), nd.sparse.CSRNDArray)


def test_creation_full_out_and_symbol_order_unchanged():
    o = nd.zeros((2,))
    assert nd.full((2,), 3, out=o) is o and o.asnumpy().tolist() == [3, 3]
    s = mx.sym.zeros((2, 3), "float64")   # sym.zeros keeps MXNet's (shape, dtype)
    assert s.infer_type()[1][0] == np.float64


# ---- mx.io ----
def _epochs(it, n=2):
    eps = []
    for _ in range(n):
        eps.append([(b.data[0].asnumpy()[:, 0].tolist(), b.label[0].asnumpy().tolist(), b.pad)
                    for b in it])
        it.reset()
    return eps


def test_ndarrayiter_last_batch_handles():
    d = np.arange(10).reshape(5, 2).astype("float64")
    lab = np.arange(5)
    pad = _epochs(mx.io.NDArrayIter(d, lab, 2, last_batch_handle="pad"))
    assert pad[0] == pad[1] == [([0, 2], [0, 1], 0), ([4, 6], [2, 3], 0), ([8, 0], [4, 0], 1)]
    disc = _epochs(mx.io.NDArrayIter(d, lab, 2, last_batch_handle="discard"))
    assert disc[0] == disc[1] == [([0, 2], [0, 1], 0), ([4, 6], [2, 3], 0)]
    roll = _epochs(mx.io.NDArrayIter(d, lab, 2, last_batch_handle="roll_over"), 3)
    assert roll[0] == [([0, 2], [0, 1], 0), ([4, 6], [2, 3], 0)]
    # MXNet 1.9 reports pad = number of rolled-over examples in the first batch
    assert roll[1] == [([8, 0], [4, 0], 1), ([2, 4], [1, 2], 0), ([6, 8], [3, 4], 0)]
    assert roll[2] == roll[0]


def test_ndarrayiter_pad_larger_than_data():
    it = mx.io.NDArrayIter(np.arange(3).reshape(3, 1), batch_size=7)
    (b,) = list(it)
    assert b.pad == 4 and b.data[0].asnumpy()[:, 0].tolist() == [0, 1, 2, 0, 1, 2, 0]


def test_ndarrayiter_descs_names_and_dtypes():
    d = np.ones((6, 2))
    it = mx.io.NDArrayIter(d, np.arange(6), 3)
    assert it.provide_data == [("data", (3, 2))]
    assert repr(it.provide_data) == "[DataDesc[data,(3, 2),<class 'numpy.float32'>,NCHW]]"
    assert it.provide_label[0].name == "softmax_label" and it.provide_label[0].shape == (3,)
    it = mx.io.NDArrayIter({"b": d, "a": d[:, :1]}, None, 3)
    assert [x.name for x in it.provide_data] == ["a", "b"] and it.provide_label == []
    assert next(it).label == []
    it = mx.io.NDArrayIter([d, d], [np.arange(6)] * 2, 2, label_name="lab")
    assert [x.name for x in it.provide_data] == ["_0_data", "_1_data"]
    assert [x.name for x in it.provide_label] == ["_0_lab", "_1_lab"]
    it = mx.io.NDArrayIter(nd.array(d, dtype="float64"), nd.array(np.arange(6), dtype="int32"),
                           2, data_name="x")
    assert it.provide_data[0].dtype == np.float64 and it.provide_label[0].dtype == np.int32
    b = next(it)
    assert isinstance(b, mx.io.DataBatch) and b.index is None
    assert str(b) == "DataBatch: data shapes: [(2, 2)] label shapes: [(2,)]"


def test_ndarrayiter_shuffle_matches_numpy_stream():
    d = np.arange(8).reshape(8, 1)
    np.random.seed(3)
    it = mx.io.NDArrayIter(d, np.arange(8), 4, shuffle=True)
    np.random.seed(3)
    perm = np.arange(8)
    np.random.shuffle(perm)
    b = next(it)
    assert b.data[0].asnumpy()[:, 0].tolist() == perm[:4].tolist()
    assert b.label[0].asnumpy().tolist() == perm[:4].tolist()   # data and label stay paired
    seen = sorted(sum((x.data[0].asnumpy()[:, 0].tolist() for x in [b] + list(it)), []))
    assert seen == list(range(8))


def test_ndarrayiter_rejects_bad_input():
    with pytest.raises(ValueError, match="last_batch_handle"):
        mx.io.NDArrayIter(np.ones((2, 1)), last_batch_handle="wrap")
    with pytest.raises(ValueError, match="examples"):
        mx.io.NDArrayIter(np.ones((4, 1)), np.ones(3))


def test_datadesc_and_resize_iter():
    desc = mx.io.DataDesc("x", (1, 2), "int32", "NTC")
    assert desc == ("x", (1, 2)) and desc.dtype == "int32" and desc.layout == "NTC"
    assert mx.io.DataDesc.get_batch_axis("TNC") == 1
    assert mx.io.DataDesc.get_batch_axis(None) == 0
    lst = mx.io.DataDesc.get_list([("a", (1, 2))], [("a", np.int32)])
    assert lst[0].dtype == np.int32
    r = mx.io.ResizeIter(mx.io.NDArrayIter(np.arange(7).reshape(7, 1), batch_size=3), 5)
    assert len(list(r)) == 5
    r.reset()
    assert len(list(r)) == 5


# ---- mx.model ----
def _mlp():
    net = mx.gluon.nn.HybridSequential()
    net.add(mx.gluon.nn.Dense(4, activation="relu"), mx.gluon.nn.BatchNorm(),
            mx.gluon.nn.Dense(2))
    net.initialize()
    net.hybridize()
    return net


def test_checkpoint_roundtrip(tmp_path):
    net = _mlp()
    x = nd.array(np.random.RandomState(0).rand(3, 5))
    y = net(x)
    prefix = str(tmp_path / "net")
    net.export(prefix, epoch=3)
    sym, args, auxs = mx.model.load_checkpoint(prefix, 3)
    # export names parameters by their full names, as MXNet 1.9 does
    assert sorted(auxs) == sorted([net[1].running_mean.name, net[1].running_var.name])
    assert net[0].weight.name in args and "data" in sym.list_arguments()
    prefix2 = str(tmp_path / "again")
    mx.model.save_checkpoint(prefix2, 7, sym, args, auxs)
    assert os.path.exists(prefix2 + "-symbol.json") and os.path.exists(prefix2 + "-0007.params")
    assert sorted(nd.load(prefix2 + "-0007.params")) == sorted(
        [f"arg:{k}" for k in args] + [f"aux:{k}" for k in auxs])
    blk = mx.gluon.SymbolBlock.imports(prefix2 + "-symbol.json", ["data"],
                                       prefix2 + "-0007.params")
    np.testing.assert_allclose(blk(x).asnumpy(), y.asnumpy(), rtol=1e-6)
    args2, auxs2 = mx.model.load_params(prefix2, 7)
    assert sorted(args2) == sorted(args) and sorted(auxs2) == sorted(auxs)
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp")]   # atomic writes


def test_checkpoint_without_symbol_and_bad_keys(tmp_path):
    prefix = str(tmp_path / "p")
    mx.model.save_checkpoint(prefix, 0, None, {"w": nd.ones((2,))}, None)
    assert not os.path.exists(prefix + "-symbol.json")
    assert list(mx.model.load_params(prefix, 0)[0]) == ["w"]
    nd.save(prefix + "-0001.params", {"w": nd.ones((2,))})
    with pytest.raises(mx.MXNetError, match="arg:"):
        mx.model.load_params(prefix, 1)


# ---- mx.test_utils ----
def test_test_utils_comparisons():
    tu = mx.test_utils
    a = nd.array([1.0, 2.0])
    tu.assert_almost_equal(a, np.array([1.0, 2.0 + 1e-4]))       # float32 rtol 1e-4 / atol 1e-3
    with pytest.raises(AssertionError, match="Location of maximum error.*x=2"):
        tu.assert_almost_equal(a, np.array([1.0, 2.1]), names=("x", "y"))
    tu.assert_almost_equal(a, [1.0, 2.1], atol=0.2)
    tu.assert_almost_equal(nd.ones((2, 3)), np.ones(3))           # broadcast by default
    with pytest.raises(AssertionError, match="shape"):
        tu.assert_almost_equal(nd.ones((2, 3)), np.ones(3), use_broadcast=False)
    tu.assert_almost_equal(np.array([np.nan]), np.array([np.nan]), equal_nan=True)
    with pytest.raises(AssertionError):
        tu.assert_almost_equal(np.array([np.nan]), np.array([np.nan]))
    with pytest.raises(AssertionError):   # float64 defaults are tight
        tu.assert_almost_equal(np.array([1.0]), np.array([1.0 + 1e-4]))
    tu.assert_almost_equal(np.array([1.0]), np.array([1.0 + 1e-4]), rtol={np.dtype("float64"):
                                                                         1e-3})
    assert tu.almost_equal(a, a.asnumpy()) and not tu.almost_equal(a, a.asnumpy() + 1e-3)
    assert tu.same(a, np.array([1, 2], dtype=np.float32)) and not tu.same(a, np.array([1, 3]))
    assert tu.get_tols(np.ones(1, np.float16), np.ones(1), None, None) == (1e-2, 1e-1)


def test_test_utils_random_and_context():
    tu = mx.test_utils
    x = tu.rand_ndarray((2, 3))
    assert x.shape == (2, 3) and x.dtype == np.float32
    assert tu.rand_ndarray((2,), dtype="float64").dtype == np.float64
    assert tu.rand_ndarray((2, 2), stype="csr", density=1).stype == "csr"   # sparse: MXNet's
    with pytest.raises(mx.MXNetError, match="unknown stype"):
        tu.rand_ndarray((2, 2), stype="coo")
    assert all(1 <= s <= 4 for s in tu.rand_shape_2d(4, 4))
    assert len(tu.rand_shape_3d()) == 3 and len(tu.rand_shape_nd(5, dim=2)) == 5
    assert 0 in tu.rand_shape_nd(200, dim=1, allow_zero_size=True)
    assert tu.default_context() == mx.cpu()
    with mx.cpu(0):
        tu.set_default_context(mx.cpu(1))
        assert tu.default_context() == mx.cpu(1) and nd.zeros(1).context == mx.cpu(1)
    assert tu.default_context() == mx.cpu()
    tu.assert_exception(nd.reshape, mx.MXNetError, nd.ones(4), shape=(3,))
    with pytest.raises(AssertionError):
        tu.assert_exception(nd.ones, ValueError, (2,))
    with tu.environment("KILN_TEST_UTILS_VAR", "1"):
        assert os.environ["KILN_TEST_UTILS_VAR"] == "1"
    assert "KILN_TEST_UTILS_VAR" not in os.environ


# ---- mx.onnx ----
def test_onnx_alias_roundtrip(tmp_path):
    import kiln.onnx
    assert kiln.onnx is mx.onnx
    x = mx.sym.var("data")
    y = mx.sym.FullyConnected(mx.sym.relu(x), num_hidden=3, name="fc")
    params = {"arg:fc_weight": nd.ones((3, 4)), "arg:fc_bias": nd.zeros((3,))}
    path = str(tmp_path / "fc.onnx")
    # MXNet 1.9's positional order: sym, params, in_shapes, in_types, onnx_file_path, verbose
    assert mx.onnx.export_model(y, params, [(2, 4)], np.float32, path, False) == path
    meta = mx.onnx.get_model_metadata(path)
    assert meta["input_tensor_data"] == [("data", (2, 4))]
    sym, args, auxs = mx.onnx.import_model(path)
    assert sorted(args) == ["fc_bias", "fc_weight"] and auxs == {}
    net = mx.onnx.import_to_gluon(path, mx.cpu())
    np.testing.assert_allclose(net(nd.ones((2, 4))).asnumpy(), np.full((2, 3), 4.0))
    dyn = str(tmp_path / "dyn.onnx")
    mx.onnx.export_model(y, params, input_shape=[(2, 4)], onnx_file_path=dyn, dynamic=True,
                         dynamic_input_shapes=[(None, 4)])
    assert mx.onnx.get_model_metadata(dyn)["input_tensor_data"] == [("data", (0, 4))]
    assert "FullyConnected" in mx.onnx.get_operator_support()
    assert mx.onnx.get_operator_support(11) == []


def test_test_utils_symbolic_checkers():
    tu, sym = mx.test_utils, mx.sym
    x = sym.var("x")
    tu.check_numeric_gradient(sym.tanh(x), [np.random.rand(3, 2)])
    fc = sym.FullyConnected(x, num_hidden=3, name="fc")
    loc = {"x": np.random.rand(2, 4), "fc_weight": np.random.rand(3, 4),
           "fc_bias": np.random.rand(3)}
    tu.check_numeric_gradient(fc, loc, grad_nodes={"x": "add", "fc_weight": "write",
                                                   "fc_bias": "null"})
    bn = sym.BatchNorm(x, name="bn", fix_gamma=False)
    tu.check_numeric_gradient(bn, {"x": np.random.rand(4, 3), "bn_gamma": np.random.rand(3),
                                   "bn_beta": np.random.rand(3)},
                              aux_states=[np.zeros(3), np.ones(3)], numeric_eps=1e-3,
                              rtol=1e-2, atol=1e-3)
    with pytest.raises(AssertionError, match="NUMERICAL_x"):   # a wrong gradient is caught
        tu.check_numeric_gradient(sym.BlockGrad(x) * x, [np.random.rand(3)])
    out = tu.check_symbolic_forward(sym.relu(x), [np.array([-1.0, 2.0])], [[0, 2]])
    assert out[0].asnumpy().tolist() == [0, 2]
    with pytest.raises(AssertionError, match="FORWARD_"):
        tu.check_symbolic_forward(sym.relu(x), [np.array([-1.0, 2.0])], [[1, 2]])
    two_x = 2 * x
    grads = tu.check_symbolic_backward(two_x, [np.ones(2)], [np.ones(2)], [[2, 2]])
    assert grads["x"].asnumpy().tolist() == [2, 2]
    tu.check_symbolic_backward(two_x, [np.ones(2)], [np.ones(2)], [[2, 2]], grad_req="add")
    tu.check_symbolic_backward(two_x, {"x": np.ones(2)}, [np.ones(2)], {"x": [9, 9]},
                               grad_req="null")
