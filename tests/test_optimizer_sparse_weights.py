"""Optimizers on sparse weights and gradients, and the sparse test-data helpers MXNet's
optimizer tests use (``rand_ndarray(stype=...)``, ``compare_optimizer(w_stype=, g_stype=)``).

MXNet 1.9 updates a row_sparse (or CSR) weight in place; FTRL's row_sparse kernel touches
only the gradient's rows when weight and gradient are both row_sparse; a float16 row_sparse
gradient under ``multi_precision`` still updates lazily.
"""
import kiln as mx
import numpy as np
import pytest
from kiln.test_utils import compare_optimizer, rand_ndarray


def _rsp(rows, values, shape):
    return mx.nd.sparse.row_sparse_array((np.asarray(values, "float32"), rows), shape=shape)


def test_rand_ndarray_row_sparse_keeps_rows_by_density():
    np.random.seed(3)
    full = rand_ndarray((5, 2), "row_sparse", density=1)
    assert full.stype == "row_sparse"
    assert list(full.indices.asnumpy()) == [0, 1, 2, 3, 4]
    values = full.data.asnumpy()
    assert ((values >= 0) & (values < 1)).all()
    empty = rand_ndarray((5, 2), "row_sparse", density=0)
    assert empty.indices.shape == (0,) and not empty.asnumpy().any()


def test_rand_ndarray_csr_and_unknown_stype():
    np.random.seed(4)
    c = rand_ndarray((6, 7), "csr", density=0.5, dtype="float64")
    assert c.stype == "csr" and c.dtype == np.float64 and c.shape == (6, 7)
    dense = c.asnumpy()
    assert 0 < np.count_nonzero(dense) < 42
    with pytest.raises(mx.base.MXNetError, match="2-d"):
        rand_ndarray((2, 3, 4), "csr")
    with pytest.raises(mx.base.MXNetError, match="unknown stype"):
        rand_ndarray((2, 3), "coo")


def test_sgd_updates_a_row_sparse_weight_in_place():
    w = _rsp([0, 1, 2], np.ones((3, 2)), (3, 2))
    g = _rsp([1], [[2.0, 4.0]], (3, 2))
    opt = mx.optimizer.SGD(learning_rate=0.5, wd=0.1, lazy_update=False)
    opt.update_multi_precision(0, w, g, opt.create_state_multi_precision(0, w))
    assert w.stype == "row_sparse"
    # non-lazy: every row decays, row 1 also moves against its gradient
    np.testing.assert_allclose(w.asnumpy(), [[0.95, 0.95], [-0.05, -1.05], [0.95, 0.95]],
                               rtol=1e-6)


def test_ftrl_row_sparse_weight_and_grad_updates_only_the_grad_rows():
    w = _rsp([0, 1, 2], [[0.5, 0.5], [0.7, 0.7], [0.9, 0.9]], (3, 2))
    g = _rsp([0], [[1.0, -1.0]], (3, 2))
    opt = mx.optimizer.Ftrl(lamda1=0.01, learning_rate=0.1)
    opt.update(0, w, g, opt.create_state(0, w))
    out = w.asnumpy()
    np.testing.assert_allclose(out[1:], [[0.7, 0.7], [0.9, 0.9]])   # untouched rows
    assert not np.allclose(out[0], [0.5, 0.5])
    # a dense weight with the same gradient updates every row (rows 1, 2 go to 0)
    dense = mx.nd.array([[0.5, 0.5], [0.7, 0.7], [0.9, 0.9]])
    opt2 = mx.optimizer.Ftrl(lamda1=0.01, learning_rate=0.1)
    opt2.update(0, dense, g, opt2.create_state(0, dense))
    np.testing.assert_allclose(dense.asnumpy()[0], out[0], rtol=1e-6)
    assert not dense.asnumpy()[1:].any()


def test_adam_float16_master_copy_keeps_a_row_sparse_grad_lazy():
    w = mx.nd.array(np.full((3, 2), 0.5), dtype="float16")
    g = _rsp([2], [[1.0, 1.0]], (3, 2)).astype("float16")
    opt = mx.optimizer.Adam(learning_rate=0.1, wd=0.5, multi_precision=True)
    opt.update_multi_precision(0, w, g, opt.create_state_multi_precision(0, w))
    out = w.asnumpy()
    assert (out[:2] == 0.5).all()       # rows without gradient: no weight decay either
    assert (out[2] < 0.5).all()


@pytest.mark.parametrize("make, kw", [
    # (opt1 sees a dense copy of the gradient, so the lazy ones compare non-lazily)
    (mx.optimizer.SGD, {"momentum": 0.9, "wd": 0.03, "lazy_update": False}),
    (mx.optimizer.Adam, {"wd": 0.03, "clip_gradient": 0.4, "lazy_update": False}),
    (mx.optimizer.AdaGrad, {}),
    (mx.optimizer.RMSProp, {"centered": True}),
])
@pytest.mark.parametrize("w_stype, g_stype", [("row_sparse", "row_sparse"),
                                               ("default", "row_sparse")])
