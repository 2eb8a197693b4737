"""The GRU's step loop with its elementwise part in onnxruntime (``_ort_kernels.GruCell``, the
default for GRUs without sequence lengths on the CPU) computes what the numpy loop does."""
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
    from kiln.ndarray.ops import _rnn_compute
    assert_ort_path_equals_numpy(monkeypatch, "gru", [(_rnn_compute, "_gru_steps_ort", L * D)],
                                 arrays, heads, H, L, bidirectional, dtype)


def test_gru_cell_alone_matches_formula():
    """One step of the cell against the GRU's equations (r, z, n gates; b_hn inside r *)."""
    from kiln.ndarray import _ort_kernels
    if not _ort_kernels.available():
        pytest.skip("KILN_ORT_KERNELS=0")
    rng = np.random.default_rng(5)
    n, H = 3, 4
    h0 = rng.normal(size=(n, H)).astype(np.float32)
    bh = rng.normal(size=3 * H).astype(np.float32)
    cell = _ort_kernels.gru_cell(n, H, np.float32, h0, bh)
    cell.x[...] = rng.normal(size=(n, 3 * H))
    cell.hw[...] = rng.normal(size=(n, 3 * H))
    x, hw = cell.x.astype(np.float64), cell.hw.astype(np.float64) + bh
    sig = 1 / (1 + np.exp(-(x[:, :2 * H] + hw[:, :2 * H])))
    r, z = sig[:, :H], sig[:, H:]
    nn = np.tanh(x[:, 2 * H:] + r * hw[:, 2 * H:])
    cell.step()
    np.testing.assert_allclose(cell.act, np.concatenate([r, z, nn], axis=1), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(cell.hn, hw[:, 2 * H:], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(cell.h, nn + z * (h0 - nn), rtol=1e-5, atol=1e-6)
