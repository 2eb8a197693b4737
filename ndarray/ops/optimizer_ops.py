"""MXNet 1.9's SGD-family update ops: ``sgd_update``, ``sgd_mom_update``, ``nag_mom_update``,
``signsgd_update``, ``signum_update``, their multi-precision (``mp_*``) and multi-tensor
(``multi_*``, ``preloaded_multi_*``) forms, and the helpers of mixed-precision and LARS training
(``multi_sum_sq``, ``multi_lars``, ``all_finite``, ``multi_all_finite``, ``reset_arrays``).

As in MXNet, an update op returns the new weight and leaves its ``weight`` input alone (the
optimizers pass ``out=weight``), while the states (momentum, the float32 master copy
``weight32``) are updated in place: they are the op's ``mutates`` inputs (auxiliary states in a
symbol). The formulas are ``ndarray/ops/_update_kernels.py``'s, shared with ``kiln.optimizer``.
A multi-tensor op takes its arrays flattened, weight by weight (``w0, g0, w1, g1, ...`` with
``num_weights``), and returns the list of new weights.

Example::

    >>> w, g, mom = nd.array([1., 2.]), nd.array([.5, -1.]), nd.zeros((2,))
    >>> nd.sgd_mom_update(w, g, mom, lr=0.1, momentum=0.9)     # [0.95 2.1]; mom [-0.05 0.1]
"""
import numpy as np

from .._registry import REQUIRED, Aval, Sample, register
from ._samples import rnd
from ._update_kernels import nag_kernel, sgd_kernel, signum_kernel

NO_GRAD = "an optimizer step: MXNet registers no gradient for it"
NO_ONNX = "a training step that updates its states in place: no ONNX equivalent"
_HYPER = {"rescale_grad": 1.0, "clip_gradient": -1.0}


def _clip(c):
    return None if c is None or c < 0 else c  # MXNet: a negative bound does not clip


def _weight_like(weight, *_, **__):
    return Aval(tuple(weight.shape), np.dtype(weight.dtype))


def _ref(kernel):
    """A numpy reference: the kernel on copies (the states' updates are not outputs)."""
    def ref(*arrays, **attrs):
        return kernel(np, *[np.array(a) if isinstance(a, np.ndarray) else a for a in arrays],
                      **attrs)
    return ref


def update_op(name, kernel, inputs, attrs, mutates=(), samples=(), doc=None, **facets):
    """Register one update op with the facets they all share."""
    return register(name, kernel, inputs=inputs, attrs=attrs, mutates=mutates,
                    infer=facets.pop("infer", _weight_like), ref=_ref(kernel),
                    no_grad=NO_GRAD, no_onnx=NO_ONNX, samples=list(samples), doc=doc, **facets)


# ---- single-tensor SGD family ---------------------------------------------------------------
def _sgd(xp, weight, grad, mom=None, weight32=None, *, lr, wd, momentum, rescale_grad,
         clip_gradient, kernel=sgd_kernel):
    if weight32 is None:
        w = weight.copy()
        kernel(xp, w, grad, mom, lr, wd, momentum, rescale_grad, _clip(clip_gradient))
        return w
    kernel(xp, weight32, grad.astype(np.float32), mom, lr, wd, momentum, rescale_grad,
           _clip(clip_gradient))
    return weight32.astype(weight.dtype)


def _sgd_update(xp, weight, grad, lr=REQUIRED, wd=0.0, rescale_grad=1.0, clip_gradient=-1.0,
                lazy_update=True):
    return _sgd(xp, weight, grad, lr=lr, wd=wd, momentum=0.0, rescale_grad=rescale_grad,
                clip_gradient=clip_gradient)


def _sgd_mom_update(xp, weight, grad, mom, lr=REQUIRED, momentum=0.0, wd=0.0, rescale_grad=1.0,
                    clip_gradient=-1.0, lazy_update=True):
    return _sgd(xp, weight, grad, mom, lr=lr, wd=wd, momentum=momentum,
                rescale_grad=rescale_grad, clip_gradient=clip_gradient)


def _mp_sgd_update(xp, weight, grad, weight32, lr=REQUIRED, wd=0.0, rescale_grad=1.0,
                   clip_gradient=-1.0, lazy_update=True):
    return _sgd(xp, weight, grad, None, weight32, lr=lr, wd=wd, momentum=0.0,
                rescale_grad=rescale_grad, clip_gradient=clip_gradient)


