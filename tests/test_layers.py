"""Gluon layers (nn/basic_layers.py, nn/activations.py, nn/conv_layers.py): shapes, deferred
initialization, float64 finite-difference gradients, reprs, BatchNorm statistics, Dropout,
torch cross-checks (when torch is importable) and hybridized-versus-eager equality."""
import kiln
import numpy as np
import pytest
from kiln import autograd, gluon, nd

nn = gluon.nn
RNG = np.random.default_rng


def _x(shape, kind="float", seed=0, dtype="float64"):
    if kind == "index":
        return nd.array(RNG(seed).integers(0, 6, size=shape), dtype=dtype)
    return nd.array(RNG(seed).normal(size=shape), dtype=dtype)


# (id, factory, first input shape, second input shape, input kind)
CASES = [
    ("dense", lambda: nn.Dense(3), (2, 2, 3), (4, 2, 3), "float"),
    ("dense_relu_noflat", lambda: nn.Dense(3, activation="tanh", flatten=False), (2, 3, 4),
     (1, 5, 4), "float"),
    ("dense_nobias", lambda: nn.Dense(2, use_bias=False, in_units=4), (3, 4), (5, 4), "float"),
    ("dropout", lambda: nn.Dropout(0.5), (3, 4), (2, 5), "float"),
    ("dropout_axes", lambda: nn.Dropout(0.3, axes=(1,)), (3, 4), (2, 5), "float"),
    ("batchnorm", lambda: nn.BatchNorm(), (3, 2, 4), (4, 2, 3), "float"),
    ("batchnorm_axis", lambda: nn.BatchNorm(axis=-1, scale=False, momentum=0.8), (4, 3),
     (6, 3), "float"),
    ("batchnorm_relu", lambda: nn.BatchNormReLU(), (3, 2, 4), (2, 2, 2), "float"),
    ("layernorm", lambda: nn.LayerNorm(), (3, 5), (2, 2, 5), "float"),
    ("layernorm_axis", lambda: nn.LayerNorm(axis=1, center=False), (2, 3, 2), (1, 3, 4),
     "float"),
    ("instancenorm", lambda: nn.InstanceNorm(scale=True), (2, 3, 4), (3, 3, 2), "float"),
    ("instancenorm_axis", lambda: nn.InstanceNorm(axis=2), (2, 3, 4), (1, 2, 4), "float"),
    ("groupnorm", lambda: nn.GroupNorm(2), (2, 4, 3), (3, 4, 2), "float"),
    ("embedding", lambda: nn.Embedding(6, 3), (2, 3), (4,), "index"),
    ("flatten", lambda: nn.Flatten(), (2, 3, 2), (3, 2, 2), "float"),
    ("activation", lambda: nn.Activation("softrelu"), (3, 4), (2, 2), "float"),
    ("leakyrelu", lambda: nn.LeakyReLU(0.1), (3, 4), (2, 2), "float"),
    ("prelu", lambda: nn.PReLU(), (3, 4), (2, 2), "float"),
    ("prelu_channels", lambda: nn.PReLU(in_channels=3), (2, 3, 2), (1, 3, 4), "float"),
    ("elu", lambda: nn.ELU(alpha=0.7), (3, 4), (2, 2), "float"),
    ("selu", lambda: nn.SELU(), (3, 4), (2, 2), "float"),
    ("gelu", lambda: nn.GELU(), (3, 4), (2, 2), "float"),
    ("gelu_tanh", lambda: nn.GELU(approximation="tanh"), (3, 4), (2, 2), "float"),
    ("swish", lambda: nn.Swish(beta=1.5), (3, 4), (2, 2), "float"),
    ("silu", lambda: nn.SiLU(), (3, 4), (2, 2), "float"),
    ("conv1d", lambda: nn.Conv1D(2, 3, padding=1), (2, 2, 5), (1, 2, 4), "float"),
    ("conv2d", lambda: nn.Conv2D(4, 3, strides=2, padding=1, groups=2, activation="relu"),
     (2, 2, 5, 5), (1, 2, 4, 4), "float"),
    ("conv2d_nhwc", lambda: nn.Conv2D(2, (2, 3), layout="NHWC"), (1, 4, 4, 2), (2, 3, 5, 2),
     "float"),
    ("conv3d", lambda: nn.Conv3D(2, 2, dilation=1), (1, 2, 3, 3, 3), (1, 2, 2, 3, 2),
     "float"),
    ("conv1d_t", lambda: nn.Conv1DTranspose(2, 3, strides=2, output_padding=1),
     (2, 2, 3), (1, 2, 4), "float"),
    ("conv2d_t", lambda: nn.Conv2DTranspose(2, 3, strides=2, padding=1, groups=2),
     (1, 2, 3, 3), (2, 2, 2, 3), "float"),
    ("conv3d_t", lambda: nn.Conv3DTranspose(1, 2, use_bias=False), (1, 2, 2, 2, 2),
     (1, 2, 2, 1, 2), "float"),
    ("maxpool1d", lambda: nn.MaxPool1D(3, 2, ceil_mode=True), (2, 2, 6), (1, 2, 7), "float"),
    ("maxpool2d", lambda: nn.MaxPool2D(), (2, 2, 4, 4), (1, 2, 6, 4), "float"),
    ("maxpool2d_nhwc", lambda: nn.MaxPool2D(layout="NHWC"), (1, 4, 4, 2), (2, 2, 6, 2),
     "float"),
    ("maxpool3d", lambda: nn.MaxPool3D(2, 1, 1), (1, 1, 2, 3, 2), (1, 2, 2, 2, 2), "float"),
    ("avgpool1d", lambda: nn.AvgPool1D(3, 1, 1, count_include_pad=False), (2, 2, 5),
     (1, 2, 3), "float"),
    ("avgpool2d", lambda: nn.AvgPool2D(3, 2, 1), (2, 2, 5, 5), (1, 2, 4, 6), "float"),
    ("avgpool3d", lambda: nn.AvgPool3D(), (1, 2, 2, 4, 2), (1, 1, 4, 2, 2), "float"),
    ("globalmax1d", lambda: nn.GlobalMaxPool1D(), (2, 3, 4), (1, 3, 5), "float"),
    ("globalmax2d", lambda: nn.GlobalMaxPool2D(), (2, 3, 2, 3), (1, 3, 3, 3), "float"),
    ("globalmax3d", lambda: nn.GlobalMaxPool3D(), (1, 2, 2, 2, 3), (2, 2, 2, 2, 2), "float"),
    ("globalavg1d", lambda: nn.GlobalAvgPool1D(), (2, 3, 4), (1, 3, 5), "float"),
    ("globalavg2d", lambda: nn.GlobalAvgPool2D(), (2, 3, 2, 3), (1, 3, 3, 3), "float"),
    ("globalavg3d", lambda: nn.GlobalAvgPool3D(), (1, 2, 2, 2, 3), (2, 2, 2, 2, 2), "float"),
    ("reflectionpad", lambda: nn.ReflectionPad2D(1), (1, 2, 3, 3), (2, 1, 3, 4), "float"),
]
CASE_IDS = [c[0] for c in CASES]
RANDOM = {"dropout", "dropout_axes"}


