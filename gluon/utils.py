"""Gluon utilities (``kiln.gluon.utils``): data splitting for several devices, global-norm
gradient clipping, and the download helpers (kiln has no network at run time).

Example::

    >>> parts = split_data(kl.nd.arange(10), 3, even_split=False)
    >>> [p.shape[0] for p in parts]
    [4, 3, 3]
"""
import hashlib
import os
import warnings

import numpy as np

from ..ndarray import NDArray
from ..ndarray import array as _nd_array
from ..ndarray import minimum as _nd_minimum
from ..nn import HookHandle  # noqa: F401  (MXNet's gluon.utils defines it)

__all__ = ["split_data", "split_and_load", "clip_global_norm", "check_sha1", "download",
           "replace_file", "shape_is_known"]


def split_data(data, num_slice, batch_axis=0, even_split=True):
    """Split ``data`` into ``num_slice`` slices along ``batch_axis``.

    Uneven splits follow ``numpy.array_split`` (the first ``size % num_slice`` slices get one
    more element), as MXNet 1.9 does; ``even_split=True`` raises ValueError instead.

    Returns a list of NDArrays, even for ``num_slice == 1``.
    """
    size = data.shape[batch_axis]
    if even_split and size % num_slice != 0:
        raise ValueError(
            f"data with shape {data.shape} cannot be evenly split into {num_slice} slices "
            f"along axis {batch_axis}. Use a batch size that's multiple of {num_slice} "
            f"or set even_split=False to allow uneven partitioning of data.")
    n_each, extras = divmod(size, num_slice)
    sizes = [0] + extras * [n_each + 1] + (num_slice - extras) * [n_each]
    points = np.cumsum(sizes).tolist()
    index = [slice(None)] * len(data.shape)
    slices = []
    for i in range(num_slice):
        index[batch_axis] = slice(points[i], points[i + 1])
        slices.append(data[tuple(index)])
    return slices


def split_and_load(data, ctx_list, batch_axis=0, even_split=True):
    """Split ``data`` (NDArray or numpy array) into ``len(ctx_list)`` slices along
    ``batch_axis`` and copy slice ``i`` to ``ctx_list[i]``.

    Example::

        >>> [x.shape for x in split_and_load(np.ones((4, 2)), [kl.cpu(0), kl.cpu(1)])]
        [(2, 2), (2, 2)]
    """
    if not isinstance(data, NDArray):
        data = _nd_array(data, ctx=ctx_list[0])
    if len(ctx_list) == 1:
        return [data.as_in_context(ctx_list[0])]
    slices = split_data(data, len(ctx_list), batch_axis, even_split)
    return [s.as_in_context(ctx) for s, ctx in zip(slices, ctx_list)]


def clip_global_norm(arrays, max_norm, check_isfinite=True):
    """Scale ``arrays`` in place so their joint L2 norm is at most ``max_norm``.

    Returns the norm before clipping: a Python float when ``check_isfinite`` (a NaN/Inf norm
    then warns), else a one-element NDArray (no host sync).

    Example::

        >>> a = kl.nd.array([3.0, 4.0]); clip_global_norm([a], 1.0)
        5.0
    """
    assert len(arrays) > 0, "arrays must not be empty"
    ctx = arrays[0].context
    total = None
    for arr in arrays:
        flat = arr.reshape((-1,)).as_in_context(ctx)
        sq = (flat * flat).sum()
        total = sq if total is None else total + sq
    total_norm = total.sqrt().reshape((1,))
    if check_isfinite and not np.isfinite(total_norm.asscalar()):
        warnings.warn(UserWarning("nan or inf is detected. Clipping results will be undefined."),
                      stacklevel=2)
    # An infinite norm makes scale 0 and inf * 0 = nan: warned about above, not again here.
    with np.errstate(invalid="ignore", over="ignore"):
        scale = _nd_minimum(max_norm / (total_norm + 1e-8), 1.0)
        for arr in arrays:
            arr *= scale.as_in_context(arr.context).astype(arr.dtype)
    if check_isfinite:
        return float(total_norm.asscalar())
    return total_norm


def check_sha1(filename, sha1_hash):
    """True if the SHA-1 of file ``filename`` equals the hex string ``sha1_hash``."""
    sha1 = hashlib.sha1()
    with open(filename, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha1.update(chunk)
    return sha1.hexdigest() == sha1_hash


def download(url, path=None, overwrite=False, sha1_hash=None, retries=5, verify_ssl=True):
    """Return the local file for ``url`` if it is already there (and matches ``sha1_hash``);
    kiln never downloads, so a missing file raises an error saying where to put it.

    ``path`` is the target file or folder (default: the current folder), as in MXNet.
    """
    fname = url.split("/")[-1]
    if path is not None:
        path = os.path.expanduser(path)
        fname = os.path.join(path, fname) if os.path.isdir(path) else path
    assert fname, "Can't construct file-name from this URL. Please set the `path` option " \
                  "manually."
    if os.path.exists(fname) and not overwrite and (not sha1_hash or
                                                    check_sha1(fname, sha1_hash)):
        return fname
    raise RuntimeError(
        f"kiln cannot download {url!r}: there is no network access at run time. Download it "
        f"yourself and save it as {os.path.abspath(fname)!r}"
        + (f" (SHA-1 {sha1_hash})." if sha1_hash else "."))


def replace_file(src, dst):
    """Move ``src`` onto ``dst`` atomically, replacing it (MXNet 1.9's helper of ``download``).

    Example::

        >>> replace_file('model.params.tmp', 'model.params')
    """
    os.replace(src, dst)


def shape_is_known(shape):
    """True if ``shape`` is given and has no unknown (0 or -1) dimension."""
    if shape is None:
        return False
    return all(d > 0 for d in shape)
