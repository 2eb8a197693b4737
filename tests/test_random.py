"""Random sampling: distribution properties, seeding, namespaces and the ONNX lowerings.

Values cannot be compared with a reference generator, so these tests check what a sampler
promises: range, moments, dtype, shape, reproducibility under ``kiln.random.seed``.
"""
import kiln as kl
import numpy as np
import onnx
import pytest
from kiln import autograd, nd
from kiln.base import MXNetError
from kiln.ndarray._registry import get

N = 20000


@pytest.fixture(autouse=True)
def _seeded():
    kl.random.seed(1234)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_uniform_range_moments_dtype(dtype):
    x = nd.random.uniform(-2, 3, shape=(N,), dtype=dtype)
    a = x.asnumpy().astype(np.float64)
    assert x.dtype == np.dtype(dtype).type and x.shape == (N,)
    assert a.min() >= -2 and a.max() <= 3
    assert abs(a.mean() - 0.5) < 0.05
    assert abs(a.var() - 25 / 12) < 0.1
    hist = np.histogram(a, bins=5, range=(-2, 3))[0]
    assert hist.min() > 0.9 * N / 5               # flat


def test_normal_moments():
    a = nd.random.normal(1.5, 2.0, shape=(100, 200)).asnumpy().astype(np.float64)
    assert abs(a.mean() - 1.5) < 0.05 and abs(a.std() - 2.0) < 0.05
    frac = np.mean(np.abs(a - 1.5) < 2.0)
    assert abs(frac - 0.6827) < 0.02              # one-sigma mass
    assert abs(np.mean(((a - a.mean()) / a.std()) ** 3)) < 0.1   # symmetric


@pytest.mark.parametrize("dtype", [None, "int32", "int64"])
def test_randint_range_and_dtype(dtype):
    x = nd.random.randint(-3, 4, shape=(N,), dtype=dtype)
    assert x.dtype == (np.int32 if dtype is None else np.dtype(dtype).type)
    counts = np.bincount(x.asnumpy() + 3, minlength=7)
    assert len(counts) == 7 and counts.min() > 0.85 * N / 7    # every value, evenly


def test_randint_refuses_empty_range():
    with pytest.raises(kl.base.OpError, match="random_randint.*low < high"):
        nd.random.randint(5, 5, shape=(2,))


def test_default_shape_is_one_value():
    assert nd.random.uniform().shape == (1,)
    assert nd.random.normal().shape == (1,)
    assert nd.random_uniform(shape=4).shape == (4,)
    assert nd.random.uniform(shape=(2, 3)).dtype == np.float32


def test_shuffle_permutes_rows():
    x = nd.array(np.arange(40).reshape(20, 2))
    y = nd.random.shuffle(x)
    rows = y.asnumpy()
    assert sorted(rows[:, 0].tolist()) == list(range(0, 40, 2))
    assert (rows[:, 1] - rows[:, 0] == 1).all()               # rows stay intact
    assert not np.array_equal(rows, x.asnumpy())
    assert x.asnumpy()[3, 0] == 6                             # input untouched
    firsts = [int(nd.random.shuffle(nd.arange(4))[0].asscalar()) for _ in range(200)]
    assert set(firsts) == {0, 1, 2, 3}


def test_seed_makes_everything_reproducible():
    def draw():
        return [nd.random.uniform(shape=(3,)).asnumpy(), nd.random.normal(shape=(3,)).asnumpy(),
                nd.random.randint(0, 100, shape=(3,)).asnumpy(),
                nd.random.shuffle(nd.arange(10)).asnumpy(),
                kl.random.uniform(shape=(2,)).asnumpy()]
    kl.random.seed(7)
    a = draw()
    kl.random.seed(7)
    b = draw()
    kl.random.seed(8)
    c = draw()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


def test_top_level_namespace_matches_mxnet():
    assert kl.random.uniform(0, 1, shape=(2, 2)).shape == (2, 2)
    assert kl.random.normal(0, 1, shape=(3,)).shape == (3,)
    assert kl.random.randint(0, 5, shape=(4,)).dtype == np.int32
    assert kl.random.shuffle(nd.arange(5)).shape == (5,)
    assert nd.uniform(shape=(2,)).shape == (2,) and nd.normal(shape=(2,)).shape == (2,)


def test_ctx_and_out():
    x = nd.random.uniform(shape=(2,), ctx=kl.cpu(1))
    assert x.context == kl.cpu(1)
    out = nd.zeros((3, 2), dtype="float64")
    res = nd.random.normal(5, 0.001, out=out)
    assert res is out and abs(out.asnumpy().mean() - 5) < 0.01
    with kl.cpu(2):
        assert nd.random.uniform(shape=(1,)).context == kl.cpu(2)


