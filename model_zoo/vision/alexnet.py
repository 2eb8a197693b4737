"""AlexNet ("One weird trick...", Krizhevsky 2014) with MXNet Gluon 1.9's structure.

``features``: 5 convolutions (relu inside the conv), 3 max pools, Flatten, two Dense(4096,
relu) each followed by Dropout(0.5); ``output``: Dense(classes). Input (N, 3, H, W) with
H, W >= 63 -> (N, classes); the Dense shapes match MXNet's files for 224x224 inputs.

Example::

    >>> net = alexnet(classes=10); net.initialize()
    >>> net(kiln.nd.ones((1, 3, 64, 64))).shape
    (1, 10)
"""
from ... import nn
from ...device import cpu
from ...nn import HybridBlock
from ..model_store import DEFAULT_ROOT, load_pretrained

__all__ = ["AlexNet", "alexnet"]


class AlexNet(HybridBlock):
    """AlexNet: ``features`` then ``output`` (Dense(classes)).

    Example::

        >>> net = AlexNet(classes=4); net.initialize()
        >>> net(kiln.nd.ones((1, 3, 64, 64))).shape
        (1, 4)
    """

    def __init__(self, classes=1000, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            with self.features.name_scope():
                f = self.features
                f.add(nn.Conv2D(64, kernel_size=11, strides=4, padding=2, activation="relu"))
                f.add(nn.MaxPool2D(pool_size=3, strides=2))
                f.add(nn.Conv2D(192, kernel_size=5, padding=2, activation="relu"))
                f.add(nn.MaxPool2D(pool_size=3, strides=2))
                f.add(nn.Conv2D(384, kernel_size=3, padding=1, activation="relu"))
                f.add(nn.Conv2D(256, kernel_size=3, padding=1, activation="relu"))
                f.add(nn.Conv2D(256, kernel_size=3, padding=1, activation="relu"))
                f.add(nn.MaxPool2D(pool_size=3, strides=2))
                f.add(nn.Flatten())
                f.add(nn.Dense(4096, activation="relu"))
                f.add(nn.Dropout(0.5))
                f.add(nn.Dense(4096, activation="relu"))
                f.add(nn.Dropout(0.5))
            self.output = nn.Dense(classes)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def alexnet(pretrained=False, ctx=cpu(), root=DEFAULT_ROOT, **kwargs):
    """AlexNet; ``pretrained=True`` loads ``<root>/alexnet-<hash>.params`` (no download).

    Example::

        >>> alexnet(classes=10).output.weight.shape
        (10, 0)
    """
    net = AlexNet(**kwargs)
    if pretrained:
        load_pretrained(net, "alexnet", ctx, root)
    return net
