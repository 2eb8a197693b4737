"""DenseNet-BC 121/161/169/201 (Huang et al. 2016) with MXNet Gluon 1.9's structure.

``features``: conv7x7/BN/relu/maxpool, then per stage a ``stage<i>_`` HybridSequential of
dense layers (each ``HybridConcatenate(axis=1)[Identity, HybridSequential[BN, relu,
Conv1x1, BN, relu, Conv3x3 (, Dropout)]]``) and a transition (BN, relu, Conv1x1, AvgPool 2)
between stages; BN, relu, AvgPool2D(7), Flatten. ``output``: Dense(classes). As in MXNet
the 7x7 pool needs 224x224-sized inputs.

Example::

    >>> net = DenseNet(8, 4, [1, 1], classes=5); net.initialize()
    >>> net(kiln.nd.ones((1, 3, 112, 112))).shape
    (1, 5)
"""
from ... import nn
from ...device import cpu
from ...nn import HybridBlock
from ..model_store import DEFAULT_ROOT, load_pretrained

__all__ = ["DenseNet", "densenet121", "densenet161", "densenet169", "densenet201",
           "get_densenet"]


def _make_dense_layer(growth_rate, bn_size, dropout):
    new_features = nn.HybridSequential(prefix="")
    new_features.add(nn.BatchNorm())
    new_features.add(nn.Activation("relu"))
    new_features.add(nn.Conv2D(bn_size * growth_rate, kernel_size=1, use_bias=False))
    new_features.add(nn.BatchNorm())
    new_features.add(nn.Activation("relu"))
    new_features.add(nn.Conv2D(growth_rate, kernel_size=3, padding=1, use_bias=False))
    if dropout:
        new_features.add(nn.Dropout(dropout))
    out = nn.HybridConcatenate(axis=1, prefix="")
    out.add(nn.Identity())
    out.add(new_features)
    return out


def _make_dense_block(num_layers, bn_size, growth_rate, dropout, stage_index):
    out = nn.HybridSequential(prefix=f"stage{stage_index}_")
    with out.name_scope():
        for _ in range(num_layers):
            out.add(_make_dense_layer(growth_rate, bn_size, dropout))
    return out


def _make_transition(num_output_features):
    out = nn.HybridSequential(prefix="")
    out.add(nn.BatchNorm())
    out.add(nn.Activation("relu"))
    out.add(nn.Conv2D(num_output_features, kernel_size=1, use_bias=False))
    out.add(nn.AvgPool2D(pool_size=2, strides=2))
    return out


class DenseNet(HybridBlock):
    """DenseNet-BC: ``num_init_features`` stem channels, ``growth_rate`` (k) channels added
    per dense layer, ``block_config`` dense layers per stage, bottleneck of ``bn_size * k``
    channels, ``dropout`` after each dense layer.

    Example::

        >>> net = DenseNet(8, 4, [1, 1], classes=5); net.initialize()
        >>> net(kiln.nd.ones((1, 3, 112, 112))).shape
        (1, 5)
    """

    def __init__(self, num_init_features, growth_rate, block_config, bn_size=4, dropout=0,
                 classes=1000, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            self.features.add(nn.Conv2D(num_init_features, kernel_size=7, strides=2,
                                        padding=3, use_bias=False))
            self.features.add(nn.BatchNorm())
            self.features.add(nn.Activation("relu"))
            self.features.add(nn.MaxPool2D(pool_size=3, strides=2, padding=1))
            num_features = num_init_features
            for i, num_layers in enumerate(block_config):
                self.features.add(_make_dense_block(num_layers, bn_size, growth_rate, dropout,
                                                    i + 1))
                num_features += num_layers * growth_rate
                if i != len(block_config) - 1:
                    self.features.add(_make_transition(num_features // 2))
                    num_features //= 2
            self.features.add(nn.BatchNorm())
            self.features.add(nn.Activation("relu"))
            self.features.add(nn.AvgPool2D(pool_size=7))
            self.features.add(nn.Flatten())
            self.output = nn.Dense(classes)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


# num_layers -> (num_init_features, growth_rate, block_config)
densenet_spec = {121: (64, 32, [6, 12, 24, 16]),
                 161: (96, 48, [6, 12, 36, 24]),
                 169: (64, 32, [6, 12, 32, 32]),
                 201: (64, 32, [6, 12, 48, 32])}


def get_densenet(num_layers, pretrained=False, ctx=cpu(), root=DEFAULT_ROOT, **kwargs):
    """DenseNet-BC with ``num_layers`` in (121, 161, 169, 201); ``pretrained=True`` loads
    ``<root>/densenet<n>-<hash>.params`` (no download).

    Example::

        >>> get_densenet(121).features[0].weight.shape
        (64, 0, 7, 7)
    """
    num_init_features, growth_rate, block_config = densenet_spec[num_layers]
    net = DenseNet(num_init_features, growth_rate, block_config, **kwargs)
    if pretrained:
        load_pretrained(net, f"densenet{num_layers}", ctx, root)
    return net


def densenet121(**kwargs):
    """DenseNet-BC 121; keywords: pretrained, ctx, root, classes, bn_size, dropout."""
    return get_densenet(121, **kwargs)


def densenet161(**kwargs):
    """DenseNet-BC 161; keywords as ``densenet121``."""
    return get_densenet(161, **kwargs)


def densenet169(**kwargs):
    """DenseNet-BC 169; keywords as ``densenet121``."""
    return get_densenet(169, **kwargs)


def densenet201(**kwargs):
    """DenseNet-BC 201; keywords as ``densenet121``."""
    return get_densenet(201, **kwargs)
