"""The detection ops of ``nd.contrib`` (box_iou, box_nms, box_encode, box_decode,
bipartite_matching, MultiBox*) against real MXNet 1.9.1 (harness: tests/_mxnet_oracle.py),
plus the namespaces that expose them. Without MXNet the oracle cases skip.
"""
import numpy as np
import pytest
from _mxnet_oracle import Suite
from _oracle_suite import suite_tests
from kiln import autograd, contrib, nd, sym


def _boxes(s, n, batch=(), lo=0.0, hi=0.6):
    rng = np.random.default_rng(n * 7 + len(batch))
    xy = rng.uniform(lo, hi, size=batch + (n, 2))
    wh = rng.uniform(0.1, 0.5, size=batch + (n, 2))
    return np.concatenate([xy, xy + wh], -1).astype(np.float32)


def _suite():
    s = Suite(seed=5)
    a, b = s.arr(values=_boxes(s, 4)), s.arr(values=_boxes(s, 3, (2,)))
    s.op("nd.contrib.box_iou", a, b)
    s.op("nd.contrib.box_iou", a, b, format="center")
    boxes = _boxes(s, 8, (2,))
    boxes[:, 1] = boxes[:, 0] + 0.03
    boxes[:, 5] = boxes[:, 4] - 0.02
    score = np.random.default_rng(3).permutation(np.linspace(0.05, 0.95, 16)).reshape(2, 8, 1)
    cls = np.array([0, 1, 0, 1, 2, 2, 0, 1], np.float32).reshape(1, 8, 1).repeat(2, 0)
    dets = s.arr(values=np.concatenate([cls, score, boxes], -1).astype(np.float32))
    for kw in ({}, {"id_index": 0}, {"id_index": 0, "force_suppress": True, "topk": 5},
               {"overlap_thresh": 0.2, "valid_thresh": 0.3, "id_index": 0, "background_id": 2},
):
        s.op("nd.contrib.box_nms", dets, coord_start=2, score_index=1, _grad=True, **kw)
    # MXNet copies the gradient back unconverted across formats (wrong); kiln's finite
    # differences check that gradient in tests/test_ops_registry.py: compare outputs only
    s.op("nd.contrib.box_nms", dets, coord_start=2, score_index=1, out_format="center")
    s.op("nd.contrib.box_nms", dets, coord_start=2, score_index=1, in_format="center",
         overlap_thresh=0.3)
    s.op("nd.contrib.box_non_maximum_suppression", dets, coord_start=2, score_index=1)
    anchors = s.arr(values=_boxes(s, 5, (2,)))
    refs = s.arr(values=_boxes(s, 3, (2,)))
    s.op("nd.contrib.box_encode", s.arr(values=[[1, -1, 1, 0, 1], [0, 1, 1, 1, -1]]),
         s.arr(values=[[2, 0, 1, 0, 0], [1, 2, 0, 1, 0]]), anchors, refs,
         s.arr(values=[0, 0.1, 0, -0.1]), s.arr(values=[0.1, 0.1, 0.2, 0.2]))
    off = s.arr((2, 5, 4), lo=-1, hi=1)
    one = s.arr(values=_boxes(s, 5, (1,)))
    s.op("nd.contrib.box_decode", off, one)
    s.op("nd.contrib.box_decode", off, one, std0=0.1, std1=0.1, std2=0.2, std3=0.2, clip=0.5,
         format="corner")
    scores = s.arr((2, 5, 4), lo=0, hi=1)
    for kw in ({"threshold": 0.1}, {"threshold": 0.3, "topk": 2},
               {"threshold": 0.6, "is_ascend": True}):
        s.op("nd.contrib.bipartite_matching", scores, **kw)
    s.op("nd.contrib.MultiBoxPrior", s.arr((1, 2, 2, 3)), sizes=(0.5, 0.25),
         ratios=(1.0, 2.0, 0.5))
    s.op("nd.contrib.MultiBoxPrior", s.arr((2, 1, 3, 4)), sizes=(0.9,), clip=True,
         steps=(0.3, 0.2), offsets=(0.2, 0.7))
    return s


SUITE = _suite()
mx_results, test_matches_mxnet = suite_tests(SUITE, "mxnet_detection")


@pytest.mark.parametrize("name", ["box_iou", "box_nms", "box_non_maximum_suppression",
                                  "box_encode", "box_decode", "bipartite_matching",
                                  "MultiBoxPrior"])
def test_contrib_namespaces_expose_the_op(name):
    assert getattr(contrib.ndarray, name) is getattr(nd.contrib, name)
    assert callable(getattr(sym.contrib, name)) and callable(getattr(contrib.symbol, name))


def test_box_nms_pads_with_minus_one_and_routes_gradients_back():
    d = nd.array([[0, .9, 0, 0, 1, 1], [0, .8, .1, .1, 1, 1], [1, .7, 0, 0, 1, 1]])
    d.attach_grad()
    with autograd.record():
        out = nd.contrib.box_nms(d, overlap_thresh=0.5, id_index=0)
    out.backward(nd.ones((3, 6)))
    np.testing.assert_allclose(out.asnumpy()[2], -1)
    np.testing.assert_allclose(d.grad.asnumpy()[:, 0], [1, 0, 1])


def test_box_nms_in_a_symbol_graph():
    x = sym.var("x")
    y = sym.contrib.box_nms(x, overlap_thresh=0.5, id_index=0)
    assert y.infer_shape(x=(2, 4, 6))[1] == [(2, 4, 6)]


def test_npx_multibox_prior_is_the_contrib_op():
    from kiln import np as knp
    from kiln import npx
    a = npx.multibox_prior(knp.zeros((1, 3, 2, 2)), sizes=(0.5,))
    b = nd.contrib.MultiBoxPrior(nd.zeros((1, 3, 2, 2)), sizes=(0.5,))
    np.testing.assert_allclose(a.asnumpy(), b.asnumpy())