def _mp_sgd_mom_update(xp, weight, grad, mom, weight32, lr=REQUIRED, momentum=0.0, wd=0.0,
                       rescale_grad=1.0, clip_gradient=-1.0, lazy_update=True):
    return _sgd(xp, weight, grad, mom, weight32, lr=lr, wd=wd, momentum=momentum,
                rescale_grad=rescale_grad, clip_gradient=clip_gradient)


def _nag_mom_update(xp, weight, grad, mom, lr=REQUIRED, momentum=0.0, wd=0.0, rescale_grad=1.0,
                    clip_gradient=-1.0):
    return _sgd(xp, weight, grad, mom, lr=lr, wd=wd, momentum=momentum,
                rescale_grad=rescale_grad, clip_gradient=clip_gradient, kernel=nag_kernel)


def _mp_nag_mom_update(xp, weight, grad, mom, weight32, lr=REQUIRED, momentum=0.0, wd=0.0,
                       rescale_grad=1.0, clip_gradient=-1.0):
    return _sgd(xp, weight, grad, mom, weight32, lr=lr, wd=wd, momentum=momentum,
                rescale_grad=rescale_grad, clip_gradient=clip_gradient, kernel=nag_kernel)


def _signsgd_update(xp, weight, grad, lr=REQUIRED, wd=0.0, rescale_grad=1.0, clip_gradient=-1.0):
    w = weight.copy()
    signum_kernel(xp, w, grad, None, lr, wd, 0.0, rescale_grad, _clip(clip_gradient))
    return w


def _signum_update(xp, weight, grad, mom, lr=REQUIRED, momentum=0.0, wd=0.0, rescale_grad=1.0,
                   clip_gradient=-1.0, wd_lh=0.0):
    w = weight.copy()
    signum_kernel(xp, w, grad, mom, lr, wd, momentum, rescale_grad, _clip(clip_gradient), wd_lh)
    return w


def _s(*shape, salt=0):
    return rnd(*shape, salt=salt)


def _half(a):
    return a.astype(np.float16)


_SGD = {"lr": REQUIRED, "wd": 0.0, **_HYPER, "lazy_update": True}
_MOM = {"lr": REQUIRED, "momentum": 0.0, "wd": 0.0, **_HYPER, "lazy_update": True}
_NAG = {"lr": REQUIRED, "momentum": 0.0, "wd": 0.0, **_HYPER}

sgd_update = update_op(
    "sgd_update", _sgd_update, ("weight", "grad"), _SGD,
    samples=[Sample(_s(3, 4), _s(3, 4, salt=1), lr=0.1, wd=0.01),
             Sample(_s(5), _s(5, salt=2), lr=0.5, rescale_grad=2.0, clip_gradient=0.3)],
    doc="""SGD step (MXNet ``sgd_update``): ``weight*(1 - lr*wd) - lr*clip(rescale_grad*grad,
    clip_gradient)``; returns the new weight (like weight), leaving ``weight`` as it is
    (pass ``out=weight`` to update in place). A negative ``clip_gradient`` does not clip.

    Example::

        >>> nd.sgd_update(nd.array([1., 2.]), nd.array([.5, -1.]), lr=0.1)   # [0.95 2.1]
    """)

sgd_mom_update = update_op(
    "sgd_mom_update", _sgd_mom_update, ("weight", "grad", "mom"), _MOM, mutates=(2,),
    samples=[Sample(_s(3, 4), _s(3, 4, salt=1), _s(3, 4, salt=2), lr=0.1, momentum=0.9,
                    wd=0.01),
             Sample(_s(5), _s(5, salt=2), _s(5, salt=3), lr=0.5, momentum=0.5, clip_gradient=0.2)],
    doc="""SGD with momentum (MXNet ``sgd_mom_update``): ``mom = momentum*mom - lr*wd*weight -
    lr*clip(rescale_grad*grad)`` in place; returns ``weight + mom``. Shapes: all alike.

    Example::

        >>> nd.sgd_mom_update(w, g, mom, lr=0.1, momentum=0.9)
    """)

mp_sgd_update = update_op(
    "mp_sgd_update", _mp_sgd_update, ("weight", "grad", "weight32"), _SGD, mutates=(2,),
    samples=[Sample(_half(_s(3, 4)), _half(_s(3, 4, salt=1)), _s(3, 4), lr=0.1, wd=0.01)],
    doc="""Multi-precision SGD (MXNet ``mp_sgd_update``): ``sgd_update`` on the float32 master
    copy ``weight32`` (updated in place) with the gradient cast to float32; returns the new
    weight32 in the weight's dtype (float16 weights).

    Example::

        >>> nd.mp_sgd_update(w16, g16, w32, lr=0.1, out=w16)
    """)

