"""Sparse weights (``Parameter(stype='row_sparse')``) and sparse arrays as autograd variables,
as MXNet 1.9.1 has them.

A row_sparse weight is held as ``nd.sparse`` arrays, one per device; its Trainer's kvstore
keeps the whole weight and updates it, and ``row_sparse_data(row_id)`` pulls the rows a batch
needs into the device's array, which is the autograd variable. ``data()``/``list_data()``
refuse sparse weights. A sparse array can itself be a variable (``attach_grad``), with a
gradient buffer of its own storage type by default.
"""
import os
import sys
import textwrap

import kiln as mx
import numpy as np
import pytest
from _oracle_suite import MX_PYTHON, run_script
from kiln import autograd, gluon, nd


def _sparse_param(name="w", shape=(6, 2), init="one", ctx=None, **kw):
    p = gluon.Parameter(name, shape=shape, stype="row_sparse", grad_stype="row_sparse", **kw)
    p.initialize(init=init, ctx=ctx)
    return p


# ---- Parameter(stype='row_sparse') ---------------------------------------------------------
def test_sparse_weight_refuses_dense_access_and_needs_a_trainer():
    p = _sparse_param(ctx=[mx.cpu(0), mx.cpu(1)])
    for read in (p.data, p.list_data):
        with pytest.raises(RuntimeError, match="row_sparse_data"):
            read()
    rows = nd.array([1, 3])
    with pytest.raises(RuntimeError, match="no Trainer"):
        p.row_sparse_data(rows)
    gluon.Trainer([p], "sgd")
    with pytest.raises(TypeError, match="NDArray"):
        p.row_sparse_data([1, 3])
    dense = gluon.Parameter("d", shape=(6, 2))
    dense.initialize()
    gluon.Trainer([dense], "sgd")
    for read in (dense.row_sparse_data, dense.list_row_sparse_data):
        with pytest.raises(RuntimeError, match="data\\(\\) instead"):
            read(rows)


def test_initialized_sparse_weight_stores_every_row():
    # an initializer leaves every row stored, zero rows too (MXNet's zeros-then-fill)
    p = _sparse_param(init="zeros")
    assert p._data[0].stype == "row_sparse" and p.grad().stype == "row_sparse"
    assert p._data[0].indices.asnumpy().tolist() == list(range(6))
    assert p.var().attr("__storage_type__") == "1"


def test_row_sparse_data_is_the_devices_variable_holding_the_rows():
    p = _sparse_param(ctx=[mx.cpu(1), mx.cpu(2)])
    p.set_data(nd.array(np.arange(12).reshape(6, 2)))
    gluon.Trainer([p], "sgd")
    rows = p.row_sparse_data(nd.array([4, 1, 4], ctx=mx.cpu(2)))
    assert rows is p._data[1] and rows.context == mx.cpu(2)
    assert rows.indices.asnumpy().tolist() == [1, 4]
    assert rows.asnumpy()[[1, 4]].tolist() == [[2, 3], [8, 9]]
    assert not rows.asnumpy()[[0, 2, 3, 5]].any()
    both = p.list_row_sparse_data(nd.array([0]))
    assert [b.indices.asnumpy().tolist() for b in both] == [[0], [0]]


def test_training_updates_the_store_lazily_and_rows_are_pulled():
    p = _sparse_param(ctx=[mx.cpu(0), mx.cpu(1)])
    trainer = gluon.Trainer([p], "sgd", {"learning_rate": 0.5, "momentum": 0.9})
    batches = [nd.array([0, 2], ctx=mx.cpu(0)), nd.array([2, 5], ctx=mx.cpu(1))]
    with autograd.record():
        outs = [nd.Embedding(b, p.row_sparse_data(b), input_dim=6, output_dim=2,
                             sparse_grad=True).sum() for b in batches]
    autograd.backward(outs)
    assert p.grad(mx.cpu(1)).indices.asnumpy().tolist() == [2, 5]
    trainer.step(1)
    # the devices' arrays are not written by the step: they hold what was last pulled
    assert p._data[0].indices.asnumpy().tolist() == [0, 2]
    full = p.row_sparse_data(nd.arange(0, 6)).asnumpy()[:, 0]
    # rows 0 and 5 got one gradient, row 2 two (summed across devices); the rest untouched
    np.testing.assert_allclose(full, [0.5, 1, 0, 1, 1, 0.5])
    with pytest.raises(UserWarning, match="has not been updated"):
        trainer.step(1)


