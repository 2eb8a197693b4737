"""``mx.io``'s file iterators: ``CSVIter``, ``LibSVMIter`` and ``MNISTIter``, with the batching
of MXNet's C++ loaders.

``round_batch=True`` (the default) fills the last batch from the start of the data and the next
epoch then skips the examples already served (``batch.pad`` counts the filler);
``round_batch=False`` leaves the previous batch's rows in the filler slots, as MXNet does.

Example::

    >>> it = CSVIter(data_csv='x.csv', data_shape=(3,), label_csv='y.csv', batch_size=2)
    >>> [b.pad for b in it]
    [0, 0, 1]
"""
import numpy as np

from .. import ndarray as nd
from .io_base import DataBatch, DataDesc, DataIter
from .vision.datasets import read_idx

__all__ = ["CSVIter", "LibSVMIter", "MNISTIter"]


class _ArrayBatcher(DataIter):
    """Batches over in-memory numpy ``data``/``label`` with the C++ loaders' round_batch."""

    def __init__(self, data, label, batch_size, round_batch, data_name="data",
                 label_name="softmax_label", discard_last=False):
        super().__init__(batch_size)
        self._data, self._label = data, label
        self._round, self._discard = round_batch, discard_last
        self.provide_data = [DataDesc(data_name, (batch_size,) + data.shape[1:], data.dtype.type)]
        self.provide_label = [DataDesc(label_name, (batch_size,) + label.shape[1:],
                                       label.dtype.type)]
        self._start = 0      # where the epoch starts (after a previous wrap-around)
        self._buf = None     # the previous batch's rows, for round_batch=False's filler
        self.reset()

    def reset(self):
        self._cursor = self._start

    def next(self):
        n, bs = len(self._data), self.batch_size
        c = self._cursor
        if c >= n or (self._discard and c + bs > n):
            raise StopIteration
        rows = np.arange(c, min(c + bs, n))
        pad = bs - len(rows)
        self._cursor = c + bs
        if pad and self._round:
            rows = np.concatenate([rows, np.arange(pad) % n])
            self._start = pad % n if pad < n else 0
        elif not pad and c + bs >= n:
            self._start = 0
        data, label = self._data[rows], self._label[rows]
        if pad and not self._round:
            old = self._buf or (np.zeros_like(self._data[:bs]), np.zeros_like(self._label[:bs]))
            data = np.concatenate([data, old[0][bs - pad:]])
            label = np.concatenate([label, old[1][bs - pad:]])
        self._buf = (data, label)
        return DataBatch([self._to_nd(data)], [nd.array(label, dtype=label.dtype)],
                         pad=pad, provide_data=self.provide_data,
                         provide_label=self.provide_label)


    def _to_nd(self, data):
        return nd.array(data, dtype=data.dtype)


def _read_csv(path, shape, dtype):
    try:
        rows = np.loadtxt(path, delimiter=",", dtype=dtype, ndmin=2)
    except ValueError as e:
        raise ValueError(f"{path}: not a CSV file of numbers: {e}") from e
    width = int(np.prod(shape))
    if rows.shape[1] != width:
        raise ValueError(f"{path}: rows have {rows.shape[1]} values, shape {tuple(shape)} needs "
                         f"{width}")
    return rows.reshape((len(rows),) + tuple(shape))


class CSVIter(_ArrayBatcher):
    """Batches from CSV files: each row of ``data_csv`` is one example of ``data_shape``;
    ``label_csv`` rows (``label_shape``) are the labels (zeros without a label file).
    ``dtype``: float32, int32 or int64.

    Example: ``CSVIter(data_csv='x.csv', data_shape=(3,), batch_size=2).provide_data``.
    """

    def __init__(self, data_csv, data_shape, label_csv=None, label_shape=(1,), batch_size=1,
                 round_batch=True, dtype="float32", data_name="data",
                 label_name="softmax_label", **kwargs):
        data = _read_csv(data_csv, data_shape, dtype)
        if label_csv is None:
            label = np.zeros((len(data),) + tuple(label_shape), dtype)
        else:
            label = _read_csv(label_csv, label_shape, dtype)
        if len(label) != len(data):
            raise ValueError(f"CSVIter: {data_csv} has {len(data)} rows, {label_csv} "
                             f"{len(label)}")
        if tuple(label_shape) == (1,):   # MXNet gives (batch,) labels for label_shape (1,)
            label = label.reshape(len(label))
        super().__init__(data, label, batch_size, round_batch, data_name, label_name)


