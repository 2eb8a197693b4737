"""Bad input to layers and ops: a clear kiln error (layer class, name and attribute path, the
shapes or dtypes, the user's file:line), the same eagerly and hybridized; empty batches give
empty outputs in both modes; class labels out of range are clipped as in MXNet and raise in
checked mode (at call time in compiled graphs too); MXNet's smooth_l1 and hypot ops."""
import inspect
import sys

import kiln
import numpy as np
import pytest
from kiln import autograd, gluon, nd
from kiln.base import MXNetError, OpError

nn = gluon.nn


def _error_of(block, *args):
    """The message of the error ``block(*args)`` raises, and the file:line of that call."""
    where = f"{__file__}:{sys._getframe().f_lineno + 2}"
    with pytest.raises(MXNetError) as info:
        block(*args)
    assert isinstance(info.value, OpError)
    return str(info.value), where


def _ready(block, x_ok, hybridize):
    """Initialize ``block``; hybridized, run it once on good input so the compiled graph
    exists and the bad call takes the retrace path."""
    block.initialize()
    if hybridize:
        block.hybridize()
        block(x_ok)
    return block


# ---- dtypes of input and parameters --------------------------------------------------------
# (id, factory, input shape)
PARAM_LAYERS = [
    ("dense", lambda: nn.Dense(3, in_units=2), (2, 2)),
    ("conv2d", lambda: nn.Conv2D(2, 3, in_channels=1), (1, 1, 5, 5)),
    ("conv1d_transpose", lambda: nn.Conv1DTranspose(2, 3, in_channels=1), (1, 1, 5)),
    ("batchnorm", lambda: nn.BatchNorm(in_channels=2), (2, 2, 3)),
    ("layernorm", lambda: nn.LayerNorm(in_channels=3), (2, 3)),
    ("instancenorm", lambda: nn.InstanceNorm(in_channels=2), (2, 2, 3)),
    ("groupnorm", lambda: nn.GroupNorm(1), (2, 2, 3)),
    ("prelu", lambda: nn.PReLU(), (2, 3)),
]


@pytest.mark.parametrize("hybridize", [False, True], ids=["eager", "hybrid"])
@pytest.mark.parametrize("dtype", ["int32", "uint8", "float64"])
@pytest.mark.parametrize("case", PARAM_LAYERS, ids=[c[0] for c in PARAM_LAYERS])
def test_input_dtype_other_than_the_parameters_raises(case, dtype, hybridize):
    """A float32 layer given int/uint8 input used to return integers (1.8 -> 1), and float64
    input silently gave float64; MXNet 1.9 raises, and so does kiln, in both modes."""
    _, factory, shape = case
    block = _ready(factory(), nd.ones(shape), hybridize)
    x = nd.array(np.full(shape, 1.8), dtype=dtype)
    msg, where = _error_of(block, x)
    assert f"{type(block).__name__}({block.name})" in msg
    assert "expected input dtype float32" in msg and f"got {dtype}" in msg
    assert where in msg


@pytest.mark.parametrize("hybridize", [False, True], ids=["eager", "hybrid"])
def test_dense_int_input_does_not_truncate(hybridize):
    block = _ready(nn.Dense(1, in_units=2, weight_initializer="ones"), nd.ones((1, 2)),
                   hybridize)
    with pytest.raises(OpError, match="got int32"):
        block(nd.array([[1.8, 2.2]], dtype="int32"))
    out = block(nd.array([[1.8, 2.2]]))
    assert out.dtype == np.float32 and np.allclose(out.asnumpy(), 4.0)


@pytest.mark.parametrize("hybridize", [False, True], ids=["eager", "hybrid"])
@pytest.mark.parametrize("dtype", ["int32", "float64"])
def test_embedding_takes_indices_of_any_dtype(dtype, hybridize):
    block = _ready(nn.Embedding(4, 2), nd.array([0, 1]), hybridize)
    idx = nd.array([[3, 1]], dtype=dtype)
    out = block(idx)
    assert out.dtype == np.float32 and out.shape == (1, 2, 2)
    assert np.array_equal(out.asnumpy()[0], block.weight.data().asnumpy()[[3, 1]])


