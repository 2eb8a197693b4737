"""Graph quality: exported ResNet-style graphs are as small as onnx-simplifier would make them."""
import numpy as np
import onnx
import pytest
from kiln import nd

onnxsim = pytest.importorskip("onnxsim")
vision = pytest.importorskip("kiln.model_zoo.vision")


@pytest.mark.parametrize("name", ["resnet18_v1", "resnet18_v2", "mobilenetv2_0.25"])
def test_no_more_nodes_than_onnxsim_leaves(tmp_path, name):
    net = vision.get_model(name, classes=10)
    net.initialize()
    x = nd.array(np.random.default_rng(0).normal(size=(1, 3, 32, 32)))
    net(x)
    path = net.export_onnx(str(tmp_path / "m.onnx"), x, dynamic_axes={"data": {0: "batch"}})
    model = onnx.load(path)
    simplified, ok = onnxsim.simplify(model)
    assert ok
    ours = [n.op_type for n in model.graph.node]
    theirs = [n.op_type for n in simplified.graph.node]
    assert len(ours) <= len(theirs), (sorted(ours), sorted(theirs))
    assert "Identity" not in ours
    if not name.endswith("v2"):  # v2 is pre-activation: its BatchNorms follow no Conv to fold into
        assert "BatchNormalization" not in ours
