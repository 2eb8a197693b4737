"""Vectorized elementwise kernels from onnxruntime's CPU provider, over numpy buffers.

``softmax_rows``: a row softmax written into a caller's buffer (the fused softmax
cross-entropy, large softmaxes); the RNN op's step loops run as onnxruntime Scans
(``_ort_scan``), whose sessions are built and cached here too.

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
import os
import threading

import numpy as np

from . import _parallel

__all__ = ["softmax_rows", "available"]

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


def _session(dtype):
    sess = _SESSIONS.get(dtype)
    if sess is not None:
        return sess
    with _LOCK:
        if dtype not in _SESSIONS:
            _SESSIONS[dtype] = _build(dtype)
    return _SESSIONS[dtype]


def _build(dtype):
    from onnx import helper
    ort = _STATE[0]
    code = _DTYPES[dtype]
    graph = helper.make_graph(
        [helper.make_node("Softmax", ["x"], ["y"], axis=-1)], "kiln_softmax_rows",
        [helper.make_tensor_value_info("x", code, ["rows", "cols"])],
        [helper.make_tensor_value_info("y", code, ["rows", "cols"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    opts = ort.SessionOptions()
    # idle workers must not spin: the caller's numpy BLAS runs right after on the same cores
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    env = os.environ.get("KILN_THREADS")
    opts.intra_op_num_threads = int(env) if env and env.isdigit() else _parallel.cores()
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])


def softmax_rows(x, out):
    """``out[:] = softmax(x, axis=1)`` for C-contiguous 2-D numpy arrays of one float dtype;
    False (nothing written) where this path does not apply."""
    if (type(x) is not np.ndarray or type(out) is not np.ndarray or x.ndim != 2
            or x.dtype not in _DTYPES or out.dtype != x.dtype or out.shape != x.shape
            or not (x.flags.c_contiguous and out.flags.c_contiguous and out.flags.writeable)
            or not available()):
        return False
    sess = _session(x.dtype)
    io = sess.io_binding()
    io.bind_cpu_input("x", x)
    io.bind_output("y", "cpu", 0, x.dtype, list(x.shape), out.ctypes.data)
    sess.run_with_iobinding(io)
    return True


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


def _cell_session(key, build):
    sess = _SESSIONS.get(key)
    if sess is None:
        with _LOCK:
            sess = _SESSIONS.get(key) or build()
            _SESSIONS[key] = sess
    return sess


