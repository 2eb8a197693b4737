"""Vectorized elementwise kernels from onnxruntime's CPU provider, over numpy buffers.

``softmax_rows``: a row softmax written into a caller's buffer (the fused softmax
cross-entropy, large softmaxes); ``layer_norm_rows``: LayerNorm's forward over the last axis.
The RNN op's step loops run as onnxruntime Scans (``_ort_scan``), whose sessions are built
and cached here too.

numpy's ``exp`` and ``tanh`` over float32 are scalar loops on one thread (this numpy build has
no AVX-512); onnxruntime's (MLAS) are vectorized. For the softmax cross-entropy of W4's
logits, (700, 10000) float32, the whole numpy kernel (row max, shift, exp, row sum, rows
across the cores) took 83 ms p10 against 17 ms for onnxruntime's Softmax (66 against 14 ms on
one thread; calls interleaved under load ~24 on the 2-vCPU reference machine, 2026-12-07).
These are kernel helpers, not an executor: one tiny session per graph and dtype (the row count
dynamic), built on first use, inputs and outputs bound to numpy's memory (no copies).

Each row is computed by one thread, so the result does not depend on the thread count.
``KILN_ORT_KERNELS=0`` (or onnxruntime missing) turns them off: ``softmax_rows`` returns
False and the caller runs its numpy code.

Example::

    >>> x = np.zeros((2, 3), np.float32); out = np.empty_like(x)
    >>> softmax_rows(x, out) or np.divide(np.exp(x), 3, out=out)   # every entry 1/3
"""
import math
import os
import threading

import numpy as np

from . import _parallel

__all__ = ["softmax_rows", "layer_norm_rows", "maxpool_indices", "available"]

_DTYPES = {np.dtype(np.float32): 1, np.dtype(np.float64): 11}  # onnx TensorProto codes
_SESSIONS = {}
_LOCK = threading.Lock()
_STATE = []  # [onnxruntime module or None], decided on first use


def available():
    if not _STATE:
        ort = None
        if os.environ.get("KILN_ORT_KERNELS", "1") != "0":
            try:
                import onnxruntime as ort
            except ImportError:
                ort = None
        _STATE.append(ort)
    return _STATE[0] is not None


def cached_session(key, build):
    """The session cached under ``key`` and the thread count the call runs with
    (``session_threads``), built by ``build()`` on first use (once, whatever the calling
    threads)."""
    key = (key, session_threads())
    sess = _SESSIONS.get(key)
    if sess is None:
        with _LOCK:
            sess = _SESSIONS.get(key) or build()
            _SESSIONS[key] = sess
    return sess


def _rows_session(key, node, inputs):
    """A cached session of one node over (rows, cols) arrays, on all cores: ``inputs``
    (name, shape) with ``x`` the rows; the output is ``y``, shaped as ``x``."""
    return cached_session(key, lambda: _build(key[1], node, inputs))


def _build(dtype, node, inputs):
    from onnx import helper
    code = _DTYPES[dtype]
    graph = helper.make_graph(
        [node], "kiln_" + node.op_type,
        [helper.make_tensor_value_info(n, code, shape) for n, shape in inputs],
        [helper.make_tensor_value_info("y", code, ["rows", "cols"])])
    return _session_of(graph)


# One memory arena for every kernel session, registered with onnxruntime's environment.
# With an arena per session, each of the dozens of kernel sessions a network builds (one per
# convolution geometry) kept its own regions for its largest intermediates, and on the 2-vCPU
# reference machine MobileNet 1.0 at batch 32 took ~16,000 page faults and ~300 ms of system
# time per call (kiln's own buffers no longer found warm memory), against ~180 faults and
# ~20 ms before those sessions existed; one shared arena serves them all from the same
# blocks. ``SHARED_ARENA = False`` (before the first session) keeps per-session arenas.
SHARED_ARENA = True
_ARENA = []   # [registered or not], decided on first use


def _shared_arena(ort):
    if not _ARENA:
        try:
            info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0,
                                     ort.OrtMemType.DEFAULT)
            ort.create_and_register_allocator(info, ort.OrtArenaCfg(0, -1, -1, -1))
            _ARENA.append(True)
        except Exception:   # noqa: BLE001  (an older onnxruntime, or one registered already)
            _ARENA.append(False)
    return _ARENA[0]


