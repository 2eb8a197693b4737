"""GPU (cupy) parity: every registry op, every layer, hybridize, training and files on gpu(0)
give what the CPU gives, and results stay on the GPU.

Skipped without cupy and a CUDA device. Where one exists:
``pip install -e ".[test,gpu]" && python -m pytest tests/test_gpu.py``.
"""
import kiln
import numpy as np
import opcheck
import pytest
from kiln import autograd, gluon, nd
from test_layers import CASE_IDS, CASES, RANDOM, _build, _run, _x

pytestmark = pytest.mark.skipif(kiln.num_gpus() == 0, reason="needs cupy and a CUDA device")
GPU = kiln.gpu(0)
ALL_OPS, _cases = opcheck.ALL_OPS, opcheck.cases


def _on_gpu(values):
    return [v.as_in_context(GPU) if isinstance(v, nd.NDArray) else v for v in values]


def _gpu_attrs(inputs, attrs):
    """Creation ops (no array inputs) are told the device; others follow their inputs."""
    if any(isinstance(v, nd.NDArray) for v in inputs):
        return attrs
    return dict(attrs, ctx=GPU)


def _assert_on_gpu(arrays, what):
    for a in arrays:
        assert a.context == GPU, f"{what}: result on {a.context}"
        assert not isinstance(a._data, np.ndarray), f"{what}: result holds a numpy array"


def _close(got, want, what, rtol=1e-6, atol=1e-8):
    for g, w in zip(got, want):
        g, w = g.asnumpy(), w.asnumpy()
        assert g.shape == w.shape and g.dtype == w.dtype, \
            f"{what}: gpu {g.shape} {g.dtype} != cpu {w.shape} {w.dtype}"
        np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=rtol,
                                   atol=atol, err_msg=what)


# ---- every op ----------------------------------------------------------------------------------
def _follows_inputs(op, sample):
    """Not random and not told a device (to_device's target is its own test)."""
    return not op.random and not {"ctx", "device"} & set(sample.attrs)


def _has_array_input(op, sample):
    return _follows_inputs(op, sample) and any(isinstance(a, np.ndarray) for a in sample.inputs)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op,sample", _cases(_follows_inputs))
def test_op_on_gpu_equals_cpu(op, sample, dtype):
    cpu_in = opcheck.to_nd(sample.inputs, dtype)
    want = opcheck.as_list(op.func(*cpu_in, **sample.attrs))
    got = opcheck.as_list(op.func(*_on_gpu(cpu_in), **_gpu_attrs(cpu_in, sample.attrs)))
    _assert_on_gpu(got, op.name)
    tol = (1e-4, 1e-5) if dtype == "float32" else (1e-6, 1e-8)
    _close(got, want, f"{op.name} {dtype}", *tol)


@pytest.mark.parametrize("op,sample", _cases(lambda op, s: op.random))
def test_random_op_on_gpu_shape_and_dtype(op, sample):
    cpu_in = opcheck.to_nd(sample.inputs, "float32")
    want = opcheck.as_list(op.func(*cpu_in, **sample.attrs))
    got = opcheck.as_list(op.func(*_on_gpu(cpu_in), **_gpu_attrs(cpu_in, sample.attrs)))
    _assert_on_gpu(got, op.name)
    assert [(g.shape, g.dtype) for g in got] == [(w.shape, w.dtype) for w in want]


def _grads(op, sample, ctx):
    inputs = [a.astype(np.float64) if opcheck.is_float_array(a) else a for a in sample.inputs]
    with autograd.pause():
        outs = opcheck.run(op, inputs, sample.attrs, np.float64)
    weights = opcheck._loss_weights(outs)
    wrt = opcheck._wrt(sample)
    xs = opcheck.to_nd(inputs, np.float64)
    if ctx is GPU:
        xs = _on_gpu(xs)
    for i in wrt:
        xs[i].attach_grad()
    with autograd.record():
        outs = opcheck.as_list(op.func(*xs, **sample.attrs))
        heads = [o for o, w in zip(outs, weights) if w is not None]
        hg = [nd.array(w, ctx=ctx, dtype=w.dtype) for w in weights if w is not None]
    autograd.backward(heads, hg)
    return [xs[i].grad for i in wrt]


