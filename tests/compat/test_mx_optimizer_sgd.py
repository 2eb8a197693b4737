# ruff: noqa: B007, B011, B023, F841  (MXNet test code ported as written)
"""Ported from MXNet 1.x tests/python/unittest/test_optimizer.py (imports adapted to kiln):
SGD and its momentum / sign / Langevin variants (SGD, NAG, SGLD, Signum).

Left out: sparse storage variants (row_sparse/csr weights or gradients, lazy_update), the Module
API tests (test_lr_wd_mult; test_nadam is rewritten with gluon.Trainer). Adapted: the Python
reference optimizers pass ``ctx=`` by keyword to ``nd.zeros`` (MXNet's signature is
``zeros(shape, ctx, dtype)``; kiln's positional order differs: reported to the ndarray owner)."""
import itertools
import math
import os
import sys

import kiln as mx
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _gluon_utils import (  # noqa: E402,F401  (_in_tmp_dir: autouse fixture)
    _in_tmp_dir,
    assert_almost_equal,
    compare_optimizer,
    default_context,
    with_seed,
)


def array(a, ctx=None, dtype=None):
    return mx.nd.array(a, ctx=ctx, dtype=dtype)


# SGD

class PySGD(mx.optimizer.Optimizer):
    """python reference implemenation of sgd"""
    def __init__(self, learning_rate=0.01, momentum=0.0, multi_precision=False, **kwargs):
        super(PySGD, self).__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = momentum
        self.multi_precision = multi_precision

    def create_state(self, index, weight):
        momentum = None
        weight_master_copy = None
        do_multi_precision = self.multi_precision and weight.dtype == np.float16
        if do_multi_precision:
            if self.momentum != 0.0:
                momentum = mx.nd.zeros(weight.shape, ctx=weight.context, dtype=np.float32)
            weight_master_copy = array(weight, ctx=weight.context, dtype=np.float32)
            return (momentum, weight_master_copy)
        else:
            if self.momentum != 0.0:
                momentum = mx.nd.zeros(weight.shape, ctx=weight.context, dtype=weight.dtype)
            return momentum

    def create_state_multi_precision(self, index, weight):
        return self.create_state(index, weight)

    def update(self, index, weight, grad, state):
        lr = self._get_lr(index)
        wd = self._get_wd(index)
        self._update_count(index)
        use_multi_precision = isinstance(state, list) or isinstance(state, tuple)

        if not use_multi_precision:
            if self.momentum == 0.0:
                if self.clip_gradient is not None:
                    weight[:] = ((1 - lr * wd) * weight - lr * mx.nd.clip(
                        grad * self.rescale_grad, -self.clip_gradient, self.clip_gradient))
                else:
                    weight[:] = (1 - lr * wd) * weight - lr * self.rescale_grad * grad
            else:
                mom = state
                if self.clip_gradient is not None:
                    mom[:] = (self.momentum * mom - lr * wd * weight - lr * mx.nd.clip(
                        grad * self.rescale_grad, -self.clip_gradient, self.clip_gradient))
                    weight += mom
                else:
                    mom[:] = self.momentum * mom - lr * wd * weight - lr * self.rescale_grad * grad
                    weight += mom
        else:
            grad32 = array(grad, ctx=grad.context, dtype=np.float32)
            mom = state[0]
            weight32 = state[1]
            if self.momentum == 0.0:
                if self.clip_gradient is not None:
                    weight32[:] = ((1 - lr * wd) * weight32 - lr * mx.nd.clip(
                        grad32 * self.rescale_grad, -self.clip_gradient, self.clip_gradient))
                else:
                    weight32[:] = (1 - lr * wd) * weight32 - lr * self.rescale_grad * grad32
            else:
                if self.clip_gradient is not None:
                    mom[:] = (self.momentum * mom - lr * wd * weight32 - lr * mx.nd.clip(
                        grad32 * self.rescale_grad, -self.clip_gradient, self.clip_gradient))
                    weight32 += mom
                else:
                    mom[:] = (self.momentum * mom - lr * wd * weight32
                              - lr * self.rescale_grad * grad32)
                    weight32 += mom
            tmp = weight32.astype(weight.dtype)
            tmp.copyto(weight)

    def update_multi_precision(self, index, weight, grad, state):
        self.update(index, weight, grad, state)