def _read_libsvm(path, width):
    """Dense rows and first labels from a LibSVM file (``label[,label...] idx:value ...``,
    zero-based indices)."""
    labels, rows = [], []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            row = np.zeros(width, np.float32)
            try:
                labels.append(float(parts[0].split(",")[0]))
                for item in parts[1:]:
                    idx, val = item.split(":")
                    row[int(idx)] = float(val)
            except (ValueError, IndexError) as e:
                raise ValueError(f"{path}: line {lineno}: bad LibSVM entry ({e}); expected "
                                 f"'label idx:value ...' with indices below {width}") from e
            rows.append(row)
    return np.array(labels, np.float32), np.array(rows, np.float32).reshape(-1, width)


class LibSVMIter(_ArrayBatcher):
    """Batches from a LibSVM text file (``label idx:value ...``, zero-based feature indices
    below ``data_shape[0]``): the data batches are CSR arrays (``stype == 'csr'``), as MXNet's.
    The file is held dense in memory while iterating. ``label_libsvm`` (optional) holds the
    labels as LibSVM rows of ``label_shape`` (given as dense batches).

    Example: ``LibSVMIter(data_libsvm='x.libsvm', data_shape=(5,), batch_size=3)``.
    """

    def __init__(self, data_libsvm, data_shape, label_libsvm=None, label_shape=(1,),
                 batch_size=1, round_batch=True, data_name="data", label_name="softmax_label",
                 **kwargs):
        label, data = _read_libsvm(data_libsvm, int(np.prod(data_shape)))
        if label_libsvm is not None:
            _, label = _read_libsvm(label_libsvm, int(np.prod(label_shape)))
            if len(label) != len(data):
                raise ValueError(f"LibSVMIter: {data_libsvm} has {len(data)} rows, "
                                 f"{label_libsvm} {len(label)}")
        super().__init__(data, label, batch_size, round_batch, data_name, label_name)

    def _to_nd(self, data):
        return nd.sparse.csr_matrix(data)


class MNISTIter(_ArrayBatcher):
    """MNIST from local idx files (``image``, ``label``; gzipped or not): (N, 1, 28, 28) or,
    with ``flat``, (N, 784) float32 pixels scaled by 1/256 as MXNet's loader does; the
    incomplete last batch is dropped. ``shuffle`` (default True) permutes once with numpy's
    ``RandomState(seed)`` (MXNet's own generator gives a different order).

    Example: ``MNISTIter(image='train-images-idx3-ubyte', label='train-labels-idx1-ubyte',
    batch_size=100, shuffle=False)``.
    """

    def __init__(self, image="./train-images-idx3-ubyte", label="./train-labels-idx1-ubyte",
                 batch_size=128, shuffle=True, flat=False, seed=0, silent=False, num_parts=1,
                 part_index=0, data_name="data", label_name="softmax_label", **kwargs):
        imgs = read_idx(image)
        labels = read_idx(label).astype(np.float32)
        if imgs.ndim != 3 or labels.ndim != 1 or len(imgs) != len(labels):
            raise ValueError(f"MNISTIter: {image} ({imgs.shape}) and {label} ({labels.shape}) "
                             "are not matching idx image and label files")
        part = len(imgs) // num_parts
        sel = slice(part_index * part, (part_index + 1) * part)
        imgs, labels = imgs[sel], labels[sel]
        if shuffle:
            order = np.random.RandomState(seed).permutation(len(imgs))
            imgs, labels = imgs[order], labels[order]
        data = imgs.astype(np.float32) / 256.0
        data = data.reshape(len(data), -1) if flat else data[:, None]
        super().__init__(data, labels, batch_size, True, data_name, label_name,
                         discard_last=True)
