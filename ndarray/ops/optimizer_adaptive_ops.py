"""MXNet 1.9's adaptive update ops: ``adam_update``, ``rmsprop_update``, ``rmspropalex_update``,
``ftrl_update``, ``ftml_update``, LAMB's two phases (and their ``mp_`` forms), contrib's AdamW
(``adamw_update``, ``mp_adamw_update`` and the multi-tensor ``_multi_adamw_update``),
``_multi_lamb_update``, ``group_adagrad_update`` and the sparse namespace's AdaGrad
(``_sparse_adagrad_update``).

The conventions of ``optimizer_ops.py`` hold: the new weight is returned, ``weight`` is left
alone, the states change in place (``mutates``), and the formulas are those of
``_update_kernels.py`` that ``kiln.optimizer`` runs too.

Example::

    >>> w, g, m, v = nd.array([1.]), nd.array([.5]), nd.zeros((1,)), nd.zeros((1,))
    >>> nd.adam_update(w, g, m, v, lr=0.1)      # [0.9683772]; m [0.05], v [0.00025]
"""
import numpy as np

from .._registry import REQUIRED, Aval, Sample
from ._samples import pos, rnd
from ._update_kernels import (
    adam_kernel,
    adamw_kernel,
    clip_op,
    ftml_kernel,
    ftrl_kernel,
    lamb_direction,
    lamb_ratio,
    norm32,
    rmsprop_kernel,
)
from .optimizer_ops import _HYPER, _clip, _every, _half, _weight_like, update_op


def _s(*shape, salt=0):
    return rnd(*shape, salt=salt)


def _p(*shape, salt=0):
    return pos(*shape, salt=salt)


# ---- Adam, RMSProp, Ftrl, FTML ---------------------------------------------------------------
def _adam_update(xp, weight, grad, mean, var, lr=REQUIRED, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 wd=0.0, rescale_grad=1.0, clip_gradient=-1.0, lazy_update=True):
    w = weight.copy()
    adam_kernel(xp, w, grad, mean, var, lr, wd, beta1, beta2, epsilon, rescale_grad,
                _clip(clip_gradient))
    return w


adam_update = update_op(
    "adam_update", _adam_update, ("weight", "grad", "mean", "var"),
    {"lr": REQUIRED, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "wd": 0.0, **_HYPER,
     "lazy_update": True}, mutates=(2, 3),
    samples=[Sample(_s(3, 4), _s(3, 4, salt=1), _s(3, 4, salt=2), _p(3, 4, salt=3), lr=0.1,
                    wd=0.01, clip_gradient=0.5)],
    doc="""Adam step without bias correction (MXNet ``adam_update``; the optimizer folds it
    into ``lr``): ``g = clip(rescale_grad*grad + wd*weight)``; ``mean = beta1*mean +
    (1-beta1)*g`` and ``var = beta2*var + (1-beta2)*g^2`` in place; returns ``weight -
    lr*mean/(sqrt(var) + epsilon)``. Shapes: all alike.

    Example::

        >>> nd.adam_update(w, g, mean, var, lr=0.001, out=w)
    """)


def _rmsprop_update(xp, weight, grad, n, lr=REQUIRED, gamma1=0.95, epsilon=1e-8, wd=0.0,
                    rescale_grad=1.0, clip_gradient=-1.0, clip_weights=-1.0):
    w = weight.copy()
    rmsprop_kernel(xp, w, grad, n, lr, gamma1, epsilon, wd, rescale_grad, _clip(clip_gradient),
                   _clip(clip_weights))
    return w


def _rmspropalex_update(xp, weight, grad, n, g, delta, lr=REQUIRED, gamma1=0.95, gamma2=0.9,
                        epsilon=1e-8, wd=0.0, rescale_grad=1.0, clip_gradient=-1.0,
                        clip_weights=-1.0):
    w = weight.copy()
    rmsprop_kernel(xp, w, grad, n, lr, gamma1, epsilon, wd, rescale_grad, _clip(clip_gradient),
                   _clip(clip_weights), g, delta, gamma2)
    return w


_RMS = {"lr": REQUIRED, "gamma1": 0.95, "epsilon": 1e-8, "wd": 0.0, **_HYPER,
        "clip_weights": -1.0}
