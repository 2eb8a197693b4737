"""``kiln.npx``: MXNet 1.9's numpy-extension namespace (``from mxnet import npx``): the
NumPy-semantics switches and the neural-network operators on ``kiln.np`` arrays.

Example::

    >>> from kiln import np, npx
    >>> npx.set_np()
    >>> npx.relu(np.array([-1., 2.]))
    array([0., 2.])
"""
from ..device import Context, cpu, cpu_pinned, current_context, gpu, num_gpus
from ..util import is_np_array, is_np_shape, reset_np, set_np, use_np, use_np_array, use_np_shape
from .nn_ops import (activation, arange_like, batch_dot, batch_flatten, batch_norm, cast,
                     constraint_check, convolution, deconvolution, dropout, embedding, erf,
                     erfinv, fully_connected, gamma, multibox_detection, multibox_prior,
                     multibox_target, roi_pooling,
                     gammaln, gather_nd, layer_norm, leaky_relu, load, log_softmax,
                     masked_log_softmax, masked_softmax, nonzero, one_hot, pick, pooling, relu,
                     reshape, reshape_like, rnn, save, sequence_mask, shape_array, sigmoid,
                     slice, smooth_l1, softmax, topk, waitall)

__all__ = ["set_np", "reset_np", "is_np_array", "is_np_shape", "use_np", "use_np_array",
           "use_np_shape", "cpu", "gpu", "cpu_pinned", "num_gpus", "current_context",
           "waitall", "relu", "sigmoid", "softmax", "log_softmax", "masked_softmax",
           "masked_log_softmax", "activation", "leaky_relu", "sequence_mask", "batch_dot",
           "batch_flatten", "one_hot", "pick", "topk", "layer_norm", "batch_norm", "convolution",
           "pooling", "fully_connected", "embedding", "dropout", "reshape_like", "deconvolution",
           "rnn", "cast", "arange_like", "gather_nd", "shape_array", "smooth_l1", "erf", "gamma",
           "gammaln", "nonzero", "save", "load", "Context", "reshape", "slice", "erfinv",
           "constraint_check", "multibox_prior", "multibox_target",
           "multibox_detection", "roi_pooling"]
