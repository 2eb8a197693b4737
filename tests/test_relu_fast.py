"""ndarray/ops/_xp.relu: numpy's fast loop for maximum(x, 0), bit for bit the same values."""
import numpy as np
import pytest
from kiln.ndarray.ops._xp import _ZEROS, relu

SPECIAL = [np.nan, -np.nan, -np.inf, np.inf, -0.0, 0.0, -1e-45, 1e-45, -3.0, 3.0]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "strided"])
def test_relu_equals_maximum_bitwise(dtype, layout):
    x = np.tile(np.array(SPECIAL, dtype), 30).reshape(30, 10)  # (the fast loop from 128)
    x = {"contiguous": x, "transposed": x.T, "strided": x[:, ::2]}[layout]
    assert relu(np, x).tobytes() == np.maximum(x, 0).tobytes()
    if layout == "contiguous":  # (the zeros path ran)
        assert (x.shape, x.dtype) in _ZEROS


def test_relu_integers_and_out():
    x = np.arange(-3, 3)
    assert np.array_equal(relu(np, x), np.maximum(x, 0))
    y = np.array([-1.0, 2.0], np.float32)
    assert relu(np, y, out=y) is y and y.tolist() == [0.0, 2.0]


def test_cached_zeros_stay_zero_and_read_only():
    x = np.tile([-1.0, 5.0, -2.0], 100)
    relu(np, x)
    zeros = _ZEROS[(x.shape, x.dtype)]
    assert not zeros.flags.writeable and not zeros.any()


def test_zeros_cache_is_bounded(monkeypatch):
    from kiln.ndarray.ops import _xp
    monkeypatch.setattr(_xp, "_ZEROS_MAX_BYTES", 4096)
    _ZEROS.clear()
    _xp._ZEROS_BYTES[0] = 0
    for n in range(130, 170):
        x = -np.ones(n, np.float64)  # 1040-1352 bytes each
        assert relu(np, x).tolist() == [0.0] * n
        assert _xp._ZEROS_BYTES[0] <= 4096
        assert sum(z.nbytes for z in _ZEROS.values()) == _xp._ZEROS_BYTES[0]


@pytest.mark.parametrize("scalar", [0, 0.0, -0.0, 1.5])
def test_maximum_with_a_scalar_equals_numpy_eagerly_and_compiled(scalar):
    from kiln import gluon, nd
    x = np.tile(np.array(SPECIAL, np.float32), 20).reshape(20, 10)
    expected = np.maximum(x, scalar)

    def check(got):  # equal values, NaN where numpy has NaN, and the same signed zeros
        np.testing.assert_array_equal(got, expected)
        assert (np.signbit(got) == np.signbit(expected))[~np.isnan(expected)].all()
    check(nd.maximum(nd.array(x), scalar).asnumpy())
    block = gluon.nn.HybridLambda(lambda F, a: F.maximum(a * 1, scalar))
    block.hybridize()
    for _ in range(2):
        check(block(nd.array(x)).asnumpy())
