"""Check an exported ONNX model against kiln: onnxruntime outputs vs eager evaluation.

On a mismatch the intermediate tensors of every lowered kiln node are added as extra graph
outputs, so the error can name the first node whose ONNX value differs.

Example::

    >>> compare(model, sym, params, feed, out_names, lowered)   # raises ExportError on mismatch
"""
import numpy as np
from onnx import helper

from ..ndarray import _registry
from ..ndarray.ndarray import NDArray
from ..symbol.evaluate import evaluate
from ..symbol.graph import topo_order
from .onnx_builder import Builder, ExportError


def random_inputs(shapes, dtypes, seed=0, ranges=None):
    """Random arrays for each input: normal floats, small non-negative ints, booleans; an input
    named in ``ranges`` (``{name: (low, high)}``) draws integers in [low, high) instead."""
    rng = np.random.default_rng(seed)
    out, ranges = {}, ranges or {}
    for name, shape in shapes.items():
        dt = np.dtype(dtypes[name])
        if name in ranges:
            out[name] = rng.integers(*ranges[name], size=shape).astype(dt)
        elif dt.kind == "f":
            out[name] = rng.standard_normal(shape).astype(dt)
        elif dt.kind == "b":
            out[name] = rng.random(shape) < 0.5
        else:
            out[name] = rng.integers(0, 2, size=shape).astype(dt)
    return out


def session(model):
    """An onnxruntime CPU session for a ModelProto or a file path."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    src = model if isinstance(model, str) else model.SerializeToString()
    return ort.InferenceSession(src, opts, providers=["CPUExecutionProvider"])


def _close(a, b, rtol=1e-3, atol=1e-4):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False, float("inf")
    if a.dtype.kind in "biu" or b.dtype.kind in "biu":
        diff = float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max(initial=0))
        return diff == 0, diff
    if np.float16 in (a.dtype, b.dtype):   # half precision: ~3 significant digits
        rtol, atol = max(rtol, 1e-2), max(atol, 1e-2)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    both_nan = np.isnan(a64) & np.isnan(b64)
    diff = np.where(both_nan | (a64 == b64), 0.0, np.abs(a64 - b64))
    diff = np.where(np.isnan(diff), np.inf, diff)
    scale = max(1.0, float(np.nan_to_num(np.abs(b64)).max(initial=0)))
    ok = bool(np.all(diff <= atol * scale + rtol * np.nan_to_num(np.abs(b64))))
    return ok, float(diff.max(initial=0))


def kiln_outputs(sym, params, feed):
    """Eager outputs of ``sym`` (inference mode) as numpy arrays."""
    full = {k: NDArray(np.asarray(v)) for k, v in params.items()}
    full.update({k: NDArray(np.asarray(v)) for k, v in feed.items()})
    return [o.asnumpy() for o in evaluate(sym._entries, full)]


def compare(model, sym, params, feed, onnx_feed, out_names, lowered=None, where=""):
    """Run ``model`` in onnxruntime on ``onnx_feed`` and compare with kiln on ``feed``."""
    ref = kiln_outputs(sym, params, feed)
    try:
        got = session(model).run(out_names, onnx_feed)
    except Exception as e:
        raise ExportError(f"onnxruntime could not run the exported model{where}: {e}") from e
    for name, r, o in zip(out_names, ref, got):
        ok, diff = _close(o, r)
        if not ok:
            hint = ""
            if lowered is not None and not isinstance(model, str):
                node = first_diverging(model, lowered, feed, onnx_feed)
                if node is not None:
                    hint = (f"; first diverging node: {node.name!r} ({node.op.name}) at "
                            f"{node.where()}")
            shapes = "" if np.shape(o) == np.shape(r) else \
                f" (shape {np.shape(o)} vs kiln's {np.shape(r)})"
            raise ExportError(f"ONNX output {name!r}{where} differs from kiln: max |diff| = "
                              f"{diff:.3g}{shapes}{hint}")


def first_diverging(model, lowered, feed, onnx_feed):
    """The first lowered kiln node whose ONNX tensor differs from its eager value (or None)."""
    targets, tensors = lowered
    produced = {o for n in model.graph.node for o in n.output}
    existing = {o.name for o in model.graph.output}
    nodes = [n for n in topo_order(targets) if n.kind == "op"]
    entries, names = [], []
    for n in nodes:
        for k in range(n.num_outputs):
            t = tensors.get((n.id, k))
            if t in produced:
                entries.append((n, k))
                names.append(t)
    if not entries:
        return None
    probe = type(model)()
    probe.CopyFrom(model)
    for (n, k), t in zip(entries, names):
        if t not in existing:
            dt = Builder.onnx_dtype(n.avals[k].dtype)
            probe.graph.output.append(helper.make_tensor_value_info(t, dt, None))
    try:
        data = {k: NDArray(np.asarray(v)) for k, v in feed.items()}
        ref = [v.asnumpy() for v in evaluate(entries, data)]
        got = session(probe).run(names, onnx_feed)
    except Exception:
        return None
    for (n, _), r, o in zip(entries, ref, got):
        if not _close(o, r)[0]:
            return n
    return None


def input_ranges(sym, avals):
    """``{variable name: (low, high)}`` for graph variables that feed an op input whose values
    the op constrains (its ``value_ranges`` facet: sequence lengths within the time axis);
    ``avals`` are the graph's inferred avals (``symbol.api.infer_avals``)."""
    ranges = {}
    for node in topo_order(sym._entries):
        if node.kind != "op" or node.op.value_ranges is None:
            continue
        ins = [avals.get((e[0].id, e[1])) if e is not None else None for e in node.inputs]
        for k, (lo, hi) in _registry.value_ranges(node.op, ins, node.attrs).items():
            src = node.inputs[k] if k < len(node.inputs) else None
            if src is not None and src[0].kind == "var":
                old = ranges.get(src[0].name, (lo, hi))
                ranges[src[0].name] = (max(lo, old[0]), min(hi, old[1]))
    return ranges
