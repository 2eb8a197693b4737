"""Post-training quantization of ONNX models, one call each: static int8, dynamic int8, fp16.

``quantize(src, dst, calibration, mode=...)`` converts an ONNX file (kiln's export or any
other) with onnxruntime's own ``onnxruntime.quantization`` tools, checks that the result loads
and runs in onnxruntime, compares it with the float model and returns the comparison
(``QuantReport``); ``quantize_block(net, path, *example_inputs, ...)`` exports a kiln block
first. Modes:

* ``'static'``: int8 in QDQ form (QuantizeLinear/DequantizeLinear around each quantized op,
  which onnxruntime fuses into its int8 kernels), per-channel weight scales, per-tensor
  activation scales calibrated on ``calibration`` (minmax, entropy or percentile). For CNNs.
* ``'dynamic'``: int8 weights, activation scales computed at run time (MatMul, Gemm, LSTM):
  no calibration needed. For Dense/LSTM-heavy models.
* ``'fp16'``: float16 weights and compute, float32 graph inputs/outputs by default; see
  ``quantize_fp16`` for what stays float32 and why. ``'bf16'`` raises (no CPU kernels).

BatchNorm is folded into the convolutions by kiln's export already, so the quantized graph
has none to quantize.

Why uint8 activations and ``reduce_range=True`` by default: on x86 CPUs without VNNI (AVX2,
AVX-512 without VNNI) onnxruntime's fast int8 kernels multiply uint8 activations by int8
weights with an instruction (``vpmaddubsw``) that sums pairs of products into int16 and
saturates: with full 8-bit weights kiln's digits CNN lost 0.28 mean |logit| (vs 0.02 exact)
and the MLP 12%. 7-bit weights cannot overflow. int8 x int8 (S8S8) and uint8 x uint8 are exact
but slower than float32 on such a CPU (ResNet-18: 192 and 120 ms vs 156 ms float, against
34 ms for uint8 x 7-bit int8). On VNNI or ARM targets pass ``reduce_range=False``.

Example::

    >>> import kiln
    >>> report = kiln.export.quantize("net.onnx", "net-int8.onnx", calibration=loader,
    ...                               mode="static", eval_data=test_loader)
    >>> report.top1_agreement, report.size_ratio      # e.g. (0.995, 0.27)
"""
import contextlib
import io
import os
import sys
import tempfile

import numpy as np

from .quantize_calib import collect, input_specs, load_model, ort_tools_path
from .quantize_report import QuantReport, evaluate

MODES = ("static", "dynamic", "fp16", "bf16")
METHODS = ("minmax", "entropy", "percentile")
DYNAMIC_OPS = ("MatMul", "Gemm", "LSTM")


