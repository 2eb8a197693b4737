"""``kiln.sym.contrib``: MXNet 1.9's ``mx.sym.contrib`` namespace.

Every registered op or alias named ``_contrib_<name>`` is here as ``<name>``, building a graph
node like the rest of ``kiln.sym`` (tests/test_sequence_ops.py checks that none is missing).

Example::

    >>> from kiln import sym
    >>> qkv = sym.var("qkv")
    >>> sym.contrib.interleaved_matmul_selfatt_qk(qkv, heads=2).infer_shape(qkv=(5, 2, 24))[1]
    [(4, 5, 5)]
"""
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

__all__ = ["arange_like", "ctc_loss", "CTCLoss", "div_sqrt_dim", "interleaved_matmul_encdec_qk",
           "interleaved_matmul_encdec_valatt", "interleaved_matmul_selfatt_qk",
           "interleaved_matmul_selfatt_valatt"]
