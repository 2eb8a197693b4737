"""kiln.model_zoo.vision: MXNet Gluon 1.9's vision models (structure, parameter names and
counts, save/load, hybridize, local-only pretrained files).

Parameter counts are what MXNet's ``sum(p.data().size for p in net.collect_params().values())``
gives: every parameter, BatchNorm running statistics included. Where checked by hand:
- resnet18_v1 11,699,112 = torchvision resnet18 (same layers) 11,689,512 + 2 x 4,800 running
  statistics;
- resnet50_v1 25,629,032 = torchvision resnet50 25,557,032 + 18,880 biases (MXNet's
  BottleneckV1 1x1 convolutions keep use_bias=True) + 2 x 26,560 running statistics;
- alexnet 61,100,840, squeezenet1.0 1,248,424, squeezenet1.1 1,235,496: torchvision's (no BN);
- vgg16_bn 138,374,440 = torchvision 138,365,992 + 2 x 4,224 running statistics;
- densenet121 8,062,504 = torchvision 7,978,856 + 2 x 41,824 (sum of the BN widths);
- mobilenetv2_1.0 3,539,136 = torchvision 3,504,872 - 1,000 (MXNet's classifier is a conv
  without bias) + 2 x 17,632 running statistics;
- inceptionv3 23,869,000 = torchvision without the aux head 23,834,568 + 2 x 17,216.
All 34 counts equal what MXNet 1.9.1 itself reports; its structural keys, shapes and 1.x names
were compared model by model against a real MXNet 1.9.1 (identical), and the outputs of 11 models
loaded from MXNet-written files agreed to ~1e-6. The default run checks the cheap models;
``KILN_TEST_ZOO_FULL=1`` checks all 34 (minutes). ``data/model_zoo`` holds small files written
by real MXNet (``make_fixtures.py``).
"""
import os

import kiln
import numpy as np
import pytest
from kiln import nd
from kiln.gluon.model_zoo import vision
from kiln.model_zoo import model_store

FULL = bool(os.environ.get("KILN_TEST_ZOO_FULL"))

# name -> parameter count (input 224x224, 299x299 for inceptionv3: the Dense layers of VGG and
# AlexNet depend on it).
EXPECTED_PARAMS = {
    "alexnet": 61100840,
    "densenet121": 8062504, "densenet161": 28900936, "densenet169": 14307880,
    "densenet201": 20242984,
    "inceptionv3": 23869000,
    "mobilenet0.25": 475544, "mobilenet0.5": 1342536, "mobilenet0.75": 2601976,
    "mobilenet1.0": 4253864,
    "mobilenetv2_0.25": 1526856, "mobilenetv2_0.5": 1983104, "mobilenetv2_0.75": 2653864,
    "mobilenetv2_1.0": 3539136,
    "resnet18_v1": 11699112, "resnet34_v1": 21814696, "resnet50_v1": 25629032,
    "resnet101_v1": 44695144, "resnet152_v1": 60404072,
    "resnet18_v2": 11695796, "resnet34_v2": 21811380, "resnet50_v2": 25595060,
    "resnet101_v2": 44639412, "resnet152_v2": 60329140,
    "squeezenet1.0": 1248424, "squeezenet1.1": 1235496,
    "vgg11": 132863336, "vgg13": 133047848, "vgg16": 138357544, "vgg19": 143667240,
    "vgg11_bn": 132874344, "vgg13_bn": 133059624, "vgg16_bn": 138374440,
    "vgg19_bn": 143689256,
}
# (test_other_structural_keys also counts resnet50_v1, resnet18_v2, mobilenetv2_0.25 and
# squeezenet1.1)
CHEAP = ["resnet18_v1", "mobilenet0.25"]


def _size(name):
    """Smallest input giving MXNet's parameter shapes (Dense after a fixed-size pool)."""
    if name == "inceptionv3":
        return 299
    if name.startswith(("vgg", "alexnet", "densenet", "squeezenet")):
        return 224
    return 32  # global pooling: any size >= 32 gives the same shapes


def _count(net):
    return sum(int(np.prod(p.shape)) for p in net.collect_params().values())


def _fast_init(net):
    # zeros skip the costly random initializers: the test only needs the shapes
    for p in net.collect_params().values():
        p.initialize(init=kiln.initializer.Zero())


