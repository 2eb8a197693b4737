"""Files exchanged with real MXNet 1.9.1, run in its own interpreter (optional cross-check).

MXNet 1.9.1 needs numpy < 1.24, so it lives in a separate virtual environment: point
``KILN_MXNET_PYTHON`` at its python (``python -m venv v && v/bin/pip install "numpy<1.24"
mxnet==1.9.1``), or create ``.mxnet-venv`` at the repository root. Skipped otherwise.
"""
import json
import os
import subprocess
import textwrap

import kiln as kl
import numpy as np
import pytest
from kiln import gluon, nd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MX_PYTHON = os.environ.get("KILN_MXNET_PYTHON") or os.path.join(ROOT, ".mxnet-venv", "bin",
                                                                 "python")
pytestmark = pytest.mark.skipif(not os.path.exists(MX_PYTHON),
                                reason="no MXNet 1.9.1 interpreter (see module docstring)")


def run_mx(code, cwd):
    """Run ``code`` under MXNet's interpreter; return its stdout (fails the test on error)."""
    proc = subprocess.run([MX_PYTHON, "-c", textwrap.dedent(code)], cwd=cwd, text=True,
                          capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_ndarray_files_both_ways(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {f"a_{dt}": nd.array(rng.uniform(-5, 5, size=(2, 3)), dtype=dt)
              for dt in ("float16", "float32", "float64", "int8", "int32", "int64", "uint8")}
    arrays["empty"] = nd.zeros((0, 4))
    nd.save(str(tmp_path / "kiln.nd"), arrays)
    out = run_mx("""
        import json, mxnet as mx
        d = mx.nd.load("kiln.nd")
        print(json.dumps({k: [str(v.dtype.__name__), list(v.shape), v.asnumpy().tolist()]
                          for k, v in d.items()}))
        mx.nd.save("mx.nd", [mx.nd.arange(6).reshape((2, 3)),
                             mx.nd.array([1, 2], dtype="int32")])
        mx.nd.save("mxd.nd", {"w": mx.nd.ones((2, 2), dtype="float16")})
    """, tmp_path)
    seen = json.loads(out)
    for k, v in arrays.items():
        dtype, shape, values = seen[k]
        assert dtype == np.dtype(v.dtype).name and tuple(shape) == v.shape
        np.testing.assert_array_equal(np.array(values, dtype=dtype).reshape(shape), v.asnumpy())
    listed = nd.load(str(tmp_path / "mx.nd"))
    assert listed[0].asnumpy().tolist() == [[0, 1, 2], [3, 4, 5]] and listed[1].dtype == np.int32
    assert nd.load(str(tmp_path / "mxd.nd"))["w"].dtype == np.float16


def _kiln_cnn():
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Conv2D(4, 3, padding=1), gluon.nn.BatchNorm(),
            gluon.nn.Activation("relu"), gluon.nn.MaxPool2D(), gluon.nn.Conv2D(6, 3),
            gluon.nn.GlobalAvgPool2D(), gluon.nn.Flatten(), gluon.nn.Dense(5))
    net.initialize(kl.init.Xavier())
    return net


def test_mxnet_loads_kiln_export(tmp_path):
    net = _kiln_cnn()
    x = np.random.default_rng(1).normal(size=(2, 3, 8, 8)).astype(np.float32)
    net.hybridize()
    expected = net(nd.array(x)).asnumpy()
    net.export(str(tmp_path / "k"))
    np.save(tmp_path / "x.npy", x)
    out = run_mx("""
        import numpy as np, mxnet as mx
        net = mx.gluon.SymbolBlock.imports("k-symbol.json", ["data"], "k-0000.params")
        y = net(mx.nd.array(np.load("x.npy"))).asnumpy()
        np.save("y.npy", y)
        print("ok")
    """, tmp_path)
    assert out.strip() == "ok"
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), expected, rtol=1e-5, atol=1e-5)


