"""SqueezeNet 1.0 and 1.1 (Iandola et al. 2016) with MXNet Gluon 1.9's structure.

A fire module is ``HybridSequential[squeeze, HybridConcatenate(axis=1)[expand1x1,
expand3x3]]``, each conv a ``HybridSequential[Conv2D, relu]`` (MXNet's HybridConcurrent is
kiln's HybridConcatenate: same children, same keys). ``features`` ends with Dropout(0.5);
``output`` = Conv2D(classes, 1), relu, AvgPool2D(13), Flatten. As in MXNet the 13x13 pool
needs 224x224-sized inputs (at least 209x209 for 1.1, 213x213 for 1.0) to give (N, classes).

Example::

    >>> net = squeezenet1_1(classes=10); net.initialize()
    >>> net(kiln.nd.ones((1, 3, 224, 224))).shape
    (1, 10)
"""
from ... import nn
from ...device import cpu
from ...nn import HybridBlock
from ..model_store import DEFAULT_ROOT, load_pretrained

__all__ = ["SqueezeNet", "squeezenet1_0", "squeezenet1_1", "get_squeezenet"]


def _make_fire_conv(channels, kernel_size, padding=0):
    out = nn.HybridSequential(prefix="")
    out.add(nn.Conv2D(channels, kernel_size, padding=padding))
    out.add(nn.Activation("relu"))
    return out


def _make_fire(squeeze_channels, expand1x1_channels, expand3x3_channels):
    out = nn.HybridSequential(prefix="")
    out.add(_make_fire_conv(squeeze_channels, 1))
    paths = nn.HybridConcatenate(axis=1, prefix="")
    paths.add(_make_fire_conv(expand1x1_channels, 1))
    paths.add(_make_fire_conv(expand3x3_channels, 3, 1))
    out.add(paths)
    return out


def _pool():
    return nn.MaxPool2D(pool_size=3, strides=2, ceil_mode=True)


# version -> (stem channels, stem kernel, feature plan: 'P' = max pool, tuple = fire module)
_PLANS = {
    "1.0": (96, 7, [(16, 64, 64), (16, 64, 64), (32, 128, 128), "P", (32, 128, 128),
                    (48, 192, 192), (48, 192, 192), (64, 256, 256), "P", (64, 256, 256)]),
    "1.1": (64, 3, [(16, 64, 64), (16, 64, 64), "P", (32, 128, 128), (32, 128, 128), "P",
                    (48, 192, 192), (48, 192, 192), (64, 256, 256), (64, 256, 256)]),
}


class SqueezeNet(HybridBlock):
    """SqueezeNet ``version`` '1.0' or '1.1': ``features`` then ``output``.

    Example::

        >>> net = SqueezeNet('1.1', classes=2); net.initialize()
        >>> net(kiln.nd.ones((1, 3, 209, 209))).shape
        (1, 2)
    """

    def __init__(self, version, classes=1000, **kwargs):
        super().__init__(**kwargs)
        assert version in ["1.0", "1.1"], (f"Unsupported SqueezeNet version {version}:"
                                           f"1.0 or 1.1 expected")
        stem, kernel, plan = _PLANS[version]
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            self.features.add(nn.Conv2D(stem, kernel_size=kernel, strides=2))
            self.features.add(nn.Activation("relu"))
            self.features.add(_pool())
            for item in plan:
                self.features.add(_pool() if item == "P" else _make_fire(*item))
            self.features.add(nn.Dropout(0.5))

            self.output = nn.HybridSequential(prefix="")
            self.output.add(nn.Conv2D(classes, kernel_size=1))
            self.output.add(nn.Activation("relu"))
            self.output.add(nn.AvgPool2D(13))
            self.output.add(nn.Flatten())

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def get_squeezenet(version, pretrained=False, ctx=cpu(), root=DEFAULT_ROOT, **kwargs):
    """SqueezeNet '1.0' or '1.1'; ``pretrained=True`` loads
    ``<root>/squeezenet<version>-<hash>.params`` (no download).

    Example::

        >>> get_squeezenet('1.0').output[0].weight.shape
        (1000, 0, 1, 1)
    """
    net = SqueezeNet(version, **kwargs)
    if pretrained:
        load_pretrained(net, f"squeezenet{version}", ctx, root)
    return net


def squeezenet1_0(**kwargs):
    """SqueezeNet 1.0; keywords: pretrained, ctx, root, classes."""
    return get_squeezenet("1.0", **kwargs)


def squeezenet1_1(**kwargs):
    """SqueezeNet 1.1 (2.4x less computation than 1.0); keywords as ``squeezenet1_0``."""
    return get_squeezenet("1.1", **kwargs)
