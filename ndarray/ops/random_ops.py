"""Random sampling ops: uniform, normal, randint, shuffle, per-element samplers, ``*_like``.

Every op draws from ``kiln.random.generator(xp)``, so ``kiln.random.seed(s)`` makes results
reproducible. Values cannot be compared with a reference or with onnxruntime (different
generators): samples set ``onnx=False`` and tests/test_random.py checks distribution properties
and the exported nodes instead. No op here has a gradient (the output depends on the inputs'
shape only, or, for shuffle and the samplers, on a permutation / draw that is not kept).

Example::

    >>> kl.random.seed(42)
    >>> nd.random_uniform(low=-1, high=1, shape=(2, 3)).shape
    (2, 3)
"""
import numpy as np

from .. import rng as _krandom
from .._registry import REQUIRED, Aval, Sample, register
from ._samples import pos, rnd

NO_GRAD = "random sampling: no gradient w.r.t. shape"
NO_REF = "random values: tests/test_random.py checks distribution properties instead"
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)


def _shape(shape):
    """MXNet's default shape ``()`` / None draws one value, shape ``(1,)``."""
    if shape is None:
        return (1,)
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    shape = tuple(int(s) for s in shape)
    return shape if shape else (1,)


def _dt(dtype, default=_F32):
    return default if dtype is None or dtype == "None" else np.dtype(dtype)


def _unit(xp, shape, dt):
    """Uniform [0, 1) in ``dt``'s precision (float16 drawn as float32, then cast)."""
    return _krandom.generator(xp).random(shape, dtype=_F64 if dt == _F64 else _F32)


def _normal01(xp, shape, dt):
    return _krandom.generator(xp).standard_normal(shape, dtype=_F64 if dt == _F64 else _F32)


def _affine(u, scale, shift):
    """``shift + scale * u`` computed in ``u``'s buffer (the same float32/float64 arithmetic:
    Python-number scalars are weak)."""
    u *= scale
    u += shift
    return u


# ---- shape-only samplers -----------------------------------------------------------------------
def _uniform_kernel(xp, low=0.0, high=1.0, shape=None, ctx=None, dtype=None):
    """Uniform samples in ``[low, high)`` of ``shape`` (default ``(1,)``), float32 default."""
    dt = _dt(dtype)
    # scaled in place: a large draw (a 512 MB input) then needs no second and third buffer
    return _affine(_unit(xp, _shape(shape), dt), high - low, low).astype(dt, copy=False)


def _normal_kernel(xp, loc=0.0, scale=1.0, shape=None, ctx=None, dtype=None):
    """Normal samples with mean ``loc`` and standard deviation ``scale``."""
    dt = _dt(dtype)
    return _affine(_normal01(xp, _shape(shape), dt), scale, loc).astype(dt, copy=False)


def _randint_kernel(xp, low, high, shape=None, ctx=None, dtype=None):
    """Integers drawn uniformly from ``[low, high)``, int32 by default."""
    dt = _dt(dtype, np.dtype(np.int32))
    if int(high) <= int(low):
        raise ValueError(f"randint needs low < high, got low={low}, high={high}")
    return _krandom.generator(xp).integers(int(low), int(high), size=_shape(shape), dtype=dt)


def _shape_infer(default=_F32):
    def infer(*_arrays, shape=None, dtype=None, **_):
        return Aval(_shape(shape), _dt(dtype, default))
    return infer


def _onnx_uniform(g, i, a, o, low=0.0, high=1.0, **_):
    return g.op("RandomUniform", dtype=g.onnx_dtype(o[0].dtype), low=float(low),
                high=float(high), shape=list(o[0].shape))


def _onnx_normal(g, i, a, o, loc=0.0, scale=1.0, **_):
    return g.op("RandomNormal", dtype=g.onnx_dtype(o[0].dtype), mean=float(loc),
                scale=float(scale), shape=list(o[0].shape))


def _onnx_randint(g, i, a, o, low, high, **_):
    # ONNX has no integer sampler: floor of a double uniform in [low, high), then cast.
    u = g.op("RandomUniform", dtype=g.onnx_dtype(_F64), low=float(low), high=float(high),
             shape=list(o[0].shape))
    return g.op("Cast", g.op("Floor", u), to=g.onnx_dtype(o[0].dtype))


