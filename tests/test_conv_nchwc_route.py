"""Convolutions whose channels fit onnxruntime's NCHWc block run its blocked kernels with the
weight reordered by kiln (ndarray/_ort_nchwc.py): the same values as kiln's im2col GEMM to
float32 rounding (forward, the fused BatchNorm/residual/ReLU epilogue, the stride-1 data
gradient, a hybridized training step), the shapes it loses on stay on the GEMM, and a layout
the probe cannot confirm turns the route off."""
import numpy as np
import pytest
from _conv_routes import (
    assert_route_equals_gemm,
    assert_same,
    conv,
    conv_bn_stack,
    gemm_only,
    infer_and_train,
    random_values,
    record_calls,
)
from kiln import nd
from kiln.ndarray import _derived, _ort_nchwc

BLOCK = _ort_nchwc.block()[0]
pytestmark = pytest.mark.skipif(BLOCK == 0, reason="onnxruntime has no NCHWc kernels here")


@pytest.fixture
def blocked_calls(monkeypatch):
    return record_calls(monkeypatch, _ort_nchwc, "_run")



def _rand(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


B2 = 2 * BLOCK or 32
CASES = [  # (data shape, weight shape, attributes)
    ((8, B2, 8, 8), (B2, B2, 3, 3), dict(kernel=(3, 3), pad=(1, 1))),
    ((32, BLOCK or 16, 9, 7), (B2, BLOCK or 16, 3, 3), dict(kernel=(3, 3), stride=(2, 2),
                                                         pad=(1, 1))),
    ((4, 3, 30, 30), (B2, 3, 7, 7), dict(kernel=(7, 7), stride=(2, 2), pad=(3, 3))),
    ((6, B2, 10, 12), (BLOCK or 16, B2, 5, 3), dict(kernel=(5, 3), pad=(2, 0))),
]


@pytest.mark.parametrize("shape,wshape,kw", CASES)
@pytest.mark.parametrize("bias", [False, True])
def test_values_equal_the_gemm_route(shape, wshape, kw, bias, blocked_calls, monkeypatch):
    rng = np.random.default_rng(0)
    x, w = _rand(rng, *shape), _rand(rng, *wshape, scale=0.2)
    b = _rand(rng, wshape[0]) if bias else None
    assert_route_equals_gemm(monkeypatch, blocked_calls, x, w, b, **kw)


def test_a_strided_weight_view_is_reordered_correctly(blocked_calls, monkeypatch):
    """The weight need not be contiguous (a data gradient's flipped weight, a user's slice):
    the reorder reads it through its strides."""
    rng = np.random.default_rng(6)
    x = _rand(rng, 8, B2, 8, 8)
    w = _rand(rng, B2, B2, 3, 3, 2)[..., 1].swapaxes(2, 3)   # strided and transposed view
    assert not w.flags.c_contiguous
    kw = dict(kernel=(3, 3), pad=(1, 1), num_filter=B2, no_bias=True)
    got = nd.Convolution(nd.array(x), nd.array(w), **kw).asnumpy()
    got_raw = _ort_nchwc.forward(x, w, _taps(), None)
    gemm_only(monkeypatch)
    want = nd.Convolution(nd.array(x), nd.array(np.ascontiguousarray(w)), **kw).asnumpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got_raw, want, rtol=1e-5, atol=1e-5)
    assert blocked_calls


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("batch", [1, 3])
def test_depthwise_values_equal_kilns_kernels(stride, batch, blocked_calls, monkeypatch):
    """Depthwise 3x3 layers (one filter per channel, MobileNet's) of NCHW data: the kernels'
    depthwise variant, the channels-last paths of ``_conv_layout`` yielding to it."""
    rng = np.random.default_rng(5)
    x, w = _rand(rng, batch, B2, 14, 14), _rand(rng, B2, 1, 3, 3)
    b = _rand(rng, B2)
    kw = dict(kernel=(3, 3), pad=(1, 1), stride=(stride, stride), num_group=B2)
    got = conv(x, w, b, **kw).asnumpy()
    assert blocked_calls == [w.shape]
    gemm_only(monkeypatch)
    want = conv(x, w, b, **kw).asnumpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("act", [None, "relu", "relu6"])
