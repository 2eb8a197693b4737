"""Window geometry shared by convolution, deconvolution and pooling (numpy or cupy via ``xp``).

Attribute normalisation (``tup``, ``spatial``), output sizes, pooling geometry and the slicing
helpers the numpy references and max-pool's second-order gather use. The kernels' im2col and
col2im live in ``_conv_gemm`` (column buffer without padded copies).
"""
import math

import numpy as np

from ...base import OpError


def tup(v, n, default, name="attr"):
    """Normalise an MXNet shape attribute to an ``n``-tuple of ints (empty -> ``default``)."""
    if v is None or (isinstance(v, (tuple, list)) and len(v) == 0):
        return (int(default),) * n
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = tuple(int(a) for a in v)
    if len(v) == 1 and n > 1:
        return v * n
    if len(v) != n:
        raise OpError(f"{name}={v} must have {n} values (one per spatial axis)")
    return v


def spatial(kernel, ndim, op="convolution"):
    """Number of spatial axes given the kernel and the data rank; checks they agree."""
    nsp = len(tuple(kernel)) if isinstance(kernel, (tuple, list)) else 1
    if ndim != nsp + 2:
        raise OpError(f"{op}: a {nsp}-D kernel needs {nsp + 2}-D data (N, C, ...), got {ndim}-D")
    return nsp


def check_layout(layout, nsp, op):
    if layout is not None and layout not in ("NCW", "NCHW", "NCDHW"):
        raise OpError(f"{op}: layout {layout!r} is not supported (channel-first only, as "
                      f"MXNet on CPU)")


def conv_out(size, k, s, d, p):
    """Output length of a convolution along one axis."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def pad(xp, x, begin, end, value=0):
    """Pad the trailing ``len(begin)`` axes (negative ``end`` values are treated as 0)."""
    end = [max(e, 0) for e in end]
    if not any(begin) and not any(end):
        return x
    widths = [(0, 0)] * (x.ndim - len(begin)) + list(zip(begin, end))
    return xp.pad(x, widths, mode="constant", constant_values=value)


def offset_slices(kidx, stride, dilate, out):
    """Slices of the padded input that kernel offset ``kidx`` touches, one per spatial axis."""
    return tuple(slice(k * d, k * d + s * (o - 1) + 1, s)
                 for k, d, s, o in zip(kidx, dilate, stride, out))


def crop(x, begin, size):
    """``x[..., b:b+n, ...]`` over the trailing spatial axes."""
    sl = tuple(slice(b, b + n) for b, n in zip(begin, size))
    return x[(Ellipsis,) + sl]


# ---- pooling geometry -------------------------------------------------------------------------
class PoolGeom:
    """Kernel, stride, begin/end padding and output size of a pooling along each axis."""

    def __init__(self, shape, kernel, stride, pad_, global_pool, convention, op="pooling"):
        sp = tuple(shape[2:])
        n = len(sp)
        if n < 1:
            raise OpError(f"{op}: data must be at least 3-D (N, C, ...), got shape {shape}")
        if global_pool:
            k, s, p = sp, (1,) * n, (0,) * n
        else:
            if kernel is None or (isinstance(kernel, (tuple, list)) and len(kernel) == 0):
                raise OpError(f"{op}: kernel is required unless global_pool=True")
            spatial(kernel, len(shape), op)   # an int kernel is one spatial axis, as MXNet
            if convention == "same":
                # 'same' derives its own padding: MXNet only checks the given one is zero
                # (and reads no more values than the kernel has axes)
                pads = (pad_,) if isinstance(pad_, (int, np.integer)) else tuple(pad_ or ())
                if any(int(q) != 0 for q in pads):
                    raise OpError(f"{op}: pad must be 0 with pooling_convention='same', got "
                                  f"{pad_}")
                pad_ = ()
            k, s, p = tup(kernel, n, 1), tup(stride, n, 1), tup(pad_, n, 0)
        self.kernel, self.stride, self.begin = k, s, p
        if convention == "full" and not global_pool:
            out = [-(-(x + 2 * q - kk) // ss) + 1 for x, kk, ss, q in zip(sp, k, s, p)]
        elif convention == "same" and not global_pool:
            out = [-(-x // ss) for x, ss in zip(sp, s)]
            tot = [max((o - 1) * ss + kk - x, 0) for o, ss, kk, x in zip(out, s, k, sp)]
            self.begin = p = tuple(t // 2 for t in tot)
        elif convention in ("valid", "full", "same"):
            out = [(x + 2 * q - kk) // ss + 1 for x, kk, ss, q in zip(sp, k, s, p)]
        else:
            raise OpError(f"{op}: unknown pooling_convention {convention!r}")
        if min(out) < 1:
            raise OpError(f"{op}: kernel {k} is larger than the padded input {sp}")
        self.out, self.size = tuple(out), sp
        # the end padding covers the last window (``full`` windows may run past ``x + pad``)
        self.end = tuple(max((o - 1) * ss + kk - x - b, 0)
                         for o, ss, kk, x, b in zip(out, s, k, sp, p))

    def divisor(self, count_include_pad):
        """Per-output-position averaging count ``(*out,)`` as float64 (MXNet's rule)."""
        grids = []
        for o, k, s, b, x in zip(self.out, self.kernel, self.stride, self.begin, self.size):
            start = np.arange(o) * s - b
            end = np.minimum(start + k, x + b)   # clipped to the padded input
            if not count_include_pad:
                start, end = np.maximum(start, 0), np.minimum(end, x)
            grids.append(np.maximum(end - start, 1).astype(np.float64))
        return math.prod(np.ix_(*grids)) if len(grids) > 1 else grids[0]
