"""Dataset and model-file helpers of ``kiln.test_utils`` (MXNet 1.9's ``download``,
``get_mnist``, ``get_cifar10``, ``get_zip_data``, ...), over local files only: kiln has no
network at run time, so each helper uses the file MXNet would have downloaded when it is
already there (or ``url`` is itself a local path or ``file://`` URL) and otherwise raises an
error naming the file to provide.

Example::

    >>> download("file:///tmp/x.csv", dirname="data")   # copies /tmp/x.csv to data/x.csv
    'data/x.csv'
"""
import bz2
import gzip
import os
import shutil
import struct
import zipfile

import numpy as np

from ..data.io import MNISTIter

_MNIST_URL = "http://data.mxnet.io/data/mnist/"
_MODEL_URL = "http://data.mxnet.io/models/"
_MODELS = {  # MXNet's default model list: name -> (symbol file, params file) under _MODEL_URL
    "imagenet1k-inception-bn": ("imagenet/inception-bn/Inception-BN-symbol.json",
                                "imagenet/inception-bn/Inception-BN-0126.params"),
    **{f"imagenet1k-resnet-{n}": (f"imagenet/resnet/{n}-layers/resnet-{n}-symbol.json",
                                  f"imagenet/resnet/{n}-layers/resnet-{n}-0000.params")
       for n in (18, 34, 50, 101, 152)},
    **{f"imagenet1k-resnext-{n}": (f"imagenet/resnext/{n}-layers/resnext-{n}-symbol.json",
                                   f"imagenet/resnext/{n}-layers/resnext-{n}-0000.params")
       for n in (50, 101)},
    "imagenet1k-resnext-101-64x4d": ("imagenet/resnext/101-layers/resnext-101-64x4d-symbol.json",
                                     "imagenet/resnext/101-layers/resnext-101-64x4d-0000.params"),
    "imagenet11k-resnet-152": ("imagenet-11k/resnet-152/resnet-152-symbol.json",
                               "imagenet-11k/resnet-152/resnet-152-0000.params"),
    "imagenet11k-place365ch-resnet-152": ("imagenet-11k-place365-ch/resnet-152-symbol.json",
                                          "imagenet-11k-place365-ch/resnet-152-0000.params"),
    "imagenet11k-place365ch-resnet-50": ("imagenet-11k-place365-ch/resnet-50-symbol.json",
                                         "imagenet-11k-place365-ch/resnet-50-0000.params"),
}


def _local_source(url):
    path = url[len("file://"):] if url.startswith("file://") else url
    return path if "://" not in path and os.path.isfile(path) else None


def download(url, fname=None, dirname=None, overwrite=False, retries=5):
    """The local file for ``url``: ``fname`` (default: the URL's last part, inside
    ``dirname`` when given) if it exists and ``overwrite`` is False; a copy of ``url`` when it
    is a local path or ``file://`` URL; otherwise a RuntimeError saying where to put the file
    (kiln does not download). Returns the file name, as MXNet does."""
    assert retries >= 0, "Number of retries should be at least 0"
    fname = url.split("/")[-1] if fname is None else fname
    if dirname is None:
        dirname = os.path.dirname(fname)
    else:
        fname = os.path.join(dirname, fname)
    if not overwrite and os.path.exists(fname):
        return fname
    src = _local_source(url)
    if src is None:
        raise RuntimeError(
            f"kiln cannot download {url!r}: there is no network access at run time. Download "
            f"it yourself and save it as {os.path.abspath(fname)!r}.")
    if dirname:
        os.makedirs(dirname, exist_ok=True)
    if os.path.abspath(src) != os.path.abspath(fname):
        shutil.copyfile(src, fname)
    return fname


def download_model(model_name, dst_dir="./", meta_info=None):
    """``(dst_dir/model_name, 0)`` once ``<model_name>-symbol.json`` and
    ``<model_name>-0000.params`` are in ``dst_dir`` (from ``meta_info[model_name]``'s
    ``'symbol'``/``'params'`` URLs, or MXNet's model list); ``(None, 0)`` for an unknown name."""
    if meta_info is None:
        meta_info = {k: {"symbol": _MODEL_URL + s, "params": _MODEL_URL + p}
                     for k, (s, p) in _MODELS.items()}
    if model_name not in meta_info:
        return None, 0
    os.makedirs(dst_dir, exist_ok=True)
    meta = dict(meta_info[model_name])
    assert "symbol" in meta, "missing symbol url"
    assert "params" in meta, "missing parameter file url"
    prefix = os.path.join(dst_dir, model_name)
    download(meta["symbol"], prefix + "-symbol.json")
    download(meta["params"], prefix + "-0000.params")
    return prefix, 0


def _read_mnist(label_file, image_file):
    with gzip.open(download(_MNIST_URL + label_file)) as f:
        struct.unpack(">II", f.read(8))
        label = np.frombuffer(f.read(), dtype=np.int8)
    with gzip.open(download(_MNIST_URL + image_file), "rb") as f:
        _, _, rows, cols = struct.unpack(">IIII", f.read(16))
        image = np.frombuffer(f.read(), dtype=np.uint8).reshape(len(label), 1, rows, cols)
    return label, image.astype(np.float32) / 255


