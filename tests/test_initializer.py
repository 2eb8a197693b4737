"""kiln.initializer: registry, MXNet's suffix rules, and the statistics of each initializer."""
import logging

import kiln as kl
import numpy as np
import pytest
from kiln import init, nd
from kiln.initializer import InitDesc


def _fill(initializer, name, shape, dtype="float32"):
    arr = nd.zeros(shape, dtype=dtype)
    initializer(InitDesc(name), arr)
    return arr.asnumpy()


def test_alias_and_registry():
    assert kl.init is kl.initializer
    assert isinstance(init.create("xavier"), init.Xavier)
    assert isinstance(init.create("zeros"), init.Zero)
    assert isinstance(init.create("ones"), init.One)
    assert isinstance(init.create("Uniform", 0.2), init.Uniform)
    x = init.Xavier(rnd_type="gaussian", magnitude=2)
    y = init.create(x.dumps())
    assert isinstance(y, init.Xavier) and y.rnd_type == "gaussian" and y.magnitude == 2.0
    assert init.create(x) is x
    with pytest.raises(ValueError, match="unknown initializer"):
        init.create("no_such_init")


def test_register_custom_initializer():
    @init.register
    class Fives(init.Initializer):
        def _init_weight(self, name, arr):
            arr[:] = 5.0

    assert (_fill(init.create("fives"), "w_weight", (2, 2)) == 5).all()


@pytest.mark.parametrize("name,expected", [
    ("fc_bias", 0.0), ("bn_gamma", 1.0), ("bn_beta", 0.0), ("bn_running_mean", 0.0),
    ("bn_running_var", 1.0), ("bn_moving_mean", 0.0), ("bn_moving_var", 1.0),
])
def test_suffix_defaults(name, expected):
    assert (_fill(init.Xavier(), name, (3, 4)) == expected).all()
    assert (_fill(init.Uniform(), name, (3, 4)) == expected).all()


def test_weight_uses_rule_and_unknown_suffix_raises():
    w = _fill(init.Constant(2.5), "fc_weight", (2, 3))
    assert (w == 2.5).all()
    with pytest.raises(ValueError, match="Unknown initialization pattern for fc_foo"):
        _fill(init.Uniform(), "fc_foo", (2, 3))


def test_init_attr_overrides_suffix():
    arr = nd.zeros((2, 3))
    init.Zero()(InitDesc("fc_bias", {"__init__": init.One()}), arr)
    assert (arr.asnumpy() == 1).all()
    init.Zero()(InitDesc("fc_bias", {"__init__": init.Constant(3).dumps()}), arr)
    assert (arr.asnumpy() == 3).all()


def test_legacy_string_name():
    arr = nd.ones((2, 3))
    init.Uniform()("fc_bias", arr)
    assert (arr.asnumpy() == 0).all()


def test_uniform_normal_stats():
    kl.random.seed(1)
    u = _fill(init.Uniform(0.3), "w_weight", (200, 100))
    assert u.min() >= -0.3 and u.max() <= 0.3 and u.max() > 0.29
    assert abs(u.mean()) < 0.01
    n = _fill(init.Normal(0.5), "w_weight", (200, 100))
    assert abs(n.std() - 0.5) < 0.01 and abs(n.mean()) < 0.01


@pytest.mark.parametrize("factor_type", ["avg", "in", "out"])
def test_xavier_uniform_bounds(factor_type):
    kl.random.seed(0)
    shape = (64, 32, 3, 3)
    fan_in, fan_out = 32 * 9, 64 * 9
    factor = {"avg": (fan_in + fan_out) / 2, "in": fan_in, "out": fan_out}[factor_type]
    bound = np.sqrt(3 / factor)
    w = _fill(init.Xavier(factor_type=factor_type), "conv_weight", shape)
    assert np.abs(w).max() <= bound + 1e-7
    assert np.abs(w).max() > 0.98 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.02 * bound


def test_xavier_gaussian_and_errors():
    kl.random.seed(0)
    w = _fill(init.Xavier(rnd_type="gaussian", magnitude=2), "fc_weight", (300, 200))
    assert abs(w.std() - np.sqrt(2 / 250)) < 0.002
    arr = nd.zeros((5,))
    with pytest.raises(ValueError, match="at least 2D"):
        init.Xavier()(InitDesc("x", {"__init__": init.Xavier()}), arr)
    with pytest.raises(ValueError, match="factor type"):
        _fill(init.Xavier(factor_type="bad"), "fc_weight", (3, 3))
    with pytest.raises(ValueError, match="random type"):
        _fill(init.Xavier(rnd_type="bad"), "fc_weight", (3, 3))


def test_msra_prelu_std():
    kl.random.seed(0)
    w = _fill(init.MSRAPrelu(factor_type="in", slope=0.0), "fc_weight", (400, 100))
    assert abs(w.std() - np.sqrt(2 / 100)) < 0.005
    assert init.MSRAPrelu()._kwargs == {"factor_type": "avg", "slope": 0.25}