mp_sgd_mom_update = update_op(
    "mp_sgd_mom_update", _mp_sgd_mom_update, ("weight", "grad", "mom", "weight32"), _MOM,
    mutates=(2, 3),
    samples=[Sample(_half(_s(3, 4)), _half(_s(3, 4, salt=1)), _s(3, 4, salt=2), _s(3, 4),
                    lr=0.1, momentum=0.9)],
    doc="""Multi-precision SGD with momentum (MXNet ``mp_sgd_mom_update``): ``sgd_mom_update``
    on the float32 master copy; ``mom`` and ``weight32`` change in place, the new weight is
    returned in the weight's dtype.

    Example::

        >>> nd.mp_sgd_mom_update(w16, g16, mom, w32, lr=0.1, momentum=0.9, out=w16)
    """)

nag_mom_update = update_op(
    "nag_mom_update", _nag_mom_update, ("weight", "grad", "mom"), _NAG, mutates=(2,),
    samples=[Sample(_s(3, 4), _s(3, 4, salt=1), _s(3, 4, salt=2), lr=0.1, momentum=0.9,
                    wd=0.1)],
    doc="""Nesterov momentum (MXNet ``nag_mom_update``): ``g = clip(rescale_grad*grad) +
    wd*weight; mom = momentum*mom - lr*g`` in place; returns ``weight + momentum*mom - lr*g``.

    Example::

        >>> nd.nag_mom_update(w, g, mom, lr=0.1, momentum=0.9)
    """)

mp_nag_mom_update = update_op(
    "mp_nag_mom_update", _mp_nag_mom_update, ("weight", "grad", "mom", "weight32"), _NAG,
    mutates=(2, 3),
    samples=[Sample(_half(_s(3, 4)), _half(_s(3, 4, salt=1)), _s(3, 4, salt=2), _s(3, 4),
                    lr=0.1, momentum=0.9, wd=0.01)],
    doc="""Multi-precision ``nag_mom_update`` on the float32 master copy ``weight32``. (MXNet
    1.9.1 builds the momentum from the already-updated weight32 when ``wd > 0``; kiln follows
    the formula, as its NAG optimizer does.)

    Example::

        >>> nd.mp_nag_mom_update(w16, g16, mom, w32, lr=0.1, momentum=0.9, out=w16)
    """)

signsgd_update = update_op(
    "signsgd_update", _signsgd_update, ("weight", "grad"),
    {"lr": REQUIRED, "wd": 0.0, **_HYPER},
    samples=[Sample(_s(3, 4), _s(3, 4, salt=1), lr=0.1, wd=0.1)],
    doc="""signSGD (MXNet ``signsgd_update``): ``(1 - lr*wd)*weight - lr*sign(clip(
    rescale_grad*grad))``.

    Example::

        >>> nd.signsgd_update(nd.array([1.]), nd.array([-3.]), lr=0.1)   # [1.1]
    """)

signum_update = update_op(
    "signum_update", _signum_update, ("weight", "grad", "mom"),
    {"lr": REQUIRED, "momentum": 0.0, "wd": 0.0, **_HYPER, "wd_lh": 0.0}, mutates=(2,),
    samples=[Sample(_s(3, 4), _s(3, 4, salt=1), _s(3, 4, salt=2), lr=0.1, momentum=0.9,
                    wd=0.1, wd_lh=0.01)],
    doc="""Signum (MXNet ``signum_update``): ``mom = momentum*mom - (1 - momentum)*(wd*weight +
    clip(rescale_grad*grad))`` in place; returns ``(1 - lr*wd_lh)*weight + lr*sign(mom)``.

    Example::

        >>> nd.signum_update(w, g, mom, lr=0.01, momentum=0.9)
    """)


# ---- multi-tensor SGD ----------------------------------------------------------------------
def _every(stride, *offsets, n=1024):
    """The positions ``offsets`` of each group of ``stride`` flattened inputs (the states)."""
    return tuple(k for k in range(n) if k % stride in offsets)


def _multi_infer(stride, extra=0):
    def infer(*data, num_weights=1, **_):
        groups = data[:len(data) - extra]
        return tuple(_weight_like(groups[i * stride]) for i in range(int(num_weights)))
    return infer


