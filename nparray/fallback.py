"""``kiln.np`` functions computed by official NumPy on the host, as MXNet 1.9's own
``mx.np`` falls back to NumPy for them (its ``numpy.fallback`` list): set operations, searching
and counting, polynomials, statistics such as ``percentile``/``cov``, window functions.

The arguments' ``kiln.np`` arrays are copied to the host, NumPy computes, and array results
come back as ``kiln.np`` arrays on the first argument's device. These are not differentiable
and cannot run inside a hybridized forward (a traced value has no data), exactly as in MXNet.

Example::

    >>> from kiln import np
    >>> np.unique(np.array([3, 1, 3, 2]))
    array([1., 2., 3.])
"""
import functools

import numpy as onp

from ..ndarray.ndarray import NDArray
from .creation import array

# name in kiln.np -> NumPy's function (some renamed or removed by NumPy 2)
_SAME = """
allclose argpartition argwhere array_equal array_equiv apply_along_axis apply_over_axes
bincount blackman choose compress corrcoef correlate cov delete diag_indices_from digitize
extract flatnonzero gcd hamming hanning histogram histogram2d histogram_bin_edges histogramdd
i0 indices insert interp intersect1d isin ix_ lcm lexsort nanargmax nanargmin nancumprod
nancumsum nanmax nanmedian nanmin nanpercentile nanprod nanquantile packbits partition
percentile piecewise poly polyadd polydiv polyfit polyint polymul polysub polyval quantile
resize roots searchsorted select setdiff1d setxor1d spacing tril_indices_from trim_zeros
triu_indices_from union1d unique unpackbits unravel_index unwrap vander
""".split()
_RENAMED = {"trapz": getattr(onp, "trapezoid", None), "in1d": onp.isin,
            "msort": lambda a: onp.sort(a, axis=0)}


def _host(x):
    if isinstance(x, NDArray):
        return x.asnumpy()
    if isinstance(x, (list, tuple)) and any(isinstance(v, NDArray) for v in x):
        return type(x)(_host(v) for v in x)
    return x


def _back(res, ctx):
    if isinstance(res, (onp.ndarray, onp.generic)) and res.dtype != object:
        return array(onp.asarray(res), dtype=res.dtype, ctx=ctx)  # scalars: shape ()
    if isinstance(res, tuple):
        return tuple(_back(r, ctx) for r in res)
    if isinstance(res, list):
        return [_back(r, ctx) for r in res]
    return res


def fallback(name, fn):
    """``fn`` (a NumPy function) over kiln.np arrays: host copies in, np arrays out."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        ctx = next((a.context for a in args if isinstance(a, NDArray)), None)
        res = fn(*[_host(a) for a in args], **{k: _host(v) for k, v in kwargs.items()})
        return _back(res, ctx)
    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__module__ = "kiln.np"
    wrapper.__doc__ = (f"NumPy's ``{name}`` on the host (MXNet np falls back to NumPy too): "
                       "not differentiable, not usable inside a hybridized forward.")
    return wrapper


FUNCTIONS = {n: fallback(n, getattr(onp, n)) for n in _SAME if hasattr(onp, n)}
FUNCTIONS.update({n: fallback(n, f) for n, f in _RENAMED.items() if f is not None})
