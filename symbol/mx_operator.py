"""``kiln.operator`` (MXNet's ``mx.operator``): ``CustomOp``/``CustomOpProp``/``register``
(ndarray/custom_op.py) and the legacy ``PythonOp``/``NumpyOp``/``NDArrayOp`` (python_op.py).

Example::

    >>> @kiln.operator.register("square")
    ... class SquareProp(kiln.operator.CustomOpProp): ...
"""
from ..ndarray.custom_op import (  # noqa: F401
    CustomOp,
    CustomOpProp,
    get_all_registered_operators,
    register,
)
from .python_op import NDArrayOp, NumpyOp, PythonOp  # noqa: F401

__all__ = ["CustomOp", "CustomOpProp", "register", "get_all_registered_operators", "PythonOp",
           "NumpyOp", "NDArrayOp"]
