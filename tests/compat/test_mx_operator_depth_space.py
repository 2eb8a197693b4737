"""MXNet 1.9's depth_to_space / space_to_depth argument checks: a positive block size and no
zero-size dimension (MXNet refuses both; a zero block used to surface as a division error)."""
import kiln as mx
import numpy as np
import pytest
from kiln.base import MXNetError


@pytest.mark.parametrize("op, shape, block, match", [
    ("depth_to_space", (2, 4, 0, 3), 2, "non-zero"),
    ("depth_to_space", (2, 4, 3, 3), 0, "positive"),
    ("depth_to_space", (2, 1, 3, 3), 2, "divide"),
    ("space_to_depth", (2, 0, 4, 4), 2, "non-zero"),
    ("space_to_depth", (2, 1, 4, 4), 0, "positive"),
    ("space_to_depth", (2, 1, 1, 4), 2, "divide"),
])
def test_invalid_arguments_raise(op, shape, block, match):
    with pytest.raises(MXNetError, match=match):
        getattr(mx.nd, op)(mx.nd.ones(shape), block)


def test_round_trip_still_exact():
    x = np.arange(2 * 8 * 2 * 3, dtype=np.float32).reshape(2, 8, 2, 3)
    y = mx.nd.depth_to_space(mx.nd.array(x), 2)
    assert y.shape == (2, 2, 4, 6)
    np.testing.assert_array_equal(mx.nd.space_to_depth(y, 2).asnumpy(), x)
