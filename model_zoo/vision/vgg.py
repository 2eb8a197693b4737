"""VGG 11/13/16/19, with or without BatchNorm (Simonyan and Zisserman 2014), with MXNet Gluon
1.9's structure.

``features``: the conv stages (Conv2D 3x3 [+ BatchNorm] + relu, then MaxPool2D(2)), followed
by Dense(4096, relu), Dropout(0.5), Dense(4096, relu), Dropout(0.5); ``output``:
Dense(classes). Input (N, 3, H, W) with H, W >= 32 -> (N, classes); the first Dense matches
MXNet's files (25088 inputs) for 224x224 images.

Example::

    >>> net = vgg11(classes=10); net.initialize()
    >>> net(kiln.nd.ones((1, 3, 32, 32))).shape
    (1, 10)
"""
from ... import nn
from ...device import cpu
from ...initializer import Xavier
from ...nn import HybridBlock
from ..model_store import DEFAULT_ROOT, load_pretrained

__all__ = ["VGG", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn",
           "vgg19_bn", "get_vgg"]


def _dense(units, activation=None):
    return nn.Dense(units, activation=activation, weight_initializer="normal",
                    bias_initializer="zeros")


class VGG(HybridBlock):
    """VGG: ``layers`` convs per stage with ``filters`` channels (equal lengths).

    Example::

        >>> net = VGG([1, 1], [8, 16], classes=3); net.initialize()
        >>> net(kiln.nd.ones((1, 3, 8, 8))).shape
        (1, 3)
    """

    def __init__(self, layers, filters, classes=1000, batch_norm=False, **kwargs):
        super().__init__(**kwargs)
        assert len(layers) == len(filters)
        with self.name_scope():
            self.features = self._make_features(layers, filters, batch_norm)
            self.features.add(_dense(4096, "relu"))
            self.features.add(nn.Dropout(rate=0.5))
            self.features.add(_dense(4096, "relu"))
            self.features.add(nn.Dropout(rate=0.5))
            self.output = _dense(classes)

    @staticmethod
    def _make_features(layers, filters, batch_norm):
        featurizer = nn.HybridSequential(prefix="")
        for num, channels in zip(layers, filters):
            for _ in range(num):
                featurizer.add(nn.Conv2D(channels, kernel_size=3, padding=1,
                                         weight_initializer=Xavier(rnd_type="gaussian",
                                                                   factor_type="out",
                                                                   magnitude=2),
                                         bias_initializer="zeros"))
                if batch_norm:
                    featurizer.add(nn.BatchNorm())
                featurizer.add(nn.Activation("relu"))
            featurizer.add(nn.MaxPool2D(strides=2))
        return featurizer

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


# num_layers -> (convs per stage, channels per stage)
vgg_spec = {11: ([1, 1, 2, 2, 2], [64, 128, 256, 512, 512]),
            13: ([2, 2, 2, 2, 2], [64, 128, 256, 512, 512]),
            16: ([2, 2, 3, 3, 3], [64, 128, 256, 512, 512]),
            19: ([2, 2, 4, 4, 4], [64, 128, 256, 512, 512])}


def get_vgg(num_layers, pretrained=False, ctx=cpu(), root=DEFAULT_ROOT, **kwargs):
    """VGG with ``num_layers`` in (11, 13, 16, 19); ``batch_norm=True`` for the _bn variant.

    ``pretrained=True`` loads ``<root>/vgg<n>[_bn]-<hash>.params`` (no download).

    Example::

        >>> len(get_vgg(11).features)
        25
    """
    layers, filters = vgg_spec[num_layers]
    net = VGG(layers, filters, **kwargs)
    if pretrained:
        suffix = "_bn" if kwargs.get("batch_norm") else ""
        load_pretrained(net, f"vgg{num_layers}{suffix}", ctx, root)
    return net


def _variant(num_layers, batch_norm):
    def build(**kwargs):
        if batch_norm:
            kwargs["batch_norm"] = True
        return get_vgg(num_layers, **kwargs)
    name = f"vgg{num_layers}" + ("_bn" if batch_norm else "")
    build.__name__ = build.__qualname__ = name
    build.__doc__ = (f"VGG-{num_layers}" + (" with batch normalization" if batch_norm else "")
                     + "; keywords: pretrained, ctx, root, classes.")
    return build


vgg11 = _variant(11, False)
vgg13 = _variant(13, False)
vgg16 = _variant(16, False)
vgg19 = _variant(19, False)
vgg11_bn = _variant(11, True)
vgg13_bn = _variant(13, True)
vgg16_bn = _variant(16, True)
vgg19_bn = _variant(19, True)
