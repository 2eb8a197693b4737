"""Follow-the-leader optimizers: Ftrl and FTML (MXNet 1.9 ``ftrl_update`` / ``ftml_update``).

Example::

    >>> opt = kiln.optimizer.Ftrl(lamda1=0.01, learning_rate=0.1)
"""
import numpy as np

from ..ndarray.ops._update_kernels import ftml_kernel, ftrl_kernel
from .lazy import grad_rows, lazy_apply
from .optimizer import Optimizer, register, sparse_weight, zeros_state

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
        # MXNet's ftrl_update has a row_sparse kernel, taken when the weight and the gradient
        # are both row_sparse: it updates only the gradient's rows (the others keep their
        # values); every other combination updates all rows.
        rows = grad_rows(grad) if getattr(weight, "stype", "") == "row_sparse" else None
        if rows is None:
            self._update_dense(index, weight, grad, state)
            return
        self._update_count(index)
        wd, lr = self._get_wd(index), self._get_lr(index)
        dense = weight.tostype("default")
        lazy_apply(lambda w, g, z, n: self._kernel(w, g, z, n, lr, wd, weight.context.xp),
                   rows, dense._data, grad, [state[0]._data, state[1]._data])
        weight._data = dense._data

    @sparse_weight
    def _update_dense(self, index, weight, grad, state):
        self._update_count(index)
        wd, lr = self._get_wd(index), self._get_lr(index)
        self._kernel(weight._data, grad._data, state[0]._data, state[1]._data, lr, wd,
                     weight.context.xp)

    def _kernel(self, w, g, z, n, lr, wd, xp):
        """Update the raw arrays ``w``, ``z`` and ``n`` in place from the raw gradient ``g``."""
        ftrl_kernel(xp, w, g, z, n, lr, self.lamda1, self.beta, wd, self.rescale_grad,
                    self.clip_gradient)


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

    @sparse_weight
    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        t = self._index_update_count[index]
        xp = weight.context.xp
        ftml_kernel(xp, weight._data, grad._data, state[0]._data, state[1]._data,
                    state[2]._data, lr, self.beta1, self.beta2, self.epsilon, t, wd,
                    self.rescale_grad, self.clip_gradient)
