"""Basic layers: Dense, Dropout, BatchNorm, BatchNormReLU, InstanceNorm, LayerNorm, GroupNorm,
Embedding and Flatten (MXNet Gluon 1.9 names, arguments, parameter names and reprs).

Unknown input sizes (``in_units=0``, ``in_channels=0``) leave a 0 in the parameter's shape;
``infer_shape`` fills it from the first input, then the waiting initialization runs.

Example::

    >>> net = Dense(10, activation='relu')
    >>> net
    Dense(None -> 10, Activation(relu))
    >>> net.initialize(); net(kiln.nd.ones((2, 5))).shape
    (2, 10)
"""
import numpy as np

from .. import autograd
from ..ndarray import NDArray
from ..ndarray._registry import param_shapes
from .activations import Activation
from .block import HybridBlock

__all__ = ["Dense", "Dropout", "BatchNorm", "BatchNormReLU", "InstanceNorm", "LayerNorm",
           "GroupNorm", "Embedding", "Flatten"]


def _kwargs_repr(kwargs):
    """``k=v`` pairs as Gluon prints them (values by ``repr``)."""
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


class Dense(HybridBlock):
    """Densely connected layer: ``activation(dot(x, weight.T) + bias)``.

    weight: (units, in_units); bias: (units,). With ``flatten`` the input (N, x1, ..., xn) is
    flattened to (N, x1*...*xn); otherwise the last axis is transformed and the output is
    (x1, ..., xn-1, units).

    Example::

        >>> d = Dense(3, in_units=4); d.initialize(); d(kiln.nd.ones((2, 4))).shape
        (2, 3)
    """

    def __init__(self, units, activation=None, use_bias=True, flatten=True, dtype="float32",
                 weight_initializer=None, bias_initializer="zeros", in_units=0, **kwargs):
        super().__init__(**kwargs)
        self._flatten = flatten
        with self.name_scope():
            self._units = units
            self._in_units = in_units
            self.weight = self.params.get("weight", shape=(units, in_units),
                                          init=weight_initializer, dtype=dtype,
                                          allow_deferred_init=True)
            if use_bias:
                self.bias = self.params.get("bias", shape=(units,), init=bias_initializer,
                                            dtype=dtype, allow_deferred_init=True)
            else:
                self.bias = None
            if activation is not None:
                self.act = Activation(activation, prefix=activation + "_")
            else:
                self.act = None

    def infer_shape(self, x, *args):
        self.weight.shape = param_shapes("fully_connected", x.shape, num_hidden=self._units,
                                         flatten=self._flatten)["weight"]

    def hybrid_forward(self, F, x, weight, bias=None):
        out = F.FullyConnected(x, weight, bias, num_hidden=self._units, no_bias=bias is None,
                               flatten=self._flatten, name="fwd")
        if self.act is not None:
            out = self.act(out)
        return out

    def __repr__(self):
        shape = self.weight.shape
        act = self.act if self.act else "linear"
        return f"{self.__class__.__name__}({shape[1] if shape[1] else None} -> {shape[0]}, {act})"


class Dropout(HybridBlock):
    """Zeroes a fraction ``rate`` of the input during training (scaling the rest by
    ``1/(1-rate)``); identity in predict mode. ``axes`` share one mask value along them.

    Example::

        >>> Dropout(0.5)(kiln.nd.ones((2, 2)))     # predict mode: unchanged
        [[1. 1.]
         [1. 1.]]
        <NDArray 2x2 @cpu(0)>
    """

    def __init__(self, rate, axes=(), **kwargs):
        super().__init__(**kwargs)
        self._rate = rate
        self._axes = axes

    def hybrid_forward(self, F, x):
        if self._rate > 0:
            return F.Dropout(x, p=self._rate, axes=self._axes, name="fwd", cudnn_off=False)
        return F.identity(x)

    def __repr__(self):
        return f"{self.__class__.__name__}(p = {self._rate}, axes={self._axes})"


class _Norm(HybridBlock):
    """Shared parts of the normalization layers: gamma/beta of shape (in_channels,) filled
    from ``x.shape[axis]`` and Gluon's ``Name(k=v, ..., in_channels=...)`` repr."""

    def _make_affine(self, in_channels, center, scale, gamma_initializer, beta_initializer,
                     fixed=False):
        # ``fixed`` (BatchNorm): a disabled gamma/beta can never get a gradient (MXNet passes
        # differentiable=False); the other layers only start with grad_req 'null'.
        self.gamma = self.params.get("gamma", grad_req="write" if scale else "null",
                                     shape=(in_channels,), init=gamma_initializer,
                                     allow_deferred_init=True,
                                     differentiable=scale or not fixed)
        self.beta = self.params.get("beta", grad_req="write" if center else "null",
                                    shape=(in_channels,), init=beta_initializer,
                                    allow_deferred_init=True,
                                    differentiable=center or not fixed)

    _op = "layer_norm"  # the op whose param_shapes facet sizes gamma and beta

    def _channel_params(self):
        return (self.gamma, self.beta)

    def _op_data_shape(self, shape):
        return shape

    def infer_shape(self, x, *args):
        shapes = param_shapes(self._op, self._op_data_shape(x.shape), axis=self._axis)
        for p, name in zip(self._channel_params(), ("gamma", "beta", "moving_mean", "moving_var")):
            p.shape = shapes[name]

    def __repr__(self):
        in_channels = self.gamma.shape[0]
        return (f"{self.__class__.__name__}({_kwargs_repr(self._kwargs)}, "
                f"in_channels={self._repr_channels(in_channels)})")

    @staticmethod
    def _repr_channels(in_channels):
        return in_channels


