"""ONNX parity for every layer as a one-layer block: opset 13 and the default, a dynamic batch
axis checked at two batch sizes, in onnxruntime and in onnx's reference evaluator."""
import kiln
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from kiln import nd
from onnx.reference import ReferenceEvaluator
from test_layers import CASE_IDS, CASES

# Cases where onnx.reference (a slow pure-numpy evaluator) computes wrong values while
# onnxruntime matches kiln: the model loads there, but values are compared in onnxruntime only.
REFERENCE_GAPS = {
    ("batchnorm", 13), ("batchnorm_axis", 13), ("batchnorm_relu", 13),  # BN on non-4-D input
    ("conv2d_t", 13), ("conv2d_t", 17),            # ConvTranspose ignores `group`
    ("maxpool3d", 13), ("maxpool3d", 17),          # 3-D MaxPool with padding: IndexError
    ("globalmax1d", 13), ("globalmax1d", 17),      # GlobalMaxPool on 3-D input: wrong shape
    ("globalmax3d", 13), ("globalmax3d", 17),
}


def _input(shape, kind, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "index":
        return rng.integers(0, 6, size=shape).astype(np.float32)
    return rng.normal(size=shape).astype(np.float32)


def _block(factory, shape, kind):
    kiln.random.seed(0)
    block = factory()
    block.initialize(kiln.init.Uniform(0.5))
    block(nd.array(_input(shape, kind)))
    rng = np.random.default_rng(1)
    for p in block.collect_params().values():  # non-trivial gamma/beta/running stats
        v = rng.uniform(0.5, 1.5, size=p.shape)
        if p.name.endswith(("beta", "bias", "running_mean")):
            v = v - 1.0
        p.set_data(nd.array(v))
    return block


@pytest.mark.parametrize("opset", [13, None], ids=["opset13", "default"])
@pytest.mark.parametrize("name, factory, shape, shape2, kind", CASES, ids=CASE_IDS)
def test_layer_onnx_parity(tmp_path, name, factory, shape, shape2, kind, opset):
    block = _block(factory, shape, kind)
    x = _input(shape, kind)
    path = str(tmp_path / f"{name}.onnx")
    block.export_onnx(path, nd.array(x), opset=opset, dynamic_axes={"data": {0: "batch"}})
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == (opset or 17)
    assert not {i.name for i in model.graph.initializer} & {i.name for i in model.graph.input}
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    ref = ReferenceEvaluator(model)
    for batch in (shape[0], shape[0] + 2):  # the exported batch size and another one
        xb = _input((batch,) + tuple(shape[1:]), kind, seed=batch)
        expected = block(nd.array(xb)).asnumpy()
        got = sess.run(None, {"data": xb})[0]
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5, err_msg=name)
        if (name, opset or 17) not in REFERENCE_GAPS:
            got_ref = ref.run(None, {"data": xb})[0]
            np.testing.assert_allclose(got_ref, expected, rtol=1e-4, atol=1e-5,
                                       err_msg=f"{name} reference evaluator")
