"""``kiln.data`` (also ``kiln.gluon.data``): datasets, samplers and the DataLoader.

Example::

    >>> from kiln import data
    >>> loader = data.DataLoader(data.ArrayDataset(np.ones((4, 2)), np.arange(4)), batch_size=2)
    >>> len(loader)
    2
"""
# ruff: noqa: F401
from . import vision
from .dataloader import DataLoader, default_batchify_fn, default_mp_batchify_fn
from .dataset import ArrayDataset, Dataset, RecordFileDataset, SimpleDataset
from .sampler import (
    BatchSampler,
    FilterSampler,
    IntervalSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SplitSampler,
)

__all__ = ["Dataset", "SimpleDataset", "ArrayDataset", "RecordFileDataset",
           "DataLoader", "default_batchify_fn",
           "default_mp_batchify_fn", "Sampler", "SequentialSampler", "RandomSampler",
           "FilterSampler", "BatchSampler", "IntervalSampler", "SplitSampler", "vision"]
