"""Datasets (``kiln.data`` / ``gluon.data``): indexable collections of samples, MXNet 1.9 API.

Example::

    >>> ds = ArrayDataset(np.arange(4), np.arange(4) * 10)
    >>> ds[1]
    (1, 10)
    >>> ds.transform_first(lambda x: x + 1)[1]
    (2, 10)
"""
import os

from ..ndarray import NDArray
from . import recordio
from . import sampler as _sampler

__all__ = ["Dataset", "SimpleDataset", "ArrayDataset", "RecordFileDataset"]


class Dataset:
    """Abstract dataset: subclasses define ``__getitem__(idx)`` and ``__len__()``."""

    def __getitem__(self, idx):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def filter(self, fn):
        """A dataset of the samples for which ``fn(sample)`` is true.

        Example::

            >>> SimpleDataset([1, 2, 3, 4]).filter(lambda x: x > 2)[0]
            3
        """
        return _SampledDataset(self, _sampler.FilterSampler(fn, self))

    def shard(self, num_shards, index):
        """Shard ``index`` of ``num_shards`` contiguous shards; the first ``len % num_shards``
        shards get one extra sample.

        Example::

            >>> len(SimpleDataset(list(range(10))).shard(3, 0))
            4
        """
        assert index < num_shards, f"Shard index of out bound: {index} out of {num_shards}"
        assert num_shards > 0, "Number of shards must be greater than 0"
        assert index >= 0, "Index must be non-negative"
        length = len(self)
        shard_len, rest = divmod(length, num_shards)
        start = shard_len * index + min(index, rest)
        end = start + shard_len + (index < rest)
        return _SampledDataset(self, _sampler.SequentialSampler(end - start, start))

    def take(self, count):
        """The first ``count`` samples (all of them when ``count`` is None or too large)."""
        if count is None or count > len(self):
            count = len(self)
        return _SampledDataset(self, _sampler.SequentialSampler(count))

    def sample(self, sampler):
        """The samples at the indices ``sampler`` yields (a ``Sampler`` instance)."""
        if not isinstance(sampler, _sampler.Sampler):
            raise ValueError(f"Invalid sampler type: {type(sampler)}. Expected "
                             f"gluon.data.Sampler instead.")
        return _SampledDataset(self, sampler)

    def transform(self, fn, lazy=True):
        """A dataset whose samples are ``fn(*sample)`` (tuples are unpacked) or ``fn(sample)``.

        With ``lazy=False`` every sample is transformed now and kept in memory.

        Example::

            >>> SimpleDataset([1, 2]).transform(lambda x: x * 3)[1]
            6
        """
        trans = _LazyTransformDataset(self, fn)
        if lazy:
            return trans
        return SimpleDataset(list(trans))

    def transform_first(self, fn, lazy=True):
        """Like ``transform`` but applies ``fn`` to the first element of each sample only
        (e.g. the image of an ``(image, label)`` pair)."""
        return self.transform(_TransformFirstClosure(fn), lazy)


class SimpleDataset(Dataset):
    """Wraps anything with ``len`` and indexing (a list, a numpy array...)."""

    def __init__(self, data):
        self._data = data

    def __len__(self):
        return len(self._data)

    def __getitem__(self, idx):
        return self._data[idx]


class ArrayDataset(Dataset):
    """Zips equally long arrays: sample ``i`` is ``(a[i], b[i], ...)``, or ``a[i]`` for one
    array. 1-D NDArrays are turned into numpy arrays first, so their items are scalars.

    Example::

        >>> ArrayDataset(kl.nd.ones((3, 2)), [0, 1, 2])[2][1]
        2
    """

    def __init__(self, *args):
        assert len(args) > 0, "Needs at least 1 arrays"
        self._length = len(args[0])
        self._data = []
        for i, data in enumerate(args):
            assert len(data) == self._length, (
                f"All arrays must have the same length; array[0] has length {self._length} "
                f"while array[{i + 1}] has {len(data)}.")
            if isinstance(data, NDArray) and len(data.shape) == 1:
                data = data.asnumpy()
            self._data.append(data)

    def __getitem__(self, idx):
        if len(self._data) == 1:
            return self._data[0][idx]
        return tuple(data[idx] for data in self._data)

    def __len__(self):
        return self._length


class _LazyTransformDataset(Dataset):
    """Applies ``fn`` to each sample on access."""

    def __init__(self, data, fn):
        self._data = data
        self._fn = fn

    def __len__(self):
        return len(self._data)

    def __getitem__(self, idx):
        item = self._data[idx]
        if isinstance(item, tuple):
            return self._fn(*item)
        return self._fn(item)


class _TransformFirstClosure:
    """``fn`` applied to the first element only (a class, so it pickles for workers)."""

    def __init__(self, fn):
        self._fn = fn

    def __call__(self, x, *args):
        if args:
            return (self._fn(x),) + args
        return self._fn(x)


class _SampledDataset(Dataset):
    """The samples of ``dataset`` at the indices ``sampler`` yields (fixed at creation)."""

    def __init__(self, dataset, sampler):
        self._dataset = dataset
        self._sampler = sampler
        self._indices = list(iter(sampler))

    def __len__(self):
        return len(self._indices)

    def __getitem__(self, idx):
        return self._dataset[self._indices[idx]]


class RecordFileDataset(Dataset):
    """The raw records (bytes) of a RecordIO file, indexed through the ``.idx`` file beside it
    (same name, extension ``.idx``), in the index's order.

    Example::

        >>> ds = RecordFileDataset('train.rec')    # reads train.idx too
        >>> header, payload = kiln.recordio.unpack(ds[0])
    """

    def __init__(self, filename):
        self.idx_file = os.path.splitext(filename)[0] + ".idx"
        self.filename = filename
        self._record = recordio.MXIndexedRecordIO(self.idx_file, self.filename, "r")

    def __getitem__(self, idx):
        return self._record.read_idx(self._record.keys[idx])

    def __len__(self):
        return len(self._record.keys)
