"""kiln.optimizer against hand-written numpy versions of MXNet 1.9's update formulas."""
import math

import kiln
import numpy as np
import pytest
from kiln import nd
from kiln import optimizer as opt

RNG = np.random.default_rng(7)
W0 = RNG.uniform(-1, 1, (3, 4))
GRADS = [RNG.uniform(-3, 3, (3, 4)), RNG.uniform(-3, 3, (3, 4))]


def run(optimizer, w0=W0, grads=GRADS, index=0, dtype=np.float32, mp=False):
    """Apply ``optimizer`` to one weight for each gradient; return the weight as numpy."""
    w = nd.array(w0, dtype=dtype)
    state = optimizer.create_state_multi_precision(index, w)
    for g in grads:
        gnd = nd.array(g, dtype=dtype)
        if mp:
            optimizer.update_multi_precision(index, w, gnd, state)
        else:
            optimizer.update(index, w, gnd, state)
    return w.asnumpy()


def clip(g, c):
    return g if not c else np.clip(g, -c, c)


# ---- numpy references (float64) --------------------------------------------------------------
def ref_sgd(w, grads, lr, wd=0., momentum=0., rescale=1., c=None):
    mom = np.zeros_like(w)
    for g in grads:
        g = clip(rescale * g, c)
        if momentum == 0:
            w = w - lr * (g + wd * w)
        else:
            mom = momentum * mom - lr * (g + wd * w)
            w = w + mom
    return w


def ref_nag(w, grads, lr, wd=0., momentum=0., rescale=1., c=None):
    mom = np.zeros_like(w)
    for g in grads:
        g = clip(rescale * g, c) + wd * w
        mom = momentum * mom - lr * g
        w = w + momentum * mom - lr * g
    return w


def ref_adam(w, grads, lr, wd=0., rescale=1., c=None, b1=0.9, b2=0.999, eps=1e-8):
    m = v = np.zeros_like(w)
    for t, g in enumerate(grads, 1):
        g = clip(rescale * g + wd * w, c)  # weight decay first, then clipping
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
    return w


def ref_adamw(w, grads, lr, wd=0., rescale=1., c=None, b1=0.9, b2=0.999, eps=1e-6):
    m = v = np.zeros_like(w)
    for t, g in enumerate(grads, 1):
        g = clip(rescale * g, c)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        eta = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        w = w - eta * (m / (np.sqrt(v) + eps) + wd * w)
    return w


def ref_adamax(w, grads, lr, wd=0., rescale=1., c=None, b1=0.9, b2=0.999):
    m = u = np.zeros_like(w)
    for t, g in enumerate(grads, 1):
        g = clip(rescale * g + wd * w, c)
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g))
        w = w - lr / (1 - b1 ** t) * m / u
    return w


def ref_nadam(w, grads, lr, wd=0., rescale=1., c=None, b1=0.9, b2=0.999, eps=1e-8, sd=0.004):
    m = v = np.zeros_like(w)
    sched = 1.
    for t, g in enumerate(grads, 1):
        g = clip(rescale * g + wd * w, c)
        mu = b1 * (1 - 0.5 * 0.96 ** (t * sd))
        mu1 = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * sd))
        sched *= mu
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mbar = (1 - mu) * g / (1 - sched) + mu1 * m / (1 - sched * mu1)
        w = w - lr * mbar / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return w


def ref_adagrad(w, grads, lr, wd=0., rescale=1., c=None, eps=1e-7):
    h = np.zeros_like(w)
    for g in grads:
        g = clip(rescale * g, c)
        h = h + g * g
        w = w - lr * (g / np.sqrt(h + eps) + wd * w)
    return w


def ref_adadelta(w, grads, wd=0., rescale=1., c=None, rho=0.9, eps=1e-5):
    ag = ad = np.zeros_like(w)
    for g in grads:
        g = clip(rescale * g, c)
        ag = rho * ag + (1 - rho) * g * g
        d = np.sqrt(ad + eps) / np.sqrt(ag + eps) * g
        ad = rho * ad + (1 - rho) * d * d
        w = w - (d + wd * w)
    return w