rmsprop_update = update_op(
    "rmsprop_update", _rmsprop_update, ("weight", "grad", "n"), _RMS, mutates=(2,),
    samples=[Sample(_s(3, 4), _s(3, 4, salt=1), _p(3, 4, salt=2), lr=0.01, wd=0.1,
                    clip_weights=0.6)],
    doc="""RMSProp (MXNet ``rmsprop_update``, Tieleman & Hinton): ``g = clip(rescale_grad*grad
    + wd*weight)``; ``n = (1-gamma1)*g^2 + gamma1*n`` in place; returns ``clip(weight -
    lr*g/sqrt(n + epsilon), clip_weights)``.

    Example::

        >>> nd.rmsprop_update(w, g, n, lr=0.01, out=w)
    """)

rmspropalex_update = update_op(
    "rmspropalex_update", _rmspropalex_update, ("weight", "grad", "n", "g", "delta"),
    {**_RMS, "gamma2": 0.9}, mutates=(2, 3, 4),
    samples=[Sample(_s(3, 4), _s(3, 4, salt=1), _p(3, 4, salt=2), _s(3, 4, salt=3) * 0.1,
                    _s(3, 4, salt=4), lr=0.01, wd=0.1)],
    doc="""Centered RMSProp (MXNet ``rmspropalex_update``, Graves 2013): ``n``, the mean
    gradient ``g`` and ``delta = gamma2*delta - lr*grad/sqrt(n - g^2 + epsilon)`` change in
    place; returns ``clip(weight + delta, clip_weights)``.

    Example::

        >>> nd.rmspropalex_update(w, g, n, mg, delta, lr=0.01, out=w)
    """)


def _ftrl_update(xp, weight, grad, z, n, lr=REQUIRED, lamda1=0.01, beta=1.0, wd=0.0,
                 rescale_grad=1.0, clip_gradient=-1.0):
    w = weight.copy()
    ftrl_kernel(xp, w, grad, z, n, lr, lamda1, beta, wd, rescale_grad, _clip(clip_gradient))
    return w


ftrl_update = update_op(
    "ftrl_update", _ftrl_update, ("weight", "grad", "z", "n"),
    {"lr": REQUIRED, "lamda1": 0.01, "beta": 1.0, "wd": 0.0, **_HYPER}, mutates=(2, 3),
    samples=[Sample(_s(3, 4), _s(3, 4, salt=1), _s(3, 4, salt=2), _p(3, 4, salt=3), lr=0.1,
                    wd=0.01, lamda1=0.1)],
    doc="""FTRL-Proximal (MXNet ``ftrl_update``): with ``g = clip(rescale_grad*grad)``, ``z +=
    g - (sqrt(n + g^2) - sqrt(n))*weight/lr`` and ``n += g^2`` in place; returns
    ``(sign(z)*lamda1 - z) / ((beta + sqrt(n))/lr + wd)`` where ``|z| > lamda1``, else 0.

    Example::

        >>> nd.ftrl_update(w, g, z, n, lr=0.1, out=w)
    """)


def _ftml_update(xp, weight, grad, d, v, z, lr=REQUIRED, beta1=0.6, beta2=0.999, epsilon=1e-8,
                 t=REQUIRED, wd=0.0, rescale_grad=1.0, clip_grad=-1.0):
    w = weight.copy()
    ftml_kernel(xp, w, grad, d, v, z, lr, beta1, beta2, epsilon, int(t), wd, rescale_grad,
                _clip(clip_grad))
    return w


ftml_update = update_op(
    "ftml_update", _ftml_update, ("weight", "grad", "d", "v", "z"),
    {"lr": REQUIRED, "beta1": 0.6, "beta2": 0.999, "epsilon": 1e-8, "t": REQUIRED, "wd": 0.0,
     "rescale_grad": 1.0, "clip_grad": -1.0}, mutates=(2, 3, 4),
    samples=[Sample(_s(3, 4), _s(3, 4, salt=1), _p(3, 4, salt=2), _p(3, 4, salt=3),
                    _s(3, 4, salt=4), lr=0.1, t=2, wd=0.01)],
    doc="""FTML, Follow the Moving Leader (MXNet ``ftml_update``) at step ``t``: ``d``, ``v``
    and ``z`` change in place; returns ``-z/d_t`` (see ``kiln.optimizer.FTML``).

    Example::

        >>> nd.ftml_update(w, g, d, v, z, lr=0.0025, t=1, out=w)
    """)


# ---- LAMB -----------------------------------------------------------------------------------
_LAMB1 = {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-6, "t": REQUIRED, "bias_correction": True,
          "wd": REQUIRED, **_HYPER}


