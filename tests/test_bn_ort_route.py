"""Training-mode BatchNorm's forward on large float32 data runs onnxruntime's
BatchNormalization (``training_mode=1``): the same output and moving statistics as numpy's
kernel to float32 rounding, and the cases it does not take stay in numpy."""
import importlib

import numpy as np
import pytest
from kiln import autograd, nd

norm = importlib.import_module("kiln.ndarray.ops.norm")


@pytest.fixture
def ort_calls(monkeypatch):
    calls = []
    real = norm.batch_norm_train

    def counted(*a):   # only the calls onnxruntime ran
        res = real(*a)
        if res is not None:
            calls.append(1)
        return res
    monkeypatch.setattr(norm, "batch_norm_train", counted)
    return calls


def _run(x, fix_gamma, dtype=np.float32, **kw):
    rng = np.random.default_rng(1)
    c = x.shape[kw.get("axis", 1)]
    gamma = nd.array(rng.uniform(0.5, 1.5, c), dtype=dtype)
    beta = nd.array(rng.normal(size=c), dtype=dtype)
    mm = nd.array(rng.normal(size=c), dtype=dtype)
    mv = nd.array(rng.uniform(0.5, 2.0, c), dtype=dtype)
    with autograd.record():   # training mode: batch statistics, moving statistics updated
        y = nd.BatchNorm(nd.array(x, dtype=dtype), gamma, beta, mm, mv, fix_gamma=fix_gamma,
                         eps=1e-3, momentum=0.8, **kw)
    y = y[0] if isinstance(y, list) else y
    return y.asnumpy(), mm.asnumpy(), mv.asnumpy()


@pytest.mark.parametrize("fix_gamma", [False, True])
@pytest.mark.parametrize("shape", [(32, 64, 16, 16), (64, 256, 3), (8, 32, 8, 8, 4)])
def test_output_and_moving_statistics_equal_numpys(fix_gamma, shape, ort_calls, monkeypatch):
    x = (np.random.default_rng(0).normal(size=shape) * 3 + 2).astype(np.float32)
    fast = _run(x, fix_gamma)
    assert ort_calls == [1]
    monkeypatch.setattr(norm, "ORT_MIN_SIZE", 1 << 40)
    slow = _run(x, fix_gamma)
    for a, b in zip(fast, slow):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("case", ["float64", "small", "axis", "output_mean_var", "predict"])
def test_what_it_does_not_take_stays_in_numpy(case, ort_calls):
    x = np.random.default_rng(2).normal(size=(32, 64, 8, 8)).astype(np.float32)
    kw, dtype = {}, np.float32
    if case == "float64":
        dtype = np.float64
    elif case == "small":
        x = x[:2, :, :4, :4]   # 2,048 elements
    elif case == "axis":
        kw = {"axis": 3}
    elif case == "output_mean_var":
        kw = {"output_mean_var": True}
    if case == "predict":   # no recording: the moving statistics normalize
        nd.BatchNorm(nd.array(x), nd.ones(64), nd.zeros(64), nd.zeros(64), nd.ones(64))
    else:
        _run(x, False, dtype, **kw)
    assert ort_calls == []
