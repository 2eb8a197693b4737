"""MXNet 1.9's ``random_pdf_*`` ops: the density (or, with ``is_log``, its log) of samples
under distributions whose parameters are arrays.

The parameters have a shape S and the sample S + T: each parameter entry describes the T
samples below it (``random_pdf_dirichlet``: alpha S + (K,), sample S + T + (K,), output S + T).
Each distribution is its log-density and that density's derivatives, written once: the kernel
evaluates the log-density with numpy/cupy, the gradient the derivatives with registry ops
(so they hybridize), times the density unless ``is_log``. The formulas follow MXNet's values:
``gamma``'s beta is a rate, ``uniform`` does not check the support, the discrete densities
(poisson, negative binomial) have no gradient for the sample.

Example::

    >>> nd.random_pdf_normal(nd.array([[0., 1.]]), nd.array([0.]), nd.array([1.]))
    [[0.3989423 0.24197072]]
"""
import math

import numpy as np

from ...base import OpError
from .. import ops as F
from .._registry import Aval, Sample, register
from ._samples import pos, rnd
from .special import _gammaln, _Np

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _lg(xp, x):
    return _gammaln(_Np(xp), x)


# each: (parameter names, log-density(xp, x, *params), derivatives(x, *params) -> (dx, dp...))
def _normal_logp(xp, x, mu, sigma):
    return -xp.log(sigma) - _HALF_LOG_2PI - (x - mu) ** 2 / (2 * sigma * sigma)


def _normal_d(x, mu, sigma):
    z = (x - mu) / sigma
    return -z / sigma, z / sigma, (z * z - 1.0) / sigma


def _uniform_logp(xp, x, low, high):
    return -xp.log(high - low) + 0 * x


def _uniform_d(x, low, high):
    inv = 1.0 / (high - low)
    return 0 * x, inv + 0 * x, -inv + 0 * x


def _exponential_logp(xp, x, lam):
    return xp.log(lam) - lam * x


def _exponential_d(x, lam):
    return -lam + 0 * x, 1.0 / lam - x


def _gamma_logp(xp, x, alpha, beta):
    return alpha * xp.log(beta) + (alpha - 1) * xp.log(x) - beta * x - _lg(xp, alpha)


def _gamma_d(x, alpha, beta):
    return ((alpha - 1.0) / x - beta, F.log(beta) + F.log(x) - F._digamma(alpha),
            alpha / beta - x)


def _poisson_logp(xp, x, lam):
    return x * xp.log(lam) - lam - _lg(xp, x + 1)


def _poisson_d(x, lam):
    return None, x / lam - 1.0


def _nb_logp(xp, x, k, p):
    return _lg(xp, x + k) - _lg(xp, k) - _lg(xp, x + 1) + k * xp.log(p) + x * xp.log1p(-p)


def _nb_dk_dp(x, k, p):
    return F._digamma(x + k) - F._digamma(k) + F.log(p), k / p - x / (1.0 - p)


def _nb_d(x, k, p):
    return (None, *_nb_dk_dp(x, k, p))


def _gnb_kp(mu, alpha):
    return 1.0 / alpha, 1.0 / (1.0 + alpha * mu)


def _gnb_logp(xp, x, mu, alpha):
    k, p = _gnb_kp(mu, alpha)
    return _nb_logp(xp, x, k, p)


def _gnb_d(x, mu, alpha):
    k, p = _gnb_kp(mu, alpha)
    dk, dp = _nb_dk_dp(x, k, p)
    p2 = p * p
    return None, dp * (-alpha * p2), dk * (-k * k) + dp * (-mu * p2)


_DISTS = {
    "normal": (("mu", "sigma"), _normal_logp, _normal_d),
    "uniform": (("low", "high"), _uniform_logp, _uniform_d),
    "exponential": (("lam",), _exponential_logp, _exponential_d),
    "gamma": (("alpha", "beta"), _gamma_logp, _gamma_d),
    "poisson": (("lam",), _poisson_logp, _poisson_d),
    "negative_binomial": (("k", "p"), _nb_logp, _nb_d),
    "generalized_negative_binomial": (("mu", "alpha"), _gnb_logp, _gnb_d),
}


def _extra(sample, param):
    s, p = tuple(sample.shape), tuple(param.shape)
    if s[:len(p)] != p:
        raise OpError(f"random_pdf: the sample's shape {s} must start with the parameters' "
                      f"shape {p}")
    return len(s) - len(p)


def _expand(xp_or_f, param, k):
    shape = tuple(param.shape) + (1,) * k
    return param.reshape(shape) if xp_or_f is None else F.reshape(param, shape=shape)


def _make(name, logp, deriv):
    def kernel(xp, sample, *params, is_log=False):
        k = _extra(sample, params[0])
        ps = [_expand(None, p, k) for p in params]
        with np.errstate(divide="ignore", invalid="ignore"):
            out = logp(xp, sample, *ps)
            return (out if is_log else xp.exp(out)).astype(sample.dtype)

    def grad(ins, outs, gouts, is_log=False):
        sample, params = ins[0], ins[1:]
        k = _extra(sample, params[0])
        ps = [_expand(F, p, k) for p in params]
        scale = gouts[0] if is_log else gouts[0] * outs[0]
        axes = tuple(range(len(params[0].shape), len(sample.shape)))
        res = []
        for i, d in enumerate(deriv(sample, *ps)):
            if d is None:
                res.append(None)
                continue
            g = scale * d
            res.append(F.sum(g, axis=axes) if i and axes else g)
        return tuple(res)
    return kernel, grad