def _build(factory, shape, kind, seed=0):
    """A float64 block, initialized and run once (deferred shapes filled)."""
    kiln.random.seed(seed)
    block = factory()
    block.initialize(kiln.init.Uniform(0.5))
    block.cast("float64")
    block(_x(shape, kind))      # predict mode: fills deferred shapes, leaves statistics alone
    _randomize(block, seed)
    return block


def _randomize(block, seed):
    """Non-trivial values for parameters whose initializer gives constants (gamma, beta...)."""
    rng = RNG(seed + 100)
    for p in block.collect_params().values():
        if p._data is None:
            continue
        v = rng.uniform(0.5, 1.5, size=p.shape)
        if p.name.endswith(("beta", "bias", "running_mean")):
            v = v - 1.0
        p.set_data(nd.array(v, dtype="float64"))


def _trainable(block):
    # structural keys (features.0.weight): the same in two instances of one network
    return {k: p for k, p in block._collect_params_with_prefix().items()
            if p.grad_req != "null"}


def _run(block, x, train, head=None):
    """Output, input gradient and parameter gradients of sum(block(x) * head)."""
    x = x.copy()
    x.attach_grad()
    with autograd.record(train_mode=train):
        y = block(x)
        if head is None:
            head = nd.array(RNG(7).uniform(0.5, 1.5, size=y.shape), dtype=y.dtype)
        loss = (y * head).sum()
    loss.backward()
    grads = {k: p.grad().asnumpy().copy() for k, p in _trainable(block).items()}
    return y.asnumpy(), x.grad.asnumpy(), grads


