"""The legacy output layers (SoftmaxOutput, the regression outputs, SVMOutput, MakeLoss)
against real MXNet 1.9.1: outputs and input gradients under a non-trivial head gradient,
which these ops ignore (see tests/test_mxnet_oracle.py for the harness). Without MXNet the
oracle cases skip; eager against hybridized gradients and bad inputs run anyway.
"""
import os

import _mxnet_oracle as oracle
import kiln
import numpy as np
import pytest
from _oracle_suite import suite_tests
from kiln import autograd, gluon, nd
from kiln.base import OpError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MX_PYTHON = os.environ.get("KILN_MXNET_PYTHON") or os.path.join(ROOT, ".mxnet-venv", "bin",
                                                                 "python")


def _softmax(x, axis):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def _softmax_cases(s):
    x2, lab2 = s.arr((3, 4)), s.arr(values=[0, 2, 1])
    for kw in ({}, {"grad_scale": 2.0}, {"normalization": "batch"},
               {"normalization": "valid", "use_ignore": True, "ignore_label": 2},
               {"use_ignore": True, "ignore_label": 2}, {"smooth_alpha": 0.1},
               {"normalization": "valid", "smooth_alpha": 0.1, "use_ignore": True,
                "ignore_label": 2}):
        s.op("nd.SoftmaxOutput", x2, lab2, _grad=[x2["$"]], **kw)
    s.op("nd.SoftmaxOutput", x2, s.arr(values=[1, -1, 7]), _grad=[x2["$"]])  # off-range labels
    x3 = s.arr((3, 3, 5))
    lab3 = s.arr(values=s.rng.integers(0, 3, (3, 5)))
    for kw in ({}, {"normalization": "batch"}, {"normalization": "valid"},
               {"normalization": "valid", "use_ignore": True, "ignore_label": 1},
               {"use_ignore": True, "ignore_label": 1}):
        s.op("nd.SoftmaxOutput", x3, lab3, multi_output=True, _grad=[x3["$"]], **kw)
    # MXNet 1.9.1 ignores smooth_alpha with multi_output (its 2-D path alone smooths); kiln
    # smooths the target over the class axis there too
    x, lab = s.arrays[x3["$"]].astype(np.float64), s.arrays[lab3["$"]].astype(int)
    target = np.where(np.moveaxis(np.eye(3)[lab], -1, 1) > 0, 0.8, 0.1)
    s.op("nd.SoftmaxOutput", x3, lab3, multi_output=True, smooth_alpha=0.2, _grad=[x3["$"]],
         _expect={f"grad:{x3['$']}": s.arr(values=(_softmax(x, 1) - target) / 5)["$"]})
    x4, lab4 = s.arr((2, 3, 4)), s.arr(values=[[0, 1, 3], [3, 1, 0]])
    for kw in ({}, {"normalization": "batch"},
               {"normalization": "valid", "use_ignore": True, "ignore_label": 1}):
        s.op("nd.SoftmaxOutput", x4, lab4, preserve_shape=True, _grad=[x4["$"]], **kw)
    x5 = s.arr((2, 3, 2))  # probabilities: softmax over the rows of data.reshape(N, -1)
    p5 = s.arr(values=_softmax(s.rng.uniform(-1, 1, (2, 6)), 1).reshape(2, 3, 2))
    s.op("nd.SoftmaxOutput", x5, p5, _grad=[x5["$"]], normalization="batch")
    prob = s.arr(values=_softmax(s.rng.uniform(-1, 1, (3, 4)), 1))
    s.op("nd.SoftmaxOutput", x2, prob, _grad=[x2["$"]], grad_scale=2.0, normalization="batch")
    s.op("nd.Softmax", x2, lab2, _grad=[x2["$"]])
    # out_grad: MXNet 1.9.1 multiplies by the output, not the head gradient its documentation
    # names (SoftmaxOutput's FGradient passes the output); kiln multiplies by the head gradient
    x, lab = s.arrays[x2["$"]].astype(np.float64), np.array([0, 2, 1])
    right = (_softmax(x, 1) - np.eye(4)[lab]) * oracle.head((3, 4)) * 2.0
    s.op("nd.SoftmaxOutput", x2, lab2, out_grad=True, grad_scale=2.0, _grad=[x2["$"]],
         _expect={f"grad:{x2['$']}": s.arr(values=right)["$"]})


