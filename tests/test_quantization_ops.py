"""MXNet 1.9.1's int8 quantization ops (nd.contrib.quantize_v2, quantized_conv, ...): kiln's
kernels against real MXNet 1.9.1 (the cases of tests/_quant_oracle_probe.py, run in its
interpreter when there is one) and against values measured there, which run always."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from _oracle_suite import MX_PYTHON
from kiln import nd, sym
from kiln.ndarray._registry import get

HERE = os.path.dirname(os.path.abspath(__file__))
# MXNet 1.9.1 is wrong or refuses: uint8 ReLU returns int8 bytes, NDArray elemwise_mul fails,
# a mixed int8 + uint8 add drops the uint8 operand, oneDNN conv refuses int8 data and adds
# its int8 bias unscaled (kiln rescales it as FullyConnected does)
DIVERGES = {("quantized_act", "uint8"), ("quantized_elemwise_add", "uint8"),
            ("quantized_conv", "uint8-bias")}
# oneDNN rounds a few values one level apart from the float formula (ties in its fused scale)
ONE_LEVEL = {"quantized_batch_norm", "quantized_elemwise_add"}


def _key(name, inputs, ref):
    dt = str(inputs[0].dtype)
    if name == "quantized_conv" and len(inputs) == 9:
        dt += "-bias"
    return name, dt


@pytest.fixture(scope="module")
def mx_cases(tmp_path_factory):
    if not os.path.exists(MX_PYTHON):
        pytest.skip("no MXNet 1.9.1 interpreter (KILN_MXNET_PYTHON or .mxnet-venv)")
    out = tmp_path_factory.mktemp("quant") / "cases.pkl"
    subprocess.run([MX_PYTHON, os.path.join(HERE, "_quant_oracle_probe.py"), str(out)],
                   check=True, capture_output=True, timeout=600)
    with open(out, "rb") as f:
        return pickle.load(f)   # noqa: S301 - our own file, written just now


def test_matches_mxnet(mx_cases):
    checked = 0
    for name, inputs, attrs, ref in mx_cases:
        if isinstance(ref, str) or _key(name, inputs, ref) in DIVERGES:
            continue
        outs = get("_contrib_" + name).func(*[nd.NDArray(a) for a in inputs], **attrs)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        assert len(outs) == len(ref), (name, attrs)
        for o, r in zip(outs, ref):
            got = o.asnumpy()
            assert got.dtype == r.dtype and got.shape == r.shape, (name, attrs, got.dtype, r.dtype)
            if name == "calibrate_entropy":
                np.testing.assert_allclose(got, r, rtol=2e-3, err_msg=name)
            elif r.dtype.kind in "iu":
                diff = np.abs(got.astype(np.int64) - r.astype(np.int64))
                if name == "quantized_elemwise_add" and r.dtype == np.int32:
                    # float32 rounding at the scale of 2**31: a few float32 ulps of it
                    assert diff.max() <= 2**31 * 1e-7, (name, attrs)
                    continue
                limit = 1 if name in ONE_LEVEL else 0
                assert diff.max() <= limit and (diff > 0).mean() <= 0.1, (name, attrs, diff.max())
            else:
                np.testing.assert_allclose(got, r, rtol=1e-5, err_msg=f"{name} {attrs}")
        checked += 1
    assert checked >= 40


def test_measured_values():
    q, lo, hi = nd.contrib.quantize_v2(nd.array([[-1.5, 0.3, 2.0]]))
    assert q.dtype == np.int8 and q.asnumpy().tolist() == [[-96, 19, 127]]
    assert (lo.asnumpy()[0], hi.asnumpy()[0]) == (-2.0, 2.0)
    d = nd.contrib.dequantize(nd.array([127, -64], dtype="int8"), nd.array([-1]), nd.array([1]))
    np.testing.assert_allclose(d.asnumpy(), [127 / 127.5, -64 / 127.5], rtol=1e-6)
    # a bias of 100 with unit ranges: 127.5 levels each (255.5 for uint8 data)
    one = [nd.array([v]) for v in (-1, 1, -1, 1, -1, 1)]
    for dt, want in (("int8", 12750), ("uint8", 25550)):
        y, _, _ = nd.contrib.quantized_fully_connected(
            nd.zeros((1, 2), dtype=dt), nd.zeros((1, 2), dtype="int8"),
            nd.array([100], dtype="int8"), *one, num_hidden=1)
        assert y.dtype == np.int32 and int(y.asnumpy()[0, 0]) == want


def test_int32_accumulation_is_exact():
    rng = np.random.default_rng(0)
    d = rng.integers(-127, 128, (3, 2, 6, 6)).astype(np.int8)
    w = rng.integers(-127, 128, (4, 2, 3, 3)).astype(np.int8)
    rg = [nd.array([v]) for v in (-1, 1, -1, 1)]
    y, lo, hi = nd.contrib.quantized_conv(nd.array(d, dtype="int8"), nd.array(w, dtype="int8"),
                                          *rg, kernel=(3, 3), num_filter=4, no_bias=True)
    want = np.zeros((3, 4, 4, 4), np.int64)
    for i in range(4):
        for j in range(4):
            patch = d[:, None, :, i:i + 3, j:j + 3].astype(np.int64)
            want[:, :, i, j] = (patch * w[None].astype(np.int64)).sum(axis=(2, 3, 4))
    assert y.dtype == np.int32 and np.array_equal(y.asnumpy(), want)
    np.testing.assert_allclose(hi.asnumpy(), [(1 / 127) ** 2 * (2**31 - 1)], rtol=1e-6)


def test_symbols_and_contrib_namespaces():
    import kiln
    out = sym.contrib.quantize_v2(sym.var("x"), out_type="uint8")
    assert len(out.list_outputs()) == 3
    for n in ("quantize", "quantized_conv", "calibrate_entropy", "requantize"):
        assert getattr(kiln.contrib.ndarray, n) is getattr(nd.contrib, n)
        assert hasattr(kiln.contrib.symbol, n)


def test_batch_norm_needs_calibration():
    x = nd.zeros((1, 2, 2, 2), dtype="int8")
    v = nd.ones((2,))
    with pytest.raises(Exception, match="min_calib_range"):
        nd.contrib.quantized_batch_norm(x, v, v, v, v, nd.array([-1]), nd.array([1]))


_ = sys