# ---- shapes and deferred initialization -------------------------------------------------------
SHAPES = [
    (lambda: nn.Dense(10), (2, 3, 4), (2, 10), {"weight": (10, 12), "bias": (10,)}),
    (lambda: nn.Dense(10, flatten=False), (2, 3, 4), (2, 3, 10),
     {"weight": (10, 4), "bias": (10,)}),
    (lambda: nn.Dense(10, in_units=5, use_bias=False), (2, 5), (2, 10), {"weight": (10, 5)}),
    (lambda: nn.Conv1D(4, 3), (2, 3, 8), (2, 4, 6), {"weight": (4, 3, 3), "bias": (4,)}),
    (lambda: nn.Conv2D(6, (3, 2), strides=(2, 1), padding=1, groups=3), (2, 3, 7, 7),
     (2, 6, 4, 8), {"weight": (6, 1, 3, 2), "bias": (6,)}),
    (lambda: nn.Conv2D(6, 3, layout="NHWC"), (2, 7, 7, 3), (2, 5, 5, 6),
     {"weight": (6, 3, 3, 3), "bias": (6,)}),
    (lambda: nn.Conv3D(2, 3, padding=1, dilation=2), (1, 3, 5, 5, 5), (1, 2, 3, 3, 3),
     {"weight": (2, 3, 3, 3, 3), "bias": (2,)}),
    (lambda: nn.Conv1DTranspose(4, 3, strides=2), (2, 3, 5), (2, 4, 11),
     {"weight": (3, 4, 3), "bias": (4,)}),
    (lambda: nn.Conv2DTranspose(4, 3, strides=2, padding=1, output_padding=1, groups=2),
     (2, 6, 5, 5), (2, 4, 10, 10), {"weight": (6, 2, 3, 3), "bias": (4,)}),
    (lambda: nn.Conv3DTranspose(2, 2, strides=2), (1, 3, 2, 2, 2), (1, 2, 4, 4, 4),
     {"weight": (3, 2, 2, 2, 2), "bias": (2,)}),
    (lambda: nn.MaxPool1D(), (2, 3, 7), (2, 3, 3), {}),
    (lambda: nn.MaxPool1D(ceil_mode=True), (2, 3, 7), (2, 3, 4), {}),
    (lambda: nn.MaxPool2D((3, 3), 2, 1), (1, 2, 8, 8), (1, 2, 4, 4), {}),
    (lambda: nn.MaxPool3D(), (1, 2, 4, 4, 5), (1, 2, 2, 2, 2), {}),
    (lambda: nn.AvgPool2D(layout="NHWC"), (1, 6, 4, 3), (1, 3, 2, 3), {}),
    (lambda: nn.AvgPool3D(3, 2, 1, ceil_mode=True), (1, 1, 6, 6, 6), (1, 1, 4, 4, 4), {}),
    (lambda: nn.GlobalAvgPool3D(), (2, 3, 2, 3, 4), (2, 3, 1, 1, 1), {}),
    (lambda: nn.GlobalMaxPool1D(layout="NWC"), (2, 5, 3), (2, 1, 3), {}),
    (lambda: nn.ReflectionPad2D(2), (1, 2, 3, 4), (1, 2, 7, 8), {}),
    (lambda: nn.BatchNorm(), (2, 5, 3), (2, 5, 3),
     {"gamma": (5,), "beta": (5,), "running_mean": (5,), "running_var": (5,)}),
    (lambda: nn.BatchNorm(axis=2, in_channels=3), (2, 5, 3), (2, 5, 3),
     {"gamma": (3,), "beta": (3,), "running_mean": (3,), "running_var": (3,)}),
    (lambda: nn.LayerNorm(), (2, 5, 3), (2, 5, 3), {"gamma": (3,), "beta": (3,)}),
    (lambda: nn.InstanceNorm(), (2, 5, 3), (2, 5, 3), {"gamma": (5,), "beta": (5,)}),
    (lambda: nn.GroupNorm(num_groups=2), (2, 4, 3), (2, 4, 3), {"gamma": (2,), "beta": (2,)}),
    (lambda: nn.Embedding(7, 4), (2, 3), (2, 3, 4), {"weight": (7, 4)}),
    (lambda: nn.PReLU(in_channels=5), (2, 5, 3), (2, 5, 3), {"alpha": (5,)}),
    (lambda: nn.Flatten(), (2, 5, 3), (2, 15), {}),
]


@pytest.mark.parametrize("factory, in_shape, out_shape, params", SHAPES)
def test_output_and_parameter_shapes(factory, in_shape, out_shape, params):
    block = factory()
    block.initialize()
    x = _x(in_shape, "index" if isinstance(block, nn.Embedding) else "float", dtype="float32")
    y = block(x)
    assert y.shape == out_shape
    assert y.dtype == np.float32
    got = {k: p.shape for k, p in block._collect_params_with_prefix().items()}
    assert got == params
    assert sorted(block.collect_params()) == sorted(block.prefix + k for k in params)
    for k, p in block.collect_params().items():     # keyed by full name, as in MXNet 1.9
        assert p.data().shape == params[k[len(block.prefix):]]
        assert p.name == k


def test_deferred_data_access_raises_until_first_forward():
    dense = nn.Dense(4)
    dense.initialize()
    assert dense.weight.shape == (4, 0)
    with pytest.raises(gluon.DeferredInitializationError):
        dense.weight.data()
    dense(nd.ones((2, 3)))
    assert dense.weight.data().shape == (4, 3)


