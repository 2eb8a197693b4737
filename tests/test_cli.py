"""The ``kiln`` console script: demo, export, summary, --version (run in-process for speed)."""
import io
import os
import subprocess
import sys

import kiln as kl
import numpy as np
import pytest
from kiln import nd
from kiln import sym as S
from kiln.tools import cli
from kiln.tools import demo as _demo


# ---- a small saved model, written with kiln.sym and nd.save ------------------------------------
@pytest.fixture
def saved(tmp_path):
    """prefix of ``prefix-symbol.json`` + ``prefix-0000.params`` (conv -> relu -> fc)."""
    x = S.var("data")
    y = S.Convolution(x, num_filter=4, kernel=(3, 3), name="conv")
    y = S.FullyConnected(S.relu(y), num_hidden=3, name="fc")
    rng = np.random.RandomState(0)
    params = {"arg:conv_weight": nd.array(rng.randn(4, 1, 3, 3) * 0.3),
              "arg:conv_bias": nd.array(rng.randn(4)),
              "arg:fc_weight": nd.array(rng.randn(3, 4 * 6 * 6) * 0.1),
              "arg:fc_bias": nd.array(rng.randn(3))}
    prefix = str(tmp_path / "tiny")
    y.save(f"{prefix}-symbol.json")
    nd.save(f"{prefix}-0000.params", params)
    return prefix


def _reference(prefix, x):
    net = kl.gluon.SymbolBlock.imports(f"{prefix}-symbol.json", ["data"], f"{prefix}-0000.params")
    return net(nd.array(x)).asnumpy()


def _onnx_run(path, x):
    import onnxruntime as ort
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


# ---- summary -------------------------------------------------------------------------------------
def test_summary_prints_layers_and_param_count(saved, capsys):
    assert cli.main(["summary", f"{saved}-symbol.json", "--shape", "data:1,1,8,8"]) == 0
    text = capsys.readouterr().out
    assert "Layer (type)" in text and "Output Shape" in text
    assert "1x4x6x6" in text and "1x3" in text
    assert "Total params: 475" in text   # conv 4*9+4, fc 3*144+3


def test_summary_accepts_prefix_and_unnamed_shape(saved, capsys):
    assert cli.main(["summary", saved, "--shape", "2,1,8,8"]) == 0
    assert "2x3" in capsys.readouterr().out


# ---- export --------------------------------------------------------------------------------------
def test_export_symbol_and_params(saved, tmp_path, capsys):
    out = str(tmp_path / "a.onnx")
    rc = cli.main(["export", f"{saved}-symbol.json", f"{saved}-0000.params",
                   "--shape", "data:2,1,8,8", "--opset", "13", "--out", out])
    assert rc == 0 and f"wrote {out}" in capsys.readouterr().out
    import onnx
    model = onnx.load(out)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) == 13
    x = np.random.RandomState(1).rand(2, 1, 8, 8).astype(np.float32)
    np.testing.assert_allclose(_onnx_run(out, x), _reference(saved, x), rtol=1e-5, atol=1e-5)


def test_export_prefix_with_dynamic_batch(saved, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)   # the default output is PREFIX.onnx in the working directory
    assert cli.main(["export", saved, "--shape", "data:1,1,8,8", "--dynamic-batch"]) == 0
    x = np.random.RandomState(2).rand(5, 1, 8, 8).astype(np.float32)
    out = _onnx_run(str(tmp_path / "tiny.onnx"), x)
    np.testing.assert_allclose(out, _reference(saved, x), rtol=1e-5, atol=1e-5)


def test_export_errors(saved, tmp_path, capsys):
    assert cli.main(["export", str(tmp_path / "missing"), "--shape", "data:1,1,8,8"]) == 1
    assert "no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:          # argparse usage error
        cli.main(["export", saved, "--shape", "data:1,a"])
    assert e.value.code == 2
    with pytest.raises(SystemExit):               # --shape is required
        cli.main(["export", saved])


def test_parse_shapes():
    assert cli.parse_shapes(["data:1,3,224,224"]) == {"data": (1, 3, 224, 224)}
    assert cli.parse_shapes(["a:1,2", "b:3"]) == {"a": (1, 2), "b": (3,)}
    assert cli.parse_shapes(["4,5"]) == [(4, 5)]
    assert cli.parse_shapes(None) is None


# ---- version and the console script --------------------------------------------------------------
def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"kiln {kl.__version__}"


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_module_entry_point():
    r = subprocess.run([sys.executable, "-m", "kiln.tools.cli", "--version"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f"kiln {kl.__version__}"


# ---- demo ----------------------------------------------------------------------------------------
def test_demo_one_epoch(tmp_path, capsys):
    pytest.importorskip("sklearn")
    out = tmp_path / "demo"
    rc = cli.main(["demo", "--epochs", "1", "--steps", "2", "--out", str(out)])
    text = capsys.readouterr().out
    lines = [seg for line in text.split("\n") for seg in line.split("\r") if seg]
    assert rc == 0, text
    assert lines[0].startswith("digits: 1400 train / 397 test")
    assert any(s.startswith("epoch 1/1 [") and " acc " in s for s in lines)
    assert any(s.startswith("training step, batch 64 (best of 2): eager ") and "hybridized" in s
               for s in lines)
    assert any(s.startswith("test accuracy (kiln): ") for s in lines)
    assert any(s.startswith("onnxruntime accuracy ") and "max abs difference" in s
               for s in lines)
    assert lines[-1] == "OK: onnxruntime matches kiln"
    assert sorted(os.listdir(out)) == ["digits-0000.params", "digits-symbol.json", "digits.onnx"]


def test_demo_compare_flags_mismatch():
    y = np.array([0, 1, 2], dtype=np.float32)
    logits = np.eye(3, dtype=np.float32) * 5
    stream = io.StringIO()
    assert _demo.compare(logits, logits + 1e-6, y, stream)
    assert not _demo.compare(logits, logits + 0.1, y, stream)     # outputs differ
    swapped = logits[:, [1, 0, 2]]
    assert not _demo.compare(logits, swapped, y, stream)          # accuracy differs
    assert stream.getvalue().count("onnxruntime accuracy") == 3
