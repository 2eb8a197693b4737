"""MobileNet V1 (Howard et al. 2017) and MobileNetV2 (Sandler et al. 2018) with MXNet Gluon
1.9's structure.

MobileNet: ``features`` = conv3x3/BN/relu, 13 depthwise-separable pairs (each conv followed
by BN and relu, all flat in one HybridSequential), GlobalAvgPool2D, Flatten; ``output`` =
Dense(classes). MobileNetV2: ``features`` = conv/BN/relu6, 17 ``LinearBottleneck`` (children
``out``), conv1x1/BN/relu6, GlobalAvgPool2D; ``output`` = [Conv2D(classes, 1, no bias),
Flatten]. Input (N, 3, H, W), H, W >= 32 -> (N, classes).

Example::

    >>> net = mobilenet0_25(classes=10); net.initialize()
    >>> net(kiln.nd.ones((1, 3, 32, 32))).shape
    (1, 10)
"""
from ... import nn
from ...device import cpu
from ...nn import HybridBlock
from ..model_store import DEFAULT_ROOT, load_pretrained

__all__ = ["MobileNet", "MobileNetV2", "LinearBottleneck", "RELU6", "mobilenet1_0",
           "mobilenet_v2_1_0", "mobilenet0_75", "mobilenet_v2_0_75", "mobilenet0_5",
           "mobilenet_v2_0_5", "mobilenet0_25", "mobilenet_v2_0_25", "get_mobilenet",
           "get_mobilenet_v2"]


class RELU6(HybridBlock):
    """min(max(x, 0), 6), as MobileNetV2 uses it (shape unchanged).

    Example::

        >>> RELU6()(kiln.nd.array([-1, 3, 9])).asnumpy().tolist()
        [0.0, 3.0, 6.0]
    """

    def hybrid_forward(self, F, x):
        return F.clip(x, 0, 6)


def _add_conv(out, channels=1, kernel=1, stride=1, pad=0, num_group=1, active=True,
              relu6=False):
    out.add(nn.Conv2D(channels, kernel, stride, pad, groups=num_group, use_bias=False))
    out.add(nn.BatchNorm(scale=True))
    if active:
        out.add(RELU6() if relu6 else nn.Activation("relu"))


def _add_conv_dw(out, dw_channels, channels, stride, relu6=False):
    _add_conv(out, channels=dw_channels, kernel=3, stride=stride, pad=1,
              num_group=dw_channels, relu6=relu6)
    _add_conv(out, channels=channels, relu6=relu6)


class LinearBottleneck(HybridBlock):
    """MobileNetV2's inverted residual: expand 1x1 (x``t``), depthwise 3x3 (``stride``),
    project 1x1 without activation; adds the input when stride is 1 and channels agree.

    Example::

        >>> blk = LinearBottleneck(8, 8, 6, 1); blk.initialize()
        >>> blk(kiln.nd.ones((1, 8, 4, 4))).shape
        (1, 8, 4, 4)
    """

    def __init__(self, in_channels, channels, t, stride, **kwargs):
        super().__init__(**kwargs)
        self.use_shortcut = stride == 1 and in_channels == channels
        with self.name_scope():
            self.out = nn.HybridSequential()
            _add_conv(self.out, in_channels * t, relu6=True)
            _add_conv(self.out, in_channels * t, kernel=3, stride=stride, pad=1,
                      num_group=in_channels * t, relu6=True)
            _add_conv(self.out, channels, active=False, relu6=True)

    def hybrid_forward(self, F, x):
        out = self.out(x)
        if self.use_shortcut:  # fixed at construction: not a branch on values
            out = F.elemwise_add(out, x)
        return out