def _loss_cases(s):
    x, lab = s.arr((3, 2)), s.arr((3, 2))
    for name in ("LinearRegressionOutput", "MAERegressionOutput", "LogisticRegressionOutput"):
        s.op(f"nd.{name}", x, lab, _grad=True)
        s.op(f"nd.{name}", x, lab, grad_scale=3.0, _grad=True)
    s.op("nd.LinearRegressionOutput", s.arr((3, 1)), s.arr((3,)), _grad=True)
    s.op("nd.LogisticRegressionOutput", s.arr((3, 2, 2)), s.arr((3, 4), lo=0, hi=1), _grad=True)
    xs, ls = s.arr((3, 4), lo=-1.5, hi=1.5), s.arr(values=[0, 2, 3])
    for kw in ({}, {"margin": 0.5, "regularization_coefficient": 2.0}, {"use_linear": True},
               {"use_linear": True, "margin": 0.5, "regularization_coefficient": 2.0}):
        s.op("nd.SVMOutput", xs, ls, _grad=True, **kw)
    for kw in ({}, {"grad_scale": 2.0}, {"normalization": "batch"},
               {"normalization": "valid", "valid_thresh": 0.2}):
        s.op("nd.MakeLoss", xs, _grad=True, **kw)
    s.op("nd.make_loss", xs, _grad=True)
    s.op("nd.BlockGrad", xs, _grad=True)
    s.op("nd.stop_gradient", xs, _grad=True)


def _suite():
    s = oracle.Suite(seed=3)
    _softmax_cases(s)
    _loss_cases(s)
    return s


SUITE = _suite()
CASES = {c["id"]: c for c in SUITE.cases}


mx_results, test_matches_mxnet = suite_tests(SUITE, "mxnet_output_ops")


class _Net(gluon.HybridBlock):
    def __init__(self, op, **attrs):
        super().__init__()
        self.op, self.attrs = op, attrs

    def hybrid_forward(self, F, x, label):
        return getattr(F, self.op)(x, label, **self.attrs)


_HYBRID = [("SoftmaxOutput", (2, 3, 4), [[0, 1, 2, 2], [1, 1, 0, 2]],
            {"multi_output": True, "normalization": "valid", "use_ignore": True,
             "ignore_label": 2}),
           ("SoftmaxOutput", (3, 4), [0, 3, 1], {"out_grad": True, "smooth_alpha": 0.1}),
           ("LogisticRegressionOutput", (3, 2), np.full((3, 2), 0.25), {"grad_scale": 2.0}),
           ("MAERegressionOutput", (3, 2), np.zeros((3, 2)), {}),
           ("SVMOutput", (3, 4), [0, 2, 3], {"use_linear": True}),
           ("SVMOutput", (3, 4), [1, 2, 0], {"margin": 0.5})]


@pytest.mark.parametrize("op,shape,label,attrs", _HYBRID, ids=[c[0] for c in _HYBRID])
def test_hybridized_gradient_matches_eager(op, shape, label, attrs):
    rng = np.random.default_rng(0)
    data = rng.uniform(-1.5, 1.5, shape)
    head = nd.array(rng.uniform(0.5, 1.5, shape), dtype="float64")
    results = []
    for hybrid in (False, True):
        net = _Net(op, **attrs)
        if hybrid:
            net.hybridize()
        x = nd.array(data, dtype="float64")
        x.attach_grad()
        with autograd.record():
            y = net(x, nd.array(label, dtype="float64"))
        y.backward(head)
        results.append((y.asnumpy(), x.grad.asnumpy()))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-12)
    assert np.abs(results[0][1]).max() > 0