def _x(size, seed=0):
    return nd.array(np.random.RandomState(seed).uniform(-1, 1, (1, 3, size, size)))


def test_registry_names_and_alias():
    assert kiln.gluon.model_zoo.vision is vision
    assert kiln.gluon.model_zoo.get_model is kiln.model_zoo.get_model   # vision and text names
    assert isinstance(kiln.gluon.model_zoo.get_model("ResNet18_V1"), vision.ResNetV1)
    assert sorted(vision._MODELS) == sorted(EXPECTED_PARAMS)
    with pytest.raises(ValueError, match="not supported"):
        vision.get_model("resnet19_v1")
    assert isinstance(vision.get_model("ResNet18_V1"), vision.ResNetV1)
    assert isinstance(vision.get_model("mobilenetv2_0.5"), vision.MobileNetV2)
    assert isinstance(vision.get_resnet(2, 50).features[5][0], vision.BottleneckV2)
    assert vision.get_model("vgg16_bn", classes=7).output._units == 7


@pytest.mark.parametrize("name", sorted(EXPECTED_PARAMS) if FULL else CHEAP)
def test_parameter_count(name):
    net = vision.get_model(name)
    _fast_init(net)
    with kiln.autograd.pause():
        out = net(nd.zeros((1, 3, _size(name), _size(name))))
    assert out.shape == (1, 1000)
    assert _count(net) == EXPECTED_PARAMS[name]


def test_vgg_alexnet_counts_from_small_inputs():
    """VGG/AlexNet at small inputs: only the first Dense's in_units differ from 224x224."""
    net = vision.vgg11_bn()
    _fast_init(net)
    net(nd.zeros((1, 3, 32, 32)))  # 1x1x512 features instead of 7x7x512
    assert _count(net) == EXPECTED_PARAMS["vgg11_bn"] - 4096 * 512 * 48
    net = vision.alexnet()
    _fast_init(net)
    net(nd.zeros((1, 3, 63, 63)))  # 1x1x256 features instead of 6x6x256
    assert _count(net) == EXPECTED_PARAMS["alexnet"] - 4096 * 256 * 35


def test_resnet18_v1_structural_names():
    net = vision.resnet18_v1()
    net.initialize()
    net(_x(32))
    keys = list(net._collect_params_with_prefix())
    assert keys[:7] == ["features.0.weight", "features.1.gamma", "features.1.beta",
                        "features.1.running_mean", "features.1.running_var",
                        "features.4.0.body.0.weight", "features.4.0.body.1.gamma"]
    assert "features.5.0.downsample.0.weight" in keys
    assert "features.5.0.downsample.1.running_var" in keys
    assert "features.4.0.downsample.0.weight" not in keys  # 64 -> 64: no downsample
    assert keys[-4:] == ["features.7.1.body.4.running_mean", "features.7.1.body.4.running_var",
                         "output.weight", "output.bias"]
    shapes = {k: p.shape for k, p in net._collect_params_with_prefix().items()}
    assert shapes["features.0.weight"] == (64, 3, 7, 7)
    assert shapes["features.5.0.body.0.weight"] == (128, 64, 3, 3)
    assert shapes["features.5.0.downsample.0.weight"] == (128, 64, 1, 1)
    assert shapes["output.weight"] == (1000, 512)
    assert len(keys) == 102
    # Gluon 1.x names keep MXNet's prefixes (for files saved with save_params)
    names = [p.name for p in net.collect_params().values()]
    assert names[0].endswith("_conv0_weight") and names[0].startswith("resnetv1")
    assert "_stage1_conv0_weight" in names[5]


