"""Chains of folded convolutions (symbol/conv_chain.py, ndarray/ops/conv_chain.py): a predict
graph's line of ``_conv_affine_act`` layers runs as one ``_conv_chain`` in onnxruntime's
blocked layout, with the values of the layers run one by one; an intermediate result read
elsewhere ends a chain; float64 and missing kernels leave the graph as it is."""
import numpy as np
import pytest
from kiln import autograd, gluon, nd
from kiln.ndarray import _ort_nchwc, _ort_nchwc_chain
from kiln.symbol import conv_chain

BLOCK = _ort_nchwc.block()[0]
pytestmark = pytest.mark.skipif(BLOCK == 0, reason="onnxruntime has no NCHWc kernels here")
C = 2 * (BLOCK or 16)


def _conv_bn_act(net, channels, kernel, act="relu", depthwise=False, stride=1):
    net.add(gluon.nn.Conv2D(channels, kernel, strides=stride, padding=kernel // 2,
                            groups=channels if depthwise else 1, use_bias=False),
            gluon.nn.BatchNorm())
    if act == "relu6":
        net.add(gluon.nn.HybridLambda(lambda F, x: F.clip(x, 0, 6)))
    elif act:
        net.add(gluon.nn.Activation(act))


def _mobilenet_like(dtype=np.float32):
    """stem-free MobileNet layers: dw 3x3 -> pw -> dw 3x3/2 -> pw (ReLU6) -> pw."""
    net = gluon.nn.HybridSequential()
    _conv_bn_act(net, C, 3, depthwise=True)
    _conv_bn_act(net, 2 * C, 1)
    _conv_bn_act(net, 2 * C, 3, depthwise=True, stride=2)
    _conv_bn_act(net, C, 1, act="relu6")
    _conv_bn_act(net, C, 1, act=None)
    return _initialized(net, (2, C, 28, 28), dtype)


class _Inverted(gluon.HybridBlock):
    """MobileNetV2's block: expand, depthwise, project, plus the input."""

    def __init__(self):
        super().__init__()
        self.body = gluon.nn.HybridSequential()
        _conv_bn_act(self.body, 2 * C, 1, act="relu6")
        _conv_bn_act(self.body, 2 * C, 3, act="relu6", depthwise=True)
        _conv_bn_act(self.body, C, 1, act=None)

    def hybrid_forward(self, F, x):
        return self.body(x) + x


def _initialized(net, shape, dtype=np.float32):
    net.initialize()
    net.cast(dtype)
    x = nd.array(np.zeros(shape), dtype=dtype)
    net(x)
    rng = np.random.default_rng(0)
    for name, p in net.collect_params().items():
        if name.endswith("running_var") or name.endswith("gamma"):
            v = rng.uniform(0.5, 1.5, p.shape)
        else:
            v = rng.standard_normal(p.shape) * (0.2 if name.endswith("weight") else 0.1)
        p.set_data(nd.array(v, dtype=dtype))
    return net


def record_calls(monkeypatch, module, name):
    """Patch ``module.name`` to count its calls (the number of stages of each)."""
    calls = []
    real = getattr(module, name)
    monkeypatch.setattr(module, name, lambda x, stages: calls.append(len(stages)) or
                        real(x, stages))
    return calls


def _ops(net):
    entry = list(net._cached_op.entries.values())[-1]
    return [s.node for s in entry.forward.plan[0].steps if s.node.kind == "op"]


def _run(net, x, chains, monkeypatch):
    monkeypatch.setattr(conv_chain, "_kernels_present", lambda: chains)
    net.hybridize()
    return net(x).asnumpy(), _ops(net)


@pytest.fixture(autouse=True)
def _no_compile_cache(monkeypatch):
    monkeypatch.setenv("KILN_COMPILE_CACHE", "0")


@pytest.mark.parametrize("make,shape", [(_mobilenet_like, (2, C, 28, 28)),
                                        (lambda: _initialized(_Inverted(), (2, C, 14, 14)),
                                         (2, C, 14, 14))], ids=["mobilenet", "inverted"])
def test_a_chain_computes_the_layers_values(monkeypatch, make, shape):
    net = make()
    x = nd.array(np.random.default_rng(1).standard_normal(shape).astype(np.float32))
    calls = record_calls(monkeypatch, _ort_nchwc_chain, "forward")
    chained, ops = _run(net, x, True, monkeypatch)
    chains = [n for n in ops if n.op.name == "_conv_chain"]
    assert len(chains) == 1 and len(calls) >= 1
    assert not any(n.op.name == "_conv_affine_act" for n in ops)   # every layer joined
    plain, ops = _run(net, x, False, monkeypatch)
    assert not any(n.op.name == "_conv_chain" for n in ops)
    np.testing.assert_allclose(chained, plain, rtol=2e-4, atol=2e-5)


