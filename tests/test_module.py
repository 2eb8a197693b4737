"""kiln.mod (MXNet 1.9's Module API): the same programs in real MXNet 1.9.1 and in kiln learn
the same parameters (same data, same starting parameters through ``arg_params``); without
MXNet, Module training is checked against the same training written with autograd."""
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

# run by both libraries (``lib`` is mxnet or kiln): fit every legacy output layer, MXNet
# test_loss.py's way, from the same starting parameters; print the learned ones as JSON
SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    lib = __import__(sys.argv[1])
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, (24, 5)).astype("f")
    cls = (x[:, 0] > 0).astype("f") + (x[:, 1] > 0.3).astype("f")
    reg = x @ rng.uniform(-1, 1, (5, 2)).astype("f")
    w0 = {"fc_weight": rng.uniform(-0.5, 0.5, (3, 5)).astype("f"),
          "fc_bias": np.zeros(3, "f")}
    w1 = {"fc_weight": w0["fc_weight"][:2].copy(), "fc_bias": np.zeros(2, "f")}
    def fit(out, label, label_name, w, metric, **opt):
        it = lib.io.NDArrayIter(x, label, batch_size=8, label_name=label_name)
        mod = lib.mod.Module(out, data_names=["data"], label_names=[label_name])
        mod.fit(it, num_epoch=3, optimizer="sgd", eval_metric=metric,
                optimizer_params=dict(learning_rate=0.5, **opt),
                arg_params={k: lib.nd.array(v) for k, v in w.items()})
        args, _ = mod.get_params()
        score = mod.score(it, metric)
        return {k: v.asnumpy().tolist() for k, v in args.items()}, float(score[0][1])
    data = lib.sym.Variable("data")
    fc3 = lib.sym.FullyConnected(data, num_hidden=3, name="fc")
    fc2 = lib.sym.FullyConnected(data, num_hidden=2, name="fc")
    lab = lib.sym.Variable("label")
    res = {
        "softmax": fit(lib.sym.SoftmaxOutput(fc3, name="softmax"), cls, "softmax_label", w0,
                       "acc", momentum=0.9, wd=0.01),
        "softmax_valid": fit(lib.sym.SoftmaxOutput(fc3, name="softmax",
                                                   normalization="valid"),
                             cls, "softmax_label", w0, "acc"),
        "linear": fit(lib.sym.LinearRegressionOutput(fc2, lab, name="lin"), reg, "label", w1,
                      "mse"),
        "mae": fit(lib.sym.MAERegressionOutput(fc2, lab, name="mae"), reg, "label", w1, "mae"),
        "logistic": fit(lib.sym.LogisticRegressionOutput(fc2, lab, name="log"),
                        (reg > 0).astype("f"), "label", w1, "mse"),
        "makeloss": fit(lib.sym.MakeLoss(lib.sym.mean(lib.sym.square(fc2 - lab), axis=1),
                                         name="ml"), reg, "label", w1,
                        lib.metric.Loss()),
    }
    print(json.dumps(res))
