"""Pooling kernels against the naive one-window-at-a-time references, over odd geometries.

Covers overlapping windows (max routing adds up), ties (the first maximum takes the gradient),
'full' and 'same' conventions with end padding, asymmetric kernels and 1-D/3-D data.
"""
import numpy as np
import pytest
from kiln import nd
from kiln.ndarray.ops import pool

CASES = [
    dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1)),
    dict(kernel=(3, 3), stride=(1, 1), pad=(1, 1)),
    dict(kernel=(2, 3), stride=(2, 1), pad=(0, 1), pooling_convention="full"),
    dict(kernel=(3, 2), stride=(3, 2), pooling_convention="same"),
    dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pooling_convention="full"),
    dict(kernel=(4,), stride=(3,), pad=(2,)),
    dict(kernel=(2, 2, 3), stride=(1, 2, 2), pad=(1, 0, 1)),
]
SHAPES = {1: (2, 3, 11), 2: (2, 3, 7, 6), 3: (1, 2, 5, 4, 6)}


def _x(case, ties):
    shape = SHAPES[len(case["kernel"])]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    return np.round(x * 2) / 2 if ties else x   # few distinct values: many ties


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("pool_type", ["max", "avg", "sum"])
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
def test_forward_and_backward_match_references(case, pool_type, ties):
    x = _x(case, ties)
    a = dict(case, pool_type=pool_type)
    y = nd.Pooling(nd.array(x, dtype=x.dtype), **a).asnumpy()
    np.testing.assert_allclose(y, pool._pool_ref(x, **a), rtol=1e-12, atol=1e-12)
    gy = np.random.default_rng(1).standard_normal(y.shape)
    gx = nd._pooling_backward(nd.array(gy, dtype=gy.dtype), nd.array(x, dtype=x.dtype),
                              **a).asnumpy()
    np.testing.assert_allclose(gx, pool._bw_ref(gy, x, **a), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES[:3], ids=str)
def test_float32_max_routing(case):
    x = _x(case, True).astype(np.float32)
    y = nd.Pooling(nd.array(x), **case)
    gy = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
    gx = nd._pooling_backward(nd.array(gy), nd.array(x), **case).asnumpy()
    assert gx.dtype == np.float32
    np.testing.assert_allclose(gx, pool._bw_ref(gy.astype(np.float64), x.astype(np.float64),
                                                **case), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_max_routing_in_the_lanes_last_layout(case, monkeypatch):
    """Short output rows take the argmax with (sample, channel) innermost: same routing."""
    from kiln.ndarray.ops import _pool_kernels
    monkeypatch.setattr(_pool_kernels, "_LANES_MIN", 1)
    monkeypatch.setattr(_pool_kernels, "_ROW_MAX", 10 ** 6)
    test_forward_and_backward_match_references(case, "max", True)
    test_forward_and_backward_match_references(case, "max", False)


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("pool_type", ["max", "avg"])
def test_long_rows_path(case, pool_type, monkeypatch):
    """Long output rows take the in-data tap ranges (no padded copy): same results."""
    from kiln.ndarray.ops import _pool_kernels
    monkeypatch.setattr(_pool_kernels, "_ROW_MAX", 0)
    test_forward_and_backward_match_references(case, pool_type, True)