def test_known_shapes_initialize_immediately():
    conv = nn.Conv2D(4, 3, in_channels=2)
    conv.initialize()
    assert conv.weight.data().shape == (4, 2, 3, 3)
    assert conv.bias.data().asnumpy().tolist() == [0, 0, 0, 0]
    bn = nn.BatchNorm(in_channels=3)
    bn.initialize()
    assert bn.gamma.data().asnumpy().tolist() == [1, 1, 1]
    assert bn.running_var.data().asnumpy().tolist() == [1, 1, 1]
    assert bn.in_channels == 3


def test_parameter_attributes():
    bn = nn.BatchNorm(center=False, scale=False)
    assert bn.running_mean.grad_req == "null" and bn.running_var.grad_req == "null"
    assert bn.gamma.grad_req == "null" and bn.beta.grad_req == "null"
    bn.gamma.grad_req = "write"        # MXNet: not differentiable, stays 'null'
    assert bn.gamma.grad_req == "null"
    assert nn.InstanceNorm().gamma.grad_req == "null"
    assert nn.LayerNorm(center=False).beta.grad_req == "null"
    dense = nn.Dense(3, activation="relu", dtype="float64")
    assert dense.weight.name == dense.prefix + "weight"
    assert dense.act.prefix == dense.prefix + "relu_"
    assert np.dtype(dense.weight.dtype) == np.float64
    assert nn.Conv2D(2, 3).prefix.startswith("conv")
    assert nn.MaxPool2D().prefix.startswith("pool")
    assert nn.Activation("relu").prefix.startswith("relu")
    assert nn.Embedding(5, 2, sparse_grad=True).weight._grad_stype == "row_sparse"


def test_dtype_argument():
    dense = nn.Dense(3, in_units=2, dtype="float64")
    dense.initialize()
    assert dense(nd.ones((1, 2), dtype="float64")).dtype == np.float64
    emb = nn.Embedding(4, 2, dtype="float64")
    emb.initialize()
    assert emb(nd.array([1, 2])).dtype == np.float64


def test_argument_checks():
    with pytest.raises(AssertionError):
        nn.LeakyReLU(-0.1)
    with pytest.raises(AssertionError):
        nn.Conv1D(2, 3, layout="NWC")
    with pytest.raises(AssertionError):
        nn.Conv2D(2, (3, 3, 3))
    with pytest.raises(AssertionError):
        nn.MaxPool2D(layout="NCW")
    with pytest.raises(AssertionError):
        nn.BatchNorm(fuse_relu=True)
    with pytest.raises(ValueError):
        nn.GELU(approximation="sigmoid")


def test_batchnorm_cast_float16_keeps_float32():
    bn = nn.BatchNorm(in_channels=2)
    bn.initialize()
    bn.cast("float16")
    assert bn.gamma.data().dtype == np.float32
    bn.cast("float64")
    assert bn.gamma.data().dtype == np.float64


# ---- gradients against finite differences --------------------------------------------------
def _numeric(block, x, head, train, kind):
    """Central differences of sum(block(x) * head) for x and every trainable parameter."""
    eps = 1e-6

    def loss(xv):
        with autograd.train_mode() if train else autograd.predict_mode():
            return float((block(nd.array(xv, dtype="float64")) * head).sum().asscalar())

    def diff(values, setter):
        g = np.zeros_like(values)
        for i in np.ndindex(values.shape):
            for sign in (1, -1):
                v = values.copy()
                v[i] += sign * eps
                setter(v)
                g[i] += sign * loss(xn)
            setter(values)
        return g / (2 * eps)

    xn = x.asnumpy().copy()
    out = {}
    if kind == "float":
        def set_x(v):
            xn[...] = v
        out["x"] = diff(xn.copy(), set_x)
    for k, p in _trainable(block).items():
        out[k] = diff(p.data().asnumpy().copy(),
                      lambda v, p=p: p.set_data(nd.array(v, dtype="float64")))
    return out


@pytest.mark.parametrize("name, factory, shape, shape2, kind",
                         [c for c in CASES if c[0] not in RANDOM],
                         ids=[c[0] for c in CASES if c[0] not in RANDOM])
def test_gradients_match_finite_differences(name, factory, shape, shape2, kind):
    block = _build(factory, shape, kind)
    x = _x(shape, kind, seed=1)
    # training mode for all (the batch statistics of BatchNorm), and predict mode for BatchNorm
    for train in ([True, False] if "batchnorm" in name else [True]):
        y, gx, grads = _run(block, x, train)
        head = nd.array(RNG(7).uniform(0.5, 1.5, size=y.shape), dtype="float64")
        num = _numeric(block, x, head, train, kind)
        if kind == "float":
            np.testing.assert_allclose(gx, num["x"], rtol=1e-5, atol=1e-6, err_msg="x")
        for k, g in grads.items():
            np.testing.assert_allclose(g, num[k], rtol=1e-5, atol=1e-6, err_msg=k)


