"""Image decoding and encoding on Pillow (the optional ``image`` extra), in OpenCV's conventions.

Why Pillow rather than OpenCV: it is a small, pure-wheel dependency on every platform, while all
the pixel arithmetic MXNet does with OpenCV (resize, crops) already lives in kiln's numpy code
(``image/_numpy.py``), so only the codecs are needed. Both use libjpeg(-turbo)/libpng/zlib, so
decoded pixels match MXNet's (OpenCV) decode of PNG exactly and of JPEG to within rounding.

``decode`` gives what ``mx.image.imdecode`` gives (RGB by default); the ``cv2_*`` pair mirrors
``cv2.imdecode``/``cv2.imencode`` (BGR order) for ``recordio.pack_img``/``unpack_img``.
"""
import io

import numpy as np

from ..base import MXNetError

_EXTS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP"}


def _pil():
    try:
        from PIL import Image, ImageOps
    except ImportError as e:
        raise ImportError("kiln's image decoding and encoding need Pillow: "
                          "pip install 'kiln[image]' (or pip install pillow)") from e
    return Image, ImageOps


def _open(buf, gray=False):
    Image, ImageOps = _pil()
    data = bytes(buf.asnumpy() if hasattr(buf, "asnumpy") else buf)
    try:
        img = Image.open(io.BytesIO(data))
        if gray and img.format == "JPEG":
            img.draft("L", img.size)   # libjpeg's own grey output (the Y plane), as OpenCV
        img.load()
    except Exception as e:  # Pillow raises several types for bad data
        raise MXNetError(f"Decoding failed. Invalid image data ({len(data)} bytes): {e}") from e
    return img, ImageOps


def _to_array(img, flag, fmt):
    """flag 1: (H, W, 3) RGB; 0: (H, W) grey; -1: as stored ((H, W), RGB or RGBA)."""
    if img.mode.startswith("I;16") or img.mode == "I":
        if flag < 0:   # IMREAD_UNCHANGED keeps 16-bit samples
            return np.asarray(img).astype(np.uint16)
        # OpenCV keeps the high byte of 16-bit grey samples
        Image, _ = _pil()
        img = Image.fromarray((np.asarray(img).astype(np.uint32) >> 8).astype(np.uint8))
    if flag > 0:
        img = img.convert("RGB")
    elif flag == 0:
        if img.mode == "L":
            return np.asarray(img)
        rgb = np.asarray(img.convert("RGB")).astype(np.uint32)
        if fmt == "PNG":   # OpenCV lets libpng convert: 15-bit weights, truncated
            grey = (rgb[..., 0] * 9797 + rgb[..., 1] * 19234 + rgb[..., 2] * 3737) >> 15
        else:                     # cvtColor: 14-bit weights, rounded
            grey = (rgb[..., 0] * 4899 + rgb[..., 1] * 9617 + rgb[..., 2] * 1868 + 8192) >> 14
        return grey.astype(np.uint8)
    elif img.mode not in ("L", "RGB", "RGBA"):
        img = img.convert("RGBA" if "A" in img.mode or "transparency" in img.info else "RGB")
    return np.asarray(img)


def cv2_imdecode(buf, flag=1):
    """``cv2.imdecode(buf, flag)``: BGR (or BGRA) numpy array; grey images are 2-D."""
    img, ImageOps = _open(buf, gray=flag == 0)
    fmt = img.format
    if flag >= 0:  # OpenCV honours the EXIF orientation except with IMREAD_UNCHANGED
        img = ImageOps.exif_transpose(img)
    arr = _to_array(img, flag, fmt)
    if arr.ndim == 3:
        arr = arr[..., [2, 1, 0, 3][:arr.shape[2]]]
    return np.ascontiguousarray(arr)


def decode(buf, flag=1, to_rgb=True):
    """``mx.image.imdecode``'s pixels: (H, W, C) uint8 numpy, RGB unless ``to_rgb=False``."""
    arr = cv2_imdecode(buf, flag)
    if arr.ndim == 2:
        return arr[:, :, None]
    if to_rgb:
        arr = arr[..., [2, 1, 0, 3][:arr.shape[2]]]
    return np.ascontiguousarray(arr)


def cv2_imencode(img, img_fmt=".jpg", quality=95):
    """``cv2.imencode(img_fmt, img)`` for a BGR (or grey) uint8 array: the encoded bytes.
    ``quality``: JPEG quality 1-100, or the PNG compression level 0-9."""
    Image, _ = _pil()
    fmt = _EXTS.get(img_fmt.lower())
    if fmt is None:
        raise ValueError(f"unsupported image format {img_fmt!r}; use one of {sorted(_EXTS)}")
    arr = np.asarray(img)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 3:
        arr = arr[..., [2, 1, 0, 3][:arr.shape[2]]]
    if arr.dtype != np.uint8:
        raise TypeError(f"images are encoded from uint8 arrays, got {arr.dtype}")
    out = io.BytesIO()
    opts = {"quality": int(quality)} if fmt == "JPEG" else {}
    if fmt == "PNG":
        opts = {"compress_level": min(max(int(quality), 0), 9)}
    Image.fromarray(np.ascontiguousarray(arr)).save(out, format=fmt, **opts)
    return out.getvalue()


def encode(img, img_fmt=".png", quality=95):
    """Encode an RGB (or grey) (H, W, C) uint8 numpy image; the encoded bytes."""
    arr = np.asarray(img)
    if arr.ndim == 3 and arr.shape[2] >= 3:
        arr = arr[..., [2, 1, 0, 3][:arr.shape[2]]]
    return cv2_imencode(arr, img_fmt, quality)
