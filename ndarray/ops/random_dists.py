"""MXNet 1.9's other samplers: exponential, gamma, poisson, negative binomial, generalized
negative binomial (scalar parameters: ``random_*``; one parameter set per element: ``sample_*``;
``data``'s shape: ``random_*_like``) and ``sample_multinomial``.

Parameters as MXNet defines them: ``lam`` is the exponential's rate (mean ``1/lam``) and the
Poisson mean; gamma has shape ``alpha`` and scale ``beta``; negative binomial counts failures
before ``k`` successes of probability ``p``; the generalized one has mean ``mu`` and dispersion
``alpha`` (variance ``mu + alpha * mu**2``; a Poisson when ``alpha`` is 0). Counts come back as
floats (float32 unless ``dtype``), as MXNet's do. Every draw uses ``kiln.random.generator``,
so ``kiln.random.seed`` reproduces it. No gradients, no ONNX lowering (ONNX samples only
uniform, normal and multinomial-by-logits) and no reference values: tests/test_random_dists.py
checks the moments.

Example::

    >>> kl.random.seed(0)
    >>> nd.random_exponential(lam=4, shape=(10000,)).mean()     # about 0.25
"""
import numpy as np

from .. import rng as _krandom
from .._registry import Aval, Sample, register
from ._samples import pos, rnd
from .random_ops import NO_GRAD, NO_REF, _dt, _extra_shape, _shape

NO_ONNX = "ONNX has no sampler for this distribution (only RandomUniform/Normal, Multinomial)"
_F32 = np.dtype(np.float32)


def _poisson(g, lam):
    return g.poisson(lam).astype(np.float64)


def _gamma(g, alpha, beta):
    return g.standard_gamma(alpha) * beta


def _negbin(g, k, p):
    # a Poisson whose rate is Gamma(k, (1-p)/p) distributed counts failures before k successes
    return _poisson(g, _gamma(g, k, (1.0 - p) / p))


def _gen_negbin(g, mu, alpha):
    mu, alpha = np.broadcast_arrays(np.asarray(mu, np.float64), np.asarray(alpha, np.float64))
    safe = np.where(alpha > 0, alpha, 1.0)
    rate = np.where(alpha > 0, _gamma(g, 1.0 / safe, mu * safe), mu)
    return _poisson(g, rate)


# name: (parameters with MXNet's defaults, draw(generator, *params broadcast to the shape))
DISTS = {
    "exponential": ({"lam": 1.0}, lambda g, lam: g.standard_exponential(np.shape(lam)) / lam),
    "gamma": ({"alpha": 1.0, "beta": 1.0}, _gamma),
    "poisson": ({"lam": 1.0}, _poisson),
    "negative_binomial": ({"k": 1, "p": 1.0}, _negbin),
    "generalized_negative_binomial": ({"mu": 1.0, "alpha": 1.0}, _gen_negbin),
}


def _draw(xp, draw, params, shape, dt):
    params = [np.broadcast_to(np.asarray(p, np.float64), shape) for p in params]
    out = draw(_krandom.generator(np), *params)
    return xp.asarray(np.asarray(out).astype(dt, copy=False))


def _scalar_kernel(draw, names):
    def kernel(xp, shape=None, ctx=None, dtype=None, **params):
        return _draw(xp, draw, [params[n] for n in names], _shape(shape), _dt(dtype))
    return kernel


def _like_kernel(draw, names):
    def kernel(xp, data, **params):
        dt = data.dtype if data.dtype.kind == "f" else _F32
        return _draw(xp, draw, [params[n] for n in names], data.shape, dt)
    return kernel


def _sample_kernel(draw):
    def kernel(xp, *params, shape=None, dtype=None):
        extra = _extra_shape(shape)
        a = params[0]
        dt = _dt(dtype, a.dtype if a.dtype.kind == "f" else _F32)
        expand = (slice(None),) * a.ndim + (None,) * len(extra)
        host = [np.asarray(p.get() if hasattr(p, "get") else p)[expand] for p in params]
        return _draw(xp, draw, host, a.shape + extra, dt)
    return kernel


def _sample_infer(a, *_rest, shape=None, dtype=None):
    base = np.dtype(a.dtype) if np.dtype(a.dtype).kind == "f" else _F32
    return Aval(tuple(a.shape) + _extra_shape(shape), _dt(dtype, base))


