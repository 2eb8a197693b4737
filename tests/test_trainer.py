"""gluon.Trainer: step/update/allreduce, grad_req handling, stale gradients, saved states."""
import kiln
import numpy as np
import pytest
from kiln import autograd, nd
from kiln import optimizer as opt
from kiln.gluon import Trainer
from kiln.ndarray.ndarray import NDArray

try:
    from kiln.nn.parameter import Parameter
except ImportError:  # pragma: no cover - the real Parameter is written in parallel
    Parameter = None


class StubParam:
    """The part of Gluon's Parameter interface that the Trainer uses."""

    def __init__(self, name, value, ctx=(kiln.cpu(),), grad_req="write", array_cls=NDArray):
        self.name, self.grad_req, self.lr_mult, self.wd_mult = name, grad_req, 1.0, 1.0
        self._ctx = list(ctx)
        self._data = [array_cls(np.array(value, dtype=np.float32), c) for c in self._ctx]
        self._grads = [NDArray(np.zeros_like(d._data), c) for d, c in zip(self._data, self._ctx)]

    dtype = np.float32

    def list_data(self):
        return self._data

    def list_grad(self):
        return self._grads

    def list_ctx(self):
        return self._ctx

    def data(self, ctx=None):
        return self._data[0]

    def grad(self, ctx=None):
        return self._grads[0]


class FreshArray(NDArray):
    """An NDArray that carries MXNet's ``_fresh_grad`` flag (what autograd would set)."""


def _set_fresh(arr):
    """What backward does once autograd records fresh gradients (``_fresh_grad``)."""
    try:
        arr._fresh_grad = True
    except AttributeError:  # NDArray without the flag: the Trainer then treats grads as fresh
        pass


def make_param(name, value, grad_req="write", lr_mult=1.0):
    if Parameter is None:
        p = StubParam(name, value, grad_req=grad_req)
    else:
        p = Parameter(name, shape=np.shape(value), grad_req=grad_req, lr_mult=lr_mult)
        p.initialize(init=kiln.initializer.Constant(0.0) if hasattr(kiln, "initializer")
                     else None)
        p.set_data(nd.array(value))
    p.lr_mult = lr_mult
    return p


def backward_linear(params, x):
    """loss = sum_i sum(p_i * x): each gradient becomes x."""
    with autograd.record():
        loss = None
        for p in params:
            term = (p.data() * x).sum()
            loss = term if loss is None else loss + term
    loss.backward()


W = np.array([1.0, -2.0, 3.0], dtype=np.float32)
X = nd.array([0.5, 1.0, -1.0])


def test_step_rescales_by_batch_size():
    p = make_param("w", W)
    tr = Trainer([p], "sgd", {"learning_rate": 0.1, "rescale_grad": 2.0})
    backward_linear([p], X)
    tr.step(4)
    assert tr.optimizer.rescale_grad == 0.5
    np.testing.assert_allclose(p.data().asnumpy(), W - 0.1 * 0.5 * X.asnumpy(), rtol=1e-6)


def test_params_as_dict_sorted_and_lr_mult():
    a, b = make_param("b_w", W), make_param("a_w", W, lr_mult=0.0)
    tr = Trainer({"z": a, "y": b}, "sgd", {"learning_rate": 1.0})
    assert tr._params == [b, a]  # sorted by key, as MXNet does
    backward_linear([a, b], X)
    tr.step(1)
    np.testing.assert_allclose(b.data().asnumpy(), W)  # lr_mult 0 freezes it
    np.testing.assert_allclose(a.data().asnumpy(), W - X.asnumpy(), rtol=1e-6)


def test_grad_req_add_accumulates_and_null_is_skipped():
    acc, frozen = make_param("acc", W, grad_req="add"), make_param("fz", W, grad_req="null")
    tr = Trainer([acc, frozen], "sgd", {"learning_rate": 1.0})
    backward_linear([acc], X)
    backward_linear([acc], X)
    tr.step(1)  # the accumulated gradient 2x is used; the Trainer does not zero it
    np.testing.assert_allclose(acc.data().asnumpy(), W - 2 * X.asnumpy(), rtol=1e-6)
    np.testing.assert_allclose(acc.grad().asnumpy(), 2 * X.asnumpy(), rtol=1e-6)
    np.testing.assert_allclose(frozen.data().asnumpy(), W)


def test_learning_rate_api():
    p = make_param("w", W)
    tr = Trainer([p], "adam", {"learning_rate": 0.02})
    assert tr.learning_rate == 0.02
    tr.set_learning_rate(0.05)
    assert tr.learning_rate == 0.05 and tr.optimizer.lr == 0.05
    with pytest.raises(ValueError):
        Trainer([p], opt.SGD(), {"learning_rate": 0.1})
    sgd = opt.SGD(learning_rate=0.3)
    tr2 = Trainer([p], sgd)
    assert tr2.optimizer is sgd and sgd.param_dict[0] is p
    with pytest.raises(ValueError):
        Trainer("not params", "sgd")


def test_update_after_allreduce_equals_step():
    p1, p2 = make_param("w", W), make_param("w", W)
    t1 = Trainer([p1], "sgd", {"learning_rate": 0.1, "momentum": 0.9})
    t2 = Trainer([p2], "sgd", {"learning_rate": 0.1, "momentum": 0.9})
    for _ in range(2):
        backward_linear([p1], X)
        t1.step(2)
        backward_linear([p2], X)
        t2.allreduce_grads()
        t2.update(2)
    np.testing.assert_allclose(p1.data().asnumpy(), p2.data().asnumpy())


