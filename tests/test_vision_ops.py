"""MXNet 1.9.1's remaining vision and detection ops (MultiBoxTarget/Detection, ROI pooling and
alignment, resizing, sampling, proposals, deformable convolution) against real MXNet 1.9.1
(harness: tests/_mxnet_oracle.py); without MXNet the oracle cases skip. Gradients are checked
by float64 finite differences in tests/test_ops_registry.py.
"""
import numpy as np
import pytest
from _mxnet_oracle import Suite
from _oracle_suite import suite_tests
from kiln import contrib, nd, sym


def _boxes(rng, n, batch=(), lo=0.0, hi=0.7, wh=(0.1, 0.3)):
    xy = rng.uniform(lo, hi, size=batch + (n, 2))
    return np.concatenate([xy, xy + rng.uniform(*wh, size=batch + (n, 2))], -1)


def _labels(rng, b, m):
    lab = np.full((b, m, 5), -1.0)
    for i in range(b):
        for j in range(int(rng.integers(0, m + 1))):
            lab[i, j] = [rng.integers(0, 3), *_boxes(rng, 1, hi=0.6, wh=(0.1, 0.4))[0]]
    return lab


def _multibox_cases(s, rng):
    for t in range(6):
        an = s.arr(values=_boxes(rng, 12, (1,)))
        lab = s.arr(values=_labels(rng, 2, 4))
        pred = s.arr((2, 4, 12))
        kw = [{}, {"overlap_threshold": 0.3, "negative_mining_ratio": 2.0,
                   "negative_mining_thresh": 0.4},
              {"negative_mining_ratio": 1.0, "ignore_label": -2,
               "variances": (0.2, 0.2, 0.3, 0.3)}][t % 3]
        s.op("nd.contrib.MultiBoxTarget", an, lab, pred, **kw)
        prob = rng.uniform(0, 1, (2, 4, 12))
        prob = s.arr(values=prob / prob.sum(1, keepdims=True))
        loc = s.arr((2, 48), -0.5, 0.5)
        kw = [{}, {"clip": False, "threshold": 0.2, "nms_threshold": 0.3,
                   "force_suppress": True, "nms_topk": 3}, {"nms_topk": 5, "threshold": 0.3}][t % 3]
        s.op("nd.contrib.MultiBoxDetection", prob, loc, an, **kw)


def _rois(rng, r, batch, scale, h, w):
    lo = rng.uniform(-1, [w * 0.7, h * 0.7], (r, 2))
    wh = rng.uniform(0.3, [w * 0.6, h * 0.6], (r, 2))
    box = np.concatenate([rng.integers(0, batch, (r, 1)), lo, lo + wh], 1)
    return box / np.array([1, scale, scale, scale, scale])


