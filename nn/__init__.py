"""``kiln.nn`` (also ``kiln.gluon.nn``): Block, HybridBlock, Parameter, containers and layers.

A plain list of imports: each layer family adds its own line.

Example::

    >>> from kiln import nn
    >>> net = nn.HybridSequential()
    >>> net.add(nn.Identity())
"""
# ruff: noqa: F401
from .block import Block, HookHandle, HybridBlock
from .containers import (
    Concatenate,
    HybridConcatenate,
    HybridLambda,
    HybridSequential,
    Identity,
    Lambda,
    Sequential,
)
from .parameter import Constant, DeferredInitializationError, Parameter
from .parameter_dict import ParameterDict
from .symbol_block import SymbolBlock
