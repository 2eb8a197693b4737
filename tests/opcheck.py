"""The one helper that checks an op facet by facet (used by the registry-walking tests)."""
import kiln as kl
import numpy as np
import pytest
from kiln import autograd, nd
from kiln.ndarray._registry import OPS, Aval

FLOAT = (np.float16, np.float32, np.float64)
ALL_OPS = sorted(OPS.values(), key=lambda op: op.name)


def cases(pred=lambda op, s: True):
    """``pytest.param(op, sample)`` for every registry op's samples that ``pred`` accepts (a
    list: pytest 9 no longer takes generators)."""
    return [pytest.param(op, s, id=f"{op.name}-{k}")
            for op in ALL_OPS for k, s in enumerate(op.samples) if pred(op, s)]


def is_float_array(a):
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def to_nd(inputs, dtype):
    """Sample inputs as NDArrays: float arrays cast to ``dtype``, others kept as they are."""
    out = []
    for a in inputs:
        if is_float_array(a):
            out.append(nd.NDArray(a.astype(dtype)))
        elif isinstance(a, np.ndarray):
            out.append(nd.NDArray(a.copy()))
        else:
            out.append(a)
    return out


def as_list(res):
    return list(res) if isinstance(res, (list, tuple)) else [res]


def run(op, inputs, attrs, dtype=np.float32):
    return as_list(op.func(*to_nd(inputs, dtype), **attrs))


def check_ref(op, sample):
    ref = sample.ref or op.ref
    outs = run(op, sample.inputs, sample.attrs)
    expected = as_list(ref(*[a.astype(np.float64) if is_float_array(a) else a
                             for a in sample.inputs], **sample.attrs))
    assert len(outs) == len(expected), f"{op.name}: {len(outs)} outputs, ref gives {len(expected)}"
    rtol = sample.rtol or 1e-4
    for o, e in zip(outs, expected):
        e = np.asarray(e)
        got = o.asnumpy()
        assert got.shape == e.shape, f"{op.name}: shape {got.shape} != reference {e.shape}"
        np.testing.assert_allclose(got.astype(np.float64), e.astype(np.float64), rtol=rtol,
                                   atol=1e-5, err_msg=f"{op.name} {sample}")


def check_infer(op, sample):
    nd_inputs = to_nd(sample.inputs, np.float32)
    avals = [Aval(tuple(a.shape), np.dtype(a.dtype)) if isinstance(a, nd.NDArray) else a
             for a in nd_inputs]
    inferred = op.infer(*avals, **sample.attrs)
    inferred = [inferred] if isinstance(inferred, Aval) else list(inferred)
    outs = as_list(op.func(*nd_inputs, **sample.attrs))
    assert len(inferred) == len(outs)
    for i, o in zip(inferred, outs):
        assert tuple(i.shape) == o.shape, f"{op.name}: infer {i.shape} != eager {o.shape}"
        assert np.dtype(i.dtype) == np.dtype(o.dtype), \
            f"{op.name}: infer {i.dtype} != eager {np.dtype(o.dtype)}"


def _loss_weights(outs, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.5, 1.5, size=o.shape) if np.dtype(o.dtype).kind == "f" else None
            for o in outs]


def _scalar_loss(op, inputs, attrs, weights):
    # the same mode as the analytic gradient (record() trains): BatchNorm uses batch statistics
    with autograd.pause(train_mode=True):
        outs = run(op, inputs, attrs, np.float64)
    return sum(float((o.asnumpy() * w).sum()) for o, w in zip(outs, weights) if w is not None)


def _wrt(sample):
    if sample.wrt is not None:
        return list(sample.wrt)
    return [i for i, a in enumerate(sample.inputs) if is_float_array(a)]


def analytic_grads(op, inputs, attrs, weights, wrt, create_graph=False):
    xs = to_nd(inputs, np.float64)
    for i in wrt:
        xs[i].attach_grad()
    with autograd.record():
        outs = as_list(op.func(*xs, **attrs))
        heads = [o for o, w in zip(outs, weights) if w is not None]
        hg = [nd.NDArray(w) for w in weights if w is not None]
        grads = autograd.grad(heads, [xs[i] for i in wrt], head_grads=hg,
                              create_graph=create_graph, retain_graph=create_graph)
    return xs, grads


def numeric_grad(f, inputs, i, eps=1e-6):
    x = inputs[i]
    g = np.zeros_like(x, dtype=np.float64)
    for idx in np.ndindex(x.shape):
        orig = x[idx]
        x[idx] = orig + eps
        fp = f(inputs)
        x[idx] = orig - eps
        fm = f(inputs)
        x[idx] = orig
        g[idx] = (fp - fm) / (2 * eps)
    return g


