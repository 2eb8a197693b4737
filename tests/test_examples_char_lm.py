"""examples/char_lm.py: a tiny run of the script trains (perplexity falls), exports to ONNX and
onnxruntime generates the same text as kiln, greedily and sampled with a seed."""
import importlib.util
import io
import json
import os
import subprocess
import sys

import numpy as np

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples",
                      "char_lm.py")
TINY = ["--corpus", "zen", "--hidden", "32", "--embed", "16", "--layers", "1",
        "--batch-size", "4", "--bptt", "20", "--lr", "0.02", "--gen-length", "40"]


def _module():
    spec = importlib.util.spec_from_file_location("char_lm", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_trains_exports_and_generates(tmp_path):
    report = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-W", "error", SCRIPT, *TINY, "--epochs", "4",
                           "--out", str(tmp_path), "--report", str(report)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(report.read_text())
    history = result["history"]
    assert len(history) == 4
    assert history[-1]["train_ppl"] < 0.75 * history[0]["train_ppl"], history
    assert history[-1]["val_ppl"] < history[0]["val_ppl"], history
    assert history[0]["train_ppl"] < 1.2 * result["vocab_size"]     # starts near uniform
    assert result["onnx_text"] == result["kiln_text"]
    assert result["kiln_text"].startswith("The ") and len(result["kiln_text"]) == 44
    assert os.path.exists(tmp_path / "char_lm.onnx")
    assert "epoch 4: train perplexity" in proc.stdout
    assert "kiln generates the same text" in proc.stdout
    assert "epoch 4/4 |" in proc.stderr and "9/9" in proc.stderr      # the progress bar


def test_sampled_generation_matches_onnx(tmp_path):
    result = _module().main([*TINY, "--epochs", "1", "--temperature", "0.8", "--seed", "3",
                             "--out", str(tmp_path)])
    assert result["onnx_text"] == result["kiln_text"]
    greedy = result["kiln_text"][4:]
    assert len(set(greedy)) > 3                                       # sampled, not a loop


def test_corpus_batchify_and_progress():
    m = _module()
    zen = m.zen_text()
    assert zen.startswith("The Zen of Python") and "Beautiful is better than ugly." in zen
    text = m.stdlib_text(5000)
    assert len(text) == 5000 or text == zen
    data = m.batchify(np.arange(10), 3)
    np.testing.assert_array_equal(data, [[0, 3, 6], [1, 4, 7], [2, 5, 8]])
    stream = io.StringIO()
    bar = m.Progress(4, "epoch 1/1", width=8, stream=stream)
    bar.update(2, loss=1.5)
    bar.close()
    assert "\repoch 1/1 |####----| 2/4 loss 1.500" in stream.getvalue()
