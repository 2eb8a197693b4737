"""kiln.amp training and inference tools: the dynamic loss scaler, the Trainer's skip on
overflow, unscale, convert_hybrid_block and the ONNX export of a float16 model."""
import kiln as mx
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from kiln import amp, autograd, gluon
from kiln.gluon import nn, rnn


@pytest.fixture(autouse=True)
def _amp_off():
    amp.reset()
    yield
    amp.reset()


def _data(seed=0, n=8):
    rng = np.random.default_rng(seed)
    return (mx.nd.array(0.1 * rng.standard_normal((n, 5))),
            mx.nd.array(0.1 * rng.standard_normal((n, 3))))


def _dense():
    mx.random.seed(1)
    net = nn.Dense(3)
    net.initialize(mx.init.Xavier())
    return net


def _backward(net, trainer, x, y, scaled=True):
    with autograd.record():
        loss = gluon.loss.L2Loss()(net(x), y)
        if scaled:
            with amp.scale_loss(loss, trainer) as s:
                autograd.backward(s)
        else:
            loss.backward()


def test_loss_scaler_schedule():
    p = gluon.Parameter("w", shape=(3,))
    p.initialize()
    s = amp.LossScaler()
    start = s.loss_scale
    assert start == 2.0 ** 16
    for _ in range(2000):
        assert not s.has_overflow([p])
    assert s.loss_scale == start          # the doubling takes effect at the next check
    s.has_overflow([p])
    assert s.loss_scale == 2 * start
    p.grad()[:] = np.nan
    assert s.has_overflow([p])
    s.has_overflow([p])
    assert s.loss_scale == start          # halved
    s._next_loss_scale = 2.0 ** 24
    p.grad()[:] = 0
    for _ in range(2001):
        s.has_overflow([p])
    assert s.loss_scale == 2.0 ** 24      # capped


def test_scaled_step_equals_plain_step():
    amp.init()
    x, y = _data()
    net = _dense()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.5})
    amp.init_trainer(trainer)
    _backward(net, trainer, x, y, scaled=False)
    plain = net.weight.grad().asnumpy().copy()
    _backward(net, trainer, x, y)
    scale = trainer._amp_loss_scaler.loss_scale
    scaled = net.weight.grad().asnumpy()
    # a power-of-two scale is exact in float16 while nothing overflows or underflows
    np.testing.assert_allclose(scaled / scale, plain, rtol=1e-3, atol=1e-7)
    w0 = net.weight.data().asnumpy().copy()
    trainer.step(x.shape[0])
    np.testing.assert_allclose(net.weight.data().asnumpy(),
                               w0 - 0.5 * scaled / scale / x.shape[0], rtol=1e-5, atol=1e-7)


def test_overflow_skips_the_step_and_halves_the_scale():
    amp.init()
    x, y = _data()
    net = _dense()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.5})
    amp.init_trainer(trainer)
    _backward(net, trainer, x, y)
    net.weight.grad()[0, 0] = np.inf
    w0 = net.weight.data().asnumpy().copy()
    b0 = net.bias.data().asnumpy().copy()
    trainer.step(x.shape[0])
    np.testing.assert_array_equal(net.weight.data().asnumpy(), w0)
    np.testing.assert_array_equal(net.bias.data().asnumpy(), b0)
    _backward(net, trainer, x, y)         # still the old scale: halving shows next check
    trainer.step(x.shape[0])
    assert trainer._amp_loss_scaler.loss_scale == 2.0 ** 15
    assert not np.array_equal(net.weight.data().asnumpy(), w0)


def test_unscale_then_step():
    amp.init()
    x, y = _data()
    net = _dense()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.5})
    amp.init_trainer(trainer)
    _backward(net, trainer, x, y)
    scaled = net.weight.grad().asnumpy().copy()
    amp.unscale(trainer)
    np.testing.assert_allclose(net.weight.grad().asnumpy(),
                               scaled / trainer._amp_loss_scaler.loss_scale, rtol=1e-6)
    assert trainer._scale == 1.0
    w0 = net.weight.data().asnumpy().copy()
    g = net.weight.grad().asnumpy().copy()
    trainer.step(x.shape[0])
    np.testing.assert_allclose(net.weight.data().asnumpy(), w0 - 0.5 * g / x.shape[0],
                               rtol=1e-5, atol=1e-7)


def _lm(hybridize):
    mx.random.seed(2)
    net = nn.HybridSequential()
    net.add(nn.Embedding(20, 8), rnn.LSTM(16), nn.Dense(20, flatten=False))
    net.initialize(mx.init.Xavier())
    if hybridize:
        net.hybridize()
    return net