def test_softmax_output_gradient_ignores_the_head_gradient():
    rng = np.random.default_rng(1)
    data, lab = rng.uniform(-1, 1, (4, 5)), np.array([0, 4, 2, 1])
    x = nd.array(data, dtype="float64")
    x.attach_grad()
    with autograd.record():
        y = nd.SoftmaxOutput(x, nd.array(lab))
    y.backward(nd.array(rng.uniform(2, 3, (4, 5)), dtype="float64"))
    np.testing.assert_allclose(x.grad.asnumpy(), _softmax(data, 1) - np.eye(5)[lab], rtol=1e-10)


@pytest.mark.parametrize("call", [
    lambda: nd.SoftmaxOutput(nd.ones((3, 4)), nd.ones((4,))),
    lambda: nd.SoftmaxOutput(nd.ones((2, 3, 4)), nd.ones((2,))),
    lambda: nd.SoftmaxOutput(nd.ones((3, 4)), nd.ones((3,)), normalization="mean"),
    # MXNet accepts this one, but its backward reads only the first 2 of the 6 labels
    lambda: nd.SoftmaxOutput(nd.ones((2, 3, 2)), nd.ones((2, 3))),
    lambda: nd.LinearRegressionOutput(nd.ones((3, 2)), nd.ones((3, 3))),
    lambda: nd.SVMOutput(nd.ones((3, 4)), nd.ones((3, 4))),
    lambda: nd.MakeLoss(nd.ones((3, 4)), normalization="sum"),
], ids=["softmax-rows", "softmax-3d", "softmax-norm", "softmax-3d-classes", "linear", "svm",
        "makeloss"])
def test_bad_input_names_the_op(call):
    with pytest.raises(OpError, match="SoftmaxOutput|LinearRegressionOutput|SVMOutput|MakeLoss"):
        call()


def test_module_style_executor_backward_without_head_gradient():
    """The Module-era use: an executor's backward() with no head gradient trains through it."""
    rng = np.random.default_rng(2)
    data, w = rng.uniform(-1, 1, (4, 5)), rng.uniform(-1, 1, (3, 5))
    lab = np.array([0, 2, 1, 2])
    net = kiln.sym.SoftmaxOutput(kiln.sym.FullyConnected(kiln.sym.var("data"), num_hidden=3,
                                                         no_bias=True, name="fc"),
                                 kiln.sym.var("softmax_label"), name="softmax")
    assert net.infer_shape(data=(4, 5))[0][-1] == (4,)  # the label's shape, inferred
    ex = net.simple_bind(kiln.cpu(), data=(4, 5), type_dict={"data": "float64"})
    ex.arg_dict["fc_weight"][:] = w
    ex.forward(is_train=True, data=nd.array(data, dtype="float64"),
               softmax_label=nd.array(lab, dtype="float64"))
    ex.backward()
    p = _softmax(data @ w.T, 1)
    np.testing.assert_allclose(ex.grad_dict["fc_weight"].asnumpy(), (p - np.eye(3)[lab]).T @ data,
                               rtol=1e-5)


