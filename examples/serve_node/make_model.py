"""Export kiln models to ONNX for the Node.js / browser serving examples, write their inputs and
kiln's reference outputs, and check what the JavaScript side computed.

    python make_model.py OUT            # models, inputs and references into OUT/, cases.json
    node serve.js --cases OUT/cases.json    # (examples/serve_node or serve_web) OUT/*.out.json
    python make_model.py OUT --check    # compare OUT/*.out.json with the references

Models (each exported with a dynamic batch axis, checked against onnxruntime by the exporter):

* ``cnn.onnx``: Conv2D + MaxPool + two Dense layers on ``data`` (N, 1, 8, 8) float32, run at
  batch 2 and batch 5 from the same file;
* ``cnn-int8.onnx``: the same model with dynamic int8 quantization
  (``kiln.export.quantize(..., mode='dynamic')``); its reference is the int8 model run in
  Python's onnxruntime, and it is checked loosely against kiln's float output too;
* ``text.onnx``: Embedding + LSTM + Dense, a language-model step: ``data`` (N, T) int64 token
  ids, ``h``/``c`` (1, N, 32) float32 states in, logits (N, T, 50) and the new states out;
  batch and sequence length are both dynamic.

Inputs are raw little-endian files (what numpy's ``tofile`` writes) named in ``cases.json``;
references are ``.npy`` files. Nothing here needs the JavaScript side; ``--check`` only reads
the JSON files that ``serve.js --cases`` writes.
"""
import argparse
import json
import os
import sys

import numpy as np

VOCAB, EMBED, HIDDEN = 50, 16, 32


def _cnn():
    from kiln.gluon import nn
    net = nn.HybridSequential()
    net.add(nn.Conv2D(4, 3, padding=1, activation="relu"), nn.MaxPool2D(2), nn.Flatten(),
            nn.Dense(32, activation="relu"), nn.Dense(10))
    net.initialize()
    net.hybridize()
    return net


