"""kiln: a Gluon-style neural-network library (eager on numpy/cupy, hybridize, ONNX export).

``import kiln as mx`` runs common MXNet Gluon 1.x code.

Example::

    >>> import kiln as kl
    >>> x = kl.nd.ones((2, 3))
    >>> x.sum()
    [6.]
    <NDArray 1 @cpu(0)>
"""
import sys as _sys

from . import autograd, base, initializer, lr_scheduler, ndarray, optimizer, random
from . import ndarray as nd
from .base import MXNetError
from .device import Context, Device, cpu, cpu_pinned, current_context, current_device, gpu, num_gpus

init = initializer
# these need the names above
from . import symbol  # noqa: E402
from . import symbol as sym  # noqa: E402
from . import gluon, nn, viz  # noqa: E402
from . import data, metric  # noqa: E402
from . import io  # noqa: E402  (mx.io: NDArrayIter, DataBatch, DataDesc)
from . import model  # noqa: E402  (mx.model: save/load_checkpoint)
from . import test_utils  # noqa: E402  (mx.test_utils)
from . import _mx_onnx as onnx  # noqa: E402  (mx.onnx; see _mx_onnx.py for the name)

_sys.modules.setdefault(__name__ + ".onnx", onnx)  # `import kiln.onnx` works too

__version__ = "0.1.0"
context = __import__("kiln.device", fromlist=["device"])

__all__ = ["nd", "ndarray", "autograd", "random", "cpu", "gpu", "num_gpus", "Context", "Device",
           "current_context", "current_device", "cpu_pinned", "MXNetError", "base",
           "optimizer", "lr_scheduler", "initializer", "init", "nn", "gluon", "sym", "symbol",
           "viz", "data", "metric", "io", "model", "test_utils", "onnx"]