@pytest.mark.parametrize("hybridize", [False, True], ids=["eager", "hybrid"])
@pytest.mark.parametrize("factory", [lambda: nn.BatchNorm(in_channels=2),
                                     lambda: nn.LayerNorm(in_channels=2)],
                         ids=["batchnorm", "layernorm"])
def test_norm_float16_input_with_float32_parameters_runs(factory, hybridize):
    """BatchNorm keeps float32 parameters under ``cast('float16')`` (as MXNet's does): float16
    data with float32 parameters is computed in float32, not refused."""
    block = _ready(factory(), nd.ones((3, 2), dtype="float16"), hybridize)
    out = block(nd.array([[1, 2], [3, 4], [5, 6]], dtype="float16"))
    assert out.dtype == np.float16 and out.shape == (3, 2)


def test_op_level_dtype_mismatch_raises():
    x, w = nd.ones((2, 3), dtype="float64"), nd.ones((4, 3))
    with pytest.raises(OpError, match=r"fully_connected: expected input dtype float32 .*"
                                      r"got float64"):
        nd.FullyConnected(x, w, no_bias=True, num_hidden=4)


# ---- the layer named in shape errors -------------------------------------------------------
class _Net(nn.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.fc = nn.Dense(3, in_units=4)

    def hybrid_forward(self, F, x):
        return self.fc(x)


class _Deep(nn.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.features = nn.HybridSequential()
        self.features.add(nn.Dense(4, in_units=4), nn.Dense(2, in_units=4))

    def hybrid_forward(self, F, x):
        return self.features(x)


def _forward_line(cls):
    """file:line of the last line (the child call) of ``cls.hybrid_forward``."""
    lines, first = inspect.getsourcelines(cls.hybrid_forward)
    return f"{__file__}:{first + len(lines) - 1}"


@pytest.mark.parametrize("hybridize", [False, True], ids=["eager", "hybrid"])
def test_shape_error_names_class_name_and_attribute_path(hybridize):
    net = _ready(_Net(), nd.ones((2, 4)), hybridize)
    msg, _ = _error_of(net, nd.ones((2, 5)))
    assert f"in block fc: Dense({net.fc.name}), inside _Net({net.name})" in msg
    assert "(2, 5)" in msg and "(3, 4)" in msg
    assert _forward_line(_Net) in msg   # the user's innermost line: the call of self.fc


@pytest.mark.parametrize("hybridize", [False, True], ids=["eager", "hybrid"])
def test_shape_error_names_a_nested_path(hybridize):
    net = _ready(_Deep(), nd.ones((2, 4)), hybridize)
    msg, _ = _error_of(net, nd.ones((2, 5)))
    inner = net.features[0]
    assert f"in block features.0: Dense({inner.name}), inside _Deep({net.name})" in msg
    assert _forward_line(_Deep) in msg


@pytest.mark.parametrize("hybridize", [False, True], ids=["eager", "hybrid"])
def test_standalone_layer_is_named(hybridize):
    dense = _ready(nn.Dense(3, in_units=4), nd.ones((2, 4)), hybridize)
    msg, where = _error_of(dense, nd.ones((2, 5)))
    assert f"[in block Dense({dense.name})]" in msg and where in msg


# ---- empty batches -------------------------------------------------------------------------
# (id, factory, input shape with batch 0)
EMPTY_CASES = [
    ("dense", lambda: nn.Dense(3, in_units=4), (0, 4)),
    ("dense_flatten_3d", lambda: nn.Dense(3, in_units=8), (0, 2, 4)),
    ("dense_no_flatten", lambda: nn.Dense(3, in_units=4, flatten=False), (0, 5, 4)),
    ("conv2d", lambda: nn.Conv2D(2, 3, in_channels=1), (0, 1, 5, 5)),
    ("maxpool", lambda: nn.MaxPool2D(), (0, 1, 4, 4)),
    ("batchnorm", lambda: nn.BatchNorm(in_channels=2), (0, 2, 3)),
    ("layernorm", lambda: nn.LayerNorm(in_channels=3), (0, 3)),
    ("groupnorm", lambda: nn.GroupNorm(2, in_channels=4), (0, 4, 3)),
    ("embedding", lambda: nn.Embedding(5, 3), (0, 3)),
    ("flatten", lambda: nn.Flatten(), (0, 3, 4)),
    ("relu", lambda: nn.Activation("relu"), (0, 3)),
    ("prelu", lambda: nn.PReLU(), (0, 3)),
    ("dropout", lambda: nn.Dropout(0.5), (0, 3)),
]


def _run_empty(factory, shape, hybridize, train):
    block = factory()
    block.initialize()
    if hybridize:
        block.hybridize()
    x = nd.zeros(shape)
    x.attach_grad()
    if not train:
        return block(x).shape, None
    with autograd.record():
        y = block(x)
    y.backward()
    grads = {k: p.grad().asnumpy() for k, p in block.collect_params().items()
             if p.grad_req != "null"}
    return y.shape, (x.grad.shape, grads)


@pytest.mark.parametrize("train", [False, True], ids=["predict", "train"])
@pytest.mark.parametrize("case", EMPTY_CASES, ids=[c[0] for c in EMPTY_CASES])
def test_empty_batch_same_eager_and_hybridized(case, train):
    """Eager Dense failed on a reshape of the empty batch while hybridized returned (0, units);
    both now return the empty output (and zero parameter gradients when training)."""
    _, factory, shape = case
    eager = _run_empty(factory, shape, False, train)
    hybrid = _run_empty(factory, shape, True, train)
    assert eager[0] == hybrid[0] and eager[0][0] == 0
    if train:
        assert eager[1][0] == hybrid[1][0] == shape
        for (_, ge), (_, gh) in zip(sorted(eager[1][1].items()), sorted(hybrid[1][1].items())):
            assert np.array_equal(ge, gh) and not np.any(ge)


_EMPTY_LOSSES = [
    ("softmax_ce", lambda: gluon.loss.SoftmaxCrossEntropyLoss(), (0,)),
    ("softmax_ce_dense", lambda: gluon.loss.SoftmaxCrossEntropyLoss(sparse_label=False),
     (0, 5)),
    ("l2", lambda: gluon.loss.L2Loss(), (0, 5)),
    ("l1", lambda: gluon.loss.L1Loss(), (0, 5)),
    ("sigmoid_bce", lambda: gluon.loss.SigmoidBinaryCrossEntropyLoss(), (0, 5)),
    ("huber", lambda: gluon.loss.HuberLoss(), (0, 5)),
    ("kl_div", lambda: gluon.loss.KLDivLoss(), (0, 5)),
]


@pytest.mark.parametrize("case", _EMPTY_LOSSES, ids=[c[0] for c in _EMPTY_LOSSES])
def test_empty_batch_losses_same_eager_and_hybridized(case):
    _, factory, label_shape = case
    shapes = []
    for hybridize in (False, True):
        loss = factory()
        if hybridize:
            loss.hybridize()
        pred = nd.zeros((0, 5))
        pred.attach_grad()
        with autograd.record():
            out = loss(pred, nd.zeros(label_shape))
        out.backward()
        shapes.append((out.shape, pred.grad.shape))
    assert shapes[0] == shapes[1] == ((0,), (0, 5))


@pytest.mark.parametrize("hybridize", [False, True], ids=["eager", "hybrid"])
def test_empty_batch_keeps_batchnorm_statistics(hybridize):
    """Training on an empty batch used to write NaN into the running statistics."""
    bn = nn.BatchNorm(in_channels=2)
    bn.initialize()
    if hybridize:
        bn.hybridize()
    with autograd.record():
        out = bn(nd.zeros((0, 2, 3)))
    assert out.shape == (0, 2, 3)
    assert np.array_equal(bn.running_mean.data().asnumpy(), [0, 0])
    assert np.array_equal(bn.running_var.data().asnumpy(), [1, 1])


# ---- ops of MXNet 1.9 that were missing: smooth_l1, hypot ----------------------------------
def test_smooth_l1_as_mxnet_documents():
    assert np.allclose(nd.smooth_l1(nd.array([1, 2, 3, 4])).asnumpy(), [0.5, 1.5, 2.5, 3.5])
    assert np.allclose(nd.smooth_l1(nd.array([1, 2, 3, 4]), scalar=1).asnumpy(),
                       [0.5, 1.5, 2.5, 3.5])
    # sigma = 2: quadratic 0.5 * (2x)^2 inside |x| < 1/4, else |x| - 1/8
    x = nd.array([0.1, -0.2, 0.5, -2.0])
    assert np.allclose(nd.smooth_l1(x, scalar=2.0).asnumpy(), [0.02, 0.08, 0.375, 1.875])
    x.attach_grad()
    with autograd.record():
        y = nd.smooth_l1(x, scalar=2.0)
    y.backward()
    assert np.allclose(x.grad.asnumpy(), [0.4, -0.8, 1.0, -1.0])


def test_hypot_forward_and_gradient_as_mxnet():
    a, b = nd.array([[3.0, 3, 3]]), nd.array([[4.0], [0]])
    assert np.allclose(nd.broadcast_hypot(a, b).asnumpy(), [[5, 5, 5], [3, 3, 3]])
    x, y = nd.array([3.0, 5]), nd.array([4.0, 12])
    assert np.allclose(nd._hypot(x, y).asnumpy(), [5, 13])
    assert np.allclose(nd.hypot(x, 4.0).asnumpy(), [5, np.hypot(5, 4)])
    x.attach_grad()
    y.attach_grad()
    with autograd.record():
        out = nd.hypot(x, y)
    out.backward()
    assert np.allclose(x.grad.asnumpy(), [3 / 5, 5 / 13])
    assert np.allclose(y.grad.asnumpy(), [4 / 5, 12 / 13])


def test_hypot_and_smooth_l1_round_trip_mxnet_json(tmp_path):
    class Net(nn.HybridBlock):
        def hybrid_forward(self, F, x):
            return F.smooth_l1(F.broadcast_hypot(x, x * 2) + F.hypot(x, 2.0), scalar=0.5)

    net = Net()
    net.hybridize()
    x = nd.array([[1.0, -2.0], [3.0, 0.5]])
    want = net(x).asnumpy()
    net.export(str(tmp_path / "net"))
    sym_file = str(tmp_path / "net-symbol.json")
    with open(sym_file) as f:
        text = f.read()
    # MXNet's own op names, and smooth_l1 keeps its sigma
    assert '"broadcast_hypot"' in text and '"_hypot_scalar"' in text
    loaded = nn.SymbolBlock.imports(sym_file, ["data"])
    assert np.allclose(loaded(x).asnumpy(), want)


# ---- class labels out of range: clipped as in MXNet, raising in checked mode ---------------
@pytest.fixture
def checked():
    """Checked mode on for the test (``kiln.set_checks``), restored after it."""
    previous = kiln.set_checks(True)
    yield
    kiln.set_checks(previous)


_PRED = nd.array(np.random.default_rng(0).normal(size=(3, 4)))
_GOOD, _BAD = nd.array([0, 3, 1]), nd.array([0, 7, -1])


def _ce(hybridize, train, label, loss=None):
    loss = loss or gluon.loss.SoftmaxCrossEntropyLoss()
    if hybridize:
        loss.hybridize()
    if not train:
        return loss(_PRED, label)
    with autograd.record():
        return loss(_PRED, label)


@pytest.mark.parametrize("train", [False, True], ids=["predict", "train"])
@pytest.mark.parametrize("hybridize", [False, True], ids=["eager", "hybrid"])
def test_out_of_range_labels_are_clipped_without_checks(hybridize, train):
    """MXNet's pick clips (mode='clip'): 7 reads class 3, -1 reads class 0."""
    got = _ce(hybridize, train, _BAD).asnumpy()
    assert np.allclose(got, _ce(hybridize, train, nd.array([0, 3, 0])).asnumpy())


@pytest.mark.parametrize("train", [False, True], ids=["predict", "train"])
@pytest.mark.parametrize("hybridize", [False, True], ids=["eager", "hybrid"])
def test_out_of_range_labels_raise_in_checked_mode(hybridize, train, checked):
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    want = _ce(hybridize, train, _GOOD, loss)  # hybridized: the graph for these shapes exists
    with pytest.raises(OpError, match=r"index 7 is outside \[0, 4\) along axis -1 \(2 of 3"):
        _ce(hybridize, train, _BAD, loss)          # same shapes: the check runs at call time
    assert np.array_equal(_ce(hybridize, train, _GOOD, loss).asnumpy(), want.asnumpy())


@pytest.mark.parametrize("hybridize", [False, True], ids=["eager", "hybrid"])
def test_checked_mode_turned_on_after_compiling_still_checks(hybridize):
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    _ce(hybridize, True, _GOOD, loss)
    previous = kiln.set_checks(True)
    try:
        with pytest.raises(OpError, match="outside"):
            _ce(hybridize, True, _BAD, loss)
    finally:
        kiln.set_checks(previous)
    _ce(hybridize, True, _BAD, loss)   # off again: clipped


class _WithLoss(nn.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.loss = gluon.loss.SoftmaxCrossEntropyLoss()

    def hybrid_forward(self, F, pred, label):
        return self.loss(pred, label)


@pytest.mark.parametrize("hybridize", [False, True], ids=["eager", "hybrid"])
def test_label_error_names_the_loss_block(hybridize, checked):
    net = _WithLoss()
    if hybridize:
        net.hybridize()
        net(_PRED, _GOOD)
    with pytest.raises(OpError) as info:
        net(_PRED, _BAD)
    msg = str(info.value)
    assert f"in block loss: SoftmaxCrossEntropyLoss({net.loss.name}), inside _WithLoss(" in msg
    assert _forward_line(_WithLoss) in msg


def test_checked_mode_keeps_what_is_in_range(checked):
    data = nd.array([[1.0, 2, 3], [4, 5, 6]])
    assert np.array_equal(nd.pick(data, nd.array([2.7, -0.5])).asnumpy(), [3, 4])  # truncated
    assert np.array_equal(nd.pick(data, nd.array([4, -1]), mode="wrap").asnumpy(), [2, 6])
    with pytest.raises(OpError, match="index 3 is outside"):
        nd.pick(data, nd.array([3, 0]))


def test_out_of_range_indices_raise_index_error_eager_and_hybridized():
    """MXNet raises IndexError for an out-of-range gather_nd; kiln's error is both an OpError
    (naming the op and inputs) and an IndexError, eagerly and in a compiled graph."""
    from kiln.base import OpError
    data, idx = nd.array([1.0, 2.0, 3.0]), nd.array([[5.0]])
    with pytest.raises(IndexError, match="gather_nd") as info:
        nd.gather_nd(data, idx)
    assert isinstance(info.value, OpError)

    class Gather(gluon.HybridBlock):
        def forward(self, d, i):
            return nd.gather_nd(d, i)
    net = Gather()
    net.hybridize()
    net(data, nd.array([[1.0]]))
    with pytest.raises(IndexError, match="gather_nd"):
        net(data, idx)


def test_sample_shape_empty_draws_one_per_parameter():
    """MXNet's _sample_* with shape=() draws one value per parameter element (no extra axis)."""
    mu, sigma = nd.array([0.0, 10.0]), nd.array([1.0, 1.0])
    assert nd.sample_normal(mu, sigma, shape=()).shape == (2,)
    assert nd.sample_normal(mu, sigma).shape == (2,)
    assert nd.sample_uniform(mu, mu + 1, shape=3).shape == (2, 3)
    assert nd.sample_normal(mu, sigma, shape=(2, 2)).shape == (2, 2, 2)
