"""Trainer's fast path (optimizer/direct.py): its guards, and bit-for-bit the numbers, counts
and states of the regular path, whatever changes between steps."""
import warnings

import kiln
import numpy as np
import pytest
from kiln import autograd, gluon, nd
from kiln.optimizer import direct
from kiln.optimizer.adam import _moments, adam_kernel
from kiln.optimizer.optimizer import clip_op
from kiln.optimizer.sgd import sgd_kernel


def make_net(hybridize=True, dtype=np.float32):
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(5, activation="relu", in_units=7),
            gluon.nn.Dense(4, activation="relu", in_units=5),
            gluon.nn.Dense(3, in_units=4))
    net.initialize()
    net.cast(dtype)
    rng = np.random.default_rng(0)
    for p in net.collect_params().values():  # structural order: names differ between nets
        p.set_data(nd.array(rng.standard_normal(p.shape) * 0.5, dtype=dtype))
    if hybridize:
        net.hybridize()
    return net


def backward(net, batch, seed):
    rng = np.random.default_rng(seed)
    dtype = net[0].weight.dtype
    x = nd.array(rng.standard_normal((batch, 7)), dtype=dtype)
    y = nd.array(rng.integers(0, 3, batch), dtype=dtype)
    with autograd.record():
        loss = gluon.loss.SoftmaxCrossEntropyLoss()(net(x), y)
    loss.backward()


@pytest.fixture
def fast_runs(monkeypatch):
    """Counts the steps the plan took."""
    runs = [0]
    real = direct.StepPlan.run

    def counting(self, opt, updaters):
        done = real(self, opt, updaters)
        runs[0] += done
        return done
    monkeypatch.setattr(direct.StepPlan, "run", counting)
    return runs


def twin(optimizer, params, hybridize=True, dtype=np.float32):
    """(net, trainer) with the fast path, and the same without it (the reference)."""
    out = []
    for fast in (True, False):
        net = make_net(hybridize, dtype)
        tr = gluon.Trainer(list(net.collect_params().values()), optimizer, dict(params))
        if not fast:
            tr._refresh_plan = lambda: None  # never builds a plan: always the regular path
        out.append((net, tr))
    return out


def assert_same(a, b):
    (_, tr_a), (_, tr_b) = a, b
    for pa, pb in zip(tr_a._params, tr_b._params):
        da, db = pa.data().asnumpy(), pb.data().asnumpy()
        assert da.dtype == db.dtype
        np.testing.assert_array_equal(da, db, err_msg=pa.name)
    oa, ob = tr_a._optimizer, tr_b._optimizer
    assert oa._all_index_update_counts == ob._all_index_update_counts
    assert oa.num_update == ob.num_update
    assert oa.rescale_grad == ob.rescale_grad
    sa, sb = tr_a._updaters[0].states, tr_b._updaters[0].states
    assert sorted(sa) == sorted(sb)
    for k in sa:
        flat_a, flat_b = _flatten(sa[k]), _flatten(sb[k])
        assert len(flat_a) == len(flat_b)
        for x, y in zip(flat_a, flat_b):
            np.testing.assert_array_equal(x.asnumpy(), y.asnumpy())


def _flatten(state):
    if isinstance(state, (tuple, list)):
        return [a for s in state for a in _flatten(s)]
    return [] if state is None else [state]


def train(pair, steps, hook=None, batch=4):
    for net, tr in pair:
        for k in range(steps):
            if hook is not None:
                hook(k, net, tr)
            backward(net, batch, seed=k)
            tr.step(batch)


def test_plain_sgd_takes_the_fast_path_and_matches(fast_runs):
    pair = twin("sgd", {"learning_rate": 0.1})
    train(pair, 6)
    assert_same(*pair)
    assert fast_runs[0] == 5  # every step after the first
    assert pair[0][1]._plan.kind == "sgd"