# ---- reprs -----------------------------------------------------------------------------------
REPRS = [
    (lambda: nn.Dense(10), "Dense(None -> 10, linear)"),
    (lambda: nn.Dense(10, in_units=5, activation="relu"), "Dense(5 -> 10, Activation(relu))"),
    (lambda: nn.Dropout(0.3), "Dropout(p = 0.3, axes=())"),
    (lambda: nn.Dropout(0.5, axes=(1,)), "Dropout(p = 0.5, axes=(1,))"),
    (lambda: nn.BatchNorm(),
     "BatchNorm(axis=1, eps=1e-05, momentum=0.9, fix_gamma=False, use_global_stats=False, "
     "in_channels=None)"),
    (lambda: nn.BatchNorm(axis=-1, momentum=0.8, epsilon=1e-3, scale=False, in_channels=4,
                          use_global_stats=True),
     "BatchNorm(axis=-1, eps=0.001, momentum=0.8, fix_gamma=True, use_global_stats=True, "
     "in_channels=4)"),
    (lambda: nn.LayerNorm(), "LayerNorm(eps=1e-05, axis=-1, center=True, scale=True, "
                             "in_channels=0)"),
    (lambda: nn.InstanceNorm(in_channels=3),
     "InstanceNorm(eps=1e-05, axis=1, center=True, scale=False, in_channels=3)"),
    (lambda: nn.GroupNorm(4), "GroupNorm(eps=1e-05, num_groups=4, center=True, scale=True)"),
    (lambda: nn.Embedding(10, 4), "Embedding(10 -> 4, float32)"),
    (lambda: nn.Flatten(), "Flatten"),
    (lambda: nn.Activation("relu"), "Activation(relu)"),
    (lambda: nn.LeakyReLU(0.1), "LeakyReLU(0.1)"),
    (lambda: nn.ELU(), "ELU(\n\n)"),
    (lambda: nn.PReLU(), "PReLU(\n\n)"),
    (lambda: nn.Conv2D(16, 3), "Conv2D(None -> 16, kernel_size=(3, 3), stride=(1, 1))"),
    (lambda: nn.Conv2D(16, 3, 2, 1, 2, groups=2, use_bias=False, in_channels=4,
                       activation="relu"),
     "Conv2D(2 -> 16, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), dilation=(2, 2), "
     "groups=2, bias=False, Activation(relu))"),
    (lambda: nn.Conv1D(8, 5, in_channels=2), "Conv1D(2 -> 8, kernel_size=(5,), stride=(1,))"),
    (lambda: nn.Conv3D(4, (1, 2, 3)),
     "Conv3D(None -> 4, kernel_size=(1, 2, 3), stride=(1, 1, 1))"),
    (lambda: nn.Conv2DTranspose(8, 3, in_channels=4),
     "Conv2DTranspose(4 -> 8, kernel_size=(3, 3), stride=(1, 1))"),
    (lambda: nn.Conv2DTranspose(8, 3, output_padding=1),
     "Conv2DTranspose(0 -> 8, kernel_size=(3, 3), stride=(1, 1))"),
    (lambda: nn.MaxPool2D(),
     "MaxPool2D(size=(2, 2), stride=(2, 2), padding=(0, 0), ceil_mode=False, "
     "global_pool=False, pool_type=max, layout=NCHW)"),
    (lambda: nn.AvgPool1D(3, 1, 1, ceil_mode=True),
     "AvgPool1D(size=(3,), stride=(1,), padding=(1,), ceil_mode=True, global_pool=False, "
     "pool_type=avg, layout=NCW)"),
    (lambda: nn.GlobalAvgPool2D(),
     "GlobalAvgPool2D(size=(1, 1), stride=(1, 1), padding=(0, 0), ceil_mode=True, "
     "global_pool=True, pool_type=avg, layout=NCHW)"),
    (lambda: nn.ReflectionPad2D(2), "ReflectionPad2D(\n\n)"),
]


@pytest.mark.parametrize("factory, expected", REPRS)
def test_repr(factory, expected):
    assert repr(factory()) == expected


def test_repr_after_deferred_initialization():
    dense, bn = nn.Dense(3), nn.BatchNorm()
    dense.initialize()
    bn.initialize()
    dense(nd.ones((2, 4)))
    bn(nd.ones((2, 5)))
    assert repr(dense) == "Dense(4 -> 3, linear)"
    assert repr(bn).endswith("in_channels=5)")


