"""Follow-the-leader optimizers: Ftrl and FTML (MXNet 1.9 ``ftrl_update`` / ``ftml_update``).

Example::

    >>> opt = kiln.optimizer.Ftrl(lamda1=0.01, learning_rate=0.1)
"""
import numpy as np

from .optimizer import Optimizer, clip_op, register, zeros_state

__all__ = ["Ftrl", "FTML"]


@register
class Ftrl(Optimizer):
    """FTRL-Proximal (McMahan et al., Ad Click Prediction)::

        g = clip(rescale_grad * grad, clip_gradient)
        z += g - (sqrt(n + g**2) - sqrt(n)) * weight / lr
        n += g**2
        weight = (sign(z) * lamda1 - z) / ((beta + sqrt(n)) / lr + wd) * (|z| > lamda1)

    As in MXNet, ``learning_rate`` is set after the base class, so it does not overwrite an
    lr_scheduler's base_lr.
    """

    def __init__(self, lamda1=0.01, learning_rate=0.1, beta=1, **kwargs):
        super().__init__(**kwargs)
        self.lamda1 = lamda1
        self.beta = beta
        self.lr = learning_rate

    def create_state(self, index, weight):
        return (zeros_state(weight, np.float32), zeros_state(weight, np.float32))  # z, n

    def update(self, index, weight, grad, state):
        self._update_count(index)
        wd, lr = self._get_wd(index), self._get_lr(index)
        xp = weight.context.xp
        w = weight._data
        g = clip_op(xp, self.rescale_grad * grad._data, self.clip_gradient)
        z, n = state[0]._data, state[1]._data
        z += g - (xp.sqrt(n + g * g) - xp.sqrt(n)) * w / lr
        n += g * g
        new = ((xp.sign(z) * self.lamda1 - z) / ((self.beta + xp.sqrt(n)) / lr + wd)
               * (xp.abs(z) > self.lamda1))
        w[...] = new


@register
class FTML(Optimizer):
    """FTML, Follow the Moving Leader (Zheng & Kwok 2017)::

        g = clip(rescale_grad * grad + wd * weight, clip_gradient)
        v = beta2 * v + (1 - beta2) * g**2
        d_t = (1 - beta1**t) / lr * (sqrt(v / (1 - beta2**t)) + epsilon)
        z = beta1 * z + (1 - beta1) * g - (d_t - beta1 * d_{t-1}) * weight
        weight = -z / d_t
    """

    def __init__(self, beta1=0.6, beta2=0.999, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon

    def create_state(self, index, weight):
        return tuple(zeros_state(weight) for _ in range(3))  # d_0, v_0, z_0

    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        t = self._index_update_count[index]
        xp = weight.context.xp
        w = weight._data
        g = clip_op(xp, self.rescale_grad * grad._data + wd * w, self.clip_gradient)
        d, v, z = state[0]._data, state[1]._data, state[2]._data
        v[...] = self.beta2 * v + (1 - self.beta2) * (g * g)
        d_t = (1 - self.beta1 ** t) / lr * (xp.sqrt(v / (1 - self.beta2 ** t)) + self.epsilon)
        z[...] = self.beta1 * z + (1 - self.beta1) * g - (d_t - self.beta1 * d) * w
        d[...] = d_t
        w[...] = -z / d_t