def _roi_cases(s, rng):
    for t in range(4):
        ss = [1.0, 0.5, 0.25, 1.0][t]
        x = s.arr((2, 8, 7, 9), -1, 1)
        r = s.arr(values=_rois(rng, 5, 2, ss, 7, 9))
        s.op("nd.contrib.ROIAlign", x, r, pooled_size=(2, 2), spatial_scale=ss,
             sample_ratio=[-1, 2, -1, 1][t], aligned=bool(t % 2), _grad=[x["$"]])
        s.op("nd.contrib.ROIAlign", x, r, pooled_size=(2, 2), spatial_scale=ss,
             sample_ratio=[-1, 2, -1, 1][t], position_sensitive=True, aligned=bool(t // 2),
             _grad=[x["$"]])
        s.op("nd.ROIPooling", x, r, pooled_size=(3, 2), spatial_scale=ss, _grad=[x["$"]])
        s.op("nd.contrib.PSROIPooling", x, r, spatial_scale=ss, output_dim=2, pooled_size=2,
             _grad=[x["$"]])
        s.op("nd.contrib.PSROIPooling", x, r, spatial_scale=ss, output_dim=2, pooled_size=3,
             group_size=2, _grad=[x["$"]])
        rr = np.concatenate([rng.integers(0, 2, (4, 1)), rng.uniform(1, 7, (4, 2)),
                             rng.uniform(0.5, 6, (4, 2)), rng.uniform(-180, 180, (4, 1))], 1)
        s.op("nd.contrib.RROIAlign", x, s.arr(values=rr), pooled_size=(2, 3),
             spatial_scale=ss, sampling_ratio=[-1, 2, 1, -1][t])


def _resize_cases(s):
    x, x2 = s.arr((2, 3, 5, 6), -1, 1), s.arr((1, 2, 4, 7), -1, 1)
    for kw in ({"height": 9, "width": 4}, {"height": 3, "width": 11, "align_corners": False},
               {"height": 1, "width": 1}, {"scale_height": 1.7, "scale_width": 0.5},
               {"scale_height": 2.0, "scale_width": 3.0, "mode": "odd_scale"},
               {"mode": "to_even_down"}, {"mode": "to_even_up"}, {"mode": "to_odd_down"},
               {"mode": "to_odd_up", "align_corners": False}):
        s.op("nd.contrib.BilinearResize2D", x, _grad=True, **kw)
        s.op("nd.contrib.BilinearResize2D", x2, _grad=True, **kw)
    # MXNet 1.9.1 crashes (heap corruption) in this backward: outputs only
    s.op("nd.contrib.BilinearResize2D", x, s.arr((1, 1, 8, 3)), mode="like")
    # MXNet 1.9.1's AdaptiveAvgPooling2D backward corrupts its heap now and then: outputs only
    for kw in ({"output_size": (2, 3)}, {}, {"output_size": 4}, {"output_size": (5, 6)},
               {"output_size": (3,)}):
        s.op("nd.contrib.AdaptiveAvgPooling2D", x, **kw)


def _sampler_cases(s, rng):
    for _ in range(2):
        x = s.arr((2, 3, 5, 6), -1, 1)
        s.op("nd.BilinearSampler", x, s.arr((2, 2, 4, 7), -1.3, 1.3), _grad=True)
        th = s.arr(values=np.array([1, 0, 0, 0, 1, 0]) + rng.uniform(-0.3, 0.3, (2, 6)))
        s.op("nd.GridGenerator", th, transform_type="affine", target_shape=(4, 5), _grad=True)
        s.op("nd.GridGenerator", s.arr((2, 2, 4, 5)), transform_type="warp", _grad=True)
        s.op("nd.SpatialTransformer", x, th, target_shape=(4, 5), transform_type="affine",
             sampler_type="bilinear", _grad=True)


def _proposal_cases(s, rng):
    info = s.arr(values=[[70, 90, 1.0], [80, 85, 0.8]])
    for t in range(4):
        prob = s.arr((2, 12, 5, 6), 0, 1)
        bb = s.arr(values=rng.uniform(-0.4, 0.4, (2, 24, 5, 6)) * (10 if t == 3 else 1))
        kw = {"scales": (1.0, 2.0), "ratios": (0.5, 1.0, 2.0), "rpn_min_size": [4, 8][t % 2],
              "rpn_pre_nms_top_n": [50, -1, 30, 100][t], "rpn_post_nms_top_n": [10, 20, 40, 8][t],
              "threshold": [0.5, 0.3, 0.7, 0.6][t], "output_score": t != 1,
              "iou_loss": t == 3}
        s.op("nd.contrib.MultiProposal", prob, bb, info, **kw)
        s.op("nd.contrib.Proposal", s.arr((1, 12, 5, 6), 0, 1),
             s.arr(values=rng.uniform(-0.4, 0.4, (1, 24, 5, 6))), s.arr(values=[[70, 90, 1.0]]),
             **kw)


def _deformable_cases(s):
    # MXNet 1.9.1's ModulatedDeformableConvolution runs on GPUs only: DCNv1 here
    for kw in ({"kernel": (3, 3), "num_filter": 6, "num_group": 2, "num_deformable_group": 2,
                "pad": (1, 1)},
               {"kernel": (2, 2), "stride": (2, 2), "pad": (1, 1), "dilate": (2, 2),
                "num_filter": 3, "no_bias": True},
               {"kernel": (3, 3), "num_filter": 4, "stride": (1, 2)}):
        (kh, kw_), (sh, sw) = kw["kernel"], kw.get("stride", (1, 1))
        (dh, dw), (ph, pw) = kw.get("dilate", (1, 1)), kw.get("pad", (0, 0))
        oh = (6 + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        ow = (7 + 2 * pw - dw * (kw_ - 1) - 1) // sw + 1
        dg, g = kw.get("num_deformable_group", 1), kw.get("num_group", 1)
        args = [s.arr((2, 4, 6, 7), -1, 1), s.arr((2, 2 * dg * kh * kw_, oh, ow)),
                s.arr((kw["num_filter"], 4 // g, kh, kw_), -1, 1)]
        if not kw.get("no_bias"):
            args.append(s.arr((kw["num_filter"],), -1, 1))
        s.op("nd.contrib.DeformableConvolution", *args, _grad=True, **kw)


def _correlation_cases(s):
    for kw in ({}, {"kernel_size": 3, "max_displacement": 2, "stride1": 2, "stride2": 2,
                    "pad_size": 2},
               {"max_displacement": 2, "pad_size": 1, "is_multiply": False},
               {"kernel_size": 1, "max_displacement": 4, "stride2": 2, "pad_size": 4,
                "stride1": 3}):
        s.op("nd.Correlation", s.arr((2, 3, 7, 8)), s.arr((2, 3, 7, 8)), _grad=True, **kw)


def _dps_cases(s, rng):
    for t in range(3):
        ss = [1.0, 0.5, 1.0][t]
        x = s.arr((2, 8, 7, 9), -1, 1)
        lo = rng.uniform(0, [6 / ss, 5 / ss], (4, 2))
        box = np.concatenate([rng.integers(0, 2, (4, 1)), lo, lo + rng.uniform(1, 5 / ss, (4, 2))],
                             1)
        r = s.arr(values=box)
        kw = {"spatial_scale": ss, "output_dim": 2, "group_size": 2, "pooled_size": 2,
              "sample_per_part": t + 1, "trans_std": 0.1}
        tr = s.arr((4, 4, 2, 2), -0.5, 0.5)
        s.op("nd.contrib.DeformablePSROIPooling", x, r, tr, _grad=[x["$"], tr["$"]], **kw)
        s.op("nd.contrib.DeformablePSROIPooling", x, r, _grad=[x["$"]], no_trans=True, **kw)
        s.op("nd.contrib.DeformablePSROIPooling", x, r, s.arr((4, 2, 1, 1), -0.5, 0.5),
             spatial_scale=ss, output_dim=2, group_size=2, pooled_size=4, part_size=1,
             sample_per_part=2, trans_std=0.2, _grad=[x["$"]])


def _suite():
    s = Suite(seed=11)
    rng = np.random.default_rng(11)
    _multibox_cases(s, rng)
    _roi_cases(s, rng)
    _resize_cases(s)
    _sampler_cases(s, rng)
    _proposal_cases(s, rng)
    _deformable_cases(s)
    _correlation_cases(s)
    _dps_cases(s, rng)
    return s


SUITE = _suite()
mx_results, test_matches_mxnet = suite_tests(SUITE, "mxnet_vision")

CONTRIB = ["MultiBoxTarget", "MultiBoxDetection", "ROIAlign", "PSROIPooling", "RROIAlign",
           "DeformablePSROIPooling",
           "BilinearResize2D", "AdaptiveAvgPooling2D", "Proposal", "MultiProposal",
           "DeformableConvolution", "ModulatedDeformableConvolution"]


@pytest.mark.parametrize("name", CONTRIB)
def test_contrib_namespaces_expose_the_op(name):
    assert getattr(contrib.ndarray, name) is getattr(nd.contrib, name)
    assert callable(getattr(sym.contrib, name)) and callable(getattr(contrib.symbol, name))


def test_multibox_detection_honours_background_id():
    # MXNet 1.9.1's CPU kernel ignores background_id (class 0 is always the background)
    an = nd.array([[[0.1, 0.1, 0.3, 0.3]]])
    prob = nd.array([[[0.1], [0.5], [0.3], [0.1]]])
    out = nd.contrib.MultiBoxDetection(prob, nd.zeros((1, 4)), an, background_id=1)
    np.testing.assert_allclose(out.asnumpy()[0, 0, :2], [1, 0.3], rtol=1e-6)
    out = nd.contrib.MultiBoxDetection(prob, nd.zeros((1, 4)), an)
    np.testing.assert_allclose(out.asnumpy()[0, 0, :2], [0, 0.5], rtol=1e-6)


def test_multibox_target_minimum_negative_samples():
    an = nd.array([[[0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1, 1], [0, 0.5, 0.5, 1], [0.5, 0, 1, 0.5]]])
    lab = nd.array([[[0, 0, 0, 0.5, 0.5]]])
    _, _, cls = nd.contrib.MultiBoxTarget(an, lab, nd.zeros((1, 2, 4)),
                                          negative_mining_ratio=1.0,
                                          minimum_negative_samples=3)
    np.testing.assert_allclose(cls.asnumpy(), [[1, 0, 0, 0]])


def test_npx_multibox_ops_are_the_contrib_ops():
    from kiln import np as knp
    from kiln import npx
    an = knp.array([[[0.1, 0.1, 0.4, 0.4], [0.3, 0.3, 0.9, 0.8]]])
    lab = knp.array([[[1, 0.1, 0.1, 0.45, 0.4]]])
    outs = npx.multibox_target(an, lab, knp.zeros((1, 3, 2)))
    assert isinstance(outs[2], knp.ndarray)
    np.testing.assert_allclose(outs[2].asnumpy(), [[2, 0]])
    dets = npx.multibox_detection(knp.array([[[0.2, 0.6], [0.8, 0.4]]]), knp.zeros((1, 8)), an)
    np.testing.assert_allclose(dets.asnumpy()[0, :, :2], [[0, 0.8], [0, 0.4]], rtol=1e-6)


def test_roi_ops_in_the_nd_sym_and_npx_namespaces():
    from kiln import np as knp
    from kiln import npx
    x = np.arange(32, dtype=np.float32).reshape(1, 2, 4, 4)
    rois = np.array([[0, 0, 0, 3, 3]], np.float32)
    a = npx.roi_pooling(knp.array(x), knp.array(rois), pooled_size=(2, 2), spatial_scale=1.0)
    b = nd.ROIPooling(nd.array(x), nd.array(rois), pooled_size=(2, 2), spatial_scale=1.0)
    np.testing.assert_allclose(a.asnumpy(), b.asnumpy())
    np.testing.assert_allclose(b.asnumpy()[0, 0], [[5, 7], [13, 15]])
    y = sym.ROIPooling(sym.var("x"), sym.var("r"), pooled_size=(2, 2), spatial_scale=1.0)
    assert y.infer_shape(x=(1, 2, 4, 4), r=(3, 5))[1] == [(3, 2, 2, 2)]


def test_modulated_deformable_convolution_with_unit_mask_is_dcn_v1_inside_the_image():
    rng = np.random.default_rng(3)
    x, w = nd.array(rng.uniform(-1, 1, (1, 2, 6, 6))), nd.array(rng.uniform(-1, 1, (3, 2, 3, 3)))
    # taps move by 0.05..0.4 pixel towards the centre: every one stays inside [0, 5)
    i, j, oh, ow = np.meshgrid(np.arange(3), np.arange(3), np.arange(4), np.arange(4),
                               indexing="ij")
    sy = rng.uniform(0.05, 0.4, i.shape) * np.where(oh + i < 2.5, 1, -1)
    sx = rng.uniform(0.05, 0.4, j.shape) * np.where(ow + j < 2.5, 1, -1)
    off = nd.array(np.stack([sy, sx], 2).reshape(1, 18, 4, 4))
    a = nd.contrib.DeformableConvolution(x, off, w, kernel=(3, 3), num_filter=3, no_bias=True)
    b = nd.contrib.ModulatedDeformableConvolution(x, off, nd.ones((1, 9, 4, 4)), w,
                                                  kernel=(3, 3), num_filter=3, no_bias=True)
    np.testing.assert_allclose(a.asnumpy(), b.asnumpy(), rtol=1e-5, atol=1e-6)
    half = nd.contrib.ModulatedDeformableConvolution(x, off, nd.ones((1, 9, 4, 4)) * 0.5, w,
                                                     kernel=(3, 3), num_filter=3, no_bias=True)
    np.testing.assert_allclose(half.asnumpy(), 0.5 * b.asnumpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("modulated", [False, True])
def test_gluon_deformable_layers_start_as_a_convolution_and_train_their_offsets(modulated):
    from kiln import autograd, gluon
    from kiln.gluon.contrib import cnn
    cls = cnn.ModulatedDeformableConvolution if modulated else cnn.DeformableConvolution
    layer = cls(6, kernel_size=(3, 3), padding=(1, 1), num_deformable_group=2, in_channels=4)
    layer.initialize()
    x = nd.array(np.random.default_rng(0).uniform(-1, 1, (2, 4, 5, 5)))
    conv = gluon.nn.Conv2D(6, (3, 3), padding=(1, 1), in_channels=4)
    conv.initialize()
    conv.weight.set_data(layer.weight.data())
    np.testing.assert_allclose(layer(x).asnumpy(), conv(x).asnumpy(), rtol=1e-5, atol=1e-6)
    assert layer.offset_weight.shape == ((3 if modulated else 2) * 2 * 9, 4, 3, 3)
    with autograd.record():
        loss = (layer(x) ** 2).sum()
    loss.backward()
    assert np.abs(layer.offset_weight.grad().asnumpy()).sum() > 0
    eager = layer(x).asnumpy()
    layer.hybridize()
    np.testing.assert_allclose(layer(x).asnumpy(), eager, rtol=1e-5, atol=1e-6)
