"""kiln.export.quantize / quantize_block: static int8 (QDQ), dynamic int8, fp16, bad input,
atomic writes and ``kiln quantize`` on the command line."""
import io
import os

import kiln as kl
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from kiln import gluon, nd
from kiln.base import FileFormatError
from kiln.export import QuantReport, quantize, quantize_block
from kiln.gluon import nn, rnn
from kiln.tools import cli
from kiln.tools import demo as _demo


def _ops(path):
    return [n.op_type for n in onnx.load(path).graph.node]


def _run(path, x):
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """The demo CNN (Conv+BN+ReLU+pool twice, Dense) trained 2 epochs on 8x8 digits, its
    float32 export (dynamic batch) and the data."""
    kl.random.seed(0)
    np.random.seed(0)
    x_train, y_train, x_test, y_test = _demo.load_digits(0)
    net = _demo.build_net()
    net.initialize(kl.init.Xavier())
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(x_train, y_train), batch_size=64,
                                   shuffle=True)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.003})
    _demo.train(net, gluon.loss.SoftmaxCrossEntropyLoss(), trainer, loader, 2, io.StringIO())
    folder = tmp_path_factory.mktemp("digits")
    fp32 = str(folder / "digits.onnx")
    net.export_onnx(fp32, nd.array(x_test[:4]), dynamic_axes={"data": {0: "batch"}})
    return dict(net=net, fp32=fp32, folder=folder, x_train=x_train, y_train=y_train,
                x_test=x_test, y_test=y_test)


# ---- static int8 -----------------------------------------------------------------------------
def test_static_int8_cnn_from_block(digits, tmp_path):
    calib = gluon.data.DataLoader(   # (data, label) batches: the label is dropped
        gluon.data.ArrayDataset(digits["x_train"][:256], digits["y_train"][:256]), batch_size=32)
    out = str(tmp_path / "int8.onnx")
    seen = []
    report = quantize_block(digits["net"], out, calibration=calib,
                            eval_data=[digits["x_test"]], progress=lambda d, t: seen.append(d),
                            fp32_path=str(tmp_path / "fp32.onnx"), stream=io.StringIO())
    assert isinstance(report, QuantReport) and report.dst == out
    assert seen == list(range(1, 9))   # 8 calibration batches
    model = onnx.load(out)
    ops = [n.op_type for n in model.graph.node]
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    assert "BatchNormalization" not in ops and "BatchNormalization" not in _ops(report.src)
    # per-channel weights: each Conv's weight comes from a DequantizeLinear over axis 0 with
    # one scale per output channel
    inits = {t.name: t for t in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    assert len(convs) == 2
    for conv in convs:
        dq = producer[conv.input[1]]
        assert dq.op_type == "DequantizeLinear"
        weight, scale = inits[dq.input[0]], inits[dq.input[1]]
        assert weight.data_type == onnx.TensorProto.INT8
        assert list(scale.dims) == [weight.dims[0]] and weight.dims[0] in (16, 32)
        axis = [a.i for a in dq.attribute if a.name == "axis"]
        assert axis == [0]
    assert report.dst_bytes < report.src_bytes
    # onnxruntime fuses the QDQ pairs into its int8 kernels (what it would run, saved)
    opts = ort.SessionOptions()
    opts.optimized_model_filepath, opts.log_severity_level = str(tmp_path / "ort.onnx"), 3
    ort.InferenceSession(out, opts, providers=["CPUExecutionProvider"])
    fused = _ops(opts.optimized_model_filepath)
    assert fused.count("QLinearConv") == 2 and "QGemm" in fused and "Conv" not in fused
    ref, got = _run(report.src, digits["x_test"]), _run(out, digits["x_test"])
    agreement = float((ref.argmax(1) == got.argmax(1)).mean())
    assert agreement >= 0.9 and report.top1_agreement == pytest.approx(agreement)
    assert report.n_samples == len(digits["x_test"])


def _depthwise_net(tmp_path):
    """Conv -> depthwise Conv -> 1x1 Conv -> global pool -> Dense, exported (random weights)."""
    kl.random.seed(1)
    net = nn.HybridSequential()
    net.add(nn.Conv2D(8, 3, padding=1, activation="relu"),
            nn.Conv2D(8, 3, padding=1, groups=8, activation="relu"),
            nn.Conv2D(16, 1, activation="relu"), nn.GlobalAvgPool2D(), nn.Dense(10))
    net.initialize(kl.init.Xavier())
    x = np.random.RandomState(1).rand(32, 3, 12, 12).astype(np.float32)
    path = str(tmp_path / "dw.onnx")
    net.export_onnx(path, nd.array(x[:1]), dynamic_axes={"data": {0: "batch"}})
    return path, x


def _weight_ranges(path):
    """{conv or gemm op type + group: largest |int8 weight|} of a QDQ model."""
    from onnx import numpy_helper
    model = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}
    out = {}
    for n in model.graph.node:
        if n.op_type in ("Conv", "Gemm") and n.input[1] in producer:
            group = next((a.i for a in n.attribute if a.name == "group"), 1)
            q = inits[producer[n.input[1]].input[0]].astype(np.int32)
            out[n.name] = (group, int(np.abs(q).max()))
    return out