@pytest.mark.parametrize("shape", [(4, 10), (10, 4), (6, 2, 3, 3)])
@pytest.mark.parametrize("rand_type", ["uniform", "normal"])
def test_orthogonal(shape, rand_type):
    w = _fill(init.Orthogonal(scale=1.5, rand_type=rand_type), "fc_weight", shape)
    m = w.reshape(shape[0], -1).astype(np.float64)
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(gram, 1.5 ** 2 * np.eye(gram.shape[0]), atol=1e-5)


def test_bilinear_lstmbias_one_zero():
    w = _fill(init.Bilinear(), "up_weight", (1, 1, 4, 4))
    k = np.array([0.25, 0.75, 0.75, 0.25])
    np.testing.assert_allclose(w[0, 0], np.outer(k, k))
    arr = nd.ones((16,))
    init.Zero()(InitDesc("lstm_i2h_bias", {"__init__": init.LSTMBias(forget_bias=2.0)}), arr)
    b = arr.asnumpy()
    assert (b[4:8] == 2).all() and (b[:4] == 0).all() and (b[8:] == 0).all()
    assert (_fill(init.One(), "x_weight", (2,)) == 1).all()
    assert (_fill(init.Zero(), "x_weight", (2,)) == 0).all()
    c = _fill(init.Constant([1.0, 2.0]), "x_weight", (3, 2))
    assert (c == [[1, 2]] * 3).all()


def test_mixed():
    mixed = init.Mixed([".*conv.*", ".*"], [init.Constant(7), init.One()])
    arr = nd.zeros((2,))
    mixed("conv0_weight", arr)
    assert (arr.asnumpy() == 7).all()
    mixed("fc_weight", arr)
    assert (arr.asnumpy() == 1).all()
    mixed("conv0_bias", arr)      # each initializer still applies MXNet's suffix rules
    assert (arr.asnumpy() == 0).all()
    with pytest.raises(ValueError, match="did not match"):
        init.Mixed(["bias"], [init.One()])("fc_weight", arr)


def test_seed_reproducible():
    kl.random.seed(42)
    a = _fill(init.Xavier(), "fc_weight", (5, 6))
    kl.random.seed(42)
    b = _fill(init.Xavier(), "fc_weight", (5, 6))
    np.testing.assert_array_equal(a, b)


def test_float16_and_verbose(caplog):
    w = _fill(init.Uniform(0.1), "fc_weight", (3, 3), dtype="float16")
    assert np.abs(w).max() <= 0.1
    with caplog.at_level(logging.INFO):
        _fill(init.One().set_verbosity(True), "fc_weight", (2, 2))
    assert "fc_weight" in caplog.text


def test_load_initializer():
    src = {"arg:fc_weight": nd.full((2, 2), 3.0)}
    ld = init.Load(src, default_init=init.Zero())
    arr = nd.ones((2, 2))
    ld("fc_weight", arr)
    assert (arr.asnumpy() == 3).all()
    ld("fc_bias", arr)
    assert (arr.asnumpy() == 0).all()


class _ByName(init.Initializer):
    """Fills a weight with a value that says which gate piece it is (its name's length)."""

    def _init_weight(self, name, arr):
        arr[:] = len(name) + np.arange(arr.size).reshape(arr.shape) / 1000


def test_fused_rnn_initializes_each_gate_piece():
    """init.FusedRNN walks the flat parameter in cuDNN's order: all weights (layer,
    direction, i2h then h2h, gate by gate), then all biases; LSTM forget biases get
    forget_bias, other biases zeros. A 1-layer bidirectional LSTM, 2 units over 3 inputs."""
    h, n_in, gates = 2, 3, 4
    size = 2 * gates * h * (n_in + h + 2)
    arr = nd.zeros((size,))
    fused = init.FusedRNN(_ByName(), h, 1, "lstm", bidirectional=True, forget_bias=2.5)
    fused._init_weight(InitDesc("lstm_parameters"), arr)
    a = arr.asnumpy()
    first = h * n_in   # l0_i2h_i_weight: (2, 3), numbered row-major
    np.testing.assert_allclose(a[:first], len("l0_i2h_i_weight") + np.arange(first) / 1000,
                               rtol=1e-6)
    weights = 2 * gates * h * (n_in + h)
    biases = a[weights:].reshape(2, 2, gates, h)   # direction, i2h/h2h, gate, unit
    assert (biases[:, :, 1] == 2.5).all() and (np.delete(biases, 1, axis=2) == 0).all()
    assert len(init.fused_rnn_pieces(size, h, 1, "lstm", True)) == 2 * 2 * gates * 2


def test_fused_rnn_falls_back_to_global_and_round_trips():
    arr = nd.zeros((3 * 3 * (1 + 3 + 2),))   # GRU: 3 gates of 3 units over 1 input
    fused = init.FusedRNN(None, 3, 1, "gru")
    fused(InitDesc("gru_parameters", attrs={"__init__": fused.dumps()},
                   global_init=init.One()), arr)
    a = arr.asnumpy()
    assert (a[:-18] == 1).all() and (a[-18:] == 0).all()   # weights 1 (global), biases 0
    again = init.create(fused.dumps())
    assert isinstance(again, init.FusedRNN) and again == fused
    with pytest.raises(ValueError, match="do not fit"):
        fused._init_weight(InitDesc("p", global_init=init.One()), nd.zeros((7,)))
