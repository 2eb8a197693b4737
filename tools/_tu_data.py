"""Random test data of ``kiln.test_utils``: arrays, shapes, samples, and ``np_reduce``.

Example::

    >>> rand_ndarray(rand_shape_2d()).ndim
    2
"""
import numpy as np

from ..base import MXNetError
from ._tu_compare import default_context, default_dtype


# ---- random data ----
def random_arrays(*shapes):
    """Standard-normal float32 numpy arrays, one per shape (a single array for one shape)."""
    arrays = [np.array(np.random.randn(), dtype=default_dtype()) if len(s) == 0
              else np.random.randn(*s).astype(default_dtype()) for s in shapes]
    return arrays[0] if len(arrays) == 1 else arrays


def random_uniform_arrays(*shapes, low=0.0, high=1.0, dtype=None):
    """Uniform [low, high) numpy arrays, one per shape (a single array for one shape)."""
    dtype = default_dtype() if dtype is None else dtype
    arrays = [np.random.uniform(low, high, size=s).astype(dtype) for s in shapes]
    return arrays[0] if len(arrays) == 1 else arrays


def random_sample(population, k):
    """``k`` distinct elements of the list ``population`` in random order."""
    population = list(population)
    np.random.shuffle(population)
    return population[:k]


def rand_ndarray(shape, stype="default", density=None, dtype=None, modifier_func=None,
                 shuffle_csr_indices=False, distribution=None, ctx=None):
    """A random NDArray of ``shape`` (float32 unless ``dtype`` is given).

    ``stype='default'``: standard-normal values. ``'row_sparse'``: each row is stored with
    probability ``density`` (a random density when None), its values uniform in [0, 1).
    ``'csr'`` (2-d only): each element is stored with probability ``density``, values uniform
    in [0, 1). ``modifier_func`` maps every stored value. Example::

        >>> rand_ndarray((4, 3), "row_sparse", density=1).indices.shape
        (4,)
    """
    from .. import ndarray as nd
    ctx = ctx or default_context()
    if stype == "default":
        return nd.array(random_arrays(tuple(shape)), ctx=ctx, dtype=dtype)
    if stype not in ("row_sparse", "csr"):
        raise MXNetError(f"rand_ndarray: unknown stype {stype!r}")
    if distribution not in (None, "uniform"):
        raise MXNetError(f"rand_ndarray: only the uniform distribution is supported for "
                         f"sparse arrays, got {distribution!r}")
    density = np.random.rand() if density is None else density
    dtype = default_dtype() if dtype is None else dtype
    shape = tuple(shape)
    if stype == "row_sparse":
        rows = np.flatnonzero(np.random.rand(shape[0]) < density)
        values = np.random.rand(rows.size, *shape[1:]).astype(dtype)
        if modifier_func is not None:
            values = np.vectorize(modifier_func)(values).astype(dtype)
        return nd.sparse.row_sparse_array((values, rows), shape=shape, ctx=ctx, dtype=dtype)
    if len(shape) != 2:
        raise MXNetError(f"rand_ndarray(stype='csr') needs a 2-d shape, got {shape}")
    mask = np.random.rand(*shape) < density
    dense = np.where(mask, np.random.rand(*shape), 0).astype(dtype)
    if modifier_func is not None:
        dense[mask] = np.vectorize(modifier_func)(dense[mask])
    # (a stored value of exactly 0 would vanish in the conversion; rand() < 1 rarely gives 0)
    return nd.sparse.csr_matrix(dense, ctx=ctx, dtype=dtype)


def rand_shape_2d(dim0=10, dim1=10, allow_zero_size=False):
    """A random 2-d shape, each size in [1, dim] (from 0 with ``allow_zero_size``)."""
    low = 0 if allow_zero_size else 1
    return np.random.randint(low, dim0 + 1), np.random.randint(low, dim1 + 1)


def rand_shape_3d(dim0=10, dim1=10, dim2=10, allow_zero_size=False):
    """A random 3-d shape, each size in [1, dim] (from 0 with ``allow_zero_size``)."""
    low = 0 if allow_zero_size else 1
    return (np.random.randint(low, dim0 + 1), np.random.randint(low, dim1 + 1),
            np.random.randint(low, dim2 + 1))


def rand_shape_nd(num_dim, dim=10, allow_zero_size=False):
    """A random ``num_dim``-d shape, each size in [1, dim] (from 0 with ``allow_zero_size``).

    Example: ``len(rand_shape_nd(4))`` is 4.
    """
    low = 0 if allow_zero_size else 1
    return tuple(np.random.randint(low, dim + 1, size=num_dim))


def np_reduce(dat, axis, keepdims, numpy_reduce_func):
    """Apply ``numpy_reduce_func(x, axis=i)`` over each axis in ``axis`` (all when None)."""
    axes = [axis] if isinstance(axis, int) else (
        list(range(dat.ndim)) if axis is None else list(axis))
    axes = [a % dat.ndim for a in axes]
    ret = dat
    for i in sorted(axes, reverse=True):
        ret = numpy_reduce_func(ret, axis=i)
    if keepdims:
        ret = np.reshape(ret, tuple(1 if i in axes else s for i, s in enumerate(dat.shape)))
    return ret


__all__ = ["random_arrays", "random_uniform_arrays", "random_sample", "rand_ndarray",
           "rand_shape_2d", "rand_shape_3d", "rand_shape_nd", "np_reduce"]