def test_learning_rate_changes_and_batch_size_changes(fast_runs):
    pair = twin("sgd", {"learning_rate": 0.1})

    def hook(k, net, tr):
        if k == 3:
            tr.set_learning_rate(0.03)
        if k == 5:
            tr.optimizer.lr = 0.5
    for net, tr in pair:
        for k in range(8):
            hook(k, net, tr)
            backward(net, 4, seed=k)
            tr.step(2 + k)  # a batch size of its own each step
    assert_same(*pair)
    assert fast_runs[0] == 7
    assert pair[0][1].learning_rate == 0.5


@pytest.mark.parametrize("aggregate", ["1", "4", "50"])
def test_scheduler_called_as_in_the_regular_path(fast_runs, monkeypatch, aggregate):
    monkeypatch.setenv("MXNET_OPTIMIZER_AGGREGATION_SIZE", aggregate)
    calls = []

    class Recording(kiln.lr_scheduler.FactorScheduler):
        def __call__(self, num_update):
            calls.append(num_update)
            return super().__call__(num_update)
    seqs = []
    for fast in (True, False):
        calls.clear()
        net = make_net()
        sched = Recording(step=2, factor=0.5, base_lr=0.4)
        tr = gluon.Trainer(list(net.collect_params().values()), "sgd",
                           {"lr_scheduler": sched})
        if not fast:
            tr._refresh_plan = lambda: None
        for k in range(7):
            backward(net, 4, seed=k)
            tr.step(4)
        seqs.append((list(calls), [p.data().asnumpy() for p in tr._params], tr.learning_rate))
    assert seqs[0][0] == seqs[1][0]
    for a, b in zip(seqs[0][1], seqs[1][1]):
        np.testing.assert_array_equal(a, b)
    assert seqs[0][2] == seqs[1][2]
    assert fast_runs[0] == 6


def test_lr_mult_wd_mult_wd_clip_and_momentum_changes(fast_runs):
    pair = twin("sgd", {"learning_rate": 0.1})

    def hook(k, net, tr):
        if k == 2:
            net[0].weight.lr_mult = 0.5
        if k == 3:
            tr.optimizer.wd = 0.01
            net[1].bias.wd_mult = 0.0
            net[1].weight.wd_mult = 3.0
        if k == 4:
            tr.optimizer.clip_gradient = 0.05
        if k == 5:  # states were made without momentum: MXNet then ignores it, so do we
            tr.optimizer.momentum = 0.9
    train(pair, 8, hook)
    assert_same(*pair)
    assert fast_runs[0] == 7


