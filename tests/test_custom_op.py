"""kiln.operator (MXNet's mx.operator): the same Python ops in real MXNet 1.9.1 and in kiln give
the same outputs and gradients; in kiln also through sym.Custom's executor and inside a
hybridized block; bad uses raise clear errors."""
import os
import sys
import textwrap

import kiln
import numpy as np
import pytest
from _oracle_suite import run_script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MX_PYTHON = os.environ.get("KILN_MXNET_PYTHON") or os.path.join(ROOT, ".mxnet-venv", "bin",
                                                                 "python")

OPS = textwrap.dedent("""
    import numpy as np
    def define(lib):
        class Softmax(lib.operator.CustomOp):
            def forward(self, is_train, req, in_data, out_data, aux):
                x = in_data[0].asnumpy()
                y = np.exp(x - x.max(axis=1, keepdims=True))
                self.assign(out_data[0], req[0], lib.nd.array(y / y.sum(axis=1, keepdims=True)))
            def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
                label = in_data[1].asnumpy().ravel().astype(int)
                y = out_data[0].asnumpy().copy()
                y[np.arange(label.shape[0]), label] -= 1.0
                self.assign(in_grad[0], req[0], lib.nd.array(y) * out_grad[0])
        @lib.operator.register("kiln_test_softmax")
        class SoftmaxProp(lib.operator.CustomOpProp):
            def list_arguments(self):
                return ["data", "label"]
            def infer_shape(self, in_shape):
                return in_shape, [in_shape[0]], []
            def create_operator(self, ctx, shapes, dtypes):
                return Softmax()
        class ScaleTwo(lib.operator.CustomOp):
            def __init__(self, alpha):
                self.alpha = alpha
            def forward(self, is_train, req, in_data, out_data, aux):
                self.assign(out_data[0], req[0], in_data[0] * self.alpha + in_data[1])
                self.assign(out_data[1], req[1], in_data[0] * in_data[1])
            def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
                a, b = in_data
                self.assign(in_grad[0], req[0], out_grad[0] * self.alpha + out_grad[1] * b)
                self.assign(in_grad[1], req[1], out_grad[0] + out_grad[1] * a)
        @lib.operator.register("kiln_test_two")
        class TwoProp(lib.operator.CustomOpProp):
            def __init__(self, alpha="1"):
                super().__init__()
                self.alpha = float(alpha)
            def list_arguments(self):
                return ["a", "b"]
            def list_outputs(self):
                return ["sum", "prod"]
            def infer_shape(self, in_shape):
                return in_shape, [in_shape[0], in_shape[0]], []
            def create_operator(self, ctx, shapes, dtypes):
                return ScaleTwo(self.alpha)
""")

SCRIPT = OPS + textwrap.dedent("""
    import json, sys
    lib = __import__(sys.argv[1])
    define(lib)
    rng = np.random.RandomState(0)
    x = lib.nd.array(rng.uniform(-2, 2, (4, 3)))
    lab = lib.nd.array([0, 2, 1, 2])
    a, b = lib.nd.array(rng.uniform(-1, 1, (2, 3))), lib.nd.array(rng.uniform(-1, 1, (2, 3)))
    for v in (x, lab, a, b):  # MXNet 1.9 fails a backward whose input has no gradient buffer
        v.attach_grad()
    with lib.autograd.record():
        y = lib.nd.Custom(x, lab, op_type="kiln_test_softmax")
    y.backward(lib.nd.array(rng.uniform(0, 1, (4, 3))))
    with lib.autograd.record():
        s, p = lib.nd.Custom(a, b, op_type="kiln_test_two", alpha=3)
        loss = (s * 2 + p * p).sum()
    loss.backward()
    print(json.dumps({k: v.asnumpy().tolist() for k, v in
                      dict(y=y, xg=x.grad, s=s, p=p, ag=a.grad, bg=b.grad).items()}))
""")


def _run(python, lib, tmp_path):
    return run_script(python, lib, SCRIPT, tmp_path)


@pytest.mark.skipif(not os.path.exists(MX_PYTHON), reason="no MXNet 1.9.1 oracle (.mxnet-venv)")
def test_matches_mxnet(tmp_path):
    want, got = _run(MX_PYTHON, "mxnet", tmp_path), _run(sys.executable, "kiln", tmp_path)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-5, atol=1e-6, err_msg=k)