def _lamb1(xp, weight, grad, mean, var, beta1=0.9, beta2=0.999, epsilon=1e-6, t=REQUIRED,
           bias_correction=True, wd=REQUIRED, rescale_grad=1.0, clip_gradient=-1.0):
    return lamb_direction(xp, weight, grad, mean, var, beta1, beta2, epsilon, int(t),
                          bias_correction, wd, rescale_grad, _clip(clip_gradient)
                          ).astype(weight.dtype)


def _mp_lamb1(xp, weight, grad, mean, var, weight32, **attrs):
    return _lamb1(xp, weight32, grad.astype(np.float32), mean, var, **attrs)


def _lamb2(xp, weight, g, r1, r2, lr=REQUIRED, lower_bound=-1.0, upper_bound=-1.0):
    ratio = lamb_ratio(lr, float(r1.reshape(-1)[0]), float(r2.reshape(-1)[0]), lower_bound,
                       upper_bound)
    return (weight - ratio * g).astype(weight.dtype)


def _mp_lamb2(xp, weight, g, r1, r2, weight32, **attrs):
    # MXNet 1.9.1 reads weight32 but does not write it back (no FMutateInputs): neither do we
    return _lamb2(xp, weight32, g, r1, r2, **attrs).astype(weight.dtype)


def _lamb_samples(mp):
    w, g, m, v = _s(3, 4), _s(3, 4, salt=1), _s(3, 4, salt=2) * 0.1, _p(3, 4, salt=3)
    if mp:
        return [Sample(_half(w), _half(g), m, v, w, t=3, wd=0.01)]
    return [Sample(w, g, m, v, t=3, wd=0.01), Sample(w, g, m, v, t=1, wd=0.0,
                                                    bias_correction=False, clip_gradient=0.2)]


def _lamb2_samples(mp):
    w, g = _s(3, 4), _s(3, 4, salt=1)
    r1, r2 = np.array([np.linalg.norm(w)]), np.array([np.linalg.norm(g)])
    if mp:
        return [Sample(_half(w), g, r1, r2, w, lr=0.1)]
    return [Sample(w, g, r1, r2, lr=0.1), Sample(w, g, r1, r2, lr=0.1, lower_bound=3.0,
                                                 upper_bound=5.0),
            Sample(w, g, r1, np.zeros(1), lr=0.1)]


_LAMB_DOC = """LAMB's first phase (MXNet ``{name}``): with ``g = clip(rescale_grad*grad)``,
    ``mean``/``var`` take Adam's moments in place; returns the direction ``m^/(sqrt(v^) +
    epsilon) + wd*weight`` (m^, v^ bias-corrected at step ``t`` when ``bias_correction``).{mp}

    Example::

        >>> g = nd.{name}(w, grad, mean, var, t=1, wd=0.01{extra})
    """
_LAMB2_DOC = """LAMB's second phase (MXNet ``{name}``): ``r1`` (the weight's norm, clipped to
    ``lower_bound``/``upper_bound`` where those are >= 0) and ``r2`` (the direction's norm),
    each shape (1,), give ``ratio = lr*r1/r2`` (``lr`` when a norm is 0); returns ``weight -
    ratio*g``.{mp}

    Example::

        >>> nd.{name}(w, g, nd.norm(w), nd.norm(g){extra}, lr=0.001, out=w)
    """
_MP = " The float32 master copy ``weight32`` stands for the (float16) weight."
lamb_update_phase1 = update_op(
    "lamb_update_phase1", _lamb1, ("weight", "grad", "mean", "var"), _LAMB1, mutates=(2, 3),
    samples=_lamb_samples(False), doc=_LAMB_DOC.format(name="lamb_update_phase1", mp="",
                                                       extra=""))
mp_lamb_update_phase1 = update_op(
    "mp_lamb_update_phase1", _mp_lamb1, ("weight", "grad", "mean", "var", "weight32"), _LAMB1,
    mutates=(2, 3), infer=lambda w, *a, **k: Aval(tuple(w.shape), np.dtype(np.float32)),
    samples=_lamb_samples(True),
    doc=_LAMB_DOC.format(name="mp_lamb_update_phase1", mp=_MP + " The direction is float32.",
                         extra=""))
_LAMB2 = {"lr": REQUIRED, "lower_bound": -1.0, "upper_bound": -1.0}
lamb_update_phase2 = update_op(
    "lamb_update_phase2", _lamb2, ("weight", "g", "r1", "r2"), _LAMB2,
    samples=_lamb2_samples(False), doc=_LAMB2_DOC.format(name="lamb_update_phase2", mp="",
                                                         extra=""))
