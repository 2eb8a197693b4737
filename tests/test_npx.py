"""kiln.npx: the switches (set_np/reset_np and what they change in Gluon) and the operators
on np arrays, checked against real MXNet 1.9.1's npx and against numpy."""
import kiln
import numpy as onp
from _np_oracle import compare, program
from kiln import autograd, gluon, np, npx

OPS = program("npx_ops", """
    npx.set_np()
    rs = onp.random.RandomState(5)
    x = np.array(rs.normal(0, 1, (2, 3, 4)).astype("float32"))
    idx = np.array([[0, 3, 1], [2, 2, 0]]).astype("int32")
    put("relu", npx.relu(x))
    put("sigmoid", npx.sigmoid(x))
    put("softmax", npx.softmax(x, axis=1))
    put("log_softmax", npx.log_softmax(x))
    put("one_hot", npx.one_hot(idx, 4))
    put("pick", npx.pick(x, idx, axis=2))
    put("topk", npx.topk(x, k=2, ret_typ="both"))
    put("sequence_mask", npx.sequence_mask(x, np.array([1., 3.]), True, value=-1., axis=1))
    put("batch_dot", npx.batch_dot(x, x, transpose_b=True))
    g, b = np.array(rs.rand(4).astype("float32")), np.array(rs.rand(4).astype("float32"))
    put("layer_norm", npx.layer_norm(x, g, b, axis=-1, eps=1e-5))
    w = np.array(rs.normal(0, 1, (5, 12)).astype("float32"))
    put("fully_connected", npx.fully_connected(x, w, None, num_hidden=5, no_bias=True))
    emb = np.array(rs.normal(0, 1, (4, 3)).astype("float32"))
    put("embedding", npx.embedding(idx, emb, input_dim=4, output_dim=3))
    img = np.array(rs.normal(0, 1, (2, 3, 6, 6)).astype("float32"))
    k = np.array(rs.normal(0, 1, (4, 3, 3, 3)).astype("float32"))
    conv = npx.convolution(img, k, None, kernel=(3, 3), num_filter=4, no_bias=True, pad=(1, 1))
    put("convolution", conv)
    put("pooling", npx.pooling(conv, kernel=(2, 2), stride=(2, 2), pool_type="max"))
    put("dropout_predict", npx.dropout(x, p=0.5))
    put("nonzero", npx.nonzero(idx))
    put("gather_nd", npx.gather_nd(x, np.array([[0, 1], [2, 0]]).astype("int32")))
    put("erf", npx.erf(x))
    put("smooth_l1", npx.smooth_l1(x, scalar=1.0))
    put("cast", npx.cast(x, dtype="int32"))
    x.attach_grad()
    with autograd.record():
        y = npx.log_softmax(x) * npx.sigmoid(x)
    y.backward()
    put("grad", x.grad)
    put("types", [type(v).__name__ for v in (npx.relu(x), npx.softmax(x), npx.one_hot(idx, 4))])
""")


def test_npx_ops_match_mxnet():
    compare(OPS, rtol=1e-4, atol=1e-5)


def test_masked_softmax_against_numpy():  # MXNet 2's npx op; MXNet 1.9 lacks it
    rs = onp.random.RandomState(0)
    x, mask = rs.randn(3, 5).astype("float32"), rs.rand(3, 5) > 0.4
    mask[:, 0] = True
    e = onp.exp(x - x.max(axis=1, keepdims=True)) * mask
    ref = e / e.sum(axis=1, keepdims=True)
    got = npx.masked_softmax(np.array(x), np.array(mask))
    onp.testing.assert_allclose(got.asnumpy(), ref, rtol=1e-5, atol=1e-7)
    log = npx.masked_log_softmax(np.array(x), np.array(mask)).asnumpy()
    onp.testing.assert_allclose(log[mask], onp.log(ref[mask]), rtol=1e-5)
    assert onp.isneginf(log[~mask]).all()