def _multi(stride, mp, mom, preloaded):
    """The kernel of one multi-tensor SGD op: groups of ``stride`` arrays (weight, grad,
    [mom], [weight32]), then, ``preloaded``, the lrs and wds arrays."""
    def kernel(xp, *data, lrs=None, wds=None, momentum=0.0, rescale_grad=1.0,
               clip_gradient=-1.0, num_weights=1):
        n = int(num_weights)
        if preloaded:
            lrs, wds = [float(v) for v in data[-2]], [float(v) for v in data[-1]]
        outs = []
        for i in range(n):
            grp = data[i * stride:(i + 1) * stride]
            m = grp[2] if mom else None
            w32 = grp[-1] if mp else None
            outs.append(_sgd(xp, grp[0], grp[1], m, w32, lr=float(lrs[i]), wd=float(wds[i]),
                             momentum=momentum, rescale_grad=rescale_grad,
                             clip_gradient=clip_gradient))
        return tuple(outs)
    return kernel


def _multi_samples(stride, mp, mom, preloaded):
    arrays = []
    for i, shape in enumerate(((3, 2), (4,))):
        grp = [_s(*shape, salt=10 * i), _s(*shape, salt=10 * i + 1)]
        if mom:
            grp.append(_s(*shape, salt=10 * i + 2))
        if mp:
            grp = [_half(grp[0]), _half(grp[1]), *grp[2:], grp[0]]
        arrays += grp
    attrs = {"rescale_grad": 0.5, "num_weights": 2}
    if mom:
        attrs["momentum"] = 0.9
    if preloaded:
        arrays += [np.array([0.1, 0.2], np.float32), np.array([0.01, 0.0], np.float32)]
    else:
        attrs.update(lrs=(0.1, 0.2), wds=(0.01, 0.0))
    return [Sample(*arrays, grad=False, **attrs)]


def _register_multi(name, mp, mom, preloaded):
    stride = 2 + mom + mp
    attrs = {} if preloaded else {"lrs": REQUIRED, "wds": REQUIRED}
    if mom:
        attrs["momentum"] = 0.0
    attrs.update(_HYPER, num_weights=1)
    states = (2, 3)[:mom + mp] if mom else ((2,) if mp else ())
    parts = ["weight", "grad"] + (["mom"] if mom else []) + (["weight32"] if mp else [])
    single = ("mp_" if mp else "") + ("sgd_mom_update" if mom else "sgd_update")
    return update_op(
        name, _multi(stride, mp, mom, preloaded), ("*data",), attrs,
        mutates=_every(stride, *states) if states else (),
        num_outputs=lambda a: int(a.get("num_weights", 1)),
        infer=_multi_infer(stride, 2 if preloaded else 0),
        samples=_multi_samples(stride, mp, mom, preloaded),
        doc=f"""``{single}`` of ``num_weights`` weights at once (MXNet ``{name}``). ``data``:
    for each weight {', '.join(parts)}{' then the lrs and wds arrays (num_weights,)'
                                          if preloaded else ''}; per-weight ``lrs``/``wds``.
    Returns the list of new weights.

    Example::

        >>> nd.{name}(w0, g0, w1, g1, ..., num_weights=2, out=[w0, w1])
    """)


multi_sgd_update = _register_multi("multi_sgd_update", False, False, False)
multi_sgd_mom_update = _register_multi("multi_sgd_mom_update", False, True, False)
multi_mp_sgd_update = _register_multi("multi_mp_sgd_update", True, False, False)
multi_mp_sgd_mom_update = _register_multi("multi_mp_sgd_mom_update", True, True, False)
preloaded_multi_sgd_update = _register_multi("preloaded_multi_sgd_update", False, False, True)
preloaded_multi_sgd_mom_update = _register_multi("preloaded_multi_sgd_mom_update", False, True,
                                                 True)
preloaded_multi_mp_sgd_update = _register_multi("preloaded_multi_mp_sgd_update", True, False,
                                                True)
preloaded_multi_mp_sgd_mom_update = _register_multi("preloaded_multi_mp_sgd_mom_update", True,
                                                    True, True)


# ---- LARS and mixed-precision helpers -------------------------------------------------------
def _multi_sum_sq(xp, *data, num_arrays=REQUIRED):
    return xp.asarray([float(xp.sum(xp.square(a.astype(np.float32)))) for a in data],
                      dtype=np.float32)


