"""MXNet 1.9's ``im2col`` and ``col2im``: sliding windows of an image as columns, and back.

``im2col`` turns data (N, C, *spatial) into (N, C * prod(kernel), L), L the number of window
positions (``Convolution``'s output size); column ``c * prod(kernel) + k`` of position ``l``
is channel c at kernel offset k (row-major) of window l. ``col2im`` sums the columns back into
an image of ``output_size`` (overlapping windows add up). Each is the other's gradient.

Example::

    >>> nd.im2col(nd.ones((1, 2, 4, 4)), kernel=(3, 3)).shape         # (1, 18, 4)
    >>> nd.col2im(nd.ones((1, 18, 4)), output_size=(4, 4), kernel=(3, 3)).shape  # (1, 2, 4, 4)
"""
import itertools
import math

import numpy as np

from ...base import OpError
from .. import ops as F
from .._registry import REQUIRED, Aval, Sample, register
from ._im2col import conv_out, crop, offset_slices, pad, tup
from ._samples import rnd

_ATTRS = {"kernel": REQUIRED, "stride": (), "dilate": (), "pad": ()}


def _geometry(spatial_shape, kernel, stride, dilate, pad_):
    n = len(tuple(kernel))
    if len(spatial_shape) != n:
        raise OpError(f"im2col/col2im: a {n}-D kernel needs {n} spatial axes, got "
                      f"{len(spatial_shape)}")
    k, s = tup(kernel, n, 1, "kernel"), tup(stride, n, 1, "stride")
    d, p = tup(dilate, n, 1, "dilate"), tup(pad_, n, 0, "pad")
    out = tuple(conv_out(sz, kk, ss, dd, pp)
                for sz, kk, ss, dd, pp in zip(spatial_shape, k, s, d, p))
    if min(out) < 1:
        raise OpError(f"im2col/col2im: kernel {k} (dilate {d}) does not fit the padded "
                      f"size {tuple(spatial_shape)} + 2 * {p}")
    return k, s, d, p, out


def _im2col_kernel(xp, data, kernel=REQUIRED, stride=(), dilate=(), pad=()):  # noqa: A002
    k, s, d, p, out = _geometry(data.shape[2:], kernel, stride, dilate, pad)
    xpad = _pad(xp, data, p)
    cols = [xpad[(Ellipsis,) + offset_slices(kidx, s, d, out)]
            for kidx in itertools.product(*(range(kk) for kk in k))]
    n, c = data.shape[:2]
    return xp.stack(cols, axis=2).reshape(n, c * len(cols), math.prod(out))


def _pad(xp, x, p):
    return pad(xp, x, p, p)


def _im2col_infer(data, kernel=REQUIRED, stride=(), dilate=(), pad=()):  # noqa: A002
    k, _, _, _, out = _geometry(tuple(data.shape[2:]), kernel, stride, dilate, pad)
    return Aval((data.shape[0], data.shape[1] * math.prod(k), math.prod(out)),
                np.dtype(data.dtype))


def _col2im_kernel(xp, data, output_size=REQUIRED, kernel=REQUIRED, stride=(), dilate=(),
                   pad=()):  # noqa: A002
    size = tuple(int(v) for v in output_size)
    k, s, d, p, out = _geometry(size, kernel, stride, dilate, pad)
    kk = math.prod(k)
    n, ck, _ = data.shape
    if ck % kk:
        raise OpError(f"col2im: {ck} rows are not channels x prod(kernel) = C x {kk}")
    cols = data.reshape((n, ck // kk, kk) + out)
    img = xp.zeros((n, ck // kk) + tuple(sz + 2 * pp for sz, pp in zip(size, p)),
                   dtype=data.dtype)
    for j, kidx in enumerate(itertools.product(*(range(v) for v in k))):
        img[(Ellipsis,) + offset_slices(kidx, s, d, out)] += cols[:, :, j]
    return crop(img, p, size)


def _col2im_infer(data, output_size=REQUIRED, kernel=REQUIRED, stride=(), dilate=(),
                  pad=()):  # noqa: A002
    size = tuple(int(v) for v in output_size)
    k, _, _, _, _ = _geometry(size, kernel, stride, dilate, pad)
    return Aval((data.shape[0], data.shape[1] // math.prod(k)) + size, np.dtype(data.dtype))


im2col = register(
    "im2col", _im2col_kernel, attrs=_ATTRS, infer=_im2col_infer,
    grad=lambda i, o, g, **a: (F.col2im(g[0], output_size=tuple(i[0].shape[2:]), **a),),
    second_order=True, no_onnx="no ONNX lowering written (a Conv with a one-hot kernel would do)",
    ref=lambda data, **a: _im2col_kernel(np, data, **a),
    samples=[Sample(rnd(2, 2, 4, 5), kernel=(2, 3)),
             Sample(rnd(1, 2, 5, 5), kernel=(3, 3), stride=(2, 2), pad=(1, 1), dilate=(1, 1)),
             Sample(rnd(1, 1, 6, 6), kernel=(2, 2), dilate=(2, 2), pad=(1, 0)),
             Sample(rnd(2, 3, 7), kernel=(3,), stride=(2,))],
    doc="""Sliding windows of data (N, C, *spatial) as columns (MXNet ``im2col``): output
    (N, C * prod(kernel), L), L the number of window positions, with ``stride``, ``dilate``
    and zero ``pad`` as in ``Convolution``.

    Example::

        >>> nd.im2col(nd.ones((1, 2, 4, 4)), kernel=(3, 3)).shape     # (1, 18, 4)
    """)

col2im = register(
    "col2im", _col2im_kernel, attrs={"output_size": REQUIRED, **_ATTRS}, infer=_col2im_infer,
    grad=lambda i, o, g, output_size=None, **a: (F.im2col(g[0], **a),),
    second_order=True, no_onnx="no ONNX lowering written (a ConvTranspose would do)",
    ref=lambda data, **a: _col2im_kernel(np, data, **a),
    samples=[Sample(rnd(2, 12, 9), output_size=(4, 5), kernel=(2, 3)),
             Sample(rnd(1, 18, 9), output_size=(5, 5), kernel=(3, 3), stride=(2, 2),
                    pad=(1, 1)),
             Sample(rnd(2, 9, 3), output_size=(7,), kernel=(3,), stride=(2,))],
    doc="""Sums columns (N, C * prod(kernel), L) back into an image (N, C, *output_size)
    (MXNet ``col2im``, the adjoint of ``im2col``: overlapping windows add up).

    Example::

        >>> nd.col2im(nd.ones((1, 18, 4)), output_size=(4, 4), kernel=(3, 3))
    """)