def test_set_np_switches_gluon_to_np_arrays():
    assert not npx.is_np_array()
    plain = gluon.nn.Dense(2, in_units=3)
    plain.initialize()
    assert type(plain.weight.data()) is kiln.nd.NDArray
    npx.set_np()
    try:
        assert npx.is_np_array() and npx.is_np_shape()
        net = gluon.nn.Dense(2, in_units=3)
        net.initialize()
        assert isinstance(net.weight.data(), np.ndarray)
        x = np.ones((4, 3))
        with autograd.record():
            out = net(x)
        out.backward()
        assert isinstance(out, np.ndarray) and isinstance(net.weight.grad(), np.ndarray)
        onp.testing.assert_allclose(net.weight.grad().asnumpy(),
                                    onp.full((2, 3), 4.0, "float32"))
    finally:
        npx.reset_np()
    assert not npx.is_np_array() and not npx.is_np_shape()
    assert type(plain(kiln.nd.ones((1, 3)))) is kiln.nd.NDArray


def test_use_np_block_makes_np_parameters():
    @npx.use_np
    class Net(gluon.nn.HybridBlock):
        def __init__(self):
            super().__init__()
            self.dense = gluon.nn.Dense(3, in_units=2)

        def forward(self, x):
            return npx.relu(self.dense(x))

    net = Net()
    net.initialize()
    assert isinstance(net.dense.weight.data(), np.ndarray)
    x = np.array(onp.arange(6, dtype="float32").reshape(3, 2))
    eager = net(x)
    net.hybridize()
    hybrid = net(x)
    assert isinstance(hybrid, np.ndarray)
    onp.testing.assert_allclose(hybrid.asnumpy(), eager.asnumpy(), rtol=1e-6)
    assert not npx.is_np_array()


def test_np_functions_trace_under_hybridize():
    class Net(gluon.nn.HybridBlock):
        def __init__(self):
            super().__init__()
            self.dense = gluon.nn.Dense(4)

        def forward(self, x):
            h = self.dense(x)
            a = np.reshape(h, (-1, 2, 2))
            s = np.sum(np.concatenate([a, np.tanh(a)], axis=1), axis=(1, 2))
            t = np.mean(np.maximum(h, 0.5) * 2, axis=1)
            first, second = np.split(h, 2, axis=1)
            return (s + t, np.sum(np.where(h > 0, h, np.zeros_like(h))),
                    np.dot(h, np.transpose(h)), first - second, np.argmax(npx.softmax(h), 1),
                    np.linalg.norm(h, axis=1))

    npx.set_np()
    try:
        net = Net()
        net.initialize()
        x = np.array(onp.random.RandomState(0).randn(3, 5).astype("float32"))
        x.attach_grad()
        with autograd.record():
            eager = net(x)
            eager[0].backward()
        grad = x.grad.asnumpy()
        net.hybridize()
        with autograd.record():
            hybrid = net(x)
            hybrid[0].backward()
    finally:
        npx.reset_np()
    for a, b in zip(eager, hybrid):
        assert isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype
        onp.testing.assert_allclose(b.asnumpy(), a.asnumpy(), rtol=1e-5, atol=1e-6)
    assert eager[1].shape == () and eager[4].dtype == onp.int64
    onp.testing.assert_allclose(x.grad.asnumpy(), grad, rtol=1e-5, atol=1e-6)


def test_save_load_and_pickle_keep_np_arrays(tmp_path):
    import pickle
    w = np.array(onp.arange(6, dtype="float32").reshape(2, 3))
    npx.save(str(tmp_path / "a.params"), {"w": w})
    loaded = npx.load(str(tmp_path / "a.params"))["w"]
    assert isinstance(loaded, np.ndarray)
    onp.testing.assert_array_equal(loaded.asnumpy(), w.asnumpy())
    again = pickle.loads(pickle.dumps(w))
    assert isinstance(again, np.ndarray)
    onp.testing.assert_array_equal(again.asnumpy(), w.asnumpy())
    npx.set_np()
    try:
        net = gluon.nn.Dense(3, in_units=2)
        net.initialize()
        net.save_parameters(str(tmp_path / "n.params"))
        other = gluon.nn.Dense(3)
        other.load_parameters(str(tmp_path / "n.params"))
        assert isinstance(other.weight.data(), np.ndarray)
        onp.testing.assert_array_equal(other.weight.data().asnumpy(),
                                       net.weight.data().asnumpy())
    finally:
        npx.reset_np()
