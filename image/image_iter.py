"""``mx.image.ImageIter``: batches of augmented images from a RecordIO file, an image list
file or a Python list, with MXNet 1.9's ``last_batch_handle`` behaviour.

Example::

    >>> it = ImageIter(4, (3, 32, 32), path_imgrec='data.rec', path_imgidx='data.idx',
    ...                shuffle=True, rand_mirror=True)
    >>> batch = it.next(); batch.data[0].shape
    (4, 3, 32, 32)
"""
import os
import random
from numbers import Number

import numpy as np

from .. import ndarray as nd
from ..data import recordio
from ..data.io_base import DataBatch, DataDesc, DataIter
from .augmenters import CreateAugmenter
from .image import imdecode

__all__ = ["ImageIter"]


def _read_imglist(path, dtype):
    """``{key: (label array, file name)}`` and the keys in order, from an .lst file
    (``index\\tlabel...\\tpath`` lines)."""
    imglist, keys = {}, []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            fields = line.strip().split("\t")
            if len(fields) < 3:
                raise ValueError(f"{path}: line {lineno} is not 'index<TAB>label...<TAB>path'")
            key = int(fields[0])
            imglist[key] = (np.array(fields[1:-1], dtype=dtype), fields[-1])
            keys.append(key)
    return imglist, keys


def _list_imglist(items, dtype):
    imglist, keys = {}, []
    for i, item in enumerate(items, 1):
        if len(item) > 2:
            label = np.array(item[:-1], dtype=dtype)
        elif isinstance(item[0], Number):
            label = np.array([item[0]], dtype=dtype)
        else:
            label = np.array(item[0], dtype=dtype)
        imglist[str(i)] = (label, item[-1])
        keys.append(str(i))
    return imglist, keys


