"""ONNX export with BatchNorm kept unfolded (``fold_batchnorm=False``): the file keeps
BatchNormalization nodes, onnxruntime matches kiln, and the imported block fine-tunes exactly as
the original kiln network does (the oracle): same gradients, same running-statistics updates."""
import kiln.symbol as sym
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from kiln import autograd, gluon, nd
from kiln.export.onnx import export_model
from kiln.gluon import nn


def _net():
    net = nn.HybridSequential()
    net.add(nn.Conv2D(4, 3, padding=1, in_channels=3), nn.BatchNorm(), nn.Activation("relu"),
            nn.Conv2D(5, 3, strides=2, use_bias=False), nn.BatchNorm(), nn.Activation("relu"),
            nn.GlobalAvgPool2D(), nn.Dense(6), nn.BatchNorm(), nn.Dense(3))
    net.initialize()
    net(_x(1, 0))   # shapes known: the parameters exist
    rng = np.random.default_rng(0)
    for name, p in net.collect_params().items():   # statistics away from (0, 1): a real test
        if "running_var" in name or "gamma" in name:
            p.set_data(nd.array(rng.uniform(0.5, 1.5, p.shape).astype("f4")))
        elif "running_mean" in name or "beta" in name:
            p.set_data(nd.array(rng.uniform(-0.3, 0.3, p.shape).astype("f4")))
    return net


def _x(n, seed):
    return nd.array(np.random.default_rng(seed).standard_normal((n, 3, 8, 8)).astype("f4"))


def _bn_nodes(path):
    return [n for n in onnx.load(path).graph.node if n.op_type == "BatchNormalization"]


def test_default_folds_and_unfolded_keeps_batchnorm(tmp_path):
    net, x = _net(), _x(2, 1)
    folded = net.export_onnx(str(tmp_path / "f.onnx"), x)
    kept = net.export_onnx(str(tmp_path / "u.onnx"), x, fold_batchnorm=False,
                           dynamic_axes={"data": {0: "batch"}})
    assert _bn_nodes(folded) == [] and len(_bn_nodes(kept)) == 3
    assert not onnx.load(folded).metadata_props
    onnx.checker.check_model(onnx.load(kept), full_check=True)
    x3 = _x(3, 2)   # another batch size: the dynamic axis
    got = ort.InferenceSession(kept, providers=["CPUExecutionProvider"]).run(
        None, {"data": x3.asnumpy()})[0]
    np.testing.assert_allclose(got, net(x3).asnumpy(), rtol=1e-5, atol=1e-5)


def _sgd_steps(block, batches):
    trainer = gluon.Trainer(block.collect_params(), "sgd", {"learning_rate": 0.05})
    for xb in batches:
        with autograd.record():
            loss = (block(xb) ** 2).mean()
        loss.backward()
        trainer.step(1)


def _by_name(block):
    return {k: p.data().asnumpy().copy() for k, p in block.collect_params().items()}


@pytest.mark.parametrize("hybrid", [False, True])
def test_imported_unfolded_export_fine_tunes_like_the_original(tmp_path, hybrid):
    net, x = _net(), _x(2, 1)
    path = net.export_onnx(str(tmp_path / "u.onnx"), x, fold_batchnorm=False,
                           dynamic_axes={"data": {0: "batch"}})
    block = gluon.SymbolBlock.from_onnx(path)
    params = block.collect_params()
    bn = [k for k in params if "batchnorm" in k]
    assert {params[k].grad_req for k in bn if "running" in k} == {"null"}
    assert {params[k].grad_req for k in bn if "gamma" in k or "beta" in k} == {"write"}
    np.testing.assert_allclose(block(x).asnumpy(), net(x).asnumpy(), rtol=1e-5, atol=1e-6)

    before = _by_name(block)
    if hybrid:
        block.hybridize()
        net.hybridize()
    batches = [_x(4, 10 + k) for k in range(2)]
    _sgd_steps(block, batches)
    _sgd_steps(net, batches)   # the oracle: kiln's own network, trained the same way
    after, want = _by_name(block), _by_name(net)
    for k in bn:
        assert not np.allclose(after[k], before[k]), f"{k} did not move in training"
    for k, v in want.items():   # imported names are kiln's parameter names
        np.testing.assert_allclose(after[k], v, rtol=1e-4, atol=1e-6, err_msg=k)
    xt = _x(3, 20)   # predict mode: the running statistics, same outputs as the original
    np.testing.assert_allclose(block(xt).asnumpy(), net(xt).asnumpy(), rtol=1e-4, atol=1e-5)


def test_folded_import_is_a_fixed_inference_graph(tmp_path):
    """The default export has no BatchNorm to train: the imported block has no statistics."""
    net, x = _net(), _x(2, 1)
    block = gluon.SymbolBlock.from_onnx(net.export_onnx(str(tmp_path / "f.onnx"), x))
    assert not [k for k in block.collect_params() if "running" in k]
    np.testing.assert_allclose(block(x).asnumpy(), net(x).asnumpy(), rtol=1e-5, atol=1e-5)


def test_export_model_accepts_fold_batchnorm(tmp_path):
    data = sym.var("data")
    y = sym.BatchNorm(sym.Convolution(data, kernel=(1, 1), num_filter=2, name="c"),
                      fix_gamma=False, name="bn")
    rng = np.random.default_rng(3)
    params = {"c_weight": rng.standard_normal((2, 2, 1, 1)), "c_bias": rng.standard_normal(2),
              "bn_gamma": rng.uniform(0.5, 1.5, 2), "bn_beta": rng.standard_normal(2),
              "bn_moving_mean": rng.standard_normal(2), "bn_moving_var": rng.uniform(0.5, 2, 2)}
    params = {k: nd.array(v.astype("f4")) for k, v in params.items()}
    kept = export_model(y, params, [(1, 2, 3, 3)], onnx_file_path=str(tmp_path / "k.onnx"),
                        fold_batchnorm=False)
    folded = export_model(y, params, [(1, 2, 3, 3)], onnx_file_path=str(tmp_path / "f.onnx"))
    assert len(_bn_nodes(kept)) == 1 and _bn_nodes(folded) == []
    xin = rng.standard_normal((1, 2, 3, 3)).astype("f4")
    want = y.eval(data=nd.array(xin), **params)[0].asnumpy()
    for path in (kept, folded):
        got = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(
            None, {"data": xin})[0]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
