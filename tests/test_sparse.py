"""nd.sparse against dense numpy computations: creation, conversion, slicing, sparse kernels,
the storage fallback, autograd through dot and Embedding, lazy updates, file checks."""
import logging
import struct

import kiln
import numpy as np
import pytest
from kiln import autograd, gluon, nd
from kiln.ndarray.io import NDArrayFormatError, save_tobytes
from kiln.ndarray.ndarray import _STORAGE_TYPE_ID_TO_STR, _STORAGE_TYPE_STR_TO_ID

sp = nd.sparse


def _dense(rs, shape, density=0.4):
    a = rs.rand(*shape).astype("f")
    a[rs.rand(*shape) >= density] = 0
    return a


@pytest.fixture
def rs():
    return np.random.RandomState(7)


def test_storage_tables_and_default_stype():
    assert nd.ones((2,)).stype == "default"
    assert {_STORAGE_TYPE_STR_TO_ID[k] for k in ("default", "row_sparse", "csr")} == {0, 1, 2}
    assert all(_STORAGE_TYPE_ID_TO_STR[v] == k for k, v in _STORAGE_TYPE_STR_TO_ID.items())


def test_csr_components_follow_the_dense_matrix(rs):
    d = _dense(rs, (6, 5))
    c = sp.csr_matrix(d)
    rows, cols = np.nonzero(d)
    assert c.stype == "csr" and c.shape == (6, 5) and c.dtype == np.float32
    np.testing.assert_array_equal(c.indices.asnumpy(), cols)
    np.testing.assert_array_equal(c.indptr.asnumpy(),
                                  np.r_[0, np.cumsum(np.bincount(rows, minlength=6))])
    np.testing.assert_array_equal(c.data.asnumpy(), d[rows, cols])
    again = sp.csr_matrix((c.data, c.indices, c.indptr), shape=c.shape)
    np.testing.assert_array_equal(again.asnumpy(), d)
    coo = sp.csr_matrix((d[rows, cols], (rows, cols)), shape=d.shape)
    np.testing.assert_array_equal(coo.asnumpy(), d)
    np.testing.assert_array_equal(nd.array(d).tostype("csr").tostype("default").asnumpy(), d)


def test_csr_row_slicing(rs):
    d = _dense(rs, (7, 3))
    c = sp.csr_matrix(d)
    for key in (slice(2, 5), slice(None, 3), slice(4, None), slice(5, 2)):
        part = c[key]
        assert part.stype == "csr"
        np.testing.assert_array_equal(part.asnumpy(), d[key])
    np.testing.assert_array_equal(c[-1].asnumpy(), d[-1:])
    with pytest.raises(kiln.MXNetError, match="row slicing"):
        c[::2]


def test_row_sparse_components(rs):
    vals = rs.rand(3, 2, 2).astype("f")
    r = sp.row_sparse_array((vals, [4, 0, 2]), shape=(6, 2, 2))
    want = np.zeros((6, 2, 2), "f")
    want[[4, 0, 2]] = vals
    assert r.stype == "row_sparse"
    np.testing.assert_array_equal(r.indices.asnumpy(), [0, 2, 4])   # sorted
    np.testing.assert_array_equal(r.asnumpy(), want)
    z = sp.zeros("row_sparse", (3, 4), dtype="float64")
    assert z.indices.shape == (0,) and z.asnumpy().dtype == np.float64 and not z.asnumpy().any()
    with pytest.raises(kiln.MXNetError, match="unique"):
        sp.row_sparse_array(([[1.0], [2.0]], [1, 1]), shape=(3, 1))
    with pytest.raises(kiln.MXNetError, match="outside"):
        sp.row_sparse_array(([[1.0]], [3]), shape=(3, 1))
    with pytest.raises(ValueError, match="not supported"):
        r.tostype("csr")


def test_invalid_csr_layout_names_the_shapes():
    with pytest.raises(kiln.MXNetError, match="not a valid csr layout"):
        sp.csr_matrix(([1.0, 2.0], [0, 5], [0, 1, 2]), shape=(2, 3))


def test_sparse_dot_variants(rs):
    d = _dense(rs, (5, 4))
    c = sp.csr_matrix(d)
    b = rs.rand(4, 3).astype("f")
    np.testing.assert_allclose(sp.dot(c, nd.array(b)).asnumpy(), d @ b, rtol=1e-6)
    b2 = rs.rand(5, 3).astype("f")
    t = sp.dot(c, nd.array(b2), transpose_a=True)
    assert t.stype == "row_sparse"
    np.testing.assert_array_equal(t.indices.asnumpy(), np.nonzero(d.any(axis=0))[0])
    np.testing.assert_allclose(t.asnumpy(), d.T @ b2, rtol=1e-6)
    r_dense = _dense(rs, (4, 2), 0.5)
    r = nd.array(r_dense).tostype("row_sparse")
    a = rs.rand(3, 4).astype("f")
    np.testing.assert_allclose(sp.dot(nd.array(a), r).asnumpy(), a @ r_dense, rtol=1e-6)
    np.testing.assert_allclose(sp.dot(nd.array(a.T), r, transpose_a=True).asnumpy(),
                               a @ r_dense, rtol=1e-6)
    with pytest.raises(kiln.MXNetError, match="inner dimensions"):
        sp.dot(c, nd.ones((3, 2)))


