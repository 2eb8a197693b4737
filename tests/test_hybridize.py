"""hybridize(): tracing, the signature cache, errors naming user lines, export and SymbolBlock."""
import inspect
import os

import kiln as mx
import numpy as np
import pytest
from kiln import autograd, gluon, nd
from kiln.base import MXNetError, OpError


class Affine(gluon.HybridBlock):
    """x @ W.T + b with a deferred input dimension (Gluon 1.x style)."""

    def __init__(self, units, **kw):
        super().__init__(**kw)
        with self.name_scope():
            self.weight = self.params.get("weight", shape=(units, 0), allow_deferred_init=True)
            self.bias = self.params.get("bias", shape=(units,), init="zeros")

    def infer_shape(self, x, *args):
        self.weight.shape = (self.weight.shape[0], x.shape[-1])

    def hybrid_forward(self, F, x, weight, bias):
        return F.FullyConnected(x, weight, bias, num_hidden=weight.shape[0])


class Net(gluon.HybridBlock):
    """Gluon 2 style forward with children, a BatchNorm op and an optional input."""

    def __init__(self):
        super().__init__()
        self.fc1 = Affine(6)
        self.fc2 = Affine(3)
        self.gamma = gluon.Parameter("gamma", shape=(6,), init="ones")
        self.beta = gluon.Parameter("beta", shape=(6,), init="zeros")
        self.mean = gluon.Parameter("running_mean", shape=(6,), init="zeros", grad_req="null")
        self.var = gluon.Parameter("running_var", shape=(6,), init="ones", grad_req="null")

    def forward(self, x, scale=None):
        h = self.fc1(x)
        h = nd.BatchNorm(h, self.gamma.data(), self.beta.data(), self.mean.data(),
                         self.var.data(), fix_gamma=False)
        h = nd.tanh(h)
        if scale is not None:
            h = h * scale
        return self.fc2(h)


def make(seed=0):
    mx.random.seed(seed)
    net = Net()
    net.initialize(mx.init.Xavier())
    return net


