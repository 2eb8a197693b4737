"""kiln.test_utils' sparse generators, statistics checks, matrices, checkers and local-file
dataset helpers: their MXNet 1.9.1 behaviour (deterministic answers compared with the real
MXNet where it runs)."""
import bz2
import contextlib
import gzip
import io
import json
import os
import struct
import subprocess
import zipfile

import kiln as mx
import numpy as np
import pytest
from kiln import test_utils as tu
from kiln.gluon import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MX_PYTHON = os.path.join(ROOT, ".mxnet-venv", "bin", "python")

PROBE = """
import json, numpy as np
import {lib} as mx
from {lib} import test_utils as tu
out = {{}}
out["loc"] = tu.locationError(np.arange(4.).reshape(2, 2), np.ones((2, 2)), (1, 0), ("p", "q"),
                              maxError=True)
np.random.seed(0)
csr, (indptr, _, _) = tu.rand_sparse_ndarray((5, 16), "csr", density=0.5,
                                             distribution="powerlaw")
out["powerlaw_rows"] = np.diff(indptr.asnumpy()).tolist()
x = mx.sym.var("x")
exe = (x * x * x).simple_bind(mx.cpu(), x=(3,))
g = tu.numeric_grad(exe, {{"x": np.array([1., -2., 0.5])}}, eps=1e-3)["x"]
out["numeric"] = g.tolist()
b, p = tu.gen_buckets_probs_with_ppf(lambda q: 2 * q, 4)
out["buckets"] = [list(map(float, t)) for t in b] + [p]
try:
    tu.checkShapes(np.ones(2), np.ones(3))
except AssertionError as e:
    out["shapes_msg"] = str(e).splitlines()[1].strip()
out["zd"] = tu.create_sparse_array_zd((5, 2), "row_sparse", 0.9,
                                      rsp_indices=[3, 1]).indices.asnumpy().tolist()
print("JSON" + json.dumps(out))
"""


def _probe(lib, cwd):
    if lib == "kiln":
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(PROBE.format(lib="kiln"), {})  # noqa: S102 - the test's own probe
        return json.loads(out.getvalue().split("JSON", 1)[1])
    proc = subprocess.run([MX_PYTHON, "-c", PROBE.format(lib="mxnet")], capture_output=True,
                          text=True, cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.split("JSON", 1)[1])


def test_deterministic_answers_match_mxnet(tmp_path):
    if not os.path.exists(MX_PYTHON):
        pytest.skip("real MXNet 1.9.1 interpreter (.mxnet-venv) absent")
    mine, theirs = _probe("kiln", tmp_path), _probe("mxnet", tmp_path)
    assert mine["loc"] == theirs["loc"] and mine["shapes_msg"] == theirs["shapes_msg"]
    assert mine["powerlaw_rows"] == theirs["powerlaw_rows"] == [2, 4, 8, 16, 10]
    np.testing.assert_allclose(mine["numeric"], theirs["numeric"], rtol=1e-3)
    assert mine["buckets"] == theirs["buckets"] and mine["zd"] == theirs["zd"] == [1, 3]


def test_sparse_generators():
    arr, (vals, rows) = tu.rand_sparse_ndarray((6, 2), "row_sparse", density=1.0,
                                               data_init=2.0)
    assert rows.tolist() == list(range(6)) and (vals == 2).all()
    np.testing.assert_array_equal(arr.asnumpy(), np.full((6, 2), 2.0))
    csr, (indptr, indices, data) = tu.rand_sparse_ndarray((20, 30), "csr", density=0.25)
    assert csr.stype == "csr" and data.shape == (150,) and int(indptr.asnumpy()[-1]) == 150
    dense = csr.asnumpy()
    assert (dense != 0).sum() == 150
    before = {(r, c) for r, c in zip(*np.nonzero(dense))}
    tu.shuffle_csr_column_indices(csr)  # the stored positions stay, their order changes
    ip, ix = csr.indptr.asnumpy(), csr.indices.asnumpy()
    after = {(r, c) for r in range(20) for c in ix[ip[r]:ip[r + 1]]}
    assert before == after
    rsp = tu.create_sparse_array((5, 3), "row_sparse", rsp_indices=[4, 0], data_init=1.0)
    assert rsp.indices.asnumpy().tolist() == [0, 4]
    assert tu.create_sparse_array_zd((5, 3), "row_sparse", 0.5).asnumpy().sum() == 0
    with pytest.raises(ValueError):
        tu.rand_sparse_ndarray((4, 4), "csr", density=0.1, distribution="powerlaw")


def test_generator_statistics():
    np.random.seed(1)
    buckets, probs = tu.gen_buckets_probs_with_ppf(lambda q: q, 5)
    pvals = tu.verify_generator(lambda n: np.random.uniform(size=n), buckets, probs,
                                nsamples=20000)
    assert len(pvals) == 5
    with pytest.raises(AssertionError):  # a skewed generator fails the test
        tu.verify_generator(lambda n: np.random.uniform(size=n) ** 2, buckets, probs,
                            nsamples=20000)
    p, obs, _ = tu.chi_square_check(lambda n: mx.nd.array(np.random.randint(0, 3, n)),
                                    [0, 1, 2], [1 / 3] * 3, nsamples=3000)
    assert obs.sum() == 3000 and 0 <= p <= 1
    normal = lambda n: np.random.normal(2.0, 3.0, size=n)  # noqa: E731
    assert tu.mean_check(normal, 2.0, 3.0, 50000) and not tu.mean_check(normal, 2.5, 3.0, 50000)
    assert tu.var_check(normal, 3.0, 50000) and not tu.var_check(normal, 2.0, 50000)


