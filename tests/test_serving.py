"""Python-free serving: examples/serve_c builds a C program against the onnxruntime wheel's
libonnxruntime, runs a kiln-exported ONNX model on raw little-endian files of each input's
element type (float32 images, int64/int32 token ids, bool masks) and must print kiln's eager
outputs (atol 1e-5). Skipped where gcc or the shared library is missing (onnxruntime wheels
before 1.19 ship none)."""
import glob
import os
import shutil
import subprocess
import sys

import kiln.symbol as sym
import numpy as np
import onnx
import onnxruntime
import pytest
from kiln import nd
from kiln.export.onnx import export_model
from kiln.gluon import nn
from kiln.model_zoo import text

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
    """Run ``serve model name shape file ...``; inputs: name -> array, written as raw
    little-endian values of its own dtype."""
    args = [serve, str(model)]
    for name, x in inputs.items():
        path = tmp_path / f"{name}.bin"
        x = np.asarray(x)
        np.ascontiguousarray(x, dtype=x.dtype.newbyteorder("<")).tofile(path)
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
    assert res.returncode == 1 and "no input named 'nope'" in res.stderr
    assert "inputs are: data" in res.stderr
    res = _run(serve, model, {"data": np.ones((1, 1, 6, 7), "f4")}, tmp_path, check=False)
    assert res.returncode == 1 and "Run failed" in res.stderr   # onnxruntime's shape check
    short = tmp_path / "short.bin"
    np.ones(3, "<f4").tofile(short)
    res = subprocess.run([serve, model, "data", "1,1,6,6", str(short)], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 1 and "fewer values" in res.stderr
    res = subprocess.run([serve, model], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "usage" in res.stderr


def _lm():
    """The model zoo's LSTM language model (StandardRNN), small."""
    net = text.StandardRNN("lstm", 50, 8, 16, 2, 0.0, False)
    net.initialize()
    net.hybridize()
    return net


def test_lstm_lm_serves_int64_token_ids(serve, tmp_path):
    net = _lm()
    rng = np.random.default_rng(2)
    x = nd.array(rng.integers(0, 50, (4, 2)), dtype="int64")
    net(x)
    model = net.export_onnx(str(tmp_path / "lm.onnx"), x,
                            dynamic_axes={"data": {0: "seq", 1: "batch"}})
    [(name, kind)] = [(i.name, i.type.tensor_type.elem_type)
                      for i in onnx.load(model).graph.input]
    assert kind == onnx.TensorProto.INT64
    for shape in [(4, 2), (7, 3)]:   # other lengths and batch sizes, same file
        ids = rng.integers(0, 50, shape).astype(np.int64)
        logits, (h, c) = net(nd.array(ids, dtype="int64"))
        got = _parse(_run(serve, model, {name: ids}, tmp_path).stdout)
        assert [g.shape for _, g in got] == [logits.shape, h.shape, c.shape]
        for (_, g), w in zip(got, (logits, h, c)):
            np.testing.assert_allclose(g, w.asnumpy(), rtol=0, atol=1e-5)
    res = _run(serve, model, {name: ids.astype(np.int32)}, tmp_path, check=False)
    assert res.returncode == 1 and "fewer values" in res.stderr and "int64" in res.stderr


def test_int32_ids_and_bool_mask(serve, tmp_path):
    ids, mask = sym.var("ids"), sym.var("mask")
    emb = sym.Embedding(ids, input_dim=10, output_dim=3, name="emb")
    y = sym.where(mask, emb, sym.zeros_like(emb) - 1.0, name="out")
    rng = np.random.default_rng(3)
    params = {"emb_weight": nd.array(rng.standard_normal((10, 3)).astype("f4"))}
    xi = rng.integers(0, 10, (2, 5)).astype(np.int32)
    xm = rng.integers(0, 2, (2, 5, 3)).astype(bool)
    model = export_model(y, params, {"ids": (2, 5), "mask": (2, 5, 3)},
                         in_types={"ids": np.int32, "mask": np.bool_},
                         onnx_file_path=str(tmp_path / "m.onnx"))
    want = y.eval(ids=nd.array(xi, dtype="int32"), mask=nd.array(xm, dtype="bool"),
                  **params)[0].asnumpy()
    np.testing.assert_array_equal(want[~xm], -1.0)   # the mask did select
    [(_, got)] = _parse(_run(serve, model, {"ids": xi, "mask": xm}, tmp_path).stdout)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