""")


def _run(python, lib, tmp_path):
    return run_script(python, lib, SCRIPT, tmp_path)


@pytest.mark.skipif(not os.path.exists(MX_PYTHON), reason="no MXNet 1.9.1 oracle (.mxnet-venv)")
def test_fit_matches_mxnet(tmp_path):
    want, got = _run(MX_PYTHON, "mxnet", tmp_path), _run(sys.executable, "kiln", tmp_path)
    assert got.keys() == want.keys()
    for name in want:
        (wp, ws), (gp, gs) = want[name], got[name]
        for k in wp:
            np.testing.assert_allclose(gp[k], wp[k], rtol=1e-4, atol=1e-5, err_msg=name + k)
        np.testing.assert_allclose(gs, ws, rtol=1e-4, atol=1e-6, err_msg=name)


def _softmax_module(batch=8):
    data = kiln.sym.Variable("data")
    fc = kiln.sym.FullyConnected(data, num_hidden=3, name="fc")
    return kiln.sym.SoftmaxOutput(fc, name="softmax")


def _data(n=24):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, 5)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.float32) + (x[:, 1] > 0.5)


def test_steps_equal_autograd_training():
    """forward/backward/update by hand equals SGD on the same softmax cross-entropy."""
    x, y = _data()
    w = np.random.default_rng(2).uniform(-0.3, 0.3, (3, 5)).astype(np.float32)
    mod = kiln.mod.Module(_softmax_module())
    mod.bind([("data", (8, 5))], [("softmax_label", (8,))])
    mod.init_params(arg_params={"fc_weight": kiln.nd.array(w),
                                "fc_bias": kiln.nd.zeros(3)})
    mod.init_optimizer(optimizer_params={"learning_rate": 0.3})
    wk, bk = kiln.nd.array(w), kiln.nd.zeros(3)
    for p in (wk, bk):
        p.attach_grad()
    for s in range(0, 24, 8):
        batch = kiln.io.DataBatch([kiln.nd.array(x[s:s + 8])], [kiln.nd.array(y[s:s + 8])])
        mod.forward_backward(batch)
        mod.update()
        with kiln.autograd.record():
            z = kiln.nd.dot(kiln.nd.array(x[s:s + 8]), wk.T) + bk
            loss = -kiln.nd.pick(kiln.nd.log_softmax(z), kiln.nd.array(y[s:s + 8])).sum()
        loss.backward()
        for p in (wk, bk):
            p[:] = p - 0.3 / 8 * p.grad
    args, _ = mod.get_params()
    np.testing.assert_allclose(args["fc_weight"].asnumpy(), wk.asnumpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(args["fc_bias"].asnumpy(), bk.asnumpy(), rtol=1e-5, atol=1e-6)


def test_checkpoint_resume_and_predict(tmp_path):
    """save_checkpoint with optimizer states, Module.load, and the resumed run equals the
    uninterrupted one; predict pads and trims the last batch."""
    x, y = _data(20)
    prefix = str(tmp_path / "m")

    def train(mod, epochs, begin=0, **kw):
        it = kiln.io.NDArrayIter(x, y, batch_size=8, last_batch_handle="pad")
        mod.fit(it, num_epoch=epochs, begin_epoch=begin,
                optimizer_params={"learning_rate": 0.2, "momentum": 0.9}, **kw)
        return mod
    kiln.random.seed(3)
    full = train(kiln.mod.Module(_softmax_module()), 4)
    kiln.random.seed(3)
    half = train(kiln.mod.Module(_softmax_module()), 2)
    half.save_checkpoint(prefix, 2, save_optimizer_states=True)
    assert os.path.exists(prefix + "-0002.states")
    resumed = kiln.mod.Module.load(prefix, 2, load_optimizer_states=True)
    with pytest.warns(UserWarning, match="already initialized"):  # as MXNet: loaded ones kept
        train(resumed, 4, begin=2)
    for k, v in full.get_params()[0].items():
        np.testing.assert_allclose(resumed.get_params()[0][k].asnumpy(), v.asnumpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=k)
    pred = full.predict(kiln.io.NDArrayIter(x, batch_size=8, last_batch_handle="pad"))
    assert pred.shape == (20, 3)
    z = x @ full.get_params()[0]["fc_weight"].asnumpy().T + full.get_params()[0][
        "fc_bias"].asnumpy()
    ref = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(pred.asnumpy(), ref / ref.sum(1, keepdims=True), rtol=1e-5,
                               atol=1e-6)


def test_input_grads_fixed_params_and_errors():
    x, y = _data(8)
    mod = kiln.mod.Module(_softmax_module(), fixed_param_names=["fc_bias"])
    with pytest.raises(kiln.MXNetError, match="bind"):
        mod.init_params()
    mod.bind([("data", (8, 5))], [("softmax_label", (8,))], inputs_need_grad=True)
    mod.init_params(initializer=kiln.init.Xavier())
    mod.init_optimizer(optimizer_params={"learning_rate": 1.0})
    before = mod.get_params()[0]["fc_bias"].asnumpy().copy()
    mod.forward_backward(kiln.io.DataBatch([kiln.nd.array(x)], [kiln.nd.array(y)]))
    mod.update()
    assert mod.get_input_grads()[0].shape == (8, 5)
    assert np.abs(mod.get_input_grads()[0].asnumpy()).sum() > 0
    np.testing.assert_array_equal(mod.get_params()[0]["fc_bias"].asnumpy(), before)
    assert mod.output_shapes == [("softmax_output", (8, 3))]
    with pytest.raises(ValueError, match="not found"):
        kiln.mod.Module(_softmax_module(), data_names=["x"])
    with pytest.raises(kiln.MXNetError, match="label"):
        kiln.mod.Module(_softmax_module()).bind([("data", (8, 5))], [("lbl", (8,))])


def test_bucketing_module_shares_parameters():
    """Buckets of different sequence lengths share one set of weights: an update through
    one bucket is seen by the other."""
    def sym_gen(seq_len):
        data = kiln.sym.Variable("data")
        flat = kiln.sym.mean(data, axis=1)
        fc = kiln.sym.FullyConnected(flat, num_hidden=2, name="fc")
        return kiln.sym.SoftmaxOutput(fc, name="softmax"), ("data",), ("softmax_label",)
    mod = kiln.mod.BucketingModule(sym_gen, default_bucket_key=4)
    mod.bind([("data", (2, 4, 3))], [("softmax_label", (2,))])
    mod.init_params(initializer=kiln.init.Xavier())
    mod.init_optimizer(optimizer_params={"learning_rate": 0.5})
    rng = np.random.default_rng(4)
    for key in (4, 6, 4):
        batch = kiln.io.DataBatch([kiln.nd.array(rng.standard_normal((2, key, 3)))],
                                  [kiln.nd.array([0, 1])], bucket_key=key,
                                  provide_data=[("data", (2, key, 3))],
                                  provide_label=[("softmax_label", (2,))])
        before = mod.get_params()[0]["fc_weight"].asnumpy().copy()
        mod.forward_backward(batch)
        mod.update()
        assert not np.allclose(mod.get_params()[0]["fc_weight"].asnumpy(), before)
    assert sorted(mod._buckets) == [4, 6]