multi_sum_sq = update_op(
    "multi_sum_sq", _multi_sum_sq, ("*data",), {"num_arrays": REQUIRED},
    infer=lambda *data, num_arrays=None: Aval((len(data),), np.dtype(np.float32)),
    samples=[Sample(_s(3, 2), _s(4, salt=1), num_arrays=2),
             Sample(_half(_s(5)), num_arrays=1)],
    doc="""The sum of squares of each array (MXNet ``multi_sum_sq``, LARS's squared norms):
    float32 (num_arrays,).

    Example::

        >>> nd.multi_sum_sq(nd.array([1., 2.]), nd.array([.5, -1.]), num_arrays=2)  # [5 1.25]
    """)


def _multi_lars(xp, lrs, weights_sum_sq, grads_sum_sq, wds, eta=REQUIRED, eps=REQUIRED,
                rescale_grad=1.0):
    w_norm = xp.sqrt(weights_sum_sq)
    g_norm = xp.sqrt(grads_sum_sq) * rescale_grad
    ok = (w_norm > 0) & (g_norm > 0)
    # the division runs on every entry: a zero norm picks lrs below, so guard the denominator
    den = xp.where(ok, g_norm + wds * w_norm + eps, 1)
    return xp.where(ok, lrs * eta * w_norm / den, lrs).astype(lrs.dtype)


multi_lars = update_op(
    "multi_lars", _multi_lars, ("lrs", "weights_sum_sq", "grads_sum_sq", "wds"),
    {"eta": REQUIRED, "eps": REQUIRED, "rescale_grad": 1.0},
    samples=[Sample(np.array([0.1, 0.2, 0.3]), np.array([4.0, 9.0, 0.0]),
                    np.array([1.0, 4.0, 2.0]), np.array([0.01, 0.0, 0.1]), eta=0.001,
                    eps=1e-8, rescale_grad=2.0)],
    doc="""LARS's layer-wise learning rates (MXNet ``multi_lars``): with ``w = sqrt(
    weights_sum_sq)``, ``g = sqrt(grads_sum_sq) * rescale_grad``, each rate becomes
    ``lrs * eta * w / (g + wds*w + eps)`` where both norms are positive, else stays ``lrs``.
    All inputs and the output: (n,).

    Example::

        >>> nd.multi_lars(lrs, nd.multi_sum_sq(*ws, num_arrays=n), ..., eta=0.001, eps=1e-8)
    """)


def _all_finite(xp, *data, num_arrays=1, init_output=True):
    ok = all(bool(xp.isfinite(a).all()) for a in data)
    # init_output=False: MXNet leaves the output as it was unless a value is not finite; a
    # fresh output here starts at 0, so only out= (see the docstring) keeps a running flag
    return xp.asarray([1.0 if ok and init_output else 0.0], dtype=np.float32)


def _finite_infer(*data, **_):
    return Aval((1,), np.dtype(np.float32))


all_finite = update_op(
    "all_finite", lambda xp, data, init_output=True: _all_finite(xp, data,
                                                                 init_output=init_output),
    ("data",), {"init_output": True}, infer=_finite_infer,
    samples=[Sample(_s(3, 4)), Sample(np.array([1.0, np.inf]))],
    doc="""1 (float32, shape (1,)) when every value of ``data`` is finite, else 0 (MXNet
    ``all_finite``, AMP's overflow check).

    Example::

        >>> nd.all_finite(nd.array([1., float('inf')]))      # [0.]
    """)

multi_all_finite = update_op(
    "multi_all_finite", _all_finite, ("*data",), {"num_arrays": 1, "init_output": True},
    infer=_finite_infer,
    samples=[Sample(_s(3, 4), _s(2, salt=1), num_arrays=2),
             Sample(_s(2), np.array([np.nan, 1.0]), num_arrays=2)],
    doc="""``all_finite`` over several arrays: 1 (float32, (1,)) when all are finite.

    Example::

        >>> nd.multi_all_finite(nd.array([1.]), nd.array([float('nan')]), num_arrays=2)  # [0.]
    """)


def _reset_arrays(xp, *data, num_arrays=REQUIRED):
    for a in data:
        a[...] = 0
    return ()


reset_arrays = update_op(
    "reset_arrays", _reset_arrays, ("*data",), {"num_arrays": REQUIRED},
    mutates=tuple(range(1024)), num_outputs=0, infer=lambda *data, **_: (),
    samples=[Sample(_s(3, 2), _s(4, salt=1), num_arrays=2)],
    doc="""Set every input array to zero in place (MXNet ``reset_arrays``, used to clear
    gradients); returns no outputs (an empty list).

    Example::

        >>> nd.reset_arrays(g0, g1, num_arrays=2)    # g0 and g1 are now zeros
    """)
