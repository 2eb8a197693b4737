"""Python-free serving from Node.js: examples/serve_node runs kiln-exported ONNX models with
onnxruntime-node (installed by the example's own `npm ci` from its lockfile, cached in its
node_modules) and must reproduce kiln's outputs: the float CNN at two batch sizes from one
file (atol 1e-5), its dynamic-int8 version (the same int8 graph in Python's onnxruntime, and
loosely kiln's float model), a text model with int64 token ids, float and int8. Skipped only
where node/npm is missing or the npm registry can't be reached for the first install."""
import json
import os
import subprocess
import urllib.request

import numpy as np
import pytest
from _npm import load_make_model, node_missing, npm_ci

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "examples", "serve_node")

pytestmark = pytest.mark.skipif(node_missing() is not None, reason=str(node_missing()))


make_model = load_make_model()


@pytest.fixture(scope="module")
def installed():
    """examples/serve_node/node_modules from the lockfile (the install runs once per machine
    and lockfile; later runs find it in place)."""
    npm_ci(EXAMPLE)
    return EXAMPLE


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    """The models, inputs and kiln's references (make_model.py) in a temporary directory."""
    out = tmp_path_factory.mktemp("serve_node")
    make_model.make(str(out))
    return out


def _node(*args, timeout=60, **kwargs):
    return subprocess.run(["node", os.path.join(EXAMPLE, "serve.js"), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, **kwargs)


def test_cases_match_kiln(installed, cases):
    res = _node("--cases", cases / "cases.json")
    assert res.returncode == 0, res.stderr
    rows = make_model.check(str(cases))
    bad = [r for r in rows if not r[-1]]
    assert not bad, f"outputs differ from the references: {bad}\n{res.stdout}"
    names = {r[0] for r in rows}
    # dynamic batch (two batch sizes from one file), int8, int64 token ids with two sequence
    # lengths, each case checked against every reference it has
    assert {"cnn_b2", "cnn_b5", "cnn_int8_b2", "cnn_int8_b5", "text_b2_t7", "text_b3_t12",
            "text_int8_b4_t9"} <= names
    assert len(rows) == 10
    with open(cases / "cnn_int8_b5.out.json", encoding="utf-8") as f:
        assert json.load(f)["outputs"][0]["dims"] == [5, 10]
    with open(cases / "cases.json", encoding="utf-8") as f:
        int8 = [c for c in json.load(f)["cases"] if "int8" in c["model"]]
    assert {"cnn-int8.onnx", "text-int8.onnx"} == {c["model"] for c in int8}


def test_single_request_inline_and_stdout(installed, cases, tmp_path):
    """The one-request form: inline JSON values (int64 as numbers and strings) in, JSON out."""
    with open(cases / "cases.json", encoding="utf-8") as f:
        case = next(c for c in json.load(f)["cases"] if c["name"] == "text_b2_t7")
    inputs = {}
    for name, spec in case["inputs"].items():
        x = np.fromfile(cases / spec["file"], dtype=spec["dtype"]).reshape(spec["shape"])
        data = x.ravel().tolist()
        if name == "data":
            data = [str(v) if k % 2 else v for k, v in enumerate(data)]
        inputs[name] = {"dtype": spec["dtype"], "shape": spec["shape"], "data": data}
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"inputs": inputs}))
    res = _node(cases / "text.onnx", request)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)["outputs"]
    assert [o["dims"] for o in got] == [[2, 7, 50], [1, 2, 32], [1, 2, 32]]
    for k, o in enumerate(got):
        want = np.load(cases / f"text_b2_t7.kiln.{k}.npy")
        np.testing.assert_allclose(make_model._from_json(o), want, rtol=1e-5, atol=1e-5)


def test_http(installed, cases):
    """--http: the model is loaded once, requests are POSTed as JSON."""
    proc = subprocess.Popen(["node", os.path.join(EXAMPLE, "serve.js"), "--http", "0",
                             str(cases / "cnn.onnx")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening on "), line + proc.stderr.read()
        url = line.split()[2]
        for batch in (2, 5):
            x = np.fromfile(cases / f"cnn_b{batch}.data.bin", "<f4")
            body = json.dumps({"inputs": {"data": {"dtype": "float32",
                                                   "shape": [batch, 1, 8, 8],
                                                   "data": x.tolist()}}}).encode()
            req = urllib.request.Request(url, data=body, method="POST")
            with urllib.request.urlopen(req, timeout=30) as r:
                [out] = json.loads(r.read())["outputs"]
            np.testing.assert_allclose(make_model._from_json(out),
                                       np.load(cases / f"cnn_b{batch}.kiln.0.npy"),
                                       rtol=0, atol=1e-5)
        bad = urllib.request.Request(url, data=b'{"inputs": {"nope": {"dtype": "float32", '
                                     b'"shape": [1], "data": [1]}}}', method="POST")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(bad, timeout=30)
        assert err.value.code == 400 and "missing" in err.value.read().decode()
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_errors(installed, cases, tmp_path):
    request = tmp_path / "r.json"
    request.write_text(json.dumps({"inputs": {"data": {"dtype": "float32", "shape": [1, 1, 8, 8],
                                                       "file": "short.bin"}}}))
    np.ones(3, "<f4").tofile(tmp_path / "short.bin")
    res = _node(cases / "cnn.onnx", request)
    assert res.returncode == 1 and "short.bin has 12 bytes" in res.stderr
    res = _node(tmp_path / "missing.onnx", request)
    assert res.returncode == 1 and "serve.js:" in res.stderr
    res = _node()
    assert res.returncode == 2 and "usage" in res.stderr