def test_kiln_loads_mxnet_model_zoo_export(tmp_path):
    x = np.random.default_rng(2).normal(size=(1, 3, 32, 32)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    run_mx("""
        import numpy as np, mxnet as mx
        mx.random.seed(0)
        net = mx.gluon.model_zoo.vision.resnet18_v1(classes=10)
        net.initialize(mx.init.Xavier())
        net.hybridize()
        y = net(mx.nd.array(np.load("x.npy")))
        np.save("y.npy", y.asnumpy())
        net.export("resnet")
        net.save_parameters("resnet.params")
    """, tmp_path)
    expected = np.load(tmp_path / "y.npy")
    block = gluon.SymbolBlock.imports(str(tmp_path / "resnet-symbol.json"), ["data"],
                                      str(tmp_path / "resnet-0000.params"))
    np.testing.assert_allclose(block(nd.array(x)).asnumpy(), expected, rtol=1e-4, atol=1e-4)
    vision = pytest.importorskip("kiln.model_zoo.vision")
    native = vision.resnet18_v1(classes=10)
    native.load_parameters(str(tmp_path / "resnet.params"))
    np.testing.assert_allclose(native(nd.array(x)).asnumpy(), expected, rtol=1e-4, atol=1e-4)


# The same Gluon 1.x source runs under kiln (``import kiln as mx``) and under MXNet.
_NAMES_CODE = """
import json
import numpy as np
from {lib} import gluon, nd
from {lib}.gluon import nn

net = nn.HybridSequential(prefix="cnn_")
with net.name_scope():
    net.add(nn.Conv2D(4, 3, padding=1), nn.BatchNorm(), nn.Activation("relu"))
    inner = nn.HybridSequential()
    with inner.name_scope():
        inner.add(nn.Dense(6), nn.Dense(3, use_bias=False))
    net.add(inner)
net.initialize()
net.hybridize()
net(nd.array(np.ones((2, 3, 5, 5))))
net.export("{tag}")
sb = gluon.SymbolBlock.imports("{tag}-symbol.json", ["data"], "{tag}-0000.params")
sb.save_parameters("{tag}-sb.params")
with open("{tag}-symbol.json") as f:
    nodes = json.load(f)["nodes"]
names = dict(
    keys=list(net.collect_params().keys()),
    select=list(net.collect_params(".*weight|.*gamma").keys()),
    regex_from_start=list(net.collect_params("dense.*").keys()),
    repr_lines=len(repr(net.collect_params()).splitlines()),
    structural=sorted(net._collect_params_with_prefix().keys()),
    export=sorted(nd.load("{tag}-0000.params").keys()),
    variables=[n["name"] for n in nodes if n["op"] == "null"],
    imported=list(sb.collect_params().keys()),
    imported_saved=sorted(nd.load("{tag}-sb.params").keys()),
)
"""


def test_parameter_names_match_mxnet(tmp_path, monkeypatch):
    out = run_mx(_NAMES_CODE.format(lib="mxnet", tag="m") + "\nprint(json.dumps(names))\n",
                 tmp_path)
    expected = json.loads(out.strip().splitlines()[-1])
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(_NAMES_CODE.format(lib="kiln", tag="k"), scope)  # noqa: S102
    got = scope["names"]
    for key, want in expected.items():
        assert got[key] == want, key
    # each library loads the other's export under the same names
    out = run_mx("""
        import json, mxnet as mx
        sb = mx.gluon.SymbolBlock.imports("k-symbol.json", ["data"], "k-0000.params")
        print(json.dumps(list(sb.collect_params().keys())))
    """, tmp_path)
    assert json.loads(out.strip().splitlines()[-1]) == expected["imported"]
    sb = gluon.SymbolBlock.imports(str(tmp_path / "m-symbol.json"), ["data"],
                                   str(tmp_path / "m-0000.params"))
    assert list(sb.collect_params().keys()) == expected["imported"]