@with_seed()
def test_sgd():
    opt1 = PySGD
    opt2 = mx.optimizer.SGD
    shape = (3, 4, 5)
    mom_options = [{}, {'momentum': 0.9}]
    cg_options = [{}, {'clip_gradient': 0.4}, {'clip_gradient': 0.5}]
    rg_options = [{}, {'rescale_grad': 0.14}, {'rescale_grad': 0.8}]
    wd_options = [{}, {'wd': 0.03}, {'wd': 0.05}, {'wd': 0.07}]
    mp_options = [{}, {'multi_precision': False}, {'multi_precision': True}]
    for dtype in [np.float16, np.float32, np.float64]:
        for params in itertools.product(mom_options, cg_options, rg_options, wd_options,
                                        mp_options):
            kwarg = {k: v for param in params for k, v in param.items()}
            if (dtype == np.float16 and ('multi_precision' not in kwarg
                                         or not kwarg['multi_precision'])):
                continue
            if dtype == np.float16:
                compare_optimizer(opt1(**kwarg), opt2(**kwarg), shape, dtype, rtol=1e-3)
            else:
                compare_optimizer(opt1(**kwarg), opt2(**kwarg), shape, dtype)


class PyNAG(PySGD):
    # The reference of this (older) test file kept MXNet 1.3's NAG momentum (mom = m*mom + g).
    # MXNet 1.9's nag_mom_update (optimizer_op-inl.h, NAGMomKernel) keeps the lr-scaled
    # momentum below; it then reads the weight decay term from the already-updated weight
    # (out aliases weight), which MXNET-NOTES lists as an MXNet bug: kiln and this reference use
    # the weight before the update.
    def __init__(self, **kwargs):
        super(PyNAG, self).__init__(**kwargs)

    def create_state(self, index, weight):
        momentum = None
        weight_master_copy = None
        do_multi_precision = self.multi_precision and weight.dtype == np.float16
        if do_multi_precision:
            if self.momentum != 0.0:
                momentum = mx.nd.zeros(weight.shape, ctx=weight.context, dtype=np.float32)
            weight_master_copy = array(weight, ctx=weight.context, dtype=np.float32)
            return (momentum, weight_master_copy)
        else:
            if self.momentum != 0.0:
                momentum = mx.nd.zeros(weight.shape, ctx=weight.context, dtype=weight.dtype)
            return momentum

    def create_state_multi_precision(self, index, weight):
        return self.create_state(index, weight)

    def _step(self, weight, grad, mom, lr, wd):
        grad = grad * self.rescale_grad
        if self.clip_gradient is not None:
            grad = mx.nd.clip(grad, -self.clip_gradient, self.clip_gradient)
        grad = grad + wd * weight
        if mom is None:
            weight[:] += -lr * grad
        else:
            mom[:] *= self.momentum
            mom[:] -= lr * grad
            weight[:] += self.momentum * mom - lr * grad

    def update(self, index, weight, grad, state):
        lr = self._get_lr(index)
        wd = self._get_wd(index)
        self._update_count(index)
        use_multi_precision = isinstance(state, list) or isinstance(state, tuple)
        if not use_multi_precision:
            self._step(weight, grad, state, lr, wd)
        else:
            grad32 = array(grad, ctx=grad.context, dtype=np.float32)
            self._step(state[1], grad32, state[0], lr, wd)
            tmp = state[1].astype(weight.dtype)
            tmp.copyto(weight)


@with_seed()
def test_nag():
    opt1 = PyNAG
    opt2 = mx.optimizer.NAG
    shape = (3, 4, 5)
    mom_options = [{}, {'momentum': 0.9}]
    cg_options = [{}, {'clip_gradient': 0.4}, {'clip_gradient': 0.5}]
    rg_options = [{}, {'rescale_grad': 0.14}, {'rescale_grad': 0.8}]
    wd_options = [{}, {'wd': 0.03}, {'wd': 0.05}, {'wd': 0.07}]
    mp_options = [{}, {'multi_precision': False}, {'multi_precision': True}]

    for dtype in [np.float16, np.float32, np.float64]:
        for params in itertools.product(mom_options, cg_options, rg_options,
                                        wd_options, mp_options):
            kwarg = {k: v for param in params for k, v in param.items()}
            if (dtype == np.float16 and ('multi_precision' not in kwarg
                                         or not kwarg['multi_precision'])):
                continue
            compare_optimizer(opt1(**kwarg), opt2(**kwarg), shape, dtype, rtol=1e-3, atol=1e-4)


# SGLD
class PySGLD(mx.optimizer.Optimizer):
    """python reference implementation of SGLD"""

    def __init__(self, **kwargs):
        super(PySGLD, self).__init__(**kwargs)

    def create_state(self, index, weight):
        return None

    def update(self, index, weight, grad, state):
        assert (isinstance(weight, mx.nd.NDArray))
        assert (isinstance(grad, mx.nd.NDArray))
        self._update_count(index)
        lr = self._get_lr(index)
        wd = self._get_wd(index)

        grad = grad * self.rescale_grad
        if self.clip_gradient is not None:
            grad = mx.nd.clip(grad, -self.clip_gradient, self.clip_gradient)
        weight[:] += - lr / 2 * (grad + wd * weight) + mx.random.normal(
            0, math.sqrt(lr), shape=weight.shape, dtype=weight.dtype, ctx=weight.context)


