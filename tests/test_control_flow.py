"""Control flow that hybridizes: ``nd.contrib.foreach``/``while_loop``/``cond`` in a hybridized
block are one graph node each (the Python body is traced once), match the eager loop, have
gradients (checked by float64 finite differences) and export to ONNX as Scan/Loop/If
(checked in onnxruntime, including a cond decided by a value known only at run time)."""
import kiln as mx
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from kiln import autograd, nd
from kiln.base import MXNetError
from kiln.gluon import HybridBlock, nn


def _run(net, arrays, hybridize, wrt=(), weights=None):
    """Outputs and the gradients of sum(weights_k * output_k) w.r.t. inputs ``wrt``."""
    if hybridize:
        net.hybridize()
    xs = [nd.array(a, dtype=a.dtype) for a in arrays]
    for k in wrt:
        xs[k].attach_grad()
    with autograd.record():
        outs = net(*xs)
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        loss = sum((o * nd.array(w, dtype=o.dtype)).sum() for o, w in zip(outs, weights)) \
            if weights else None
    if loss is not None:
        loss.backward()
    return [o.asnumpy() for o in outs], [xs[k].grad.asnumpy() for k in wrt]


def _weights(outs, seed=3):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=o.shape) for o in outs]


def _numeric_grad(net, arrays, k, weights, eps=1e-6):
    """d sum(weights * outputs) / d arrays[k], central differences in float64."""
    def f(a):
        xs = list(arrays)
        xs[k] = a
        outs = net(*[nd.array(x, dtype=x.dtype) for x in xs])
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        return sum(float((o.asnumpy() * w).sum()) for o, w in zip(outs, weights))
    base, grad = arrays[k], np.zeros(arrays[k].shape)
    for idx in np.ndindex(base.shape):
        up, down = base.copy(), base.copy()
        up[idx] += eps
        down[idx] -= eps
        grad[idx] = (f(up) - f(down)) / (2 * eps)
    return grad


def _onnx_outputs(net, arrays, tmp_path, ops):
    path = str(tmp_path / "model.onnx")
    net.export_onnx(path, *[nd.array(a, dtype=a.dtype) for a in arrays])
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    assert {n.op_type for n in model.graph.node} >= set(ops)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return sess, [i.name for i in sess.get_inputs()]


def _check(make, arrays, wrt, tmp_path, onnx_ops, other_inputs=()):
    """eager == hybridized == ONNX; hybridized gradients == finite differences (float64)."""
    want, want_g = _run(make(), arrays, False, wrt, None)
    weights = _weights(want)
    want, want_g = _run(make(), arrays, False, wrt, weights)
    net = make()
    got, got_g = _run(net, arrays, True, wrt, weights)
    for a, b in zip(got + got_g, want + want_g):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    arrays64 = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays]
    for j, k in enumerate(wrt):
        np.testing.assert_allclose(got_g[j], _numeric_grad(net, arrays64, k, weights),
                                   rtol=1e-5, atol=1e-6)
    sess, names = _onnx_outputs(net, arrays, tmp_path, onnx_ops)
    for feed in [arrays] + list(other_inputs):
        expect = net(*[nd.array(a, dtype=a.dtype) for a in feed])
        expect = expect if isinstance(expect, (list, tuple)) else [expect]
        res = sess.run(None, dict(zip(names, feed)))
        for a, b in zip(res, expect):
            np.testing.assert_allclose(a, b.asnumpy(), rtol=1e-6, atol=1e-9)


# ---- foreach ----------------------------------------------------------------------------------
class Accumulate(HybridBlock):
    def __init__(self):
        super().__init__()
        self.traced = 0

    def hybrid_forward(self, F, x, h):
        def body(xt, states):
            self.traced += 1
            s = F.tanh(states[0] * 0.5 + xt)
            return [s * 2, s.sum()], [s]
        outs, states = F.contrib.foreach(body, x, [h])
        return outs[0], outs[1], states[0]


def test_foreach_eager_hybridized_onnx_and_gradients(tmp_path):
    rng = np.random.default_rng(0)
    x, h = rng.normal(size=(4, 3)), rng.normal(size=(3,))
    _check(Accumulate, [x, h], (0, 1), tmp_path, {"Scan"},
           other_inputs=[[rng.normal(size=(4, 3)), rng.normal(size=(3,))]])


def test_foreach_body_is_traced_once_not_unrolled():
    net = Accumulate()
    net.hybridize()
    for _ in range(3):
        net(nd.ones((5, 2)), nd.zeros((2,)))
    assert net.traced == 1          # one trace for 5 steps and 3 calls


