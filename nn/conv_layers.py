"""Convolution, transposed convolution, pooling and padding layers (MXNet Gluon 1.9 names,
arguments, parameter shapes and reprs).

Weights are (channels, in_channels/groups, *kernel) for convolutions and (in_channels,
channels/groups, *kernel) for transposed ones (channel-last layouts put the kernel axes before
the last one, as MXNet infers them). ``in_channels=0`` defers initialization to the first call.
The ops compute channel-first; channel-last layouts are transposed around them.

Example::

    >>> conv = Conv2D(16, 3)
    >>> conv
    Conv2D(None -> 16, kernel_size=(3, 3), stride=(1, 1))
    >>> conv.initialize(); conv(kiln.nd.ones((1, 3, 8, 8))).shape
    (1, 16, 6, 6)
"""
import numbers

from ..ndarray._registry import param_shapes
from .activations import Activation
from .block import HybridBlock

__all__ = ["Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose",
           "Conv3DTranspose", "MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D", "AvgPool2D",
           "AvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D",
           "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D", "ReflectionPad2D"]

_CHANNEL_FIRST = {1: "NCW", 2: "NCHW", 3: "NCDHW"}


def _tuple(value, n):
    """An int repeated ``n`` times; sequences are kept as given (Gluon prints them so)."""
    return (value,) * n if isinstance(value, numbers.Integral) else value


def _check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def _to_channel_first(F, x, nsp):
    """(N, *spatial, C) -> (N, C, *spatial)."""
    return F.transpose(x, axes=(0, nsp + 1) + tuple(range(1, nsp + 1)))


def _to_channel_last(F, x, nsp):
    """(N, C, *spatial) -> (N, *spatial, C)."""
    return F.transpose(x, axes=(0,) + tuple(range(2, nsp + 2)) + (1,))


class _Conv(HybridBlock):
    """Shared implementation of the convolution layers (``op_name`` 'Convolution' or
    'Deconvolution'; ``adj`` is the transposed convolution's output padding)."""

    def __init__(self, channels, kernel_size, strides, padding, dilation, groups, layout,
                 in_channels=0, activation=None, use_bias=True, weight_initializer=None,
                 bias_initializer="zeros", op_name="Convolution", adj=None, prefix=None,
                 params=None):
        super().__init__(prefix=prefix, params=params)
        nsp = len(kernel_size)
        with self.name_scope():
            self._channels = channels
            self._in_channels = in_channels
            self._op_name = op_name
            self._kwargs = {
                "kernel": kernel_size, "stride": _tuple(strides, nsp),
                "dilate": _tuple(dilation, nsp), "pad": _tuple(padding, nsp),
                "num_filter": channels, "num_group": groups, "no_bias": not use_bias,
                "layout": layout}
            if adj is not None:
                self._kwargs["adj"] = adj
            self.weight = self.params.get("weight", shape=self._weight_shape(in_channels),
                                          init=weight_initializer, allow_deferred_init=True)
            if use_bias:
                self.bias = self.params.get("bias", shape=(channels,), init=bias_initializer,
                                            allow_deferred_init=True)
            else:
                self.bias = None
            if activation is not None:
                self.act = Activation(activation, prefix=activation + "_")
            else:
                self.act = None

    def _alias(self):
        return "conv"

    @property
    def _channel_last(self):
        return self._kwargs["layout"].endswith("C")

    def _weight_shape(self, in_channels):
        # the op's rule, for its channel-first input; channel-last layers store the weight
        # with the channels last too (MXNet's OHWI), and transpose it for the op
        data = (0, in_channels) + (1,) * len(self._kwargs["kernel"])
        shape = param_shapes(self._op_name, data, **self._kwargs)["weight"]
        if self._channel_last:
            return shape[:1] + shape[2:] + shape[1:2]
        return shape

    def infer_shape(self, x, *args):
        self.weight.shape = self._weight_shape(x.shape[self._kwargs["layout"].find("C")])

    def hybrid_forward(self, F, x, weight, bias=None):
        nsp = len(self._kwargs["kernel"])
        kwargs = dict(self._kwargs, layout=_CHANNEL_FIRST[nsp])
        if self._channel_last:
            x, weight = _to_channel_first(F, x, nsp), _to_channel_first(F, weight, nsp)
        out = getattr(F, self._op_name)(x, weight, bias, name="fwd", **kwargs)
        if self._channel_last:
            out = _to_channel_last(F, out, nsp)
        if self.act is not None:
            out = self.act(out)
        return out

    def __repr__(self):
        k = self._kwargs
        n = len(k["kernel"])
        s = f"{{mapping}}, kernel_size={k['kernel']}, stride={k['stride']}"
        if k["pad"] != (0,) * n:
            s += f", padding={k['pad']}"
        if k["dilate"] != (1,) * n:
            s += f", dilation={k['dilate']}"
        # Gluon checks an ``out_pad`` attribute that its layers never set (they set
        # ``outpad``), so output_padding never shows: kept for identical reprs.
        if hasattr(self, "out_pad") and self.out_pad != (0,) * n:
            s += f", output_padding={self.out_pad}"
        if k["num_group"] != 1:
            s += f", groups={k['num_group']}"
        if self.bias is None:
            s += ", bias=False"
        if self.act:
            s += f", {self.act}"
        shape = self.weight.shape
        first, second = (shape[1] if shape[1] else None), shape[0]
        if "Transpose" in self.__class__.__name__:
            first, second = second, first
        return f"{self.__class__.__name__}({s.format(mapping=f'{first} -> {second}')})"


