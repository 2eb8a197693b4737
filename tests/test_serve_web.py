"""onnxruntime-web: examples/serve_web runs kiln-exported ONNX models with onnxruntime-web's
WebAssembly backend, in headless Chromium (puppeteer-core driving the chrome-headless-shell
build from the @sparticuz/chromium npm package, no browser download) and in Node.js (the
package's Node build, same wasm kernels). Both must reproduce kiln's outputs like
test_serve_node.py: float CNN at two batch sizes (atol 1e-5), dynamic int8 (the int8 graph in
Python's onnxruntime, loosely kiln's float model), int64-token text model, float and int8.
Everything installs with the example's own `npm ci` from its lockfile, once (cached in its
node_modules). Skipped only where node/npm is missing or the npm registry can't be reached
for the first install."""
import os
import subprocess

import pytest
from _npm import load_make_model, node_missing, npm_ci

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "serve_web")
CASES = {"cnn_b2", "cnn_b5", "cnn_int8_b2", "cnn_int8_b5", "text_b2_t7", "text_b3_t12",
         "text_int8_b4_t9"}

pytestmark = pytest.mark.skipif(node_missing() is not None, reason=str(node_missing()))


make_model = load_make_model()


@pytest.fixture(scope="module")
def installed():
    """examples/serve_web/node_modules from the lockfile (once per machine and lockfile)."""
    npm_ci(EXAMPLE)
    return EXAMPLE


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    out = tmp_path_factory.mktemp("serve_web")
    make_model.make(str(out))
    return out


def _run_cases(cases, *args, timeout=120):
    for old in cases.glob("*.out.json"):
        old.unlink()
    res = subprocess.run(["node", os.path.join(EXAMPLE, "serve.mjs"), "--cases",
                          str(cases / "cases.json"), *args], capture_output=True, text=True,
                         timeout=timeout)
    assert res.returncode == 0, res.stdout + res.stderr
    rows = make_model.check(str(cases))
    bad = [r for r in rows if not r[-1]]
    assert not bad, f"outputs differ from the references: {bad}\n{res.stdout}"
    assert {r[0] for r in rows} == CASES and len(rows) == 10
    return res.stdout


def test_headless_chromium_matches_kiln(installed, cases):
    out = _run_cases(cases)
    assert out.startswith("# browser: ") and "HeadlessChrome/" in out, out
    assert "onnxruntime-web 1.31.1" in out


def test_node_wasm_backend_matches_kiln(installed, cases):
    out = _run_cases(cases, "--runtime", "node")
    assert out.startswith("# node v") and "(wasm)" in out, out


def test_usage_and_errors(installed, cases, tmp_path):
    script = os.path.join(EXAMPLE, "serve.mjs")
    res = subprocess.run(["node", script, "--cases"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "usage" in res.stderr
    (tmp_path / "cases.json").write_text('{"cases": [{"name": "x", "model": "missing.onnx", '
                                         '"inputs": {}}]}')
    res = subprocess.run(["node", script, "--cases", str(tmp_path / "cases.json"), "--runtime",
                          "node"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 1 and "serve.mjs:" in res.stderr and "missing.onnx" in res.stderr