namespace = {}
exec(OPS, namespace)  # noqa: S102 - the ops above, registered in this process too
namespace["define"](kiln)


def _two(alpha, a, b):
    return a * alpha + b, a * b


class _Net(kiln.gluon.HybridBlock):
    def hybrid_forward(self, F, a, b):
        s, p = F.Custom(a, b, op_type="kiln_test_two", alpha=3)
        return (s * 2 + p * p).sum()


def test_eager_hybridized_and_symbol_agree():
    rng = np.random.default_rng(1)
    av, bv = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    grads = []
    for hybrid in (False, True):
        net = _Net()
        if hybrid:
            net.hybridize()
        a, b = kiln.nd.array(av), kiln.nd.array(bv)
        a.attach_grad()
        b.attach_grad()
        with kiln.autograd.record():
            loss = net(a, b)
        loss.backward()
        grads.append((loss.asnumpy(), a.grad.asnumpy(), b.grad.asnumpy()))
    s, p = _two(3.0, av, bv)
    np.testing.assert_allclose(grads[0][0], (2 * s + p * p).sum(), rtol=1e-5)
    np.testing.assert_allclose(grads[0][1], 2 * 3 + 2 * p * bv, rtol=1e-5)
    for g0, g1 in zip(*grads):
        np.testing.assert_allclose(g1, g0, rtol=1e-6)
    sym = kiln.sym.Custom(kiln.sym.var("a"), op_type="kiln_test_two", alpha=3, name="t")
    assert sym.list_arguments() == ["a", "t_b"] and len(sym.list_outputs()) == 2
    out = sym.eval(a=kiln.nd.array(av), t_b=kiln.nd.array(bv))
    np.testing.assert_allclose(out[1].asnumpy(), p.astype(np.float32), rtol=1e-6)


def test_clear_errors(tmp_path):
    x = kiln.nd.ones((2, 3))
    with pytest.raises(kiln.MXNetError, match="no operator registered"):
        kiln.nd.Custom(x, op_type="kiln_not_registered")
    with pytest.raises(kiln.MXNetError, match="arguments"):
        kiln.nd.Custom(x, op_type="kiln_test_two")
    with pytest.raises(TypeError, match="CustomOpProp"):
        kiln.operator.register("bad")(object)
    net = _Net()
    net.initialize()
    net.hybridize()
    net(x, x)
    with pytest.raises(kiln.ExportError, match="CustomOp has no ONNX"):
        net.export_onnx(str(tmp_path / "c.onnx"), x, x)
    assert "kiln_test_two" in kiln.operator.get_all_registered_operators()


