"""Per-coordinate adaptive optimizers: AdaGrad, AdaDelta and RMSProp (MXNet 1.9 formulas).

Their states are float32 (MXNet creates them without a dtype).

Example::

    >>> opt = kiln.optimizer.RMSProp(learning_rate=0.01, centered=True)
"""
import numpy as np

from ..ndarray.ops._update_kernels import rmsprop_kernel
from .optimizer import Optimizer, clip_py, register, sparse_weight, zeros_state

__all__ = ["AdaGrad", "AdaDelta", "RMSProp"]


@register
class AdaGrad(Optimizer):
    """AdaGrad (Duchi et al.)::

        g = clip(rescale_grad * grad, clip_gradient)
        history += g**2
        weight -= lr * (g / sqrt(history + eps) + wd * weight)
    """

    def __init__(self, eps=1e-7, **kwargs):
        super().__init__(**kwargs)
        self.float_stable_eps = eps

    def create_state(self, index, weight):
        return zeros_state(weight, np.float32)  # history

    @sparse_weight
    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        xp = weight.context.xp
        w = weight._data
        g = clip_py(xp, self.rescale_grad * grad._data, self.clip_gradient)
        history = state._data
        history += g * g
        div = g / xp.sqrt(history + self.float_stable_eps)
        w += ((div + w * wd) * -lr).astype(w.dtype)


@register
class AdaDelta(Optimizer):
    """AdaDelta (Zeiler 2012); it uses no learning rate::

        g = clip(rescale_grad * grad, clip_gradient)
        acc_g = rho * acc_g + (1 - rho) * g**2
        delta = sqrt(acc_delta + epsilon) / sqrt(acc_g + epsilon) * g
        acc_delta = rho * acc_delta + (1 - rho) * delta**2
        weight -= delta + wd * weight
    """

    def __init__(self, rho=0.90, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def create_state(self, index, weight):
        return (zeros_state(weight, np.float32), zeros_state(weight, np.float32))

    @sparse_weight
    def update(self, index, weight, grad, state):
        wd = self._get_wd(index)
        self._update_count(index)
        xp = weight.context.xp
        w = weight._data
        # MXNet rescales the caller's gradient in place here; kiln leaves it untouched
        g = clip_py(xp, self.rescale_grad * grad._data, self.clip_gradient)
        acc_g, acc_delta = state[0]._data, state[1]._data
        acc_g *= self.rho
        acc_g += (1. - self.rho) * g * g
        delta = xp.sqrt(acc_delta + self.epsilon) / xp.sqrt(acc_g + self.epsilon) * g
        acc_delta *= self.rho
        acc_delta += (1. - self.rho) * delta * delta
        w -= (delta + wd * w).astype(w.dtype)


@register
class RMSProp(Optimizer):
    """RMSProp: Tieleman & Hinton (``centered=False``) or Graves 2013 (``centered=True``)::

        g = clip(rescale_grad * grad + wd * weight, clip_gradient)
        n = (1 - gamma1) * g**2 + gamma1 * n
        centered=False: weight -= lr * g / sqrt(n + epsilon)
        centered=True:  mg = (1 - gamma1) * g + gamma1 * mg
                        delta = gamma2 * delta - lr * g / sqrt(n - mg**2 + epsilon)
                        weight += delta
        then weight = clip(weight, clip_weights) when clip_weights is set
    """

    def __init__(self, learning_rate=0.001, gamma1=0.9, gamma2=0.9, epsilon=1e-8,
                 centered=False, clip_weights=None, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.gamma1 = gamma1
        self.gamma2 = gamma2
        self.centered = centered
        self.epsilon = epsilon
        self.clip_weights = clip_weights

    def create_state(self, index, weight):
        n = 3 if self.centered else 1  # (n,) or (n, mean grad, delta)
        return tuple(zeros_state(weight, np.float32) for _ in range(n))

    @sparse_weight
    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        xp = weight.context.xp
        mg, delta = (state[1]._data, state[2]._data) if self.centered else (None, None)
        rmsprop_kernel(xp, weight._data, grad._data, state[0]._data, lr, self.gamma1,
                       self.epsilon, wd, self.rescale_grad, self.clip_gradient,
                       self.clip_weights, mg, delta, self.gamma2)
