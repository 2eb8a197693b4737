"""MNIST, FashionMNIST, CIFAR10 and CIFAR100 read from local files (``gluon.data.vision``).

kiln never downloads: put the standard files in ``root`` (default
``$MXNET_HOME/datasets/<name>``, ``MXNET_HOME`` defaulting to ``~/.mxnet``, where MXNet keeps
them). Samples are ``(image, label)``: the image an (H, W, C) uint8 NDArray, the label a numpy
int32 scalar; ``transform(image, label)`` is applied on access, as in MXNet.

Example::

    >>> train = MNIST(root='/data/mnist', train=True)   # reads train-images-idx3-ubyte(.gz)
    >>> img, label = train[0]; img.shape
    (28, 28, 1)
"""
import gzip
import os
import struct
import warnings

import numpy as np

from ... import image as _image
from ...base import FileFormatError
from ...ndarray import array as _nd_array
from .. import recordio
from ..dataset import Dataset, RecordFileDataset

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "ImageRecordDataset",
           "ImageFolderDataset"]


def _default_root(name):
    return os.path.join(os.environ.get("MXNET_HOME", os.path.join("~", ".mxnet")),
                        "datasets", name)


def _find(root, names, dataset):
    """The first existing file of ``names`` in ``root``, or a clear error saying where to put
    them."""
    for name in names:
        path = os.path.join(root, name)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        f"{dataset}: file {names[0]!r} not found in {root!r}. kiln does not download data sets: "
        f"download it yourself and place it there (or pass root=<folder holding it>).")


class _DownloadedDataset(Dataset):
    """Images and labels held in memory; ``transform(data, label)`` on access."""

    def __init__(self, root, transform):
        self._transform = transform
        self._root = os.path.expanduser(root)
        self._data = None
        self._label = None
        self._get_data()

    def __getitem__(self, idx):
        if self._transform is not None:
            return self._transform(self._data[idx], self._label[idx])
        return self._data[idx], self._label[idx]

    def __len__(self):
        return len(self._label)

    def _get_data(self):
        raise NotImplementedError