def test_an_intermediate_read_elsewhere_ends_the_chain(monkeypatch):
    class Both(gluon.HybridBlock):
        def __init__(self):
            super().__init__()
            self.a, self.b = gluon.nn.HybridSequential(), gluon.nn.HybridSequential()
            _conv_bn_act(self.a, C, 3, depthwise=True)
            _conv_bn_act(self.a, C, 1)
            _conv_bn_act(self.b, C, 3, depthwise=True)
            _conv_bn_act(self.b, C, 1)

        def hybrid_forward(self, F, x):
            h = self.a(x)
            return self.b(h), h    # h stays an output: the chain stops before it
    net = _initialized(Both(), (1, C, 14, 14))
    x = nd.array(np.random.default_rng(2).standard_normal((1, C, 14, 14)).astype(np.float32))
    chains = _two_outputs_both_ways(net, x, monkeypatch)
    assert [len(n.attrs["stages"]) for n in chains] == [2, 2]


def _two_outputs_both_ways(net, x, monkeypatch):
    """The chains of ``net`` (two outputs), after checking both outputs equal the unchained
    graph's."""
    monkeypatch.setattr(conv_chain, "_kernels_present", lambda: True)
    net.hybridize()
    chained = [o.asnumpy() for o in net(x)]
    chains = [n for n in _ops(net) if n.op.name == "_conv_chain"]
    monkeypatch.setattr(conv_chain, "_kernels_present", lambda: False)
    net.hybridize()
    for a, b in zip(chained, net(x)):
        np.testing.assert_allclose(a, b.asnumpy(), rtol=2e-4, atol=2e-5)
    return chains


def test_float64_and_small_maps_stay_unchained(monkeypatch):
    net = _mobilenet_like(np.float64)
    x = nd.array(np.zeros((2, C, 28, 28)), dtype=np.float64)
    _, ops = _run(net, x, True, monkeypatch)
    assert not any(n.op.name == "_conv_chain" for n in ops)
    net = _mobilenet_like()
    x = nd.array(np.zeros((1, C, 4, 4)), dtype=np.float32)   # 16 positions, dense stages
    _, ops = _run(net, x, True, monkeypatch)
    assert not any(n.op.name == "_conv_chain" for n in ops)


def test_the_route_equals_the_stage_by_stage_kernel(monkeypatch):
    """``nd._conv_chain`` on arrays: the blocked route and the stages one by one agree,
    one sample a run included (the one-thread chunking)."""
    rng = np.random.default_rng(3)
    f32 = np.float32
    x = rng.standard_normal((3, C, 12, 12)).astype(f32)
    args = [x, rng.standard_normal((C, 1, 3, 3)).astype(f32),
            rng.uniform(0.5, 1.5, C).astype(f32), rng.standard_normal(C).astype(f32),
            (rng.standard_normal((C, C, 1, 1)) * 0.2).astype(f32),
            rng.standard_normal(C).astype(f32),
            rng.standard_normal((3, C, 12, 12)).astype(f32)]
    stages = (((3, 3), (1, 1), (1, 1), (1, 1), C, C, "relu6", True, False),
              ((1, 1), (1, 1), (1, 1), (0, 0), C, 1, "relu", False, True))
    calls = record_calls(monkeypatch, _ort_nchwc_chain, "forward")
    routed = nd._conv_chain(*map(nd.array, args), stages=stages).asnumpy()
    assert len(calls) == 1
    monkeypatch.setattr(_ort_nchwc_chain, "suits", lambda *a: False)
    plain = nd._conv_chain(*map(nd.array, args), stages=stages).asnumpy()
    assert len(calls) == 1
    np.testing.assert_allclose(routed, plain, rtol=2e-4, atol=2e-5)
    monkeypatch.undo()
    monkeypatch.setenv("KILN_THREADS", "1")
    monkeypatch.setattr(_ort_nchwc_chain.ok, "session_threads", lambda: 1)
    monkeypatch.setattr(_ort_nchwc, "CHUNK_MIN_SAMPLE_BYTES", 0)
    monkeypatch.setattr(_ort_nchwc, "CHUNK_BYTES", 1)   # one sample a run
    chunked = nd._conv_chain(*map(nd.array, args), stages=stages).asnumpy()
    np.testing.assert_array_equal(chunked, routed)


