"""Convolution kernels against a direct-loop reference, over awkward geometries.

The forward is compared with a loop over output positions (no im2col, no shifted views); the
data and weight gradients (``deconvolution`` and ``_conv_weight_grad``) are checked as the
adjoints of the forward: ``<conv(x, w), gy> == <x, dX(gy, w)> == <w, dW(x, gy)>``.
"""
import itertools

import numpy as np
import pytest
from kiln import nd


def _nd(a):
    return nd.array(a, dtype=a.dtype)

# (N, C, spatial, F, kernel, stride, dilate, pad, groups)
CASES = [
    (2, 3, (7, 6), 4, (3, 3), (1, 1), (1, 1), (1, 1), 1),
    (2, 4, (9, 8), 6, (3, 3), (2, 2), (1, 1), (1, 1), 2),
    (1, 6, (5, 7), 6, (3, 3), (1, 2), (1, 1), (1, 0), 6),      # depthwise
    (2, 4, (8, 8), 8, (3, 3), (2, 2), (1, 1), (1, 1), 4),      # depthwise, multiplier 2
    (2, 5, (6, 5), 7, (1, 1), (1, 1), (1, 1), (0, 0), 1),      # 1x1
    (3, 4, (5, 5), 3, (1, 1), (2, 2), (1, 1), (0, 0), 1),      # strided 1x1
    (3, 5, (9, 8), 7, (1, 1), (1, 1), (1, 1), (0, 0), 1),      # 1x1, per-sample products
    (1, 6, (3, 5), 4, (1, 1), (1, 1), (1, 1), (0, 0), 1),      # 1x1, batch 1
    (2, 4, (5, 5), 6, (1, 1), (1, 1), (1, 1), (0, 0), 2),      # grouped 1x1
    (2, 3, (1, 1), 5, (3, 3), (1, 1), (1, 1), (1, 1), 1),      # 1x1 map: 8 of 9 taps padding
    (2, 2, (2, 3), 3, (3, 3), (2, 2), (1, 1), (2, 2), 1),      # taps entirely in the padding
    (2, 3, (11, 9), 2, (3, 2), (2, 3), (2, 1), (2, 1), 1),     # dilation, odd everything
    (1, 3, (13, 13), 4, (7, 7), (2, 2), (1, 1), (3, 3), 1),    # the 7x7/2 stem
    (2, 4, (9,), 4, (3,), (2,), (2,), (1,), 2),                # 1-D
    (1, 2, (4, 5, 3), 3, (2, 3, 2), (2, 1, 1), (1, 1, 2), (1, 1, 0), 1),  # 3-D
    (2, 6, (6, 5), 6, (5, 5), (1, 1), (1, 1), (2, 2), 6),      # depthwise 5x5
    (2, 4, (7, 7), 4, (3, 3), (3, 3), (2, 2), (2, 2), 4),      # depthwise, stride 3, dilation
    (2, 3, (8, 7), 6, (3, 3), (2, 2), (1, 1), (1, 1), 3),      # strided depthwise, m = 2
    (2, 6, (6, 6), 4, (3, 3), (1, 1), (1, 1), (1, 1), 2),      # grouped, 3 channels a group
    (2, 2, (5, 6), 3, (3, 3), (1, 1), (1, 1), (4, 3), 1),      # padding beyond the kernel
    (2, 5, (7, 6), 5, (3, 1), (1, 1), (2, 1), (2, 0), 5),      # depthwise 3x1, dilated
    (1, 3, (4, 5), 3, (3, 3), (1, 1), (1, 1), (0, 0), 3),      # depthwise, no padding
    (2, 3, (5, 4), 3, (2, 2), (1, 1), (1, 1), (3, 1), 3),      # depthwise, pad past kernel
    (2, 4, (9, 7), 4, (3, 3), (2, 2), (1, 1), (1, 1), 4),      # depthwise /2, odd sizes
    (1, 3, (6, 5), 3, (5, 5), (2, 2), (1, 1), (2, 2), 3),      # depthwise 5x5 /2
    (2, 2, (8, 6), 2, (3, 3), (2, 2), (2, 2), (0, 1), 2),      # depthwise /2, dilated
    (2, 4, (2, 2), 6, (3, 3), (2, 2), (1, 1), (1, 1), 1),      # 4 of 9 taps: the whole weight
    (3, 4, (2, 3), 6, (3, 3), (2, 2), (1, 1), (1, 1), 2),      # the same, grouped
]


