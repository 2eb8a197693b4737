"""The optimizer update formulas of MXNet 1.9, on raw arrays, in place: one implementation
shared by the registry's update ops (``nd.sgd_update``, ``nd.adam_update``...,
``ndarray/ops/optimizer_ops.py``) and the ``kiln.optimizer`` classes that drive them.

Every kernel updates its weight and state arguments in place and returns nothing; ``clip``
follows MXNet's fused ops (``clip_op``: only a bound >= 0 clips), ``rescale`` multiplies the
gradient first.

Example::

    >>> w, g = np.ones(3, np.float32), np.full(3, 0.5, np.float32)
    >>> sgd_kernel(np, w, g, None, 0.1, 0.0, 0.0, 1.0, None)    # w is now [0.95 0.95 0.95]
"""
import numpy as np

from .._blas import axpby, axpy, suits
from .._derived import thaw
from ._cuda_fused import adam_update, sgd_update

_WEAK = (float, int)  # Python scalars take the array's dtype (NumPy's weak scalars)


def clip_op(xp, g, bound):
    """Clip the way MXNet's fused update ops do: only when ``bound`` is truthy and >= 0."""
    if bound and bound >= 0:
        return xp.clip(g, -bound, bound)
    return g


def sgd_plain(w, g, lr, rescale):
    """``sgd_kernel`` without momentum, weight decay or clipping: ``w -= (lr * rescale) * g``
    in place, the same numbers in fewer calls for numpy arrays (a training step of a small
    model runs one per parameter)."""
    if type(w) is not np.ndarray:
        sgd_kernel(None, w, g, None, lr, 0, 0, rescale, None)
        return
    thaw(w)
    _plain_step(w, g, lr * rescale)


def _plain_step(w, g, step):
    if not axpy(-step, g, w):
        w -= step * g


def sgd_kernel(xp, w, g, mom, lr, wd, momentum, rescale, clip):
    """MXNet's ``sgd_update`` / ``sgd_mom_update`` on raw arrays, in place.

    ``mom = momentum*mom - lr*wd*w - lr*clip(rescale*g); w += mom`` (without momentum:
    ``w = (1 - lr*wd)*w - lr*clip(rescale*g)``). The gradient is clipped before weight decay.
    """
    thaw(w)   # the weight may be held read-only by a derived form (_derived)
    if clip is None and type(w) is not np.ndarray and sgd_update(w, g, mom, lr, wd, momentum,
                                                                 rescale):
        return  # cupy: one kernel launch
    if mom is None and not wd and clip is None:  # plain SGD: one pass (axpy) or one temporary
        _plain_step(w, g, lr * rescale)
        return
    if clip is None and type(lr) in _WEAK and type(wd) in _WEAK and (
            suits(w, g) if mom is None else suits(w, g, mom) and suits(mom, g)):
        _sgd_blas(w, g, mom, lr, wd, momentum, rescale)
        return
    g = clip_op(xp, rescale * g, clip)
    if not (g.dtype == w.dtype and type(lr) in _WEAK and type(wd) in _WEAK):
        # mixed dtypes or numpy scalars: an in-place op could round where the expression
        # would promote, so keep the plain expressions
        if mom is None:
            w[...] = (1 - lr * wd) * w - lr * g
        else:
            mom *= momentum
            mom -= lr * wd * w + lr * g
            w += mom
        return
    # the same operations, on temporaries updated in place (each has the dtype the
    # expression's result would have): large weights avoid most allocations
    if mom is None:
        new = (1 - lr * wd) * w
        g *= lr
        new -= g
        w[...] = new
    else:
        mom *= momentum
        decay = lr * wd * w
        g *= lr
        decay += g
        mom -= decay
        w += mom


def _sgd_blas(w, g, mom, lr, wd, momentum, rescale):
    """``sgd_kernel`` without clipping in axpy passes (no temporaries): with momentum
    ``mom = momentum*mom - lr*wd*w - lr*rescale*g; w += mom``, else
    ``w = (1 - lr*wd)*w - lr*rescale*g``. Equal to the numpy expressions up to rounding."""
    if mom is None:
        w *= 1 - lr * wd
        axpy(-lr * rescale, g, w, checked=True)
        return
    # momentum * mom - lr * rescale * g in one pass where the BLAS has axpby (ResNet-18's
    # 11.7M-parameter step on two cores 6.5 -> 5.5 ms, 2026-12-08)
    if not axpby(-lr * rescale, g, momentum, mom, checked=True):
        mom *= momentum
        axpy(-lr * rescale, g, mom, checked=True)
    if wd:
        axpy(-lr * wd, w, mom, checked=True)
    axpy(1.0, mom, w, checked=True)