def test_lstm_training_step_eager_and_hybridized():
    amp.init()
    tokens = mx.nd.array(np.random.default_rng(0).integers(0, 20, (6, 4)))
    weights = []
    for hyb in (False, True):
        net = _lm(hyb)
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.5})
        amp.init_trainer(trainer)
        for _ in range(2):
            with autograd.record():
                out = net(tokens)
                loss = gluon.loss.SoftmaxCrossEntropyLoss()(out, tokens)
                with amp.scale_loss(loss, trainer) as s:
                    autograd.backward(s)
            trainer.step(4)
        assert out.dtype == np.float16
        weights.append([p.data().asnumpy() for p in net.collect_params().values()])
    for a, b in zip(*weights):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)


def test_convert_hybrid_block_and_fp16_onnx(tmp_path):
    mx.random.seed(4)
    net = nn.HybridSequential()
    net.add(nn.Conv2D(6, 3, padding=1), nn.BatchNorm(), nn.Activation("relu"),
            nn.GlobalAvgPool2D(), nn.Dense(4))
    net.initialize(mx.init.Xavier())
    x = mx.nd.array(np.random.default_rng(0).standard_normal((2, 3, 6, 6)))
    with pytest.raises(RuntimeError, match="hybridize"):
        amp.convert_hybrid_block(net)
    net.hybridize()
    ref = net(x).asnumpy()
    conv = amp.convert_hybrid_block(net)
    assert all(p.data().dtype == np.float32 for p in conv.collect_params().values())
    got = conv(x)
    assert got.dtype == np.float16
    np.testing.assert_allclose(got.asnumpy(), ref, rtol=1e-2, atol=1e-2)
    small = amp.convert_hybrid_block(net, cast_optional_params=True)
    kinds = {p.data().dtype for p in small.collect_params().values()}
    assert kinds == {np.float16, np.float32}   # BatchNorm keeps float32
    np.testing.assert_array_equal(small(x).asnumpy(), got.asnumpy())
    small.hybridize()
    small(x)
    path = small.export_onnx(str(tmp_path / "m.onnx"), x)
    model = onnx.load(path)
    assert onnx.TensorProto.FLOAT16 in {t.data_type for t in model.graph.initializer}
    sess = ort.InferenceSession(path)
    out = sess.run(None, {sess.get_inputs()[0].name: x.asnumpy()})[0]
    np.testing.assert_allclose(out.astype(np.float32), got.asnumpy(), rtol=1e-2, atol=1e-2)


def test_convert_model_casts_optional_params(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # export writes m-symbol.json and m-0000.params here
    net = nn.HybridSequential()
    net.add(nn.Dense(4, activation="relu"), nn.Dense(2))
    net.initialize()
    net.hybridize()
    x = mx.nd.ones((1, 3))
    net(x)
    net.export("m")
    sym_file, params_file = "m-symbol.json", "m-0000.params"
    sym = mx.sym.load(sym_file)
    saved = mx.nd.load(params_file)
    args = {k[4:]: v for k, v in saved.items() if k.startswith("arg:")}
    new_sym, new_args, _ = amp.convert_model(sym, args, {}, cast_optional_params=True)
    assert {v.dtype for v in new_args.values()} == {np.float16}
    assert {v.dtype for v in args.values()} == {np.float32}   # the inputs are not changed
    out = new_sym.eval(data=x, **new_args)[0]
    np.testing.assert_allclose(out.asnumpy(), net(x).asnumpy(), rtol=1e-2, atol=1e-2)


def test_contrib_namespace():
    import kiln.contrib
    assert kiln.contrib.amp is amp
    assert kiln.contrib.onnx.export_model is mx.onnx.export_model
    assert kiln.contrib.nd is mx.nd.contrib and kiln.contrib.sym is mx.sym.contrib


def test_softmax_output_takes_the_loss_scale():
    """MXNet's SoftmaxOutput ignores its head gradient: AMP scales its grad_scale instead, so
    the Trainer's division by the loss scale gives the plain gradient back."""
    x = mx.nd.array(np.random.default_rng(0).standard_normal((4, 5)))
    label = mx.nd.array([0, 2, 1, 4])

    def grad(trainer=None):
        w = mx.nd.ones((5, 5)) * 0.1
        w.attach_grad()
        with autograd.record():
            out = mx.nd.SoftmaxOutput(mx.nd.dot(x, w), label)
            if trainer is None:
                out.backward()
            else:
                with amp.scale_loss(out, trainer) as s:
                    autograd.backward(s)
        return w.grad.asnumpy()

    plain = grad()
    amp.init()
    assert "softmax_output" in amp.list_loss_output_functions()
    trainer = gluon.Trainer([gluon.Parameter("p", shape=(1,))], "sgd")
    amp.init_trainer(trainer)
    scaled = grad(trainer)
    np.testing.assert_allclose(scaled * trainer._scale, plain, rtol=1e-5, atol=1e-7)