@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("scaled", [False, True])
def test_fused_epilogue_inside_the_kernel(act, residual, scaled, blocked_calls, monkeypatch):
    """``act(conv * scale + shift + residual)``: the scale goes into the reordered weight,
    shift, residual and activation into onnxruntime's kernel; no numpy pass is left."""
    rng = np.random.default_rng(1)
    x, w = nd.array(_rand(rng, 8, B2, 9, 9)), nd.array(_rand(rng, B2, B2, 3, 3, scale=0.3))
    scale = nd.array(rng.uniform(0.5, 2, B2).astype(np.float32)) if scaled else 1
    args = [x, w, scale, nd.array(_rand(rng, B2))]
    if residual:
        args.append(nd.array(_rand(rng, 8, B2, 9, 9)))
    kw = dict(kernel=(3, 3), pad=(1, 1), num_filter=B2, act_type=act)
    got = nd._conv_affine_act(*args, **kw).asnumpy()
    assert blocked_calls == [(B2, B2, 3, 3)]
    gemm_only(monkeypatch)
    want = nd._conv_affine_act(*args, **kw).asnumpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-5)
    if act is not None:
        assert got.min() >= 0 and (act != "relu6" or got.max() <= 6)


@pytest.mark.parametrize("case", ["pointwise", "stride-2 1x1", "3x3 over 3 channels",
                                  "few positions", "large weight, small maps", "float64",
                                  "groups", "dilated", "filters off the block",
                                  "depthwise on few positions", "channels off the block"])
