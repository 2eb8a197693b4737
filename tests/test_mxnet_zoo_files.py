"""Model files written by real MXNet 1.9.1 load in kiln and compute what MXNet computed.

* The committed fixture ``tests/data/mxnet_dropout`` (Gluon's export of Dense + ``Dropout``, and
  ``sym.Dropout(mode='always', axes=(1,))``'s JSON) loads without MXNet: predict-mode output
  equals MXNet's, training-mode output is MXNet's Dropout (rate, 1/(1-p) scaling, shared axes,
  gradient = the mask).
* Gluon model-zoo networks (random weights, random BatchNorm statistics), exported by MXNet in
  a subprocess, load through ``SymbolBlock.imports`` and match MXNet's predict-mode output,
  eagerly and hybridized; AlexNet (Dropout) also goes back: kiln's export loads in MXNet.

MXNet needs its own interpreter (numpy < 1.24): ``KILN_MXNET_PYTHON``, ``.mxnet-venv`` at the
repository root or ``/tmp/mxvenv``. Without it only the committed-fixture tests run.
"""
import os
import shutil
import subprocess
import textwrap

import kiln as kl
import numpy as np
import pytest
from kiln import autograd, gluon, nd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "mxnet_dropout")
_CANDIDATES = [os.environ.get("KILN_MXNET_PYTHON"),
               os.path.join(ROOT, ".mxnet-venv", "bin", "python"), "/tmp/mxvenv/bin/python"]
MX_PYTHON = next((p for p in _CANDIDATES if p and os.path.exists(p)), None)
needs_mxnet = pytest.mark.skipif(MX_PYTHON is None, reason="no MXNet 1.9.1 interpreter")

# name -> input side: small inputs where the network allows (VGG/AlexNet/ResNet/MobileNet pool
# globally or size their Dense layers lazily); SqueezeNet, DenseNet and Inception end in
# fixed-size average pools, so they need their full input sizes.
ZOO = {"alexnet": 64, "vgg11": 32, "squeezenet1.0": 224, "mobilenetv2_0.25": 64,
       "resnet18_v1": 64, "densenet121": 224, "inceptionv3": 299}
# KILN_MXNET_ZOO=all: every model of MXNet 1.9.1's vision.get_model at full input size (~5 min)
_ALL = ([f"resnet{d}_v{v}" for v in (1, 2) for d in (18, 34, 50, 101, 152)]
        + [f"vgg{d}{bn}" for bn in ("", "_bn") for d in (11, 13, 16, 19)]
        + ["alexnet", "densenet121", "densenet161", "densenet169", "densenet201",
           "squeezenet1.0", "squeezenet1.1", "inceptionv3"]
        + [f"mobilenet{w}" for w in ("1.0", "0.75", "0.5", "0.25")]
        + [f"mobilenetv2_{w}" for w in ("1.0", "0.75", "0.5", "0.25")])
if os.environ.get("KILN_MXNET_ZOO") == "all":
    ZOO = {n: 299 if n == "inceptionv3" else 224 for n in _ALL}

_GENERATE = """
import os, sys
import numpy as np
import mxnet as mx
from mxnet.gluon.model_zoo import vision
name, size, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
mx.random.seed(0)
rs = np.random.RandomState(0)
net = vision.get_model(name, classes=10)
net.initialize(mx.init.Xavier())
x = mx.nd.array(rs.uniform(-1, 1, (1, 3, size, size)))
net(x)
for k, p in net.collect_params().items():   # non-trivial BatchNorm parameters and statistics
    lo, hi = {"gamma": (0.8, 1.2), "beta": (-0.1, 0.1), "running_mean": (-0.1, 0.1),
              "running_var": (0.5, 1.5)}.get(k.rsplit("_", 1)[-1] if "running" not in k
                                             else k[k.index("running"):], (None, None))
    if lo is not None:
        p.set_data(mx.nd.array(rs.uniform(lo, hi, p.shape)))
net.hybridize()
y = net(x)
os.makedirs(out, exist_ok=True)
net.export(os.path.join(out, "model"))
mx.nd.save(os.path.join(out, "io.nd"), {"x": x, "y": y})
"""

_RELOAD = """
import sys
import mxnet as mx
d = sys.argv[1]
net = mx.gluon.SymbolBlock.imports(d + "/kiln-symbol.json", ["data"], d + "/kiln-0000.params")
io = mx.nd.load(d + "/io.nd")
mx.nd.save(d + "/mx_again.nd", {"y": net(io["x"])})
ops = [n["op"] for n in __import__("json").load(open(d + "/kiln-symbol.json"))["nodes"]]
print(ops.count("Dropout"))
"""


def _mx(code, *args):
    proc = subprocess.run([MX_PYTHON, "-c", textwrap.dedent(code), *map(str, args)],
                          cwd="/tmp", text=True, capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope="session")
def zoo(tmp_path_factory):
    """``zoo(name)``: the folder holding MXNet's export of ``name`` (generated once, on first
    use, by the MXNet interpreter) with ``model-symbol.json``, ``model-0000.params`` and
    ``io.nd`` (input ``x``, MXNet's output ``y``). Removed at the end (VGG's file is ~100 MB)."""
    base = tmp_path_factory.mktemp("mxnet_zoo")
    made = {}

    def get(name):
        if name not in made:
            out = base / name
            _mx(_GENERATE, name, ZOO[name], out)
            made[name] = str(out)
        return made[name]
    yield get
    shutil.rmtree(base, ignore_errors=True)


