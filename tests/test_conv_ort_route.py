"""Convolutions with small weights over many output positions run onnxruntime's Conv kernel
(ndarray/_ort_conv.py): the same values as kiln's im2col GEMM to float32 rounding, eagerly,
fused with BatchNorm/ReLU in inference graphs, in training (forward and the stride-1 data
gradient), and the shapes it loses on stay on the GEMM."""
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
from kiln.ndarray import _ort_conv


@pytest.fixture
def ort_calls(monkeypatch):
    return record_calls(monkeypatch, _ort_conv, "forward")



@pytest.mark.parametrize("shape,wshape,kw", [
    ((4, 3, 20, 20), (8, 3, 7, 7), dict(kernel=(7, 7), stride=(2, 2), pad=(3, 3))),
    ((3, 16, 8, 8), (16, 16, 3, 3), dict(kernel=(3, 3), pad=(1, 1))),
    ((2, 8, 12, 10), (6, 8, 3, 3), dict(kernel=(3, 3), dilate=(2, 2), pad=(2, 1))),
    ((2, 4, 16, 16), (8, 4, 3, 3), dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1))),
])
@pytest.mark.parametrize("bias", [False, True])
def test_values_equal_the_gemm_route(shape, wshape, kw, bias, ort_calls, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    w = (rng.standard_normal(wshape) * 0.2).astype(np.float32)
    b = rng.standard_normal(wshape[0]).astype(np.float32) if bias else None
    assert_route_equals_gemm(monkeypatch, ort_calls, x, w, b, **kw)


@pytest.mark.parametrize("case", ["large weight", "small map", "float64", "groups",
                                  "negative pad", "empty batch", "pointwise"])
def test_what_it_loses_on_stays_on_the_gemm(case, ort_calls):
    rng = np.random.default_rng(1)
    shape, wshape, kw, dtype = (2, 8, 8, 8), (8, 8, 3, 3), dict(kernel=(3, 3), pad=(1, 1)), \
        np.float32
    if case == "large weight":
        shape, wshape = (2, 64, 8, 8), (128, 64, 3, 3)   # 73,728 elements
    elif case == "small map":
        shape = (2, 8, 4, 4)                              # 16 positions per image
    elif case == "float64":
        dtype = np.float64
    elif case == "groups":
        wshape, kw = (8, 4, 3, 3), dict(kw, num_group=2)
    elif case == "empty batch":
        shape = (0, 8, 8, 8)
    elif case == "pointwise":   # 1x1 stride 1: kiln's product needs no columns
        shape, wshape, kw = (2, 8, 16, 16), (8, 8, 1, 1), dict(kernel=(1, 1))
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal(wshape).astype(dtype)
    if case == "negative pad":   # a deconvolution's flipped convolution pads negatively
        y = nd.Deconvolution(nd.array(x), nd.array(w), kernel=(3, 3), pad=(4, 4),
                             num_filter=8, no_bias=True)
        assert y.shape == (2, 8, 2, 2)
    else:
        conv(x, w, None, **kw)
    assert ort_calls == []


def test_resnet_block_inference_and_training_match_the_gemm_route(ort_calls, monkeypatch):
    """A conv-BN-ReLU stack: hybridized inference (BatchNorm folded, the fused epilogue on
    onnxruntime's output) and a training step's loss and gradients, against the GEMM."""
    rng = np.random.default_rng(2)
    x = nd.array(rng.standard_normal((4, 16, 8, 8)).astype(np.float32))
    values = random_values(conv_bn_stack(16, 8), rng)
    on_ort = infer_and_train(conv_bn_stack(16, 8), values, x)
    assert ort_calls   # the first pass ran onnxruntime's kernel
    gemm_only(monkeypatch)
    assert_same(on_ort, infer_and_train(conv_bn_stack(16, 8), values, x))