def ref_rmsprop(w, grads, lr, wd=0., rescale=1., c=None, g1=0.9, g2=0.9, eps=1e-8,
                centered=False, cw=None):
    n = mg = delta = np.zeros_like(w)
    for g in grads:
        g = clip(rescale * g + wd * w, c)
        n = (1 - g1) * g * g + g1 * n
        if centered:
            mg = (1 - g1) * g + g1 * mg
            delta = g2 * delta - lr * g / np.sqrt(n - mg * mg + eps)
            w = w + delta
        else:
            w = w - lr * g / np.sqrt(n + eps)
        w = clip(w, cw)
    return w


def ref_ftrl(w, grads, lr, wd=0., rescale=1., c=None, lamda1=0.01, beta=1.):
    z = n = np.zeros_like(w)
    for g in grads:
        g = clip(rescale * g, c)
        z = z + g - (np.sqrt(n + g * g) - np.sqrt(n)) * w / lr
        n = n + g * g
        w = (np.sign(z) * lamda1 - z) / ((beta + np.sqrt(n)) / lr + wd) * (np.abs(z) > lamda1)
    return w


def ref_ftml(w, grads, lr, wd=0., rescale=1., c=None, b1=0.6, b2=0.999, eps=1e-8):
    d = v = z = np.zeros_like(w)
    for t, g in enumerate(grads, 1):
        g = clip(rescale * g + wd * w, c)
        v = b2 * v + (1 - b2) * g * g
        d_t = (1 - b1 ** t) / lr * (np.sqrt(v / (1 - b2 ** t)) + eps)
        z = b1 * z + (1 - b1) * g - (d_t - b1 * d) * w
        d = d_t
        w = -z / d_t
    return w


def ref_signum(w, grads, lr, wd=0., rescale=1., c=None, momentum=0.9, wd_lh=0.):
    mom = np.zeros_like(w)
    for g in grads:
        g = clip(rescale * g, c)
        if momentum == 0:
            w = (1 - lr * wd) * w - lr * np.sign(g)
        else:
            mom = momentum * mom - (1 - momentum) * (g + wd * w)
            w = (1 - lr * wd_lh) * w + lr * np.sign(mom)
    return w


def ref_lamb(w, grads, lr, wd=0., rescale=1., c=None, b1=0.9, b2=0.999, eps=1e-6,
             lower=None, upper=None, bias_correction=True):
    m = v = np.zeros_like(w)
    for t, g in enumerate(grads, 1):
        g = clip(rescale * g, c)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mh, vh = (m / (1 - b1 ** t), v / (1 - b2 ** t)) if bias_correction else (m, v)
        r = mh / (np.sqrt(vh) + eps) + wd * w
        r1, r2 = np.linalg.norm(w), np.linalg.norm(r)
        if lower:
            r1 = max(r1, lower)
        if upper:
            r1 = min(r1, upper)
        w = w - (lr * r1 / r2 if r1 > 0 and r2 > 0 else lr) * r
    return w


def ref_lars(w, grads, lr, wd=0., momentum=0., rescale=1., c=None, eta=0.001, eps=0.):
    mom = np.zeros_like(w)
    for g in grads:
        wn, gn = np.linalg.norm(w), np.linalg.norm(rescale * g)
        lr_l = lr * eta * wn / (gn + wd * wn + eps)
        g = clip(rescale * g, c)
        mom = momentum * mom - lr_l * (g + wd * w)
        w = w + mom
    return w


# ---- the generic comparison --------------------------------------------------------------------
COMMON = [dict(), dict(wd=0.1), dict(c=0.5), dict(rescale=0.5), dict(wd=0.05, c=1.0, rescale=2.)]


def _kwargs(wd=0., c=None, rescale=1.):
    return dict(wd=wd, clip_gradient=c, rescale_grad=rescale)


