"""Sparse test arrays, generator statistics and structured matrices of ``kiln.test_utils``
(MXNet 1.9's ``rand_sparse_ndarray``, ``create_sparse_array``, ``chi_square_check``,
``verify_generator``, ``new_*_matrix_*``).

Example::

    >>> csr, (indptr, indices, data) = rand_sparse_ndarray((4, 5), "csr", density=0.5)
    >>> csr.shape
    (4, 5)
"""
import numpy as np

from ..ndarray import sparse as nd_sparse
from ._tu_compare import default_context, default_dtype
from ._tu_more import assign_each


# ---- sparse arrays ----
def shuffle_csr_column_indices(csr):
    """Shuffle each row's column indices in place (their values stay where they are), to test
    code on unordered indices, which a CSR matrix may have. ``csr``: a kiln CSRNDArray or any
    object with numpy ``indptr``/``indices`` (scipy's csr_matrix)."""
    if hasattr(csr, "_aux"):  # kiln's CSRNDArray: its buffers are replaced, not views
        indptr, indices = csr.indptr.asnumpy(), csr.indices.asnumpy().copy()
        _shuffle_rows(indptr, indices)
        xp = csr.context.xp
        csr._set_components(csr._values, (csr._aux[0], xp.asarray(indices)))
        return
    _shuffle_rows(csr.indptr, csr.indices)


def _shuffle_rows(indptr, indices):
    for i in range(len(indptr) - 1):
        part = np.array(indices[indptr[i]:indptr[i + 1]])
        np.random.shuffle(part)
        indices[indptr[i]:indptr[i + 1]] = part


def _check_csr_args(rows, cols, density, distribution):
    if not 0 <= density <= 1:
        raise ValueError("density has to be between 0 and 1")
    if rows <= 0 or cols <= 0:
        raise ValueError("num_rows or num_cols should be greater than 0")
    if distribution == "powerlaw" and int(rows * cols * density) < 2 * rows:
        raise ValueError(f"not supported for this density: {density} for this shape "
                         f"({rows}, {cols}); keep num_rows * num_cols * density >= 2 * num_rows")


def _uniform_csr(rows, cols, density, dtype, data_init, shuffle, ctx):
    """round(density * rows * cols) distinct positions, uniform [0, 1) values (scipy's
    ``sparse.rand``, which MXNet calls)."""
    _check_csr_args(rows, cols, density, "uniform")
    nnz = int(round(density * rows * cols))
    flat = np.sort(np.random.choice(rows * cols, nnz, replace=False))
    r, c = np.divmod(flat, cols)
    data = np.random.rand(nnz).astype(dtype)
    if data_init is not None:
        data.fill(data_init)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(r, minlength=rows))]).astype(np.int64)
    indices = c.astype(np.int64)
    if shuffle:
        _shuffle_rows(indptr, indices)
    return nd_sparse.csr_matrix((data, indices, indptr), shape=(rows, cols), ctx=ctx,
                                dtype=dtype)


def _powerlaw_csr(rows, cols, density, dtype, ctx):
    """Row i holds about 2**i stored values (every row at least one, in column 0): a skewed
    row-length distribution, MXNet's 'powerlaw'."""
    _check_csr_args(rows, cols, density, "powerlaw")
    left = int(rows * cols * density)
    out = np.zeros((rows, cols), dtype=dtype)

    def done():
        return nd_sparse.csr_matrix(out, ctx=ctx, dtype=dtype)
    for r in range(rows):
        out[r, 0] = 1 + np.random.uniform(0.001, 2)
        left -= 1
        if left <= 0:
            return done()
    width = 2
    for r in range(rows):
        limit = min(cols, width)
        if limit == cols and left > limit:  # a full row: one value for all of it
            out[r] = 1 + np.random.uniform(0.001, 2)
            left -= limit - 1
            if left <= 0:
                return done()
            continue
        for c in range(1, limit):
            out[r, c] = 1 + np.random.uniform(0.001, 2)
            left -= 1
            if left <= 0:
                return done()
        width *= 2
    if left > 0:
        raise ValueError(f"not supported for this density: {density} for this shape "
                         f"({rows},{cols})")
    return done()