def quantize(src, dst, calibration=None, mode="static", *, eval_data=None, method="minmax",
             per_channel=True, symmetric_activations=False, symmetric_weights=True,
             activation_type="uint8", weight_type="int8", reduce_range=True, percentile=99.999,
             op_types=None, nodes_to_exclude=(), quantize_outputs=False, keep_io_types=True,
             keep_float32=(), progress=None, verbose=True, stream=None):
    """Quantize the ONNX file ``src`` into ``dst``; returns a ``QuantReport`` (also printed).

    ``calibration``: the batches that calibrate activation ranges (``mode='static'``): an
    iterable of input arrays (numpy or kiln NDArray), of ``(data, label)`` tuples (a kiln
    ``DataLoader``), of tuples of arrays (one per model input) or of ``{input: array}`` dicts.
    ``eval_data``: held-out batches (same forms) for the report; default the calibration
    batches, or random inputs when there are none. ``method``: 'minmax', 'entropy' or
    'percentile' (``percentile``). ``activation_type``/``weight_type``: 'int8' or 'uint8';
    ``reduce_range``: 7-bit weights (the module docstring says why; depthwise convolutions
    keep 8 bits, see ``quantize_graph``). ``op_types``: op types to quantize (default all
    that onnxruntime can; dynamic: MatMul, Gemm, LSTM). ``nodes_to_exclude``: node names
    (of ``src``) left in float. ``quantize_outputs`` (static): keep the quantizer's
    QuantizeLinear/DequantizeLinear pair on the graph outputs; by default they are removed,
    so the outputs (logits) are not rounded to 8 bits.
    ``keep_io_types``/``keep_float32`` (fp16): float32 graph inputs/outputs; op types to keep
    float32. ``progress(done, total)`` is called as onnxruntime calibrates on each batch.
    ``dst`` is written atomically, and only once the result runs in onnxruntime.

    Missing ``src``: ``FileNotFoundError``; an unreadable one: ``FileFormatError`` naming it;
    an unknown mode or method, no or empty calibration for 'static', 'bf16': ``ValueError``.

    Example::

        >>> quantize("mlp.onnx", "mlp-int8.onnx", mode="dynamic").size_ratio
        0.26
    """
    if mode not in MODES:
        raise ValueError(f"quantize: unknown mode {mode!r}; expected one of {MODES}")
    if mode == "bf16":
        from .quantize_fp16 import BF16_UNSUPPORTED
        raise ValueError(BF16_UNSUPPORTED)
    if method not in METHODS:
        raise ValueError(f"quantize: unknown calibration method {method!r}; expected {METHODS}")
    src, dst = os.fspath(src), os.fspath(dst)
    model = load_model(src)
    specs = input_specs(model)
    feeds = collect(calibration, specs) if mode == "static" else None
    if eval_data is not None:
        eval_feeds = collect(eval_data, specs, what="evaluation")
    elif feeds is None and calibration is not None:
        eval_feeds = collect(calibration, specs)
    else:
        eval_feeds = feeds or [_random_feed(specs)]
    details = {}
    folder = os.path.dirname(os.path.abspath(dst))
    with tempfile.TemporaryDirectory(prefix=".kiln-quantize-", dir=folder) as tmp:
        out = os.path.join(tmp, os.path.basename(dst))
        if mode == "fp16":
            from .quantize_fp16 import to_float16
            with open(out, "wb") as f:
                f.write(to_float16(model, keep_io_types, keep_float32).SerializeToString())
            details["keep_io_types"] = keep_io_types
        else:
            pre = os.path.join(tmp, "preprocessed.onnx")
            _preprocess(src, pre)
            if mode == "static":
                types = (_quant_type(activation_type), _quant_type(weight_type), reduce_range)
                details.update(_static(pre, out, feeds, method, per_channel,
                                       symmetric_activations, symmetric_weights, types,
                                       percentile, op_types, progress, nodes_to_exclude,
                                       quantize_outputs))
            else:
                details.update(_dynamic(pre, out, op_types, _quant_type(weight_type),
                                        reduce_range))
        if eval_data is None and calibration is None:
            details["inputs"] = "random"
        report = evaluate(src, out, eval_feeds, mode, details=details)
        os.replace(out, dst)   # same folder: atomic
    report.dst = dst
    if verbose:
        print(report, file=stream or sys.stdout)
    return report


def _preprocess(src, dst):
    # onnxruntime's recommended first step: its basic graph optimizations plus ONNX shape
    # inference, so the quantizer sees each tensor's shape (it needs them to pick per-channel
    # axes and to decide which MatMuls it can quantize) and stops logging "Please consider to
    # run pre-processing". Symbolic shape inference is skipped: kiln's exports have concrete
    # shapes except a named batch axis, which ONNX shape inference carries, and it costs ~4 s.
    with ort_tools_path():
        from onnxruntime.quantization import quant_pre_process
        quant_pre_process(src, dst, skip_symbolic_shape=True)


def _quant_type(name):
    with ort_tools_path():
        from onnxruntime.quantization import QuantType
    types = {"int8": QuantType.QInt8, "uint8": QuantType.QUInt8}
    if name not in types:
        raise ValueError(f"quantize: activation_type and weight_type must be 'int8' or "
                         f"'uint8', got {name!r}")
    return types[name]