def test_static_int8_depthwise_full_range_and_float_outputs(tmp_path):
    src, x = _depthwise_net(tmp_path)
    out = str(tmp_path / "dw-int8.onnx")
    report = quantize(src, out, [x[:16], x[16:]], eval_data=[x], stream=io.StringIO())
    assert report.details["full_range_depthwise"] == 1 and report.details["float_outputs"]
    ranges = _weight_ranges(out)
    # the depthwise kernel accumulates exactly: its weights use all 8 bits; the GEMM-based
    # ones stay 7-bit (reduce_range) against vpmaddubsw's saturation
    assert sorted(r for g, r in ranges.values() if g > 1) == [127]
    assert all(r <= 64 for g, r in ranges.values() if g == 1) and len(ranges) == 4
    model = onnx.load(out)
    producer = {o: n for n in model.graph.node for o in n.output}
    out_name = model.graph.output[0].name
    assert producer[out_name].op_type == "Gemm"   # the logits are not rounded to 8 bits
    assert _run(out, x).shape == (32, 10) and report.top1_agreement >= 0.9
    # the quantizer's own form: a QuantizeLinear/DequantizeLinear pair on the output
    kept = str(tmp_path / "dw-q-out.onnx")
    quantize(src, kept, [x[:16]], quantize_outputs=True, reduce_range=False,
             stream=io.StringIO())
    model = onnx.load(kept)
    producer = {o: n for n in model.graph.node for o in n.output}
    assert producer[model.graph.output[0].name].op_type == "DequantizeLinear"
    assert all(r == 127 for _, r in _weight_ranges(kept).values())   # 8-bit everywhere


def test_static_int8_nodes_to_exclude(tmp_path):
    src, x = _depthwise_net(tmp_path)
    first = next(n.name for n in onnx.load(src).graph.node if n.op_type == "Conv")
    out = str(tmp_path / "ex.onnx")
    quantize(src, out, [x], nodes_to_exclude=[first], stream=io.StringIO())
    model = onnx.load(out)
    producer = {o: n for n in model.graph.node for o in n.output}
    conv = next(n for n in model.graph.node if n.name == first)
    assert conv.input[1] not in producer   # its float weight, no DequantizeLinear
    assert len(_weight_ranges(out)) == 3


@pytest.mark.parametrize("method", ["entropy", "percentile"])
def test_static_int8_histogram_methods_ragged_batches(digits, tmp_path, method):
    x = digits["x_train"]
    calib = [x[:32], x[32:64], x[64:80]]   # a ragged last batch, as a DataLoader yields
    report = quantize(digits["fp32"], tmp_path / "q.onnx", calib, method=method,
                      symmetric_activations=True, activation_type="uint8",
                      eval_data=[digits["x_test"]], stream=io.StringIO())
    assert report.top1_agreement >= 0.9
    assert report.details["calibration_batches"] == 2


# ---- dynamic int8 ----------------------------------------------------------------------------
def test_dynamic_int8_mlp(tmp_path):
    kl.random.seed(1)
    net = nn.HybridSequential()
    net.add(nn.Dense(128, activation="relu"), nn.Dense(128, activation="relu"), nn.Dense(10))
    net.initialize(kl.init.Xavier())
    x = np.random.RandomState(0).standard_normal((16, 64)).astype(np.float32)
    report = quantize_block(net, str(tmp_path / "mlp.onnx"), nd.array(x), mode="dynamic",
                            eval_data=[x], stream=io.StringIO())
    ops = _ops(report.dst)
    assert "MatMulInteger" in ops and "Gemm" not in ops
    assert report.size_ratio < 0.4
    ref = np.abs(_run(report.dst, x)).max()
    assert report.max_abs_diff < 0.1 * ref