def rand_sparse_ndarray(shape, stype, density=None, dtype=None, distribution=None,
                        data_init=None, rsp_indices=None, modifier_func=None,
                        shuffle_csr_indices=False, ctx=None):
    """A random sparse NDArray and its numpy parts, as MXNet returns them.

    ``stype='row_sparse'``: each row stored with probability ``density`` (or the rows
    ``rsp_indices``), values uniform in [0, 1); returns ``(arr, (values, row_indices))``.
    ``stype='csr'`` (2-D): ``distribution`` 'uniform' (``round(density * size)`` random
    positions) or 'powerlaw' (row i holds ~2**i values); returns
    ``(arr, (indptr, indices, data))``. ``data_init`` fills the values with one number,
    ``modifier_func`` maps each value (row_sparse). Example::

        >>> arr, (vals, rows) = rand_sparse_ndarray((6, 2), "row_sparse", density=1.0)
        >>> rows.tolist()
        [0, 1, 2, 3, 4, 5]
    """
    ctx = ctx or default_context()
    density = np.random.rand() if density is None else density
    dtype = default_dtype() if dtype is None else dtype
    distribution = distribution or "uniform"
    shape = tuple(shape)
    if stype == "row_sparse":
        if distribution != "uniform":
            raise AssertionError(f"Distribution {distribution} not supported for row_sparse")
        if rsp_indices is not None:
            indices = np.asarray(rsp_indices)
            assert len(indices) <= shape[0]
        else:
            indices = np.argwhere(np.random.rand(shape[0]) < density).flatten()
        if indices.shape[0] == 0:
            return (nd_sparse.zeros("row_sparse", shape, ctx=ctx, dtype=dtype),
                    (np.array([], dtype=dtype), np.array([])))
        val = np.random.rand(indices.shape[0], *shape[1:]).astype(dtype)
        if data_init is not None:
            val.fill(data_init)
        if modifier_func is not None:
            val = assign_each(val, modifier_func)
        arr = nd_sparse.row_sparse_array((val, indices), shape=shape, dtype=dtype, ctx=ctx)
        return arr, (val, indices)
    if stype == "csr":
        assert len(shape) == 2, f"csr needs a 2-d shape, got {shape}"
        if distribution == "uniform":
            csr = _uniform_csr(shape[0], shape[1], density, dtype, data_init,
                               shuffle_csr_indices, ctx)
        elif distribution == "powerlaw":
            csr = _powerlaw_csr(shape[0], shape[1], density, dtype, ctx)
        else:
            raise AssertionError(f"Distribution not supported: {distribution}")
        return csr, (csr.indptr, csr.indices, csr.data)
    raise AssertionError(f"unknown storage type {stype!r}")


def create_sparse_array(shape, stype, data_init=None, rsp_indices=None, dtype=None,
                        modifier_func=None, density=.5, shuffle_csr_indices=False):
    """A random sparse array (``rand_sparse_ndarray``'s array); row_sparse ``rsp_indices`` are
    sorted first (the canonical format). Example:
    ``create_sparse_array((4, 3), "row_sparse", rsp_indices=[2, 0]).indices`` is ``[0, 2]``."""
    if stype == "row_sparse":
        idx = None if rsp_indices is None else np.sort(np.asarray(rsp_indices))
        return rand_sparse_ndarray(shape, stype, density=density, data_init=data_init,
                                   rsp_indices=idx, dtype=dtype, modifier_func=modifier_func)[0]
    if stype == "csr":
        return rand_sparse_ndarray(shape, stype, density=density, data_init=data_init,
                                   dtype=dtype, modifier_func=modifier_func,
                                   shuffle_csr_indices=shuffle_csr_indices)[0]
    raise AssertionError("Unknown storage type: " + stype)


def create_sparse_array_zd(shape, stype, density, data_init=None, rsp_indices=None,
                           dtype=None, modifier_func=None, shuffle_csr_indices=False):
    """``create_sparse_array`` where a row_sparse array's rows are exactly ``rsp_indices``
    (density 0 otherwise: an all-zero array)."""
    if stype == "row_sparse":
        density = 0.0
        if rsp_indices is not None:
            assert len(rsp_indices) <= shape[0]
    return create_sparse_array(shape, stype, data_init=data_init, rsp_indices=rsp_indices,
                               dtype=dtype, modifier_func=modifier_func, density=density,
                               shuffle_csr_indices=shuffle_csr_indices)


# ---- generator statistics ----
def gen_buckets_probs_with_ppf(ppf, nbuckets):
    """``nbuckets`` equal-probability buckets ``(ppf(i/n), ppf((i+1)/n))`` and their
    probabilities, for ``chi_square_check``. Example:
    ``gen_buckets_probs_with_ppf(lambda p: p, 2)`` is ``([(0, .5), (.5, 1)], [.5, .5])``."""
    assert nbuckets > 0
    probs = [1.0 / nbuckets] * nbuckets
    buckets = [(ppf(i / float(nbuckets)), ppf((i + 1) / float(nbuckets)))
               for i in range(nbuckets)]
    return buckets, probs


def mean_check(generator, mu, sigma, nsamples=1000000):
    """Whether the mean of ``generator(nsamples)`` lies within ``mu +- 3 sigma / sqrt(n)``."""
    m = np.array(_host(generator(nsamples))).mean()
    half = 3 * sigma / np.sqrt(nsamples)
    return bool(mu - half < m < mu + half)


def var_check(generator, sigma, nsamples=1000000):
    """Whether the sample variance (ddof 1) of ``generator(nsamples)`` lies within
    ``sigma**2 +- 3 sqrt(2 sigma**4 / (n - 1))``."""
    v = np.array(_host(generator(nsamples))).var(ddof=1)
    half = 3 * np.sqrt(2 * sigma ** 4 / (nsamples - 1))
    return bool(sigma ** 2 - half < v < sigma ** 2 + half)


def _host(x):
    return x.asnumpy() if hasattr(x, "asnumpy") else x