def test_sparse_weight_with_a_dense_gradient_and_reset_ctx():
    p = gluon.Parameter("w", shape=(4, 2), stype="row_sparse")   # grad_stype 'default'
    p.initialize(init="one", ctx=[mx.cpu(0), mx.cpu(1)])
    trainer = gluon.Trainer([p], "sgd", {"learning_rate": 1})
    with autograd.record():
        ys = [(r * 2).sum() for r in p.list_row_sparse_data(nd.array([3, 1]))]
    autograd.backward(ys)
    assert p.grad(mx.cpu(0)).stype == "default"
    trainer.step(1)       # d/dr sum(2r) is 2 on every row; two devices: 1 - 4
    np.testing.assert_array_equal(p.row_sparse_data(nd.arange(0, 4)).asnumpy(), -3)
    p.reset_ctx(mx.cpu(2))           # moves the store's weight
    assert p.list_ctx() == [mx.cpu(2)] and p._data[0].context == mx.cpu(2)
    np.testing.assert_array_equal(p._data[0].asnumpy(), -3)


def test_sparse_weight_refuses_local_updates():
    p = _sparse_param()
    with pytest.raises(ValueError, match="sparse weights"):
        trainer = gluon.Trainer([p], "sgd", update_on_kvstore=False)
        trainer._ensure_ready()


def test_save_reads_the_store_and_load_converts_the_storage(tmp_path):
    params = gluon.ParameterDict("net_")
    params.get("emb", shape=(4, 3), stype="row_sparse", grad_stype="row_sparse")
    params.initialize(mx.init.One())
    trainer = gluon.Trainer(params, "sgd", {"learning_rate": 1})
    w = params.get("emb")
    with autograd.record():
        y = nd.Embedding(nd.array([3]), w.row_sparse_data(nd.array([3])), input_dim=4,
                         output_dim=3, sparse_grad=True).sum()
    y.backward()
    trainer.step(1)
    path = str(tmp_path / "p.params")
    params.save(path)         # the store's weight, though the device holds only row 3
    saved = nd.load(path)["net_emb"]
    assert saved.stype == "row_sparse"
    np.testing.assert_array_equal(saved.asnumpy()[:, 0], [1, 1, 1, 0])

    dense = gluon.ParameterDict("net_")
    dense.get("emb", shape=(4, 3))
    dense.load(path)
    assert dense.get("emb").data().stype == "default"
    np.testing.assert_array_equal(dense.get("emb").data().asnumpy()[:, 0], [1, 1, 1, 0])

    sparse = gluon.ParameterDict("net_")
    sparse.get("emb", shape=(4, 3), stype="row_sparse")
    dense.save(path)
    sparse.load(path)
    assert sparse.get("emb")._data[0].stype == "row_sparse"
    gluon.Trainer(sparse, "sgd")
    np.testing.assert_array_equal(
        sparse.get("emb").row_sparse_data(nd.arange(0, 4)).asnumpy()[:, 0], [1, 1, 1, 0])


def test_set_data_reaches_the_store():
    p = _sparse_param()
    gluon.Trainer([p], "sgd")
    p.row_sparse_data(nd.array([0]))          # the store exists now
    p.set_data(nd.ones((6, 2)) * 5)
    np.testing.assert_array_equal(p.row_sparse_data(nd.arange(0, 6)).asnumpy(), 5)


def test_blocks_refuse_sparse_weights():
    data, weight = mx.sym.var("data"), mx.sym.var("weight", stype="row_sparse")
    with pytest.raises(AssertionError, match="storage type is 'row_sparse'"):
        gluon.SymbolBlock(mx.sym.dot(data, weight), data)
    params = gluon.ParameterDict("net_")
    params.get("weight", shape=(3, 4), stype="row_sparse")
    net = gluon.nn.Dense(3, in_units=4, params=params)
    net.initialize()
    with pytest.raises(RuntimeError, match="row_sparse_data"):
        net(nd.ones((2, 4)))


