"""Property tests for the shape family: broadcasting (values, gradients, errors), MXNet's reshape
codes against shapes derived by construction, and concat/split/stack/transpose round trips."""
import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kiln import autograd, nd
from kiln.base import OpError
from kiln.ndarray._registry import Aval, get

SETTINGS = settings(max_examples=50, deadline=None, database=None)


def _arr(shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, size=shape)


def unbroadcast(g, shape):
    """Reference: sum a broadcast gradient back to ``shape`` (written with plain numpy)."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for ax, s in enumerate(shape):
        if s == 1 and g.shape[ax] != 1:
            g = g.sum(axis=ax, keepdims=True)
    return g


def _grads(fn, arrays, head):
    xs = [nd.array(a, dtype="float64") for a in arrays]
    for x in xs:
        x.attach_grad()
    with autograd.record():
        y = fn(*xs)
    y.backward(nd.array(head, dtype="float64"))
    return y.asnumpy(), [x.grad.asnumpy() for x in xs]


# ---- (a) broadcasting ------------------------------------------------------------------------
@SETTINGS
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=4, max_side=4))
def test_binary_broadcast_values_and_grads(shapes):
    (sa, sb), out = shapes.input_shapes, shapes.result_shape
    a, b, w = _arr(sa, 1), _arr(sb, 2), _arr(out, 3)
    y, (ga, gb) = _grads(nd.add, [a, b], w)
    np.testing.assert_allclose(y, a + b)
    np.testing.assert_allclose(ga, unbroadcast(w, sa))
    np.testing.assert_allclose(gb, unbroadcast(w, sb))
    y, (ga, gb) = _grads(nd.multiply, [a, b], w)
    np.testing.assert_allclose(y, a * b)
    np.testing.assert_allclose(ga, unbroadcast(w * b, sa), atol=1e-12)
    np.testing.assert_allclose(gb, unbroadcast(w * a, sb), atol=1e-12)


@st.composite
def _broadcast_pair(draw):
    """(input shape, target shape, target with 0 codes) where the input broadcasts to target."""
    target = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    drop = draw(st.integers(0, len(target) - 1))
    src = [1 if draw(st.booleans()) else t for t in target[drop:]]
    coded = list(target)
    for k in range(drop, len(target)):
        if src[k - drop] == target[k] and draw(st.booleans()):
            coded[k] = 0  # 0 keeps the input's dim
    return tuple(src), tuple(target), tuple(coded)


@SETTINGS
@given(_broadcast_pair())
def test_broadcast_to_matches_numpy(pair):
    src, target, coded = pair
    x, w = _arr(src, 4), _arr(target, 5)
    y, (gx,) = _grads(lambda t: nd.broadcast_to(t, shape=coded), [x], w)
    np.testing.assert_allclose(y, np.broadcast_to(x, target))
    np.testing.assert_allclose(gx, unbroadcast(w, src), atol=1e-12)
    assert get("broadcast_to").infer(Aval(src, np.dtype("float32")), shape=coded).shape == target


@SETTINGS
@given(_broadcast_pair())
def test_broadcast_like_and_axis(pair):
    src, target, _ = pair
    if len(src) != len(target):
        src = (1,) * (len(target) - len(src)) + src
    x = _arr(src, 6)
    y = nd.broadcast_like(nd.array(x), nd.zeros(target))
    np.testing.assert_allclose(y.asnumpy(), np.broadcast_to(x, target), rtol=1e-6)
    axes = tuple(k for k, (s, t) in enumerate(zip(src, target)) if s != t)
    if axes:
        z = nd.broadcast_axis(nd.array(x), axis=axes, size=tuple(target[k] for k in axes))
        np.testing.assert_allclose(z.asnumpy(), np.broadcast_to(x, target), rtol=1e-6)


@st.composite
def _incompatible(draw):
    a = draw(st.lists(st.integers(2, 4), min_size=1, max_size=3))
    k = draw(st.integers(0, len(a) - 1))
    b = list(a)
    b[k] = a[k] + draw(st.integers(1, 3))  # neither equal nor 1
    return tuple(a), tuple(b[draw(st.integers(0, k)):])


@SETTINGS
@given(_incompatible())
def test_incompatible_shapes_raise_op_error(shapes):
    sa, sb = shapes
    a, b = nd.ones(sa), nd.ones(sb)
    for fn, name in [(nd.add, "add"), (nd.multiply, "multiply")]:
        with pytest.raises(OpError) as e:
            fn(a, b)
        assert name in str(e.value) and str(sa) in str(e.value) and str(sb) in str(e.value)
    with pytest.raises(OpError) as e:
        nd.broadcast_to(a, shape=sb)
    assert "broadcast_to" in str(e.value) and str(sa) in str(e.value)
    with pytest.raises(OpError):
        get("broadcast_to").infer(Aval(sa, np.dtype("float32")), shape=sb)


# ---- (b) reshape codes -----------------------------------------------------------------------
# MXNet 1.9's documented examples: (input shape, codes, reverse, expected output shape).
DOC_CASES = [
    ((2, 3, 4), (4, 0, 2), False, (4, 3, 2)), ((2, 3, 4), (2, 0, 0), False, (2, 3, 4)),
    ((2, 3, 4), (6, 1, -1), False, (6, 1, 4)), ((2, 3, 4), (3, -1, 8), False, (3, 1, 8)),
    ((2, 3, 4), (-1,), False, (24,)), ((2, 3, 4), (-2,), False, (2, 3, 4)),
    ((2, 3, 4), (2, -2), False, (2, 3, 4)), ((2, 3, 4), (-2, 1, 1), False, (2, 3, 4, 1, 1)),
    ((2, 3, 4), (-3, 4), False, (6, 4)), ((2, 3, 4, 5), (-3, -3), False, (6, 20)),
    ((2, 3, 4), (0, -3), False, (2, 12)), ((2, 3, 4), (-3, -2), False, (6, 4)),
    ((2, 3, 4), (-4, 1, 2, -2), False, (1, 2, 3, 4)),
    ((2, 3, 4), (2, -4, -1, 3, -2), False, (2, 1, 3, 4)),
    ((10, 5, 4), (-1, 0), False, (40, 5)), ((10, 5, 4), (-1, 0), True, (50, 4)),
    ((2, 3, 4), (-1, 0), False, (8, 3)),
]


@pytest.mark.parametrize("src,codes,reverse,expected", DOC_CASES)
def test_reshape_documented_examples(src, codes, reverse, expected):
    x = nd.array(np.arange(np.prod(src)).reshape(src))
    y = nd.reshape(x, shape=codes, reverse=reverse)
    assert y.shape == expected
    np.testing.assert_array_equal(y.asnumpy().ravel(), np.arange(np.prod(src)))
    assert x.reshape(codes, reverse=reverse).shape == expected
    assert get("reshape").infer(Aval(src, np.dtype("float32")), shape=codes,
                                reverse=reverse).shape == expected


@st.composite
def _coded_reshape(draw):
    """Build codes segment by segment, so the expected output shape is known by construction:
    each segment consumes input dims and yields output dims with the same product."""
    src, codes, out, inferred = [], [], [], False
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["copy", "explicit", "merge", "split", "infer"]))
        if kind == "infer" and inferred:
            kind = "copy"
        if kind in ("copy", "explicit", "infer"):
            d = draw(st.integers(1, 4))
            src.append(d)
            out.append(d)
            codes.append({"copy": 0, "explicit": d, "infer": -1}[kind])
            inferred = inferred or kind == "infer"
        elif kind == "merge":
            d1, d2 = draw(st.integers(1, 3)), draw(st.integers(1, 3))
            src += [d1, d2]
            out.append(d1 * d2)
            codes.append(-3)
        else:
            d1, d2 = draw(st.integers(1, 3)), draw(st.integers(1, 3))
            src.append(d1 * d2)
            out += [d1, d2]
            hole = draw(st.sampled_from([None, 0, 1]))  # one of the two may be -1
            codes += [-4, -1 if hole == 0 else d1, -1 if hole == 1 else d2]
    if draw(st.booleans()):  # -2 copies whatever input dims remain
        tail = draw(st.lists(st.integers(1, 3), max_size=2))
        src += tail
        out += tail
        codes.append(-2)
    return tuple(src), tuple(codes), tuple(out)


@SETTINGS
@given(_coded_reshape(), st.booleans())
def test_reshape_codes_by_construction(case, reverse):
    src, codes, out = case
    if reverse:
        # reverse=True is the same pass read right to left: reverse input, codes and output
        src, codes, out = src[::-1], codes[::-1], out[::-1]
    x = _arr(src, 7)
    y = nd.reshape(nd.array(x, dtype="float64"), shape=codes, reverse=reverse)
    assert y.shape == out, (src, codes, reverse)
    np.testing.assert_array_equal(y.asnumpy(), x.reshape(out))
    w = _arr(out, 8)
    _, (g,) = _grads(lambda t: nd.reshape(t, shape=codes, reverse=reverse), [x], w)
    np.testing.assert_array_equal(g, w.reshape(src))


def test_reshape_errors_are_op_errors():
    x = nd.ones((2, 3, 4))
    for codes in [(5, -1), (-1, -1), (-3, -3), (-4, -1, -1, 0, 0), (7,)]:
        with pytest.raises(OpError) as e:
            nd.reshape(x, shape=codes)
        assert "reshape" in str(e.value)


# ---- (c) round trips -------------------------------------------------------------------------
@st.composite
def _parts(draw):
    """A common shape, an axis and the sizes of several parts along that axis."""
    base = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    axis = draw(st.integers(-len(base), len(base) - 1))
    sizes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=4))
    return base, axis, sizes


@SETTINGS
@given(_parts())
def test_concat_split_round_trip(case):
    base, axis, sizes = case
    ax = axis % len(base)
    shapes = [tuple(base[:ax]) + (s,) + tuple(base[ax + 1:]) for s in sizes]
    parts = [_arr(s, k) for k, s in enumerate(shapes)]
    joined = nd.concat(*[nd.array(p) for p in parts], dim=axis)
    np.testing.assert_allclose(joined.asnumpy(), np.concatenate(parts, axis=axis), rtol=1e-6)
    cuts = np.cumsum(sizes)[:-1].tolist()
    back = nd.split_v2(joined, cuts, axis=axis)
    back = back if isinstance(back, list) else [back]
    for p, b in zip(parts, back):
        np.testing.assert_allclose(b.asnumpy(), p, rtol=1e-6)
    # equal parts: split then concat gives the input back
    n = len(sizes)
    x = nd.array(_arr(tuple(base[:ax]) + (n * sizes[0],) + tuple(base[ax + 1:]), 9))
    pieces = nd.split(x, num_outputs=n, axis=axis)
    pieces = pieces if isinstance(pieces, list) else [pieces]
    np.testing.assert_array_equal(nd.concat(*pieces, dim=axis).asnumpy(), x.asnumpy())


@SETTINGS
@given(_parts())
def test_concat_gradient_routes_slices(case):
    base, axis, sizes = case
    ax = axis % len(base)
    shapes = [tuple(base[:ax]) + (s,) + tuple(base[ax + 1:]) for s in sizes]
    parts = [_arr(s, k) for k, s in enumerate(shapes)]
    w = _arr(np.concatenate(parts, axis=ax).shape, 10)
    _, grads = _grads(lambda *xs: nd.concat(*xs, dim=axis), parts, w)
    for g, expected in zip(grads, np.split(w, np.cumsum(sizes)[:-1], axis=ax)):
        np.testing.assert_array_equal(g, expected)


@SETTINGS
@given(st.lists(st.integers(1, 3), min_size=1, max_size=3), st.integers(1, 3), st.data())
def test_stack_split_squeeze_round_trip(shape, n, data):
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    arrays = [_arr(tuple(shape), k) for k in range(n)]
    stacked = nd.stack(*[nd.array(a) for a in arrays], axis=axis)
    np.testing.assert_allclose(stacked.asnumpy(), np.stack(arrays, axis=axis), rtol=1e-6)
    back = nd.split(stacked, num_outputs=n, axis=axis, squeeze_axis=True)
    back = back if isinstance(back, list) else [back]
    for a, b in zip(arrays, back):
        np.testing.assert_allclose(b.asnumpy(), a, rtol=1e-6)


@SETTINGS
@given(st.lists(st.integers(1, 3), min_size=1, max_size=5), st.data())
def test_transpose_round_trip(shape, data):
    perm = data.draw(st.permutations(range(len(shape))))
    x = _arr(tuple(shape), 11)
    y = nd.transpose(nd.array(x), axes=perm)
    np.testing.assert_allclose(y.asnumpy(), np.transpose(x, perm), rtol=1e-6)
    back = nd.transpose(y, axes=tuple(int(a) for a in np.argsort(perm)))
    np.testing.assert_allclose(back.asnumpy(), x, rtol=1e-6)
    np.testing.assert_allclose(nd.transpose(nd.array(x)).asnumpy(), x.T, rtol=1e-6)
    if len(shape) > 1:
        d1, d2 = data.draw(st.integers(0, len(shape) - 1)), data.draw(st.integers(0,
                                                                              len(shape) - 1))
        s = nd.swapaxes(nd.array(x), dim1=d1, dim2=d2)
        np.testing.assert_allclose(s.asnumpy(), np.swapaxes(x, d1, d2), rtol=1e-6)
        np.testing.assert_allclose(nd.SwapAxis(s, dim1=d1, dim2=d2).asnumpy(), x, rtol=1e-6)


@SETTINGS
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.data())
def test_slice_matches_numpy_and_scatters_gradient(shape, data):
    begin, end, step = [], [], []
    for d in shape:
        s = data.draw(st.sampled_from([None, 1, 2, -1, -2]))
        begin.append(data.draw(st.one_of(st.none(), st.integers(-d, d - 1))))
        end.append(data.draw(st.one_of(st.none(), st.integers(-d, d))))
        step.append(s)
    key = tuple(slice(b, e, s) for b, e, s in zip(begin, end, step))
    x = _arr(tuple(shape), 12)
    expected = x[key]
    w = _arr(expected.shape, 13)
    y, (g,) = _grads(lambda t: nd.slice(t, begin=begin, end=end, step=step), [x], w)
    np.testing.assert_array_equal(y, expected)
    scattered = np.zeros_like(x)
    scattered[key] = w
    np.testing.assert_array_equal(g, scattered)
