"""Deterministic sample inputs for the registry-walking tests (float64; tests cast as needed)."""
import numpy as np


def _rng(shape, salt):
    seed = (hash(tuple(shape)) ^ salt) & 0xFFFFFFFF
    return np.random.default_rng(seed)


def rnd(*shape, lo=-1.0, hi=1.0, salt=0):
    """Uniform values in [lo, hi)."""
    return _rng(shape, salt).uniform(lo, hi, size=shape)


def pos(*shape, lo=0.5, hi=2.0, salt=1):
    """Positive values, away from zero (logs, roots, divisors)."""
    return rnd(*shape, lo=lo, hi=hi, salt=salt)


def away(*shape, margin=0.1, salt=2):
    """Values in [-1, 1] at least ``margin`` from 0 (kinks of abs, relu, sign)."""
    r = _rng(shape, salt)
    mag = r.uniform(margin, 1.0, size=shape)
    return mag * r.choice([-1.0, 1.0], size=shape)


def distinct(*shape, salt=3):
    """Values with well-separated entries (max, sort, argmax have no ties)."""
    n = int(np.prod(shape)) if shape else 1
    vals = np.linspace(-1.0, 1.0, n) + 0.01 * _rng(shape, salt).uniform(-1, 1, size=n)
    return _rng(shape, salt + 1).permutation(vals).reshape(shape)


def ints(*shape, lo=0, hi=5, salt=4):
    """Integer index arrays (int64)."""
    return _rng(shape, salt).integers(lo, hi, size=shape).astype(np.int64)
