"""gluon.contrib.rnn's convolutional cells and rnn_cell.dynamic_unroll: parameter names and
shapes as MXNet 1.9.1's (its .params files load), outputs equal to MXNet's on small cases,
hybridized == eager, and dynamic_unroll == unroll (valid_length included)."""
import os
import subprocess

import kiln as mx
import numpy as np
import pytest
from kiln import autograd
from kiln.gluon.contrib import rnn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MX_PYTHON = os.path.join(ROOT, ".mxnet-venv", "bin", "python")

CASES = {  # name: (class, input_shape, hidden, kwargs)
    "rnn1": ("Conv1DRNNCell", (2, 7), 3, dict(i2h_kernel=3, h2h_kernel=3, i2h_pad=1)),
    "lstm2": ("Conv2DLSTMCell", (3, 5, 6), 2, dict(i2h_kernel=(3, 1), h2h_kernel=3,
                                                   i2h_dilate=(1, 1), h2h_dilate=2)),
    "gru2": ("Conv2DGRUCell", (2, 4, 4), 3, dict(i2h_kernel=3, h2h_kernel=(1, 3), i2h_pad=1,
                                                 activation="relu")),
    "gru3": ("Conv3DGRUCell", (1, 3, 4, 3), 2, dict(i2h_kernel=1, h2h_kernel=3)),
    "lstm1": ("Conv1DLSTMCell", (2, 6), 2, dict(i2h_kernel=2, h2h_kernel=1)),
}

SCRIPT = r"""
import sys, numpy as np, mxnet as mx
from mxnet.gluon.contrib import rnn
cases = eval(sys.argv[2])
out = {}
for key, (cls, shape, hidden, kw) in cases.items():
    cell = getattr(rnn, cls)(shape, hidden, prefix=key + "_", **kw)
    cell.initialize(mx.init.Uniform(0.5))
    rs = np.random.RandomState(len(key))
    x = mx.nd.array(rs.uniform(-1, 1, (3, 2) + tuple(shape)))
    outs, states = cell.unroll(3, x, layout="TNC", merge_outputs=True)
    cell.save_parameters(f"{sys.argv[1]}/{key}.params")
    out[key + "/x"] = x.asnumpy()
    out[key + "/out"] = outs.asnumpy()
    for i, s in enumerate(states):
        out[f"{key}/state{i}"] = s.asnumpy()
    out[key + "/names"] = np.array(sorted(cell.collect_params().keys()))
    out[key + "/shapes"] = np.array([str(cell.collect_params()[k].shape)
                                     for k in sorted(cell.collect_params().keys())])
    if key == "lstm2":
        vl = mx.nd.array([2, 3])
        o, st = rnn.rnn_cell.dynamic_unroll(cell, x, cell.begin_state(2), valid_length=vl)
        out["dyn/out"] = o.asnumpy()
        out["dyn/h"] = st[0].asnumpy()
np.savez(f"{sys.argv[1]}/ref.npz", **out)
"""


@pytest.fixture(scope="module")
def mxnet_ref(tmp_path_factory):
    if not os.path.exists(MX_PYTHON):
        pytest.skip("real MXNet 1.9.1 interpreter (.mxnet-venv) absent")
    d = tmp_path_factory.mktemp("convrnn")
    proc = subprocess.run([MX_PYTHON, "-c", SCRIPT, str(d), repr(CASES)], capture_output=True,
                          text=True, cwd=d)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(d / "ref.npz") as z:
        return d, {k: z[k] for k in z.files}


def _cell(key):
    cls, shape, hidden, kw = CASES[key]
    return getattr(rnn, cls)(shape, hidden, prefix=key + "_", **kw)


