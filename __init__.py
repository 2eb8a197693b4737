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

from . import ndarray  # first, before numpy loads: it sets OpenBLAS's worker timeout
from . import autograd, base, device, initializer
from . import ndarray as nd
from .base import ExportError, FileFormatError, MXNetError, checks_enabled, set_checks
from .device import Context, Device, cpu, cpu_pinned, current_context, current_device, gpu, num_gpus
# MXNet's small root modules (util: the NumPy-semantics switches; runtime: feature flags)
from . import attribute, name, runtime, util
from .attribute import AttrScope
from .util import (is_np_array, is_np_shape, np_array, np_shape, set_np_shape, use_np,
                   use_np_array, use_np_shape)

init = initializer
context = device
from . import symbol  # noqa: E402
from . import symbol as sym  # noqa: E402

# The ndarray layer's calls into the layers above it, installed once, here (docs/architecture.md,
# "Layers and hooks"): NDArray for the dispatch point, autograd's tape, symbol's tracer.
ndarray._registry.install_hooks(array_type=ndarray.NDArray, new_array=ndarray.ndarray._new,
                                record=autograd._record, backward=autograd.backward,
                                trace=symbol.trace.trace_op, to_symbol=symbol.tape.tape_symbol)
from . import export, nn, optimizer  # noqa: E402
from . import data, gluon, metric, model_zoo, profiler, tools  # noqa: E402
from . import kvstore  # noqa: E402
from . import amp, contrib  # noqa: E402
from . import module  # noqa: E402
from .module import monitor  # noqa: E402
from .module import rnn_cell as rnn  # noqa: E402  (MXNet 1.x mx.rnn: symbolic cells)

kv = kvstore
mod = module
from .data import io  # noqa: E402
from .data import recordio  # noqa: E402
from . import image  # noqa: E402
from .export import checkpoint as model  # noqa: E402
from .symbol import mx_operator as operator  # noqa: E402  (mx.operator; 'operator' is stdlib's)
from .ndarray import random  # noqa: E402
from .nn import loss  # noqa: E402
from .optimizer import lr_scheduler  # noqa: E402
from .tools import mx_onnx as onnx  # noqa: E402
from .tools import callback, test_utils, viz  # noqa: E402
from . import nparray as np, npx  # noqa: E402  (MXNet's numpy interface: mx.np, mx.npx)

# MXNet's top-level modules, kept where their concept lives (no root module may shadow the
# standard library's io/random): registered here once so `import kiln.io`, `from kiln.random
# import seed` and `kiln.lr_scheduler.FactorScheduler` work as in MXNet.
MODULE_ALIASES = {"io": io, "random": random, "model": model, "loss": loss,
                  "lr_scheduler": lr_scheduler, "onnx": onnx, "test_utils": test_utils,
                  "viz": viz, "context": context, "kv": kvstore,
                  "callback": callback, "mod": module, "operator": operator,
                  "recordio": recordio, "np": np, "npx": npx, "numpy": np,
                  "numpy_extension": npx, "rnn": rnn}
for _name, _module in MODULE_ALIASES.items():
    _sys.modules.setdefault(f"{__name__}.{_name}", _module)

__version__ = "0.1.0"

__all__ = ["nd", "ndarray", "autograd", "random", "cpu", "gpu", "num_gpus", "Context", "Device",
           "current_context", "current_device", "cpu_pinned", "MXNetError", "FileFormatError",
           "ExportError", "set_checks", "checks_enabled", "base",
           "optimizer", "lr_scheduler", "initializer", "init", "nn", "gluon", "sym", "symbol",
           "viz", "data", "metric", "io", "model", "test_utils", "onnx", "context", "device",
           "export", "model_zoo", "tools", "loss", "profiler", "kvstore", "kv",
           "callback"]
__all__ += ["util", "runtime", "name", "attribute", "AttrScope", "is_np_shape", "set_np_shape",
            "np_shape", "use_np_shape", "is_np_array", "np_array", "use_np_array", "use_np"]
__all__ += ["amp", "contrib"]
__all__ += ["mod", "module"]
__all__ += ["operator"]
__all__ += ["monitor"]
__all__ += ["recordio", "image"]
__all__ += ["np", "npx"]