def test_dot_gradient_reaches_the_dense_operand(rs):
    d = _dense(rs, (5, 4))
    x = nd.array(rs.rand(4, 2))
    x.attach_grad()
    head = rs.rand(5, 2).astype("f")
    with autograd.record():
        y = sp.dot(sp.csr_matrix(d), x)
    y.backward(nd.array(head))
    np.testing.assert_allclose(x.grad.asnumpy(), d.T @ head, rtol=1e-6)


def test_add_retain_and_scaling_keep_storage(rs):
    a = sp.row_sparse_array((rs.rand(2, 3).astype("f"), [0, 3]), shape=(5, 3))
    b = sp.row_sparse_array((rs.rand(2, 3).astype("f"), [3, 4]), shape=(5, 3))
    s = sp.elemwise_add(a, b)
    assert s.stype == "row_sparse"
    np.testing.assert_array_equal(s.indices.asnumpy(), [0, 3, 4])
    np.testing.assert_allclose(s.asnumpy(), a.asnumpy() + b.asnumpy())
    np.testing.assert_allclose((a - b).asnumpy(), a.asnumpy() - b.asnumpy())
    kept = sp.retain(s, nd.array([4, 1]))
    np.testing.assert_array_equal(kept.indices.asnumpy(), [1, 4])
    want = np.zeros((5, 3), "f")
    want[4] = s.asnumpy()[4]
    np.testing.assert_array_equal(kept.asnumpy(), want)
    c = sp.csr_matrix(_dense(rs, (3, 3)))
    assert (c * 3).stype == "csr" and (-c).stype == "csr"
    np.testing.assert_allclose((c * 3).asnumpy(), c.asnumpy() * 3)


def test_dense_ops_fall_back_with_a_log(rs, caplog):
    d = _dense(rs, (4, 3))
    c = sp.csr_matrix(d)
    with caplog.at_level(logging.INFO, logger="kiln.ndarray.sparse"):
        out = nd.exp(c) + 1
    assert out.stype == "default"
    np.testing.assert_allclose(out.asnumpy(), np.exp(d) + 1, rtol=1e-6)
    assert any("storage fallback" in r.getMessage() for r in caplog.records)


def test_in_place_write_to_the_fallback_raises():
    r = sp.row_sparse_array(([[1.0, 2.0]], [1]), shape=(3, 2))
    with pytest.raises(ValueError):
        r._data[0] = 5   # never a silent write into a temporary dense copy
    r[:] = nd.ones((3, 2))
    np.testing.assert_array_equal(r.indices.asnumpy(), [0, 1, 2])


@pytest.mark.parametrize("zero_head", [False, True])
def test_embedding_sparse_grad_hybridized_equals_eager(rs, zero_head):
    ids, head = nd.array([[0, 3], [3, 5]]), rs.rand(2, 2, 4).astype("f") * (not zero_head)
    grads = []
    for hybrid in (False, True):
        net = gluon.nn.Embedding(7, 4, sparse_grad=True)
        net.initialize(kiln.init.Constant(0.2))
        if hybrid:
            net.hybridize()
        with autograd.record():
            loss = (net(ids) * nd.array(head)).sum()
        loss.backward()
        grads.append(net.weight.grad())
    for g in grads:
        assert g.stype == "row_sparse"
        np.testing.assert_array_equal(g.indices.asnumpy(), [0, 3, 5])
    want = np.zeros((7, 4), "f")
    np.add.at(want, [0, 3, 3, 5], head.reshape(4, 4))
    np.testing.assert_allclose(grads[0].asnumpy(), want, rtol=1e-6)
    np.testing.assert_allclose(grads[1].asnumpy(), want, rtol=1e-6)


def test_lazy_sgd_leaves_absent_rows_alone(rs):
    w0 = rs.rand(5, 2).astype("f")
    g = sp.row_sparse_array((rs.rand(2, 2).astype("f"), [1, 3]), shape=(5, 2))
    for lazy in (True, False):
        opt = kiln.optimizer.SGD(learning_rate=0.5, momentum=0.9, wd=0.1, lazy_update=lazy)
        w = nd.array(w0)
        state = opt.create_state(0, w)
        state[:] = nd.ones((5, 2))
        opt.update(0, w, g, state)
        gd = g.asnumpy()
        mom = 0.9 * 1 - 0.5 * (gd + 0.1 * w0)
        want = w0 + mom
        if lazy:
            want[[0, 2, 4]] = w0[[0, 2, 4]]
            mom[[0, 2, 4]] = 1
        np.testing.assert_allclose(w.asnumpy(), want, rtol=1e-6)
        np.testing.assert_allclose(state.asnumpy(), mom, rtol=1e-6)


