"""Calibration and evaluation batches for ``kiln.export.quantize``: user batches -> ORT feeds.

A batch may be a numpy array or a kiln NDArray (one-input models), a ``(data, label)`` pair or
``(data, ..., label)`` tuple as a kiln ``DataLoader`` yields it (the first N items feed the N
model inputs), a list/tuple of N arrays, or a ``{input name: array}`` dict. Arrays are cast to
the dtype each graph input declares.

Example::

    >>> specs = input_specs(onnx.load("net.onnx"))   # [("data", np.float32, (None, 1, 8, 8))]
    >>> feed = to_feed((x_batch, y_batch), specs)          # {"data": x_batch as float32}
"""
import contextlib
import os
import sys

import numpy as np


def input_specs(model):
    """``[(name, numpy dtype, dims), ...]`` of the graph inputs that are not initializers;
    ``dims`` holds an int per fixed axis and None per symbolic one (a dynamic batch)."""
    from onnx import helper
    inits = {i.name for i in model.graph.initializer}
    specs = []
    for v in model.graph.input:
        if v.name in inits:
            continue
        t = v.type.tensor_type
        dims = tuple(d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim)
        specs.append((v.name, helper.tensor_dtype_to_np_dtype(t.elem_type), dims))
    return specs


def _array(x):
    return np.asarray(x.asnumpy() if hasattr(x, "asnumpy") else x)


def to_feed(batch, specs):
    """One user batch -> ``{input name: numpy array}`` for an onnxruntime session."""
    if isinstance(batch, dict):
        missing = [n for n, _, _ in specs if n not in batch]
        if missing:
            raise ValueError(f"calibration batch dict lacks model inputs {missing}; "
                             f"the model's inputs are {[n for n, _, _ in specs]}")
        items = [batch[n] for n, _, _ in specs]
    elif isinstance(batch, (tuple, list)):
        if len(batch) < len(specs):
            raise ValueError(f"a calibration batch of {len(batch)} arrays for a model with "
                             f"{len(specs)} inputs {[n for n, _, _ in specs]}")
        items = batch[:len(specs)]   # (data, label) from a DataLoader: the label is dropped
    else:
        if len(specs) != 1:
            raise ValueError(f"the model has {len(specs)} inputs {[n for n, _, _ in specs]}: "
                             "give each calibration batch as a tuple or a dict of arrays")
        items = [batch]
    feed = {}
    for (name, dtype, dims), x in zip(specs, items):
        a = _array(x)
        if a.ndim != len(dims) or any(d is not None and d != n for d, n in zip(dims, a.shape)):
            want = "x".join("?" if d is None else str(d) for d in dims)
            raise ValueError(f"calibration input {name!r}: got an array of shape {a.shape}, "
                             f"the model expects {want} (rank {len(dims)}; ? is free)")
        feed[name] = np.ascontiguousarray(a, dtype=dtype)
    return feed


def collect(batches, specs, what="calibration"):
    """Every batch of ``batches`` as a feed dict (a list).

    Raises ``ValueError`` when ``batches`` is None or yields nothing.
    """
    if batches is None:
        raise ValueError(f"{what} data is required: pass an iterable of input arrays or a "
                         "DataLoader")
    feeds = [to_feed(batch, specs) for batch in batches]
    if not feeds:
        raise ValueError(f"{what} data yielded no batches")
    return feeds


def uniform_batches(feeds):
    """``feeds`` re-cut into batches of the first batch's size along axis 0, the remainder
    (fewer samples than one batch) dropped: onnxruntime's histogram calibrators (entropy,
    percentile) stack the per-batch outputs into one array and fail on a ragged last batch,
    which a DataLoader without ``last_batch='discard'`` yields."""
    size = len(next(iter(feeds[0].values())))
    if all(len(a) == size for f in feeds for a in f.values()):
        return feeds
    whole = {k: np.concatenate([f[k] for f in feeds]) for k in feeds[0]}
    n = len(next(iter(whole.values()))) // size
    return [{k: a[i * size:(i + 1) * size] for k, a in whole.items()} for i in range(n)]


def feed_reader(feeds, progress=None):
    """onnxruntime's ``CalibrationDataReader`` over a list of feed dicts (``collect``'s result);
    ``progress(done, total)`` as the calibrator takes each batch (it runs the model on each).
    onnxruntime.quantization is imported here, not when kiln is."""
    with ort_tools_path():
        from onnxruntime.quantization import CalibrationDataReader

    class FeedReader(CalibrationDataReader):
        def __init__(self):
            self.rewind()

        def get_next(self):
            feed = next(self._it, None)
            if feed is not None:
                self.done += 1
                if progress is not None:
                    progress(self.done, len(feeds))
            return feed

        def rewind(self):
            self._it, self.done = iter(feeds), 0

    return FeedReader()


def load_model(path):
    """``onnx.ModelProto`` of ``path``; a missing file raises ``FileNotFoundError``, a corrupt
    one ``FileFormatError`` naming it (kiln's convention, see ``onnx_import.read_model``)."""
    from .onnx_import import read_model
    model, _ = read_model(path)
    if not model.graph.node:
        from ..base import FileFormatError
        raise FileFormatError(path, "the ONNX graph has no nodes")
    return model


@contextlib.contextmanager
def ort_tools_path():
    """onnxruntime's ``transformers`` modules import each other as top-level names (its package
    ``__init__`` appends its folder to ``sys.path`` once, at first import): while onnxruntime's
    quantization and float16 tools run, that folder is on ``sys.path``, and only then, so its
    ~100 modules (``benchmark``, ``constants``...) never shadow the user's."""
    import onnxruntime
    folder = os.path.join(os.path.dirname(onnxruntime.__file__), "transformers")
    saved = list(sys.path)
    if folder not in sys.path:
        sys.path.append(folder)
    try:
        yield
    finally:
        sys.path[:] = saved


__all__ = ["ort_tools_path", "input_specs", "to_feed", "collect", "feed_reader",
           "uniform_batches", "load_model"]