class BatchNorm(_Norm):
    """Batch normalization (Ioffe and Szegedy, 2014) over every axis but ``axis``.

    Training mode normalises with the batch statistics and updates ``running_mean`` and
    ``running_var`` (``running = momentum * running + (1 - momentum) * batch``, biased
    variance); predict mode (or ``use_global_stats``) uses the running statistics.
    ``scale=False`` fixes gamma to 1 (the op's ``fix_gamma``). Parameters gamma, beta,
    running_mean, running_var: (in_channels,); the running ones have grad_req 'null'.

    Example::

        >>> bn = BatchNorm(); bn.initialize(); bn(kiln.nd.ones((2, 3, 4))).shape
        (2, 3, 4)
    """

    def __init__(self, axis=1, momentum=0.9, epsilon=1e-5, center=True, scale=True,
                 use_global_stats=False, beta_initializer="zeros", gamma_initializer="ones",
                 running_mean_initializer="zeros", running_variance_initializer="ones",
                 in_channels=0, **kwargs):
        fuse_relu = kwargs.pop("fuse_relu", self._fuse_relu)
        if bool(fuse_relu) != self._fuse_relu:
            raise AssertionError("Please use BatchNormReLU with Relu fusion" if fuse_relu
                                 else "Please use BatchNorm w/o Relu fusion")
        super().__init__(**kwargs)
        self._axis = axis
        self._kwargs = {"axis": axis, "eps": epsilon, "momentum": momentum,
                        "fix_gamma": not scale, "use_global_stats": use_global_stats}
        if in_channels != 0:
            self.in_channels = in_channels
        self._make_affine(in_channels, center, scale, gamma_initializer, beta_initializer,
                          fixed=True)
        self.running_mean = self.params.get("running_mean", grad_req="null",
                                            shape=(in_channels,),
                                            init=running_mean_initializer,
                                            allow_deferred_init=True, differentiable=False)
        self.running_var = self.params.get("running_var", grad_req="null",
                                           shape=(in_channels,),
                                           init=running_variance_initializer,
                                           allow_deferred_init=True, differentiable=False)

    _fuse_relu = False
    _op = "batch_norm"

    def _channel_params(self):
        return (self.gamma, self.beta, self.running_mean, self.running_var)

    def cast(self, dtype):
        # float16 statistics lose too much: Gluon keeps BatchNorm in float32
        if np.dtype(dtype).name == "float16":
            dtype = "float32"
        super().cast(dtype)

    def hybrid_forward(self, F, x, gamma, beta, running_mean, running_var):
        # MXNet names the (fused) op "fwd": here the relu is the output when fused
        name = None if self._fuse_relu else "fwd"
        out = F.BatchNorm(x, gamma, beta, running_mean, running_var, name=name, **self._kwargs)
        if self._fuse_relu:
            out = F.relu(out, name="fwd")
        return out

    @staticmethod
    def _repr_channels(in_channels):
        return in_channels if in_channels else None


class BatchNormReLU(BatchNorm):
    """BatchNorm followed by ReLU (MXNet's fused ``BatchNormWithReLU``); same arguments and
    parameters as :class:`BatchNorm`.

    Example::

        >>> bn = BatchNormReLU(); bn.initialize(); bn(kiln.nd.ones((2, 3))).shape
        (2, 3)
    """

    _fuse_relu = True


class InstanceNorm(_Norm):
    """Instance normalization: each (sample, channel) normalised over the other axes.

    ``axis`` is the channel axis; gamma and beta: (in_channels,). ``scale`` defaults to False
    (gamma stays 1 and gets no gradient), as in Gluon 1.9.

    Example::

        >>> layer = InstanceNorm(); layer.initialize()
        >>> layer(kiln.nd.array([[[1.1, 2.2]], [[3.3, 4.4]]])).shape
        (2, 1, 2)
    """

    def __init__(self, axis=1, epsilon=1e-5, center=True, scale=False,
                 beta_initializer="zeros", gamma_initializer="ones", in_channels=0, **kwargs):
        super().__init__(**kwargs)
        self._kwargs = {"eps": epsilon, "axis": axis, "center": center, "scale": scale}
        self._axis = axis
        self._epsilon = epsilon
        self._make_affine(in_channels, center, scale, gamma_initializer, beta_initializer)

    _op = "instance_norm"

    def _op_data_shape(self, shape):  # the op sees the channel axis moved to 1
        shape = list(shape)
        shape[1], shape[self._axis] = shape[self._axis], shape[1]
        return shape

    def hybrid_forward(self, F, x, gamma, beta):
        if self._axis == 1:
            return F.InstanceNorm(x, gamma, beta, eps=self._epsilon, name="fwd")
        x = F.swapaxes(x, dim1=1, dim2=self._axis)
        out = F.InstanceNorm(x, gamma, beta, eps=self._epsilon, name="fwd")
        return F.swapaxes(out, dim1=1, dim2=self._axis)