def _conv_args(nsp, kernel_size, layout, allowed):
    _check(layout in allowed, f"Only supports {' and '.join(repr(a) for a in allowed)} layout "
                              f"for now")
    kernel_size = _tuple(kernel_size, nsp)
    _check(len(kernel_size) == nsp, f"kernel_size must be a number or a list of {nsp} ints")
    return kernel_size


class Conv1D(_Conv):
    """1D convolution over (batch, in_channels, width) inputs ('NCW').

    out_width = floor((width + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1.
    weight: (channels, in_channels/groups, kernel_size); bias: (channels,).

    Example::

        >>> c = Conv1D(4, 3, in_channels=2); c.initialize(); c(kiln.nd.ones((1, 2, 5))).shape
        (1, 4, 3)
    """

    def __init__(self, channels, kernel_size, strides=1, padding=0, dilation=1, groups=1,
                 layout="NCW", activation=None, use_bias=True, weight_initializer=None,
                 bias_initializer="zeros", in_channels=0, **kwargs):
        kernel_size = _conv_args(1, kernel_size, layout, ("NCW",))
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, **kwargs)


class Conv2D(_Conv):
    """2D convolution over (batch, in_channels, height, width) inputs ('NCHW' or 'NHWC').

    out_height = floor((height + 2*padding[0] - dilation[0]*(kernel_size[0]-1) - 1) /
    stride[0]) + 1, likewise for the width. weight: (channels, in_channels/groups, kh, kw).

    Example::

        >>> c = Conv2D(8, (3, 3), padding=1); c.initialize()
        >>> c(kiln.nd.ones((1, 3, 5, 5))).shape
        (1, 8, 5, 5)
    """

    def __init__(self, channels, kernel_size, strides=(1, 1), padding=(0, 0), dilation=(1, 1),
                 groups=1, layout="NCHW", activation=None, use_bias=True,
                 weight_initializer=None, bias_initializer="zeros", in_channels=0, **kwargs):
        kernel_size = _conv_args(2, kernel_size, layout, ("NCHW", "NHWC"))
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, **kwargs)


class Conv3D(_Conv):
    """3D convolution over (batch, in_channels, depth, height, width) inputs ('NCDHW' or
    'NDHWC'). weight: (channels, in_channels/groups, kd, kh, kw).

    Example::

        >>> c = Conv3D(2, 2); c.initialize(); c(kiln.nd.ones((1, 1, 3, 3, 3))).shape
        (1, 2, 2, 2, 2)
    """

    def __init__(self, channels, kernel_size, strides=(1, 1, 1), padding=(0, 0, 0),
                 dilation=(1, 1, 1), groups=1, layout="NCDHW", activation=None, use_bias=True,
                 weight_initializer=None, bias_initializer="zeros", in_channels=0, **kwargs):
        kernel_size = _conv_args(3, kernel_size, layout, ("NCDHW", "NDHWC"))
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, **kwargs)