class ImageIter(DataIter):
    """Images and labels in (N, C, H, W) float32 batches, augmented by ``aug_list`` (default:
    ``CreateAugmenter(data_shape, **kwargs)``).

    Sources: ``path_imgrec`` (+ ``path_imgidx`` for shuffling and parts), ``path_imglist``
    (an .lst file, images under ``path_root``) or ``imglist`` (``[[label..., path], ...]``).
    ``last_batch_handle``: 'pad' (fill from the start; ``batch.pad`` counts the filler),
    'discard' or 'roll_over'. Shuffling uses Python's ``random``.

    Example: ``ImageIter(2, (3, 8, 8), imglist=[[0, 'a.png'], [1, 'b.png']], path_root='.')``.
    """

    def __init__(self, batch_size, data_shape, label_width=1, path_imgrec=None,
                 path_imglist=None, path_root=None, path_imgidx=None, shuffle=False,
                 part_index=0, num_parts=1, aug_list=None, imglist=None, data_name="data",
                 label_name="softmax_label", dtype="float32", last_batch_handle="pad",
                 **kwargs):
        super().__init__(batch_size)
        if not (path_imgrec or path_imglist or isinstance(imglist, list)):
            raise ValueError("ImageIter needs path_imgrec, path_imglist or imglist")
        if dtype not in ("int32", "float32", "int64", "float64"):
            raise ValueError(f"ImageIter: label dtype {dtype} is not supported")
        if last_batch_handle not in ("pad", "discard", "roll_over"):
            raise ValueError(f"ImageIter: unknown last_batch_handle {last_batch_handle!r}")
        self.imgrec, self.imgidx = None, None
        if path_imgrec and path_imgidx:
            self.imgrec = recordio.MXIndexedRecordIO(path_imgidx, path_imgrec, "r")
            self.imgidx = list(self.imgrec.keys)
        elif path_imgrec:
            self.imgrec = recordio.MXRecordIO(path_imgrec, "r")
        self.imglist, keys = None, None
        if path_imglist:
            self.imglist, keys = _read_imglist(path_imglist, dtype)
        elif isinstance(imglist, list):
            self.imglist, keys = _list_imglist(imglist, dtype)
        self.path_root = path_root
        self.check_data_shape(data_shape)
        self.data_shape, self.label_width, self.dtype = tuple(data_shape), label_width, dtype
        label_shape = (batch_size, label_width) if label_width > 1 else (batch_size,)
        self.provide_data = [DataDesc(data_name, (batch_size,) + self.data_shape)]
        self.provide_label = [DataDesc(label_name, label_shape, np.dtype(dtype).type)]
        self.shuffle = shuffle
        if self.imgrec is None:
            self.seq = keys
        elif shuffle or num_parts > 1 or path_imgidx:
            if self.imgidx is None:
                raise ValueError("ImageIter: shuffle and num_parts need path_imgidx")
            self.seq = self.imgidx
        else:
            self.seq = None
        if num_parts > 1:
            if not 0 <= part_index < num_parts:
                raise ValueError(f"ImageIter: part_index {part_index} not below {num_parts}")
            part = len(self.seq) // num_parts
            self.seq = self.seq[part_index * part:(part_index + 1) * part]
        self.auglist = CreateAugmenter(data_shape, **kwargs) if aug_list is None else aug_list
        self.cur = 0
        self._allow_read = True
        self.last_batch_handle = last_batch_handle
        self.num_image = len(self.seq) if self.seq is not None else None
        self._cache = None   # (data, label, filled) of a rolled-over partial batch
        self.reset()

    def reset(self):
        """Next epoch (reshuffled); a 'roll_over' tail stays for the first batch."""
        if self.seq is not None and self.shuffle:
            random.shuffle(self.seq)
        if self.last_batch_handle != "roll_over" or self._cache is None:
            if self.imgrec is not None:
                self.imgrec.reset()
            self.cur = 0
            self._allow_read = True

    def hard_reset(self):
        """Next epoch, dropping any rolled-over images."""
        self._cache = None
        self.reset()

    def next_sample(self):
        """``(label, encoded image bytes)`` of the next image; StopIteration at the end."""
        if not self._allow_read:
            raise StopIteration
        if self.seq is None:
            s = self.imgrec.read()
            if s is None:
                if self.last_batch_handle != "discard":
                    self.imgrec.reset()
                raise StopIteration
            header, img = recordio.unpack(s)
            return header.label, img
        if self.cur >= self.num_image:
            if self.last_batch_handle != "discard":
                self.cur = 0
            raise StopIteration
        idx = self.seq[self.cur]
        self.cur += 1
        if self.imgrec is not None:
            header, img = recordio.unpack(self.imgrec.read_idx(idx))
            return (header.label if self.imglist is None else self.imglist[idx][0]), img
        label, fname = self.imglist[idx]
        return label, self.read_image(fname)

    def _fill(self, data, label, start):
        """Decode, augment and store images from ``start`` on; the count filled."""
        i = start
        try:
            while i < self.batch_size:
                lab, s = self.next_sample()
                img = self.augmentation_transform(self.imdecode(s))
                data[i] = self.postprocess_data(img)
                lab = np.asarray(lab).reshape(-1)
                if lab.size != self.label_width:
                    raise ValueError(f"the record gives {lab.size} labels but label_width is "
                                     f"{self.label_width}")
                label[i] = lab.reshape(label[i].shape)
                i += 1
        except StopIteration:
            if not i:
                raise
        return i

    def next(self):
        if self._cache is not None:
            data, label, i = self._cache
        else:
            data = np.zeros((self.batch_size,) + self.data_shape, np.float32)
            label = np.zeros(self.provide_label[0].shape, self.dtype)
            i = self._fill(data, label, 0)
        pad = self.batch_size - i
        if pad:
            if self.last_batch_handle == "discard":
                raise StopIteration
            if self.last_batch_handle == "roll_over" and self._cache is None:
                self._cache = (data, label, i)
                raise StopIteration
            self._fill(data, label, i)
            if self.last_batch_handle == "pad":
                self._allow_read = False
            else:
                self._cache = None
        return DataBatch([nd.array(data)], [nd.array(label, dtype=self.dtype)], pad=pad,
                         provide_data=self.provide_data, provide_label=self.provide_label)

    def check_data_shape(self, data_shape):
        """``data_shape`` must be (3, H, W)."""
        if len(data_shape) != 3:
            raise ValueError("data_shape should have length 3, with dimensions CxHxW")
        if data_shape[0] != 3:
            raise ValueError("This iterator expects inputs to have 3 channels.")

    def imdecode(self, s):
        """Decode one image; a broken one raises naming its file or index."""
        try:
            return imdecode(s)
        except Exception as e:
            where = self.seq[self.cur - 1] if self.seq is not None else "sequential record"
            if self.imglist is not None and where in self.imglist:
                where = f"filename: {self.imglist[where][1]}"
            raise RuntimeError(f"Broken image {where}: {e}") from e

    def read_image(self, fname):
        """The bytes of ``path_root/fname``."""
        with open(os.path.join(self.path_root or "", fname), "rb") as f:
            return f.read()

    def augmentation_transform(self, data):
        """Runs the augmenters."""
        for aug in self.auglist:
            data = aug(data)
        return data

    def postprocess_data(self, datum):
        """(H, W, C) -> (C, H, W) numpy."""
        return np.transpose(datum.asnumpy(), (2, 0, 1))
