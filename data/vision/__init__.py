"""``kiln.data.vision`` (``gluon.data.vision``): image transforms and local-file datasets.

Example::

    >>> from kiln.data.vision import transforms
    >>> transforms.ToTensor()(kl.nd.zeros((2, 2, 3))).shape
    (3, 2, 2)
"""
# ruff: noqa: F401
from . import transforms
from .datasets import (CIFAR10, CIFAR100, MNIST, FashionMNIST, ImageFolderDataset,
                       ImageRecordDataset)

__all__ = ["transforms", "MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "ImageRecordDataset",
           "ImageFolderDataset"]