def _sampler(name, kernel, attrs, onnx, samples, aliases, default=_F32):
    return register(name, kernel, inputs=(), attrs=attrs, infer=_shape_infer(default),
                    onnx=onnx, samples=samples, no_grad=NO_GRAD, no_ref=NO_REF, random=True,
                    aliases=aliases)


random_uniform = _sampler(
    "random_uniform", _uniform_kernel,
    {"low": 0.0, "high": 1.0, "shape": None, "ctx": None, "dtype": None}, _onnx_uniform,
    [Sample(shape=(2, 3), onnx=False), Sample(low=-2, high=5, shape=(4,), dtype="float64",
                                              onnx=False),
     Sample(onnx=False), Sample(shape=(3,), dtype="float16", onnx=False)],
    ("_random_uniform", "uniform"))
random_normal = _sampler(
    "random_normal", _normal_kernel,
    {"loc": 0.0, "scale": 1.0, "shape": None, "ctx": None, "dtype": None}, _onnx_normal,
    [Sample(shape=(2, 3), onnx=False), Sample(loc=1, scale=3, shape=(5,), dtype="float64",
                                              onnx=False)],
    ("_random_normal", "normal"))
random_randint = _sampler(
    "random_randint", _randint_kernel,
    {"low": REQUIRED, "high": REQUIRED, "shape": None, "ctx": None, "dtype": None},
    _onnx_randint,
    [Sample(low=0, high=10, shape=(2, 3), onnx=False),
     Sample(low=-5, high=5, shape=(4,), dtype="int64", onnx=False)],
    ("_random_randint", "randint"), default=np.dtype(np.int32))


# ---- ops with an array input ---------------------------------------------------------------
def _shuffle_kernel(xp, data):
    """A copy of ``data`` with its first axis randomly permuted (rows stay intact)."""
    if data.ndim == 0 or data.shape[0] < 2:
        return data.copy()
    order = xp.argsort(_krandom.generator(xp).random(data.shape[0]))
    return data[order]


def _onnx_shuffle(g, i, a, o):
    # A random permutation is the arg-sort of i.i.d. uniforms: TopK over all of them.
    n = int(a[0].shape[0]) if a[0].shape else 0
    if n < 2:
        return g.op("Identity", i[0])
    u = g.op("RandomUniform", dtype=g.onnx_dtype(_F32), shape=[n])
    _, idx = g.op("TopK", u, g.ints([n]), outputs=2)
    return g.op("Gather", i[0], idx, axis=0)


shuffle = register(
    "shuffle", _shuffle_kernel, infer=lambda x: Aval(tuple(x.shape), np.dtype(x.dtype)),
    onnx=_onnx_shuffle, random=True,
    samples=[Sample(rnd(5, 3), onnx=False), Sample(rnd(6), onnx=False)],
    no_grad="shuffle: the permutation drawn is not kept, so no gradient is defined",
    no_ref=NO_REF, aliases=("_shuffle",))


def _like_uniform(xp, data, low=0.0, high=1.0):
    """Uniform samples in ``[low, high)`` with ``data``'s shape and dtype."""
    dt = data.dtype if data.dtype.kind == "f" else _F32
    return (low + (high - low) * _unit(xp, data.shape, dt)).astype(data.dtype, copy=False)


def _like_normal(xp, data, loc=0.0, scale=1.0):
    """Normal samples with ``data``'s shape and dtype."""
    dt = data.dtype if data.dtype.kind == "f" else _F32
    return (loc + scale * _normal01(xp, data.shape, dt)).astype(data.dtype, copy=False)


def _onnx_like(op_type, keys):
    def lower(g, i, a, o, **attrs):
        vals = {onnx_k: float(attrs[k]) for k, onnx_k in keys}
        return g.op(op_type, i[0], dtype=g.onnx_dtype(o[0].dtype), **vals)
    return lower


def _like(name, kernel, attrs, keys, op_type, aliases):
    return register(name, kernel, attrs=attrs,
                    infer=lambda x, **_: Aval(tuple(x.shape), np.dtype(x.dtype)),
                    onnx=_onnx_like(op_type, keys), random=True,
                    samples=[Sample(rnd(2, 3), onnx=False), Sample(rnd(4), onnx=False, **{
                        k: v for k, v in zip(attrs, (-3.0, 2.0))})],
                    no_grad=NO_GRAD, no_ref=NO_REF, aliases=aliases)


