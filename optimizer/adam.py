"""Adam-family optimizers: Adam, AdamW, Adamax, Nadam and LAMB (MXNet 1.9 update formulas).

Example::

    >>> opt = kiln.optimizer.create('adam', learning_rate=1e-3, wd=1e-4)
"""
import math

import numpy as np

from ..ndarray.ops._update_kernels import (
    adam_kernel,
    adamw_kernel,
    lamb_direction,
    lamb_ratio,
    norm32,
)
from ..ndarray.ops._update_kernels import moments_kernel as _moments
from .lazy import lazy_apply, lazy_rows
from .optimizer import Optimizer, clip_py, register, sparse_weight, zeros_state

__all__ = ["Adam", "AdamW", "Adamax", "Nadam", "LAMB"]

@register
class Adam(Optimizer):
    """Adam (Kingma & Ba). MXNet adds weight decay to the gradient *before* clipping::

        g = clip(rescale_grad * grad + wd * weight, clip_gradient)
        m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g**2
        weight -= lr * sqrt(1 - beta2**t) / (1 - beta1**t) * m / (sqrt(v) + epsilon)
    """

    _LAZY = True  # row_sparse gradients update lazily (optimizer/lazy.py)

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 lazy_update=True, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.lazy_update = lazy_update

    def create_state(self, index, weight):
        return (zeros_state(weight), zeros_state(weight))  # mean, variance

    @sparse_weight
    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        t = self._index_update_count[index]
        lr *= math.sqrt(1. - self.beta2 ** t) / (1. - self.beta1 ** t)
        xp = weight.context.xp
        rows = lazy_rows(self, grad)
        if rows is None:
            adam_kernel(xp, weight._data, grad._data, state[0]._data, state[1]._data, lr, wd,
                        self.beta1, self.beta2, self.epsilon, self.rescale_grad,
                        self.clip_gradient)
            return
        lazy_apply(lambda w, g, m, v: adam_kernel(
            xp, w, g, m, v, lr, wd, self.beta1, self.beta2, self.epsilon, self.rescale_grad,
            self.clip_gradient), rows, weight._data, grad, [state[0]._data, state[1]._data])