def test_array_parameters_sample_per_element():
    low, high = nd.array([0, 10, 100]), nd.array([1, 11, 101])
    x = nd.random.uniform(low, high, shape=(500,))
    assert x.shape == (3, 500)
    a = x.asnumpy()
    for i, lo in enumerate([0, 10, 100]):
        assert lo <= a[i].min() and a[i].max() <= lo + 1
    y = nd.random.normal(nd.array([[0.0], [50.0]]), nd.array([[1.0], [0.1]]), shape=2000)
    assert y.shape == (2, 1, 2000)
    assert abs(y.asnumpy()[1].std() - 0.1) < 0.01 and abs(y.asnumpy()[1].mean() - 50) < 0.01
    with pytest.raises(MXNetError, match="all be NDArrays or all numbers"):
        nd.random.uniform(low, 3.0)


def test_like_variants():
    x = nd.zeros((40, 50), dtype="float64")
    u = nd.random.uniform_like(x, low=2, high=3)
    assert u.shape == x.shape and u.dtype == np.float64
    assert 2 <= u.asnumpy().min() and u.asnumpy().max() <= 3
    z = nd.random_normal_like(x, loc=-1, scale=0.5).asnumpy()
    assert abs(z.mean() + 1) < 0.05 and abs(z.std() - 0.5) < 0.05


def test_no_gradient_flows_through_sampling():
    x = nd.array([1.0, 2.0])
    x.attach_grad()
    with autograd.record():
        y = (x * nd.random.uniform_like(x)).sum() + nd.random.normal(shape=(1,)).sum()
    y.backward()
    assert x.grad.shape == (2,) and (x.grad.asnumpy() >= 0).all()
    op = get("random_uniform")
    assert op.random and "no gradient" in op.no_grad


# ---- ONNX: the exported node, and onnxruntime's samples' shape / dtype / range -------------------
def _export(name, inputs, **attrs):
    from kiln.export.onnx_builder import one_op_model, run_onnxruntime
    model, feed = one_op_model(get(name), inputs, attrs, opset=17)
    onnx.checker.check_model(model, full_check=True)
    return model, run_onnxruntime(model, feed)


def _node(model, op_type):
    nodes = [n for n in model.graph.node if n.op_type == op_type]
    assert nodes, f"no {op_type} node in {[n.op_type for n in model.graph.node]}"
    return nodes[0], {a.name: onnx.helper.get_attribute_value(a) for a in nodes[0].attribute}


@pytest.mark.parametrize("opset", [13, 17])
def test_onnx_random_uniform_node(opset):
    from kiln.export.onnx_builder import one_op_model
    model, _ = one_op_model(get("random_uniform"), [], {"low": -1, "high": 2, "shape": (3, 4),
                                                       "dtype": "float64"}, opset=opset)
    onnx.checker.check_model(model, full_check=True)
    _, attrs = _node(model, "RandomUniform")
    assert attrs["shape"] == [3, 4] and attrs["low"] == -1 and attrs["high"] == 2
    assert attrs["dtype"] == onnx.TensorProto.DOUBLE


def test_onnx_runs_and_matches_shape_dtype_range():
    model, (u,) = _export("random_uniform", [], low=2, high=3, shape=(50, 4))
    assert u.shape == (50, 4) and u.dtype == np.float32 and 2 <= u.min() and u.max() <= 3
    model, (z,) = _export("random_normal", [], loc=10, scale=1, shape=(400,))
    _, attrs = _node(model, "RandomNormal")
    assert attrs["mean"] == 10 and attrs["scale"] == 1 and attrs["shape"] == [400]
    assert z.dtype == np.float32 and abs(z.mean() - 10) < 0.3
    _, (r,) = _export("random_randint", [], low=-2, high=3, shape=(300,), dtype="int64")
    assert r.dtype == np.int64 and set(r.tolist()) == {-2, -1, 0, 1, 2}


def test_onnx_shuffle_like_and_per_element():
    data = np.arange(12, dtype=np.float32).reshape(6, 2)
    _, (s,) = _export("shuffle", [data])
    assert sorted(s[:, 0].tolist()) == data[:, 0].tolist() and (s[:, 1] - s[:, 0] == 1).all()
    model, (u,) = _export("random_uniform_like", [data], low=5, high=6)
    _node(model, "RandomUniformLike")
    assert u.shape == (6, 2) and u.dtype == np.float32 and 5 <= u.min() and u.max() <= 6
    lo = np.array([0, 100], np.float32)
    _, (p,) = _export("sample_uniform", [lo, lo + 1], shape=(30,))
    assert p.shape == (2, 30) and 100 <= p[1].min() and p[1].max() <= 101 and p[0].max() <= 1


def test_uniform_and_normal_scale_the_unit_draw_exactly():
    """uniform/normal are ``low + (high - low) * u`` and ``loc + scale * z`` over the seeded
    generator's float32 draws, bit for bit (the scaling is done in the draw's own buffer)."""
    from kiln.ndarray import rng
    kl.random.seed(3)
    got = nd.random.uniform(-1, 2, shape=(257,)).asnumpy()
    kl.random.seed(3)
    u = rng.generator(np).random((257,), dtype=np.float32)
    np.testing.assert_array_equal(got, (-1 + 3.0 * u).astype(np.float32))
    kl.random.seed(4)
    got = nd.random.normal(1.5, 2, shape=(3, 5)).asnumpy()
    kl.random.seed(4)
    z = rng.generator(np).standard_normal((3, 5), dtype=np.float32)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, 1.5 + 2 * z)