class RNN(HybridBlock):
    """An RNN over time with its cell's layers called inside the body (free parameters)."""

    def __init__(self):
        super().__init__()
        self.i2h = nn.Dense(4, in_units=3, flatten=False)
        self.h2h = nn.Dense(4, in_units=4, flatten=False, use_bias=False)

    def forward(self, x, h0):
        def step(xt, states):
            h = nd.tanh(self.i2h(xt) + self.h2h(states[0]))
            return h, [h]
        outs, states = nd.contrib.foreach(step, x, [h0])
        return outs, states[0]


def _rnn():
    mx.random.seed(1)
    net = RNN()
    net.initialize(mx.init.Uniform(0.5))
    net.cast("float64")
    return net


def test_rnn_like_foreach_matches_eager_with_parameter_gradients(tmp_path):
    rng = np.random.default_rng(2)
    x, h0 = rng.normal(size=(5, 2, 3)), rng.normal(size=(2, 4))
    _check(_rnn, [x, h0], (0, 1), tmp_path, {"Scan"})
    grads = []
    for hyb in (False, True):
        net = _rnn()
        _, _ = _run(net, [x, h0], hyb, (), _weights([np.zeros((5, 2, 4)), np.zeros((2, 4))]))
        grads.append([p.grad().asnumpy() for p in net.collect_params().values()])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


# ---- while_loop -------------------------------------------------------------------------------
class Loop(HybridBlock):
    def hybrid_forward(self, F, i, s):
        out, (i, s) = F.contrib.while_loop(
            lambda i, s: i < 3, lambda i, s: ([i * s, s * s], (i + 1, s * 0.5 + i * s)),
            (i, s), max_iterations=6)
        return out[0], out[1], i, s


def test_while_loop_eager_hybridized_onnx_and_gradients(tmp_path):
    i, s = np.array([0.0]), np.array([1.5])
    _check(Loop, [i, s], (1,), tmp_path, {"Loop"},
           other_inputs=[[np.array([2.0]), np.array([0.5])], [np.array([5.0]), s]])


def test_while_loop_pads_outputs_to_max_iterations():
    net = Loop()
    net.hybridize()
    out, _, i, s = net(nd.array([1.0]), nd.array([2.0]))
    assert out.shape == (6, 1)       # MXNet: max_iterations rows (unset rows: zeros here)
    np.testing.assert_allclose(out.asnumpy().ravel(), [2, 6, 0, 0, 0, 0])
    assert i.asscalar() == 3


# ---- cond -------------------------------------------------------------------------------------
class Cond(HybridBlock):
    def __init__(self):
        super().__init__()
        self.dense = nn.Dense(2, in_units=2)

    def hybrid_forward(self, F, x):
        return F.contrib.cond(x.sum() > 0, lambda: self.dense(x) * 2, lambda: x * x - 1)


def _cond():
    mx.random.seed(3)
    net = Cond()
    net.initialize(mx.init.Uniform(0.5))
    net.cast("float64")
    return net


@pytest.mark.parametrize("sign", [1, -1], ids=["then", "else"])
def test_cond_on_a_runtime_value(tmp_path, sign):
    x = sign * np.array([[1.0, 2.0]])
    _check(_cond, [x], (0,), tmp_path, {"Loop"}, other_inputs=[[-x]])


def test_cond_gradient_is_the_taken_branch():
    net = _cond()
    net.hybridize()
    x = nd.array([[-1.0, -2.0]], dtype="float64")
    x.attach_grad()
    with autograd.record():
        y = net(x)
    y.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), [[-2, -4]])
    assert not net.dense.weight.grad().asnumpy().any()   # the branch not taken: zero


def test_cond_branches_must_agree_in_shape():
    class Bad(HybridBlock):
        def hybrid_forward(self, F, x):
            return F.contrib.cond(x.sum() > 0, lambda: x * 2, lambda: x.sum())
    net = Bad()
    net.hybridize()
    with pytest.raises(MXNetError, match="both branches"):
        net(nd.array([1.0, 2.0]))


def test_python_if_on_a_traced_value_points_at_the_control_flow_ops():
    class Branchy(HybridBlock):
        def forward(self, x):
            return x * 2 if x.sum() > 0 else x
    net = Branchy()
    net.hybridize()
    with pytest.raises(MXNetError, match="contrib.cond / foreach / while_loop"):
        net(nd.array([1.0]))


def test_random_op_in_a_differentiated_body_raises_clearly():
    class Drop(HybridBlock):
        def hybrid_forward(self, F, x, h):
            out, _ = F.contrib.foreach(lambda xt, s: (F.Dropout(xt + s[0], p=0.5), s),
                                       x, [h])
            return out
    net = Drop()
    net.hybridize()
    x, h = nd.ones((3, 2)), nd.zeros((2,))
    assert net(x, h).shape == (3, 2)          # predict mode: dropout is the identity
    x.attach_grad()
    with pytest.raises(MXNetError, match="random ops inside a hybridized foreach"):
        with autograd.record():
            net(x, h)