def _out_pad(nsp, output_padding):
    output_padding = _tuple(output_padding, nsp)
    _check(len(output_padding) == nsp,
           f"output_padding must be a number or a list of {nsp} ints")
    return output_padding


class Conv1DTranspose(_Conv):
    """Transposed 1D convolution ('NCW'): out_width = (width-1)*strides - 2*padding +
    kernel_size + output_padding (with dilation 1). weight: (in_channels, channels/groups, k).

    Example::

        >>> c = Conv1DTranspose(2, 3); c.initialize(); c(kiln.nd.ones((1, 4, 5))).shape
        (1, 2, 7)
    """

    def __init__(self, channels, kernel_size, strides=1, padding=0, output_padding=0,
                 dilation=1, groups=1, layout="NCW", activation=None, use_bias=True,
                 weight_initializer=None, bias_initializer="zeros", in_channels=0, **kwargs):
        kernel_size = _conv_args(1, kernel_size, layout, ("NCW",))
        output_padding = _out_pad(1, output_padding)
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, op_name="Deconvolution", adj=output_padding,
                         **kwargs)
        self.outpad = output_padding


class Conv2DTranspose(_Conv):
    """Transposed 2D convolution ('NCHW' or 'NHWC'): out_height = (height-1)*strides[0] -
    2*padding[0] + kernel_size[0] + output_padding[0] (dilation 1), likewise the width.
    weight: (in_channels, channels/groups, kh, kw).

    Example::

        >>> c = Conv2DTranspose(2, 3, strides=2); c.initialize()
        >>> c(kiln.nd.ones((1, 4, 3, 3))).shape
        (1, 2, 7, 7)
    """

    def __init__(self, channels, kernel_size, strides=(1, 1), padding=(0, 0),
                 output_padding=(0, 0), dilation=(1, 1), groups=1, layout="NCHW",
                 activation=None, use_bias=True, weight_initializer=None,
                 bias_initializer="zeros", in_channels=0, **kwargs):
        kernel_size = _conv_args(2, kernel_size, layout, ("NCHW", "NHWC"))
        output_padding = _out_pad(2, output_padding)
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, op_name="Deconvolution", adj=output_padding,
                         **kwargs)
        self.outpad = output_padding


class Conv3DTranspose(_Conv):
    """Transposed 3D convolution ('NCDHW' or 'NDHWC'). weight: (in_channels,
    channels/groups, kd, kh, kw).

    Example::

        >>> c = Conv3DTranspose(1, 2); c.initialize(); c(kiln.nd.ones((1, 2, 2, 2, 2))).shape
        (1, 1, 3, 3, 3)
    """

    def __init__(self, channels, kernel_size, strides=(1, 1, 1), padding=(0, 0, 0),
                 output_padding=(0, 0, 0), dilation=(1, 1, 1), groups=1, layout="NCDHW",
                 activation=None, use_bias=True, weight_initializer=None,
                 bias_initializer="zeros", in_channels=0, **kwargs):
        kernel_size = _conv_args(3, kernel_size, layout, ("NCDHW", "NDHWC"))
        output_padding = _out_pad(3, output_padding)
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, op_name="Deconvolution", adj=output_padding,
                         **kwargs)
        self.outpad = output_padding