def test_what_it_loses_on_or_cannot_take_stays_off(case, blocked_calls, monkeypatch):
    # a weight whose reorder is kept across calls lifts the large-weight rule: off here
    monkeypatch.setattr(_derived, "_ON", [False])
    rng = np.random.default_rng(2)
    shape, wshape, kw = (8, B2, 8, 8), (B2, B2, 3, 3), dict(kernel=(3, 3), pad=(1, 1))
    dtype = np.float32
    if case == "pointwise":
        wshape, kw = (B2, B2, 1, 1), dict(kernel=(1, 1))
    elif case == "stride-2 1x1":
        wshape, kw = (B2, B2, 1, 1), dict(kernel=(1, 1), stride=(2, 2))
    elif case == "3x3 over 3 channels":
        shape, wshape = (8, 3, 8, 8), (B2, 3, 3, 3)
    elif case == "few positions":
        shape = (7, B2, 8, 8)                        # 448 output positions
    elif case == "large weight, small maps":
        shape, wshape = (64, 256, 4, 4), (256, 256, 3, 3)  # 590K weights on 4x4 maps
    elif case == "float64":
        dtype = np.float64
    elif case == "groups":
        wshape, kw = (B2, B2 // 2, 3, 3), dict(kw, num_group=2)
    elif case == "dilated":
        kw = dict(kernel=(3, 3), pad=(2, 2), dilate=(2, 2))
    elif case == "depthwise on few positions":
        shape, wshape, kw = (1, B2, 6, 6), (B2, 1, 3, 3), dict(kw, num_group=B2)
    elif case == "filters off the block":
        wshape = (B2 + 1, B2, 3, 3)
    elif case == "channels off the block":
        shape, wshape = (8, B2 + 2, 8, 8), (B2, B2 + 2, 3, 3)
    x, w = rng.standard_normal(shape).astype(dtype), rng.standard_normal(wshape).astype(dtype)
    y = conv(x, w, None, **kw)
    assert y.shape[:2] == (shape[0], wshape[0])
    assert blocked_calls == []


def test_hybridized_inference_and_training_match_the_gemm_route(blocked_calls, monkeypatch):
    """A conv-BN-ReLU stack: hybridized inference (BatchNorm folded into the kernel's
    epilogue) and a training step's loss and gradients (the forward and the stride-1 data
    gradient blocked), against the GEMM route."""
    rng = np.random.default_rng(3)
    x = nd.array(_rand(rng, 8, B2, 8, 8))
    values = random_values(conv_bn_stack(B2, B2), rng)
    blocked = infer_and_train(conv_bn_stack(B2, B2), values, x)
    assert len(blocked_calls) >= 5   # 2 inference, 2 training forwards, 1+ data gradients
    gemm_only(monkeypatch)
    assert_same(blocked, infer_and_train(conv_bn_stack(B2, B2), values, x))


def test_a_layout_the_probe_cannot_confirm_turns_the_route_off(monkeypatch):
    """The probe runs a small convolution in each candidate layout against a direct sum: a
    reorder that does not match the kernels' layout (another onnxruntime) finds no block."""
    real = _ort_nchwc.reorder
    monkeypatch.setattr(_ort_nchwc, "reorder", lambda w, b, scale=None:
                        real(w.swapaxes(2, 3).copy(), b, scale))
    monkeypatch.setattr(_ort_nchwc, "_BLOCK", [])
    assert _ort_nchwc.block() == (0, False)
    rng = np.random.default_rng(4)
    x, w = _rand(rng, 8, B2, 8, 8), _rand(rng, B2, B2, 3, 3)
    assert not _ort_nchwc.suits(x, w, _taps(), 1)


def test_a_fused_epilogue_the_probe_cannot_confirm_turns_the_route_off(monkeypatch):
    """The probe also runs the fused epilogue (scale, shift, residual, ReLU6) and a depthwise
    weight: a kernel that applied another activation finds no block, and nothing runs on it."""
    monkeypatch.setitem(_ort_nchwc.ACTIVATIONS, "relu6", {"activation": "Relu"})
    monkeypatch.setattr(_ort_nchwc.ok, "_SESSIONS", {})   # no session built with the real one
    monkeypatch.setattr(_ort_nchwc, "_BLOCK", [])
    assert _ort_nchwc.block() == (0, False)


def _taps():
    from kiln.ndarray.ops import _conv_gemm as cg
    return cg.taps_for((8, 8), (8, 8), (3, 3), (1, 1), (1, 1), (1, 1))


def test_kernel_sessions_share_one_arena():
    """Every onnxruntime kernel session draws on one arena registered with onnxruntime's
    environment (per-session arenas cost MobileNet at batch 32 ~16,000 page faults a call);
    registering is done once, and a later session still computes the same values."""
    from kiln.ndarray import _ort_kernels as ok
    ort = ok._STATE[0]
    assert ok._shared_arena(ort) is True and ok._ARENA == [True]
    assert ok._shared_arena(ort) is True   # no second registration
    rng = np.random.default_rng(7)
    x, w = _rand(rng, 8, B2, 8, 8), _rand(rng, B2, B2, 5, 5)   # a geometry not built before
    taps = _taps_of(8, 5, 2)
    windows = np.lib.stride_tricks.sliding_window_view(
        np.pad(x.astype(np.float64), ((0, 0), (0, 0), (2, 2), (2, 2))), (5, 5), axis=(2, 3))
    want = np.einsum("nchwij,fcij->nfhw", windows, w.astype(np.float64))
    np.testing.assert_allclose(_ort_nchwc.forward(x, w, taps), want, rtol=1e-4, atol=1e-3)


def _taps_of(size, k, p):
    from kiln.ndarray.ops import _conv_gemm as cg
    return cg.taps_for((size, size), (size, size), (k, k), (1, 1), (1, 1), (p, p))


@pytest.mark.parametrize("residual", [False, True])
def test_one_thread_runs_large_samples_a_few_at_a_time(residual, monkeypatch):
    """On one thread a batch of large samples runs in chunks (the blocked copies stay in
    cache): the same bits as one run over the batch, the residual cut alike."""
    rng = np.random.default_rng(8)
    x, w = _rand(rng, 7, B2, 8, 8), _rand(rng, B2, B2, 3, 3)
    res = _rand(rng, 7, B2, 8, 8) if residual else None
    shift = _rand(rng, B2)
    whole = _ort_nchwc.forward(x, w, _taps(), shift, None, res, "relu")
    runs, real = [], _ort_nchwc.ok.run_into
    monkeypatch.setattr(_ort_nchwc.ok, "run_into",
                        lambda sess, inputs, out: runs.append(out.shape[0]) or
                        real(sess, inputs, out))
    monkeypatch.setattr(_ort_nchwc.ok, "session_threads", lambda: 1)
    monkeypatch.setattr(_ort_nchwc, "CHUNK_MIN_SAMPLE_BYTES", x[0].nbytes)
    monkeypatch.setattr(_ort_nchwc, "CHUNK_BYTES", 3 * x[0].nbytes)
    chunked = _ort_nchwc.forward(x, w, _taps(), shift, None, res, "relu")
    assert runs == [3, 3, 1]
    np.testing.assert_array_equal(chunked, whole)


@pytest.mark.parametrize("shape", [(3, 5), (7,), (0, 4), (2, 3, 4)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int8])
def test_aligned_empty_starts_on_the_boundary(shape, dtype):
    from kiln.ndarray import _ort_kernels
    for _ in range(4):   # numpy's allocator hands out 16-byte aligned blocks
        a = _ort_kernels.aligned_empty(shape, dtype)
        assert a.shape == shape and a.dtype == dtype and a.flags.c_contiguous
        assert a.flags.writeable and (a.size == 0 or a.ctypes.data % _ort_kernels.ALIGN == 0)
        a[...] = 1
        assert (a == 1).all()


def test_the_kernels_get_aligned_weights_and_give_aligned_outputs(monkeypatch):
    """MLAS reads unaligned blocked weights ~1.4x slower: kiln's reorder and the route's
    outputs (the next layer's inputs) start on 64-byte boundaries."""
    from kiln.ndarray import _ort_kernels
    from kiln.ndarray.ops import _conv_gemm as cg
    rng = np.random.default_rng(2)
    x, w = _rand(rng, 4, B2, 6, 6), _rand(rng, B2, B2, 3, 3)
    taps = cg.taps_for((6, 6), (6, 6), (3, 3), (1, 1), (1, 1), (1, 1))
    seen = []
    run_into = _ort_kernels.run_into
    monkeypatch.setattr(_ort_kernels, "run_into",
                        lambda sess, inputs, out: seen.append(inputs["w"]) or
                        run_into(sess, inputs, out))
    for scale in (None, _rand(rng, B2)):
        y = _ort_nchwc.forward(x, w, taps, scale=scale, bias=_rand(rng, B2))
        assert y.ctypes.data % _ort_kernels.ALIGN == 0
    assert len(seen) == 2 and all(s.ctypes.data % _ort_kernels.ALIGN == 0 for s in seen)


def test_a_kept_weight_is_reordered_once_and_again_after_a_write(blocked_calls, monkeypatch):
    """A large weight on small maps (reordered on every call it would lose) takes the blocked
    kernels when its reorder is kept: once per weight, again after a write through kiln, and
    on every call while gradients are recorded."""
    from kiln import autograd
    reorders, real = [], _ort_nchwc.reorder
    monkeypatch.setattr(_ort_nchwc, "reorder", lambda *a: reorders.append(1) or real(*a))
    rng = np.random.default_rng(7)
    x = nd.array(_rand(rng, 64, 256, 4, 4))
    w = nd.array(_rand(rng, 256, 256, 3, 3, scale=0.05))
    _derived.mark(w._data)   # as Parameter.data() marks a parameter's array
    kw = dict(kernel=(3, 3), pad=(1, 1), num_filter=256, no_bias=True)
    ys = [nd.Convolution(x, w, **kw).asnumpy() for _ in range(3)]
    assert len(blocked_calls) == 3 and len(reorders) == 1
    assert ys[0].tobytes() == ys[2].tobytes()
    w[:] = w * 2                                   # a write drops the kept reorder
    np.testing.assert_allclose(nd.Convolution(x, w, **kw).asnumpy(), 2 * ys[0], rtol=1e-5,
                               atol=1e-4)
    assert len(reorders) == 2
    with autograd.record():
        nd.Convolution(x, w, **kw)
    assert len(reorders) == 2 and len(blocked_calls) == 4   # recording: the GEMM route