def nag_kernel(xp, w, g, mom, lr, wd, momentum, rescale, clip):
    """MXNet's ``nag_mom_update``: ``g = clip(rescale*g) + wd*w; mom = momentum*mom - lr*g;
    w += momentum*mom - lr*g`` (without momentum state: plain SGD)."""
    thaw(w)   # the weight may be held read-only by a derived form (_derived)
    if mom is None:
        sgd_kernel(xp, w, g, None, lr, wd, 0.0, rescale, clip)
        return
    g = clip_op(xp, rescale * g, clip) + wd * w
    mom *= momentum
    mom -= lr * g
    w += momentum * mom - lr * g


def moments_kernel(mean, var, g, beta1, beta2):
    """In place: ``mean = b1*mean + (1-b1)*g``, ``var = b2*var + (1-b2)*g^2``."""
    mean *= beta1
    mean += (1 - beta1) * g
    var *= beta2
    var += (1 - beta2) * (g * g)


def adam_kernel(xp, w, g, mean, var, lr, wd, beta1, beta2, epsilon, rescale, clip):
    """MXNet's ``adam_update`` on raw arrays, in place (``lr`` already bias-corrected)::

        g = clip(rescale * g + wd * w, clip);  mean, var = moments of g
        w -= lr * mean / (sqrt(var) + epsilon)
    """
    thaw(w)   # the weight may be held read-only by a derived form (_derived)
    if clip is None and type(w) is not np.ndarray and adam_update(
            w, g, mean, var, lr, wd, beta1, beta2, epsilon, rescale):
        return  # cupy: one kernel launch
    g = rescale * g
    if not (g.dtype == w.dtype and mean.dtype == var.dtype and type(wd) in _WEAK
            and type(beta2) in _WEAK and type(epsilon) in _WEAK):
        # mixed dtypes or numpy scalars: keep the plain expressions (see sgd_kernel)
        g = clip_op(xp, g + wd * w, clip)
        moments_kernel(mean, var, g, beta1, beta2)
        w -= lr * mean / (xp.sqrt(var) + epsilon)
        return
    g += wd * w
    g = clip_op(xp, g, clip)
    mean *= beta1
    mean += (1 - beta1) * g
    g *= g
    g *= 1 - beta2
    var *= beta2
    var += g
    den = xp.sqrt(var)
    den += epsilon
    step = lr * mean
    step /= den
    w -= step


def adamw_kernel(xp, w, g, mean, var, lr, wd, eta, beta1, beta2, epsilon, rescale, clip):
    """MXNet's contrib ``adamw_update`` (decoupled weight decay), in place::

        g = clip(rescale * g, clip);  mean, var = moments of g
        w -= eta * (lr * mean / (sqrt(var) + epsilon) + wd * w)
    """
    thaw(w)   # the weight may be held read-only by a derived form (_derived)
    g = clip_op(xp, rescale * g, clip)
    moments_kernel(mean, var, g, beta1, beta2)
    w -= eta * (lr * mean / (xp.sqrt(var) + epsilon) + wd * w)


def signum_kernel(xp, w, g, mom, lr, wd, momentum, rescale, clip, wd_lh=0.0):
    """MXNet's ``signum_update`` (``mom`` given) / ``signsgd_update`` (``mom`` None)::

        signsgd: w = (1 - lr*wd) * w - lr * sign(clip(rescale*g))
        signum:  mom = momentum*mom - (1 - momentum)*(wd*w + clip(rescale*g))
                 w = (1 - lr*wd_lh) * w + lr * sign(mom)
    """
    thaw(w)   # the weight may be held read-only by a derived form (_derived)
    g = clip_op(xp, rescale * g, clip)
    if mom is None:
        w[...] = (1 - lr * wd) * w - lr * xp.sign(g)
        return
    mom *= momentum
    mom -= (1 - momentum) * (wd * w + g)
    w[...] = (1 - lr * wd_lh) * w + lr * xp.sign(mom)