# ---- pooling ---------------------------------------------------------------------------------
class _Pooling(HybridBlock):
    """Shared implementation of the pooling layers (``nd.Pooling``)."""

    def __init__(self, pool_size, strides, padding, ceil_mode, global_pool, pool_type, layout,
                 count_include_pad=None, **kwargs):
        super().__init__(**kwargs)
        if strides is None:
            strides = pool_size
        strides = _tuple(strides, len(pool_size))
        padding = _tuple(padding, len(pool_size))
        self._kwargs = {
            "kernel": pool_size, "stride": strides, "pad": padding, "global_pool": global_pool,
            "pool_type": pool_type, "layout": layout,
            "pooling_convention": "full" if ceil_mode else "valid"}
        if count_include_pad is not None:
            self._kwargs["count_include_pad"] = count_include_pad

    def _alias(self):
        return "pool"

    def hybrid_forward(self, F, x):
        nsp = len(self._kwargs["kernel"])
        channel_last = self._kwargs["layout"].endswith("C")
        if channel_last:
            x = _to_channel_first(F, x, nsp)
        out = F.Pooling(x, name="fwd", **dict(self._kwargs, layout=_CHANNEL_FIRST[nsp]))
        return _to_channel_last(F, out, nsp) if channel_last else out

    def __repr__(self):
        k = self._kwargs
        return (f"{self.__class__.__name__}(size={k['kernel']}, stride={k['stride']}, "
                f"padding={k['pad']}, ceil_mode={k['pooling_convention'] == 'full'}, "
                f"global_pool={k['global_pool']}, pool_type={k['pool_type']}, "
                f"layout={k['layout']})")


def _pool_size(nsp, pool_size, layout, allowed):
    _check(layout in allowed, f"Only {' and '.join(allowed)} layouts are valid for {nsp}D "
                              f"Pooling")
    pool_size = _tuple(pool_size, nsp)
    _check(len(pool_size) == nsp, f"pool_size must be a number or a list of {nsp} ints")
    return pool_size


_LAYOUTS = {1: ("NCW", "NWC"), 2: ("NCHW", "NHWC"), 3: ("NCDHW", "NDHWC")}


class MaxPool1D(_Pooling):
    """Max pooling over the width of (N, C, W) data; ``strides`` default to ``pool_size``.
    out_width = floor((width + 2*padding - pool_size) / strides) + 1 (ceil with ceil_mode).

    Example::

        >>> MaxPool1D()(kiln.nd.ones((1, 2, 6))).shape
        (1, 2, 3)
    """

    def __init__(self, pool_size=2, strides=None, padding=0, layout="NCW", ceil_mode=False,
                 **kwargs):
        pool_size = _pool_size(1, pool_size, layout, _LAYOUTS[1])
        super().__init__(pool_size, strides, padding, ceil_mode, False, "max", layout,
                         **kwargs)


class MaxPool2D(_Pooling):
    """Max pooling over height and width of (N, C, H, W) data.

    Example::

        >>> MaxPool2D()
        MaxPool2D(size=(2, 2), stride=(2, 2), padding=(0, 0), ceil_mode=False, \
global_pool=False, pool_type=max, layout=NCHW)
    """

    def __init__(self, pool_size=(2, 2), strides=None, padding=0, layout="NCHW",
                 ceil_mode=False, **kwargs):
        pool_size = _pool_size(2, pool_size, layout, _LAYOUTS[2])
        super().__init__(pool_size, strides, padding, ceil_mode, False, "max", layout,
                         **kwargs)


class MaxPool3D(_Pooling):
    """Max pooling over depth, height and width of (N, C, D, H, W) data.

    Example::

        >>> MaxPool3D()(kiln.nd.ones((1, 1, 4, 4, 4))).shape
        (1, 1, 2, 2, 2)
    """

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding=0, ceil_mode=False,
                 layout="NCDHW", **kwargs):
        pool_size = _pool_size(3, pool_size, layout, _LAYOUTS[3])
        super().__init__(pool_size, strides, padding, ceil_mode, False, "max", layout,
                         **kwargs)


class AvgPool1D(_Pooling):
    """Average pooling over the width of (N, C, W) data; ``count_include_pad=False`` leaves
    padding out of the averages.

    Example::

        >>> AvgPool1D()(kiln.nd.ones((1, 2, 6))).shape
        (1, 2, 3)
    """

    def __init__(self, pool_size=2, strides=None, padding=0, layout="NCW", ceil_mode=False,
                 count_include_pad=True, **kwargs):
        pool_size = _pool_size(1, pool_size, layout, _LAYOUTS[1])
        super().__init__(pool_size, strides, padding, ceil_mode, False, "avg", layout,
                         count_include_pad, **kwargs)