# ---- sparse arrays as autograd variables ---------------------------------------------------
@pytest.mark.parametrize("stype", ["row_sparse", "csr"])
def test_sparse_variable_gradient_storage_and_detach(stype):
    x = nd.zeros((3, 2), stype=stype)
    assert x.stype == stype and not x.asnumpy().any()
    x.attach_grad()
    assert x.grad.stype == stype            # by default the array's own storage
    assert x.detach().stype == stype
    x.attach_grad(stype="default")
    assert x.grad.stype == "default"
    assert nd.empty((3, 2), stype=stype).stype == stype
    with pytest.raises(ValueError, match="storage type"):
        nd.zeros((3, 2), stype="coo")


@pytest.mark.parametrize("stype", ["row_sparse", "csr"])
def test_gradients_through_sparse_variables(stype):
    a = np.array([[0, 1.5], [0, 0], [2, -1]], "float32")
    b = np.array([[3, 0], [1, 1], [0, 0]], "float32")
    x, y = nd.array(a).tostype(stype), nd.array(b).tostype(stype)
    x.attach_grad()
    y.attach_grad()
    with autograd.record():
        out = x * y + x * 2 - nd.exp(y)
    out.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), b + 2)
    np.testing.assert_allclose(y.grad.asnumpy(), a - np.exp(b), rtol=1e-6)
    assert x.grad.stype == stype


def test_dot_gradient_into_a_row_sparse_buffer():
    lhs = nd.sparse.csr_matrix(([1.0, 2.0], [0, 3], [0, 1, 2]), shape=(2, 5))
    w = nd.ones((5, 3)).tostype("row_sparse")
    w.attach_grad()
    with autograd.record():
        y = nd.dot(lhs, w)
    y.backward()
    assert w.grad.stype == "row_sparse"
    assert w.grad.indices.asnumpy().tolist() == [0, 3]
    np.testing.assert_allclose(w.grad.asnumpy(), lhs.asnumpy().T @ np.ones((2, 3)))


def test_sparse_arithmetic_keeps_its_storage_off_the_tape():
    r = nd.array([[0, 0], [1, 2]]).tostype("row_sparse")
    with autograd.record():       # not a variable: the sparse kernels still run
        assert (r * 2).stype == "row_sparse" and (r + r).stype == "row_sparse"
    assert (-r).stype == "row_sparse"


# ---- the same scenario in MXNet 1.9.1 ------------------------------------------------------
SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    mx = __import__(sys.argv[1])
    from_rows = lambda a: a.asnumpy().tolist()
    p = mx.gluon.Parameter("w", shape=(5, 2), stype="row_sparse", grad_stype="row_sparse")
    p.initialize(init=mx.init.Constant(1.0), ctx=[mx.cpu(0), mx.cpu(1)])
    trainer = mx.gluon.Trainer([p], "adam", {"learning_rate": 0.1, "wd": 0.01})
    out = {"init_rows": p._data[0].indices.asnumpy().tolist()}
    for step, (b0, b1) in enumerate([([0, 3], [3, 4]), ([1, 1], [0, 0])]):
        bs = [mx.nd.array(b0, ctx=mx.cpu(0)), mx.nd.array(b1, ctx=mx.cpu(1))]
        with mx.autograd.record():
            ls = [(mx.nd.Embedding(b, p.row_sparse_data(b), input_dim=5, output_dim=2,
                                   sparse_grad=True) ** 2).sum() for b in bs]
        mx.autograd.backward(ls)
        out["grad_rows%d" % step] = p.grad(mx.cpu(1)).indices.asnumpy().tolist()
        trainer.step(2)
        out["local_rows%d" % step] = p._data[0].indices.asnumpy().tolist()
        out["weight%d" % step] = from_rows(p.row_sparse_data(mx.nd.arange(0, 5)))
    print(json.dumps(out))
""")


@pytest.mark.skipif(not os.path.exists(MX_PYTHON), reason="no MXNet 1.9.1 oracle (.mxnet-venv)")
def test_sparse_weight_training_matches_mxnet(tmp_path):
    want = run_script(MX_PYTHON, "mxnet", SCRIPT, tmp_path)
    got = run_script(sys.executable, "kiln", SCRIPT, tmp_path)
    assert set(got) == set(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-6, err_msg=key)
