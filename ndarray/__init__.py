"""``kiln.nd``: NDArray, creation functions and every registered op.

The op names come from ``ops/_namespace.py``, generated from the registry (see ``ops/``), so
``nd.Convolution`` and the rest are plain imports an IDE can follow.

Example::

    >>> from kiln import nd
    >>> nd.relu(nd.array([-1, 2]))
    [0. 2.]
    <NDArray 2 @cpu(0)>
"""
from . import _blas_spin
_blas_spin.before_numpy()   # OpenBLAS reads its worker timeout when numpy loads it
from ._malloc import keep_freed_memory as _keep_freed_memory  # noqa: E402
from . import contrib, ndarray, random, sparse  # noqa: F401  (MXNet's nd.contrib/random/sparse)
from . import image  # noqa: F401  (MXNet's nd.image)
from . import _internal  # noqa: F401  (MXNet's nd._internal: the _-prefixed ops)
from .ops.custom import Custom  # noqa: F401  (nd.Custom: kiln.operator's ops)
from .convert import (  # noqa: F401
    array,
    from_dlpack,
    from_numpy,
    to_dlpack_for_read,
    to_dlpack_for_write,
)
from .io import load, load_frombuffer, save  # noqa: F401
from .legacy import CachedOp, imdecode  # noqa: F401  (MXNet's legacy nd.CachedOp, nd.imdecode)
from .ndarray import NDArray
from .sparse import cast_storage  # noqa: F401  (nd.cast_storage: storage conversion)
from .ops._namespace import *  # noqa: F403  (every op, alias and family export, by name)
from .ops._namespace import __all__ as _OP_NAMES

_keep_freed_memory()  # numpy's temporaries reuse freed memory, not fresh pages (see _malloc)
_blas_spin.after_numpy()  # idle OpenBLAS workers sleep after ~1.5 ms, not ~0.1 s


def waitall():
    """Wait for all pending computation (a no-op: kiln computes synchronously on the CPU)."""


__all__ = ["NDArray", "array", "from_numpy", "from_dlpack", "to_dlpack_for_read",
           "to_dlpack_for_write", "load", "load_frombuffer", "save", "waitall", "contrib",
           "random", "ndarray", "sparse", "cast_storage", "Custom", "CachedOp", "imdecode",
           *_OP_NAMES]
