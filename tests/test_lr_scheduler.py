"""kiln.lr_scheduler: MXNet 1.9 schedules, warmup, and the optimizer's base_lr overwrite."""
import math

import pytest
from kiln import lr_scheduler as lrs
from kiln import optimizer as opt


def test_factor_scheduler():
    s = lrs.FactorScheduler(step=10, factor=0.5, base_lr=1.0)
    assert [s(n) for n in (1, 10, 11, 20, 21, 35)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.125]


def test_factor_scheduler_stop_and_resume():
    s = lrs.FactorScheduler(step=1, factor=0.1, stop_factor_lr=1e-3, base_lr=1.0)
    assert s(100) == pytest.approx(1e-3)  # a jump ahead applies every missed decay
    with pytest.raises(ValueError):
        lrs.FactorScheduler(step=0)
    with pytest.raises(ValueError):
        lrs.FactorScheduler(step=2, factor=1.5)


def test_factor_scheduler_warmup():
    s = lrs.FactorScheduler(step=10, factor=0.5, base_lr=1.0, warmup_steps=4,
                            warmup_begin_lr=0.2)
    assert [s(n) for n in range(4)] == pytest.approx([0.2, 0.4, 0.6, 0.8])
    assert s(4) == 1.0 and s(15) == 0.5
    c = lrs.FactorScheduler(step=10, base_lr=1.0, warmup_steps=3, warmup_begin_lr=0.1,
                            warmup_mode="constant")
    assert [c(n) for n in range(3)] == [0.1, 0.1, 0.1]
    with pytest.raises(ValueError):
        lrs.FactorScheduler(step=10, base_lr=0.1, warmup_begin_lr=0.5)
    with pytest.raises(ValueError):
        lrs.FactorScheduler(step=10, warmup_mode="cosine")


def test_multifactor_scheduler():
    s = lrs.MultiFactorScheduler(step=[3, 6], factor=0.1, base_lr=1.0)
    got = [s(n) for n in range(1, 9)]
    assert got == pytest.approx([1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01])
    with pytest.raises(ValueError):
        lrs.MultiFactorScheduler(step=[5, 3])


def test_poly_scheduler():
    s = lrs.PolyScheduler(max_update=10, base_lr=1.0, pwr=2, final_lr=0.1)
    for n in (0, 3, 10):
        assert s(n) == pytest.approx(0.1 + 0.9 * (1 - n / 10) ** 2)
    assert s(15) == pytest.approx(0.1)
    w = lrs.PolyScheduler(max_update=12, base_lr=1.0, pwr=1, warmup_steps=2)
    assert w(1) == pytest.approx(0.5)
    assert w(7) == pytest.approx(1.0 * (1 - 5 / 10))


def test_cosine_scheduler():
    s = lrs.CosineScheduler(max_update=10, base_lr=1.0, final_lr=0.0)
    for n in (0, 5, 7, 10):
        assert s(n) == pytest.approx((1 + math.cos(math.pi * n / 10)) / 2)
    assert s(20) == pytest.approx(0.0)
    w = lrs.CosineScheduler(max_update=14, base_lr=2.0, warmup_steps=4, warmup_begin_lr=1.0)
    assert w(2) == pytest.approx(1.5)
    assert w(9) == pytest.approx((1 + math.cos(math.pi * 5 / 10)))


def test_optimizer_overwrites_base_lr(capsys):
    s = lrs.FactorScheduler(step=2, factor=0.5, base_lr=1.0)
    o = opt.Adam(lr_scheduler=s)  # Adam's default learning_rate 0.001 wins
    assert s.base_lr == 0.001 and o.learning_rate == 0.001
    assert "overwritten" in capsys.readouterr().out
    keep = lrs.FactorScheduler(step=2, base_lr=0.3)
    assert opt.SGD(lr_scheduler=keep).learning_rate == 0.3  # SGD's learning_rate is None


def test_cosine_keeps_its_own_start_like_mxnet():
    # MXNet 1.9's Poly/Cosine decay from base_lr_orig, set at construction
    s = lrs.CosineScheduler(max_update=10, base_lr=1.0)
    opt.SGD(learning_rate=0.5, lr_scheduler=s)
    assert s.base_lr == 0.5
    assert s(0) == pytest.approx(1.0)