def get_mnist():
    """MNIST from the four ``*-idx?-ubyte.gz`` files in the current folder, as MXNet
    downloads them: ``{'train_data': (60000, 1, 28, 28) float32 in [0, 1], 'train_label':
    (60000,) int8, 'test_data', 'test_label'}``."""
    train_lbl, train_img = _read_mnist("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz")
    test_lbl, test_img = _read_mnist("t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")
    return {"train_data": train_img, "train_label": train_lbl,
            "test_data": test_img, "test_label": test_lbl}


def get_mnist_pkl():
    """Make sure ``data/mnist.pkl.gz`` exists (RuntimeError naming it otherwise)."""
    os.makedirs("data", exist_ok=True)
    if not os.path.exists("data/mnist.pkl.gz"):
        download("http://deeplearning.net/data/mnist/mnist.pkl.gz", dirname="data")


def _get_zip_into_data(files, url):
    os.makedirs("data", exist_ok=True)
    if not all(os.path.exists(f) for f in files):
        with zipfile.ZipFile(download(url, dirname="data")) as zf:
            zf.extractall("data")


def get_mnist_ubyte():
    """Make sure the four uncompressed MNIST ``*-ubyte`` files are in ``data/`` (extracted
    from ``data/mnist.zip`` when that is there)."""
    _get_zip_into_data([f"data/{n}" for n in ("train-images-idx3-ubyte",
                                              "train-labels-idx1-ubyte",
                                              "t10k-images-idx3-ubyte",
                                              "t10k-labels-idx1-ubyte")],
                       "http://data.mxnet.io/mxnet/data/mnist.zip")


def get_cifar10():
    """Make sure ``data/cifar/{train,test}.{rec,lst}`` exist (extracted from
    ``data/cifar10.zip`` when that is there)."""
    _get_zip_into_data([f"data/cifar/{n}" for n in ("train.rec", "test.rec", "train.lst",
                                                    "test.lst")],
                       "http://data.mxnet.io/mxnet/data/cifar10.zip")


def get_mnist_iterator(batch_size, input_shape, num_parts=1, part_index=0):
    """``(train, val)`` ``MNISTIter``s over ``data/``'s ubyte files (``get_mnist_ubyte``);
    ``input_shape`` of 3 axes gives images, otherwise flat rows."""
    get_mnist_ubyte()
    flat = len(input_shape) != 3
    common = dict(input_shape=input_shape, batch_size=batch_size, flat=flat,
                  num_parts=num_parts, part_index=part_index)
    train = MNISTIter(image="data/train-images-idx3-ubyte", label="data/train-labels-idx1-ubyte",
                      shuffle=True, **common)
    val = MNISTIter(image="data/t10k-images-idx3-ubyte", label="data/t10k-labels-idx1-ubyte",
                    **common)
    return train, val


def get_zip_data(data_dir, url, data_origin_name):
    """Extract ``data_dir/data_origin_name`` (the zip ``url`` names) into ``data_dir``, unless
    it is there already."""
    origin = os.path.join(data_dir, data_origin_name)
    if not os.path.exists(origin):
        download(url, dirname=data_dir, overwrite=False)
        with zipfile.ZipFile(origin) as zf:
            zf.extractall(path=data_dir)


def get_bz2_data(data_dir, data_name, url, data_origin_name):
    """Decompress ``data_dir/data_origin_name`` (the bz2 file ``url`` names) into
    ``data_dir/data_name`` unless that exists; the .bz2 file is removed afterwards, as in
    MXNet."""
    target = os.path.join(data_dir, data_name)
    origin = os.path.join(data_dir, data_origin_name)
    if not os.path.exists(target):
        download(url, fname=data_origin_name, dirname=data_dir, overwrite=False)
        with bz2.BZ2File(origin, "rb") as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.remove(origin)


def get_im2rec_path(home_env="MXNET_HOME"):
    """The path of MXNet's ``im2rec.py`` script under ``$MXNET_HOME`` (``tools/im2rec.py``, or
    ``../../tools/im2rec.py`` of a source build); OSError when it is not there (kiln ships no
    im2rec script: ``kiln.recordio.pack_img`` writes the same records)."""
    root = os.environ.get(home_env)
    for path in ([] if root is None else [os.path.join(root, "tools", "im2rec.py"),
                                          os.path.join(root, "..", "..", "tools", "im2rec.py")]):
        if os.path.isfile(path):
            return path
    raise OSError("Could not find path to tools/im2rec.py")


__all__ = ["download", "download_model", "get_mnist", "get_mnist_pkl", "get_mnist_ubyte",
           "get_cifar10", "get_mnist_iterator", "get_zip_data", "get_bz2_data",
           "get_im2rec_path"]
