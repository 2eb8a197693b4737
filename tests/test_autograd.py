"""autograd: scopes and flags, variables and grad_req, backward / grad (second order), Function."""
import threading

import numpy as np
import pytest
from kiln import autograd, nd
from kiln.base import MXNetError


def var(values, grad_req="write"):
    x = nd.array(values)
    x.attach_grad(grad_req)
    return x


# ---- scopes and flags ----------------------------------------------------------------------------
def test_record_pause_and_modes():
    assert not autograd.is_recording() and not autograd.is_training()
    with autograd.record():
        assert autograd.is_recording() and autograd.is_training()
        with autograd.pause():
            assert not autograd.is_recording() and not autograd.is_training()
        with autograd.pause(train_mode=True):
            assert autograd.is_training()
        with autograd.predict_mode():
            assert autograd.is_recording() and not autograd.is_training()
        assert autograd.is_training()
    with autograd.record(train_mode=False):
        assert autograd.is_recording() and not autograd.is_training()
    with autograd.train_mode():
        assert autograd.is_training() and not autograd.is_recording()
    assert not autograd.is_recording() and not autograd.is_training()


def test_set_recording_and_training_return_previous():
    assert autograd.set_recording(True) is False
    assert autograd.set_recording(False) is True
    assert autograd.set_training(True) is False
    assert autograd.set_training(False) is True
    assert not autograd.is_recording() and not autograd.is_training()


def test_scopes_restore_flags_on_exception():
    with pytest.raises(RuntimeError):
        with autograd.record():
            raise RuntimeError("boom")
    assert not autograd.is_recording() and not autograd.is_training()


def test_recording_flag_is_thread_local():
    seen = {}

    def worker():
        seen["start"] = autograd.is_recording()
        with autograd.record():
            seen["inside"] = autograd.is_recording()
            ready.set()
            go.wait(5)

    ready, go = threading.Event(), threading.Event()
    with autograd.record():
        t = threading.Thread(target=worker)
        t.start()
        ready.wait(5)
        assert autograd.is_recording()        # ours, untouched by the thread
        go.set()
        t.join(5)
    assert seen == {"start": False, "inside": True}
    assert not autograd.is_recording()


def test_ops_outside_record_build_no_graph():
    x = var([1.0, 2.0])
    y = x * 2
    with pytest.raises(MXNetError, match="autograd.record"):
        y.backward()


# ---- backward and grad_req -----------------------------------------------------------------------
def test_backward_simple_and_chain():
    x = var([1.0, 2.0, 3.0])
    with autograd.record():
        y = (x * x + 3 * x).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), 2 * np.array([1, 2, 3]) + 3)


def test_grad_req_write_add_null():
    w, a, n = var([1.0, 2.0]), var([1.0, 2.0], "add"), var([1.0, 2.0], "null")
    for _ in range(2):
        with autograd.record():
            y = (w * 3 + a * a + n).sum()
        y.backward()
    np.testing.assert_allclose(w.grad.asnumpy(), [3, 3])        # overwritten each time
    np.testing.assert_allclose(a.grad.asnumpy(), [4, 8])        # accumulated: 2 * 2x
    np.testing.assert_allclose(n.grad.asnumpy(), [0, 0])        # never written
    assert w.grad_req == "write" and a.grad_req == "add" and n.grad_req == "null"


def test_backward_with_out_grad():
    x = var([1.0, 2.0])
    with autograd.record():
        y = x * x
    y.backward(out_grad=nd.array([10.0, 0.5]))
    np.testing.assert_allclose(x.grad.asnumpy(), [20, 2])


def test_autograd_backward_with_head_grads_and_several_heads():
    x = var([1.0, 2.0])
    with autograd.record():
        y1, y2 = x * 2, x * x
    autograd.backward([y1, y2], head_grads=[nd.array([1.0, 1.0]), nd.array([3.0, 0.0])])
    np.testing.assert_allclose(x.grad.asnumpy(), [2 + 6, 2])