class _Counter(kiln.operator.CustomOp):
    """y = x * x; the auxiliary state counts the forward calls (in place, as MXNet's)."""

    def forward(self, is_train, req, in_data, out_data, aux):
        aux[0][:] = aux[0] + 1
        self.assign(out_data[0], req[0], in_data[0] * in_data[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        assert float(aux[0].asnumpy().min()) >= 1   # the forward's update is visible here
        self.assign(in_grad[0], req[0], 2 * in_data[0] * out_grad[0])


@kiln.operator.register("_test_counting_square")
class _CounterProp(kiln.operator.CustomOpProp):
    def list_auxiliary_states(self):
        return ["count"]

    def infer_shape(self, in_shape):
        return in_shape, [in_shape[0]], [[1]]

    def create_operator(self, ctx, shapes, dtypes):
        return _Counter()


class _CountingNet(kiln.gluon.HybridBlock):
    def __init__(self):
        super().__init__()
        self.count = self.params.get("count", shape=(1,), init="zeros", grad_req="null")

    def hybrid_forward(self, F, x, count):
        return F.Custom(x, count, op_type="_test_counting_square")


@pytest.mark.parametrize("hybrid", [False, True])
def test_auxiliary_states_update_in_place_and_get_no_gradient(hybrid):
    net = _CountingNet()
    net.initialize()
    if hybrid:
        net.hybridize()
    x = kiln.nd.array(np.array([[1.0, -2.0], [0.5, 3.0]]))
    x.attach_grad()
    for _ in range(3):
        with kiln.autograd.record():
            y = net(x)
        y.backward()
    assert net.count.data().asnumpy().tolist() == [3.0]
    np.testing.assert_allclose(y.asnumpy(), x.asnumpy() ** 2)
    np.testing.assert_allclose(x.grad.asnumpy(), 2 * x.asnumpy())


def test_auxiliary_states_are_listed_and_checked_in_symbols():
    data, count = kiln.sym.var("data"), kiln.sym.var("count")
    out = kiln.sym.Custom(data=data, count=count, op_type="_test_counting_square", name="sq")
    assert out.list_arguments() == ["data"]
    assert out.list_auxiliary_states() == ["count"]
    auto = kiln.sym.Custom(kiln.sym.var("x"), op_type="_test_counting_square", name="c")
    assert auto.list_auxiliary_states() == ["c_count"]
    state = kiln.nd.zeros((1,))
    exe = out.bind(kiln.cpu(), {"data": kiln.nd.ones((2, 2))}, aux_states={"count": state})
    exe.forward()
    exe.forward()
    assert state.asnumpy().tolist() == [2.0]
    with pytest.raises(Exception, match="auxiliary states"):
        kiln.nd.Custom(kiln.nd.ones((2, 2)), kiln.nd.zeros((3,)), op_type="_test_counting_square")


class _LegacySquare(kiln.operator.NumpyOp):
    """MXNet's legacy NumpyOp API: numpy arrays in, results written in place."""

    def forward(self, in_data, out_data):
        out_data[0][:] = in_data[0] ** 2

    def backward(self, out_grad, in_data, out_data, in_grad):
        in_grad[0][:] = 2 * in_data[0] * out_grad[0]


class _LegacyScale(kiln.operator.NDArrayOp):
    def list_arguments(self):
        return ["a", "b"]

    def forward(self, in_data, out_data):
        out_data[0][:] = in_data[0] * in_data[1]

    def backward(self, out_grad, in_data, out_data, in_grad):
        in_grad[0][:] = out_grad[0] * in_data[1]
        in_grad[1][:] = out_grad[0] * in_data[0]


def test_legacy_numpy_and_ndarray_ops_bind_and_differentiate():
    x = np.array([1.0, -2.0, 3.0], np.float32)
    s = _LegacySquare().get_symbol(kiln.sym.var("x"), name="sq")
    gx = kiln.nd.zeros((3,))
    exe = s.bind(kiln.cpu(), args=[kiln.nd.array(x)], args_grad={"x": gx})
    exe.forward(is_train=True)
    exe.backward(kiln.nd.ones((3,)))
    np.testing.assert_allclose(exe.outputs[0].asnumpy(), x ** 2)
    np.testing.assert_allclose(gx.asnumpy(), 2 * x)
    a, b = kiln.sym.var("a"), kiln.sym.var("b")
    t = _LegacyScale()(a, b=b)
    assert t.list_arguments() == ["a", "b"]
    grads = {"a": kiln.nd.zeros((3,)), "b": kiln.nd.zeros((3,))}
    exe = t.bind(kiln.cpu(), {"a": kiln.nd.array(x), "b": kiln.nd.array(2 * x)}, args_grad=grads)
    exe.forward(is_train=True)
    exe.backward(kiln.nd.ones((3,)))
    np.testing.assert_allclose(exe.outputs[0].asnumpy(), 2 * x * x)
    np.testing.assert_allclose(grads["a"].asnumpy(), 2 * x)
    np.testing.assert_allclose(grads["b"].asnumpy(), x)


def test_legacy_op_defaults_are_mxnets():
    """MXNet's PythonOp defaults: the output copies the input, the input gradient is 1."""
    s = kiln.operator.NumpyOp().get_symbol(kiln.sym.var("X"), name="numpy_op")
    dx = kiln.nd.zeros((4,))
    exe = s.bind(kiln.cpu(), args=[kiln.nd.ones((4,)) * 10], args_grad={"X": dx})
    exe.forward(is_train=True)
    exe.backward(kiln.nd.ones((4,)) * 3)
    assert exe.outputs[0].asnumpy().tolist() == [10.0] * 4
    assert dx.asnumpy().tolist() == [1.0] * 4