CASES = [
    ("sgd", dict(learning_rate=0.1), lambda **k: ref_sgd(W0, GRADS, 0.1, **k)),
    ("sgd", dict(learning_rate=0.1, momentum=0.9),
     lambda **k: ref_sgd(W0, GRADS, 0.1, momentum=0.9, **k)),
    ("nag", dict(learning_rate=0.1, momentum=0.9),
     lambda **k: ref_nag(W0, GRADS, 0.1, momentum=0.9, **k)),
    ("nag", dict(learning_rate=0.1), lambda **k: ref_sgd(W0, GRADS, 0.1, **k)),
    ("adam", dict(learning_rate=0.01), lambda **k: ref_adam(W0, GRADS, 0.01, **k)),
    ("adamw", dict(learning_rate=0.01), lambda **k: ref_adamw(W0, GRADS, 0.01, **k)),
    ("adamax", dict(learning_rate=0.01), lambda **k: ref_adamax(W0, GRADS, 0.01, **k)),
    ("nadam", dict(learning_rate=0.01), lambda **k: ref_nadam(W0, GRADS, 0.01, **k)),
    ("adagrad", dict(learning_rate=0.1), lambda **k: ref_adagrad(W0, GRADS, 0.1, **k)),
    ("adadelta", dict(), lambda **k: ref_adadelta(W0, GRADS, **k)),
    ("rmsprop", dict(learning_rate=0.01), lambda **k: ref_rmsprop(W0, GRADS, 0.01, **k)),
    ("rmsprop", dict(learning_rate=0.01, centered=True, gamma2=0.8),
     lambda **k: ref_rmsprop(W0, GRADS, 0.01, centered=True, g2=0.8, **k)),
    ("rmsprop", dict(learning_rate=0.5, clip_weights=0.6),
     lambda **k: ref_rmsprop(W0, GRADS, 0.5, cw=0.6, **k)),
    ("ftrl", dict(learning_rate=0.1), lambda **k: ref_ftrl(W0, GRADS, 0.1, **k)),
    ("ftml", dict(learning_rate=0.01), lambda **k: ref_ftml(W0, GRADS, 0.01, **k)),
    ("signum", dict(learning_rate=0.01), lambda **k: ref_signum(W0, GRADS, 0.01, **k)),
    ("signum", dict(learning_rate=0.01, momentum=0.0),
     lambda **k: ref_signum(W0, GRADS, 0.01, momentum=0., **k)),
    ("signum", dict(learning_rate=0.01, wd_lh=0.1),
     lambda **k: ref_signum(W0, GRADS, 0.01, wd_lh=0.1, **k)),
    ("lamb", dict(learning_rate=0.01), lambda **k: ref_lamb(W0, GRADS, 0.01, **k)),
    ("lamb", dict(learning_rate=0.01, bias_correction=False, lower_bound=2., upper_bound=3.),
     lambda **k: ref_lamb(W0, GRADS, 0.01, bias_correction=False, lower=2., upper=3., **k)),
    ("lars", dict(learning_rate=0.1, momentum=0.9, eta=0.01),
     lambda **k: ref_lars(W0, GRADS, 0.1, momentum=0.9, eta=0.01, **k)),
]


@pytest.mark.parametrize("common", COMMON, ids=lambda c: ",".join(c) or "plain")
@pytest.mark.parametrize("name,kwargs,ref", CASES,
                         ids=[f"{c[0]}{i}" for i, c in enumerate(CASES)])
def test_update_matches_reference(name, kwargs, ref, common):
    o = opt.create(name, **kwargs, **_kwargs(**common))
    got = run(o)
    np.testing.assert_allclose(got, ref(**common), rtol=2e-5, atol=2e-6)


# ---- hand-computed numbers and MXNet facts -----------------------------------------------------
def test_sgd_momentum_by_hand():
    o = opt.SGD(learning_rate=0.1, momentum=0.9, wd=0.1)
    got = run(o, w0=np.array([1.0]), grads=[np.array([0.5])] * 2)
    # mom1 = -0.1*(0.5 + 0.1) = -0.06 -> w 0.94; mom2 = 0.9*-0.06 - 0.1*(0.5 + 0.094) -> 0.8266
    np.testing.assert_allclose(got, [0.8266], rtol=1e-6)


def test_sgd_clips_before_weight_decay_adam_after():
    sgd = opt.SGD(learning_rate=0.1, wd=1.0, clip_gradient=1.0)
    np.testing.assert_allclose(run(sgd, np.array([10.]), [np.array([0.])]), [9.0], rtol=1e-6)
    adam = opt.Adam(learning_rate=0.1, wd=1.0, clip_gradient=1.0)
    w = run(adam, np.array([10.]), [np.array([0.]), np.array([0.])])
    # after wd the gradient is 10 -> clipped to 1 both steps: Adam moves ~lr per step
    np.testing.assert_allclose(w, ref_adam(np.array([10.]), [np.zeros(1)] * 2, 0.1, wd=1.0, c=1.),
                               rtol=1e-6)
    assert abs(w[0] - 9.8) < 1e-3