@pytest.mark.parametrize("op,sample", _cases(lambda op, s: op.grad is not None and s.grad))
def test_gradient_on_gpu_equals_cpu(op, sample):
    got = _grads(op, sample, GPU)
    _assert_on_gpu(got, f"{op.name} gradient")
    _close(got, _grads(op, sample, kiln.cpu()), f"{op.name} gradient")


@pytest.mark.parametrize("static_alloc", [False, True], ids=["dynamic", "static"])
@pytest.mark.parametrize("op,sample", _cases(_has_array_input))
def test_hybridized_op_on_gpu(op, sample, static_alloc):
    from kiln.symbol.cached import CachedGraph
    cpu_in = opcheck.to_nd(sample.inputs, "float64")
    pos = [k for k, a in enumerate(cpu_in) if isinstance(a, nd.NDArray)]

    def fn(*arrays):
        args = list(cpu_in)
        for k, a in zip(pos, arrays):
            args[k] = a
        return op.func(*args, **sample.attrs)

    gpu_in = _on_gpu([cpu_in[k] for k in pos])
    graph = CachedGraph(opcheck._FnBlock(fn), {"static_alloc": static_alloc})
    for _ in range(2):          # the second call reuses the compiled graph (and its buffers)
        got = opcheck.as_list(graph(*gpu_in))
        _assert_on_gpu(got, f"{op.name} hybridized")
        _close(got, opcheck.as_list(fn(*[cpu_in[k] for k in pos])), f"{op.name} hybridized")


# ---- every layer -------------------------------------------------------------------------------
def _layer_on(factory, shape, kind, ctx):
    block = _build(factory, shape, kind)
    block.collect_params().reset_ctx(ctx)
    return block


@pytest.mark.parametrize("hybridize", [False, True], ids=["eager", "hybridized"])
@pytest.mark.parametrize("name, factory, shape, shape2, kind", CASES, ids=CASE_IDS)
def test_layer_on_gpu_equals_cpu(name, factory, shape, shape2, kind, hybridize):
    cpu_block = _layer_on(factory, shape, kind, kiln.cpu())
    gpu_block = _layer_on(factory, shape, kind, GPU)
    if hybridize:
        gpu_block.hybridize(static_alloc=True)
    for s in (shape, shape2):
        x = _x(s, kind, seed=2)
        for train in (True, False):
            head = nd.array(np.random.default_rng(7).uniform(0.5, 1.5, size=cpu_block(x).shape),
                            dtype="float64")
            gy, gx, gg = _run(gpu_block, x.as_in_context(GPU), train, head.as_in_context(GPU))
            if name in RANDOM and train:      # cupy draws other masks: compare shapes only
                assert gy.shape == head.shape
                continue
            cy, cx, cg = _run(cpu_block, x, train, head)
            np.testing.assert_allclose(gy, cy, rtol=1e-6, atol=1e-8, err_msg=f"{name} output")
            np.testing.assert_allclose(gx, cx, rtol=1e-6, atol=1e-8, err_msg=f"{name} x grad")
            for k in cg:
                np.testing.assert_allclose(gg[k], cg[k], rtol=1e-6, atol=1e-8,
                                           err_msg=f"{name} {k}")
    for p in gpu_block.collect_params().values():
        _assert_on_gpu([p.data()], f"{name} {p.name}")


# ---- training, model zoo, files ---------------------------------------------------------------
def _mlp(ctx, seed=0):
    kiln.random.seed(seed)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(16, activation="relu"), gluon.nn.BatchNorm(),
            gluon.nn.Dropout(0.0), gluon.nn.Dense(4))
    net.initialize(kiln.init.Xavier(), ctx=kiln.cpu())
    net(nd.zeros((2, 8)))
    net.collect_params().reset_ctx(ctx)
    return net