class LayerNorm(_Norm):
    """Layer normalization over ``axis`` (default the last): gamma and beta (in_channels,).

    Example::

        >>> layer = LayerNorm(); layer.initialize()
        >>> layer(kiln.nd.array([[1, 2, 3, 4, 5]])).shape
        (1, 5)
    """

    def __init__(self, axis=-1, epsilon=1e-5, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", in_channels=0,
                 prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._kwargs = {"eps": epsilon, "axis": axis, "center": center, "scale": scale}
        self._axis = axis
        self._epsilon = epsilon
        self._center = center
        self._scale = scale
        self._make_affine(in_channels, center, scale, gamma_initializer, beta_initializer)

    def hybrid_forward(self, F, x, gamma, beta):
        return F.LayerNorm(x, gamma, beta, axis=self._axis, eps=self._epsilon)


class GroupNorm(_Norm):
    """Group normalization: channels split into ``num_groups`` groups, each normalised over
    its channels and the spatial axes. gamma and beta hold one value per group:
    (num_groups,), as in MXNet 1.9. ``in_channels`` is accepted and not needed.

    Example::

        >>> layer = GroupNorm(); layer.initialize()
        >>> layer(kiln.nd.ones((2, 3, 4))).shape
        (2, 3, 4)
    """

    def __init__(self, num_groups=1, epsilon=1e-5, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", prefix=None, params=None,
                 in_channels=0):
        super().__init__(prefix=prefix, params=params)
        self._kwargs = {"eps": epsilon, "num_groups": num_groups, "center": center,
                        "scale": scale}
        self._num_groups = num_groups
        self._epsilon = epsilon
        self._center = center
        self._scale = scale
        self._make_affine(num_groups, center, scale, gamma_initializer, beta_initializer)

    def infer_shape(self, x, *args):
        """Nothing to infer: the shapes depend on num_groups only."""

    def hybrid_forward(self, F, x, gamma, beta):
        return F.GroupNorm(x, gamma, beta, num_groups=self._num_groups, eps=self._epsilon)

    def __repr__(self):
        return f"{self.__class__.__name__}({_kwargs_repr(self._kwargs)})"


class Embedding(HybridBlock):
    """Maps integer indices to dense vectors: weight (input_dim, output_dim).

    Input (x1, ..., xk) of indices (float or int, clipped to [0, input_dim - 1]); output
    (x1, ..., xk, output_dim).

    Example::

        >>> e = Embedding(10, 4); e.initialize(); e(kiln.nd.array([[1, 2]])).shape
        (1, 2, 4)
    """

    def __init__(self, input_dim, output_dim, dtype="float32", weight_initializer=None,
                 sparse_grad=False, **kwargs):
        super().__init__(**kwargs)
        grad_stype = "row_sparse" if sparse_grad else "default"
        self._kwargs = {"input_dim": input_dim, "output_dim": output_dim, "dtype": dtype,
                        "sparse_grad": sparse_grad}
        self.weight = self.params.get("weight", shape=(input_dim, output_dim),
                                      init=weight_initializer, dtype=dtype,
                                      allow_deferred_init=True, grad_stype=grad_stype)

    def __call__(self, x, *args, **kwargs):
        out = super().__call__(x, *args, **kwargs)
        # (here, not in hybrid_forward: a hybridized call runs no Python forward)
        if self._kwargs["sparse_grad"] and isinstance(x, NDArray):
            _note_sparse_rows(x, self.weight.data(x.context), self._kwargs["input_dim"])
        return out

    def hybrid_forward(self, F, x, weight):
        return F.Embedding(x, weight, name="fwd", **self._kwargs)

    def __repr__(self):
        k = self._kwargs
        return (f"{self.__class__.__name__}({k['input_dim']} -> {k['output_dim']}, "
                f"{k['dtype']})")


def _note_sparse_rows(x, weight, input_dim):
    """Tell a row_sparse gradient buffer which rows this eager lookup touches, so that its
    gradient keeps them all (MXNet's indices: the unique looked-up rows, zero or not)."""
    grad = weight.grad
    if autograd.is_recording() and grad is not None and grad.stype == "row_sparse":
        grad._note_rows(np.clip(x.asnumpy().astype(np.int64), 0, int(input_dim) - 1))


class Flatten(HybridBlock):
    """Flattens (N, x1, ..., xn) to (N, x1*...*xn).

    Example::

        >>> Flatten()(kiln.nd.ones((2, 3, 4))).shape
        (2, 12)
    """

    def hybrid_forward(self, F, x):
        return F.flatten(x)

    def __repr__(self):
        return self.__class__.__name__