mp_lamb_update_phase2 = update_op(
    "mp_lamb_update_phase2", _mp_lamb2, ("weight", "g", "r1", "r2", "weight32"), _LAMB2,
    samples=_lamb2_samples(True),
    doc=_LAMB2_DOC.format(name="mp_lamb_update_phase2", mp=_MP + " As in MXNet 1.9.1 it is "
                          "read, not updated: the result is the new weight in its dtype.",
                          extra=", w32"))


def _multi_lamb(mp):
    stride = 5 if mp else 4

    def kernel(xp, *data, learning_rates=REQUIRED, beta1=0.9, beta2=0.999, epsilon=1e-6,
               wds=REQUIRED, rescale_grad=1.0, lower_bound=-1.0, upper_bound=-1.0,
               clip_gradient=-1.0, bias_correction=True, step_count=REQUIRED, num_tensors=1):
        outs = []
        for i in range(int(num_tensors)):
            w, g, m, v = data[i * stride:i * stride + 4]
            w32 = data[i * stride + 4] if mp else w
            d = lamb_direction(xp, w32, g.astype(w32.dtype), m, v, beta1, beta2, epsilon,
                               int(step_count[i]), bias_correction, float(wds[i]),
                               rescale_grad, _clip(clip_gradient))
            # r1 is the norm of the weight itself (float16 under mp), as MXNet 1.9.1 computes it
            ratio = lamb_ratio(float(learning_rates[i]), norm32(xp, w), norm32(xp, d),
                               lower_bound, upper_bound)
            new = (w32 - ratio * d).astype(w32.dtype)
            if mp:
                w32[...] = new
            outs.append(new.astype(w.dtype))
        return tuple(outs)
    return kernel


def _multi_lamb_samples(mp):
    arrays = []
    for i, shape in enumerate(((3, 2), (4,))):
        w, g = _s(*shape, salt=10 * i), _s(*shape, salt=10 * i + 1)
        grp = [w, g, _s(*shape, salt=10 * i + 2) * 0.1, _p(*shape, salt=10 * i + 3)]
        arrays += [_half(w), _half(g), *grp[2:], w] if mp else grp
    return [Sample(*arrays, learning_rates=(0.1, 0.05), wds=(0.01, 0.0), step_count=(1, 3),
                   num_tensors=2, grad=False)]


def _register_multi_lamb(name, mp):
    stride = 5 if mp else 4
    return update_op(
        name, _multi_lamb(mp), ("*data",),
        {"learning_rates": REQUIRED, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-6,
         "wds": REQUIRED, "rescale_grad": 1.0, "lower_bound": -1.0, "upper_bound": -1.0,
         "clip_gradient": -1.0, "bias_correction": True, "step_count": REQUIRED,
         "num_tensors": 1},
        mutates=_every(stride, 2, 3, 4) if mp else _every(stride, 2, 3),
        num_outputs=lambda a: int(a.get("num_tensors", 1)),
        infer=lambda *data, num_tensors=1, **_: tuple(
            _weight_like(data[i * stride]) for i in range(int(num_tensors))),
        samples=_multi_lamb_samples(mp),
        doc=f"""LAMB (both phases) on ``num_tensors`` tensors at once (MXNet ``{name}``,
    behind ``nd.contrib.{name[1:]}``): ``data`` is weight, grad, mean, var{', weight32'
    if mp else ''} per tensor; per-tensor ``learning_rates``, ``wds`` and ``step_count``.
    Returns the new weights.

    Example::

        >>> nd.contrib.{name[1:]}(ws, gs, means, vars{', w32s' if mp else ''}, step_count=[1],
        ...                       lrs=[0.01], wds=[0.0])
    """)


_multi_lamb_update = _register_multi_lamb("_multi_lamb_update", False)
_multi_mp_lamb_update = _register_multi_lamb("_multi_mp_lamb_update", True)


# ---- AdamW (contrib) ------------------------------------------------------------------------
def _scale(rescale_grad):
    return float(rescale_grad.reshape(-1)[0]) if hasattr(rescale_grad, "shape") else \
        float(rescale_grad)


def _adamw(xp, weight, grad, mean, var, weight32, rescale_grad, lr, beta1, beta2, epsilon, wd,
           eta, clip_gradient):
    scale = _scale(rescale_grad)
    if not np.isfinite(scale):  # MXNet skips the step (AMP's loss scale overflowed)
        return weight.copy()
    w = weight.copy() if weight32 is None else weight32
    adamw_kernel(xp, w, grad.astype(w.dtype), mean, var, lr, wd, eta, beta1, beta2, epsilon,
                 scale, _clip(clip_gradient))
    return w if weight32 is None else w.astype(weight.dtype)


