"""The GRU's step loops as onnxruntime Scans (``_ort_scan``, the default for GRUs without
sequence lengths on the CPU) compute what the numpy loops do."""
import numpy as np
import pytest
from _rnn_ort_paths import assert_ort_path_equals_numpy
from kiln.ndarray.ops.rnn import param_size

onnxruntime = pytest.importorskip("onnxruntime")


@pytest.mark.parametrize("dtype,bidirectional", [(np.float32, False), (np.float32, True),
                                                 (np.float64, False)])
def test_gru_steps_through_onnxruntime_equal_numpy(monkeypatch, dtype, bidirectional):
    rng = np.random.default_rng(4)
    T, N, C, H, L = 7, 5, 4, 6, 2
    D = 2 if bidirectional else 1
    arrays = [rng.normal(size=(T, N, C)), rng.normal(0, 0.5, size=param_size("gru", C, H, L, D)),
              rng.normal(size=(L * D, N, H))]
    heads = [rng.normal(size=(T, N, D * H)), rng.normal(size=(L * D, N, H))]
    from kiln.ndarray.ops import _rnn_bptt, _rnn_compute
    backward = (_rnn_bptt, "_gru_loop_scan", L * D) if bidirectional else (
        _rnn_bptt, "_scan_wave", 1)
    assert_ort_path_equals_numpy(monkeypatch, "gru", [(_rnn_compute, "_gru_steps_scan", L * D),
                                                      backward],
                                 arrays, heads, H, L, bidirectional, dtype)


def test_gru_scan_step_matches_formula():
    """One step of the forward Scan against the GRU's equations (r, z, n gates; b_hn inside
    r *)."""
    from kiln.ndarray import _ort_kernels, _ort_scan
    if not _ort_kernels.available():
        pytest.skip("KILN_ORT_KERNELS=0")
    rng = np.random.default_rng(5)
    n, H = 3, 4
    h0 = rng.normal(size=(n, H)).astype(np.float32)
    bh = rng.normal(size=3 * H).astype(np.float32)
    x = rng.normal(size=(1, n, 3 * H)).astype(np.float32)
    wh = rng.normal(size=(3 * H, H)).astype(np.float32)
    act, hn, h = (np.empty((1, n, w), np.float32) for w in (3 * H, H, H))
    last = _ort_scan.gru_forward(x, wh, bh, h0, act, hn, h, False)
    hw = h0.astype(np.float64) @ wh.T + bh
    x = x[0].astype(np.float64)
    sig = 1 / (1 + np.exp(-(x[:, :2 * H] + hw[:, :2 * H])))
    r, z = sig[:, :H], sig[:, H:]
    nn = np.tanh(x[:, 2 * H:] + r * hw[:, 2 * H:])
    np.testing.assert_allclose(act[0], np.concatenate([r, z, nn], axis=1), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(hn[0], hw[:, 2 * H:], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(h[0], nn + z * (h0 - nn), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(last, h[0])