def _ref_conv(x, w, stride, dilate, pad, g):
    """Loop over every output position: the definition of a cross-correlation."""
    n, c = x.shape[:2]
    f, cg = w.shape[:2]
    k = w.shape[2:]
    sp = x.shape[2:]
    out = tuple((s + 2 * p - d * (kk - 1) - 1) // st + 1
                for s, p, d, kk, st in zip(sp, pad, dilate, k, stride))
    y = np.zeros((n, f) + out)
    fg = f // g
    for o in itertools.product(*map(range, out)):
        for kidx in itertools.product(*map(range, k)):
            pos = [oi * st + ki * d - p for oi, st, ki, d, p in zip(o, stride, kidx, dilate, pad)]
            if any(q < 0 or q >= s for q, s in zip(pos, sp)):
                continue
            for grp in range(g):
                xs = x[(slice(None), slice(grp * cg, (grp + 1) * cg)) + tuple(pos)]  # (N, Cg)
                ws = w[(slice(grp * fg, (grp + 1) * fg), slice(None)) + kidx]       # (Fg, Cg)
                y[(slice(None), slice(grp * fg, (grp + 1) * fg)) + o] += xs @ ws.T
    return y


def _attrs(case):
    _, _, _, f, k, s, d, p, g = case
    return dict(kernel=k, stride=s, dilate=d, pad=p, num_group=g)