@pytest.mark.parametrize("key", sorted(CASES))
def test_matches_mxnet_and_loads_its_params(mxnet_ref, key):
    d, ref = mxnet_ref
    cell = _cell(key)
    params = cell.collect_params()
    assert sorted(params.keys()) == ref[key + "/names"].tolist()
    assert [str(params[k].shape) for k in sorted(params.keys())] == \
        ref[key + "/shapes"].tolist()
    cell.load_parameters(str(d / f"{key}.params"))
    x = mx.nd.array(ref[key + "/x"])
    for hybrid in (False, True):
        if hybrid:
            cell.hybridize()
        outs, states = cell.unroll(3, x, layout="TNC", merge_outputs=True)
        np.testing.assert_allclose(outs.asnumpy(), ref[key + "/out"], rtol=1e-5, atol=1e-6)
        for i, s in enumerate(states):
            np.testing.assert_allclose(s.asnumpy(), ref[f"{key}/state{i}"], rtol=1e-5,
                                       atol=1e-6)


def test_dynamic_unroll_matches_mxnet(mxnet_ref):
    d, ref = mxnet_ref
    cell = _cell("lstm2")
    cell.load_parameters(str(d / "lstm2.params"))
    x = mx.nd.array(ref["lstm2/x"])
    out, states = rnn.rnn_cell.dynamic_unroll(cell, x, cell.begin_state(2),
                                              valid_length=mx.nd.array([2, 3]))
    np.testing.assert_allclose(out.asnumpy(), ref["dyn/out"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(states[0].asnumpy(), ref["dyn/h"], rtol=1e-5, atol=1e-6)


class _Seq(mx.gluon.HybridBlock):
    def __init__(self, cell, dynamic):
        super().__init__()
        self.cell, self._dynamic = cell, dynamic

    def hybrid_forward(self, F, x, h, c):
        if self._dynamic:
            out, states = rnn.rnn_cell.dynamic_unroll(self.cell, x, [h, c], layout="NTC")
        else:
            out, states = self.cell.unroll(3, x, [h, c], layout="NTC", merge_outputs=True)
        return out, states[1]


def test_dynamic_unroll_equals_unroll_eager_hybridized_and_gradients():
    x = mx.nd.array(np.random.RandomState(0).uniform(-1, 1, (2, 3, 2, 6)))
    results = []
    for dynamic in (False, True):
        for hybrid in (False, True):
            cell = rnn.Conv1DLSTMCell((2, 6), 3, i2h_kernel=3, h2h_kernel=3, i2h_pad=1,
                                      prefix="c_")
            net = _Seq(cell, dynamic)
            net.initialize(mx.init.Uniform(0.3))
            for p in net.collect_params().values():  # same weights in every variant
                p.set_data(mx.nd.array(np.random.RandomState(1).uniform(-0.3, 0.3, p.shape)))
            if hybrid:
                net.hybridize()
            h, c = cell.begin_state(2)
            x.attach_grad()
            with autograd.record():
                out, last_c = net(x, h, c)
                loss = (out * out).sum() + last_c.sum()
            loss.backward()
            results.append((out.asnumpy(), last_c.asnumpy(), x.grad.asnumpy(),
                            cell.i2h_weight.grad().asnumpy()))
    for other in results[1:]:
        for got, want in zip(other, results[0]):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_errors_and_repr():
    with pytest.raises(ValueError, match="odd"):
        rnn.Conv2DRNNCell((1, 4, 4), 2, i2h_kernel=3, h2h_kernel=2)
    with pytest.raises(ValueError, match="length 2"):
        rnn.Conv2DRNNCell((1, 4, 4), 2, i2h_kernel=(3, 3, 3), h2h_kernel=3)
    cell = rnn.Conv3DLSTMCell((4, 5, 5, 5), 2, i2h_kernel=3, h2h_kernel=3)
    assert repr(cell) == "Conv3DLSTMCell(4 -> 8, tanh, NCDHW)"
    assert cell.state_info(7)[1]["shape"] == (7, 2, 3, 3, 3)
    assert rnn.rnn_cell.LSTMPCell is mx.gluon.rnn.LSTMPCell