def _static(src, dst, feeds, method, per_channel, sym_act, sym_weight, types, pct, op_types,
            progress, exclude=(), quantize_outputs=False):
    import onnx
    with ort_tools_path():
        from onnxruntime.quantization import CalibrationMethod, QuantFormat, quantize_static

    from .quantize_calib import feed_reader, uniform_batches
    from .quantize_graph import depthwise_weights, float_outputs
    calib = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
             "percentile": CalibrationMethod.Percentile}[method]
    extra = {"ActivationSymmetric": bool(sym_act), "WeightSymmetric": bool(sym_weight)}
    full = depthwise_weights(onnx.load(src)) if types[2] else []
    if full:   # depthwise kernels accumulate exactly: their weights keep all 8 bits
        extra["TensorQuantOverrides"] = {w: [{"reduce_range": False}] for w in full}
    if method == "percentile":
        extra["CalibPercentile"] = float(pct)
    if method != "minmax":
        feeds = uniform_batches(feeds)
    # The histogram calibrators print() a progress line of their own: kept off stdout.
    with contextlib.redirect_stdout(io.StringIO()), ort_tools_path():
        quantize_static(src, dst, feed_reader(feeds, progress), quant_format=QuantFormat.QDQ,
                        op_types_to_quantize=list(op_types) if op_types else None,
                        per_channel=per_channel, activation_type=types[0],
                        weight_type=types[1], reduce_range=types[2], calibrate_method=calib,
                        nodes_to_exclude=list(exclude) or None, extra_options=extra)
    if not quantize_outputs:
        onnx.save(float_outputs(onnx.load(dst)), dst)
    return {"method": method, "per_channel": per_channel,
            "types": f"{types[0].name[1:].lower()}/{types[1].name[1:].lower()}",
            "reduce_range": types[2], "calibration_batches": len(feeds),
            "float_outputs": not quantize_outputs, "full_range_depthwise": len(full)}


def _dynamic(src, dst, op_types, weight_type, reduce_range):
    with ort_tools_path():
        from onnxruntime.quantization import quantize_dynamic
    ops = list(op_types or DYNAMIC_OPS)
    with ort_tools_path():
        quantize_dynamic(src, dst, op_types_to_quantize=ops, weight_type=weight_type,
                         reduce_range=reduce_range)
    return {"ops": "/".join(ops), "weights": weight_type.name[1:].lower(),
            "reduce_range": reduce_range}


def _random_feed(specs):
    """One random batch (symbolic dims 1) when the user gave no data at all."""
    rng = np.random.RandomState(0)
    feed = {}
    for name, dtype, dims in specs:
        shape = [d or 1 for d in dims]
        feed[name] = rng.standard_normal(shape).astype(dtype) \
            if np.issubdtype(dtype, np.floating) else np.zeros(shape, dtype)
    return feed


def quantize_block(net, path, *example_inputs, calibration=None, mode="static", opset=None,
                   dynamic_batch=True, input_names=None, fp32_path=None, **kwargs):
    """Export the kiln block ``net`` to ONNX (``net.export_onnx``) and quantize it into
    ``path``; returns the ``QuantReport``. ``example_inputs`` trace the block (default: the
    first calibration batch's data); ``dynamic_batch`` makes axis 0 of every input symbolic;
    ``fp32_path`` keeps the float export there (default: a temporary file). ``kwargs`` go to
    ``quantize``.

    Example::

        >>> report = quantize_block(net, "net-int8.onnx", calibration=train_loader,
        ...                         eval_data=test_loader)
    """
    if calibration is not None and iter(calibration) is calibration:
        calibration = list(calibration)   # a generator: keep the batches for quantize
    if not example_inputs:
        if calibration is None:
            raise ValueError("quantize_block: give example inputs or calibration batches")
        first = next(iter(calibration), None)
        if first is None:
            raise ValueError("quantize_block: calibration data yielded no batches")
        example_inputs = (_example(first),)
    names = list(input_names) if input_names else \
        (["data"] if len(example_inputs) == 1 else [f"data{i}" for i in range(len(example_inputs))])
    axes = {n: {0: "batch"} for n in names} if dynamic_batch else None
    with tempfile.TemporaryDirectory(prefix="kiln-quantize-") as tmp:
        stem = os.path.basename(os.fspath(path))
        stem = stem[:-5] if stem.endswith(".onnx") else stem
        src = fp32_path or os.path.join(tmp, f"{stem}-fp32.onnx")
        net.export_onnx(src, *example_inputs, opset=opset, dynamic_axes=axes, input_names=names)
        report = quantize(src, path, calibration, mode=mode, **kwargs)
    if fp32_path is None:
        report.src = f"{type(net).__name__} (float32 export)"
    return report


def _example(batch):
    from .. import ndarray
    x = batch[0] if isinstance(batch, (tuple, list)) else batch
    return x if isinstance(x, ndarray.NDArray) else ndarray.array(np.asarray(x))


__all__ = ["quantize", "quantize_block", "QuantReport", "MODES", "METHODS"]
