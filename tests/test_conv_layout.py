"""Channels-last convolution paths (ndarray/ops/_conv_layout.py) against the reference paths.

The depthwise kernel is compared with the direct-loop reference in float64 (the kernel runs
any float dtype; the dispatcher sends only float32 to it), the dispatched float32 results with
the same convolution with the paths turned off (``_conv_layout.ENABLED``), for NCHW and for
channels-last data, and a hybridized MobileNetV2 with and without them.
"""
import numpy as np
import pytest
from kiln import nd
from kiln.ndarray.ops import _conv_gemm as cg
from kiln.ndarray.ops import _conv_layout as layout
from kiln.ndarray.ops import _depthwise as dw
from kiln.ndarray.ops import _pointwise as pw
from kiln.ndarray.ops.conv import _conv_ref


def _channels_last(x):
    """The same values, memory NHWC (what the channels-last kernels write)."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def _taps(x, ref, kernel, stride, dilate, pad):
    return cg.taps_for(x.shape[2:], ref.shape[2:], kernel, stride, dilate, pad)


# (N, C, H, W, kernel, stride, dilate, pad)
DEPTHWISE = [
    (2, 5, 7, 6, (3, 3), (1, 1), (1, 1), (1, 1)),
    (1, 7, 9, 8, (3, 3), (2, 2), (1, 1), (1, 1)),
    (3, 3, 6, 5, (3, 3), (2, 2), (2, 2), (2, 2)),   # dilated taps: one group per tap
    (1, 4, 5, 5, (3, 3), (1, 1), (1, 1), (0, 0)),
    (2, 6, 4, 7, (3, 3), (1, 2), (2, 1), (2, 0)),
    (1, 4, 3, 4, (5, 5), (1, 1), (1, 1), (2, 2)),
    (2, 3, 8, 7, (3, 1), (3, 2), (1, 1), (1, 0)),
]


@pytest.mark.parametrize("case", DEPTHWISE)
@pytest.mark.parametrize("bias", [True, False])
def test_depthwise_channels_last_matches_reference(monkeypatch, case, bias):
    """float64 against the direct loops, NCHW and channels-last data, row blocks of one row
    and of the whole map, and a second call over the cached planes."""
    n, c, h, w_, kernel, stride, dilate, pad = case
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, c, h, w_))
    w = rng.standard_normal((c, 1) + kernel)
    b = rng.standard_normal(c) if bias else None
    ref = _conv_ref(x, w, b, kernel=kernel, stride=stride, dilate=dilate, pad=pad,
                    num_filter=c, num_group=c)
    taps = _taps(x, ref, kernel, stride, dilate, pad)
    for block in (1, 1 << 17):
        monkeypatch.setattr(dw, "CL_BLOCK_ELEMS", block)
        for data in (x, _channels_last(x), x):
            y = dw.forward_channels_last(data, w, taps, b)
            assert dw.is_channels_last(y) and y.shape == ref.shape
            np.testing.assert_allclose(y, ref, atol=1e-12)


@pytest.mark.parametrize("bias", [True, False])
def test_pointwise_matches_reference(bias):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 5, 4, 6))
    w = rng.standard_normal((7, 5, 1, 1))
    b = rng.standard_normal(7) if bias else None
    ref = _conv_ref(x, w, b, kernel=(1, 1), num_filter=7)
    for data in (x, _channels_last(x)):
        y = pw.forward(data, w, b)
        assert dw.is_channels_last(y)
        np.testing.assert_allclose(y, ref, atol=1e-12)
        y = pw.forward_nchw(data, w, b)
        assert y.flags.c_contiguous
        np.testing.assert_allclose(y, ref, atol=1e-12)


def _conv(x, w, b, **attrs):
    args = [nd.array(x, dtype=x.dtype), nd.array(w, dtype=w.dtype)]
    if b is not None:
        args.append(nd.array(b, dtype=b.dtype))
    return nd.Convolution(*args, no_bias=b is None, **attrs).asnumpy()


@pytest.mark.parametrize("kind", ["depthwise", "depthwise/2", "pointwise"])
@pytest.mark.parametrize("n", [1, 3])
def test_dispatch_float32_equals_generic_path(monkeypatch, kind, n):
    """nd.Convolution through the channels-last paths equals it without them, for NCHW and
    channels-last data (small maps switch layout; the result keeps the values)."""
    rng = np.random.default_rng(4)
    c, f = 6, (6 if kind.startswith("depthwise") else 5)
    x = rng.standard_normal((n, c, 9, 7)).astype(np.float32)
    if kind == "pointwise":
        w, attrs = rng.standard_normal((f, c, 1, 1)), dict(kernel=(1, 1), num_filter=f)
    else:
        w = rng.standard_normal((c, 1, 3, 3))
        attrs = dict(kernel=(3, 3), pad=(1, 1), num_filter=c, num_group=c,
                     stride=(2, 2) if kind.endswith("/2") else (1, 1))
    w, b = w.astype(np.float32), rng.standard_normal(f).astype(np.float32)
    for data in (x, _channels_last(x)):
        for bias in (b, None):
            monkeypatch.setattr(layout, "ENABLED", False)
            ref = _conv(data, w, bias, **attrs)
            monkeypatch.setattr(layout, "ENABLED", True)
            np.testing.assert_allclose(_conv(data, w, bias, **attrs), ref, rtol=1e-5,
                                       atol=1e-5)


def test_reference_path_keeps_float64_and_large_maps_stay_nchw():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((4, 1, 3, 3))
    x64 = rng.standard_normal((1, 4, 6, 6))
    taps = cg.taps_for((6, 6), (6, 6), (3, 3), (1, 1), (1, 1), (1, 1))
    assert layout.forward(np, x64, w, taps, 4) is None                      # float64
    big = rng.standard_normal((2, 4, 40, 40)).astype(np.float32)
    taps_big = cg.taps_for((40, 40), (40, 40), (3, 3), (1, 1), (1, 1), (1, 1))
    ref = _conv_ref(big, w, kernel=(3, 3), pad=(1, 1), num_filter=4, num_group=4)
    y = layout.forward(np, big, w.astype(np.float32), taps_big, 4)
    assert y.flags.c_contiguous                                              # NCHW, 40x40
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    y = layout.forward(np, _channels_last(big), w.astype(np.float32), taps_big, 4)
    assert dw.is_channels_last(y)                                            # stays NHWC
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    w1 = rng.standard_normal((3, 4, 1, 1)).astype(np.float32)
    taps_1 = cg.taps_for((40, 40), (40, 40), (1, 1), (1, 1), (1, 1), (0, 0))
    assert layout.forward(np, big[:1], w1, taps_1, 1) is None               # batch 1: BLAS
    y = layout.forward(np, big, w1, taps_1, 1)
    assert y.flags.c_contiguous
    np.testing.assert_allclose(y, _conv_ref(big, w1, kernel=(1, 1), num_filter=3),
                               rtol=1e-5, atol=1e-5)


def test_empty_batch():
    x = np.zeros((0, 4, 5, 5), np.float32)
    w = np.ones((4, 1, 3, 3), np.float32)
    taps = cg.taps_for((5, 5), (5, 5), (3, 3), (1, 1), (1, 1), (1, 1))
    assert layout.forward(np, x, w, taps, 4) is None
    assert dw.forward_channels_last(x, w, taps).shape == (0, 4, 5, 5)


@pytest.mark.parametrize("model", ["mobilenetv2_0.25", "mobilenet0.25"])
def test_hybridized_mobilenets_same_with_and_without(monkeypatch, model):
    """A whole network (depthwise, pointwise, folded BatchNorm with its ReLU or a separate
    ReLU6, residual adds, pooling) gives the same predictions with the channels-last paths
    on and off."""
    import kiln
    from kiln.model_zoo import vision
    net = vision.get_model(model, classes=10)
    net.initialize(kiln.init.Xavier())
    net.hybridize()
    x = nd.array(np.random.default_rng(6).standard_normal((2, 3, 64, 64)).astype(np.float32))
    out = {}
    for on in (False, True):
        monkeypatch.setattr(layout, "ENABLED", on)
        out[on] = net(x).asnumpy()
    np.testing.assert_allclose(out[True], out[False], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["depthwise", "depthwise-nchw", "pointwise", "pointwise-cl",
                                  "pointwise-nchw"])
def test_epilogue_runs_once_per_sample_in_place(monkeypatch, kind):
    """The epilogue sees every sample exactly once, as a view of the result it edits."""
    monkeypatch.setattr(pw, "BLOCK_BYTES", 1)   # one sample a block for channels-last data
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 4, 5, 5))
    if kind == "pointwise-cl":
        x = _channels_last(x)
    w = rng.standard_normal((4, 1, 3, 3) if kind.startswith("depthwise") else (6, 4, 1, 1))
    seen = []

    def double(y, lo, hi):
        seen.append((lo, hi))
        y *= 2

    taps = cg.taps_for((5, 5), (5, 5), (3, 3), (1, 1), (1, 1), (1, 1))
    if kind == "depthwise":
        y, ref = dw.forward_channels_last(x, w, taps, None, double), \
            dw.forward_channels_last(x, w, taps)
    elif kind == "depthwise-nchw":
        y, ref = dw.forward_blocked(x, w, taps, None, double), dw.forward_blocked(x, w, taps)
    elif kind == "pointwise-nchw":
        y, ref = pw.forward_nchw(x, w, None, double), pw.forward_nchw(x, w)
    else:
        y, ref = pw.forward(x, w, None, double), pw.forward(x, w)
    assert sorted(seen) == [(0, 1), (1, 2), (2, 3)]
    np.testing.assert_allclose(y, 2 * ref, atol=1e-12)
