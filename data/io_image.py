"""``mx.io.ImageRecordIter``: MXNet's C++ image RecordIO iterator, built on ``ImageIter``.

Example::

    >>> it = ImageRecordIter(path_imgrec='train.rec', data_shape=(3, 224, 224), batch_size=32,
    ...                      resize=256, rand_crop=True, rand_mirror=True,
    ...                      mean_r=123.68, mean_g=116.28, mean_b=103.53)
    >>> it.next().data[0].shape
    (32, 3, 224, 224)
"""
import numpy as np

from .. import ndarray as nd
from ..image import augmenters as aug
from ..image.image_iter import ImageIter

__all__ = ["ImageRecordIter"]


class _ScaleAug(aug.Augmenter):
    """``(x - mean) / std * scale`` per RGB channel (the C++ iterator's normalization)."""

    def __init__(self, mean, std, scale):
        super().__init__(mean=mean, std=std, scale=scale)
        self.mean, self.std, self.scale = (nd.array(mean), nd.array(std), scale)

    def __call__(self, src):
        return (src - self.mean.as_in_context(src.context)) / \
            self.std.as_in_context(src.context) * self.scale


class ImageRecordIter(ImageIter):
    """Decoded, augmented (N, 3, H, W) float32 batches from an image RecordIO file (as written
    by ``im2rec`` or ``recordio.pack_img``), with the C++ iterator's arguments: ``resize``
    (short edge, before cropping), ``rand_crop`` (else a centre crop), ``rand_mirror``,
    ``mean_r/g/b``, ``std_r/g/b``, ``scale``, ``label_width``, ``shuffle`` (needs
    ``path_imgidx``), ``num_parts``/``part_index`` and ``round_batch`` (fill the last batch from
    the start and begin the next epoch after the images so served, as the C++ iterator does;
    else drop the incomplete batch). Decoding threads and prefetch sizes are accepted and ignored;
    wrap it in ``PrefetchingIter`` to decode in the background.

    Example: ``ImageRecordIter(path_imgrec='x.rec', data_shape=(3, 32, 32), batch_size=8)``.
    """

    def __init__(self, path_imgrec, data_shape, batch_size, path_imgidx=None, label_width=1,
                 shuffle=False, round_batch=True, resize=-1, rand_crop=False,
                 rand_mirror=False, mean_r=0.0, mean_g=0.0, mean_b=0.0, std_r=1.0, std_g=1.0,
                 std_b=1.0, scale=1.0, num_parts=1, part_index=0, data_name="data",
                 label_name="softmax_label", inter_method=1, **kwargs):
        augs = aug.CreateAugmenter(data_shape, resize=max(resize, 0), rand_crop=rand_crop,
                                   rand_mirror=rand_mirror, inter_method=inter_method)
        mean, std = (mean_r, mean_g, mean_b), (std_r, std_g, std_b)
        if np.any(mean) or np.any(np.array(std) != 1) or scale != 1:
            augs.append(_ScaleAug(mean, std, scale))
        super().__init__(batch_size, tuple(data_shape), label_width=label_width,
                         path_imgrec=path_imgrec, path_imgidx=path_imgidx, shuffle=shuffle,
                         part_index=part_index, num_parts=num_parts, aug_list=augs,
                         data_name=data_name, label_name=label_name,
                         last_batch_handle="pad" if round_batch else "discard")
        self._served = 0   # images of the next epoch already served as padding

    def next(self):
        batch = super().next()
        self._served = batch.pad
        return batch

    def reset(self):
        super().reset()
        skip, self._served = getattr(self, "_served", 0), 0
        for _ in range(skip):   # the C++ loader resumes after the wrapped-around images
            self.next_sample()