def test_other_structural_keys():
    def keys(net, size):
        _fast_init(net)
        net(nd.zeros((1, 3, size, size)))
        return {k: p.shape for k, p in net._collect_params_with_prefix().items()}

    def count(k):
        return sum(int(np.prod(shape)) for shape in k.values())

    k = keys(vision.mobilenet_v2_0_25(), 32)
    assert k["features.3.out.0.weight"] == (8, 8, 1, 1)       # first block: t = 1
    assert k["features.4.out.0.weight"] == (24, 4, 1, 1)      # expand 4 -> 4*6
    assert k["features.4.out.3.weight"] == (24, 1, 3, 3)      # depthwise
    assert k["output.0.weight"] == (1000, 1280, 1, 1)
    assert "output.0.bias" not in k
    assert count(k) == EXPECTED_PARAMS["mobilenetv2_0.25"]
    k = keys(vision.squeezenet1_1(), 224)
    assert k["features.3.1.1.0.weight"] == (64, 16, 3, 3)     # fire: expand3x3
    assert k["output.0.weight"] == (1000, 512, 1, 1)
    assert count(k) == EXPECTED_PARAMS["squeezenet1.1"]
    k = keys(vision.resnet50_v1(), 32)
    assert k["features.4.0.body.0.bias"] == (64,)             # MXNet keeps this bias
    assert k["features.4.0.downsample.0.weight"] == (256, 64, 1, 1)
    assert count(k) == EXPECTED_PARAMS["resnet50_v1"]
    k = keys(vision.resnet18_v2(), 32)
    assert k["features.0.gamma"] == (3,)                      # input BN, scale=False
    assert k["features.6.0.downsample.weight"] == (128, 64, 1, 1)   # stage 2
    assert "features.5.0.downsample.weight" not in k                # stage 1: 64 -> 64
    assert count(k) == EXPECTED_PARAMS["resnet18_v2"]