@pytest.mark.parametrize("params", [
    {"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-3},
    {"learning_rate": 0.1, "momentum": 0.9, "clip_gradient": 0.1},
    {"learning_rate": 0.1, "wd": 1e-2},
])
def test_sgd_momentum_and_weight_decay(fast_runs, params):
    pair = twin("sgd", params)
    train(pair, 6)
    assert_same(*pair)
    assert fast_runs[0] == 5


@pytest.mark.parametrize("params", [
    {"learning_rate": 0.01},
    {"learning_rate": 0.01, "wd": 1e-3, "clip_gradient": 0.2},
    {"learning_rate": 0.01, "lr_scheduler": "poly"},
])
def test_adam(fast_runs, params):
    params = dict(params)
    if params.get("lr_scheduler") == "poly":
        params["lr_scheduler"] = kiln.lr_scheduler.PolyScheduler(max_update=5, base_lr=0.01)
        pair = twin("adam", params)
        # each twin needs its own (stateful) scheduler
        pair[1][1]._optimizer.lr_scheduler = kiln.lr_scheduler.PolyScheduler(max_update=5,
                                                                             base_lr=0.01)
    else:
        pair = twin("adam", params)

    def hook(k, net, tr):
        if k == 3:
            net[2].weight.lr_mult = 2.0
    train(pair, 7, hook)
    assert_same(*pair)
    assert fast_runs[0] == 6


def test_set_data_cast_and_grad_req_between_steps(fast_runs):
    pair = twin("sgd", {"learning_rate": 0.1, "momentum": 0.5})

    def hook(k, net, tr):
        if k == 2:
            net[0].weight.set_data(nd.ones(net[0].weight.shape) * 0.1)
        if k == 4:  # replaces the arrays: the plan must follow the new ones
            net[1].initialize(kiln.init.Constant(0.2), force_reinit=True)
        if k == 6:
            net[2].bias.grad_req = "null"
    train(pair, 9, hook)
    assert_same(*pair)
    np.testing.assert_array_equal(pair[0][0][2].bias.data().asnumpy(),
                                  pair[1][0][2].bias.data().asnumpy())
    assert fast_runs[0] >= 5


def test_stale_gradient_raises_before_any_update(fast_runs):
    pair = twin("sgd", {"learning_rate": 0.1})
    train(pair, 3)
    for net, tr in pair:
        before = [p.data().asnumpy().copy() for p in tr._params]
        with pytest.raises(UserWarning, match="has not been updated by backward"):
            tr.step(4)  # no backward since the last step
        for b, p in zip(before, tr._params):
            np.testing.assert_array_equal(b, p.data().asnumpy())
        # only part of the net gets a new gradient: ignore_stale_grad updates just those
        x = nd.ones((2, 7))
        with autograd.record():
            out = net[0](x).sum()
        out.backward()
        tr.step(2, ignore_stale_grad=True)
    assert_same(*pair)
    train(pair, 3)  # counts differ per parameter now: the plan declines, results agree
    assert_same(*pair)
    counts = pair[0][1]._optimizer._index_update_count
    assert len(set(counts.values())) == 2


def test_update_allreduce_split_grad_req_add_and_float64(fast_runs):
    pair = twin("sgd", {"learning_rate": 0.1}, dtype=np.float64)
    for net, tr in pair:
        for p in net.collect_params().values():
            p.grad_req = "add"
        for k in range(4):
            backward(net, 3, seed=k)
            tr.allreduce_grads()
            tr.update(3)
    assert_same(*pair)
    assert pair[0][0][0].weight.data().dtype == np.float64
    assert fast_runs[0] == 3


def test_float16_multi_precision_and_overrides_use_the_regular_path(fast_runs):
    pair = twin("sgd", {"learning_rate": 0.1, "momentum": 0.9, "multi_precision": True},
                dtype=np.float16)
    train(pair, 4)
    assert_same(*pair)
    assert fast_runs[0] == 0
    pair = twin("sgd", {"learning_rate": 0.1})
    seen = []
    for net, tr in pair:
        real = tr.optimizer.update_many

        def spy(*args, real=real):
            seen.append(1)
            return real(*args)
        tr.optimizer.update_many = spy  # a user override: every step must call it
        train([(net, tr)], 3)
    assert len(seen) == 2 * 3 * 2  # two trainers, 3 steps, 2 groups of parameters
    assert fast_runs[0] == 0
    assert_same(*pair)


def test_load_states_and_other_optimizers(fast_runs, tmp_path):
    pair = twin("sgd", {"learning_rate": 0.1, "momentum": 0.9})
    train(pair, 3)
    fname = str(tmp_path / "s.states")
    pair[0][1].save_states(fname)
    for _, tr in pair:
        tr.load_states(fname)
    train(pair, 3)
    assert_same(*pair)
    pair = twin("rmsprop", {"learning_rate": 0.01})
    train(pair, 3)
    assert_same(*pair)
    assert pair[0][1]._plan.kind is None


def test_unhybridized_net(fast_runs):
    pair = twin("adam", {"learning_rate": 0.01}, hybridize=False)
    train(pair, 4)
    assert_same(*pair)
    assert fast_runs[0] == 3


def _adam_expr(xp, w, g, mean, var, lr, wd, beta1, beta2, epsilon, rescale, clip):
    g = clip_op(xp, rescale * g + wd * w, clip)
    _moments(mean, var, g, beta1, beta2)
    w -= lr * mean / (xp.sqrt(var) + epsilon)


def _sgd_expr(xp, w, g, mom, lr, wd, momentum, rescale, clip):
    g = clip_op(xp, rescale * g, clip)
    if mom is None:
        w[...] = (1 - lr * wd) * w - lr * g
    else:
        mom *= momentum
        mom -= lr * wd * w + lr * g
        w += mom


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("scalar", [float, np.float64])
@pytest.mark.parametrize("shape", [(3, 5), ()])
def test_in_place_kernels_equal_the_expressions(dtype, scalar, shape):
    """The kernels compute in place on temporaries; the bits must be those of the textbook
    expressions, numpy scalars and mixed dtypes included."""
    rng = np.random.default_rng(3)
    w0 = np.asarray(rng.standard_normal(shape), dtype=dtype)
    g0 = np.asarray(rng.standard_normal(shape) * 3, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # float16 overflow is fine here
        for clip in (None, scalar(0.5)):
            for mom_on in (False, True):
                res = []
                for kernel in (_sgd_expr, sgd_kernel):
                    w, m = w0.copy(), (np.zeros(shape, dtype) if mom_on else None)
                    for _ in range(3):
                        kernel(np, w, g0, m, scalar(0.1), scalar(1e-3), 0.9, scalar(0.25),
                               clip)
                    res.append(w)
                np.testing.assert_array_equal(res[0], res[1])
            for state_dtype in (dtype, np.float32):
                res = []
                for kernel in (_adam_expr, adam_kernel):
                    w = w0.copy()
                    m, v = np.zeros(shape, state_dtype), np.zeros(shape, state_dtype)
                    for _ in range(3):
                        kernel(np, w, g0, m, v, scalar(0.01), scalar(1e-3), 0.9, scalar(0.999),
                               scalar(1e-8), scalar(0.25), clip)
                    res.append((w, m, v))
                for a, b in zip(*res):
                    assert np.asarray(a).tobytes() == np.asarray(b).tobytes()


@pytest.mark.parametrize("optimizer,params", [
    ("sgd", {"learning_rate": 0.1}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-3}),
    ("adam", {"learning_rate": 0.01, "wd": 1e-3, "clip_gradient": 0.2}),
])
def test_a_step_in_two_halves_side_by_side_is_the_same(fast_runs, monkeypatch, optimizer,
                                                        params):
    """Large models update their parameters in two halves on two threads (``_halves``):
    each parameter's update is its own, so the numbers are bit for bit the regular path's."""
    monkeypatch.setenv("KILN_THREADS", "2")
    monkeypatch.setattr(direct, "SPLIT_MIN", 0)
    halves = []
    real = direct._halves
    monkeypatch.setattr(direct, "_halves", lambda ws: halves.append(real(ws)) or halves[-1])
    pair = twin(optimizer, params)
    train(pair, 5)
    assert_same(*pair)
    assert fast_runs[0] == 4 and halves and all(h is not None for h in halves)
    (a, b), = {tuple(map(tuple, h)) for h in halves}   # the same halves every step
    assert sorted(a + b) == list(range(6)) and a and b


def test_halves_balance_sizes_and_small_models_stay_whole(monkeypatch):
    monkeypatch.setenv("KILN_THREADS", "2")
    ws = [nd.zeros((n,)) for n in (10, 70, 30, 40)]
    assert direct._halves(ws) is None            # far below SPLIT_MIN
    monkeypatch.setattr(direct, "SPLIT_MIN", 0)
    assert direct._halves(ws) == ([1, 0], [3, 2])   # 70 + 10 against 40 + 30
    monkeypatch.setenv("KILN_THREADS", "1")      # no worker: whole
    assert direct._halves(ws) is None
