"""contrib.SyncBatchNorm with output_mean_var: its third output is the batch variance (MXNet
1.9's SyncBatchNorm), where BatchNorm's is 1/sqrt(var + eps)."""
import kiln as mx
import numpy as np
import pytest


def _inputs():
    x = np.random.RandomState(0).uniform(-2, 2, (4, 3, 5, 5)).astype(np.float32)
    return x, np.ones(3, np.float32), np.zeros(3, np.float32)


@pytest.mark.parametrize("eps", [1e-3, 1e-5])
def test_eager_outputs_mean_and_variance(eps):
    x, g, b = _inputs()
    args = [mx.nd.array(a) for a in (x, g, b, np.zeros(3), np.ones(3))]
    with mx.autograd.record():
        out, mean, var = mx.nd.contrib.SyncBatchNorm(*args, output_mean_var=True, eps=eps,
                                                     key="bn")
        ref = mx.nd.BatchNorm(*args, eps=eps)  # training mode too: the batch's statistics
    np.testing.assert_allclose(mean.asnumpy(), x.mean(axis=(0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(var.asnumpy(), x.var(axis=(0, 2, 3)), rtol=1e-4)
    np.testing.assert_allclose(out.asnumpy(), ref.asnumpy(), rtol=1e-6)


def test_symbolic_is_one_symbol_of_three_outputs():
    x, g, b = _inputs()
    names = ("x", "g", "b", "m", "v")
    s = mx.sym.contrib.SyncBatchNorm(*map(mx.sym.var, names), output_mean_var=True)
    assert len(s.list_outputs()) == 3
    values = dict(zip(names, (x, g, b, np.zeros(3), np.ones(3))))
    exe = s.bind(mx.cpu(), {k: mx.nd.array(v) for k, v in values.items()})
    var = exe.forward(is_train=True)[2].asnumpy()
    np.testing.assert_allclose(var, x.var(axis=(0, 2, 3)), rtol=1e-4)


def test_without_output_mean_var_one_output():
    x, g, b = _inputs()
    out = mx.nd.contrib.SyncBatchNorm(*(mx.nd.array(a) for a in (x, g, b, np.zeros(3),
                                                                np.ones(3))))
    assert out.shape == x.shape