# smallest variant of each family at a small input -> (constructor, input size)
FAMILIES = {
    "resnet_v1": (lambda: vision.resnet18_v1(classes=10), 32),
    "resnet_v2": (lambda: vision.resnet18_v2(classes=10), 32),
    "resnet_thumbnail": (lambda: vision.get_resnet(1, 18, classes=10, thumbnail=True), 8),
    "mobilenet": (lambda: vision.mobilenet0_25(classes=10), 32),
    "mobilenetv2": (lambda: vision.mobilenet_v2_0_25(classes=10), 32),
    "squeezenet": (lambda: vision.squeezenet1_1(classes=10), 224),
    "alexnet": (lambda: vision.alexnet(classes=10), 64),
    "vgg": (lambda: vision.VGG([1, 1, 1, 1, 1], [8, 8, 16, 16, 16], classes=10,
                               batch_norm=True), 32),
    "densenet": (lambda: vision.DenseNet(8, 4, [2, 2], classes=10), 112),
    "bottleneck_v1": (lambda: vision.ResNetV1(vision.BottleneckV1, [1, 1], [8, 16, 32],
                                              classes=10), 32),
    "bottleneck_v2": (lambda: vision.ResNetV2(vision.BottleneckV2, [1, 1], [8, 16, 32],
                                              classes=10), 32),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_forward_hybridize_matches_eager(family):
    build, size = FAMILIES[family]
    net = build()
    net.initialize(kiln.initializer.Xavier())
    x = _x(size)
    eager = net(x)
    assert eager.shape == (1, 10)
    net.hybridize()
    hybrid = net(x)
    np.testing.assert_allclose(hybrid.asnumpy(), eager.asnumpy(), rtol=1e-4, atol=1e-5)
    # training mode (BatchNorm batch statistics, Dropout) also traces: shape only
    with kiln.autograd.record():
        assert net(nd.concat(x, x, dim=0)).shape == (2, 10)


@pytest.mark.skipif(not FULL, reason="Inception V3 at 299x299 takes seconds; "
                                     "KILN_TEST_ZOO_FULL=1 runs it")
def test_inception_v3_forward():
    net = vision.inception_v3(classes=10)
    _fast_init(net)
    assert net(nd.zeros((1, 3, 299, 299))).shape == (1, 10)


def test_save_load_round_trip(tmp_path):
    net = vision.resnet18_v1(classes=10)
    net.initialize(kiln.initializer.Xavier())
    x = _x(32, seed=1)
    ref = net(x).asnumpy()
    path = str(tmp_path / "r18.params")
    net.save_parameters(path)
    assert "features.4.0.body.0.weight" in nd.load(path)
    other = vision.resnet18_v1(classes=10)
    other.load_parameters(path)
    np.testing.assert_allclose(other(x).asnumpy(), ref, rtol=1e-5, atol=1e-6)


def test_pretrained_missing_file_raises_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        vision.get_model("resnet18_v1", pretrained=True, root=str(tmp_path))
    msg = str(info.value)
    assert str(tmp_path / "resnet18_v1-a0666292.params") in msg
    assert str(tmp_path / "resnet18_v1.params") in msg
    assert "does not download" in msg
    with pytest.raises(FileNotFoundError, match="mobilenetv2_0.25-ae8f9392.params"):
        vision.mobilenet_v2_0_25(pretrained=True, root=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="vgg11_bn-ee79a809.params"):
        vision.vgg11_bn(pretrained=True, root=str(tmp_path))
    with pytest.raises(ValueError, match="not available"):
        model_store.get_model_file("resnet19_v1", root=str(tmp_path))


def test_pretrained_loads_local_file(tmp_path):
    src = vision.mobilenet0_25()
    src.initialize(kiln.initializer.Xavier())
    x = _x(32, seed=2)
    ref = src(x).asnumpy()
    src.save_parameters(str(tmp_path / "mobilenet0.25.params"))
    net = vision.get_model("mobilenet0.25", pretrained=True, root=str(tmp_path))
    np.testing.assert_allclose(net(x).asnumpy(), ref, rtol=1e-5, atol=1e-6)
    # MXNet's hashed name wins over the plain one (a content mismatch only logs a warning)
    os.rename(tmp_path / "mobilenet0.25.params", tmp_path / "mobilenet0.25-9f83e440.params")
    assert model_store.get_model_file("mobilenet0.25", root=str(tmp_path)).endswith(
        "mobilenet0.25-9f83e440.params")
    net = vision.mobilenet0_25(pretrained=True, root=str(tmp_path))
    np.testing.assert_allclose(net(x).asnumpy(), ref, rtol=1e-5, atol=1e-6)


def test_export_resnet_graph(tmp_path):
    net = vision.resnet18_v1(classes=10)
    net.initialize()
    net.hybridize()
    net(_x(32))
    net.export(str(tmp_path / "r18"))
    sym_file, params_file = (str(tmp_path / "r18-symbol.json"),
                             str(tmp_path / "r18-0000.params"))
    saved = nd.load(params_file)
    assert any(k.endswith("features.0.weight") or k.endswith("conv0_weight") for k in saved)
    with open(sym_file) as f:
        graph = f.read()
    assert '"Convolution"' in graph and '"FullyConnected"' in graph


def test_hybridized_backward_and_onnx_export(tmp_path):
    net = vision.mobilenet_v2_0_25(classes=10)
    net.initialize(kiln.initializer.Xavier())
    x = _x(32, seed=3)
    net(x)
    path = net.export_onnx(str(tmp_path / "mnv2.onnx"), x)  # verifies with onnxruntime
    assert os.path.exists(path)
    net.hybridize()
    with kiln.autograd.record():
        loss = net(nd.concat(x, x * 0.5, dim=0)).sum()
    loss.backward()
    grads = {k: p.grad().asnumpy() for k, p in net._collect_params_with_prefix().items()
             if p.grad_req != "null"}
    assert np.abs(grads["features.0.weight"]).sum() > 0
    assert np.abs(grads["output.0.weight"]).sum() > 0


_DATA = os.path.join(os.path.dirname(__file__), "data", "model_zoo")
# tiny configurations whose parameters real MXNet 1.9.1 wrote (data/model_zoo/make_fixtures.py)
MXNET_FILES = {
    "resnetv1_bottleneck": (lambda: vision.ResNetV1(vision.BottleneckV1, [1, 1], [8, 16, 32],
                                                    classes=3), 32),
    "resnetv2_basic": (lambda: vision.ResNetV2(vision.BasicBlockV2, [1, 1], [8, 8, 16],
                                               classes=3), 32),
    "densenet_tiny": (lambda: vision.DenseNet(8, 4, [1, 1], classes=3), 112),
}


@pytest.mark.parametrize("name", sorted(MXNET_FILES))
def test_load_mxnet_written_params(name):
    build, s = MXNET_FILES[name]
    net = build()
    net.load_parameters(os.path.join(_DATA, f"{name}.params"))
    x = nd.array(np.sin(np.arange(2 * 3 * s * s) * 0.37).reshape(2, 3, s, s))
    expected = np.load(os.path.join(_DATA, "mxnet_outputs.npz"))[name + "_y"]
    np.testing.assert_allclose(net(x).asnumpy(), expected, rtol=1e-4, atol=1e-5)
    net.hybridize()
    np.testing.assert_allclose(net(x).asnumpy(), expected, rtol=1e-4, atol=1e-5)