def _train(ctx, optimizer, hybridize, steps=3):
    net = _mlp(ctx)
    if hybridize:
        net.hybridize(static_alloc=True, static_shape=True)
    trainer = gluon.Trainer(net.collect_params(), optimizer, {"learning_rate": 0.1})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    rng = np.random.default_rng(3)
    for _ in range(steps):
        x = nd.array(rng.normal(size=(6, 8)), ctx=ctx)
        y = nd.array(rng.integers(0, 4, size=6), ctx=ctx)
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(6)
    return {k: p.data() for k, p in net._collect_params_with_prefix().items()}, loss


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "nag", "rmsprop"])
@pytest.mark.parametrize("hybridize", [False, True], ids=["eager", "hybridized"])
def test_training_on_gpu_equals_cpu(optimizer, hybridize):
    got, gloss = _train(GPU, optimizer, hybridize)
    want, closs = _train(kiln.cpu(), optimizer, False)
    _assert_on_gpu(list(got.values()) + [gloss], optimizer)
    _close([gloss], [closs], f"{optimizer} loss", 1e-4, 1e-5)
    for k in want:
        _close([got[k]], [want[k]], f"{optimizer} {k}", 1e-4, 1e-5)


def test_model_zoo_resnet_on_gpu():
    from kiln.model_zoo import vision
    kiln.random.seed(0)
    net = vision.resnet18_v1(classes=10)
    net.initialize(kiln.init.Xavier())
    x = nd.array(np.random.default_rng(0).normal(size=(2, 3, 32, 32)))
    want = net(x)
    net.collect_params().reset_ctx(GPU)
    net.hybridize()
    got = net(x.as_in_context(GPU))
    _assert_on_gpu([got], "resnet18_v1")
    _close([got], [want], "resnet18_v1", 1e-3, 1e-4)


def test_save_on_gpu_load_on_cpu_and_back(tmp_path):
    net = _mlp(GPU)
    net.hybridize()
    x = nd.array(np.random.default_rng(1).normal(size=(3, 8)))
    want = net(x.as_in_context(GPU))
    net.save_parameters(str(tmp_path / "p.params"))
    net.export(str(tmp_path / "m"))
    cpu_net = _mlp(kiln.cpu(), seed=9)
    cpu_net.load_parameters(str(tmp_path / "p.params"), ctx=kiln.cpu())
    _close([cpu_net(x)], [want], "load_parameters on cpu", 1e-5, 1e-6)
    imported = gluon.SymbolBlock.imports(str(tmp_path / "m-symbol.json"), ["data"],
                                         str(tmp_path / "m-0000.params"), ctx=GPU)
    got = imported(x.as_in_context(GPU))
    _assert_on_gpu([got], "SymbolBlock.imports on gpu")
    _close([got], [want], "SymbolBlock.imports on gpu", 1e-5, 1e-6)


def test_onnx_export_of_gpu_block_matches_onnxruntime(tmp_path):
    import onnxruntime as ort
    net = _mlp(GPU)
    net.hybridize()
    x = np.random.default_rng(2).normal(size=(3, 8)).astype(np.float32)
    want = net(nd.array(x, ctx=GPU)).asnumpy()
    net.export(str(tmp_path / "m"))
    path = kiln.onnx.export_model(str(tmp_path / "m-symbol.json"), str(tmp_path / "m-0000.params"),
                                  [(3, 8)], np.float32, str(tmp_path / "m.onnx"))
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


# ---- arrays and devices ------------------------------------------------------------------------
def test_array_basics_on_gpu():
    a = nd.array([[1.0, 2.0], [3.0, 4.0]], ctx=GPU)
    b = nd.ones((2, 2), ctx=GPU)
    _assert_on_gpu([a, b, a + b, a[1], a.T, nd.dot(a, b), a.sum(axis=0)], "basics")
    a[0, 1] = 7.0
    a[1] = np.array([5.0, 6.0])
    assert a.asnumpy().tolist() == [[1.0, 7.0], [5.0, 6.0]]
    assert "@gpu(0)" in repr(a)
    assert a.copyto(kiln.cpu()).context == kiln.cpu()
    with GPU:
        _assert_on_gpu([nd.zeros((2,)), nd.arange(3)], "current device")
    with pytest.raises(Exception, match="gpu|cpu"):
        a + nd.ones((2, 2))                        # mixed devices: a clear error