def _text():
    from kiln.gluon import nn, rnn

    class TextStep(nn.HybridBlock):
        """(N, T) token ids and the LSTM state -> (N, T, VOCAB) logits and the new state."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.embed = nn.Embedding(VOCAB, EMBED)
            self.lstm = rnn.LSTM(HIDDEN, layout="NTC")
            self.out = nn.Dense(VOCAB, flatten=False)

        def hybrid_forward(self, F, x, h, c):
            y, (h, c) = self.lstm(self.embed(x), [h, c])
            return self.out(y), h, c

    net = TextStep()
    net.initialize()
    net.hybridize()
    return net


def _quantize_dynamic(src, dst):
    """Dynamic int8 quantization: kiln's own call where this kiln has it, else onnxruntime's."""
    try:
        from kiln.export import quantize
    except ImportError:
        quantize = None
    if quantize is not None and not callable(quantize):   # the module, not the call
        quantize = getattr(quantize, "quantize", None)
    if quantize is not None:
        quantize(src, dst, mode="dynamic", verbose=False)
        return "kiln.export.quantize"
    from onnxruntime.quantization import QuantType, quantize_dynamic
    quantize_dynamic(src, dst, weight_type=QuantType.QInt8)
    return "onnxruntime.quantization.quantize_dynamic"


def _write_case(out, name, model, inputs, refs, checks):
    """Write ``inputs`` (name -> array) as raw files and ``refs`` (kind -> [arrays]) as .npy."""
    spec = {}
    for key, x in inputs.items():
        fname = f"{name}.{key}.bin"
        x = np.ascontiguousarray(x)
        x.astype(x.dtype.newbyteorder("<")).tofile(os.path.join(out, fname))
        spec[key] = {"dtype": str(x.dtype), "shape": list(x.shape), "file": fname}
    files = {}
    for kind, arrays in refs.items():
        files[kind] = []
        for k, a in enumerate(arrays):
            fname = f"{name}.{kind}.{k}.npy"
            np.save(os.path.join(out, fname), a)
            files[kind].append(fname)
    return {"name": name, "model": model, "inputs": spec, "references": files, "checks": checks}


def make(out, seed=0):
    """Export the models into ``out`` and write ``out/cases.json``; returns the manifest."""
    import onnxruntime as ort
    from kiln import nd
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(seed)
    cases = []

    cnn = _cnn()
    x2 = rng.standard_normal((2, 1, 8, 8)).astype(np.float32)
    cnn.export_onnx(os.path.join(out, "cnn.onnx"), nd.array(x2),
                    dynamic_axes={"data": {0: "batch"}})
    tight = [{"reference": "kiln", "atol": 1e-5, "rtol": 0}]
    for batch in (2, 5):
        x = x2 if batch == 2 else rng.standard_normal((batch, 1, 8, 8)).astype(np.float32)
        cases.append(_write_case(out, f"cnn_b{batch}", "cnn.onnx", {"data": x},
                                 {"kiln": [cnn(nd.array(x)).asnumpy()]}, tight))

    how = _quantize_dynamic(os.path.join(out, "cnn.onnx"), os.path.join(out, "cnn-int8.onnx"))
    sess = ort.InferenceSession(os.path.join(out, "cnn-int8.onnx"),
                                providers=["CPUExecutionProvider"])
    for batch in (2, 5):
        x = rng.standard_normal((batch, 1, 8, 8)).astype(np.float32)
        float_out = cnn(nd.array(x)).asnumpy()
        int8_out = sess.run(None, {"data": x})
        # int8: the same quantized graph in Python's onnxruntime (tight), kiln's float32
        # model (loose: 8-bit weights and activations, relative to the output's range)
        scale = float(np.abs(float_out).max())
        checks = [{"reference": "onnxruntime", "atol": 1e-4, "rtol": 1e-4},
                  {"reference": "kiln", "atol": 0.1 * scale, "rtol": 0}]
        cases.append(_write_case(out, f"cnn_int8_b{batch}", "cnn-int8.onnx", {"data": x},
                                 {"onnxruntime": int8_out, "kiln": [float_out]}, checks))

    text = _text()
    tok = rng.integers(0, VOCAB, (2, 7)).astype(np.int64)
    h, c = (nd.zeros((1, 2, HIDDEN)) for _ in range(2))
    text.export_onnx(os.path.join(out, "text.onnx"), nd.array(tok, dtype="int64"), h, c,
                     input_names=["data", "h", "c"],
                     dynamic_axes={"data": {0: "batch", 1: "seq"}, "h": {1: "batch"},
                                   "c": {1: "batch"}})
    for batch, seq in ((2, 7), (3, 12)):
        tok = rng.integers(0, VOCAB, (batch, seq)).astype(np.int64)
        h = (0.5 * rng.standard_normal((1, batch, HIDDEN))).astype(np.float32)
        c = (0.5 * rng.standard_normal((1, batch, HIDDEN))).astype(np.float32)
        want = [o.asnumpy() for o in text(nd.array(tok, dtype="int64"), nd.array(h),
                                          nd.array(c))]
        cases.append(_write_case(out, f"text_b{batch}_t{seq}", "text.onnx",
                                 {"data": tok, "h": h, "c": c}, {"kiln": want},
                                 [{"reference": "kiln", "atol": 1e-5, "rtol": 1e-5}]))

    # the LSTM and the output layer in int8 too (onnxruntime's DynamicQuantizeLSTM)
    _quantize_dynamic(os.path.join(out, "text.onnx"), os.path.join(out, "text-int8.onnx"))
    sess = ort.InferenceSession(os.path.join(out, "text-int8.onnx"),
                                providers=["CPUExecutionProvider"])
    tok = rng.integers(0, VOCAB, (4, 9)).astype(np.int64)
    h, c = (np.zeros((1, 4, HIDDEN), np.float32) for _ in range(2))
    float_out = [o.asnumpy() for o in text(nd.array(tok, dtype="int64"), nd.array(h),
                                           nd.array(c))]
    int8_out = sess.run(None, {"data": tok, "h": h, "c": c})
    scale = float(np.abs(float_out[0]).max())
    cases.append(_write_case(out, "text_int8_b4_t9", "text-int8.onnx",
                             {"data": tok, "h": h, "c": c},
                             {"onnxruntime": int8_out, "kiln": float_out},
                             [{"reference": "onnxruntime", "atol": 1e-4, "rtol": 1e-4},
                              {"reference": "kiln", "atol": 0.1 * scale, "rtol": 0}]))

    manifest = {"quantized_with": how, "cases": cases}
    with open(os.path.join(out, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)
    return manifest


def _from_json(t):
    """An output tensor as serve.js writes it: {"dtype", "dims", "data"}."""
    dtype = {"float32": np.float32, "float64": np.float64, "int64": np.int64,
             "int32": np.int32, "int8": np.int8, "uint8": np.uint8, "bool": np.bool_}[t["dtype"]]
    conv = int if np.issubdtype(dtype, np.integer) else float
    return np.array([conv(v) if isinstance(v, str) else v for v in t["data"]],
                    dtype=dtype).reshape(t["dims"])


def check(out, suffix=".out.json"):
    """Compare every case's ``OUT/NAME.out.json`` with its references; returns a list of
    ``(case, reference, max_abs_error, tolerance, ok)`` rows and raises nothing."""
    with open(os.path.join(out, "cases.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    rows = []
    for case in manifest["cases"]:
        path = os.path.join(out, case["name"] + suffix)
        if not os.path.exists(path):
            rows.append((case["name"], "-", float("inf"), 0.0, False))
            continue
        with open(path, encoding="utf-8") as f:
            got = [_from_json(t) for t in json.load(f)["outputs"]]
        for chk in case["checks"]:
            refs = [np.load(os.path.join(out, p)) for p in case["references"][chk["reference"]]]
            ok = len(got) >= len(refs)
            err = 0.0
            for g, w in zip(got, refs):
                ok = ok and g.shape == w.shape
                if g.shape == w.shape:
                    diff = np.abs(g.astype(np.float64) - w)
                    err = max(err, float(diff.max()))
                    ok = ok and bool(np.all(diff <= chk["atol"] + chk["rtol"] * np.abs(w)))
            rows.append((case["name"], chk["reference"], err, chk["atol"], ok))
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out", help="directory for the models, inputs and references")
    p.add_argument("--check", action="store_true",
                   help="compare OUT/*.out.json (written by serve.js --cases) with the references")
    p.add_argument("--suffix", default=".out.json", help="output file suffix to check")
    args = p.parse_args(argv)
    if not args.check:
        manifest = make(args.out)
        print(f"{len(manifest['cases'])} cases in {os.path.join(args.out, 'cases.json')} "
              f"(int8 via {manifest['quantized_with']})")
        return 0
    rows = check(args.out, args.suffix)
    for name, ref, err, tol, ok in rows:
        print(f"{'ok  ' if ok else 'FAIL'} {name:<16} vs {ref:<12} max|diff| {err:.3g} "
              f"(atol {tol:.3g})")
    return 0 if rows and all(r[-1] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