def ftrl_kernel(xp, w, g, z, n, lr, lamda1, beta, wd, rescale, clip):
    """MXNet's ``ftrl_update`` (FTRL-Proximal), in place on ``w``, ``z``, ``n``::

        g = clip(rescale*g);  z += g - (sqrt(n + g^2) - sqrt(n)) * w / lr;  n += g^2
        w = (sign(z)*lamda1 - z) / ((beta + sqrt(n)) / lr + wd) * (|z| > lamda1)
    """
    thaw(w)   # the weight may be held read-only by a derived form (_derived)
    g = clip_op(xp, rescale * g, clip)
    z += g - (xp.sqrt(n + g * g) - xp.sqrt(n)) * w / lr
    n += g * g
    w[...] = (xp.sign(z) * lamda1 - z) / ((beta + xp.sqrt(n)) / lr + wd) * (xp.abs(z) > lamda1)


def ftml_kernel(xp, w, g, d, v, z, lr, beta1, beta2, epsilon, t, wd, rescale, clip):
    """MXNet's ``ftml_update`` (Follow the Moving Leader) at step ``t``, in place::

        g = clip(rescale*g + wd*w);  v = beta2*v + (1-beta2)*g^2
        d_t = (1 - beta1^t) / lr * (sqrt(v / (1 - beta2^t)) + epsilon)
        z = beta1*z + (1-beta1)*g - (d_t - beta1*d) * w;  d = d_t;  w = -z / d_t
    """
    thaw(w)   # the weight may be held read-only by a derived form (_derived)
    g = clip_op(xp, rescale * g + wd * w, clip)
    v[...] = beta2 * v + (1 - beta2) * (g * g)
    d_t = (1 - beta1 ** t) / lr * (xp.sqrt(v / (1 - beta2 ** t)) + epsilon)
    z[...] = beta1 * z + (1 - beta1) * g - (d_t - beta1 * d) * w
    d[...] = d_t
    w[...] = -z / d_t


def rmsprop_kernel(xp, w, g, n, lr, gamma1, epsilon, wd, rescale, clip, clip_weights,
                   mg=None, delta=None, gamma2=0.9):
    """MXNet's ``rmsprop_update`` (``mg`` None) / ``rmspropalex_update`` (centered), in place::

        g = clip(rescale*g + wd*w);  n = (1-gamma1)*g^2 + gamma1*n
        plain:    w -= lr * g / sqrt(n + epsilon)
        centered: mg = (1-gamma1)*g + gamma1*mg
                  delta = gamma2*delta - lr * g / sqrt(n - mg^2 + epsilon);  w += delta
        then w = clip(w, clip_weights)
    """
    thaw(w)   # the weight may be held read-only by a derived form (_derived)
    g = clip_op(xp, rescale * g + wd * w, clip)
    n[...] = (1 - gamma1) * (g * g) + gamma1 * n
    if mg is None:
        w -= (lr * g / xp.sqrt(n + epsilon)).astype(w.dtype)
    else:
        mg[...] = (1 - gamma1) * g + gamma1 * mg
        delta[...] = gamma2 * delta - lr * g / xp.sqrt(n - mg * mg + epsilon)
        w += delta.astype(w.dtype)
    w[...] = clip_op(xp, w, clip_weights)


def lamb_direction(xp, w, g, mean, var, beta1, beta2, epsilon, t, bias_correction, wd,
                   rescale, clip):
    """MXNet's ``lamb_update_phase1``: updates ``mean``/``var`` in place and returns the
    direction ``m^ / (sqrt(v^) + epsilon) + wd*w`` (bias-corrected moments at step ``t``)."""
    g = clip_op(xp, rescale * g, clip)
    moments_kernel(mean, var, g, beta1, beta2)
    m_hat, v_hat = mean, var
    if bias_correction:
        m_hat = mean / (1. - beta1 ** t)
        v_hat = var / (1. - beta2 ** t)
    return m_hat / (xp.sqrt(v_hat) + epsilon) + wd * w


def lamb_ratio(lr, r1, r2, lower_bound, upper_bound):
    """MXNet's ``lamb_update_phase2`` step size from the weight's norm ``r1`` (clipped to each
    bound >= 0; -1 is unset) and the direction's norm ``r2``: ``lr * r1 / r2``, or ``lr`` when
    either norm is 0."""
    if lower_bound >= 0:
        r1 = max(r1, lower_bound)
    if upper_bound >= 0:
        r1 = min(r1, upper_bound)
    return lr if r1 == 0 or r2 == 0 else lr * r1 / r2


def norm32(xp, a):
    """The L2 norm of ``a`` computed in float32 (MXNet's LAMB/LARS), as a Python float."""
    return float(xp.linalg.norm(a.astype(np.float32).ravel()))