def test_gradient_of_broadcast_is_summed_back():
    x, b = var([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), var([1.0, 1.0, 1.0])
    with autograd.record():
        y = (x * b).sum()
    y.backward()
    np.testing.assert_allclose(b.grad.asnumpy(), [5, 7, 9])


def test_retain_graph_and_freed_graph_error():
    x = var([1.0, 2.0])
    with autograd.record():
        y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()                             # second pass allowed thanks to retain_graph
    np.testing.assert_allclose(x.grad.asnumpy(), [2, 4])
    with pytest.raises(MXNetError, match="already been freed.*retain_graph=True"):
        y.backward()


# ---- autograd.grad and higher order --------------------------------------------------------------
def test_grad_returns_gradients_without_touching_dot_grad():
    x = var([1.0, 2.0])
    with autograd.record():
        y = (x * x * x).sum()
    (g,) = autograd.grad(y, [x])
    np.testing.assert_allclose(g.asnumpy(), [3, 12])
    np.testing.assert_allclose(x.grad.asnumpy(), [0, 0])
    assert isinstance(g, nd.NDArray)


def test_grad_of_unrelated_variable_is_zero():
    x, z = var([1.0, 2.0]), var([5.0])
    with autograd.record():
        y = (x * 2).sum()
    gx, gz = autograd.grad(y, [x, z])
    np.testing.assert_allclose(gz.asnumpy(), [0])
    np.testing.assert_allclose(gx.asnumpy(), [2, 2])


def test_second_order_of_cube():
    x = var([1.0, 2.0, -3.0])
    with autograd.record():
        y = x ** 3
        (dy,) = autograd.grad(y, [x], head_grads=[nd.ones((3,))], create_graph=True)
        s = dy.sum()
    np.testing.assert_allclose(dy.asnumpy(), 3 * np.array([1, 4, 9]))
    s.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), 6 * np.array([1, 2, -3]))   # d2/dx2 x^3


def test_third_order_through_repeated_grad():
    x = var([2.0])
    with autograd.record():
        y = x * x * x * x                      # x^4
        (g1,) = autograd.grad(y, [x], create_graph=True)
        (g2,) = autograd.grad(g1, [x], create_graph=True)
    g2.backward()
    np.testing.assert_allclose(g1.asnumpy(), [32])          # 4x^3
    np.testing.assert_allclose(g2.asnumpy(), [48])          # 12x^2
    np.testing.assert_allclose(x.grad.asnumpy(), [48])      # 24x


def test_mark_variables():
    x, gbuf = nd.array([1.0, 2.0]), nd.zeros((2,))
    autograd.mark_variables([x], [gbuf])
    with autograd.record():
        y = (x * 5).sum()
    y.backward()
    np.testing.assert_allclose(gbuf.asnumpy(), [5, 5])
    assert x.grad is gbuf


def test_detach_cuts_the_graph():
    x = var([1.0, 2.0])
    with autograd.record():
        y = x * x
        z = (y.detach() * x).sum()              # d/dx treats y as a constant
    z.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), [1, 4])


# ---- custom Function ----------------------------------------------------------------------------
class Sigmoid(autograd.Function):
    def forward(self, x):
        y = 1 / (1 + nd.exp(-x))
        self.save_for_backward(y)
        return y

    def backward(self, dy):
        (y,) = self.saved_tensors
        return dy * y * (1 - y)


class Scale2(autograd.Function):
    """Two inputs, two outputs."""

    def forward(self, a, b):
        return a * 2, a * b

    def backward(self, da, dab):
        return da * 2 + dab * self.b_val, dab * self.a_val

    def __call__(self, a, b):
        self.a_val, self.b_val = a.detach(), b.detach()
        return super().__call__(a, b)


def test_function_custom_sigmoid():
    x = var([-1.0, 0.0, 2.0])
    with autograd.record():
        y = Sigmoid()(x)
        loss = (y * nd.array([1.0, 2.0, 3.0])).sum()
    loss.backward()
    s = 1 / (1 + np.exp(-np.array([-1.0, 0.0, 2.0])))
    np.testing.assert_allclose(y.asnumpy(), s, rtol=1e-6)
    np.testing.assert_allclose(x.grad.asnumpy(), [1, 2, 3] * s * (1 - s), rtol=1e-5)