class MobileNet(HybridBlock):
    """MobileNet V1 with width ``multiplier`` (>= 0.25) on every layer's channels.

    Example::

        >>> net = MobileNet(0.25, classes=3); net.initialize()
        >>> net(kiln.nd.ones((1, 3, 32, 32))).shape
        (1, 3)
    """

    def __init__(self, multiplier=1.0, classes=1000, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            with self.features.name_scope():
                _add_conv(self.features, channels=int(32 * multiplier), kernel=3, pad=1,
                          stride=2)
                dw_channels = [int(x * multiplier) for x in
                               [32, 64] + [128] * 2 + [256] * 2 + [512] * 6 + [1024]]
                channels = [int(x * multiplier) for x in
                            [64] + [128] * 2 + [256] * 2 + [512] * 6 + [1024] * 2]
                strides = [1, 2] * 3 + [1] * 5 + [2, 1]
                for dwc, c, s in zip(dw_channels, channels, strides):
                    _add_conv_dw(self.features, dw_channels=dwc, channels=c, stride=s)
                self.features.add(nn.GlobalAvgPool2D())
                self.features.add(nn.Flatten())
            self.output = nn.Dense(classes)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


class MobileNetV2(HybridBlock):
    """MobileNetV2 with width ``multiplier`` (the last conv keeps 1280 channels unless the
    multiplier exceeds 1).

    Example::

        >>> net = MobileNetV2(0.25, classes=3); net.initialize()
        >>> net(kiln.nd.ones((1, 3, 32, 32))).shape
        (1, 3)
    """

    def __init__(self, multiplier=1.0, classes=1000, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="features_")
            with self.features.name_scope():
                _add_conv(self.features, int(32 * multiplier), kernel=3, stride=2, pad=1,
                          relu6=True)
                in_channels_group = [int(x * multiplier) for x in
                                     [32] + [16] + [24] * 2 + [32] * 3 + [64] * 4 + [96] * 3
                                     + [160] * 3]
                channels_group = [int(x * multiplier) for x in
                                  [16] + [24] * 2 + [32] * 3 + [64] * 4 + [96] * 3
                                  + [160] * 3 + [320]]
                ts = [1] + [6] * 16
                strides = [1, 2] * 2 + [1, 1, 2] + [1] * 6 + [2] + [1] * 3
                for in_c, c, t, s in zip(in_channels_group, channels_group, ts, strides):
                    self.features.add(LinearBottleneck(in_channels=in_c, channels=c, t=t,
                                                       stride=s))
                last_channels = int(1280 * multiplier) if multiplier > 1.0 else 1280
                _add_conv(self.features, last_channels, relu6=True)
                self.features.add(nn.GlobalAvgPool2D())
            self.output = nn.HybridSequential(prefix="output_")
            with self.output.name_scope():
                self.output.add(nn.Conv2D(classes, 1, use_bias=False, prefix="pred_"),
                                nn.Flatten())

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def _suffix(multiplier):
    # MXNet's file names: 1.0, 0.75, 0.5, 0.25
    suffix = f"{multiplier:.2f}"
    return suffix[:-1] if suffix in ("1.00", "0.50") else suffix


def get_mobilenet(multiplier, pretrained=False, ctx=cpu(), root=DEFAULT_ROOT, **kwargs):
    """MobileNet V1 of width ``multiplier``; ``pretrained=True`` loads
    ``<root>/mobilenet<multiplier>-<hash>.params`` (no download).

    Example::

        >>> get_mobilenet(0.5).features[0].weight.shape
        (16, 0, 3, 3)
    """
    net = MobileNet(multiplier, **kwargs)
    if pretrained:
        load_pretrained(net, f"mobilenet{_suffix(multiplier)}", ctx, root)
    return net


def get_mobilenet_v2(multiplier, pretrained=False, ctx=cpu(), root=DEFAULT_ROOT, **kwargs):
    """MobileNetV2 of width ``multiplier``; ``pretrained=True`` loads
    ``<root>/mobilenetv2_<multiplier>-<hash>.params`` (no download).

    Example::

        >>> get_mobilenet_v2(1.0).output[0].weight.shape
        (1000, 0, 1, 1)
    """
    net = MobileNetV2(multiplier, **kwargs)
    if pretrained:
        load_pretrained(net, f"mobilenetv2_{_suffix(multiplier)}", ctx, root)
    return net


def _variant(getter, multiplier, name):
    def build(**kwargs):
        return getter(multiplier, **kwargs)
    build.__name__ = build.__qualname__ = name
    build.__doc__ = (f"``{getter.__name__}({multiplier}, **kwargs)``; keywords: pretrained, "
                     f"ctx, root, classes.")
    return build


mobilenet1_0 = _variant(get_mobilenet, 1.0, "mobilenet1_0")
mobilenet0_75 = _variant(get_mobilenet, 0.75, "mobilenet0_75")
mobilenet0_5 = _variant(get_mobilenet, 0.5, "mobilenet0_5")
mobilenet0_25 = _variant(get_mobilenet, 0.25, "mobilenet0_25")
mobilenet_v2_1_0 = _variant(get_mobilenet_v2, 1.0, "mobilenet_v2_1_0")
mobilenet_v2_0_75 = _variant(get_mobilenet_v2, 0.75, "mobilenet_v2_0_75")
mobilenet_v2_0_5 = _variant(get_mobilenet_v2, 0.5, "mobilenet_v2_0_5")
mobilenet_v2_0_25 = _variant(get_mobilenet_v2, 0.25, "mobilenet_v2_0_25")