@register
class AdamW(Optimizer):
    """Adam with decoupled weight decay (Loshchilov & Hutter; MXNet's contrib ``adamw_update``
    as driven by Gluon 2's ``AdamW``)::

        g = clip(rescale_grad * grad, clip_gradient)
        m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g**2
        eta = lr * sqrt(1 - beta2**t) / (1 - beta1**t)   (lr when correct_bias=False)
        weight -= eta * (m / (sqrt(v) + epsilon) + wd * weight)
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-6,
                 correct_bias=True, **kwargs):
        kwargs.pop("use_fused_step", None)
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.correct_bias = correct_bias

    def create_state(self, index, weight):
        return (zeros_state(weight), zeros_state(weight))

    @sparse_weight
    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        t = self._index_update_count[index]
        if self.correct_bias:
            lr *= math.sqrt(1. - self.beta2 ** t) / (1. - self.beta1 ** t)
        # MXNet's adamw_update with the (bias-corrected) lr as its eta and lr 1
        adamw_kernel(weight.context.xp, weight._data, grad._data, state[0]._data, state[1]._data,
                     1.0, wd, lr, self.beta1, self.beta2, self.epsilon, self.rescale_grad,
                     self.clip_gradient)


@register
class Adamax(Optimizer):
    """AdaMax (Adam with the infinity norm)::

        g = clip(rescale_grad * grad + wd * weight, clip_gradient)
        m = beta1 * m + (1 - beta1) * g;  u = maximum(beta2 * u, |g|)
        weight -= lr / (1 - beta1**t) * m / u
    """

    def __init__(self, learning_rate=0.002, beta1=0.9, beta2=0.999, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2

    def create_state(self, index, weight):
        return (zeros_state(weight), zeros_state(weight))

    @sparse_weight
    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        t = self._index_update_count[index]
        lr /= (1. - self.beta1 ** t)
        xp = weight.context.xp
        w = weight._data
        g = clip_py(xp, self.rescale_grad * grad._data + wd * w, self.clip_gradient)
        m, u = state[0]._data, state[1]._data
        m *= self.beta1
        m += (1. - self.beta1) * g
        u[...] = xp.maximum(self.beta2 * u, xp.abs(g))
        # u is 0 exactly where every gradient so far was 0 (then m is 0 too): no step there.
        # MXNet divides 0 by 0 and writes NaN into those weights (a 3x3 convolution over 1x1
        # maps has such entries: its eight border taps never see data)
        w -= lr * m / xp.where(u == 0, 1, u)


@register
class Nadam(Optimizer):
    """Nesterov Adam (Dozat 2016)::

        g = clip(rescale_grad * grad + wd * weight, clip_gradient)
        mu_t = beta1 * (1 - 0.5 * 0.96**(t * schedule_decay));  m_schedule *= mu_t
        m, v = Adam moments of g
        m_bar = (1 - mu_t) * g / (1 - m_schedule) + mu_{t+1} * m / (1 - m_schedule * mu_{t+1})
        weight -= lr * m_bar / (sqrt(v / (1 - beta2**t)) + epsilon)

    MXNet 1.9 advances one shared ``m_schedule`` on every parameter's update; kiln keeps one
    schedule per parameter (and per device), the product of ``mu_s`` over its own updates.
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 schedule_decay=0.004, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.schedule_decay = schedule_decay
        self.m_schedule = 1.
        self._m_schedules = {}  # (device, index) -> (t, m_schedule)

    def create_state(self, index, weight):
        return (zeros_state(weight), zeros_state(weight))

    def _mu(self, t):
        return self.beta1 * (1. - 0.5 * (0.96 ** (t * self.schedule_decay)))

    def _schedule(self, index, t):
        """The product of mu_s over this parameter's updates up to ``t`` (cached per step)."""
        key = (self._device_key, index)
        prev = self._m_schedules.get(key)
        if prev is not None and prev[0] == t - 1:
            sched = prev[1] * self._mu(t)
        else:  # first update, or counts restored from a file: rebuild the product
            s = np.arange(self.begin_num_update + 1, t + 1, dtype=np.float64)
            sched = float(np.prod(self.beta1 * (1. - 0.5 * 0.96 ** (s * self.schedule_decay))))
        self._m_schedules[key] = (t, sched)
        self.m_schedule = sched
        return sched

    @sparse_weight
    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        t = self._index_update_count[index]
        xp = weight.context.xp
        w = weight._data
        g = clip_py(xp, self.rescale_grad * grad._data + wd * w, self.clip_gradient)
        mu_t, mu_next = self._mu(t), self._mu(t + 1)
        sched = self._schedule(index, t)
        sched_next = sched * mu_next
        m, v = state[0]._data, state[1]._data
        _moments(m, v, g, self.beta1, self.beta2)
        g_prime = g / (1. - sched)
        m_prime = m / (1. - sched_next)
        v_prime = v / (1. - self.beta2 ** t)
        m_bar = (1. - mu_t) * g_prime + mu_next * m_prime
        w -= lr * m_bar / (xp.sqrt(v_prime) + self.epsilon)


@register
class LAMB(Optimizer):
    """LAMB (You et al. 2019; MXNet's ``lamb_update_phase1/2``)::

        g = clip(rescale_grad * grad, clip_gradient)
        m, v = Adam moments of g (bias-corrected when bias_correction)
        r = m / (sqrt(v) + epsilon) + wd * weight
        r1 = ||weight|| clipped to [lower_bound, upper_bound];  r2 = ||r||
        weight -= (lr * r1 / r2 if r1 > 0 and r2 > 0 else lr) * r
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-6,
                 lower_bound=None, upper_bound=None, bias_correction=True, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound
        self.bias_correction = bias_correction

    def create_state(self, index, weight):
        return (zeros_state(weight, np.float32), zeros_state(weight, np.float32))

    @sparse_weight
    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        t = self._index_update_count[index]
        xp = weight.context.xp
        w = weight._data
        # MXNet's lamb_update_phase1 and phase2 (an unset bound is -1 there)
        r = lamb_direction(xp, w, grad._data, state[0]._data, state[1]._data, self.beta1,
                           self.beta2, self.epsilon, t, self.bias_correction, wd,
                           self.rescale_grad, self.clip_gradient)
        ratio = lamb_ratio(lr, norm32(xp, w), norm32(xp, r), self.lower_bound or -1,
                           self.upper_bound or -1)
        w -= (ratio * r).astype(w.dtype)