random_uniform_like = _like("random_uniform_like", _like_uniform, {"low": 0.0, "high": 1.0},
                            (("low", "low"), ("high", "high")), "RandomUniformLike",
                            ("_random_uniform_like", "uniform_like"))
random_normal_like = _like("random_normal_like", _like_normal, {"loc": 0.0, "scale": 1.0},
                           (("loc", "mean"), ("scale", "scale")), "RandomNormalLike",
                           ("_random_normal_like", "normal_like"))


# ---- per-element parameters (MXNet's _sample_*: low/high given as arrays) ----------------------
def _extra_shape(shape):
    """The draws per parameter element: ``None`` and ``()`` one (no extra axes, as MXNet),
    an int ``n`` or a tuple more."""
    if shape is None:
        return ()
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def _sample_infer(a, b, shape=None, dtype=None, **_):
    extra = _extra_shape(shape)
    base = np.dtype(a.dtype) if np.dtype(a.dtype).kind == "f" else _F32
    return Aval(tuple(a.shape) + extra, _dt(dtype, base))


def _per_element(xp, a, b, shape, dtype, draw):
    """``draw`` over shape ``a.shape + shape``; parameters broadcast over the trailing axes."""
    extra = _extra_shape(shape)
    dt = _dt(dtype, a.dtype if a.dtype.kind == "f" else _F32)
    expand = (slice(None),) * a.ndim + (None,) * len(extra)
    u = draw(xp, a.shape + extra, dt)
    return a[expand], b[expand], u, dt


def _sample_uniform_kernel(xp, low, high, shape=None, dtype=None):
    """Per-element uniform: output ``[i, ...]`` is drawn from ``[low[i], high[i])``."""
    lo, hi, u, dt = _per_element(xp, low, high, shape, dtype, _unit)
    return (lo + (hi - lo) * u).astype(dt, copy=False)


def _sample_normal_kernel(xp, mu, sigma, shape=None, dtype=None):
    """Per-element normal: output ``[i, ...]`` has mean ``mu[i]``, deviation ``sigma[i]``."""
    m, s, z, dt = _per_element(xp, mu, sigma, shape, dtype, _normal01)
    return (m + s * z).astype(dt, copy=False)


def _onnx_per_element(op_type, combine):
    def lower(g, i, a, o, shape=None, dtype=None):
        n_extra = len(o[0].shape) - len(a[0].shape)
        full = list(a[0].shape) + [1] * n_extra
        p, q = (g.op("Cast", g.op("Reshape", x, g.ints(full)), to=g.onnx_dtype(o[0].dtype))
                for x in i[:2])
        r = g.op(op_type, dtype=g.onnx_dtype(o[0].dtype), shape=list(o[0].shape))
        return combine(g, p, q, r)
    return lower


sample_uniform = register(
    "sample_uniform", _sample_uniform_kernel, inputs=("low", "high"),
    attrs={"shape": None, "dtype": None}, infer=_sample_infer,
    onnx=_onnx_per_element("RandomUniform",
                           lambda g, lo, hi, u: g.op("Add", lo, g.op("Mul", g.op("Sub", hi, lo),
                                                                     u))),
    samples=[Sample(rnd(3), rnd(3) + 2, shape=(4,), onnx=False),
             Sample(rnd(2, 2), rnd(2, 2) + 1, onnx=False)],
    random=True, no_grad="random sampling: no gradient w.r.t. the distribution parameters",
    no_ref=NO_REF, aliases=("_sample_uniform",))
sample_normal = register(
    "sample_normal", _sample_normal_kernel, inputs=("mu", "sigma"),
    attrs={"shape": None, "dtype": None}, infer=_sample_infer,
    onnx=_onnx_per_element("RandomNormal",
                           lambda g, m, s, z: g.op("Add", m, g.op("Mul", s, z))),
    samples=[Sample(rnd(3), pos(3), shape=(4,), onnx=False),
             Sample(rnd(2, 2), pos(2, 2), onnx=False)],
    random=True, no_grad="random sampling: no gradient w.r.t. the distribution parameters",
    no_ref=NO_REF, aliases=("_sample_normal",))