def _session_of(graph, domains=()):
    """A session of ``graph`` on all cores (``KILN_THREADS`` if set), workers not spinning;
    ``domains``: the operator sets beyond ONNX's that its nodes use."""
    from onnx import helper
    ort = _STATE[0]
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)] +
                              [helper.make_opsetid(d, 1) for d in domains])
    model.ir_version = 8
    opts = ort.SessionOptions()
    # idle workers must not spin: the caller's numpy BLAS runs right after on the same cores
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if SHARED_ARENA and _shared_arena(ort):
        opts.add_session_config_entry("session.use_env_allocators", "1")
    opts.intra_op_num_threads = session_threads()
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])


# onnxruntime's blocked kernels (MLAS) run ~1.4x slower on a weight or input that is not
# 64-byte aligned (a 128x128x3x3 NCHWc convolution over 32 4x4 maps, one thread: 1.28 ms fed a
# weight from numpy's allocator, 16-byte aligned, 0.96 ms aligned, 0.88 ms as its own
# initializer); numpy's allocator aligns to 16 bytes.
ALIGN = 64


def aligned_empty(shape, dtype=np.float32):
    """An uninitialized C-contiguous array whose data starts on an ``ALIGN``-byte boundary."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    raw = np.empty(nbytes + ALIGN, np.uint8)
    start = -raw.ctypes.data % ALIGN
    return raw[start:start + nbytes].view(dtype).reshape(shape)


def run_new(sess, inputs, shape, dtype=np.float32):
    """Run ``sess`` with ``inputs`` (``{name: numpy array}``, None entries left unbound) bound
    in place; its output ``y`` is written into a new array of ``shape``, which is returned."""
    return run_into(sess, inputs, aligned_empty(shape, dtype))


def run_into(sess, inputs, out):
    """``run_new`` writing the output ``y`` into ``out`` (a C-contiguous array); returns it."""
    io = sess.io_binding()
    for name, arr in inputs.items():
        if arr is not None:
            io.bind_cpu_input(name, arr)
    io.bind_output("y", "cpu", 0, out.dtype, list(out.shape), out.ctypes.data)
    sess.run_with_iobinding(io)
    return out


def session_threads():
    """The intra-op thread count of the kernel sessions: ``KILN_THREADS`` if set, else the
    cores; one inside ``_parallel.reserved()`` (a compiled backward whose weight gradients run
    on a worker: a pool thread would wait for the core the worker holds, and take it from
    the worker when it gets it)."""
    if _parallel.is_reserved():
        return 1
    env = os.environ.get("KILN_THREADS")
    return int(env) if env and env.isdigit() else _parallel.cores()


def _suits(x, out, *more):
    return (type(x) is np.ndarray and type(out) is np.ndarray and x.ndim == 2
            and x.dtype in _DTYPES and out.dtype == x.dtype and out.shape == x.shape
            and x.flags.c_contiguous and out.flags.c_contiguous and out.flags.writeable
            and all(type(m) is np.ndarray and m.dtype == x.dtype and m.flags.c_contiguous
                    for m in more)
            and available())


def _run_rows(sess, inputs, out):
    io = sess.io_binding()
    for name, arr in inputs:
        io.bind_cpu_input(name, arr)
    io.bind_output("y", "cpu", 0, out.dtype, list(out.shape), out.ctypes.data)
    sess.run_with_iobinding(io)


def softmax_rows(x, out):
    """``out[:] = softmax(x, axis=1)`` for C-contiguous 2-D numpy arrays of one float dtype;
    False (nothing written) where this path does not apply."""
    if not _suits(x, out):
        return False
    from onnx import helper
    sess = _rows_session(("softmax", x.dtype),
                         helper.make_node("Softmax", ["x"], ["y"], axis=-1),
                         [("x", ["rows", "cols"])])
    _run_rows(sess, [("x", x)], out)
    return True


def layer_norm_rows(x, gamma, beta, eps, out):
    """``out[:] = (x - mean) / sqrt(var + eps) * gamma + beta`` over the rows of a
    C-contiguous 2-D numpy array (onnxruntime's LayerNormalization: one pass, all cores);
    ``gamma``, ``beta`` (cols,) of x's dtype. False (nothing written) where this path does
    not apply."""
    if not _suits(x, out, gamma, beta) or gamma.shape != (x.shape[1],) or \
            beta.shape != gamma.shape:
        return False
    from onnx import helper
    sess = _rows_session(("layer_norm", x.dtype, float(eps)),
                         helper.make_node("LayerNormalization", ["x", "gamma", "beta"], ["y"],
                                          axis=-1, epsilon=float(eps)),
                         [("x", ["rows", "cols"]), ("gamma", ["cols"]), ("beta", ["cols"])])
    _run_rows(sess, [("x", x), ("gamma", gamma), ("beta", beta)], out)
    return True


def batch_norm_train(x, gamma, beta, mean, var, eps, momentum):
    """Training-mode BatchNorm of a C-contiguous float32 numpy ``x`` (N, C, ...) by
    onnxruntime's BatchNormalization (``training_mode=1``): returns the normalized output and
    writes the moving statistics into ``mean``/``var`` (``momentum * old + (1 - momentum) *
    batch``, the biased batch variance, MXNet's update); None (nothing written) where this
    path does not apply. ResNet-18's (32, 64, 16, 16): 0.33 against 0.82 ms (2026-12-07)."""
    arrays = (x, gamma, beta, mean, var)
    if not (all(type(a) is np.ndarray and a.dtype == np.float32 and a.flags.c_contiguous
                for a in arrays) and x.ndim >= 2 and available()):
        return None
    from onnx import helper
    key = ("batch_norm_train", x.ndim, float(eps), float(momentum))

    def build():
        f = _DTYPES[x.dtype]
        node = helper.make_node("BatchNormalization", ["x", "g", "b", "m", "v"],
                                ["y", "nm", "nv"], epsilon=float(eps),
                                momentum=float(momentum), training_mode=1)
        dims = ["d%d" % i for i in range(x.ndim)]
        return _session_of(helper.make_graph(
            [node], "kiln_batch_norm_train",
            [helper.make_tensor_value_info("x", f, dims)]
            + [helper.make_tensor_value_info(n, f, ["c"]) for n in ("g", "b", "m", "v")],
            [helper.make_tensor_value_info(n, f, None) for n in ("y", "nm", "nv")]))
    y, new_mean, new_var = cached_session(key, build).run(
        None, {"x": x, "g": gamma, "b": beta, "m": mean, "v": var})
    mean[...] = new_mean
    var[...] = new_var
    return y


def _maxpool_session(x, kernel, stride, begin, end, indices):
    """The cached MaxPool session of a geometry (``indices``: its second output too), or None
    where this path does not apply (not a C-contiguous numpy float array of >= 3 dims)."""
    if (type(x) is not np.ndarray or x.dtype not in _DTYPES or not x.flags.c_contiguous
            or x.ndim < 3 or not available()):
        return None
    from onnx import TensorProto, helper
    key = ("maxpool", x.dtype, x.ndim, tuple(kernel), tuple(stride), tuple(begin), tuple(end),
           indices)

    def build():
        code = _DTYPES[x.dtype]
        outs = ["y", "idx"] if indices else ["y"]
        node = helper.make_node("MaxPool", ["x"], outs, kernel_shape=list(kernel),
                                strides=list(stride), pads=list(begin) + list(end))
        dims = ["d%d" % i for i in range(x.ndim)]
        values = [helper.make_tensor_value_info("y", code, None)]
        if indices:
            values.append(helper.make_tensor_value_info("idx", TensorProto.INT64, None))
        return _session_of(helper.make_graph(
            [node], "kiln_maxpool", [helper.make_tensor_value_info("x", code, dims)], values))
    return cached_session(key, build)


def maxpool_indices(x, kernel, stride, begin, end):
    """Flat indices into ``x`` (N, C, *S) of each max-pooling window's first maximum,
    ``(N, C, *out)`` int64, from onnxruntime's MaxPool (its ``Indices`` output; padding is
    never a maximum); None where this path does not apply. One session per geometry."""
    sess = _maxpool_session(x, kernel, stride, begin, end, True)
    return None if sess is None else sess.run(["idx"], {"x": x})[0]


def maxpool(x, kernel, stride, begin, end):
    """Max pooling of ``x`` (N, C, *S) by onnxruntime's MaxPool (MLAS): the windows' maxima,
    bit for bit numpy's for finite data (the caller checks); None where it does not apply.
    ResNet-18's (32, 64, 16, 16) 3x3/2 pooling: 0.28 against 1.61 ms (2026-12-07)."""
    sess = _maxpool_session(x, kernel, stride, begin, end, False)
    return None if sess is None else sess.run(["y"], {"x": x})[0]


def _one_thread_session(graph):
    from onnx import helper
    ort = _STATE[0]
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    opts = ort.SessionOptions()
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # a few thousand elements a step: one thread (the RNN op runs its BLAS on one too)
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
