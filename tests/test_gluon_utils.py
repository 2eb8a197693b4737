"""kiln.gluon.utils: split_data, split_and_load, clip_global_norm, check_sha1, download."""
import hashlib
import math

import kiln as kl
import numpy as np
import pytest
from kiln.gluon import utils as gu


def test_split_data_even_and_uneven():
    x = kl.nd.array(np.arange(20).reshape(10, 2))
    parts = gu.split_data(x, 2)
    assert [p.shape for p in parts] == [(5, 2), (5, 2)]
    np.testing.assert_array_equal(parts[1].asnumpy(), x.asnumpy()[5:])
    with pytest.raises(ValueError, match="cannot be evenly split"):
        gu.split_data(x, 3)
    uneven = gu.split_data(x, 3, even_split=False)
    assert [p.shape[0] for p in uneven] == [4, 3, 3]  # numpy.array_split sizes
    np.testing.assert_array_equal(np.concatenate([p.asnumpy() for p in uneven]), x.asnumpy())
    cols = gu.split_data(kl.nd.ones((2, 7)), 3, batch_axis=1, even_split=False)
    assert [p.shape for p in cols] == [(2, 3), (2, 2), (2, 2)]
    assert len(gu.split_data(x, 1)) == 1


def test_split_and_load():
    ctxs = [kl.cpu(0), kl.cpu(1)]
    out = gu.split_and_load(np.arange(8.0).reshape(4, 2), ctxs)
    assert [o.context for o in out] == ctxs and out[1].asnumpy()[0, 0] == 4.0
    assert out[0].dtype == np.float32
    single = gu.split_and_load(kl.nd.ones((3, 2)), [kl.cpu(0)])
    assert len(single) == 1 and single[0].shape == (3, 2)


def test_clip_global_norm_scales_in_place():
    a, b = kl.nd.array([3.0, 0.0]), kl.nd.array([[0.0], [4.0]])
    norm = gu.clip_global_norm([a, b], 1.0)
    assert isinstance(norm, float) and norm == pytest.approx(5.0)
    np.testing.assert_allclose(a.asnumpy(), [0.6, 0.0], rtol=1e-5)
    np.testing.assert_allclose(b.asnumpy().ravel(), [0.0, 0.8], rtol=1e-5)
    small = kl.nd.array([0.3, 0.4])
    out = gu.clip_global_norm([small], 1.0, check_isfinite=False)
    assert isinstance(out, kl.nd.NDArray) and out.asscalar() == pytest.approx(0.5)
    np.testing.assert_allclose(small.asnumpy(), [0.3, 0.4], rtol=1e-6)  # below max: untouched
    bad = kl.nd.array([math.inf, 1.0])
    with pytest.warns(UserWarning, match="nan or inf"):
        gu.clip_global_norm([bad], 1.0)


def test_check_sha1_and_download(tmp_path):
    f = tmp_path / "weights.bin"
    f.write_bytes(b"kiln")
    digest = hashlib.sha1(b"kiln").hexdigest()
    assert gu.check_sha1(str(f), digest) and not gu.check_sha1(str(f), "0" * 40)
    url = "https://example.com/files/weights.bin"
    assert gu.download(url, path=str(tmp_path)) == str(f)
    assert gu.download(url, path=str(f), sha1_hash=digest) == str(f)
    with pytest.raises(RuntimeError, match="no network"):
        gu.download(url, path=str(f), sha1_hash="0" * 40)
    with pytest.raises(RuntimeError, match="no network"):
        gu.download("https://example.com/other.bin", path=str(tmp_path))
