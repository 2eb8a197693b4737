"""MXNet 1.9's ``IdentityAttachKLSparseReg``: identity forward; the backward adds the gradient
of a KL sparseness penalty on the mean activation of each unit (Hinton's practical guide to
RBMs, section 11), tracked as a moving average (the auxiliary state ``moving_avg``).

Meant to follow a sigmoid (activations in (0, 1)). The penalty's gradient,
``penalty * (-rho / avg + (1 - rho) / (1 - avg))``, pulls each unit's mean activation ``avg``
towards ``rho = sparseness_target``.

Example::

    >>> y = nd.IdentityAttachKLSparseReg(nd.sigmoid(x), moving_avg, penalty=0.01)
"""
import numpy as np

from .. import ops as F
from .._registry import Sample, register
from ._rules import same
from ._samples import rnd


def _unit_axes(ndim):
    return (0,) + tuple(range(2, ndim))   # every axis but the unit axis 1


def _kl_kernel(xp, data, moving_avg, sparseness_target=0.1, penalty=0.001, momentum=0.9,
               _train=False):
    if _train and data.size:
        # MXNet updates the average in the backward pass; kiln in a training forward (as its
        # BatchNorm does), so the gradient that follows reads the same updated value
        avg = data.mean(axis=_unit_axes(data.ndim))
        moving_avg[...] = momentum * moving_avg + (1.0 - momentum) * avg
    return data.copy()


def _kl_grad(ins, outs, gouts, sparseness_target=0.1, penalty=0.001, momentum=0.9,
             _train=False):
    data, ma = ins
    rho = float(sparseness_target)
    ma = F.reshape(ma, shape=(1, -1) + (1,) * (len(data.shape) - 2))
    reg = (F.reciprocal(1.0 - ma) * (1.0 - rho) - F.reciprocal(ma) * rho) * float(penalty)
    return F.broadcast_add(gouts[0], reg), None


_identity_attach_kl_sparse_reg = register(
    "identity_attach_kl_sparse_reg", _kl_kernel, inputs=("data", "moving_avg"),
    attrs={"sparseness_target": 0.1, "penalty": 0.001, "momentum": 0.9},
    infer=lambda data, ma, **_: same(data), grad=_kl_grad, uses_mode=True, mutates=(1,),
    onnx=lambda g, i, a, o, **_: g.op("Identity", i[0]),
    param_shapes=lambda data, **_: {"moving_avg": (data.shape[1],)},
    ref=lambda data, ma, **_: data, amp="fp32",
    # the gradient adds a penalty on purpose, so finite differences (of the identity) cannot
    # check it: tests/test_contrib_extra_ops.py does, against MXNet
    samples=[Sample(rnd(4, 3, lo=0.1, hi=0.9), np.full(3, 0.5), grad=False),
             Sample(rnd(2, 3, 2, lo=0.1, hi=0.9), np.full(3, 0.3), penalty=0.1, grad=False)],
    aliases=("IdentityAttachKLSparseReg",),
    doc="""Identity forward (MXNet ``IdentityAttachKLSparseReg``); in training the unit means
    of data (N, C, ...) (over every axis but 1) update ``moving_avg`` (C,) in place,
    ``moving_avg = momentum * moving_avg + (1 - momentum) * mean``, and the gradient is
    ``grad + penalty * (-sparseness_target / moving_avg + (1 - sparseness_target) / (1 -
    moving_avg))``. Output: like data.

    Example::

        >>> ma = nd.full((3,), 0.5)
        >>> with autograd.record():
        ...     y = nd.IdentityAttachKLSparseReg(x, ma, penalty=0.1)   # ma now updated
    """)