@pytest.mark.parametrize("on_kvstore", [None, False])
def test_multi_device_sums_gradients(on_kvstore):
    # MXNet 1.9: by default the 'device' store runs the optimizer once (update counts of
    # device 0 only); with update_on_kvstore=False every device updates its own copy
    p = StubParam("w", W, array_cls=FreshArray, ctx=(kiln.cpu(0), kiln.cpu(1)))
    p._grads[0]._data[...] = [1, 2, 3]
    p._grads[1]._data[...] = [3, 2, 1]
    for arr in p.list_data():
        _set_fresh(arr)
    tr = Trainer([p], "sgd", {"learning_rate": 0.5}, update_on_kvstore=on_kvstore)
    tr.step(4)
    want = W - 0.5 * np.array([4, 4, 4]) / 4
    for d in p.list_data():
        np.testing.assert_allclose(d.asnumpy(), want)
    assert tr._update_on_kvstore is (on_kvstore is None)
    counts = tr.optimizer._all_index_update_counts
    assert counts[0] == {0: 1}
    assert (1 in counts) is (on_kvstore is False)




def test_stale_gradient_detection():
    p = StubParam("w", W, array_cls=FreshArray)
    q = StubParam("v", W, array_cls=FreshArray)
    for arr in p.list_data() + q.list_data():
        arr._fresh_grad = True
    p._grads[0]._data[...] = 1.0
    q._grads[0]._data[...] = 1.0
    tr = Trainer([p, q], "sgd", {"learning_rate": 1.0})
    tr.step(1)
    assert p.list_data()[0]._fresh_grad is False
    p.list_data()[0]._fresh_grad = True  # only p got a new gradient
    with pytest.raises(UserWarning, match="`v`"):
        tr.step(1)
    tr.step(1, ignore_stale_grad=True)  # updates p, skips q
    np.testing.assert_allclose(p.data().asnumpy(), W - 2)
    np.testing.assert_allclose(q.data().asnumpy(), W - 1)


@pytest.mark.parametrize("name,kwargs", [("sgd", {"momentum": 0.9}), ("adam", {}),
                                         ("nadam", {}), ("rmsprop", {"centered": True})])
def test_save_and_load_states(tmp_path, name, kwargs):
    fname = str(tmp_path / "trainer.states")
    sched = kiln.lr_scheduler.FactorScheduler(step=1, factor=0.9)
    params = dict(learning_rate=0.1, lr_scheduler=sched, **kwargs)
    p1 = make_param("w", W)
    t1 = Trainer([p1], name, params)
    backward_linear([p1], X)
    t1.step(1)
    t1.save_states(fname)
    with np.load(fname, allow_pickle=False) as z:  # a plain npz archive, no pickle
        assert "__meta__" in z.files

    p2 = make_param("w", p1.data().asnumpy())
    t2 = Trainer([p2], "sgd", {"learning_rate": 7.0})
    t2.load_states(fname)
    assert type(t2.optimizer) is type(t1.optimizer)
    assert t2.optimizer.param_dict[0] is p2
    assert t2.optimizer.num_update == 1 and t2.learning_rate == pytest.approx(t1.learning_rate)
    for p, t in ((p1, t1), (p2, t2)):
        backward_linear([p], X)
        t.step(1)
    np.testing.assert_allclose(p2.data().asnumpy(), p1.data().asnumpy(), rtol=1e-6)


def test_load_states_rejects_other_files(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, a=np.zeros(2))
    p = make_param("w", W)
    tr = Trainer([p], "sgd")
    with pytest.raises(ValueError):
        tr.load_states(str(bad))


@pytest.mark.skipif(Parameter is None, reason="kiln.nn.parameter not available")
def test_deferred_parameter_and_float16_master_weights():
    p = Parameter("w", shape=(0,), dtype=np.float16, allow_deferred_init=True)
    p.initialize()
    tr = Trainer([p], "sgd", {"learning_rate": 0.5, "momentum": 0.9, "multi_precision": True})
    p.shape = (3,)
    p._finish_deferred_init()
    p.set_data(nd.array(W, dtype=np.float16))
    for _ in range(2):
        p.grad()._data[...] = np.float16(0.1)
        _set_fresh(p.data())
        tr.step(1)
    master, want = W.astype(np.float32), np.zeros(3, np.float32)
    mom = np.zeros(3, np.float32)
    for _ in range(2):
        mom = 0.9 * mom - 0.5 * np.float32(np.float16(0.1))
        master = master + mom
        want = master
    assert p.data().dtype == np.float16
    np.testing.assert_array_equal(p.data().asnumpy(), want.astype(np.float16))
    state = tr._updaters[0].states[0]
    assert state[1].dtype == np.float32  # SGD keeps (momentum, float32 master)


def test_trainer_follows_parameters_that_replace_their_arrays():
    """The Trainer keeps its parameter list between steps; re-initializing, casting or
    toggling grad_req must still update the arrays the block uses."""
    net = kiln.gluon.nn.Dense(2, in_units=3)
    net.initialize()
    tr = Trainer(net.collect_params(), "sgd", {"learning_rate": 1.0})
    x = kiln.nd.ones((1, 3))

    def step():
        with kiln.autograd.record():
            y = net(x).sum()
        y.backward()
        tr.step(1)
    step()
    net.initialize(kiln.init.Zero(), force_reinit=True)
    net.bias.grad_req = "null"
    net.bias.grad_req = "write"
    step()
    np.testing.assert_allclose(net.weight.data().asnumpy(), -np.ones((2, 3)))
    np.testing.assert_allclose(net.bias.data().asnumpy(), -np.ones(2))