# ---- BatchNorm statistics and Dropout ----------------------------------------------------------
def test_batchnorm_running_statistics():
    bn = nn.BatchNorm(momentum=0.8, epsilon=1e-3)
    bn.initialize()
    x = RNG(0).normal(2.0, 3.0, size=(5, 3, 4)).astype(np.float32)
    mean, var = x.mean(axis=(0, 2)), x.var(axis=(0, 2))
    with autograd.record():
        y = bn(nd.array(x))
    # updated during the (training) forward pass, with the biased batch variance
    np.testing.assert_allclose(bn.running_mean.data().asnumpy(), 0.2 * mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.data().asnumpy(), 0.8 + 0.2 * var, rtol=1e-5)
    expect = (x - mean[:, None]) / np.sqrt(var[:, None] + 1e-3)
    np.testing.assert_allclose(y.asnumpy(), expect, rtol=1e-4, atol=1e-5)
    # predict mode uses (and keeps) the running statistics
    rm, rv = 0.2 * mean, 0.8 + 0.2 * var
    y = bn(nd.array(x)).asnumpy()
    np.testing.assert_allclose(y, (x - rm[:, None]) / np.sqrt(rv[:, None] + 1e-3), rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(bn.running_mean.data().asnumpy(), rm, rtol=1e-5)


def test_batchnorm_use_global_stats_and_scale_false():
    bn = nn.BatchNorm(use_global_stats=True, scale=False, in_channels=2)
    bn.initialize()
    bn.gamma.set_data(nd.array([5.0, 5.0]))       # ignored: fix_gamma
    x = nd.array(RNG(1).normal(size=(4, 2)))
    with autograd.record():
        y = bn(x)
    np.testing.assert_allclose(y.asnumpy(), x.asnumpy() / np.sqrt(1 + 1e-5), rtol=1e-5)
    assert bn.running_mean.data().asnumpy().tolist() == [0, 0]


def test_dropout_predict_mode_is_identity():
    x = nd.array(RNG(0).normal(size=(4, 5)))
    for layer in (nn.Dropout(0.5), nn.Dropout(0.9, axes=(0,)), nn.Dropout(0.0)):
        np.testing.assert_array_equal(layer(x).asnumpy(), x.asnumpy())
    with autograd.record():
        np.testing.assert_array_equal(nn.Dropout(0.0)(x).asnumpy(), x.asnumpy())


def test_dropout_training_mode():
    kiln.random.seed(3)
    x = nd.ones((200, 50))
    with autograd.record():
        y = nn.Dropout(0.4)(x).asnumpy()
    kept = y[y != 0]
    np.testing.assert_allclose(kept, 1 / 0.6, rtol=1e-6)
    assert abs((y == 0).mean() - 0.4) < 0.03
    with autograd.record():
        y = nn.Dropout(0.5, axes=(1,))(x).asnumpy()
    assert (y == y[:, :1]).all()        # one mask value per row, shared along axis 1


def test_embedding_lookup():
    emb = nn.Embedding(4, 2)
    emb.initialize()
    w = emb.weight.data().asnumpy()
    idx = np.array([[0, 3], [2, 2]])
    np.testing.assert_array_equal(emb(nd.array(idx)).asnumpy(), w[idx])
    x = nd.array(idx)
    with autograd.record():
        y = emb(x)
    y.backward()
    g = emb.weight.grad().asnumpy()
    np.testing.assert_array_equal(g, [[1, 1], [0, 0], [2, 2], [1, 1]])


# ---- torch cross-checks ---------------------------------------------------------------------
def _torch():
    return pytest.importorskip("torch")


def _t(a):
    torch = _torch()
    return torch.tensor(np.asarray(a, dtype=np.float64))


def _init_block(block, x):
    block.initialize(kiln.init.Uniform(0.5))
    block.cast("float64")
    block(x)
    _randomize(block, 0)
    return {k: p.data().asnumpy() for k, p in block._collect_params_with_prefix().items()}


def test_torch_dense_conv_deconv():
    tf = _torch().nn.functional
    x2 = _x((3, 4))
    p = _init_block(nn.Dense(5), x2)
    np.testing.assert_allclose(nn_out(nn.Dense(5), x2, p),
                               tf.linear(_t(x2.asnumpy()), _t(p["weight"]), _t(p["bias"])),
                               rtol=1e-10)
    x = _x((2, 4, 7, 6))
    conv = lambda: nn.Conv2D(6, 3, strides=2, padding=1, dilation=(1, 2), groups=2)  # noqa
    p = _init_block(conv(), x)
    ref = tf.conv2d(_t(x.asnumpy()), _t(p["weight"]), _t(p["bias"]), stride=2, padding=1,
                    dilation=(1, 2), groups=2)
    np.testing.assert_allclose(nn_out(conv(), x, p), ref, rtol=1e-10)
    deconv = lambda: nn.Conv2DTranspose(6, 3, strides=2, padding=1, output_padding=1,  # noqa
                                        groups=2)
    p = _init_block(deconv(), x)
    ref = tf.conv_transpose2d(_t(x.asnumpy()), _t(p["weight"]), _t(p["bias"]), stride=2,
                              padding=1, output_padding=1, groups=2)
    np.testing.assert_allclose(nn_out(deconv(), x, p), ref, rtol=1e-10)


def nn_out(block, x, params):
    """``block(x)`` with the given parameter values (float64)."""
    block.initialize()
    block.cast("float64")
    block(x)
    for k, p in block._collect_params_with_prefix().items():
        p.set_data(nd.array(params[k], dtype="float64"))
    return block(x).asnumpy()


def test_torch_pooling():
    tf = _torch().nn.functional
    x = _x((2, 3, 7, 7))
    tx = _t(x.asnumpy())
    np.testing.assert_allclose(nn.MaxPool2D(3, 2, 1, ceil_mode=True)(x).asnumpy(),
                               tf.max_pool2d(tx, 3, 2, 1, ceil_mode=True), rtol=1e-12)
    np.testing.assert_allclose(nn.MaxPool2D()(x).asnumpy(), tf.max_pool2d(tx, 2), rtol=1e-12)
    for include in (True, False):
        np.testing.assert_allclose(
            nn.AvgPool2D(3, 2, 1, count_include_pad=include)(x).asnumpy(),
            tf.avg_pool2d(tx, 3, 2, 1, count_include_pad=include), rtol=1e-12)


def test_torch_norms_and_embedding():
    torch = _torch()
    tf = torch.nn.functional
    x = _x((4, 6, 3))
    tx = _t(x.asnumpy())
    bn = nn.BatchNorm(momentum=0.7)
    p = _init_block(bn, x)
    bn.running_mean.set_data(nd.zeros(6, dtype="float64"))
    bn.running_var.set_data(nd.ones(6, dtype="float64"))
    rm, rv = torch.zeros(6, dtype=torch.float64), torch.ones(6, dtype=torch.float64)
    with autograd.record():
        y = bn(x).asnumpy()
    ref = tf.batch_norm(tx, rm, rv, _t(p["gamma"]), _t(p["beta"]), training=True,
                        momentum=0.3, eps=1e-5)
    np.testing.assert_allclose(y, ref, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(bn.running_mean.data().asnumpy(), rm, rtol=1e-10)
    # torch keeps the unbiased variance; MXNet the biased one
    np.testing.assert_allclose(bn.running_var.data().asnumpy(),
                               0.7 + 0.3 * x.asnumpy().var(axis=(0, 2)), rtol=1e-10)
    y = bn(x).asnumpy()
    ref = tf.batch_norm(tx, _t(bn.running_mean.data().asnumpy()),
                        _t(bn.running_var.data().asnumpy()), _t(p["gamma"]), _t(p["beta"]),
                        training=False, eps=1e-5)
    np.testing.assert_allclose(y, ref, rtol=1e-8, atol=1e-10)

    p = _init_block(nn.LayerNorm(), x)
    np.testing.assert_allclose(nn_out(nn.LayerNorm(), x, p),
                               tf.layer_norm(tx, (3,), _t(p["gamma"]), _t(p["beta"]), 1e-5),
                               rtol=1e-8, atol=1e-10)
    p = _init_block(nn.GroupNorm(3), x)
    # MXNet's gamma/beta are per group; torch's per channel
    ref = tf.group_norm(tx, 3, _t(np.repeat(p["gamma"], 2)), _t(np.repeat(p["beta"], 2)),
                        1e-5)
    np.testing.assert_allclose(nn_out(nn.GroupNorm(3), x, p), ref, rtol=1e-8, atol=1e-10)

    idx = _x((3, 2), "index")
    p = _init_block(nn.Embedding(6, 4), idx)
    ref = tf.embedding(torch.tensor(idx.asnumpy().astype(np.int64)), _t(p["weight"]))
    np.testing.assert_allclose(nn_out(nn.Embedding(6, 4), idx, p), ref, rtol=1e-12)


# ---- hybridized versus eager ------------------------------------------------------------------
def _pair(factory, shape, kind):
    """An eager block and a copy with the same parameter values."""
    eager = _build(factory, shape, kind)
    hybrid = _build(factory, shape, kind, seed=5)
    shared = eager._collect_params_with_prefix()
    for k, p in hybrid._collect_params_with_prefix().items():
        p.set_data(shared[k].data())
    return eager, hybrid


def _compare(eager, hybrid, x, train, name):
    kiln.random.seed(11)     # the same dropout masks in both runs
    ey, ex, eg = _run(eager, x, train)
    kiln.random.seed(11)
    hy, hx, hg = _run(hybrid, x, train)
    np.testing.assert_allclose(hy, ey, rtol=1e-6, atol=1e-6, err_msg=f"{name} output")
    np.testing.assert_allclose(hx, ex, rtol=1e-6, atol=1e-6, err_msg=f"{name} x grad")
    assert eg.keys() == hg.keys()
    for k in eg:
        np.testing.assert_allclose(hg[k], eg[k], rtol=1e-6, atol=1e-6, err_msg=f"{name} {k}")
    hybrid_params = hybrid._collect_params_with_prefix()
    for k, p in eager._collect_params_with_prefix().items():  # running statistics in step
        np.testing.assert_allclose(hybrid_params[k].data().asnumpy(),
                                   p.data().asnumpy(), rtol=1e-6, atol=1e-6, err_msg=k)


@pytest.mark.parametrize("flags", [{}, {"static_alloc": True}], ids=["default", "static_alloc"])
@pytest.mark.parametrize("name, factory, shape, shape2, kind", CASES, ids=CASE_IDS)
def test_hybridized_equals_eager(name, factory, shape, shape2, kind, flags):
    eager, hybrid = _pair(factory, shape, kind)
    hybrid.hybridize(**flags)
    for s in (shape, shape2):       # and again after an input-shape change
        x = _x(s, kind, seed=2)
        for train in (True, False):
            _compare(eager, hybrid, x, train, name)
    # the hybrid block really ran through traced graphs: one per (shape, mode)
    assert hybrid._cached_op is not None and hybrid._cached_op.trace_count == 4


# ---- Gluon 1.x idioms --------------------------------------------------------------------------
def test_subclass_overriding_hybrid_forward():
    class Double(nn.Dense):
        def hybrid_forward(self, F, x, weight, bias=None):
            return super().hybrid_forward(F, x, weight, bias) * 2

    layer, ref = Double(3), nn.Dense(3)
    layer.initialize()
    ref.initialize()
    x = nd.ones((2, 4))
    layer(x), ref(x)
    ref.weight.set_data(layer.weight.data())
    np.testing.assert_allclose(layer(x).asnumpy(), 2 * ref(x).asnumpy(), rtol=1e-6)
    layer.hybridize()
    np.testing.assert_allclose(layer(x).asnumpy(), 2 * ref(x).asnumpy(), rtol=1e-6)


def test_network_with_deferred_layers_hybridized():
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Conv2D(4, 3, padding=1), nn.BatchNorm(), nn.Activation("relu"),
                nn.MaxPool2D(), nn.Flatten(), nn.Dense(10, activation="sigmoid"),
                nn.Dropout(0.2), nn.Dense(2))
    net.initialize()
    net.hybridize()
    x = nd.array(RNG(0).normal(size=(3, 2, 6, 6)))
    with autograd.record():
        y = net(x)
    y.backward()
    assert y.shape == (3, 2)
    params = net.collect_params()
    assert list(params)[:2] == [net.prefix + "conv0_weight", net.prefix + "conv0_bias"]
    assert params[net.prefix + "dense0_weight"].shape == (10, 36)
    # structural names still index the dict (a kiln convenience)
    assert params["0.weight"].shape == (4, 2, 3, 3)
    assert params["5.weight"].shape == (10, 36)
    assert params["0.weight"].name == net.prefix + "conv0_weight"
    assert params["1.running_var"].name == net.prefix + "batchnorm0_running_var"
    assert params["5.weight"].grad().shape == (10, 36)
    assert net(x).shape == (3, 2)


def test_initializer_arguments():
    dense = nn.Dense(2, weight_initializer="ones", bias_initializer=kiln.init.Constant(3))
    dense.initialize(kiln.init.Xavier())       # a layer's own initializers win
    np.testing.assert_array_equal(dense(nd.ones((1, 3))).asnumpy(), [[6, 6]])
    prelu = nn.PReLU()
    prelu.initialize(kiln.init.Xavier())
    np.testing.assert_array_equal(prelu.alpha.data().asnumpy(), [0.25])
    bn = nn.BatchNorm(gamma_initializer="zeros", beta_initializer="ones",
                      running_mean_initializer="ones", running_variance_initializer="zeros")
    bn.initialize()
    bn(nd.ones((2, 2)))
    assert bn.gamma.data().asnumpy().tolist() == [0, 0]
    assert bn.beta.data().asnumpy().tolist() == [1, 1]
    assert bn.running_mean.data().asnumpy().tolist() == [1, 1]
    assert bn.running_var.data().asnumpy().tolist() == [0, 0]