def test_kvstore_row_sparse_pull_needs_a_row_sparse_key():
    kv = kiln.kv.create("local")
    kv.init("w", nd.ones((3, 2)))
    with pytest.raises(kiln.MXNetError, match="row_sparse"):
        kv.row_sparse_pull("w", out=sp.zeros("row_sparse", (3, 2)), row_ids=nd.array([0]))


def test_save_load_round_trip(tmp_path, rs):
    c = sp.csr_matrix(_dense(rs, (4, 6)))
    r = nd.array(_dense(rs, (5, 2))).tostype("row_sparse")
    path = str(tmp_path / "s.nd")
    nd.save(path, {"c": c, "r": r, "z": sp.zeros("row_sparse", (3, 3))})
    back = nd.load(path)
    for k, a in (("c", c), ("r", r)):
        assert back[k].stype == a.stype
        np.testing.assert_array_equal(back[k].indices.asnumpy(), a.indices.asnumpy())
        np.testing.assert_array_equal(back[k].asnumpy(), a.asnumpy())
    assert back["z"].stype == "row_sparse" and back["z"].indices.shape == (0,)


def _rsp_blob(rows):
    """A one-array file: a (4, 1) float32 row_sparse record with the given row indices."""
    n = len(rows)
    head = struct.pack("<QQQ", 0x112, 0, 1)
    rec = struct.pack("<Iii2q", 0xF993FAC9, 1, 2, n, 1) + struct.pack("<i2q", 2, 4, 1)
    rec += struct.pack("<iii", 1, 0, 0) + struct.pack("<iiq", 6, 1, n)
    rec += np.ones(n, "<f4").tobytes() + np.asarray(rows, "<i8").tobytes()
    return head + rec + struct.pack("<Q", 0)


def test_load_checks_sparse_indices():
    ok = nd.load_frombuffer(_rsp_blob([0, 2]))[0]
    assert ok.stype == "row_sparse" and ok.asnumpy()[:, 0].tolist() == [1, 0, 1, 0]
    assert save_tobytes([ok]) == _rsp_blob([0, 2])
    with pytest.raises(NDArrayFormatError, match="out of range"):
        nd.load_frombuffer(_rsp_blob([0, 9]))
    with pytest.raises(NDArrayFormatError, match="sorted and unique"):
        nd.load_frombuffer(_rsp_blob([2, 0]))
    with pytest.raises(NDArrayFormatError, match="truncated"):
        nd.load_frombuffer(_rsp_blob([0, 2])[:-12])


def test_parameter_row_sparse_data(rs):
    w0 = rs.rand(5, 2).astype("f")
    p = gluon.Parameter("w", shape=(5, 2), stype="row_sparse", grad_stype="row_sparse")
    p.initialize(kiln.init.Constant(0))
    p.set_data(nd.array(w0))
    with pytest.raises(RuntimeError, match="no Trainer"):   # the rows come from its store
        p.row_sparse_data(nd.array([4, 1]))
    gluon.Trainer([p], "sgd")
    rows = p.row_sparse_data(nd.array([4, 1]))
    assert rows.stype == "row_sparse" and p.grad().stype == "row_sparse"
    np.testing.assert_array_equal(rows.indices.asnumpy(), [1, 4])
    np.testing.assert_array_equal(rows.data.asnumpy(), w0[[1, 4]])


def test_in_place_arithmetic_keeps_the_storage(rs):
    vals = rs.rand(2, 3).astype("f")
    g = sp.row_sparse_array((vals, [0, 2]), shape=(4, 3))
    g *= 0.5
    g += sp.row_sparse_array((vals[:1], [3]), shape=(4, 3))
    want = np.zeros((4, 3), "f")
    want[[0, 2]] = vals * 0.5
    want[3] = vals[0]
    assert g.stype == "row_sparse"
    np.testing.assert_allclose(g.asnumpy(), want, rtol=1e-6)
    g *= 0     # the rows stay stored, as MXNet's scalar multiplication keeps them
    np.testing.assert_array_equal(g.indices.asnumpy(), [0, 2, 3])


def test_copyto_dense_target_stays_writable(rs):
    c = sp.csr_matrix(_dense(rs, (3, 4)))
    target = nd.zeros((3, 4))
    c.copyto(target)
    target += 1          # its own buffer, not the read-only fallback copy
    np.testing.assert_allclose(target.asnumpy(), c.asnumpy() + 1)
    copy = c.copyto(kiln.cpu())
    assert copy is not c and copy.stype == "csr" and len(copy) == 3