def _imports(folder, prefix="model"):
    return gluon.SymbolBlock.imports(os.path.join(folder, f"{prefix}-symbol.json"), ["data"],
                                     os.path.join(folder, f"{prefix}-0000.params"))


def _close(got, ref):
    # outputs of randomly initialized deep nets can be tiny: tolerances relative to their scale
    scale = max(float(np.abs(ref).max()), 1e-30)
    np.testing.assert_allclose(got / scale, ref / scale, rtol=1e-4, atol=1e-4)


# ---- the model zoo ----------------------------------------------------------------------------
@needs_mxnet
@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_file_matches_mxnet(zoo, name):
    folder = zoo(name)
    io = nd.load(os.path.join(folder, "io.nd"))
    ref = io["y"].asnumpy()
    net = _imports(folder)
    _close(net(io["x"]).asnumpy(), ref)
    net.hybridize()
    _close(net(io["x"]).asnumpy(), ref)
    _close(net(io["x"]).asnumpy(), ref)   # the compiled graph, second call


@needs_mxnet
def test_alexnet_trains_and_goes_back_to_mxnet(zoo):
    folder = zoo("alexnet")
    io = nd.load(os.path.join(folder, "io.nd"))
    net = _imports(folder)
    net.hybridize()
    kl.random.seed(0)
    with autograd.record():           # training mode: its two Dropout layers draw masks
        y = net(io["x"])
    y.backward()
    grads = [p.grad().asnumpy() for p in net.collect_params().values() if p.grad_req != "null"]
    assert y.shape == (1, 10) and all(np.isfinite(g).all() for g in grads)
    assert not np.allclose(y.asnumpy(), io["y"].asnumpy(), rtol=1e-3, atol=1e-6)
    net.export(os.path.join(folder, "kiln"))
    assert _mx(_RELOAD, folder).strip() == "2"    # both Dropout nodes exported as Dropout
    _close(nd.load(os.path.join(folder, "mx_again.nd"))["y"].asnumpy(), io["y"].asnumpy())


# ---- the committed Dropout fixture (no MXNet needed) ------------------------------------------
def _fixture():
    io = np.load(os.path.join(DATA, "io.npz"))
    return _imports(DATA, "net"), nd.array(io["x"]), io["y"]


def test_dropout_file_loads_with_mxnet_names_and_attributes():
    sym = kl.sym.load(os.path.join(DATA, "net-symbol.json"))
    assert sym.list_outputs() == ["dropout0_fwd_output"]
    assert sym.attr_dict()["dropout0_fwd"] == {"axes": "()", "cudnn_off": "False", "p": "0.5"}


@pytest.mark.parametrize("hybridize", [False, True], ids=["eager", "hybridized"])
def test_dropout_file_predict_mode_matches_mxnet(hybridize):
    net, x, y = _fixture()
    if hybridize:
        net.hybridize()
    np.testing.assert_allclose(net(x).asnumpy(), y, rtol=1e-5, atol=1e-6)
    with autograd.record(train_mode=False):
        np.testing.assert_allclose(net(x).asnumpy(), y, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("hybridize", [False, True], ids=["eager", "hybridized"])
def test_dropout_file_training_mode_statistics(hybridize):
    net, x, y = _fixture()
    if hybridize:
        net.hybridize()
    x = nd.array(np.tile(x.asnumpy(), (40, 1)))            # 640 x 64 outputs
    ref = np.tile(y, (40, 1))
    kl.random.seed(1)
    params = [p for p in net.collect_params().values() if p.name.endswith("weight")]
    with autograd.record():
        out = net(x)
    out.backward(nd.ones(out.shape))
    got = out.asnumpy()
    live = ref > 0                                          # relu outputs Dropout can drop
    kept = got[live] != 0
    assert abs(kept.mean() - 0.5) < 0.03
    np.testing.assert_allclose(got[live][kept], 2 * ref[live][kept], rtol=1e-5)
    assert (got[~live] == 0).all()
    # the weight gradient only sees the kept units: d/dW of sum(mask * relu(x W^T + b))
    mask = np.zeros_like(ref)
    mask[live] = kept * 2.0
    expect = (mask * (ref > 0)).T @ x.asnumpy()
    np.testing.assert_allclose(params[0].grad().asnumpy(), expect, rtol=1e-4, atol=1e-4)


def test_dropout_always_file_axes_and_scaling():
    sym = kl.sym.load(os.path.join(DATA, "always-symbol.json"))
    block = gluon.SymbolBlock(sym, [kl.sym.var("data")])
    x = nd.ones((50, 40, 3))
    kl.random.seed(2)
    y = block(x).asnumpy()                                  # predict mode: still drops
    np.testing.assert_array_equal(y, y[:, :1, :].repeat(40, axis=1))   # shared along axis 1
    kept = y[:, 0, :] != 0
    assert 0.65 < kept.mean() < 0.85
    np.testing.assert_allclose(y[:, 0, :][kept], 1 / 0.75, rtol=1e-6)
