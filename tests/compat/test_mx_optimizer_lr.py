# ruff: noqa: B007, B011, B023, F841  (MXNet test code ported as written)
"""Ported from MXNet 1.x tests/python/unittest/test_optimizer.py (imports adapted to kiln):
learning rates and the lr_scheduler schedules.

Left out: sparse storage variants (row_sparse/csr weights or gradients, lazy_update), the Module
API tests (test_lr_wd_mult; test_nadam is rewritten with gluon.Trainer). Adapted: the Python
reference optimizers pass ``ctx=`` by keyword to ``nd.zeros`` (MXNet's signature is
``zeros(shape, ctx, dtype)``; kiln's positional order differs: reported to the ndarray owner)."""
import os
import sys

import kiln as mx
import kiln.lr_scheduler as lr_scheduler
import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from _gluon_utils import (  # noqa: E402,F401  (_in_tmp_dir: autouse fixture)
    _in_tmp_dir,
    with_seed,
)


@with_seed()
def test_learning_rate():
    o1 = mx.optimizer.Optimizer(learning_rate=0.01)
    o1.set_learning_rate(0.2)
    assert o1.learning_rate == 0.2

    lr_s = lr_scheduler.FactorScheduler(step=1)
    o2 = mx.optimizer.Optimizer(lr_scheduler=lr_s, learning_rate=0.3)
    assert o2.learning_rate == 0.3
    o2.lr_scheduler.base_lr = 0.4
    assert o2.learning_rate == 0.4


@with_seed()
def test_learning_rate_expect_user_warning():
    lr_s = lr_scheduler.FactorScheduler(step=1)
    o = mx.optimizer.Optimizer(lr_scheduler=lr_s, learning_rate=0.3)
    with pytest.raises(UserWarning):
        o.set_learning_rate(0.5)


def test_factor_scheduler():
    base_lr = 1
    step = 100
    factor = 0.1
    sched = mx.lr_scheduler.FactorScheduler(step, factor, stop_factor_lr=1e-4, base_lr=base_lr,
                                            warmup_steps=20, warmup_begin_lr=0.1,
                                            warmup_mode='constant')

    assert (sched(0) == 0.1)
    np.testing.assert_almost_equal(sched(10), 0.1)
    assert (sched(21) == base_lr), sched(21)
    np.testing.assert_almost_equal(sched(101), base_lr * factor)
    np.testing.assert_almost_equal(sched(201), base_lr * factor * factor)
    np.testing.assert_almost_equal(sched(1000), 1e-4)


def test_multifactor_scheduler():
    base_lr = 0.1
    steps = [15, 25]
    factor = 0.1
    sched = mx.lr_scheduler.MultiFactorScheduler(steps, factor, base_lr=base_lr,
                                                 warmup_steps=10, warmup_begin_lr=0.05,
                                                 warmup_mode='linear')

    assert sched(0) == 0.05
    np.testing.assert_almost_equal(sched(5), 0.05 + (base_lr - 0.05) / 2)
    np.testing.assert_almost_equal(sched(15), base_lr)
    np.testing.assert_almost_equal(sched(16), base_lr * factor)
    np.testing.assert_almost_equal(sched(20), base_lr * factor)
    np.testing.assert_almost_equal(sched(26), base_lr * factor * factor)
    np.testing.assert_almost_equal(sched(100), base_lr * factor * factor)


def test_poly_scheduler():
    base_lr = 3
    final_lr = 0
    steps = 1000
    poly_sched = mx.lr_scheduler.PolyScheduler(steps, base_lr=base_lr, pwr=2, final_lr=final_lr,
                                               warmup_steps=100, warmup_begin_lr=0,
                                               warmup_mode='linear')

    np.testing.assert_almost_equal(poly_sched(0), 0)
    np.testing.assert_almost_equal(poly_sched(50), float(base_lr) / 2)
    np.testing.assert_almost_equal(poly_sched(100), base_lr)
    assert (poly_sched(101) < poly_sched(100))
    assert (poly_sched(500) < 1.6)
    np.testing.assert_almost_equal(poly_sched(steps), final_lr)


def test_cosine_scheduler():
    # also tests case without warmup
    base_lr = 3
    final_lr = 0.1
    steps = 1000
    cosine_sched = mx.lr_scheduler.CosineScheduler(steps, base_lr=base_lr, final_lr=final_lr)
    np.testing.assert_almost_equal(cosine_sched(0), base_lr)
    np.testing.assert_almost_equal(cosine_sched(steps), final_lr)
    assert (cosine_sched(500) > 1.5)
