"""``kiln.test_utils``: the helpers of MXNet 1.9's ``mx.test_utils`` that user tests rely on.

Comparisons accept NDArrays or numpy arrays. Default tolerances depend on the dtypes compared
(the looser of the two): float16 rtol 1e-2 / atol 1e-1, float32 1e-4 / 1e-3, float64 1e-5 /
1e-20, integers and bool exact, as in MXNet.

Example::

    >>> from kiln.test_utils import assert_almost_equal, rand_ndarray
    >>> x = rand_ndarray((2, 3))
    >>> assert_almost_equal(x * 1.00001, x.asnumpy())

``from kiln.test_utils import *`` gives what ``from mxnet.test_utils import *`` gives (MXNet's
module has no ``__all__``): the helpers and the names it imports (``mx``, ``np``, ``npt``,
``NDArray``, ``Symbol``, ``array``, ``Context``, ``current_context``, ``Features``, ``os``,
``sys``, ...), which MXNet's own unit tests use unqualified.
"""
import bz2  # noqa: F401  (re-exported: MXNet's test_utils namespace)
import contextlib
import errno  # noqa: F401
import gzip  # noqa: F401
import json  # noqa: F401
import logging  # noqa: F401
import numbers  # noqa: F401
import os
import platform  # noqa: F401
import struct  # noqa: F401
import sys
import time  # noqa: F401
import traceback  # noqa: F401
import zipfile  # noqa: F401
from collections import OrderedDict  # noqa: F401
from contextlib import contextmanager  # noqa: F401

import kiln as mx  # noqa: F401  (the package itself: an ancestor, imported first anyway)
import numpy as np  # noqa: F401
import numpy.random as rnd  # noqa: F401
import numpy.testing as npt  # noqa: F401

from ..device import Context, current_context  # noqa: F401
from ..ndarray import NDArray, array  # noqa: F401
from ..runtime import Features  # noqa: F401
from ..symbol import Symbol  # noqa: F401
from ..util import get_cuda_compute_capability, getenv, setenv, use_np  # noqa: F401
from ._tu_checks import *  # noqa: F403
from ._tu_checks import __all__ as _checks_all
from ._tu_compare import *  # noqa: F403
from ._tu_compare import __all__ as _compare_all
from ._tu_data import *  # noqa: F403
from ._tu_data import __all__ as _data_all
from ._tu_datasets import *  # noqa: F403
from ._tu_datasets import __all__ as _datasets_all
from ._tu_more import *  # noqa: F403
from ._tu_more import __all__ as _more_all
from ._tu_sparse import *  # noqa: F403
from ._tu_sparse import __all__ as _sparse_all
from ._tu_symbolic import *  # noqa: F403
from ._tu_symbolic import __all__ as _symbolic_all


# ---- environment ----
@contextlib.contextmanager
def environment(*args):
    """Set environment variables for the block: ``environment('NAME', 'value')`` or
    ``environment({'A': '1', 'B': None})`` (None unsets); restored afterwards."""
    values = args[0] if len(args) == 1 and isinstance(args[0], dict) else {args[0]: args[1]}
    saved = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            _set_env(k, v)
        yield
    finally:
        for k, v in saved.items():
            _set_env(k, v)


def _set_env(key, value):
    if value is None:
        os.environ.pop(key, None)
    else:
        os.environ[key] = str(value)


@contextlib.contextmanager
def discard_stderr():
    """Silence ``sys.stderr`` for the block."""
    with open(os.devnull, "w") as null:
        old, sys.stderr = sys.stderr, null
        try:
            yield
        finally:
            sys.stderr = old


__all__ = (_compare_all + _data_all + _symbolic_all + _more_all + _checks_all + _datasets_all +
           _sparse_all +
           ["environment", "discard_stderr", "getenv", "setenv", "use_np", "mx", "np", "npt",
            "get_cuda_compute_capability",
            "rnd", "NDArray", "Symbol", "array", "Context", "current_context", "Features",
            "OrderedDict", "contextmanager", "bz2", "errno", "gzip", "json", "logging",
            "numbers", "os", "platform", "struct", "sys", "time", "traceback", "zipfile"])