_ADAMW = {"lr": REQUIRED, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "wd": 0.0,
          "eta": REQUIRED, "clip_gradient": -1.0}
_ADAMW_DOC = """AdamW step (MXNet ``contrib.{name}``, decoupled weight decay): with ``g =
    clip(rescale_grad*grad)``, ``mean``/``var`` take Adam's moments in place; returns
    ``weight - eta*(lr*mean/(sqrt(var) + epsilon) + wd*weight)``. ``rescale_grad`` is an
    array of shape (1,) or a number; when it is not finite the step is skipped (the weight is
    returned unchanged).{mp}

    Example::

        >>> nd.contrib.{name}(w, g, m, v{extra}, rescale_grad=1.0, lr=0.001, eta=1.0, out=w)
    """


def _adamw_update(xp, weight, grad, mean, var, rescale_grad, lr=REQUIRED, beta1=0.9,
                  beta2=0.999, epsilon=1e-8, wd=0.0, eta=REQUIRED, clip_gradient=-1.0):
    return _adamw(xp, weight, grad, mean, var, None, rescale_grad, lr, beta1, beta2, epsilon,
                  wd, eta, clip_gradient)


def _mp_adamw_update(xp, weight, grad, mean, var, weight32, rescale_grad, lr=REQUIRED,
                     beta1=0.9, beta2=0.999, epsilon=1e-8, wd=0.0, eta=REQUIRED,
                     clip_gradient=-1.0):
    return _adamw(xp, weight, grad, mean, var, weight32, rescale_grad, lr, beta1, beta2,
                  epsilon, wd, eta, clip_gradient)


_contrib_adamw_update = update_op(
    "_contrib_adamw_update", _adamw_update, ("weight", "grad", "mean", "var", "rescale_grad"),
    _ADAMW, mutates=(2, 3),
    samples=[Sample(_s(3, 4), _s(3, 4, salt=1), _s(3, 4, salt=2), _p(3, 4, salt=3),
                    np.array([0.5]), lr=0.1, eta=0.5, wd=0.1),
             Sample(_s(3), _s(3, salt=1), _s(3, salt=2), _p(3, salt=3), np.array([np.inf]),
                    lr=0.1, eta=1.0)],
    doc=_ADAMW_DOC.format(name="adamw_update", mp="", extra=""))
_contrib_mp_adamw_update = update_op(
    "_contrib_mp_adamw_update", _mp_adamw_update,
    ("weight", "grad", "mean", "var", "weight32", "rescale_grad"), _ADAMW, mutates=(2, 3, 4),
    samples=[Sample(_half(_s(3, 4)), _half(_s(3, 4, salt=1)), _s(3, 4, salt=2),
                    _p(3, 4, salt=3), _s(3, 4), np.array([0.5]), lr=0.1, eta=0.5, wd=0.1)],
    doc=_ADAMW_DOC.format(name="mp_adamw_update", mp=" The float32 master copy ``weight32`` "
                          "changes in place; the result has the weight's dtype.",
                          extra=", w32"))


def _multi_adamw(mp):
    stride = 5 if mp else 4

    def kernel(xp, *data, lrs=REQUIRED, beta1=0.9, beta2=0.999, epsilon=1e-8, wds=REQUIRED,
               etas=REQUIRED, clip_gradient=-1.0, num_weights=1):
        scale = data[-1]
        outs = []
        for i in range(int(num_weights)):
            grp = data[i * stride:(i + 1) * stride]
            outs.append(_adamw(xp, grp[0], grp[1], grp[2], grp[3], grp[4] if mp else None,
                               scale, float(lrs[i]), beta1, beta2, epsilon, float(wds[i]),
                               float(etas[i]), clip_gradient))
        return tuple(outs)
    return kernel


def _multi_adamw_samples(mp):
    arrays = []
    for i, shape in enumerate(((3, 2), (4,))):
        w, g = _s(*shape, salt=10 * i), _s(*shape, salt=10 * i + 1)
        grp = [w, g, _s(*shape, salt=10 * i + 2) * 0.1, _p(*shape, salt=10 * i + 3)]
        arrays += [_half(w), _half(g), *grp[2:], w] if mp else grp
    return [Sample(*arrays, np.array([0.5]), lrs=(0.1, 0.05), wds=(0.01, 0.0), etas=(1.0, 0.5),
                   num_weights=2, grad=False)]


