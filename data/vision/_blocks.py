"""The numpy-computed transform base shared by ``transforms.py`` and ``transforms_color.py``."""
import numpy as np

from ...ndarray import NDArray
from ...ndarray import array as _nd_array
from ...nn import HybridBlock


def _np(x):
    return x.asnumpy() if isinstance(x, NDArray) else np.asarray(x)


def _nd(a, like):
    ctx = like.context if isinstance(like, NDArray) else None
    return _nd_array(a, ctx=ctx, dtype=a.dtype)


def _wh(size):
    """An int or (w, h) size as a (w, h) tuple."""
    if isinstance(size, (int, np.integer)):
        return (int(size), int(size))
    return tuple(int(s) for s in size)


class _NumpyHybrid(HybridBlock):
    """A HybridBlock computed by numpy code: ``_apply(np_image) -> np_image``."""

    def _apply(self, img):
        raise NotImplementedError

    def forward(self, x):
        if not isinstance(x, (NDArray, np.ndarray)):
            raise TypeError(f"{type(self).__name__} runs numpy code and cannot be traced inside "
                            f"a hybridized block; apply it outside (e.g. in a Compose).")
        return _nd(self._apply(_np(x)), x)

    def __call__(self, x, *args):
        # Always eager: the numpy computation cannot be traced into a graph.
        return self.forward(x, *args)


def _saturate(out, dtype):
    """``out`` cast to ``dtype``; integers are clipped to the type and truncated, as MXNet's
    image kernels (``static_cast`` after clamping) do."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        out = np.clip(out, info.min, info.max)
    return out.astype(dtype)