def check_grad(op, sample, rtol=1e-4, atol=1e-6):
    inputs = [a.astype(np.float64) if is_float_array(a) else a for a in sample.inputs]
    with autograd.pause():
        outs = run(op, inputs, sample.attrs, np.float64)
    weights = _loss_weights(outs)
    wrt = _wrt(sample)
    _, grads = analytic_grads(op, inputs, sample.attrs, weights, wrt)
    for i, g in zip(wrt, grads):
        num = numeric_grad(lambda ins: _scalar_loss(op, ins, sample.attrs, weights), inputs, i)
        assert g.shape == inputs[i].shape, f"{op.name}: grad shape {g.shape}"
        np.testing.assert_allclose(g.asnumpy(), num, rtol=rtol, atol=atol,
                                   err_msg=f"{op.name} d/d input {i} {sample}")


def check_second_order(op, sample, rtol=1e-4, atol=1e-5):
    inputs = [a.astype(np.float64) if is_float_array(a) else a for a in sample.inputs]
    with autograd.pause():
        outs = run(op, inputs, sample.attrs, np.float64)
    weights = _loss_weights(outs)
    wrt = _wrt(sample)
    vs = _loss_weights([inputs[i] for i in wrt], seed=1)

    def first_order_dot(ins):
        _, grads = analytic_grads(op, ins, sample.attrs, weights, wrt)
        return sum(float((g.asnumpy() * v).sum()) for g, v in zip(grads, vs))

    xs, grads = analytic_grads(op, inputs, sample.attrs, weights, wrt, create_graph=True)
    with autograd.record():
        s = sum(((g * nd.NDArray(v)).sum() for g, v in zip(grads, vs)), nd.zeros((1,),
                                                                              dtype="float64"))
    if s._node is None:  # gradient does not depend on the inputs: second derivative is zero
        second = [np.zeros_like(inputs[i]) for i in wrt]
    else:
        second = [g.asnumpy() for g in autograd.grad(s, [xs[i] for i in wrt])]
    for i, g2 in zip(wrt, second):
        num = numeric_grad(first_order_dot, inputs, i)
        np.testing.assert_allclose(g2, num, rtol=rtol, atol=atol,
                                   err_msg=f"{op.name} second order d/d input {i} {sample}")


def check_onnx(op, sample, opset=17, atol=1e-5):
    from kiln.export.onnx_builder import one_op_model, run_onnxruntime
    inputs = [a.astype(np.float32) if is_float_array(a) else a for a in sample.inputs]
    model, feed = one_op_model(op, inputs, sample.attrs, opset=opset)
    import onnx
    onnx.checker.check_model(model, full_check=True)
    got = run_onnxruntime(model, feed)
    expected = run(op, inputs, sample.attrs)
    for g, e in zip(got, expected):
        e = e.asnumpy()
        assert g.shape == e.shape, f"{op.name}: onnx shape {g.shape} != eager {e.shape}"
        assert g.dtype == e.dtype, f"{op.name}: onnx dtype {g.dtype} != eager {e.dtype}"
        np.testing.assert_allclose(g.astype(np.float64), e.astype(np.float64), rtol=1e-5,
                                   atol=atol, err_msg=f"{op.name} onnx {sample}")


_ = kl


class _FnBlock:
    """The minimal block protocol CachedGraph needs, around a plain function."""

    name = "fn"
    _children = {}

    def __init__(self, fn):
        self.fn = fn

    def _traced_forward(self, *args):
        return self.fn(*args)


def check_hybridized(op, sample, static_alloc=False):
    """Outputs and input gradients equal eagerly and through a traced, compiled graph."""
    from kiln.symbol.cached import CachedGraph
    inputs = [a.astype(np.float64) if is_float_array(a) else a for a in sample.inputs]
    pos = [k for k, a in enumerate(inputs) if isinstance(a, np.ndarray)]

    def fn(*arrays):
        args = list(inputs)
        for k, a in zip(pos, arrays):
            args[k] = a
        return op.func(*args, **sample.attrs)

    cg = CachedGraph(_FnBlock(fn), {"static_alloc": static_alloc})
    wrt = [k for k in _wrt(sample)] if (op.grad is not None and sample.grad) else []
    results = []
    for runner in (fn, cg):
        xs = to_nd([inputs[k] for k in pos], np.float64)
        for k in wrt:
            xs[pos.index(k)].attach_grad()
        with autograd.record():
            outs = as_list(runner(*xs))
        weights = _loss_weights(outs)
        grads = []
        if wrt:
            heads = [o for o, w in zip(outs, weights) if w is not None]
            autograd.backward(heads, [nd.NDArray(w) for w in weights if w is not None])
            grads = [xs[pos.index(k)].grad.asnumpy() for k in wrt]
        results.append(([o.asnumpy() for o in outs], grads))
    (eo, eg), (ho, hg) = results
    for a, b in zip(eo, ho):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-6, err_msg=f"{op.name} hybridized")
    for a, b in zip(eg, hg):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-6,
                                   err_msg=f"{op.name} hybridized gradient")