def chi_square_check(generator, buckets, probs, nsamples=1000000):
    """Pearson's chi-square test of ``generator(nsamples)`` against bucket probabilities.

    ``buckets``: ascending, disjoint ``(low, high)`` ranges (a continuous generator) or the
    possible values (a discrete one); ``probs``: their true probabilities. Returns
    ``(p_value, observed_counts, expected_counts)``; needs SciPy (as MXNet's does).
    Example::

        >>> buckets, probs = gen_buckets_probs_with_ppf(lambda p: p, 5)
        >>> p, obs, exp = chi_square_check(lambda n: np.random.uniform(size=n), buckets, probs)
    """
    try:
        from scipy import stats  # optional dependency, as in MXNet
    except ImportError as err:
        raise ImportError("chi_square_check needs scipy (pip install scipy)") from err
    assert isinstance(buckets, list) and len(probs) == len(buckets)
    samples = np.asarray(_host(generator(nsamples)))
    expected = (nsamples * np.array(probs, dtype=np.float32)).astype(np.int32)
    if isinstance(buckets[0], (list, tuple)):
        edges = np.zeros(2 * len(buckets), dtype=np.float32)
        for i, (lo, hi) in enumerate(buckets):
            assert lo <= hi and (i == len(buckets) - 1 or hi <= buckets[i + 1][0])
            edges[2 * i], edges[2 * i + 1] = lo, hi
        # a sample in bucket i lands between edges 2i and 2i+1: searchsorted gives 2i+1
        ids = np.searchsorted(edges, samples, side="right") // 2
        observed = np.array([(ids == i).sum() for i in range(len(buckets))], dtype=np.int64)
    else:
        observed = np.array([(samples == b).sum() for b in buckets], dtype=np.int64)
    _, p = stats.chisquare(f_obs=observed, f_exp=expected * observed.sum() / expected.sum())
    return p, observed, expected


def verify_generator(generator, buckets, probs, nsamples=1000000, nrepeat=5, success_rate=0.2,
                     alpha=0.05):
    """Run ``chi_square_check`` ``nrepeat`` times; raise AssertionError unless at least
    ``success_rate`` of the p-values exceed ``alpha``. Returns the p-values."""
    runs = [chi_square_check(generator, buckets, probs, nsamples) for _ in range(nrepeat)]
    pvals = [r[0] for r in runs]
    if (np.array(pvals) > alpha).sum() < nrepeat * success_rate:
        raise AssertionError(f"Generator test fails, Chi-square p={pvals}, "
                             f"obs_freq={[r[1] for r in runs]}, "
                             f"expected_freq={[r[2] for r in runs]}.\n"
                             f"buckets={buckets}, probs={probs}")
    return pvals


# ---- structured matrices (numpy) ----
def new_matrix_with_real_eigvals_2d(n):
    """A well-conditioned ``(n, n)`` matrix ``q^-1 D q`` with real eigenvalues in [-10, 10]
    (``q``: a Householder reflection times a diagonal, condition number below 3)."""
    while True:
        v = np.random.uniform(-1.0, 1.0, (n, 1))
        v /= np.linalg.norm(v, axis=0, keepdims=True)
        q = (np.eye(n) - 2 * v @ v.T) @ np.diag(np.random.uniform(-1.0, 1.0, n))
        if np.linalg.cond(q, 2) < 3:
            break
    return np.linalg.inv(q) @ np.diag(np.random.uniform(-10.0, 10.0, n)) @ q


def new_matrix_with_real_eigvals_nd(shape):
    """A stack of ``new_matrix_with_real_eigvals_2d`` matrices of ``shape`` (..., n, n)."""
    count = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return np.array([new_matrix_with_real_eigvals_2d(shape[-1])
                     for _ in range(count)]).reshape(shape)


def new_orthonormal_matrix_2d(n):
    """A random ``(n, n)`` orthonormal matrix (the Q of a QR factorization)."""
    x = np.random.randn(n, n)
    return np.linalg.qr(x.T @ x)[0]


def new_sym_matrix_with_real_eigvals_2d(n):
    """A random symmetric ``(n, n)`` matrix ``q^T D q``, eigenvalues in [-10, 10]."""
    q = new_orthonormal_matrix_2d(n)
    return q.T @ np.diag(np.random.uniform(-10.0, 10.0, n)) @ q


def new_sym_matrix_with_real_eigvals_nd(shape):
    """A stack of ``new_sym_matrix_with_real_eigvals_2d`` matrices of ``shape`` (..., n, n)."""
    count = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return np.array([new_sym_matrix_with_real_eigvals_2d(shape[-1])
                     for _ in range(count)]).reshape(shape)


__all__ = ["shuffle_csr_column_indices", "rand_sparse_ndarray", "create_sparse_array",
           "create_sparse_array_zd", "gen_buckets_probs_with_ppf", "mean_check", "var_check",
           "chi_square_check", "verify_generator", "new_matrix_with_real_eigvals_2d",
           "new_matrix_with_real_eigvals_nd", "new_orthonormal_matrix_2d",
           "new_sym_matrix_with_real_eigvals_2d", "new_sym_matrix_with_real_eigvals_nd"]