class _Tagger(nn.HybridBlock):
    def __init__(self):
        super().__init__()
        self.lstm = rnn.LSTM(32, layout="NTC")
        self.out = nn.Dense(5, flatten=False)

    def forward(self, x):
        return self.out(self.lstm(x))


@pytest.fixture(scope="module")
def tagger(tmp_path_factory):
    kl.random.seed(2)
    net = _Tagger()
    net.initialize()
    x = np.random.RandomState(0).rand(4, 12, 16).astype(np.float32)
    path = str(tmp_path_factory.mktemp("lstm") / "tagger.onnx")
    net.export_onnx(path, nd.array(x))
    assert "LSTM" in _ops(path)
    return path, x


def test_dynamic_int8_lstm(tagger, tmp_path):
    path, x = tagger
    report = quantize(path, tmp_path / "q.onnx", mode="dynamic", eval_data=[x],
                      stream=io.StringIO())
    assert "DynamicQuantizeLSTM" in _ops(report.dst)
    assert report.dst_bytes < report.src_bytes
    assert report.top1_agreement is None   # (N, T, C): not a classifier output
    assert report.max_abs_diff < 0.1 * np.abs(_run(path, x)).max()


# ---- fp16 ------------------------------------------------------------------------------------
def _float_types(path):
    model = onnx.load(path)
    io_types = {v.type.tensor_type.elem_type for v in [*model.graph.input, *model.graph.output]}
    init_types = {t.data_type for t in model.graph.initializer
                  if t.data_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)}
    return io_types, init_types


def test_fp16_keeps_float32_io(digits, tmp_path):
    x = digits["x_test"]
    report = quantize(digits["fp32"], tmp_path / "h.onnx", mode="fp16", eval_data=[x],
                      stream=io.StringIO())
    io_types, init_types = _float_types(report.dst)
    assert io_types == {onnx.TensorProto.FLOAT}
    assert init_types == {onnx.TensorProto.FLOAT16}
    ref, got = _run(digits["fp32"], x), _run(report.dst, x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref, atol=1e-2 * np.abs(ref).max())
    assert report.size_ratio < 0.6


def test_fp16_lstm_loads_and_halves(tagger, tmp_path):
    # A float16 Transpose feeding MatMul crashes onnxruntime 1.32's session creation
    # (segfault): the converter keeps Transpose float32. Checker-clean (nodes sorted).
    path, x = tagger
    report = quantize(path, tmp_path / "h.onnx", mode="fp16", keep_io_types=False,
                      eval_data=[x], stream=io.StringIO())
    io_types, init_types = _float_types(report.dst)
    assert io_types == {onnx.TensorProto.FLOAT16} and init_types == {onnx.TensorProto.FLOAT16}
    assert report.size_ratio < 0.6
    assert report.max_abs_diff < 1e-2
    onnx.checker.check_model(onnx.load(report.dst), full_check=True)


def test_bf16_is_refused_clearly(digits, tmp_path):
    with pytest.raises(ValueError, match="bfloat16 kernels"):
        quantize(digits["fp32"], tmp_path / "b.onnx", mode="bf16")
    assert not os.path.exists(tmp_path / "b.onnx")