def test_structured_matrices():
    m = tu.new_matrix_with_real_eigvals_nd((2, 4, 4))
    assert m.shape == (2, 4, 4) and np.abs(np.linalg.eigvals(m).imag).max() < 1e-8
    q = tu.new_orthonormal_matrix_2d(5)
    np.testing.assert_allclose(q @ q.T, np.eye(5), atol=1e-10)
    s = tu.new_sym_matrix_with_real_eigvals_nd((3, 4, 4))
    np.testing.assert_allclose(s, np.swapaxes(s, -1, -2), atol=1e-10)
    assert tu.new_sym_matrix_with_real_eigvals_2d(3).shape == (3, 3)


def test_checkers():
    with pytest.raises(AssertionError, match="are not equal"):
        tu.checkShapes(np.ones(2), np.ones((2, 1)))
    x = mx.sym.var("x")
    assert tu.check_speed(mx.sym.tanh(x), x=(4, 4), N=2) > 0
    assert tu.check_speed(mx.sym.tanh(x), {"x": np.ones((4, 4))}, N=2, typ="forward") > 0
    with pytest.raises(ValueError):
        tu.check_speed(mx.sym.tanh(x), x=(4, 4), typ="backward")
    data = [mx.nd.array(np.random.rand(2, 5))]
    builder = lambda prefix=None: nn.Dense(3, in_units=5, prefix=prefix)  # noqa: E731
    tu.check_gluon_hybridize_consistency(builder, data)

    class Flaky(nn.HybridBlock):  # eager and hybridized differ: the check must fail
        def hybrid_forward(self, F, x):
            return x * (2 if isinstance(x, mx.nd.NDArray) else 3)

    with pytest.raises(AssertionError):
        tu.check_gluon_hybridize_consistency(lambda prefix=None: Flaky(prefix=prefix), data)
    with pytest.raises(AssertionError):
        tu.check_gluon_hybridize_consistency(builder, data, numpy_func=lambda a: a[:, :3])
    assert issubclass(tu.np_symbol, mx.sym.Symbol)


def _write_idx(path, arr, magic):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">" + "I" * (1 + arr.ndim), magic, *arr.shape))
        f.write(arr.tobytes())


def test_local_dataset_helpers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RuntimeError, match="no network access"):
        tu.download("http://example.com/a.bin", dirname="data")
    src = tmp_path / "src.txt"
    src.write_text("hello")
    assert tu.download(f"file://{src}", dirname="data") == os.path.join("data", "src.txt")
    assert (tmp_path / "data" / "src.txt").read_text() == "hello"
    assert tu.download_model("no-such-model") == (None, 0)
    meta = {"m": {"symbol": str(src), "params": str(src)}}
    assert tu.download_model("m", "models", meta) == (os.path.join("models", "m"), 0)
    assert (tmp_path / "models" / "m-0000.params").exists()
    imgs = np.random.randint(0, 256, (3, 28, 28)).astype(np.uint8)
    labels = np.array([1, 7, 3], dtype=np.uint8)
    for prefix in ("train", "t10k"):
        _write_idx(f"{prefix}-images-idx3-ubyte.gz", imgs, 2051)
        _write_idx(f"{prefix}-labels-idx1-ubyte.gz", labels, 2049)
    mnist = tu.get_mnist()
    assert mnist["train_data"].shape == (3, 1, 28, 28) and mnist["test_label"].tolist() == \
        [1, 7, 3]
    np.testing.assert_allclose(mnist["train_data"][:, 0], imgs / 255, rtol=1e-6)
    with zipfile.ZipFile("data/mnist.zip", "w") as zf:
        for prefix in ("train", "t10k"):
            for kind in ("images-idx3", "labels-idx1"):
                with gzip.open(f"{prefix}-{kind}-ubyte.gz") as f:
                    zf.writestr(f"{prefix}-{kind}-ubyte", f.read())
    train, val = tu.get_mnist_iterator(2, (784,))
    assert next(iter(train)).data[0].shape == (2, 784)
    with pytest.raises(RuntimeError, match="cifar10.zip"):
        tu.get_cifar10()
    with pytest.raises(RuntimeError, match="mnist.pkl.gz"):
        tu.get_mnist_pkl()
    (tmp_path / "data" / "raw.bz2").write_bytes(bz2.compress(b"1 2 3"))
    tu.get_bz2_data("data", "raw.txt", "http://x/raw.bz2", "raw.bz2")
    assert (tmp_path / "data" / "raw.txt").read_bytes() == b"1 2 3"
    with zipfile.ZipFile(tmp_path / "z.zip", "w") as zf:
        zf.writestr("inside.txt", "z")
    tu.get_zip_data("zdir", f"file://{tmp_path / 'z.zip'}", "z.zip")
    assert (tmp_path / "zdir" / "inside.txt").read_text() == "z"
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    with pytest.raises(OSError):
        tu.get_im2rec_path()
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "im2rec.py").write_text("")
    assert tu.get_im2rec_path() == str(tmp_path / "tools" / "im2rec.py")


def test_almost_equal_ignore_nan_skips_nan_positions_only():
    from kiln.test_utils import almost_equal_ignore_nan, assert_almost_equal_ignore_nan
    a, b = np.array([1.0, np.nan, 3.0]), np.array([1.0, 2.0, np.nan])
    assert almost_equal_ignore_nan(a, b)
    assert not almost_equal_ignore_nan(np.array([1.0, np.nan, 3.5]), np.array([1.0, 2.0, 3.0]))
    assert_almost_equal_ignore_nan(a, b)
    with pytest.raises(AssertionError):
        assert_almost_equal_ignore_nan(np.array([1.5, np.nan]), np.array([1.0, 0.0]))
