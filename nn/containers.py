"""Container blocks: Sequential, HybridSequential, Lambda, HybridLambda, Concatenate,
HybridConcatenate and Identity (MXNet Gluon 1.9 behaviour).

Example::

    >>> net = HybridSequential()
    >>> net.add(Identity(), HybridLambda('relu'))
    >>> net(kiln.nd.array([-1, 2]))
    [0. 2.]
    <NDArray 2 @cpu(0)>
"""
import inspect
import warnings

from .. import ndarray as nd
from .block import Block, HybridBlock
from .parameter import _indent

__all__ = ["Sequential", "HybridSequential", "Lambda", "HybridLambda", "Concatenate",
           "HybridConcatenate", "Identity"]


def _chain(children, x, args):
    """Feed ``x`` through ``children``; a tuple output feeds its items to the next block."""
    for block in children:
        x = block(x, *args)
        args = []
        if isinstance(x, (tuple, list)):
            args = x[1:]
            x = x[0]
    if args:
        x = tuple([x] + list(args))
    return x


class _SequentialMixin:
    """Shared list-like behaviour of Sequential and HybridSequential."""

    def add(self, *blocks):
        """Append blocks, in order. Returns None, as MXNet 1.9 (a notebook cell ending in
        ``net.add(...)`` prints nothing)."""
        for block in blocks:
            self.register_child(block)

    def __repr__(self):
        modstr = "\n".join(f"  ({key}): {_indent(repr(block), 2)}"
                           for key, block in self._children.items())
        return f"{self.__class__.__name__}(\n{modstr}\n)"

    def __getitem__(self, key):
        layers = list(self._children.values())[key]
        if isinstance(layers, list):
            net = type(self)(prefix=self._prefix)
            with net.name_scope():
                net.add(*layers)
            if hasattr(self, "axis"):      # Concatenate keeps its axis
                net.axis = self.axis
            return net
        return layers

    def __len__(self):
        return len(self._children)

    def __iter__(self):
        return iter(list(self._children.values()))


class Sequential(_SequentialMixin, Block):
    """Stacks Blocks sequentially: ``net.add(a, b)``; ``net(x)`` is ``b(a(x))``.

    Example::

        >>> net = Sequential(); net.add(Identity()); len(net)
        1
    """

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def forward(self, x, *args):
        return _chain(self._children.values(), x, args)

    def hybridize(self, active=True, **kwargs):
        """Hybridize the children (warns when all are HybridBlocks, as Gluon does)."""
        if self._children and all(isinstance(c, HybridBlock) for c in self._children.values()):
            warnings.warn(f"All children of this Sequential layer '{self.prefix}' are "
                          f"HybridBlocks. Consider using HybridSequential for the best "
                          f"performance.", stacklevel=2)
        super().hybridize(active, **kwargs)


class HybridSequential(_SequentialMixin, HybridBlock):
    """Stacks HybridBlocks sequentially (hybridizable as a whole).

    Example::

        >>> net = HybridSequential(); net.add(Identity(), Identity()); net[1:]
        HybridSequential(
          (0): Identity(
          <BLANKLINE>
          )
        )
    """

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def forward(self, x, *args):
        return _chain(self._children.values(), x, args)


def _resolve(function, kind):
    if isinstance(function, str):
        if not hasattr(nd, function):
            raise ValueError(f"Function name {function} is not found in kiln.nd.")
        return getattr(nd, function)
    if callable(function):
        return function
    raise ValueError(f"Unrecognized function in {kind}: {function} of type {type(function)}")


class Lambda(Block):
    """Wraps a function (or the name of a ``kiln.nd`` function) as a Block.

    Example: ``Lambda(lambda x: x * 2)``, ``Lambda('tanh')``.
    """

    def __init__(self, function, prefix=None):
        super().__init__(prefix=prefix)
        self._func_impl = _resolve(function, "Lambda")

    def forward(self, *args):
        return self._func_impl(*args)

    def __repr__(self):
        name = getattr(self._func_impl, "__name__", repr(self._func_impl))
        return f"{self.__class__.__name__}({name})"


def _takes_F(func, n_args):
    """True when ``func`` is a Gluon 1.x ``f(F, x, ...)`` (one positional more than given)."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return False
    pos = [p for p in sig.parameters.values()
           if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in pos if p.default is p.empty]
    has_var = any(p.kind == p.VAR_POSITIONAL for p in sig.parameters.values())
    if pos and pos[0].name == "F":
        return True
    return len(required) == n_args + 1 and not has_var


class HybridLambda(HybridBlock):
    """Wraps a function (or the name of a ``kiln.nd`` function) as a HybridBlock.

    The function may be Gluon 2 style ``f(x, ...)`` or Gluon 1 style ``f(F, x, ...)``.

    Example: ``HybridLambda(lambda F, x: F.relu(x))``, ``HybridLambda('relu')``.
    """

    def __init__(self, function, prefix=None):
        super().__init__(prefix=prefix)
        self._func_impl = _resolve(function, "HybridLambda")
        self._func_name = function if isinstance(function, str) else getattr(
            function, "__name__", repr(function))
        self._is_name = isinstance(function, str)

    def forward(self, x, *args):
        if not self._is_name and _takes_F(self._func_impl, 1 + len(args)):
            return self._func_impl(nd, x, *args)
        return self._func_impl(x, *args)

    def __repr__(self):
        return f"{self.__class__.__name__}({self._func_name})"


class Concatenate(Sequential):
    """Runs every child on the same input and concatenates the outputs along ``axis``."""

    def __init__(self, axis=-1, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self.axis = axis

    def forward(self, x):
        return nd.concat(*[block(x) for block in self._children.values()], dim=self.axis)


class HybridConcatenate(HybridSequential):
    """Hybridizable Concatenate: children's outputs on one input, joined along ``axis``."""

    def __init__(self, axis=-1, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self.axis = axis

    def forward(self, x):
        return nd.concat(*[block(x) for block in self._children.values()], dim=self.axis)


class Identity(HybridBlock):
    """Returns its input unchanged (placeholder in containers)."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def forward(self, x):
        return x
