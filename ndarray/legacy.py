"""Two legacy entry points of MXNet 1.9's ``mx.nd``: ``CachedOp`` (a Symbol made callable on
NDArrays) and the deprecated ``imdecode`` (decode to (C, H, W) in OpenCV's channel order).

Both need layers above ndarray/: a CachedOp takes a Symbol, which it only duck-types
(``list_inputs`` and ``eval``, evaluated op by op through the registry, so autograd records
it), and ``imdecode`` decodes through the codec that ``kiln.image`` registers with
``register_image_decoder`` when it loads (it needs Pillow).

Example::

    >>> op = nd.CachedOp(sym.FullyConnected(sym.var('x'), num_hidden=2, name='fc'))
    >>> op(nd.ones((3, 4)), nd.ones((2, 4)), nd.zeros((2,))).shape     # x, fc_weight, fc_bias
    (3, 2)
"""
import numpy as np

from ..base import MXNetError
from .ndarray import NDArray

_decoder = None   # fn(bytes, flag) -> (H, W[, C]) uint8 numpy in OpenCV's BGR(A) order


def register_image_decoder(fn):
    """Install the image codec behind ``nd.imdecode`` (``kiln.image`` does, at import):
    ``fn(buf, flag)`` decodes as ``cv2.imdecode`` (flag 0 grey, -1 as stored)."""
    global _decoder
    _decoder = fn


class CachedOp:
    """A Symbol callable on NDArrays (MXNet's ``nd.CachedOp(sym, flags=())``): the arguments
    are the symbol's inputs in ``sym.list_inputs()`` order (auxiliary states included).
    Returns one NDArray for a one-output symbol, else a list. ``flags`` (MXNet's
    ``static_alloc``, ``static_shape``...) are accepted and kept; kiln compiles graphs
    through ``HybridBlock.hybridize``.

    Example::

        >>> op = nd.CachedOp(sym.var('a') * 2 + sym.var('b'))
        >>> op(nd.ones((2,)), nd.ones((2,)))      # [3. 3.]
    """

    def __init__(self, sym, flags=()):
        if not (hasattr(sym, "list_inputs") and hasattr(sym, "eval")):
            raise TypeError(f"CachedOp needs a Symbol, got {type(sym).__name__}")
        self._sym, self.flags = sym, dict(flags)
        self._names = sym.list_inputs()

    def __call__(self, *args, out=None, default_ctx=None):
        if len(args) != len(self._names):
            raise MXNetError(f"CachedOp: the symbol has {len(self._names)} inputs "
                             f"{self._names}, got {len(args)} arrays")
        res = self._sym.eval(default_ctx, **dict(zip(self._names, args)))
        if out is not None:
            outs = out if isinstance(out, (list, tuple)) else [out]
            for dst, src in zip(outs, res):
                dst[:] = src
            return out
        return res[0] if len(res) == 1 else list(res)


def imdecode(str_img, clip_rect=(0, 0, 0, 0), out=None, index=0, channels=3, mean=None):
    """Decode an image (MXNet's deprecated ``nd.imdecode``; prefer ``mx.image.imdecode``):
    (channels, H, W) in OpenCV's channel order (BGR), clipped to ``clip_rect`` = (x0, y0, x1,
    y1) (all zeros: the whole image), minus ``mean`` (channels, H, W) when given; float32, or
    mean's dtype. With ``out`` (C, H, W) or (N, C, H, W) (slice ``index``) it writes there.

    Example::

        >>> nd.imdecode(open('cat.png', 'rb').read()).shape     # (3, H, W) float32, BGR
    """
    if _decoder is None:
        raise MXNetError("nd.imdecode decodes through kiln.image, which is not loaded: "
                         "import kiln (image decoding needs Pillow)")
    img = _decoder(str_img, 0 if channels == 1 else -1)
    img = img[:, :, None] if img.ndim == 2 else img
    if channels > img.shape[2]:
        raise MXNetError(f"imdecode: {channels} channels asked of an image with "
                         f"{img.shape[2]}")
    x0, y0, x1, y1 = (int(c) for c in clip_rect)
    if y1 - y0 == 0:   # MXNet's test for "no clip"
        x0, y0, x1, y1 = 0, 0, img.shape[1], img.shape[0]
    if x1 > img.shape[1] or y1 > img.shape[0]:
        raise MXNetError(f"imdecode: clip_rect {tuple(clip_rect)} exceeds the image's "
                         f"{img.shape[1]}x{img.shape[0]} pixels")
    pix = np.transpose(img[y0:y1, x0:x1, :channels], (2, 0, 1))
    if mean is None:
        res = pix.astype(np.float32)
    else:
        m = mean.asnumpy() if isinstance(mean, NDArray) else np.asarray(mean)
        if m.shape != pix.shape:
            raise MXNetError(f"imdecode: mean has shape {m.shape}, the image {pix.shape}")
        res = pix.astype(m.dtype) - m
    if out is None:
        return NDArray(res)
    if out.ndim == 3:
        out[:] = res
    else:
        out[index] = res
    return out
