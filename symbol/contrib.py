"""``kiln.sym.contrib``: MXNet 1.9's ``mx.sym.contrib`` namespace.

Every registered op or alias named ``_contrib_<name>`` is here as ``<name>``, building a graph
node like the rest of ``kiln.sym`` (tests/test_sequence_ops.py checks that none is missing).

Example::

    >>> from kiln import sym
    >>> qkv = sym.var("qkv")
    >>> sym.contrib.interleaved_matmul_selfatt_qk(qkv, heads=2).infer_shape(qkv=(5, 2, 24))[1]
    [(4, 5, 5)]
"""
from ..attribute import AttrScope  # noqa: F401  (MXNet's sym.contrib exports these)
from ..ndarray._registry import OPS as _OPS
from ..ndarray.contrib import layer_ops, multi_adamw, multi_lamb, quadratic
from . import _namespace as _ns
from . import control_flow as _control_flow
from ._namespace import _contrib_arange_like as arange_like
from ._namespace import _contrib_ctc_loss as ctc_loss
from ._namespace import _contrib_CTCLoss as CTCLoss
from ._namespace import _contrib_div_sqrt_dim as div_sqrt_dim
from ._namespace import _contrib_interleaved_matmul_encdec_qk as interleaved_matmul_encdec_qk
from ._namespace import (
    _contrib_interleaved_matmul_encdec_valatt as interleaved_matmul_encdec_valatt,
)
from ._namespace import _contrib_interleaved_matmul_selfatt_qk as interleaved_matmul_selfatt_qk
from ._namespace import (
    _contrib_interleaved_matmul_selfatt_valatt as interleaved_matmul_selfatt_valatt,
)
from .random_api import uniform  # noqa: F401
from .sym_ops import make_sym_function as _sym
from .symbol import Group, Symbol  # noqa: F401

SyncBatchNorm, BatchNormWithReLU, SparseEmbedding = layer_ops(_ns, group=Group)
adamw_update = _sym(_OPS["_contrib_adamw_update"])
mp_adamw_update = _sym(_OPS["_contrib_mp_adamw_update"])
group_adagrad_update = _sym(_OPS["_contrib_group_adagrad_update"])
gradientmultiplier = _sym(_OPS["_contrib_gradientmultiplier"])
index_array = _sym(_OPS["_contrib_index_array"])
index_copy = _sym(_OPS["_contrib_index_copy"])
multi_adamw_update = multi_adamw(_sym(_OPS["_multi_adamw_update"]), False)
multi_mp_adamw_update = multi_adamw(_sym(_OPS["_multi_mp_adamw_update"]), True)
multi_lamb_update = multi_lamb(_sym(_OPS["_multi_lamb_update"]), False)
multi_mp_lamb_update = multi_lamb(_sym(_OPS["_multi_mp_lamb_update"]), True)


def foreach(body, data, init_states):
    """``nd.contrib.foreach`` on Symbols: one graph node (Scan in ONNX). The body is traced
    once, so the data and states need known shapes (``sym.var(name, shape=...)``).

    Example::

        >>> x = sym.var("x", shape=(5, 2, 3)); h = sym.var("h", shape=(2, 3))
        >>> outs, last = sym.contrib.foreach(lambda d, s: (d + s, d + s), x, h)
    """
    return _control_flow.trace_call("foreach", (body, data, init_states), {})


def while_loop(cond, func, loop_vars, max_iterations=None):
    """``nd.contrib.while_loop`` on Symbols (Loop in ONNX); outputs are padded to
    ``max_iterations`` rows, which is required, as in MXNet's symbolic form."""
    if max_iterations is None:
        raise ValueError("sym.contrib.while_loop: max_iterations is required for symbols")
    return _control_flow.trace_call("while_loop", (cond, func, loop_vars, max_iterations), {})


def cond(pred, then_func, else_func):
    """``nd.contrib.cond`` on Symbols (If in ONNX): both branches must give the same shapes
    and dtypes."""
    return _control_flow.trace_call("cond", (pred, then_func, else_func), {})


__all__ = ["foreach", "while_loop", "cond", "arange_like", "ctc_loss", "CTCLoss", "div_sqrt_dim",
           "interleaved_matmul_encdec_qk",
           "interleaved_matmul_encdec_valatt", "interleaved_matmul_selfatt_qk",
           "interleaved_matmul_selfatt_valatt", "adamw_update", "mp_adamw_update",
           "group_adagrad_update", "multi_adamw_update", "multi_mp_adamw_update",
           "multi_lamb_update", "multi_mp_lamb_update", "gradientmultiplier", "index_array",
           "index_copy", "SyncBatchNorm", "BatchNormWithReLU", "SparseEmbedding", "quadratic"]

# the detection and vision ops (box_nms, ROIAlign, MultiBoxPrior...): one list, see there
from . import contrib_vision as _vision  # noqa: E402
from .contrib_vision import *  # noqa: E402,F401,F403

__all__ += _vision.__all__

# the int8 quantization ops (quantize_v2, quantized_conv...): one list, see there
from . import contrib_quant as _quant  # noqa: E402
from .contrib_quant import *  # noqa: E402,F401,F403

__all__ += _quant.__all__

# hawkesll, fft/ifft, count_sketch, the backward_* ops, getnnz/edge_id: one list, see there
from . import contrib_misc as _misc_contrib  # noqa: E402
from .contrib_misc import *  # noqa: E402,F401,F403

__all__ += _misc_contrib.__all__