# ---- bad input, atomic writes ----------------------------------------------------------------
def test_bad_input_errors(digits, tmp_path):
    x = digits["x_test"][:8]
    with pytest.raises(FileNotFoundError):
        quantize(tmp_path / "missing.onnx", tmp_path / "o.onnx", [x])
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07garbage" * 10)
    with pytest.raises(FileFormatError, match="corrupt.onnx"):
        quantize(corrupt, tmp_path / "o.onnx", [x])
    with pytest.raises(ValueError, match="no batches"):
        quantize(digits["fp32"], tmp_path / "o.onnx", [])
    with pytest.raises(ValueError, match="is required"):
        quantize(digits["fp32"], tmp_path / "o.onnx", None, mode="static")
    with pytest.raises(ValueError, match="unknown mode 'int4'"):
        quantize(digits["fp32"], tmp_path / "o.onnx", [x], mode="int4")
    with pytest.raises(ValueError, match="unknown calibration method"):
        quantize(digits["fp32"], tmp_path / "o.onnx", [x], method="kl")
    with pytest.raises(ValueError, match="rank 4"):
        quantize(digits["fp32"], tmp_path / "o.onnx", [x[0]])
    with pytest.raises(ValueError, match=r"expects \?x1x8x8"):
        quantize(digits["fp32"], tmp_path / "o.onnx", [x[:, :, :4]])
    assert sorted(os.listdir(tmp_path)) == ["corrupt.onnx"]   # nothing written, no temp left


def test_existing_output_untouched_on_failure(digits, tmp_path):
    out = tmp_path / "q.onnx"
    out.write_bytes(b"previous")
    with pytest.raises(ValueError):
        quantize(digits["fp32"], out, [np.zeros((2, 8, 8), np.float32)])
    assert out.read_bytes() == b"previous" and os.listdir(tmp_path) == ["q.onnx"]


# ---- the command line ------------------------------------------------------------------------
def test_cli_quantize_calib_dir(digits, tmp_path, capsys):
    calib = tmp_path / "calib"
    calib.mkdir()
    for i in range(4):
        np.save(calib / f"{i:03d}.npy", digits["x_train"][i * 32:(i + 1) * 32])
    out = str(tmp_path / "cli-int8.onnx")
    assert cli.main(["quantize", digits["fp32"], "-o", out, "--calib", str(calib)]) == 0
    captured = capsys.readouterr()
    assert "top-1 agreement" in captured.out and f"wrote {out}" in captured.out
    assert "4/4 batches" in captured.err   # the progress bar
    assert "QuantizeLinear" in _ops(out)
    assert cli.main(["quantize", digits["fp32"], "--mode", "static"]) == 1   # no --calib
    assert "--calib" in capsys.readouterr().err
    assert cli.main(["quantize", "--demo", "--mode", "bf16"]) == 1   # refused before training
    assert "bfloat16 kernels" in capsys.readouterr().err


def test_cli_quantize_dynamic_default_out(digits, capsys):
    assert cli.main(["quantize", digits["fp32"], "--mode", "dynamic"]) == 0
    assert os.path.exists(os.path.join(digits["folder"], "digits-int8.onnx"))
    assert "mode" in capsys.readouterr().out


def test_cli_quantize_demo(tmp_path, capsys):
    out = str(tmp_path / "demo-int8.onnx")
    assert cli.main(["quantize", "--demo", "--epochs", "1", "-o", out]) == 0
    text = capsys.readouterr().out
    assert "top-1 agreement" in text and os.path.exists(out)
    assert os.path.exists(tmp_path / "digits-fp32.onnx")


def test_fp16_then_int8_in_one_process(tmp_path):
    """onnxruntime's tools import their own modules as top-level names: an fp16 conversion
    followed by int8 quantization in a fresh process works, and sys.path is left as it was."""
    import subprocess
    import sys
    import textwrap
    script = textwrap.dedent(f"""
        import os, sys
        import numpy as np
        import kiln
        from kiln.gluon import nn
        net = nn.HybridSequential()
        net.add(nn.Conv2D(4, 3), nn.Flatten(), nn.Dense(3))
        net.initialize()
        net.hybridize()
        x = kiln.nd.array(np.random.rand(2, 1, 8, 8).astype("f4"))
        net(x)
        d = {str(tmp_path)!r}
        net.export_onnx(os.path.join(d, "m.onnx"), x, dynamic_axes={{"data": {{0: "b"}}}})
        cal = [np.random.rand(2, 1, 8, 8).astype("f4") for _ in range(2)]
        before = list(sys.path)
        for mode in ("fp16", "static", "dynamic"):
            kiln.export.quantize(os.path.join(d, "m.onnx"), os.path.join(d, mode + ".onnx"),
                                 calibration=cal, mode=mode, verbose=False)
        assert sys.path == before
        print("done")
    """)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300, env=dict(os.environ, PYTHONPATH=root))
    assert out.returncode == 0 and "done" in out.stdout, out.stderr[-2000:]
