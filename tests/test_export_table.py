"""benchmarks/export_table.py stays working: its per-model function on two small zoo models
(one vision, one text), its parity measure against numpy, its goal verdicts against the
thresholds, and docs/export-table.md lists every registry model."""
import importlib.util
import os

import numpy as np
import onnx
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def et():
    spec = importlib.util.spec_from_file_location(
        "export_table", os.path.join(ROOT, "benchmarks", "export_table.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_rel_diff_matches_numpy(et):
    rng = np.random.default_rng(0)
    want = [rng.standard_normal((3, 4)), rng.standard_normal(5) * 10]
    got = [w + rng.standard_normal(w.shape) * 1e-3 for w in want]
    oracle = max(np.abs(g - w).max() / np.abs(w).max() for g, w in zip(got, want))
    assert et.rel_diff(got, want) == pytest.approx(oracle)
    assert et.rel_diff([np.zeros((2, 2))], [np.zeros((2, 3))]) == float("inf")


def test_vision_row_without_quantization(et, tmp_path):
    case = et.make_case("vision", "mobilenet0.25")
    row = et.export_row(case, str(tmp_path), quant=False)
    assert row["input"] == "3x32x32"
    for opset in et.OPSETS:
        assert row["parity"][opset] < 1e-4
        model = onnx.load(str(tmp_path / f"mobilenet0.25-{opset}.onnx"))
        assert model.opset_import[0].version == opset
        dim = model.graph.input[0].type.tensor_type.shape.dim[0]
        assert dim.dim_param == "batch"   # the dynamic batch axis
    assert row["nodes"] == len(model.graph.node)
    assert isinstance(row["nodes_sim"], int) and row["nodes_sim"] <= row["nodes"]
    assert row["fp32_mb"] == pytest.approx(
        os.path.getsize(tmp_path / "mobilenet0.25-17.onnx") / 1e6)


def test_text_row_with_quantization(et, tmp_path):
    case = et.make_case("text", "standard_lstm_lm_200")
    row = et.export_row(case, str(tmp_path), opsets=(17,))
    assert row["parity"][17] < 1e-4
    assert row["int8_mode"] == "dynamic"
    assert row["int8_mb"] < row["fp16_mb"] < row["fp32_mb"]
    assert 0.5 <= row["top1"] <= 1.0
    text = "\n".join(et.zoo_table([row, {"model": "x", "error": "ValueError: no"}]))
    assert "standard_lstm_lm_200" in text and "failed: ValueError: no" in text


def test_goal_verdicts_follow_the_thresholds(et):
    rng = np.random.default_rng(1)
    for _ in range(20):
        fp32, int8 = rng.uniform(1, 10), rng.uniform(0.5, 5)
        lat = {b: {"fp32": rng.uniform(1, 4), "int8": rng.uniform(1, 4)} for b in (1, 32)}
        top1 = rng.uniform(0.97, 1.0)
        row = {"model": "m", "input": "i", "fp32_mb": fp32, "int8_mb": int8, "lat": lat,
               "top1": top1, "n": 10}
        verdict = et.goal_table([row])[-1].rstrip(" |").rsplit("| ", 1)[-1]
        want = [fp32 / int8 >= 3.5, all(v["fp32"] / v["int8"] >= 1.5 for v in lat.values()),
                top1 >= 0.99]
        assert verdict == " / ".join("yes" if w else "no" for w in want)


def test_doc_lists_every_registry_model(et):
    path = os.path.join(ROOT, "docs", "export-table.md")
    with open(path) as f:
        rows = [line.split("|")[1].strip() for line in f if line.startswith("| ")]
    missing = [n for _, n in et.all_names() if n not in rows]
    assert not missing, f"regenerate docs/export-table.md: {missing} missing"
