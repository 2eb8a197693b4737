"""``kiln.np`` shape functions and products: numpy's ``reshape`` (-1 only), ``transpose``,
``concatenate``/``stack``/``split``, ``expand_dims``/``squeeze``/``swapaxes``, and
``dot``/``matmul``/``tensordot`` with numpy's shapes (a 1-D ``dot`` gives shape ``()``).

Example::

    >>> np.dot(np.ones(3), np.ones(3)).shape
    ()
"""
import numpy as onp

from ..ndarray import ops as F
from ._core import shape_of, wrap


def _target_shape(shape, new):
    """numpy's reshape target (one -1 inferred), as explicit sizes: kiln's ``reshape`` reads
    MXNet's codes (0 copies an axis), which numpy code does not mean."""
    if isinstance(new, (int, onp.integer)):
        new = (int(new),)
    new = tuple(int(s) for s in new)
    total = 1
    for s in shape:
        total *= s
    if new.count(-1) > 1 or any(s < -1 for s in new):
        raise ValueError(f"reshape: invalid target shape {new} for an array of shape {shape}")
    known = 1
    for s in new:
        known *= s if s != -1 else 1
    if -1 in new:
        if known == 0 or total % known:
            raise ValueError(f"reshape: cannot reshape array of shape {shape} into {new}")
        new = tuple(total // known if s == -1 else s for s in new)
    elif known != total:
        raise ValueError(f"reshape: cannot reshape array of size {total} (shape {shape}) "
                         f"into shape {new}")
    return new


def reshape(a, newshape, order="C"):
    """``a`` with shape ``newshape`` (one -1 is inferred).

    Example::

        >>> np.reshape(np.arange(6), (2, -1)).shape
        (2, 3)
    """
    if order != "C":
        raise NotImplementedError("reshape: only order='C' is supported")
    return wrap(F.reshape(a, shape=_target_shape(shape_of(a), newshape)))


def ravel(a, order="C"):
    """``a`` flattened to one axis. Example: ``np.ravel(np.ones((2, 3))).shape == (6,)``."""
    return reshape(a, (-1,), order)


def transpose(a, axes=None):
    """``a`` with its axes permuted (reversed when None). Example: ``np.transpose(x, (1, 0))``."""
    return wrap(F.transpose(a, axes=None if axes is None else tuple(axes)))


def swapaxes(a, axis1, axis2):
    """``a`` with two axes exchanged. Example: ``np.swapaxes(x, 0, 1)``."""
    axes = list(range(a.ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(a, axes)


def moveaxis(a, source, destination):
    """``a`` with axis ``source`` moved to ``destination``. Example: ``np.moveaxis(x, 0, -1)``."""
    axes = [i for i in range(a.ndim) if i != source % a.ndim]
    axes.insert(destination % a.ndim, source % a.ndim)
    return transpose(a, axes)


def expand_dims(a, axis):
    """``a`` with a new axis of size 1 at ``axis``. Example: ``np.expand_dims(x, 0)``."""
    return wrap(F.expand_dims(a, axis=axis))


def squeeze(a, axis=None):
    """``a`` without its size-1 axes (or just ``axis``). Example: ``np.squeeze(x)``."""
    return wrap(F.squeeze(a, axis=axis))


def concatenate(seq, axis=0, out=None):
    """The arrays of ``seq`` joined along ``axis``. Example: ``np.concatenate([x, y], axis=1)``."""
    seq = list(seq)
    if axis is None:
        seq, axis = [ravel(s) for s in seq], 0
    return wrap(F.concat(*seq, dim=axis))


def stack(arrays, axis=0, out=None):
    """The arrays stacked along a new ``axis``. Example: ``np.stack([x, y])``."""
    return wrap(F.stack(*list(arrays), axis=axis))


def split(ary, indices_or_sections, axis=0):
    """``ary`` split along ``axis`` into equal sections or at the given indices.

    Example::

        >>> [p.shape for p in np.split(np.arange(6), 3)]
        [(2,), (2,), (2,)]
    """
    n = ary.shape[axis]
    if isinstance(indices_or_sections, (int, onp.integer)):
        k = int(indices_or_sections)
        if k <= 0 or n % k:
            raise ValueError(f"split: array split does not result in an equal division "
                             f"(axis {axis} of shape {shape_of(ary)} into {k})")
        bounds = list(range(0, n + 1, n // k)) if n else [0] * (k + 1)
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    return [wrap(F.slice_axis(ary, axis=axis, begin=lo, end=max(lo, hi)))
            for lo, hi in zip(bounds[:-1], bounds[1:])]


def dot(a, b, out=None):
    """numpy's ``dot``: inner product of 1-D arrays (shape ``()``), matrix product of 2-D
    ones, sum over ``a``'s last and ``b``'s second-to-last axis otherwise.

    Example::

        >>> np.dot(np.ones((2, 3)), np.ones(3)).shape
        (2,)
    """
    if a.ndim == 0 or b.ndim == 0:
        return wrap(F.multiply(a, b))
    if b.ndim > 2:
        return tensordot(a, b, axes=([a.ndim - 1], [b.ndim - 2]))
    res = F.dot(a, b)
    if a.ndim == 1 and b.ndim == 1:
        res = F.reshape(res, shape=())
    return wrap(res)


def matmul(a, b, out=None):
    """numpy's ``matmul`` (batched matrix products, broadcast). Example: ``np.matmul(x, y)``."""
    return wrap(F.matmul(a, b))


def tensordot(a, b, axes=2):
    """Sum of products over ``axes`` of ``a`` and ``b`` (numpy's rule).

    Example::

        >>> np.tensordot(np.ones((2, 3, 4)), np.ones((3, 4, 5))).shape
        (2, 5)
    """
    if isinstance(axes, (int, onp.integer)):
        axes = (list(range(a.ndim - axes, a.ndim)), list(range(axes)))
    ax_a = [int(x) % a.ndim for x in onp.atleast_1d(axes[0])]
    ax_b = [int(x) % b.ndim for x in onp.atleast_1d(axes[1])]
    free_a = [i for i in range(a.ndim) if i not in ax_a]
    free_b = [i for i in range(b.ndim) if i not in ax_b]
    sa, sb = shape_of(a), shape_of(b)
    k = int(onp.prod([sa[i] for i in ax_a]))
    left = F.reshape(F.transpose(a, axes=tuple(free_a + ax_a)), shape=(-1, k))
    right = F.reshape(F.transpose(b, axes=tuple(ax_b + free_b)), shape=(k, -1))
    out_shape = tuple(sa[i] for i in free_a) + tuple(sb[i] for i in free_b)
    return wrap(F.reshape(F.dot(left, right), shape=out_shape))


def broadcast_to(array, shape):
    """``array`` broadcast to ``shape``. Example: ``np.broadcast_to(np.ones(3), (2, 3))``."""
    return wrap(F.broadcast_to(array, shape=tuple(shape)))


def tile(A, reps):  # noqa: N803 - numpy's name
    """``A`` repeated ``reps`` times per axis. Example: ``np.tile(np.ones(2), 3)``."""
    return wrap(F.tile(A, reps=(reps,) if isinstance(reps, int) else tuple(reps)))


def repeat(a, repeats, axis=None):
    """Each element of ``a`` repeated. Example: ``np.repeat(np.ones(2), 2)``."""
    return wrap(F.repeat(a, repeats=repeats, axis=axis))