@with_seed()
def test_sgld():
    opt1 = PySGLD
    opt2 = mx.optimizer.SGLD
    shape = (3, 4, 5)
    ns_options = [1234, 42]

    cg_options = [{}, {'clip_gradient': 0.4}, {'clip_gradient': 0.5}]
    wd_options = [{}, {'wd': 0.03}, {'wd': 0.05}, {'wd': 0.07}]
    mp_options = [{}, {'multi_precision': False}, {'multi_precision': True}]

    def compare_optimizer_noise_seeded(opt1, opt2, shape, dtype, noise_seed,
                                       rtol=1e-4, atol=1e-5, compare_states=True):
        w2 = mx.random.uniform(shape=shape, ctx=default_context(), dtype=dtype)
        w1 = w2.copyto(default_context())
        g2 = mx.random.uniform(shape=shape, ctx=default_context(), dtype=dtype)
        g1 = g2.copyto(default_context())

        state1 = opt1.create_state_multi_precision(0, w1)
        state2 = opt2.create_state_multi_precision(0, w2)

        # set seed for Gaussian noise replication
        mx.random.seed(noise_seed)
        opt1.update_multi_precision(0, w1, g1, state1)
        mx.random.seed(noise_seed)
        opt2.update_multi_precision(0, w2, g2, state2)
        assert_almost_equal(w1.asnumpy(), w2.asnumpy(), rtol=rtol, atol=atol)

    for seed in ns_options:
        for dtype in [np.float16, np.float32, np.float64]:
            for params in itertools.product(cg_options, wd_options, mp_options):
                kwarg = {k: v for param in params for k, v in param.items()}
                if (dtype == np.float16 and ('multi_precision' not in kwarg
                                             or not kwarg['multi_precision'])):
                    continue
                atol = 1e-2 if dtype == np.float16 else 1e-3
                rtol = 1e-4 if dtype == np.float16 else 1e-5
                compare_optimizer_noise_seeded(opt1(**kwarg), opt2(**kwarg), shape, dtype, seed,
                                               atol=atol, rtol=rtol)


# Signum
class PySignum(mx.optimizer.Optimizer):
    """The python reference of Signum optimizer."""
    def __init__(self, learning_rate=0.01, momentum=0.9, wd_lh=0.0, **kwargs):
        super(PySignum, self).__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = momentum
        self.wd_lh = wd_lh

    def create_state(self, index, weight):
        momentum = None
        if self.momentum != 0.0:
            # MXNet passes stype=weight.stype (always 'default' here); kiln's zeros rejects
            # the keyword (reported to the ndarray owner)
            momentum = mx.nd.zeros(weight.shape, ctx=weight.context, dtype=weight.dtype)
        return momentum

    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr = self._get_lr(index)
        wd = self._get_wd(index)

        if state is not None:
            mom = state
            if self.clip_gradient is not None:
                mom[:] = (self.momentum * mom - (1 - self.momentum) * (wd * weight + mx.nd.clip(
                    grad * self.rescale_grad, -self.clip_gradient, self.clip_gradient)))
            else:
                mom[:] = (self.momentum * mom - (1 - self.momentum) * wd * weight
                          - (1 - self.momentum) * self.rescale_grad * grad)
            weight[:] = (1 - lr * self.wd_lh) * weight + lr * mx.nd.sign(mom)
        else:
            weight[:] = (1 - lr * (wd + self.wd_lh)) * weight - lr * mx.nd.sign(grad)


@with_seed()
def test_signum():
    opt1 = PySignum
    opt2 = mx.optimizer.Signum
    shape = (3, 4, 5)
    cg_options = [{}, {'clip_gradient': 0.4}, {'clip_gradient': 0.5}]
    rg_options = [{}, {'rescale_grad': 0.14}, {'rescale_grad': 0.8}]
    wd_options = [{}, {'wd': 0.03}, {'wd': 0.05}, {'wd': 0.07}]
    wd_lh_options = [{}, {'wd_lh': 0.015}, {'wd_lh': 0.0}]
    mom_options = [{}, {'momentum': 0.9}]
    lr_options = [{'learning_rate': 0.05}, {'learning_rate': 0.01}]
    for dtype in [np.float32, np.float64]:
        for params in itertools.product(cg_options, rg_options, wd_options, wd_lh_options,
                                        lr_options, mom_options):
            kwarg = {k: v for param in params for k, v in param.items()}
            compare_optimizer(opt1(**kwarg), opt2(**kwarg), shape, dtype)
