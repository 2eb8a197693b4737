"""The dense ops MXNet 1.9 also lists under ``nd.sparse`` / ``sym.sparse``.

MXNet gives these ops sparse kernels for some storage combinations and falls back to dense
storage otherwise. kiln computes them through the storage fallback (``arrays.py``): a sparse
input is densified and the result is dense, the difference docs/compat.md states. The names
are one list here so that ``nd.sparse`` and ``sym.sparse`` expose the same set.

Example::

    >>> c = nd.sparse.csr_matrix(([4.], [1], [0, 1]), shape=(1, 2))
    >>> nd.sparse.sqrt(c).asnumpy()
    array([[0., 2.]], dtype=float32)
"""

DENSE_FALLBACK = (
    "ElementWiseSum", "Embedding", "FullyConnected", "LinearRegressionOutput",
    "LogisticRegressionOutput", "MAERegressionOutput", "abs", "add_n", "arccos", "arccosh",
    "arcsin", "arcsinh", "arctan", "arctanh", "broadcast_add", "broadcast_div", "broadcast_minus",
    "broadcast_mul", "broadcast_plus", "broadcast_sub", "cbrt", "ceil", "clip", "concat", "cos",
    "cosh", "degrees", "divide", "elemwise_div", "elemwise_mul", "exp", "expm1", "fix", "floor",
    "gamma", "gammaln", "log", "log10", "log1p", "log2", "make_loss", "mean", "multiply",
    "negative", "norm", "radians", "relu", "rint", "round", "rsqrt", "sigmoid", "sign", "sin",
    "sinh", "slice", "sqrt", "square", "stop_gradient", "sum", "tan", "tanh", "trunc", "where",
    "zeros_like",
)


def install(namespace, source):
    """Copy the ``DENSE_FALLBACK`` functions of ``source`` (a module) into ``namespace``
    (a module's globals); returns the names, for ``__all__``."""
    for name in DENSE_FALLBACK:
        namespace[name] = getattr(source, name)
    return list(DENSE_FALLBACK)