class AvgPool2D(_Pooling):
    """Average pooling over height and width of (N, C, H, W) data.

    Example::

        >>> AvgPool2D(3, strides=1, padding=1)(kiln.nd.ones((1, 1, 4, 4))).shape
        (1, 1, 4, 4)
    """

    def __init__(self, pool_size=(2, 2), strides=None, padding=0, ceil_mode=False,
                 layout="NCHW", count_include_pad=True, **kwargs):
        pool_size = _pool_size(2, pool_size, layout, _LAYOUTS[2])
        super().__init__(pool_size, strides, padding, ceil_mode, False, "avg", layout,
                         count_include_pad, **kwargs)


class AvgPool3D(_Pooling):
    """Average pooling over depth, height and width of (N, C, D, H, W) data.

    Example::

        >>> AvgPool3D()(kiln.nd.ones((1, 1, 2, 2, 2))).shape
        (1, 1, 1, 1, 1)
    """

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding=0, ceil_mode=False,
                 layout="NCDHW", count_include_pad=True, **kwargs):
        pool_size = _pool_size(3, pool_size, layout, _LAYOUTS[3])
        super().__init__(pool_size, strides, padding, ceil_mode, False, "avg", layout,
                         count_include_pad, **kwargs)


def _global(nsp, pool_type):
    def __init__(self, layout=_LAYOUTS[nsp][0], **kwargs):
        _check(layout in _LAYOUTS[nsp], f"Only {' and '.join(_LAYOUTS[nsp])} layouts are valid "
                                        f"for {nsp}D Pooling")
        _Pooling.__init__(self, (1,) * nsp, None, 0, True, True, pool_type, layout, **kwargs)
    return __init__


class GlobalMaxPool1D(_Pooling):
    """Max over the whole width: (N, C, W) -> (N, C, 1)."""
    __init__ = _global(1, "max")


class GlobalMaxPool2D(_Pooling):
    """Max over height and width: (N, C, H, W) -> (N, C, 1, 1).

    Example::

        >>> GlobalMaxPool2D()(kiln.nd.ones((2, 3, 4, 5))).shape
        (2, 3, 1, 1)
    """
    __init__ = _global(2, "max")


class GlobalMaxPool3D(_Pooling):
    """Max over depth, height and width: (N, C, D, H, W) -> (N, C, 1, 1, 1)."""
    __init__ = _global(3, "max")


class GlobalAvgPool1D(_Pooling):
    """Mean over the whole width: (N, C, W) -> (N, C, 1)."""
    __init__ = _global(1, "avg")


class GlobalAvgPool2D(_Pooling):
    """Mean over height and width: (N, C, H, W) -> (N, C, 1, 1).

    Example::

        >>> GlobalAvgPool2D()(kiln.nd.ones((2, 3, 4, 5))).shape
        (2, 3, 1, 1)
    """
    __init__ = _global(2, "avg")


class GlobalAvgPool3D(_Pooling):
    """Mean over depth, height and width: (N, C, D, H, W) -> (N, C, 1, 1, 1)."""
    __init__ = _global(3, "avg")


class ReflectionPad2D(HybridBlock):
    """Pads height and width of (N, C, H, W) data by reflecting it at the borders
    (``padding`` < H and W): output (N, C, H + 2*padding, W + 2*padding).

    Example::

        >>> ReflectionPad2D(1)(kiln.nd.ones((1, 1, 3, 3))).shape
        (1, 1, 5, 5)
    """

    def __init__(self, padding=0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(padding, numbers.Integral):
            padding = (0, 0, 0, 0, padding, padding, padding, padding)
        _check(len(padding) == 8, "padding must be an int or 8 numbers")
        self._padding = padding

    def hybrid_forward(self, F, x):
        return F.pad(x, mode="reflect", pad_width=self._padding)