def test_grad_req_add_on_gpu():
    x = nd.array([1.0, 2.0, 3.0], ctx=GPU)
    x.attach_grad(grad_req="add")
    for _ in range(2):
        with autograd.record():
            y = (x * x).sum()
        y.backward()
    _assert_on_gpu([x.grad], "grad")
    assert x.grad.asnumpy().tolist() == [4.0, 8.0, 12.0]


def test_indexing_and_assignment_take_host_values_on_gpu():
    a = nd.array(np.arange(12).reshape(3, 4), ctx=GPU)
    got = a[[0, 2], [1, 3]]                       # list keys go where the array is
    _assert_on_gpu([got], "list index")
    assert got.asnumpy().tolist() == [1.0, 11.0]
    assert a[nd.array([2, 0])].asnumpy()[:, 0].tolist() == [8.0, 0.0]   # a CPU index array
    a[nd.array([0])] = nd.array([[9, 9, 9, 9]])  # CPU key and value are copied over (MXNet)
    a[1] = [5, 6, 7, 8]
    a[2, :] = np.array([1, 2, 3, 4])
    a[0, 0] = [0]
    assert a.asnumpy().tolist() == [[0, 9, 9, 9], [5, 6, 7, 8], [1, 2, 3, 4]]
    _assert_on_gpu([a], "assigned")


def test_numpy_inputs_join_the_current_gpu():
    from kiln.gluon.data.vision import transforms
    with GPU:
        got = transforms.ToTensor()(np.full((4, 4, 3), 255, np.uint8))
    _assert_on_gpu([got], "ToTensor of a numpy image")
    assert got.shape == (3, 4, 4) and float(got.asnumpy().min()) == 1.0


def test_dataloader_workers_under_a_gpu_context_give_cpu_batches():
    ds = gluon.data.ArrayDataset(np.arange(8, dtype=np.float32).reshape(4, 2), np.arange(4))
    with GPU:                       # workers are forked: CUDA must not be touched there
        batches = list(gluon.data.DataLoader(ds, batch_size=2, num_workers=2))
    assert [b[0].context for b in batches] == [kiln.cpu(), kiln.cpu()]
    assert batches[1][0].asnumpy().tolist() == [[4.0, 5.0], [6.0, 7.0]]


def test_executor_backward_copies_out_grads_to_the_device():
    x = kiln.sym.var("x")
    ex = (x * 2).bind(GPU, {"x": nd.ones((2,), ctx=GPU)}, args_grad={"x": nd.zeros((2,), ctx=GPU)})
    ex.forward(is_train=True)
    ex.backward(nd.ones((2,)))      # a CPU head gradient, copied as MXNet's CopyFromTo does
    _assert_on_gpu([ex.grad_dict["x"]], "executor gradient")
    assert ex.grad_dict["x"].asnumpy().tolist() == [2.0, 2.0]


def test_simple_bind_and_from_numpy_on_gpu():
    x = kiln.sym.var("x")
    ex = (x * x).simple_bind(GPU, x=(3,))
    ex.forward(is_train=True, x=np.array([1.0, 2.0, 3.0]))
    ex.backward(nd.ones((3,), ctx=GPU))
    _assert_on_gpu([ex.outputs[0], ex.grad_dict["x"]], "simple_bind")
    assert ex.grad_dict["x"].asnumpy().tolist() == [2.0, 4.0, 6.0]
    with GPU:
        _assert_on_gpu([nd.from_numpy(np.ones(2), zero_copy=False)], "from_numpy copy")


def test_head_gradient_from_the_cpu_is_copied_to_the_gpu():
    for hybridize in (False, True):
        net = _mlp(GPU)
        if hybridize:
            net.hybridize()
        x = nd.array(np.ones((2, 8)), ctx=GPU)
        with autograd.record():
            y = net(x)
        y.backward(nd.ones((2, 4)))              # a CPU head gradient
        _assert_on_gpu([net[0].weight.grad()], "gradient")


