"""ONNX ``Attention`` (opset 23+) composed from kiln's matmul, softmax and mask arithmetic.

3-D inputs are split into heads; ``past_key``/``past_value`` are concatenated in front of K/V
(``present_*`` outputs); grouped-query heads repeat K/V (``np.repeat`` order). The additive
bias is the sum of: the attention mask (bool -> 0/-inf, padded with -inf to the key length),
the causal mask (bottom-right aligned: a query i attends key j iff ``j <= i + offset``, the
offset being the past length or, with ``nonpad_kv_seqlen``, that length minus the query
length per batch), the sliding window, and the key padding mask of ``nonpad_kv_seqlen``.
Masks that depend only on shapes are constants; the others are kiln ops at run time. Rows
whose keys are all masked give zeros (as ONNX's reference), not NaN. Static shapes needed.

Example: ``Attention(q, k, v, is_causal=1)`` imports as
``matmul(softmax(matmul(q*s, transpose(k*s)) + causal), v)`` with ``s = scale ** 0.5``.
"""
import numpy as np
from onnx import helper

from .onnx_import_math import const, dtype_of
from .onnx_import_ops import _attrs, _sub

_NEG = float("-inf")


def _input(n, k):
    return n.input[k] if len(n.input) > k and n.input[k] else None


def _heads(imp, n, k, name, heads):
    """(B, heads, S, d) from a 3-D (B, S, heads*d) input; 4-D inputs unchanged."""
    shape = imp.shape(name)
    x = imp.t(name)
    if len(shape) == 4:
        return x, shape
    B, S, hidden = shape
    x = imp.op(_sub(n, k), "reshape", [x], shape=(B, S, heads, hidden // heads))
    x = imp.op(_sub(n, k + 1), "transpose", [x], axes=(0, 2, 1, 3))
    return x, (B, heads, S, hidden // heads)


def _bool_bias(imp, n, k, mask):
    zero = imp.op(_sub(n, k), "zeros_like", [imp.op(_sub(n, k + 1), "cast", [mask],
                                                    dtype="float32")])
    neg = imp.op(_sub(n, k + 2), "add", [zero, _NEG])
    return imp.op(_sub(n, k + 3), "where", [mask, zero, neg])


def _mask_bias(imp, n, name, kv_len, dt):
    """The attention mask as an additive bias of the key length (padded with -inf)."""
    shape = imp.shape(name)
    m = imp.t(name)
    is_bool = dtype_of(imp, name) == np.bool_
    if shape[-1] < kv_len:
        fill = np.full(shape[:-1] + (kv_len - shape[-1],), False if is_bool else _NEG,
                       np.bool_ if is_bool else dt)
        m = imp.op(_sub(n, 40), "concat", [m, const(imp, n, 40, fill)], dim=len(shape) - 1,
                   num_args=2)
    if is_bool:
        m = _bool_bias(imp, n, 41, m)
        m = imp.op(_sub(n, 45), "cast", [m], dtype=np.dtype(dt).name)
    return m


def _static_bias(q_len, kv_len, offset, causal, left, right, dt):
    """Causal and window masks for a scalar offset (a constant), or None."""
    if not causal and left < 0 and right < 0:
        return None
    diff = np.arange(q_len)[:, None] + offset - np.arange(kv_len)[None, :]
    allowed = np.ones((q_len, kv_len), bool)
    if causal:
        allowed &= diff >= 0
    if left >= 0:
        allowed &= diff <= left
    if right >= 0:
        allowed &= -diff <= right
    return np.where(allowed, 0, -np.inf).astype(dt)


def _nonpad_bias(imp, n, name, q_len, kv_len, causal, left, right, past, dt):
    """Masks that depend on ``nonpad_kv_seqlen`` (B,): per-batch offsets and key padding."""
    lens = imp.op(_sub(n, 50), "cast", [imp.t(name)], dtype="int64")
    lens = imp.op(_sub(n, 51), "reshape", [lens], shape=(-1, 1, 1, 1))
    j = np.arange(kv_len)[None, :]
    pad_ok = imp.op(_sub(n, 52), "lesser", [const(imp, n, 52, j.astype(np.int64)), lens])
    terms = [pad_ok]
    if past is None and (causal or left >= 0 or right >= 0):
        # diff = i + lens - q_len - j: compare (j - i + q_len) with lens
        base = (j - np.arange(q_len)[:, None] + q_len).astype(np.int64)
        c = const(imp, n, 53, base)
        if causal:
            terms.append(imp.op(_sub(n, 53), "lesser_equal", [c, lens]))
        if left >= 0:   # diff <= left  <=>  lens <= base + left
            terms.append(imp.op(_sub(n, 54), "lesser_equal", [lens, const(imp, n, 54,
                                                                          base + left)]))
        if right >= 0:   # -diff <= right  <=>  base - right <= lens
            terms.append(imp.op(_sub(n, 55), "lesser_equal", [const(imp, n, 55, base - right),
                                                             lens]))
    ok = terms[0]
    for k, t in enumerate(terms[1:]):
        ok = imp.op(_sub(n, 56 + k), "multiply", [ok, t])
    ok = imp.op(_sub(n, 60), "cast", [ok], dtype="bool")
    return imp.op(_sub(n, 66), "cast", [_bool_bias(imp, n, 61, ok)], dtype=np.dtype(dt).name)


def attention(imp, n):
    a = _attrs(n)
    dt = dtype_of(imp, n.input[0])
    q_heads, kv_heads = a.get("q_num_heads"), a.get("kv_num_heads")
    q, qs = _heads(imp, n, 0, n.input[0], q_heads)
    k, _ = _heads(imp, n, 2, n.input[1], kv_heads)
    v, vs = _heads(imp, n, 4, n.input[2], kv_heads)
    past_k, past_v = _input(n, 4), _input(n, 5)
    past = imp.shape(past_k)[2] if past_k else None
    if past_k:
        k = imp.op(_sub(n, 6), "concat", [imp.t(past_k), k], dim=2, num_args=2)
        v = imp.op(_sub(n, 7), "concat", [imp.t(past_v), v], dim=2, num_args=2)
    present_k, present_v = k, v
    q_len, kv_len = qs[2], vs[2] + (past or 0)
    causal = bool(a.get("is_causal", 0))
    left, right = int(a.get("left_window_size", -1)), int(a.get("right_window_size", -1))
    nonpad = _input(n, 6)
    biases = []
    if _input(n, 3):
        biases.append(_mask_bias(imp, n, n.input[3], kv_len, dt))
    static = _static_bias(q_len, kv_len, past or 0, causal and not (nonpad and past is None),
                          left if not (nonpad and past is None) else -1,
                          right if not (nonpad and past is None) else -1, dt)
    if static is not None:
        biases.append(const(imp, n, 8, static))
    if nonpad:
        biases.append(_nonpad_bias(imp, n, nonpad, q_len, kv_len, causal, left, right, past,
                                   dt))
    if qs[1] != vs[1]:   # grouped-query attention: each K/V head serves several Q heads
        k = imp.op(_sub(n, 9), "repeat", [k], repeats=qs[1] // vs[1], axis=1)
        v = imp.op(_sub(n, 10), "repeat", [v], repeats=qs[1] // vs[1], axis=1)
    scale = a.get("scale")
    s = float(np.sqrt(1 / np.sqrt(qs[3]) if scale is None else scale))
    kt = imp.op(_sub(n, 11), "transpose", [imp.op(_sub(n, 12), "multiply", [k, s])],
                axes=(0, 1, 3, 2))
    qk = imp.op(_sub(n, 13), "matmul", [imp.op(_sub(n, 14), "multiply", [q, s]), kt])
    softcap = float(a.get("softcap", 0.0))
    if softcap > 0:
        qk = imp.op(_sub(n, 15), "tanh", [imp.op(_sub(n, 16), "divide", [qk, softcap])])
        qk = imp.op(_sub(n, 17), "multiply", [qk, softcap])
    bias = biases[0] if biases else None
    for j, b in enumerate(biases[1:]):
        bias = imp.op(_sub(n, 18 + j), "add", [bias, b])
    scores = imp.op(_sub(n, 22), "add", [qk, bias]) if bias is not None else qk
    probs = _softmax(imp, n, scores, bias, a, dt)
    mode = int(a.get("qk_matmul_output_mode", 0))
    qk_out = {0: qk, 1: qk, 2: scores, 3: probs}[mode]
    y = imp.op(_sub(n, 30), "matmul", [probs, v])
    if len(imp.shape(n.input[0])) == 3:
        y = imp.op(_sub(n, 31), "transpose", [y], axes=(0, 2, 1, 3))
        y = imp.op(n, "reshape", [y], shape=(qs[0], qs[2], -1))
    else:
        y = imp.op(n, "identity", [y])
    return [y, present_k, present_v, qk_out]


def _softmax(imp, n, scores, bias, a, dt):
    """softmax over keys; rows whose bias is all -inf give zeros (ONNX's reference)."""
    prec = a.get("softmax_precision")
    x = scores
    if prec is not None and np.dtype(helper.tensor_dtype_to_np_dtype(prec)) != dt:
        x = imp.op(_sub(n, 23), "cast", [x], dtype=np.dtype(
            helper.tensor_dtype_to_np_dtype(prec)).name)
    if bias is None:
        p = imp.op(_sub(n, 24), "softmax", [x], axis=-1)
    else:
        top = imp.op(_sub(n, 25), "max", [bias], axis=-1, keepdims=True)
        dead = imp.op(_sub(n, 26), "cast", [imp.op(_sub(n, 27), "equal", [top, _NEG])],
                      dtype="bool")
        zero = imp.op(_sub(n, 28), "zeros_like", [x])
        safe = imp.op(_sub(n, 29), "where", [dead, zero, x])   # no NaN from all -inf rows
        p = imp.op(_sub(n, 32), "softmax", [safe], axis=-1)
        p = imp.op(_sub(n, 33), "where", [dead, zero, p])
    if p is not x and prec is not None:
        p = imp.op(_sub(n, 34), "cast", [p], dtype=np.dtype(dt).name)
    return p


CONVERTERS = {"Attention": attention}
