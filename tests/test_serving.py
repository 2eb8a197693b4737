"""Python-free serving: examples/serve_c builds a C program against the onnxruntime wheel's
libonnxruntime, runs a kiln-exported ONNX model on raw float32 files and must print kiln's
eager outputs (atol 1e-5). Skipped where gcc or the shared library is missing."""
import glob
import os
import shutil
import subprocess
import sys

import kiln.symbol as sym
import numpy as np
import onnxruntime
import pytest
from kiln import nd
from kiln.export.onnx import export_model
from kiln.gluon import nn

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "examples", "serve_c")
CAPI = os.path.join(os.path.dirname(onnxruntime.__file__), "capi")
CC = os.environ.get("CC", "gcc")

pytestmark = [
    pytest.mark.skipif(sys.platform not in ("linux", "darwin"),
                       reason="build.sh targets Linux and macOS"),
    pytest.mark.skipif(shutil.which(CC) is None, reason=f"no C compiler ({CC})"),
    pytest.mark.skipif(not [p for p in glob.glob(os.path.join(CAPI, "libonnxruntime*"))
                            if "providers" not in p],
                       reason="the onnxruntime wheel ships no libonnxruntime shared library"),
]


@pytest.fixture(scope="module")
def serve(tmp_path_factory):
    """Path of the serve program, built once into a temporary directory."""
    out = tmp_path_factory.mktemp("serve_c")
    env = {**os.environ, "PYTHON": sys.executable, "CC": CC}
    res = subprocess.run(["sh", os.path.join(EXAMPLE, "build.sh"), str(out)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip().splitlines()[-1]


def _run(serve, model, inputs, tmp_path, check=True):
    """Run ``serve model name shape file ...``; inputs: name -> float32 array."""
    args = [serve, str(model)]
    for name, x in inputs.items():
        path = tmp_path / f"{name}.bin"
        np.ascontiguousarray(x, dtype="<f4").tofile(path)
        args += [name, ",".join(map(str, x.shape)), str(path)]
    res = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if check:
        assert res.returncode == 0, res.stderr
    return res


def _parse(stdout):
    """The program's output as ``[(name, array)]``, one entry per model output."""
    outs = []
    for line in stdout.splitlines():
        if line.startswith("# output"):
            fields = dict(f.split("=", 1) for f in line.split()[3:])
            shape = tuple(int(d) for d in fields["shape"].split(",") if d)
            outs.append((fields["name"], shape, []))
        else:
            outs[-1][2].append(float(line))
    return [(name, np.array(vals, dtype=np.float64).reshape(shape))
            for name, shape, vals in outs]


def _cnn():
    net = nn.HybridSequential()
    net.add(nn.Conv2D(4, 3, padding=1, activation="relu"), nn.MaxPool2D(2), nn.Flatten(),
            nn.Dense(8, activation="tanh"), nn.Dense(3))
    net.initialize()
    net.hybridize()
    return net


def test_gluon_cnn_dynamic_batch(serve, tmp_path):
    net = _cnn()
    rng = np.random.default_rng(0)
    x = nd.array(rng.standard_normal((2, 1, 6, 6)).astype("f4"))
    want = net(x).asnumpy()
    model = net.export_onnx(str(tmp_path / "cnn.onnx"), x, dynamic_axes={"data": {0: "batch"}})
    [(_, got)] = _parse(_run(serve, model, {"data": x.asnumpy()}, tmp_path).stdout)
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    x5 = rng.standard_normal((5, 1, 6, 6)).astype("f4")   # another batch size, same file
    [(_, got5)] = _parse(_run(serve, model, {"data": x5}, tmp_path).stdout)
    np.testing.assert_allclose(got5, net(nd.array(x5)).asnumpy(), rtol=0, atol=1e-5)


def test_two_inputs_two_outputs(serve, tmp_path):
    a, b = sym.var("a"), sym.var("b")
    h = sym.relu(sym.FullyConnected(a, num_hidden=4, name="fc"))
    y = sym.Group([sym.broadcast_add(h, b, name="sum"), sym.tanh(h, name="th")])
    rng = np.random.default_rng(1)
    params = {"fc_weight": nd.array(rng.standard_normal((4, 3)).astype("f4")),
              "fc_bias": nd.array(rng.standard_normal(4).astype("f4"))}
    xa = rng.standard_normal((2, 3)).astype("f4")
    xb = rng.standard_normal((1, 4)).astype("f4")
    model = export_model(y, params, [(2, 3), (1, 4)], onnx_file_path=str(tmp_path / "g.onnx"))
    want = y.eval(a=nd.array(xa), b=nd.array(xb), **params)
    got = _parse(_run(serve, model, {"a": xa, "b": xb}, tmp_path).stdout)
    assert len(got) == 2
    for (_, g), w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w.asnumpy(), rtol=0, atol=1e-5)


def test_errors_are_reported(serve, tmp_path):
    net = _cnn()
    x = nd.ones((1, 1, 6, 6))
    net(x)
    model = net.export_onnx(str(tmp_path / "cnn.onnx"), x)
    res = _run(serve, model, {"nope": np.ones((1, 1, 6, 6), "f4")}, tmp_path, check=False)
    assert res.returncode == 1 and "Run failed" in res.stderr and "nope" in res.stderr
    short = tmp_path / "short.bin"
    np.ones(3, "<f4").tofile(short)
    res = subprocess.run([serve, model, "data", "1,1,6,6", str(short)], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 1 and "fewer values" in res.stderr
    res = subprocess.run([serve, model], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "usage" in res.stderr