_MX_SCRIPT = r"""
import sys
from collections import namedtuple
import mxnet as mx, numpy as np
d = sys.argv[1]
z = np.load(d + "/kiln.npz")
net = mx.gluon.SymbolBlock.imports(d + "/k-symbol.json", ["data0", "data1"], d + "/k-0000.params")
np.savez(d + "/mx_on_kiln.npz", *[o.asnumpy() for o in net(mx.nd.array(z["x"]),
                                                            mx.nd.array(z["l"]))])
x, l = mx.sym.var("data"), mx.sym.var("softmax_label")
fc = mx.sym.FullyConnected(x, num_hidden=4, name="fc")
up = mx.sym.UpSampling(mx.sym.reshape(fc, shape=(0, 1, 2, 2)), scale=2, sample_type="nearest",
                       num_args=1)
g = mx.sym.Group([
    mx.sym.SoftmaxOutput(fc, l, name="softmax", normalization="valid", use_ignore=True,
                         ignore_label=1),
    mx.sym.LinearRegressionOutput(mx.sym.flatten(up), mx.sym.var("lr_label"), grad_scale=2.0),
    mx.sym.linalg.potrf(mx.sym.linalg.syrk(mx.sym.reshape(fc, shape=(0, 2, 2))) + 3),
    mx.sym.gammaln(mx.sym.abs(fc) + 1), mx.sym.cumsum(fc, axis=1),
    mx.sym.moments(fc, axes=(1,))[1]])
mod = mx.mod.Module(g, data_names=["data"], label_names=["softmax_label", "lr_label"])
mod.bind(data_shapes=[("data", (3, 5))], label_shapes=[("softmax_label", (3,)),
                                                      ("lr_label", (3, 16))])
mod.init_params(mx.init.Xavier())
mod.save_checkpoint(d + "/m", 0)
B = namedtuple("B", ["data", "label"])
mod.forward(B([mx.nd.array(z["x5"])], [mx.nd.array(z["l"]), mx.nd.zeros((3, 16))]),
            is_train=False)
np.savez(d + "/mx.npz", *[o.asnumpy() for o in mod.get_outputs()])
"""


class _Exported(gluon.HybridBlock):
    def hybrid_forward(self, F, x, label):
        a = F.reshape(x, shape=(0, 2, 2))
        return (F.SoftmaxOutput(x, label, normalization="valid"), F.SVMOutput(x, label),
                F.MakeLoss(x, grad_scale=2.0), F.LogisticRegressionOutput(x, x),
                F.linalg.potrf(F.linalg.syrk(a) + 3), F.linalg.gelqf(a)[1], F.linalg.det(a),
                F.cumsum(x, axis=1), F.moments(x, axes=(1,))[0],
                F.UpSampling(F.reshape(x, shape=(0, 1, 2, 2)), scale=2, sample_type="nearest"))


def test_symbol_files_cross_between_kiln_and_mxnet(tmp_path):
    """kiln's export loads in MXNet 1.9.1, and a Module checkpoint MXNet saved (SoftmaxOutput,
    LinearRegressionOutput, linalg, UpSampling...) loads in kiln, with the same outputs."""
    import subprocess

    if not os.path.exists(MX_PYTHON):
        pytest.skip("no MXNet 1.9.1 interpreter (see tests/test_mxnet_oracle.py)")
    rng = np.random.default_rng(4)
    x, x5 = rng.uniform(-1, 1, (3, 4)).astype("f4"), rng.uniform(-1, 1, (3, 5)).astype("f4")
    lab = np.array([0, 1, 2], "f4")
    net = _Exported()
    net.hybridize()
    ours = [o.asnumpy() for o in net(nd.array(x), nd.array(lab))]
    net.export(str(tmp_path / "k"))
    np.savez(tmp_path / "kiln.npz", x=x, x5=x5, l=lab)
    res = subprocess.run([MX_PYTHON, "-c", _MX_SCRIPT, str(tmp_path)], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    with np.load(tmp_path / "mx_on_kiln.npz") as z:
        for k, want in enumerate(ours):
            np.testing.assert_allclose(z[f"arr_{k}"], want, rtol=1e-5, atol=1e-6)
    block = gluon.SymbolBlock.imports(str(tmp_path / "m-symbol.json"),
                                      ["data", "softmax_label", "lr_label"],
                                      str(tmp_path / "m-0000.params"))
    got = block(nd.array(x5), nd.array(lab), nd.zeros((3, 16)))
    with np.load(tmp_path / "mx.npz") as z:
        assert len(got) == len(z.files)
        for k, o in enumerate(got):
            np.testing.assert_allclose(o.asnumpy(), z[f"arr_{k}"], rtol=1e-5, atol=1e-6)