def test_function_several_inputs_and_outputs():
    a, b = var([1.0, 2.0]), var([3.0, 4.0])
    with autograd.record():
        p, q = Scale2()(a, b)
        loss = (p + q).sum()
    loss.backward()
    np.testing.assert_allclose(a.grad.asnumpy(), [2 + 3, 2 + 4])
    np.testing.assert_allclose(b.grad.asnumpy(), [1, 2])


def test_function_forward_is_not_recorded_inside():
    x = var([1.0])
    with autograd.record():
        y = Sigmoid()(x)
    assert y._node is not None and y._node.op.name == "Sigmoid"


def test_gradient_arrays_owned_through_a_capsule_are_adopted_not_copied():
    """onnxruntime's outputs own their memory through a capsule (their base is no array): such
    a gradient becomes .grad's data as it is; a view of another array is still copied."""
    import onnxruntime as ort
    from kiln.autograd import _owned
    from onnx import TensorProto, helper
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    from_ort = sess.run(None, {"x": np.ones((2, 3), np.float32)})[0]
    target = np.zeros((2, 3), np.float32)
    assert _owned(from_ort, target, set())
    assert not _owned(np.ones((4, 3), np.float32)[:2], target, set())


def test_get_symbol_of_the_tape():
    """autograd.get_symbol: the recorded computation as a Symbol over var0, var1... (in the
    order MXNet 1.9 names them), evaluating to the recorded value."""
    import kiln
    x, z = kiln.nd.array([2.0]), kiln.nd.array([3.0])
    x.attach_grad()
    z.attach_grad()
    with kiln.autograd.record():
        y = x * x + 2 * z - 1
    s = kiln.autograd.get_symbol(y)
    assert s.list_arguments() == ["var0", "var1"]
    assert s.eval(var0=x, var1=z)[0].asnumpy().tolist() == y.asnumpy().tolist()
    with kiln.autograd.record():
        parts = kiln.nd.split(kiln.nd.array([[1.0, 2.0]]) * x, num_outputs=2, axis=1)
        w = parts[1] - parts[0]
    assert kiln.autograd.get_symbol(w).eval(var0=kiln.nd.array([[1.0, 2.0]]),
                                            var1=x)[0].asnumpy().tolist() == [[2.0]]
    with pytest.raises(kiln.MXNetError, match="record"):
        kiln.autograd.get_symbol(kiln.nd.ones(1))


def test_get_symbol_of_a_hybridized_call_inlines_small_graphs():
    """A hybridized call's tape node: its graph inlined when it has at most ``inline_limit``
    ops (MXNet's default 2), else one _CachedOp node over the data and the parameters."""
    import json

    import kiln
    net = kiln.gluon.nn.HybridSequential()
    for _ in range(3):
        net.add(kiln.gluon.nn.Dense(4, in_units=4))
    net.initialize()
    x = kiln.nd.ones((2, 4))

    def recorded(**flags):
        net.hybridize(**flags)
        net(x)   # the first call after hybridize builds the graph
        with kiln.autograd.record():
            out = net(x)
        nodes = json.loads(kiln.autograd.get_symbol(out).tojson())["nodes"]
        return out, kiln.autograd.get_symbol(out), [n["op"] for n in nodes]

    out, sym, ops = recorded(inline_limit=3)
    assert ops.count("FullyConnected") == 3 and len(ops) == 10   # 7 variables, 3 ops
    args = {f"var{k}": a for k, a in enumerate(
        [x] + [p.data() for p in net.collect_params().values()])}
    assert np.allclose(sym.eval(**args)[0].asnumpy(), out.asnumpy())
    for flags in ({}, {"inline_limit": 0}, {"inline_limit": 3, "static_alloc": True}):
        ops = recorded(**flags)[2]
        assert ops == ["null"] * 7 + ["_CachedOp"], flags