def test_compare_optimizer_with_sparse_storage(make, kw, w_stype, g_stype):
    np.random.seed(5)
    compare_optimizer(make(**kw), make(**kw), (3, 4, 5), np.float32, w_stype=w_stype,
                      g_stype=g_stype)


def test_compare_optimizer_csr_and_bad_stype():
    compare_optimizer(mx.optimizer.SGD(wd=0.05), mx.optimizer.SGD(wd=0.05), (4, 5),
                      np.float64, w_stype="csr", g_stype="csr")
    with pytest.raises(mx.base.MXNetError, match="unknown storage type"):
        compare_optimizer(mx.optimizer.SGD(), mx.optimizer.SGD(), (4, 5), np.float32,
                          w_stype="coo")


def test_sparse_parameter_belongs_to_one_trainer():
    x = mx.gluon.Parameter("x", shape=(4,), stype="row_sparse")
    x.initialize()
    first = mx.gluon.Trainer([x], "sgd")
    assert x._trainer is first       # MXNet keeps the Trainer itself, not a weak reference
    x._set_trainer(None)
    x._set_trainer(first)
    with pytest.raises(RuntimeError, match="More than one trainers"):
        mx.gluon.Trainer([x], "sgd")
    dense = mx.gluon.Parameter("d", shape=(4,))
    dense.initialize()
    mx.gluon.Trainer([dense], "sgd")
    mx.gluon.Trainer([dense], "sgd")    # a dense parameter may change trainers


def _sparse_kv_step(stype, grad_stype, update_on_kvstore, kv="local"):
    x = mx.gluon.Parameter("x", shape=(6, 1), stype=stype, grad_stype=grad_stype)
    x.initialize(ctx=[mx.cpu(0), mx.cpu(1)], init="zeros")
    trainer = mx.gluon.Trainer([x], "sgd", {"learning_rate": 0.1}, kvstore=kv,
                               update_on_kvstore=update_on_kvstore)
    rows = mx.nd.arange(0, 6)
    ws = x.list_data() if stype == "default" else x.list_row_sparse_data(rows)
    with mx.autograd.record():
        for w in ws:
            (w + 1).backward()
    trainer.step(1)
    value = x.data(mx.cpu(0)) if stype == "default" else x.row_sparse_data(rows)
    return trainer, value.asnumpy()


@pytest.mark.parametrize("stype, grad_stype, wanted, expected", [
    ("default", "row_sparse", None, False),        # reduce sparse grads, update here
    ("default", "row_sparse", True, True),
    ("default", "default", None, True),
    ("row_sparse", "row_sparse", None, True),      # sparse weights live on the store
])
def test_trainer_update_on_kvstore_follows_the_storage_types(stype, grad_stype, wanted,
                                                             expected):
    trainer, value = _sparse_kv_step(stype, grad_stype, wanted)
    assert trainer._kvstore.type == "local" and trainer._update_on_kvstore is expected
    np.testing.assert_allclose(value, -0.2)   # both devices' gradients (1 each) summed


def test_trainer_refuses_local_updates_of_sparse_weights():
    with pytest.raises(ValueError, match="sparse weights"):
        _sparse_kv_step("row_sparse", "row_sparse", False)


def test_row_sparse_data_is_a_variable_of_its_parameter():
    w = mx.gluon.Parameter("w", shape=(4, 3), stype="row_sparse", grad_stype="row_sparse")
    w.initialize(mx.init.One(), ctx=[mx.cpu(1), mx.cpu(2)])
    trainer = mx.gluon.Trainer([w], "sgd", {"learning_rate": 1})
    batches = [mx.nd.array([[0, 2]], ctx=mx.cpu(1)), mx.nd.array([[1, 2]], ctx=mx.cpu(2))]
    with mx.autograd.record():
        outs = [mx.nd.Embedding(b, w.row_sparse_data(b), input_dim=4, output_dim=3,
                                sparse_grad=True) for b in batches]
    for o in outs:
        o.backward()
    rows = w.row_sparse_data(batches[0])        # reading rows keeps the gradients fresh
    assert rows.stype == "row_sparse" and list(rows.indices.asnumpy()) == [0, 2]
    trainer.step(1)                              # no stale-gradient UserWarning
    out = w.row_sparse_data(mx.nd.arange(0, 4, ctx=mx.cpu(1))).asnumpy()
    np.testing.assert_array_equal(out[:, 0], [0, 0, -1, 1])
