"""erfinv, ravel_multi_index/unravel_index, khatri_rao, softmax_cross_entropy, the *_v1
aliases and contrib's gradientmultiplier/index_array/index_copy against real MXNet 1.9.1
(outputs and input gradients under a fixed head gradient; harness in tests/_mxnet_oracle.py).
"""
import _mxnet_oracle as oracle
import numpy as np
from _oracle_suite import suite_tests
from kiln import autograd, nd


def _suite():
    s = oracle.Suite(seed=21)
    s.op("nd.erfinv", s.arr((3, 4), lo=-0.99, hi=0.99), _grad=True)
    s.op("nd.erfinv", s.arr(values=[0.0, 0.999, -0.9999, 1.0, -1.0, 1.5]))
    s.op("nd.ravel_multi_index", s.arr(values=[[1, 2, 0], [0, 3, 1]]), shape=(3, 4))
    s.op("nd.ravel_multi_index", s.arr(values=[[1, 0], [2, 1], [3, 2]], dtype="int32"),
         shape=(2, 3, 4))
    s.op("nd.unravel_index", s.arr(values=[4, 11, 0]), shape=(3, 4))
    s.op("nd.unravel_index", s.arr(values=[23, 5], dtype="int32"), shape=(2, 3, 4))
    # MXNet registers no gradient for khatri_rao (kiln has one: the registry tests check it)
    s.op("nd.khatri_rao", s.arr((2, 3)), s.arr((4, 3)))
    s.op("nd.khatri_rao", s.arr((2, 2)), s.arr((3, 2)), s.arr((2, 2)))
    data = s.arr((4, 3))
    s.op("nd.softmax_cross_entropy", data, s.arr(values=[0, 2, 1, 2]), _grad=[data["$"]])
    x = s.arr((2, 3))
    s.op("nd.contrib.gradientmultiplier", x, scalar=-0.5, _grad=True)
    s.op("nd.contrib.index_array", s.arr((2, 3)))
    s.op("nd.contrib.index_array", s.arr((2, 3, 4)), axes=(0, -1))
    old, new = s.arr((5, 3)), s.arr((2, 3))
    s.op("nd.contrib.index_copy", old, s.arr(values=[0, 3], dtype="int64"), new,
         _grad=[old["$"], new["$"]])
    img = s.arr((2, 3, 5, 5))
    s.op("nd.Pooling_v1", img, kernel=(2, 2), stride=(2, 2), pool_type="max")
    s.op("nd.Pooling_v1", img, kernel=(3, 3), pool_type="avg", global_pool=True)
    s.op("nd.Convolution_v1", img, s.arr((4, 3, 3, 3)), s.arr((4,)), kernel=(3, 3),
         num_filter=4, pad=(1, 1), _grad=True)
    c3 = [s.arr((3,)), s.arr((3,)), s.arr((3,)), s.arr((3,), lo=0.5, hi=1.5)]
    s.op("nd.contrib.SyncBatchNorm", img, *c3, fix_gamma=False, use_global_stats=True,
         key="bn0")
    s.op("nd.contrib.BatchNormWithReLU", img, *c3, fix_gamma=False, use_global_stats=True)
    s.op("nd.contrib.SparseEmbedding", s.arr(values=[1, 3, 3]), s.arr((5, 2)), input_dim=5,
         output_dim=2)
    # random_pdf_*: parameters (2,), samples (2, 3); gradients for parameters and (continuous
    # distributions) samples
    cont = s.arr((2, 3), lo=0.2, hi=2.0)
    disc = s.arr(values=[[0, 1, 3], [2, 0, 5]])
    p1, p2 = s.arr((2,), lo=0.5, hi=1.5), s.arr((2,), lo=0.5, hi=1.5)
    prob = s.arr(values=[0.3, 0.6])
    for name, x, ps, wrt in (("normal", cont, (p1, p2), None), ("exponential", cont, (p1,), None),
                             ("gamma", cont, (p1, p2), None),
                             ("uniform", cont, (s.arr(values=[0.0, 0.1]), s.arr(values=[2.5, 3.0])),
                              None),
                             ("poisson", disc, (p1,), [p1]),
                             ("negative_binomial", disc, (p2, prob), [p2, prob]),
                             ("generalized_negative_binomial", disc, (p1, p2), [p1, p2])):
        grad = [a["$"] for a in (wrt or (x, *ps))]
        for is_log in (False, True):
            s.op(f"nd.random_pdf_{name}", x, *ps, is_log=is_log, _grad=grad)
    alpha = s.arr((2, 3), lo=0.5, hi=3.0)
    simplex = s.arr(values=[[[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]], [[0.6, 0.3, 0.1], [0.3, 0.3, 0.4]]])
    for is_log in (False, True):
        s.op("nd.random_pdf_dirichlet", simplex, alpha, is_log=is_log, _grad=True)
    s.op("nd.im2col", s.arr((2, 2, 4, 5)), kernel=(2, 3), _grad=True)
    s.op("nd.im2col", s.arr((1, 2, 5, 5)), kernel=(3, 3), stride=(2, 2), pad=(1, 1), _grad=True)
    s.op("nd.im2col", s.arr((1, 1, 6, 6)), kernel=(2, 2), dilate=(2, 2), pad=(1, 0), _grad=True)
    s.op("nd.col2im", s.arr((2, 12, 9)), output_size=(4, 5), kernel=(2, 3), _grad=True)
    s.op("nd.col2im", s.arr((1, 18, 9)), output_size=(5, 5), kernel=(3, 3), stride=(2, 2),
         pad=(1, 1), _grad=True)
    s.op("nd.LRN", s.arr((2, 5, 2, 3)), nsize=3, _grad=True)
    s.op("nd.LRN", s.arr((1, 6, 3, 2)), nsize=5, alpha=0.5, beta=0.6, knorm=1.5, _grad=True)
    crop_in = s.arr((2, 3, 5, 6))
    s.op("nd.Crop", crop_in, h_w=(3, 4), offset=(1, 2), _grad=True)
    s.op("nd.Crop", crop_in, h_w=(4, 3), center_crop=True, _grad=True)
    s.op("nd.Crop", crop_in, s.arr((1, 1, 2, 3)), num_args=2, center_crop=True,
         _grad=[crop_in["$"]])
    return s


SUITE = _suite()
mx_results, test_matches_mxnet = suite_tests(SUITE, "mxnet_misc_ops")


def test_gradientmultiplier_scales_only_the_gradient():
    x = nd.array([1.0, -2.0])
    x.attach_grad()
    with autograd.record():
        y = nd.contrib.gradientmultiplier(x, scalar=-1.0)
    y.backward(nd.array([1.0, 3.0]))
    np.testing.assert_allclose(y.asnumpy(), [1.0, -2.0])
    np.testing.assert_allclose(x.grad.asnumpy(), [-1.0, -3.0])


def test_erfinv_inverts_erf():
    x = np.linspace(-0.999, 0.999, 41)
    y = nd.erfinv(nd.array(x, dtype="float64"))
    np.testing.assert_allclose(nd.erf(y).asnumpy(), x, atol=1e-6)


def test_symbol_contrib_quadratic():
    from kiln import sym
    out = sym.contrib.quadratic(sym.var("x"), a=1.0, b=2.0, c=3.0)
    np.testing.assert_allclose(out.eval(x=nd.array([1.0, 2.0]))[0].asnumpy(), [6.0, 11.0])