def test_argmax_argmin_with_nan_on_gpu_match_numpy():
    x = np.array([[1.0, np.nan, 3.0, np.nan], [2.0, 5.0, np.inf, np.inf], [4.0, 1.0, 1.0, 0.5]])
    for fn, np_fn in ((nd.argmax, np.argmax), (nd.argmin, np.argmin)):
        for axis in (0, 1, None):
            got = fn(nd.array(x, ctx=GPU, dtype="float64"), axis=axis)
            want = np_fn(x) if axis is None else np_fn(x, axis=axis)
            np.testing.assert_array_equal(got.asnumpy().reshape(-1), np.reshape(want, -1))


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])  # float16: generic path
@pytest.mark.parametrize("mode,scale,keepdims", [("clip", -1.0, False), ("wrap", -1.0, False),
                                                 ("clip", 0.5, True), ("wrap", 1.0, False)])
def test_fused_softmax_cross_entropy_kernels_match_cpu(dtype, mode, scale, keepdims):
    """The one-launch CUDA kernels (ndarray/ops/_cuda_fused.py): out-of-range and fractional
    labels, a NaN row, each output and the gradient as the CPU computes them."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(9, 7)) * 4
    x[4, 2] = np.nan
    labels = np.array([0, 6, 3.7, -2, 9, 1, 13, 5, 2.2])
    grad = rng.normal(size=(9, 1) if keepdims else (9,))
    outs = []
    for ctx in (kiln.cpu(), GPU):
        data, index = nd.array(x, dtype=dtype, ctx=ctx), nd.array(labels, ctx=ctx)
        fwd = nd._log_softmax_pick(data, index, keepdims=keepdims, mode=mode, scale=scale,
                                   hidden=True)
        bwd = nd._log_softmax_pick_backward(nd.array(grad, dtype=dtype, ctx=ctx), *fwd[1:],
                                            scale=scale)
        outs.append([*fwd, bwd])
    tol = 2e-2 if dtype == "float16" else 1e-5
    for k, (c, g) in enumerate(zip(*outs)):
        assert g.context == GPU
        np.testing.assert_allclose(g.asnumpy().astype(np.float64), c.asnumpy(), rtol=tol,
                                   atol=tol, err_msg=f"output {k}")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("momentum,wd", [(0.0, 0.0), (0.0, 1e-2), (0.9, 0.0), (0.9, 1e-2)])
def test_sgd_update_kernel_matches_cpu(dtype, momentum, wd):
    import cupy
    from kiln.optimizer.sgd import sgd_kernel
    rng = np.random.default_rng(6)
    w, g, m = rng.normal(size=(3, 40, 30)).astype(dtype)
    results = []
    for xp in (np, cupy):
        wk, gk = xp.asarray(w.copy()), xp.asarray(g)
        mk = xp.asarray(m.copy()) if momentum else None
        for _ in range(3):
            sgd_kernel(xp, wk, gk, mk, 0.05, wd, momentum, 1 / 8, None)
        results.append([cupy.asnumpy(a) if xp is cupy else a for a in (wk, mk) if a is not None])
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_backward_kernel_matches_cpu(dtype):
    g = np.array([1.0, -2.0, np.inf, np.nan, 3.0, -np.inf, 0.5], dtype)
    y = np.array([1.0, 0.0, 0.0, 2.0, np.nan, -1.0, 0.0], dtype)
    want = nd._relu_backward(nd.array(g, dtype=dtype), nd.array(y, dtype=dtype)).asnumpy()
    got = nd._relu_backward(nd.array(g, dtype=dtype, ctx=GPU), nd.array(y, dtype=dtype, ctx=GPU))
    assert got.context == GPU
    np.testing.assert_array_equal(got.asnumpy(), want)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("wd", [0.0, 1e-2])
def test_adam_update_kernel_matches_cpu(dtype, wd):
    import cupy
    from kiln.optimizer.adam import adam_kernel
    rng = np.random.default_rng(7)
    w, g = rng.normal(size=(2, 40, 30)).astype(dtype)
    results = []
    for xp in (np, cupy):
        wk, gk = xp.asarray(w.copy()), xp.asarray(g)
        mean, var = xp.zeros_like(wk), xp.zeros_like(wk)
        for t in range(1, 4):
            adam_kernel(xp, wk, gk, mean, var, 0.01 * t, wd, 0.9, 0.999, 1e-8, 1 / 8, None)
        results.append([cupy.asnumpy(a) if xp is cupy else a for a in (wk, mean, var)])
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
