"""Pooling's shape attributes given as MXNet code passes them.

MXNet reads ``kernel=2`` as a one-axis kernel (a 1-D pooling over (N, C, W) data), and with
``pooling_convention='same'`` it computes its own padding: the ``pad`` given must be zeros
(MXNet reads no more values than the kernel has axes), any other value is an error. The
expected arrays below are what MXNet 1.9.1 returns for the same calls.
"""
import kiln as mx
import numpy as np
import pytest


def test_int_kernel_same_convention_pools_one_axis():
    x = mx.nd.arange(10).reshape((1, 1, 10))
    mx_max = mx.nd.Pooling(x, kernel=2, stride=2, pad=(0, 0, 0), pool_type="max",
                           pooling_convention="same")
    np.testing.assert_allclose(mx_max.asnumpy(), [[[1, 3, 5, 7, 9]]])
    avg = mx.nd.Pooling(x, kernel=3, stride=2, pad=(0, 0, 0), pool_type="avg",
                        pooling_convention="same")
    np.testing.assert_allclose(avg.asnumpy(), [[[1, 3, 5, 7, 8.5]]])


def test_int_kernel_valid_convention():
    x = mx.nd.arange(10).reshape((1, 1, 10))
    out = mx.nd.Pooling(x, kernel=3, stride=1, pool_type="max")
    np.testing.assert_allclose(out.asnumpy(), [[np.arange(2, 10)]])


def test_same_convention_rejects_nonzero_pad():
    x = mx.nd.ones((1, 1, 10))
    with pytest.raises(mx.base.MXNetError):
        mx.nd.Pooling(x, kernel=2, stride=2, pad=2, pool_type="max",
                      pooling_convention="same").wait_to_read()