def _register_multi_adamw(name, mp):
    stride = 5 if mp else 4
    return update_op(
        name, _multi_adamw(mp), ("*data",),
        {"lrs": REQUIRED, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "wds": REQUIRED,
         "etas": REQUIRED, "clip_gradient": -1.0, "num_weights": 1},
        mutates=_every(stride, 2, 3, 4) if mp else _every(stride, 2, 3),
        num_outputs=lambda a: int(a.get("num_weights", 1)),
        infer=lambda *data, num_weights=1, **_: tuple(
            _weight_like(data[i * stride]) for i in range(int(num_weights))),
        samples=_multi_adamw_samples(mp),
        doc=f"""``contrib.{name[7:]}`` of ``num_weights`` weights at once (MXNet ``{name}``,
    behind ``nd.contrib.{name[1:]}``): ``data`` is weight, grad, mean, var{', weight32'
    if mp else ''} per weight, then ``rescale_grad`` (1,); per-weight ``lrs``, ``wds``,
    ``etas``. Returns the new weights.

    Example::

        >>> nd.contrib.{name[1:]}(ws, gs, ms, vs{', w32s' if mp else ''}, 1.0, lrs=[0.01],
        ...                       wds=[0.0], etas=[1.0])
    """)


_multi_adamw_update = _register_multi_adamw("_multi_adamw_update", False)
_multi_mp_adamw_update = _register_multi_adamw("_multi_mp_adamw_update", True)


# ---- AdaGrad: group (contrib) and sparse ----------------------------------------------------
def _group_adagrad(xp, weight, grad, history, lr=REQUIRED, rescale_grad=1.0, clip_gradient=-1.0,
                   epsilon=1e-5):
    g = clip_op(xp, rescale_grad * grad, _clip(clip_gradient))
    axes = tuple(range(1, g.ndim))
    history += (g * g).mean(axis=axes).reshape(history.shape) if axes else g * g
    scale = xp.sqrt(history + epsilon).reshape((-1,) + (1,) * len(axes))
    return (weight - lr * g / scale).astype(weight.dtype)


_contrib_group_adagrad_update = update_op(
    "_contrib_group_adagrad_update", _group_adagrad, ("weight", "grad", "history"),
    {"lr": REQUIRED, **_HYPER, "epsilon": 1e-5}, mutates=(2,),
    samples=[Sample(_s(3, 4), _s(3, 4, salt=1), _p(3, 1, salt=2), lr=0.1),
             Sample(_s(2, 3, 2), _s(2, 3, 2, salt=1), _p(2, 1, salt=2), lr=0.1,
                    clip_gradient=0.3, rescale_grad=2.0)],
    doc="""Group AdaGrad (MXNet ``contrib.group_adagrad_update``): one accumulator per row.
    With ``g = clip(rescale_grad*grad)``, ``history += mean(g^2 over all but the first
    axis)`` in place; returns ``weight - lr*g/sqrt(history + epsilon)``. weight, grad:
    (rows, ...); history: (rows, 1).

    Example::

        >>> nd.contrib.group_adagrad_update(w, g, history, lr=0.1, out=w)
    """)


def _sparse_adagrad(xp, weight, grad, history, lr=REQUIRED, epsilon=1e-7, wd=0.0,
                    rescale_grad=1.0, clip_gradient=-1.0):
    g = clip_op(xp, rescale_grad * grad, _clip(clip_gradient))
    history += g * g
    return (weight - lr * (g / xp.sqrt(history + epsilon) + wd * weight)).astype(weight.dtype)


_sparse_adagrad_update = update_op(
    "_sparse_adagrad_update", _sparse_adagrad, ("weight", "grad", "history"),
    {"lr": REQUIRED, "epsilon": 1e-7, "wd": 0.0, **_HYPER}, mutates=(2,),
    samples=[Sample(_s(3, 4), _s(3, 4, salt=1), _p(3, 4, salt=2), lr=0.1)],
    doc="""AdaGrad step (MXNet ``nd.sparse.adagrad_update``, whose row_sparse gradient
    updates only its rows: see ``nd.sparse``): ``g = clip(rescale_grad*grad)``, ``history +=
    g^2`` in place; returns ``weight - lr*(g/sqrt(history + epsilon) + wd*weight)``.

    Example::

        >>> nd.sparse.adagrad_update(w, g_rsp, history, lr=0.1, out=w)
    """)
