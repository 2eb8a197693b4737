"""Vectorized elementwise kernels from onnxruntime's CPU provider, over numpy buffers.

``softmax_rows``: a row softmax written into a caller's buffer (the fused softmax
cross-entropy). ``gru_cell``: a GRU's step, its gate nonlinearities and state update, over
buffers bound once (the fused RNN op's step loop; the LSTM's loops run as whole Scans,
``_ort_scan``, which also builds its sessions here).

numpy's ``exp`` and ``tanh`` over float32 are scalar loops on one thread (this numpy build has
no AVX-512); onnxruntime's (MLAS) are vectorized. For the softmax cross-entropy of W4's
logits, (700, 10000) float32, the whole numpy kernel (row max, shift, exp, row sum, rows
across the cores) took 83 ms p10 against 17 ms for onnxruntime's Softmax (66 against 14 ms on
one thread; calls interleaved under load ~24 on the 2-vCPU reference machine, 2026-12-07);
These are
kernel helpers, not an executor: one tiny session per graph and dtype (the row count
dynamic), built on first use, inputs and outputs bound to numpy's memory (no copies).

Each row is computed by one thread, so the result does not depend on the thread count.
``KILN_ORT_KERNELS=0`` (or onnxruntime missing) turns them off: ``softmax_rows`` returns
False, ``gru_cell`` None, and the caller runs its numpy code.

Example::

    >>> x = np.zeros((2, 3), np.float32); out = np.empty_like(x)
    >>> softmax_rows(x, out) or np.divide(np.exp(x), 3, out=out)   # every entry 1/3
"""
import os
import threading

import numpy as np

from . import _parallel

__all__ = ["softmax_rows", "gru_cell", "available"]

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


def _build_gru_cell(H, dtype):
    """The GRU cell's elementwise part: x (n, 3H) the input projection (with b_i), hw (n, 3H)
    the recurrent product (without b_h), h_prev (n, H); r, z = sigmoid(x_rz + hw_rz + b_rz)
    (as (1 + tanh(v/2)) / 2, the numpy loop's form), hn = hw_n + b_hn,
    n = tanh(x_n + r * hn), h = n + z * (h_prev - n); outputs act = [r, z, n], hn, h."""
    from onnx import helper, numpy_helper
    code = _DTYPES[dtype]
    half = np.full(2 * H, 0.5, dtype)
    nodes = [helper.make_node("Add", ["hw", "bh"], ["hwb"]),
             helper.make_node("Split", ["hwb", "sizes"], ["h_rz", "hn"], axis=1),
             helper.make_node("Split", ["x", "sizes"], ["x_rz", "x_n"], axis=1),
             helper.make_node("Add", ["x_rz", "h_rz"], ["rz_pre"]),
             helper.make_node("Mul", ["rz_pre", "half"], ["rz_half"]),
             helper.make_node("Tanh", ["rz_half"], ["rz_t"]),
             helper.make_node("Mul", ["rz_t", "half"], ["rz_t2"]),
             helper.make_node("Add", ["rz_t2", "half"], ["rz"]),
             helper.make_node("Split", ["rz", "halves"], ["r", "z"], axis=1),
             helper.make_node("Mul", ["r", "hn"], ["rhn"]),
             helper.make_node("Add", ["x_n", "rhn"], ["n_pre"]),
             helper.make_node("Tanh", ["n_pre"], ["n"]),
             helper.make_node("Sub", ["h_prev", "n"], ["hd"]),
             helper.make_node("Mul", ["z", "hd"], ["zhd"]),
             helper.make_node("Add", ["n", "zhd"], ["h"]),
             helper.make_node("Concat", ["rz", "n"], ["act"], axis=1)]
    inits = [numpy_helper.from_array(half, "half"),
             numpy_helper.from_array(np.array([2 * H, H], np.int64), "sizes"),
             numpy_helper.from_array(np.array([H, H], np.int64), "halves")]
    graph = helper.make_graph(
        nodes, "kiln_gru_cell",
        [helper.make_tensor_value_info("x", code, ["n", 3 * H]),
         helper.make_tensor_value_info("hw", code, ["n", 3 * H]),
         helper.make_tensor_value_info("bh", code, [3 * H]),
         helper.make_tensor_value_info("h_prev", code, ["n", H])],
        [helper.make_tensor_value_info(k, code, ["n", w])
         for k, w in (("act", 3 * H), ("hn", H), ("h", H))], inits)
    return _one_thread_session(graph)


class GruCell:
    """The elementwise part of GRU steps over fixed buffers bound once: ``x`` (n, 3H) and
    ``hw`` (n, 3H) are the caller's to fill before each ``step()``, which writes ``act``,
    ``hn`` and the new ``h`` (two state buffers alternate, as onnxruntime must not read and
    write one buffer); ``bh`` (3H,) is bound once."""

    def __init__(self, n, H, dtype, h0, bh):
        dtype = np.dtype(dtype)
        sess = _cell_session(("gru", H, dtype), lambda: _build_gru_cell(H, dtype))
        self.x = np.empty((n, 3 * H), dtype)
        self.hw = np.empty((n, 3 * H), dtype)
        self.act = np.empty((n, 3 * H), dtype)
        self.hn = np.empty((n, H), dtype)
        self._bh = np.array(bh, dtype, order="C")
        states = (np.array(h0, dtype, order="C"), np.empty((n, H), dtype))
        self.sess, self._k, self._states = sess, 0, states
        self._bindings = []
        for k in (0, 1):
            io = sess.io_binding()
            for name, arr in (("x", self.x), ("hw", self.hw), ("bh", self._bh),
                              ("h_prev", states[k])):
                io.bind_cpu_input(name, arr)
            for name, arr in (("act", self.act), ("hn", self.hn), ("h", states[1 - k])):
                io.bind_output(name, "cpu", 0, dtype, list(arr.shape), arr.ctypes.data)
            self._bindings.append(io)

    @property
    def h(self):
        """The state the last step wrote (h0 before any)."""
        return self._states[self._k]

    def step(self):
        self.sess.run_with_iobinding(self._bindings[self._k])
        self._k = 1 - self._k


def gru_cell(n, H, dtype, h0, bh):
    """A ``GruCell`` for n rows of H units (recurrent bias ``bh`` (3H,)), or None where this
    path does not apply."""
    if np.dtype(dtype) not in _DTYPES or not available():
        return None
    return GruCell(n, H, dtype, h0, bh)