def run(net, x, train=True, scale=None):
    """Output, input gradient and parameter gradients of sum(net(x) * w)."""
    x = x.copy()
    x.attach_grad()
    w = nd.array(np.linspace(0.5, 1.5, 3))
    args = (x,) if scale is None else (x, scale)
    with autograd.record(train_mode=train):
        y = net(*args)
        loss = (y * w).sum()
    loss.backward()
    grads = {k: p.grad().asnumpy().copy() for k, p in net._collect_params_with_prefix().items()
             if p.grad_req != "null"}
    return y.asnumpy(), x.grad.asnumpy(), grads


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("static_alloc", [False, True])
def test_outputs_and_gradients_equal_eager(train, static_alloc):
    x = nd.array(np.random.default_rng(1).normal(size=(4, 5)))
    eager, hybrid = make(), make()
    eager(x), hybrid(x)  # finish deferred initialization
    for k, p in hybrid._collect_params_with_prefix().items():
        p.set_data(eager._collect_params_with_prefix()[k].data())
    hybrid.hybridize(static_alloc=static_alloc)
    for shape in [(4, 5), (7, 5)]:  # and after an input-shape change
        xs = nd.array(np.random.default_rng(2).normal(size=shape))
        ey, ex, eg = run(eager, xs, train)
        hy, hx, hg = run(hybrid, xs, train)
        np.testing.assert_allclose(hy, ey, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(hx, ex, rtol=1e-6, atol=1e-6)
        for k in eg:
            np.testing.assert_allclose(hg[k], eg[k], rtol=1e-5, atol=1e-6, err_msg=k)
        np.testing.assert_allclose(hybrid.mean.data().asnumpy(), eager.mean.data().asnumpy(),
                                   rtol=1e-6, atol=1e-7)


def test_one_tape_node_per_hybridized_call():
    net = make()
    x = nd.ones((2, 5))
    net(x)
    net.hybridize()
    with autograd.record():
        y = net(x)
    assert "hybridized" in y._node.op.name
    assert len(y._node.args) == 1 + len([p for p in net.collect_params().values()])


def test_cache_keys_and_retrace():
    net = make()
    x = nd.ones((2, 5))
    net(x)
    net.hybridize()
    net(x)
    cg = net._cached_op
    assert cg.trace_count == 1
    net(nd.ones((2, 5)))                       # same signature: cached
    assert cg.trace_count == 1
    net(nd.ones((3, 5)))                       # shape change
    net(nd.ones((3, 5), dtype="float64").astype("float32"))
    assert cg.trace_count == 2
    with autograd.train_mode():                # training mode is part of the key
        net(x)
    assert cg.trace_count == 3
    net(x, nd.ones((1,)))                      # a None position filled
    assert cg.trace_count == 4


def test_training_mode_branch_is_not_stale():
    class ModeNet(gluon.HybridBlock):
        def forward(self, x):
            return x * 2 if autograd.is_training() else x * 3

    net = ModeNet()
    net.hybridize()
    x = nd.ones((2,))
    assert net(x).asnumpy().tolist() == [3, 3]
    with autograd.train_mode():
        assert net(x).asnumpy().tolist() == [2, 2]
    assert net(x).asnumpy().tolist() == [3, 3]


def test_adding_a_child_or_casting_clears_the_cache():
    net = gluon.nn.HybridSequential()
    net.add(Affine(3))
    net.initialize()
    x = nd.ones((2, 4))
    net.hybridize()
    net(x)
    net(x)
    first = net(x).asnumpy()
    extra = Affine(2)
    extra.initialize()
    net.add(extra)
    assert net(x).shape == (2, 2)
    net.cast("float64")
    y = net(x.astype("float64"))
    assert y.dtype == np.float64
    assert first.shape == (2, 3)


def test_branching_on_a_traced_value_names_this_line():
    class Branchy(gluon.HybridBlock):
        def forward(self, x):
            if x.sum() > 0:  # the line the error must name
                return x
            return -x

    line = inspect.getsourcelines(Branchy.forward)[1] + 1
    net = Branchy()
    net.hybridize()
    with pytest.raises(MXNetError) as err:
        net(nd.ones((2,)))
    msg = str(err.value)
    assert f"{os.path.basename(__file__)}:{line}" in msg
    assert "hybridize(active=False)" in msg


def test_shape_is_available_while_tracing():
    class Shaped(gluon.HybridBlock):
        def forward(self, x):
            return x.reshape((x.shape[0], -1)) * x.shape[1]

    net = Shaped()
    net.hybridize()
    assert net(nd.ones((2, 3, 2))).asnumpy().tolist() == [[3.0] * 6] * 2


def test_trace_time_shape_error_names_block_and_line():
    class Bad(gluon.HybridBlock):
        def __init__(self):
            super().__init__()
            self.inner = Inner()

        def forward(self, x):
            return self.inner(x)

    class Inner(gluon.HybridBlock):
        def forward(self, x):
            return x + nd.ones((7,))  # incompatible

    net = Bad()
    net.hybridize()
    with pytest.raises(OpError) as err:
        net(nd.ones((2, 3)))
    msg = str(err.value)
    assert "inner" in msg and os.path.basename(__file__) in msg and "(2, 3)" in msg


def test_unknown_hybridize_keyword_raises_at_the_call():
    with pytest.raises(TypeError):
        make().hybridize(static_aloc=True)


def test_frequent_retracing_warns_naming_the_block():
    net = gluon.nn.HybridSequential()
    net.hybridize()
    with pytest.warns(UserWarning, match="traced"):
        for n in range(1, 9):
            net(nd.ones((n,)))


def test_generated_code_and_graph_are_printable():
    net = make()
    x = nd.ones((2, 5))
    net(x)
    net.hybridize()
    run(net, x)
    code = net.generated_code()
    assert "def forward(xp" in code and "def backward(xp" in code
    assert "fc1" in net.print_graph()


def test_grad_req_add_and_null():
    net = make()
    x = nd.ones((2, 5))
    net(x)
    net.hybridize()
    _, _, g1 = run(net, x)
    for p in net.collect_params().values():
        if p.grad_req != "null":
            p.grad_req = "add"
    net.fc2.bias.grad_req = "null"
    run(net, x)
    _, _, g2 = run(net, x)
    np.testing.assert_allclose(g2["fc1.weight"], 2 * g1["fc1.weight"], rtol=1e-5)
    assert "fc2.bias" not in g2


def test_export_imports_round_trip(tmp_path):
    net = make()
    x = nd.array(np.random.default_rng(3).normal(size=(4, 5)))
    net(x)
    net.hybridize()
    expected = net(x).asnumpy()
    assert net.export(str(tmp_path / "net"), epoch=2) is None  # as MXNet 1.9
    sym_file, params_file = (str(tmp_path / "net-symbol.json"),
                             str(tmp_path / "net-0002.params"))
    assert params_file.endswith("net-0002.params")
    loaded = nd.load(params_file)
    # MXNet 1.9's export keys: full parameter names
    assert f"arg:{net.fc1.weight.name}" in loaded and f"aux:{net.mean.name}" in loaded
    assert f"aux:{net.var.name}" in loaded
    block = gluon.SymbolBlock.imports(sym_file, ["data"], params_file)
    np.testing.assert_allclose(block(x).asnumpy(), expected, rtol=1e-6)
    block.hybridize()
    np.testing.assert_allclose(block(x).asnumpy(), expected, rtol=1e-6)
    net.initialize(mx.init.Xavier(), force_reinit=True)
    net.load_parameters(params_file)      # the exported names are this instance's names
    np.testing.assert_allclose(net(x).asnumpy(), expected, rtol=1e-6)


def test_symbolblock_parameters_are_trainable(tmp_path):
    net = make()
    x = nd.ones((2, 5))
    net(x)
    net.hybridize()
    net(x)
    net.export(str(tmp_path / "net"))
    sym_file, params_file = (str(tmp_path / "net-symbol.json"),
                             str(tmp_path / "net-0000.params"))
    block = gluon.SymbolBlock.imports(sym_file, ["data"], params_file)
    trainer = gluon.Trainer(block.collect_params(), "sgd", {"learning_rate": 0.1})
    before = block(x).asnumpy()
    with autograd.record():
        loss = (block(x) ** 2).sum()
    loss.backward()
    trainer.step(1)
    assert np.abs(block(x).asnumpy() - before).max() > 0


def test_export_needs_a_call_first(tmp_path):
    net = make()
    net.hybridize()
    with pytest.raises(MXNetError, match="call"):
        net.export(str(tmp_path / "x"))