def read_idx(path):
    """The array in an idx file (MNIST's format; gzipped when the name ends in ``.gz``),
    checked against its declared dimensions before it is shaped."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 8:
        raise FileFormatError(path, "not an idx file of unsigned bytes (bad magic at byte 0)")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise FileFormatError(path, f"truncated: the header declares {ndim} dimensions")
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    need = 4 + 4 * ndim + int(np.prod(dims, dtype=np.int64))
    if len(raw) != need:
        raise FileFormatError(path, f"dimensions {dims} need {need} bytes, the file has "
                                    f"{len(raw)}")
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class MNIST(_DownloadedDataset):
    """The MNIST digits: 28x28x1 uint8 images, int32 labels. Needs
    ``train-images-idx3-ubyte.gz``/``train-labels-idx1-ubyte.gz`` (or ``t10k-*`` for the test
    split), gzipped or not, in ``root``."""

    _name = "mnist"

    def __init__(self, root=None, train=True, transform=None):
        self._train = train
        super().__init__(root or _default_root(self._name), transform)

    def _get_data(self):
        prefix = "train" if self._train else "t10k"
        files = []
        for kind in ("images-idx3", "labels-idx1"):
            base = f"{prefix}-{kind}-ubyte"
            files.append(_find(self._root, (base + ".gz", base), type(self).__name__))
        data = read_idx(files[0])
        label = read_idx(files[1]).astype(np.int32)
        data = data.reshape(len(label), 28, 28, 1)
        self._data = _nd_array(data, dtype=data.dtype)
        self._label = label


class FashionMNIST(MNIST):
    """Fashion-MNIST: same files and format as ``MNIST`` (default root ``.../fashion-mnist``)."""

    _name = "fashion-mnist"


class CIFAR10(_DownloadedDataset):
    """CIFAR-10: 32x32x3 uint8 images, int32 labels. Reads the binary version
    (``data_batch_1..5.bin``, ``test_batch.bin``) from ``root`` or
    ``root/cifar-10-batches-bin``."""

    _name = "cifar10"
    _folder = "cifar-10-batches-bin"

    def __init__(self, root=None, train=True, transform=None):
        self._train = train
        super().__init__(root or _default_root(self._name), transform)

    def _files(self):
        if self._train:
            return [f"data_batch_{i}.bin" for i in range(1, 6)]
        return ["test_batch.bin"]

    def _read_batch(self, path):
        raw = np.fromfile(path, dtype=np.uint8).reshape(-1, 3072 + 1)
        return raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), raw[:, 0]

    def _get_data(self):
        parts = []
        for name in self._files():
            path = _find(self._root, (os.path.join(self._folder, name), name),
                         type(self).__name__)
            parts.append(self._read_batch(path))
        data = np.concatenate([p[0] for p in parts])
        self._data = _nd_array(data, dtype=data.dtype)
        self._label = np.concatenate([p[1] for p in parts]).astype(np.int32)


class CIFAR100(CIFAR10):
    """CIFAR-100 binary version (``train.bin``/``test.bin``); ``fine_label`` picks the 100
    fine classes instead of the 20 coarse ones."""

    _name = "cifar100"
    _folder = "cifar-100-binary"

    def __init__(self, root=None, fine_label=False, train=True, transform=None):
        self._fine_label = fine_label
        super().__init__(root, train, transform)

    def _files(self):
        return ["train.bin" if self._train else "test.bin"]

    def _read_batch(self, path):
        raw = np.fromfile(path, dtype=np.uint8).reshape(-1, 3072 + 2)
        images = raw[:, 2:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return images, raw[:, 0 + self._fine_label]


class ImageRecordDataset(RecordFileDataset):
    """Images in a RecordIO file (with its ``.idx``): samples ``(image, label)``, the image
    decoded to an (H, W, C) uint8 NDArray (``flag`` 1: RGB, 0: grey), the label the header's
    (a float, or a float32 array for multi-label records). Needs Pillow.

    Example::

        >>> img, label = ImageRecordDataset('train.rec')[0]
    """

    def __init__(self, filename, flag=1, transform=None):
        super().__init__(filename)
        self._flag = flag
        self._transform = transform

    def __getitem__(self, idx):
        header, img = recordio.unpack(super().__getitem__(idx))
        img = _image.imdecode(img, self._flag)
        if self._transform is not None:
            return self._transform(img, header.label)
        return img, header.label


class ImageFolderDataset(Dataset):
    """Images in class folders, ``root/<class>/<image>``: samples ``(image, label)`` with the
    label the class's index in ``synsets`` (the sorted folder names). Files other than .jpg,
    .jpeg and .png are skipped with a warning. Needs Pillow.

    Example::

        >>> ds = ImageFolderDataset('photos/')     # photos/cat/1.jpg, photos/dog/2.png, ...
        >>> ds.synsets, ds[0][1]
        (['cat', 'dog'], 0)
    """

    def __init__(self, root, flag=1, transform=None):
        self._root = os.path.expanduser(root)
        self._flag = flag
        self._transform = transform
        self._exts = [".jpg", ".jpeg", ".png"]
        self._list_images(self._root)

    def _list_images(self, root):
        self.synsets, self.items = [], []
        for folder in sorted(os.listdir(root)):
            path = os.path.join(root, folder)
            if not os.path.isdir(path):
                warnings.warn(f"Ignoring {path}, which is not a directory.", stacklevel=3)
                continue
            label = len(self.synsets)
            self.synsets.append(folder)
            for filename in sorted(os.listdir(path)):
                filename = os.path.join(path, filename)
                ext = os.path.splitext(filename)[1]
                if ext.lower() not in self._exts:
                    warnings.warn(f"Ignoring {filename} of type {ext}. Only support "
                                  f"{', '.join(self._exts)}", stacklevel=3)
                    continue
                self.items.append((filename, label))

    def __getitem__(self, idx):
        img = _image.imread(self.items[idx][0], self._flag)
        label = self.items[idx][1]
        if self._transform is not None:
            return self._transform(img, label)
        return img, label

    def __len__(self):
        return len(self.items)
