"""Deformable convolution layers (MXNet Gluon 1.9's ``gluon.contrib.cnn``):
``DeformableConvolution`` (DCNv1) and ``ModulatedDeformableConvolution`` (DCNv2).

Each holds a plain convolution (``offset_weight``/``offset_bias``, zero-initialized, so the
layer starts as a regular convolution) that predicts the sampling offsets (and, modulated,
the masks: ``2 * sigmoid`` of the last ``dg * kh * kw`` channels) from the input, and the
deformable convolution's own ``weight``/``bias``. 2-D, NCHW only.
"""
from .activations import Activation
from .block import HybridBlock
from .conv_layers import _tuple


class DeformableConvolution(HybridBlock):
    """2-D deformable convolution over (N, in_channels, H, W): output (N, channels, OH, OW)
    with Conv2D's output size. Parameters: weight (channels, in_channels / groups, kh, kw),
    bias (channels,), offset_weight (2 * dg * kh * kw, in_channels, kh, kw), offset_bias.

    Example::

        >>> layer = DeformableConvolution(8, kernel_size=(3, 3), padding=(1, 1))
        >>> layer.initialize(); layer(kiln.nd.ones((1, 4, 6, 6))).shape
        (1, 8, 6, 6)
    """

    _op_name = "DeformableConvolution"
    _per_tap = 2          # offset channels per deformable group and kernel tap

    def __init__(self, channels, kernel_size=(1, 1), strides=(1, 1), padding=(0, 0),
                 dilation=(1, 1), groups=1, num_deformable_group=1, layout="NCHW",
                 use_bias=True, in_channels=0, activation=None, weight_initializer=None,
                 bias_initializer="zeros", offset_weight_initializer="zeros",
                 offset_bias_initializer="zeros", offset_use_bias=True, op_name=None, adj=None,
                 prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        if layout != "NCHW":
            raise ValueError(f"{type(self).__name__}: only the NCHW layout is supported")
        k = _tuple(kernel_size, 2)
        self._channels, self._in_channels, self._groups = channels, in_channels, groups
        self._kwargs = {"kernel": k, "stride": _tuple(strides, 2),
                        "dilate": _tuple(dilation, 2), "pad": _tuple(padding, 2),
                        "num_filter": channels, "num_group": groups,
                        "num_deformable_group": num_deformable_group, "no_bias": not use_bias}
        self._offset_channels = self._per_tap * num_deformable_group * k[0] * k[1]
        self._offset_kwargs = {**{n: self._kwargs[n] for n in ("kernel", "stride", "dilate",
                                                              "pad")},
                               "num_filter": self._offset_channels, "num_group": 1,
                               "no_bias": not offset_use_bias}
        with self.name_scope():
            self.weight = self.params.get("weight", shape=self._wshape(in_channels),
                                          init=weight_initializer, allow_deferred_init=True)
            self.bias = self.params.get("bias", shape=(channels,), init=bias_initializer,
                                        allow_deferred_init=True) if use_bias else None
            self.offset_weight = self.params.get(
                "offset_weight", shape=(self._offset_channels, in_channels) + k,
                init=offset_weight_initializer, allow_deferred_init=True)
            self.offset_bias = self.params.get(
                "offset_bias", shape=(self._offset_channels,), init=offset_bias_initializer,
                allow_deferred_init=True) if offset_use_bias else None
            self.act = Activation(activation, prefix=activation + "_") if activation else None

    def _wshape(self, in_channels):
        return (self._channels, in_channels // self._groups if in_channels else 0) \
            + self._kwargs["kernel"]

    def infer_shape(self, x, *args):
        c = x.shape[1]
        self.weight.shape = self._wshape(c)
        self.offset_weight.shape = (self._offset_channels, c) + self._kwargs["kernel"]

    def _deform(self, F, x, offset, weight, bias):
        return F.contrib.DeformableConvolution(x, offset, weight, bias, **self._kwargs)

    def hybrid_forward(self, F, x, weight, offset_weight, bias=None, offset_bias=None):
        offset = F.Convolution(x, offset_weight, offset_bias, **self._offset_kwargs)
        out = self._deform(F, x, offset, weight, bias)
        return self.act(out) if self.act is not None else out

    def __repr__(self):
        k = self._kwargs
        shape = self.weight.shape
        return (f"{type(self).__name__}({shape[1] * k['num_group'] if shape[1] else None} -> "
                f"{self._channels}, kernel_size={k['kernel']}, stride={k['stride']})")


class ModulatedDeformableConvolution(DeformableConvolution):
    """2-D modulated deformable convolution (DCNv2): as ``DeformableConvolution``, its offset
    convolution also predicting a mask (``2 * sigmoid``) per deformable group and tap;
    offset_weight is (3 * dg * kh * kw, in_channels, kh, kw).

    Example::

        >>> layer = ModulatedDeformableConvolution(8, kernel_size=(3, 3), padding=(1, 1))
        >>> layer.initialize(); layer(kiln.nd.ones((1, 4, 6, 6))).shape
        (1, 8, 6, 6)
    """

    _op_name = "ModulatedDeformableConvolution"
    _per_tap = 3

    def _deform(self, F, x, offset, weight, bias):
        split = self._offset_channels // 3 * 2
        off = F.slice_axis(offset, axis=1, begin=0, end=split)
        mask = F.sigmoid(F.slice_axis(offset, axis=1, begin=split, end=None)) * 2
        return F.contrib.ModulatedDeformableConvolution(x, off, mask, weight, bias,
                                                        **self._kwargs)