def _samples(name):
    names = _DISTS[name][0]
    discrete = name in ("poisson", "negative_binomial", "generalized_negative_binomial")
    if discrete:
        x = np.array([[0.0, 1.0, 3.0], [2.0, 0.0, 5.0]])
    else:
        x = pos(2, 3) if name in ("gamma", "exponential") else rnd(2, 3)
    params = {"mu": rnd(2, salt=1), "sigma": pos(2, salt=2) + 0.5, "low": rnd(2, salt=1) - 2.0,
              "high": pos(2, salt=2) + 1.0, "lam": pos(2, salt=3) + 0.5,
              "alpha": pos(2, salt=4) + 0.5, "beta": pos(2, salt=5) + 0.5,
              "k": pos(2, salt=6) + 1.0, "p": np.array([0.3, 0.6])}
    if name == "generalized_negative_binomial":
        params["mu"] = pos(2, salt=7) + 1.0
    ps = [params[n] for n in names]
    wrt = list(range(1, 1 + len(ps))) if discrete else None
    return [Sample(x, *ps, wrt=wrt), Sample(x, *ps, is_log=True, wrt=wrt)]


def _register(name):
    names, logp, deriv = _DISTS[name]
    kernel, grad = _make(name, logp, deriv)
    return register(
        f"random_pdf_{name}", kernel, inputs=("sample", *names), attrs={"is_log": False},
        infer=lambda sample, *p, is_log=False: Aval(tuple(sample.shape), np.dtype(sample.dtype)),
        grad=grad, save_outputs=True, amp="widest",
        no_onnx="no ONNX lowering written for the densities",
        ref=lambda *a, is_log=False, _k=kernel: _k(np, *a, is_log=is_log),
        samples=_samples(name), aliases=(f"_random_pdf_{name}",),
        doc=f"""The {name.replace('_', ' ')} density of ``sample`` (MXNet ``random_pdf_{name}``)
    with parameters {', '.join(f'``{n}``' for n in names)} of shape S; sample S + T, output
    S + T (the log-density with ``is_log``).

    Example::

        >>> nd.random_pdf_{name}(sample, {', '.join(names)})
    """)


random_pdf_normal = _register("normal")
random_pdf_uniform = _register("uniform")
random_pdf_exponential = _register("exponential")
random_pdf_gamma = _register("gamma")
random_pdf_poisson = _register("poisson")
random_pdf_negative_binomial = _register("negative_binomial")
random_pdf_generalized_negative_binomial = _register("generalized_negative_binomial")


# ---- dirichlet ------------------------------------------------------------------------------
def _dir_expand(sample, alpha, f):
    k = len(sample.shape) - len(alpha.shape)
    if k < 0 or tuple(sample.shape[:len(alpha.shape) - 1]) != tuple(alpha.shape[:-1]) or \
            sample.shape[-1] != alpha.shape[-1]:
        raise OpError(f"random_pdf_dirichlet: sample {tuple(sample.shape)} must be alpha's "
                      f"leading shape, then sample axes, then alpha's last axis "
                      f"{tuple(alpha.shape)}")
    shape = tuple(alpha.shape[:-1]) + (1,) * k + (alpha.shape[-1],)
    return (alpha.reshape(shape) if f is None else F.reshape(alpha, shape=shape)), k


def _dir_kernel(xp, sample, alpha, is_log=False):
    a, _ = _dir_expand(sample, alpha, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (_lg(xp, a.sum(axis=-1)) - _lg(xp, a).sum(axis=-1)
               + ((a - 1) * xp.log(sample)).sum(axis=-1))
        return (out if is_log else xp.exp(out)).astype(sample.dtype)


def _dir_grad(ins, outs, gouts, is_log=False):
    sample, alpha = ins
    a, k = _dir_expand(sample, alpha, F)
    scale = gouts[0] if is_log else gouts[0] * outs[0]
    scale = F.expand_dims(scale, axis=-1)
    dx = scale * (a - 1.0) / sample
    da = scale * (F.expand_dims(F._digamma(F.sum(a, axis=-1)), axis=-1) - F._digamma(a)
                  + F.log(sample))
    axes = tuple(range(len(alpha.shape) - 1, len(alpha.shape) - 1 + k))
    return dx, (F.sum(da, axis=axes) if axes else da)


random_pdf_dirichlet = register(
    "random_pdf_dirichlet", _dir_kernel, inputs=("sample", "alpha"), attrs={"is_log": False},
    infer=lambda sample, alpha, is_log=False: Aval(tuple(sample.shape[:-1]),
                                                   np.dtype(sample.dtype)),
    grad=_dir_grad, save_outputs=True, amp="widest",
        no_onnx="no ONNX lowering written for the densities",
    ref=lambda s, a, is_log=False: _dir_kernel(np, s, a, is_log),
    samples=[Sample(np.array([[[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]]), np.array([[1.5, 2.0, 3.0]])),
             Sample(np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]), np.array([[1.5, 2.0, 3.0],
                                                                            [0.7, 1.2, 2.5]]),
                    is_log=True)],
    aliases=("_random_pdf_dirichlet",),
    doc="""The Dirichlet density of ``sample`` (MXNet ``random_pdf_dirichlet``): alpha S + (K,),
    sample S + T + (K,) (points of the simplex), output S + T (the log-density with
    ``is_log``).

    Example::

        >>> nd.random_pdf_dirichlet(nd.array([[[.2, .3, .5]]]), nd.array([[1., 2., 3.]]))
    """)