def test_symbolic_call_with_shapes_builds_the_node():
    out = Accumulate()(mx.sym.var("x", shape=(4, 3)), mx.sym.var("h", shape=(3,)))
    group = mx.sym.Group(list(out))
    assert group.list_arguments() == ["x", "h"]
    x, h = np.random.default_rng(0).normal(size=(4, 3)), np.zeros(3)
    got = group.eval(x=nd.array(x), h=nd.array(h))
    want = Accumulate()(nd.array(x), nd.array(h))
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.asnumpy(), b.asnumpy(), rtol=1e-6)
    # without shapes the body is shaped when the graph runs (as MXNet infers at bind time)
    loose = mx.sym.Group(list(Accumulate()(mx.sym.var("x"), mx.sym.var("h"))))
    for a, b in zip(loose.eval(x=nd.array(x), h=nd.array(h)), want):
        np.testing.assert_allclose(a.asnumpy(), b.asnumpy(), rtol=1e-6)


def test_foreach_exports_with_dynamic_time_and_batch_axes(tmp_path):
    net = _rnn()
    net.hybridize()
    rng = np.random.default_rng(4)
    x, h0 = rng.normal(size=(5, 2, 3)), rng.normal(size=(2, 4))
    path = str(tmp_path / "rnn.onnx")
    net.export_onnx(path, nd.array(x, dtype="float64"), nd.array(h0, dtype="float64"),
                    dynamic_axes={"data0": {0: "T", 1: "N"}, "data1": {0: "N"}})
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x2, h2 = rng.normal(size=(7, 3, 3)), rng.normal(size=(3, 4))
    got = sess.run(None, {"data0": x2, "data1": h2})
    want = net(nd.array(x2, dtype="float64"), nd.array(h2, dtype="float64"))
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b.asnumpy(), rtol=1e-10)


def test_symbol_contrib_control_flow():
    """sym.contrib.foreach/while_loop/cond build one node each on Symbols with known shapes,
    and evaluate as the Python loops they stand for; unknown shapes raise clearly."""
    from kiln import sym
    rng = np.random.default_rng(11)
    xv, hv = rng.standard_normal((5, 2, 3)), rng.standard_normal((2, 3))
    x, h = sym.var("x", shape=(5, 2, 3)), sym.var("h", shape=(2, 3))
    outs, last = sym.contrib.foreach(lambda d, s: (d * s, d + s), x, h)
    got = sym.Group([outs, last]).eval(x=nd.array(xv), h=nd.array(hv))
    want_outs, state = [], hv.astype(np.float32)
    for d in xv.astype(np.float32):
        want_outs.append(d * state)
        state = d + state
    np.testing.assert_allclose(got[0].asnumpy(), np.stack(want_outs), rtol=1e-6)
    np.testing.assert_allclose(got[1].asnumpy(), state, rtol=1e-6)
    i = sym.var("i", shape=(1,))
    o, v = sym.contrib.while_loop(lambda i: i < 3, lambda i: (i * 2, i + 1), i,
                                  max_iterations=5)
    res = sym.Group([o, v]).eval(i=nd.array([0.0]))
    np.testing.assert_array_equal(res[0].asnumpy().ravel(), [0, 2, 4, 0, 0])
    np.testing.assert_array_equal(res[1].asnumpy(), [3])
    for start, want in ((0.0, 10.0), (2.0, -8.0)):
        c = sym.contrib.cond(i < 1, lambda: i + 10, lambda: i - 10)
        np.testing.assert_array_equal(c.eval(i=nd.array([start]))[0].asnumpy(), [want])
    # unknown shapes: shaped when evaluated; a state the body ignores is refused (MXNet 1.9)
    o2, _ = sym.contrib.foreach(lambda d, s: (d * s, s), sym.var("u"), sym.var("w"))
    np.testing.assert_allclose(o2.eval(u=nd.array(xv), w=nd.array(hv))[0].asnumpy(),
                               xv.astype(np.float32) * hv.astype(np.float32), rtol=1e-6)
    with pytest.raises(AssertionError, match="state arrays have to be used"):
        sym.contrib.foreach(lambda d, s: (d, d), sym.var("u"), sym.var("w"))
    with pytest.raises(ValueError, match="max_iterations"):
        sym.contrib.while_loop(lambda i: i < 3, lambda i: (i, i + 1), i)