def test_nag_uses_weight_before_update():
    o = opt.NAG(learning_rate=0.1, momentum=0.9, wd=0.1)
    got = run(o, w0=np.array([1.0]), grads=[np.array([0.5])] * 2)
    # g1 = 0.6, mom1 = -0.06, w1 = 1 + 0.9*-0.06 - 0.06 = 0.886
    # g2 = 0.5 + 0.0886 = 0.5886, mom2 = -0.054 - 0.05886 = -0.11286
    # w2 = 0.886 + 0.9*-0.11286 - 0.05886 = 0.725566
    np.testing.assert_allclose(got, [0.725566], rtol=1e-6)


def test_signum_momentum0_decoupled_decay():
    o = opt.Signum(learning_rate=0.1, momentum=0.0, wd=0.5)
    got = run(o, w0=np.array([2.0, -2.0]), grads=[np.array([0.3, 0.3])])
    np.testing.assert_allclose(got, [2 * 0.95 - 0.1, -2 * 0.95 - 0.1], rtol=1e-6)


def test_nadam_schedule_per_parameter():
    shared = opt.Nadam(learning_rate=0.01)
    w_a, w_b = nd.array(W0), nd.array(W0 * 2)
    s_a, s_b = shared.create_state(0, w_a), shared.create_state(1, w_b)
    for g in GRADS:
        shared.update(0, w_a, nd.array(g), s_a)
        shared.update(1, w_b, nd.array(g), s_b)
    np.testing.assert_allclose(w_a.asnumpy(), ref_nadam(W0, GRADS, 0.01), rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(w_b.asnumpy(), ref_nadam(W0 * 2, GRADS, 0.01), rtol=2e-5,
                               atol=2e-6)


def test_adadelta_leaves_gradient_untouched():
    o = opt.AdaDelta(rescale_grad=0.5)
    w, g = nd.array(W0), nd.array(GRADS[0])
    o.update(0, w, g, o.create_state(0, w))
    np.testing.assert_allclose(g.asnumpy(), GRADS[0].astype(np.float32))


def test_sgld_noise_from_seeded_generator():
    kiln.random.seed(3)
    o = opt.SGLD(learning_rate=0.04, wd=0.1)
    got = run(o, grads=GRADS[:1])
    # MXNet's SGLD draws nd.random.normal(0, sqrt(lr)) in the weight's dtype
    kiln.random.seed(3)
    noise = nd.random.normal(0, 0.2, shape=W0.shape, dtype=np.float32).asnumpy()
    want = W0 - 0.02 * (GRADS[0] + 0.1 * W0) + noise
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


# ---- multi precision ---------------------------------------------------------------------------
@pytest.mark.parametrize("name,kwargs", [("sgd", dict(momentum=0.9)), ("sgd", {}),
                                         ("nag", dict(momentum=0.9)), ("adam", {}),
                                         ("lamb", {}), ("rmsprop", {})])
def test_multi_precision_float16(name, kwargs):
    w16 = W0.astype(np.float16)
    o16 = opt.create(name, learning_rate=0.01, wd=0.01, multi_precision=True, **kwargs)
    got = run(o16, w0=w16, dtype=np.float16, mp=True)
    assert got.dtype == np.float16
    o32 = opt.create(name, learning_rate=0.01, wd=0.01, **kwargs)
    master = run(o32, w0=w16.astype(np.float32),
                 grads=[g.astype(np.float16).astype(np.float32) for g in GRADS])
    np.testing.assert_array_equal(got, master.astype(np.float16))


def test_multi_precision_state_layout():
    w = nd.array(W0, dtype=np.float16)
    sgd_state = opt.SGD(momentum=0.9, multi_precision=True).create_state_multi_precision(0, w)
    assert sgd_state[1].dtype == np.float32 and sgd_state[0].dtype == np.float32
    adam_state = opt.Adam(multi_precision=True).create_state_multi_precision(0, w)
    assert adam_state[0].dtype == np.float32 and len(adam_state[1]) == 2


def test_float16_without_multi_precision_warns():
    with pytest.warns(UserWarning, match="multi_precision"):
        opt.SGD(momentum=0.9).create_state_multi_precision(0, nd.array(W0, dtype=np.float16))


# ---- bookkeeping -------------------------------------------------------------------------------
def test_registry_and_create():
    assert type(opt.create("SGD")) is opt.SGD
    assert type(opt.create("AdamW", learning_rate=0.1)) is opt.AdamW
    assert set(opt.Optimizer.opt_registry) >= {
        "sgd", "nag", "adam", "adamw", "adamax", "nadam", "adagrad", "adadelta", "rmsprop",
        "lamb", "lars", "signum", "ftml", "ftrl", "sgld"}
    with pytest.raises(ValueError):
        opt.create("nope")

    @opt.register
    class MyTestOpt(opt.Optimizer):
        pass

    assert isinstance(opt.create("mytestopt"), MyTestOpt)
    del opt.Optimizer.opt_registry["mytestopt"]


def test_defaults():
    assert opt.SGD().learning_rate == 0.01
    assert opt.Adam().learning_rate == 0.001
    assert opt.Adamax().learning_rate == 0.002
    assert opt.Ftrl().learning_rate == 0.1
    assert opt.RMSProp().learning_rate == 0.001
    assert opt.Signum().momentum == 0.9


def test_update_counts():
    o = opt.SGD(learning_rate=0.1, begin_num_update=5)
    w, g = nd.array(W0), nd.array(GRADS[0])
    o.update(0, w, g, None)
    o.update(0, w, g, None)
    o.update(1, w, g, None)
    assert o._index_update_count == {0: 7, 1: 6}
    assert o.num_update == 7


def test_lr_and_wd_mult():
    class P:
        lr_mult, wd_mult = 0.5, 0.0

    o = opt.SGD(learning_rate=0.1, wd=0.1, param_dict={0: P()})
    assert o._get_lr(0) == 0.05 and o._get_wd(0) == 0.0
    o.set_lr_mult({1: 2.0})
    o.set_wd_mult({1: 3.0})
    assert o._get_lr(1) == pytest.approx(0.2) and o._get_wd(1) == pytest.approx(0.3)
    named = opt.SGD(wd=0.1, param_idx2name={0: "fc_weight", 1: "fc_bias"})
    assert named._get_wd(0) == pytest.approx(0.1) and named._get_wd(1) == 0.0


def test_learning_rate_and_scheduler(capsys):
    o = opt.SGD(learning_rate=0.1)
    o.set_learning_rate(0.2)
    assert o.learning_rate == 0.2
    sched = kiln.lr_scheduler.FactorScheduler(step=2, factor=0.5, base_lr=1.0)
    o = opt.SGD(learning_rate=0.1, lr_scheduler=sched)
    assert sched.base_lr == 0.1
    assert "overwritten" in capsys.readouterr().out
    with pytest.raises(UserWarning):
        o.set_learning_rate(0.3)
    w, g = nd.array(W0), nd.array(GRADS[0])
    lrs = []
    for _ in range(5):
        o.update(0, w, g, None)
        lrs.append(o.learning_rate)
    np.testing.assert_allclose(lrs, [0.1, 0.1, 0.05, 0.05, 0.025])
    keep = kiln.lr_scheduler.FactorScheduler(step=2, base_lr=0.7)
    assert opt.SGD(lr_scheduler=keep).learning_rate == 0.7


def test_updater_states_round_trip():
    o = opt.Adam(learning_rate=0.01, wd=0.1)
    upd = opt.get_updater(o)
    w = nd.array(W0)
    upd(0, nd.array(GRADS[0]), w)
    blob = upd.get_states(dump_optimizer=True)
    upd2 = opt.get_updater(opt.SGD())
    upd2.set_states(blob)
    assert type(upd2.optimizer) is opt.Adam and upd2.optimizer.wd == 0.1
    assert upd2.optimizer._index_update_count == {0: 1}
    w2 = nd.array(w.asnumpy())
    upd(0, nd.array(GRADS[1]), w)
    upd2(0, nd.array(GRADS[1]), w2)
    np.testing.assert_allclose(w2.asnumpy(), w.asnumpy(), rtol=1e-6)


# ---- optional cross-check against torch.optim ------------------------------------------------
def _torch_run(torch, cls, kwargs):
    p = torch.nn.Parameter(torch.tensor(W0, dtype=torch.float64))
    o = cls([p], **kwargs)
    for g in GRADS:
        p.grad = torch.tensor(g, dtype=torch.float64)
        o.step()
    return p.detach().numpy()


@pytest.mark.parametrize("name,kwargs,tname,tkwargs", [
    ("sgd", dict(learning_rate=0.1, momentum=0.9, wd=0.01), "SGD",
     dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    ("adam", dict(learning_rate=0.01, wd=0.01, epsilon=1e-12), "Adam",
     dict(lr=0.01, weight_decay=0.01, eps=1e-12)),
    # torch's AdamW decays with the uncorrected lr, MXNet's with the bias-corrected one
    ("adamw", dict(learning_rate=0.01, epsilon=1e-12), "AdamW",
     dict(lr=0.01, weight_decay=0.0, eps=1e-12)),
    ("rmsprop", dict(learning_rate=0.01, epsilon=1e-12), "RMSprop",
     dict(lr=0.01, alpha=0.9, eps=1e-12)),
    ("rmsprop", dict(learning_rate=0.01, epsilon=1e-12, centered=True, gamma2=0.9), "RMSprop",
     dict(lr=0.01, alpha=0.9, eps=1e-12, centered=True, momentum=0.9)),
    ("adagrad", dict(learning_rate=0.1, eps=1e-12), "Adagrad", dict(lr=0.1, eps=1e-12)),
])
def test_against_torch(name, kwargs, tname, tkwargs):
    torch = pytest.importorskip("torch")
    got = run(opt.create(name, **kwargs))
    want = _torch_run(torch, getattr(torch.optim, tname), tkwargs)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def ref_dcasgd(w, grads, lr, wd=0., momentum=0., rescale=1., c=None, lamda=0.04):
    mom, prev = np.zeros_like(w), w.copy()
    for g in grads:
        g = clip(rescale * g, c)
        mom = momentum * mom - lr * (g + wd * w + lamda * g * g * (w - prev))
        prev = w
        w = w + mom
    return w


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_dcasgd(momentum):
    o = opt.DCASGD(learning_rate=0.1, momentum=momentum, wd=0.1, lamda=0.5)
    grads = GRADS + [GRADS[0]]
    np.testing.assert_allclose(run(o, grads=grads),
                               ref_dcasgd(W0, grads, 0.1, wd=0.1, momentum=momentum, lamda=0.5),
                               rtol=2e-5, atol=2e-6)
    assert type(opt.create("ccsgd")) is opt.ccSGD


def test_sgd_aggregated_updates_equal_one_by_one(monkeypatch):
    """MXNet 1.9 updates SGD weights in groups (multi_sgd); the result is the same."""
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=s).astype(np.float32) for s in ((3, 4), (4,), (2, 2), (5,), (1,))]
    grads = [rng.normal(size=w.shape).astype(np.float32) for w in weights]
    results = []
    for size in ("1", "4"):
        monkeypatch.setenv("MXNET_OPTIMIZER_AGGREGATION_SIZE", size)
        sched = kiln.lr_scheduler.FactorScheduler(step=2, factor=0.5)
        opt = kiln.optimizer.SGD(learning_rate=0.1, momentum=0.9, wd=0.01, lr_scheduler=sched)
        assert opt.aggregate_num == int(size)
        upd = kiln.optimizer.get_updater(opt)
        ws = [kiln.nd.array(w) for w in weights]
        for _ in range(5):
            upd(list(range(len(ws))), [kiln.nd.array(g) for g in grads], ws)
        results.append([w.asnumpy() for w in ws])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_adamax_leaves_never_updated_entries_alone():
    """Adamax divides by the running max of |g|: where every gradient so far was 0 that is 0/0,
    which MXNet 1.9 writes as NaN; kiln makes no step there and the usual one elsewhere."""
    adamax = opt.create("adamax", learning_rate=0.1)
    w = nd.array([1.0, 2.0, 3.0])
    g = nd.array([0.0, 0.5, -1.0])
    state = adamax.create_state(0, w)
    adamax.update(0, w, g, state)
    got = w.asnumpy()
    assert np.isfinite(got).all() and got[0] == 1.0
    # the other entries: lr / (1 - beta1) * m / u with m = (1 - beta1) g, u = |g|
    np.testing.assert_allclose(got[1:], [2.0 - 0.1, 3.0 + 0.1], rtol=1e-6)