def _register_family(name, defaults, draw):
    names = tuple(defaults)
    attrs = {**defaults, "shape": None, "ctx": None, "dtype": None}
    scalar = register(
        f"random_{name}", _scalar_kernel(draw, names), inputs=(), attrs=attrs,
        infer=lambda shape=None, dtype=None, **_: Aval(_shape(shape), _dt(dtype)),
        samples=[Sample(shape=(2, 3)), Sample(shape=(4,), dtype="float64")], random=True,
        no_grad=NO_GRAD, no_onnx=NO_ONNX, no_ref=NO_REF, aliases=(f"_random_{name}",),
        doc=f"""Samples of ``shape`` (default (1,)) from the {name.replace('_', ' ')}
        distribution with parameters {', '.join(names)} (MXNet's defaults {defaults}).

        Example: ``nd.random_{name}(shape=(2, 3)).shape`` is ``(2, 3)``.""")
    like = register(
        f"random_{name}_like", _like_kernel(draw, names), inputs=("data",), attrs=dict(defaults),
        infer=lambda x, **_: Aval(tuple(x.shape), np.dtype(x.dtype)),
        samples=[Sample(rnd(2, 3)), Sample(rnd(4).astype(np.float64))], random=True,
        no_grad=NO_GRAD, no_onnx=NO_ONNX, no_ref=NO_REF, aliases=(f"_random_{name}_like",),
        doc=f"""{name.replace('_', ' ').capitalize()} samples with ``data``'s shape and dtype.

        Example: ``nd.random_{name}_like(nd.zeros((2, 2))).shape`` is ``(2, 2)``.""")
    per_element = register(
        f"sample_{name}", _sample_kernel(draw), inputs=names,
        attrs={"shape": None, "dtype": None}, infer=_sample_infer,
        samples=[Sample(*[pos(3, lo=0.2, hi=0.9, salt=i) for i in range(len(names))], shape=(4,)),
                 Sample(*[pos(2, 2, lo=0.2, hi=0.9, salt=i) for i in range(len(names))])],
        random=True, no_grad="random sampling: no gradient w.r.t. the distribution parameters",
        no_onnx=NO_ONNX, no_ref=NO_REF, aliases=(f"_sample_{name}",),
        doc=f"""Per-element {name.replace('_', ' ')} samples: ``out[i, ...]`` is drawn with
        the parameters ``{', '.join(p + '[i]' for p in names)}``; output
        ``{names[0]}.shape + shape``.

        Example: ``nd.sample_{name}({', '.join('nd.ones(3)' for _ in names)}, shape=2).shape``
        is ``(3, 2)``.""")
    return scalar, like, per_element


(random_exponential, random_exponential_like, sample_exponential) = _register_family(
    "exponential", *DISTS["exponential"])
(random_gamma, random_gamma_like, sample_gamma) = _register_family("gamma", *DISTS["gamma"])
(random_poisson, random_poisson_like, sample_poisson) = _register_family(
    "poisson", *DISTS["poisson"])
(random_negative_binomial, random_negative_binomial_like,
 sample_negative_binomial) = _register_family("negative_binomial", *DISTS["negative_binomial"])
(random_generalized_negative_binomial, random_generalized_negative_binomial_like,
 sample_generalized_negative_binomial) = _register_family(
    "generalized_negative_binomial", *DISTS["generalized_negative_binomial"])


# ---- multinomial -------------------------------------------------------------------------------
def _multinomial_kernel(xp, data, shape=None, get_prob=False, dtype="int32"):
    """Category indices drawn with the probabilities along ``data``'s last axis."""
    p = np.asarray(data.get() if hasattr(data, "get") else data, np.float64)
    extra = _multinomial_extra(p.shape, shape)
    rows = p.reshape(-1, p.shape[-1])
    n = int(np.prod(extra, dtype=np.int64)) if extra else 1
    cdf = np.cumsum(rows, axis=1)
    u = _krandom.generator(np).random((rows.shape[0], n)) * cdf[:, -1:]
    idx = np.minimum(np.array([np.searchsorted(c, r, side="right") for c, r in zip(cdf, u)]),
                     rows.shape[1] - 1).reshape(p.shape[:-1] + extra)
    out = xp.asarray(idx.astype(np.dtype(dtype)))
    if not get_prob:
        return out
    picked = np.take_along_axis(rows, idx.reshape(rows.shape[0], n), axis=1)
    logp = np.log(picked).reshape(idx.shape)
    return out, xp.asarray(logp.astype(data.dtype if data.dtype.kind == "f" else _F32))


def _multinomial_extra(data_shape, shape):
    """The draws per distribution; one 1-D distribution without ``shape`` still gives (1,)."""
    extra = _extra_shape(shape)
    return extra if extra or len(data_shape) > 1 else (1,)


def _multinomial_infer(data, shape=None, get_prob=False, dtype="int32"):
    out_shape = tuple(data.shape[:-1]) + _multinomial_extra(tuple(data.shape), shape)
    out = Aval(out_shape, np.dtype(dtype))
    return (out, Aval(out_shape, np.dtype(data.dtype))) if get_prob else out


sample_multinomial = register(
    "sample_multinomial", _multinomial_kernel, inputs=("data",),
    attrs={"shape": None, "get_prob": False, "dtype": "int32"}, infer=_multinomial_infer,
    num_outputs=lambda attrs: 2 if attrs.get("get_prob") else 1,
    samples=[Sample(np.array([[0.2, 0.8], [0.5, 0.5]])), Sample(np.array([0.1, 0.2, 0.7]),
                                                                shape=(3,), get_prob=True)],
    random=True, no_grad="the drawn indices are discrete; the log-probability output's "
                         "gradient (MXNet's REINFORCE use) is not implemented yet",
    no_onnx="ONNX's Multinomial takes logits of a 2-D batch; not lowered yet",
    no_ref=NO_REF, aliases=("_sample_multinomial",),
    doc="""Indices drawn from the categorical distributions along ``data``'s last axis
    (probabilities that sum to 1): output ``data.shape[:-1] + shape``, int32 by default; with
    ``get_prob=True`` also the log-probability of each drawn index.

    Example::

        >>> nd.sample_multinomial(nd.array([[0, 1.0]]), shape=3)      # [[1 1 1]]
    """)
