"""``_blas.threads``: a scoped BLAS thread count that restores the previous one."""
import numpy as np
import pytest
from kiln.ndarray import _blas


def _count():
    fns = _blas._THREADS[0] if _blas._THREADS else None
    return None if fns is None else fns[0]()


def test_threads_scoped_and_restored():
    with _blas.threads(1):
        inside = _count()
    before = _count()
    if before is None:
        pytest.skip("numpy's BLAS has no thread-count symbols here")
    assert inside == 1
    with pytest.raises(RuntimeError):
        with _blas.threads(1):
            raise RuntimeError("inside")
    assert _count() == before


def test_threads_never_raises_the_count():
    with _blas.threads(1):
        with _blas.threads(64):     # asks for more than the enclosing scope: no change
            inner = _count()
    if inner is not None:
        assert inner == 1


def test_threads_without_symbols(monkeypatch):
    monkeypatch.setattr(_blas, "_THREADS", [None])
    a = np.ones((4, 4), np.float32)
    with _blas.threads(1):
        assert (a @ a == 4).all()


def test_threads_disabled_by_env(monkeypatch):
    monkeypatch.setenv("KILN_BLAS", "0")
    assert _blas._find_threads() is None