def _inputs(case, dtype, seed=0):
    n, c, sp, f, k, *_, g = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c) + sp).astype(dtype)
    w = rng.standard_normal((f, c // g) + k).astype(dtype)
    return x, w


@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forward_matches_loops(case, dtype):
    x, w = _inputs(case, dtype)
    a = _attrs(case)
    y = nd.Convolution(_nd(x), _nd(w), num_filter=w.shape[0], no_bias=True, **a)
    assert y.dtype == dtype
    ref = _ref_conv(x.astype(np.float64), w.astype(np.float64), a["stride"], a["dilate"],
                    a["pad"], a["num_group"])
    tol = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(y.asnumpy(), ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_gradients_are_adjoints(case):
    x, w = _inputs(case, np.float64)
    a = _attrs(case)
    ref = _ref_conv(x, w, a["stride"], a["dilate"], a["pad"], a["num_group"])
    gy = np.random.default_rng(1).standard_normal(ref.shape)
    kw = {k: v for k, v in a.items() if k != "num_group"}
    adj = [xs - ((o - 1) * s + d * (k - 1) + 1 - 2 * p) for xs, o, s, d, k, p in
           zip(x.shape[2:], ref.shape[2:], a["stride"], a["dilate"], a["kernel"], a["pad"])]
    dx = nd.Deconvolution(_nd(gy), _nd(w), adj=tuple(adj), num_filter=x.shape[1],
                          num_group=a["num_group"], **kw).asnumpy()
    dw = nd._conv_weight_grad(_nd(x), _nd(gy), **a).asnumpy()
    assert dx.shape == x.shape and dw.shape == w.shape
    inner = float((ref * gy).sum())
    np.testing.assert_allclose(float((x * dx).sum()), inner, rtol=1e-10)
    np.testing.assert_allclose(float((w * dw).sum()), inner, rtol=1e-10)
    # and entry by entry against the loop reference's own adjoint (one unit vector per check)
    for idx in [(0,) * x.ndim, tuple(s - 1 for s in x.shape)]:
        e = np.zeros_like(x)
        e[idx] = 1.0
        want = float((_ref_conv(e, w, a["stride"], a["dilate"], a["pad"], a["num_group"])
                      * gy).sum())
        np.testing.assert_allclose(dx[idx], want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", CASES[:4] + CASES[6:8], ids=str)
def test_autograd_gradients_match_adjoint_ops(case):
    """The recorded backward (the ops' grad facets) gives the same as calling the ops."""
    from kiln import autograd
    x, w = _inputs(case, np.float64)
    a = _attrs(case)
    xa, wa = _nd(x), _nd(w)
    xa.attach_grad()
    wa.attach_grad()
    with autograd.record():
        y = nd.Convolution(xa, wa, num_filter=w.shape[0], no_bias=True, **a)
    gy = np.random.default_rng(2).standard_normal(y.shape)
    y.backward(_nd(gy))
    dw = nd._conv_weight_grad(_nd(x), _nd(gy), **a).asnumpy()
    np.testing.assert_allclose(wa.grad.asnumpy(), dw, rtol=1e-10, atol=1e-12)
    inner = float((y.asnumpy() * gy).sum())
    np.testing.assert_allclose(float((xa.grad.asnumpy() * x).sum()), inner, rtol=1e-10)


def test_deconvolution_odd_output_sizes():
    """Deconvolution with adj and target_shape: compare with the adjoint of the loop conv."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 3, 5))
    w = rng.standard_normal((4, 3, 3, 3))    # (Cin, F/g, K) with g = 2 -> F = 6
    y = nd.Deconvolution(_nd(x), _nd(w), kernel=(3, 3), stride=(2, 3), pad=(1, 2),
                         adj=(1, 2), num_filter=6, num_group=2).asnumpy()
    # y is the data gradient of a conv (6 -> 4 channels, 2 groups) whose output is x
    conv_w = w                                # conv weight (F=4, C/g=3, K)
    gy = rng.standard_normal(y.shape)
    fwd = _ref_conv(gy, conv_w, (2, 3), (1, 1), (1, 2), 2)
    assert fwd.shape == x.shape
    np.testing.assert_allclose(float((y * gy).sum()), float((fwd * x).sum()), rtol=1e-10)


@pytest.mark.parametrize("case", [c for c in CASES if c[-1] > 1 and c[1] == c[-1]], ids=str)
def test_depthwise_channel_blocks(case, monkeypatch):
    """The flat depthwise kernel walks channels in cache-sized blocks: one channel a block."""
    from kiln.ndarray.ops import _depthwise
    monkeypatch.setattr(_depthwise, "_BLOCK_BYTES", 1)
    test_forward_matches_loops(case, np.float64)
    test_gradients_are_adjoints(case)


@pytest.mark.parametrize("case", [CASES[0], CASES[1], CASES[2], CASES[4], CASES[6]], ids=str)
def test_empty_batch(case):
    """A batch of 0 gives empty outputs and zero weight gradients (no reshape of -1 over 0)."""
    from kiln import autograd
    x, w = _inputs(case, np.float32)
    xa, wa = _nd(x[:0]), _nd(w)
    xa.attach_grad()
    wa.attach_grad()
    with autograd.record():
        y = nd.Convolution(xa, wa, num_filter=w.shape[0], no_bias=True, **_attrs(case))
    y.backward()
    assert y.shape[0] == 0 and xa.grad.shape == xa.shape
    assert not wa.grad.asnumpy().any()


@pytest.mark.parametrize("stride,dilate,pad", [((1, 1), (1, 1), (1, 1)), ((2, 2), (1, 1), (1, 1)),
                                               ((1, 2), (2, 1), (2, 0)), ((3, 2), (1, 2), (0, 1))])
def test_depthwise_blocked_matches_reference(monkeypatch, stride, dilate, pad):
    """The per-block depthwise forward (stride-phase planes) equals the reference, with
    channel blocks smaller than the channel count and a batch of several samples."""
    from kiln.ndarray.ops import _conv_gemm as cg
    from kiln.ndarray.ops import _depthwise as dw
    from kiln.ndarray.ops.conv import _conv_ref
    monkeypatch.setattr(dw, "BLOCK_ELEMS", 40)
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((3, 7, 9, 8)), rng.standard_normal((7, 1, 3, 3)), \
        rng.standard_normal(7)
    attrs = dict(kernel=(3, 3), stride=stride, dilate=dilate, pad=pad, num_filter=7,
                 num_group=7)
    ref = _conv_ref(x, w, b, **attrs)
    taps = cg.taps_for((9, 8), ref.shape[2:], (3, 3), stride, dilate, pad)
    assert dw.blocked_ok(np, x, w, taps, 7)
    for _ in range(2):  # the second call reuses the cached zero-bordered planes
        np.testing.assert_allclose(dw.forward_blocked(x, w, taps, b), ref, atol=1e-12)


@pytest.mark.parametrize("shape,kw", [((4, 6, 1, 1), dict(pad=(1, 1))),
                                      ((2, 3, 1, 5), dict(pad=(2, 0), kernel=(5, 3))),
                                      ((2, 3, 2, 2), dict(pad=(1, 1), stride=(2, 2)))], ids=str)
@pytest.mark.parametrize("block_bytes", [1 << 18, 1], ids=["one block", "a block per filter"])
def test_weight_gradient_over_data_taps_only(shape, kw, block_bytes, monkeypatch):
    """A weight gradient whose data touches few kernel offsets (a 3x3 kernel on a 1x1 map)
    multiplies those columns alone and zeroes the rest (a block of filters at a time); the
    same numbers as the whole-kernel product, also written into a caller's buffer (the
    compiled backward's .grad)."""
    import importlib
    cg = importlib.import_module("kiln.ndarray.ops._conv_gemm")
    monkeypatch.setattr(cg, "SPARSE_BLOCK_BYTES", block_bytes)
    kw = {"kernel": (3, 3), **kw}
    rng = np.random.default_rng(3)
    x = rng.normal(size=shape)
    y = nd.Convolution(_nd(x), _nd(rng.normal(size=(5, shape[1]) + kw["kernel"])),
                       num_filter=5, no_bias=True, **kw)
    gy = rng.normal(size=y.shape)
    calls = []
    real = cg._weight_grad_sparse
    monkeypatch.setattr(cg, "_weight_grad_sparse", lambda *a: calls.append(1) or real(*a))
    sparse = nd._conv_weight_grad(_nd(x), _nd(gy), **kw).asnumpy()
    out = np.full(sparse.shape, np.nan)
    taps = cg.taps_for(shape[2:], y.shape[2:], kw["kernel"], kw.get("stride", (1, 1)), (1, 1),
                       kw["pad"])
    assert cg.conv_weight_grad(np, x, gy, taps, 1, out) is out
    monkeypatch.setattr(cg, "SPARSE_TAPS", 10 ** 6)
    whole = nd._conv_weight_grad(_nd(x), _nd(gy), **kw).asnumpy()
    np.testing.assert_allclose(sparse, whole, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out, whole, rtol=1e-12, atol=1e-12)
    assert len(calls) == (2 if len(taps.taps) * 4 <= np.prod(kw["kernel"]) else 0)