@pytest.mark.parametrize("blocks", [False, True], ids=["mobilenet", "residual-blocks"])
def test_frozen_statistics_training_through_a_chain(monkeypatch, blocks):
    """BatchNorm with ``use_global_stats`` folds in training graphs too: the chain's
    gradient (its stages' in turn, residuals from its own values included) equals the
    unchained graph's."""
    def grads(chains):
        net = _two_blocks() if blocks else _mobilenet_like()
        net.apply(lambda b: isinstance(b, gluon.nn.BatchNorm) and
                  b._kwargs.update(use_global_stats=True))
        monkeypatch.setattr(conv_chain, "_kernels_present", lambda: chains)
        net.hybridize()
        shape = (2, C, 14, 14) if blocks else (2, C, 28, 28)
        x = nd.array(np.random.default_rng(4).standard_normal(shape).astype(np.float32))
        x.attach_grad()
        with autograd.record():
            loss = (net(x) ** 2).sum()
        loss.backward()
        entry = list(net._cached_op.entries.values())[-1]
        names = [s.node.op.name for train in entry.train.values()
                 for s in train.forward.plan[0].steps if s.node.kind == "op"]
        assert ("_conv_chain" in names) == chains
        return [x.grad.asnumpy()] + [p.grad().asnumpy() for p in net.collect_params().values()
                                     if p.grad_req != "null"]
    for a, b in zip(grads(True), grads(False)):
        np.testing.assert_allclose(a, b, rtol=5e-4, atol=5e-5)


def _two_blocks(out_too=False):
    class Two(gluon.HybridBlock):
        def __init__(self):
            super().__init__()
            self.a, self.b = _Inverted(), _Inverted()

        def hybrid_forward(self, F, x):
            h = self.a(x)
            return (self.b(h), h) if out_too else self.b(h)
    return _initialized(Two(), (2, C, 14, 14))


def test_residual_blocks_join_into_one_chain(monkeypatch):
    """Each block's input is read twice (the expansion, the residual), both inside the
    next chain: the chains join, the residuals becoming the chain's own values."""
    net = _two_blocks()
    x = nd.array(np.random.default_rng(5).standard_normal((2, C, 14, 14)).astype(np.float32))
    calls = record_calls(monkeypatch, _ort_nchwc_chain, "forward")
    chained, ops = _run(net, x, True, monkeypatch)
    chains = [n for n in ops if n.op.name == "_conv_chain"]
    assert len(chains) == 1 and calls == [6]
    assert [st[8] for st in chains[0].attrs["stages"]] == \
        [False, False, ("h", 0), False, False, ("h", 3)]
    plain, _ = _run(net, x, False, monkeypatch)
    np.testing.assert_allclose(chained, plain, rtol=2e-4, atol=2e-5)


def test_a_block_output_read_elsewhere_keeps_two_chains(monkeypatch):
    net = _two_blocks(out_too=True)
    x = nd.array(np.random.default_rng(6).standard_normal((2, C, 14, 14)).astype(np.float32))
    chains = _two_outputs_both_ways(net, x, monkeypatch)
    assert [len(n.attrs["stages"]) for n in chains] == [3, 3]
    # h is the second chain's data (its residual, ("h", 0), reads it in blocked layout)
    assert chains[1].inputs[0][0] is chains[0] and chains[1].attrs["stages"][2][8] == ("h", 0)


def test_channels_past_a_block_multiple_are_padded(monkeypatch):
    """MobileNetV2's 24-channel stage (1.5 blocks): the chain pads filters and channels with
    zeros to block multiples, and the values are the unpadded layers'."""
    c, e = BLOCK * 3 // 2, BLOCK * 9   # 24 -> 144 -> 24 with 16-channel blocks
    rng = np.random.default_rng(7)
    f32 = np.float32

    def rnd(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(f32)
    x = rnd(2, c, 14, 14)
    args = [x, rnd(e, c, 1, 1, scale=0.3), rnd(e), rnd(e, 1, 3, 3), rnd(e),
            rnd(c, e, 1, 1, scale=0.1), rng.uniform(0.5, 1.5, c).astype(f32), rnd(c)]
    stages = (((1, 1), (1, 1), (1, 1), (0, 0), e, 1, "relu6", False, False),
              ((3, 3), (1, 1), (1, 1), (1, 1), e, e, "relu6", False, False),
              ((1, 1), (1, 1), (1, 1), (0, 0), c, 1, None, True, ("h", 0)))
    calls = record_calls(monkeypatch, _ort_nchwc_chain, "forward")
    routed = nd._conv_chain(*map(nd.array, args), stages=stages).asnumpy()
    assert calls == [3] and routed.shape == (2, c, 14, 14)
    monkeypatch.setattr(_ort_nchwc_chain, "suits", lambda *a: False)
    plain = nd._conv_chain(*map(nd.array, args), stages=stages).asnumpy()
    np.testing.assert_allclose(routed, plain, rtol=2e-4, atol=2e-5)
