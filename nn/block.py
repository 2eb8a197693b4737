"""Block and HybridBlock: the building units of networks (MXNet Gluon 1.9 behaviour).

Assigning a Block or a Parameter to an attribute registers it, in order. As in MXNet 1.9,
``collect_params()`` keys parameters by their full Gluon 1.x names (``dense0_weight``) and
``export`` writes those names, while ``save_parameters``/``load_parameters`` use structural
names (``features.0.weight``); 1.x idioms (``name_scope``, ``self.params.get``) keep working.

A HybridBlock is written once, either Gluon 2 style ``forward(self, x)`` or Gluon 1 style
``hybrid_forward(self, F, x, weight)`` (``F`` is ``kiln.nd``; the block's own parameters arrive
as keywords named by their attributes). ``hybridize()`` makes ``__call__`` go through
``_call_cached``.

Example::

    >>> class Scale(HybridBlock):
    ...     def __init__(self, **kw):
    ...         super().__init__(**kw)
    ...         with self.name_scope():
    ...             self.weight = self.params.get('weight', shape=(3,))
    ...     def hybrid_forward(self, F, x, weight):
    ...         return x * weight
    >>> net = Scale(); net.initialize(); net(kiln.nd.ones((2, 3))).shape
    (2, 3)
"""
import re
import warnings
import weakref
from collections import OrderedDict

import numpy as np

from .. import export, initializer
from .. import ndarray as nd
from ..base import OpError
from ..ndarray._registry import STATE
from ..ndarray.ndarray import NDArray
from ..symbol import codegen
from ..symbol.cached import CachedGraph
from ..symbol.symbol import Symbol
from . import _checkpoint
from ._block_utils import HookHandle, _BlockScope, _name_block_in, summary
from .parameter import DeferredInitializationError, Parameter, _indent
from .parameter_dict import ParameterDict, load_into

__all__ = ["Block", "HybridBlock", "HookHandle"]

# Keywords hybridize() accepts (MXNet 1.9's, plus Gluon 2's); anything else is a TypeError.
# MXNet 1.9's hybridize keywords and the CachedOp flags it forwards (data_indices and
# param_indices are accepted and ignored: kiln tells inputs from parameters itself), and
# kiln's max_graphs (compiled graphs kept per block, symbol/cached.py)
_HYBRID_KWARGS = ("static_alloc", "static_shape", "backend", "backend_opts", "clear",
                  "partition_if_dynamic", "inline_limit", "forward_bulk_size",
                  "backward_bulk_size", "data_indices", "param_indices", "max_graphs")


def _check_hybrid_kwargs(kwargs):
    bad = [k for k in kwargs if k not in _HYBRID_KWARGS]
    if bad:
        raise TypeError(f"hybridize() got unexpected keyword argument(s) {bad}; accepted: "
                        f"active, {', '.join(_HYBRID_KWARGS)}")
    limit = kwargs.get("max_graphs")
    if limit is not None and (type(limit) is not int or limit < 1):
        raise ValueError(f"hybridize(max_graphs=...) takes a positive int or None (the default, "
                         f"kiln.symbol.cached.MAX_GRAPHS), got {limit!r}")


class Block:
    """Base class of all layers and models; subclasses define ``forward``.

    ``prefix`` names the block's parameters (Gluon 1.x; ``<classname><n>_`` by default);
    ``params`` shares the parameters of another block's ``ParameterDict``.

    Example::

        >>> class Net(Block):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.body = SomeLayer()      # registered as child 'body'
        ...     def forward(self, x):
        ...         return self.body(x)
    """

    def __init__(self, prefix=None, params=None):
        self._empty_prefix = prefix == ""
        self._prefix, self._params = _BlockScope.create(prefix, params, self._alias())
        self._name = self._prefix[:-1] if self._prefix.endswith("_") else self._prefix
        self._scope = _BlockScope(self)
        self._children = OrderedDict()
        self._reg_params = OrderedDict()
        self._forward_hooks = OrderedDict()
        self._forward_pre_hooks = OrderedDict()

    def __repr__(self):
        modstr = "\n".join(f"  ({key}): {_indent(repr(block), 2)}"
                           for key, block in self.__dict__.items() if isinstance(block, Block))
        return f"{self.__class__.__name__}(\n{modstr}\n)"

    def __setattr__(self, name, value):
        """Registers Blocks and Parameters assigned to attributes."""
        existing = self.__dict__.get(name)
        if isinstance(existing, (Parameter, Block)) and not isinstance(value, type(existing)):
            raise TypeError(f"Changing attribute type for {name} from {type(existing)} to "
                            f"{type(value)} is not allowed.")
        if isinstance(value, (Block, Parameter)) and "_children" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before "
                                 f"assigning the child or parameter '{name}'")
        if isinstance(value, Block):
            self.register_child(value, name)
        elif isinstance(value, Parameter):
            self._register_param(name, value, existing)
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self._children.pop(name, None)
        p = self._reg_params.pop(name, None)
        if p is not None:
            self._params._params = OrderedDict(
                (k, v) for k, v in self._params._params.items() if v is not p)
        object.__delattr__(self, name)

    def _register_param(self, name, param, existing=None):
        # A fresh Parameter('weight') takes the block's 1.x prefix (dense0_weight); one that
        # already belongs to a block (shared) keeps its name.
        if not getattr(param, "_prefixed", False):
            if not param.name.startswith(self._prefix):
                param.name = self._prefix + param.name
            param._prefixed = True
        self._reg_params[name] = param
        items = list(self._params._params.items())
        if isinstance(existing, Parameter):
            items = [(param.name, param) if v is existing else (k, v) for k, v in items]
        if not any(v is param for _, v in items):
            items.append((param.name, param))
        self._params._params = OrderedDict(items)

    def _alias(self):
        return self.__class__.__name__.lower()

    # ---- names (Gluon 1.x) -----------------------------------------------------------------
    @property
    def prefix(self):
        """Prefix of this block's parameter names (``dense0_``)."""
        return self._prefix

    @property
    def name(self):
        """Name of this block (the prefix without its trailing ``_``)."""
        return self._name

    def name_scope(self):
        """Scope in which children get names prefixed by this block's prefix."""
        return self._scope

    @property
    def params(self):
        """This block's own ParameterDict (children's parameters are not included)."""
        return self._params

    def register_child(self, block, name=None):
        """Register ``block`` as a child (named by position when ``name`` is None)."""
        if name is None:
            name = str(len(self._children))
        self._children[name] = block

    # ---- parameters ------------------------------------------------------------------------
    def _own_params(self):
        """This block's parameters: local name -> Parameter (attribute names where known)."""
        attr_of = {id(p): k for k, p in self._reg_params.items()}
        own = OrderedDict()
        for key, p in self._params.items():
            local = attr_of.get(id(p))
            if local is None:
                local = key[len(self._prefix):] if key.startswith(self._prefix) else key
            own.setdefault(local, p)
        for k, p in self._reg_params.items():
            own.setdefault(k, p)
        return own

    def _collect_params_with_prefix(self, prefix=""):
        if prefix:
            prefix += "."
        ret = OrderedDict((prefix + k, p) for k, p in self._own_params().items())
        for name, child in self._children.items():
            ret.update(child._collect_params_with_prefix(prefix + name))
        return ret

    def collect_params(self, select=None):
        """A ParameterDict of this block's and its descendants' parameters keyed by full name
        (``hybridsequential0_dense0_weight``), each parameter once, as in MXNet 1.9.

        ``select`` is a regex matched (from the start) against the full names, e.g.
        ``'.*weight|.*bias'``. Indexing the result by structural name (``features.0.weight``,
        the keys of ``save_parameters``) also works.

        Example::

            >>> net = nn.HybridSequential(prefix='net_')
            >>> with net.name_scope():
            ...     net.add(nn.Dense(2, in_units=3))
            >>> list(net.collect_params().keys())
            ['net_dense0_weight', 'net_dense0_bias']
        """
        self._check_container_with_block()
        ret = ParameterDict(self._params.prefix)
        pattern = re.compile(select) if select else None
        for key, p in self._collect_params_with_prefix().items():
            if pattern is None or pattern.match(p.name):
                ret._add_collected(key, p)
        return ret

    def _check_container_with_block(self):
        """Warn (as Gluon 1.x does) about Blocks hidden in list/tuple/dict attributes: they are
        not registered, so their parameters are missing from collect_params()."""
        children = {id(c) for c in self._children.values()}

        def hidden(data):
            if isinstance(data, (list, tuple)):
                return any(hidden(v) for v in data)
            if isinstance(data, dict):
                return any(hidden(v) for v in data.values())
            return isinstance(data, Block) and id(data) not in children

        for k, v in self.__dict__.items():
            if isinstance(v, (list, tuple, dict)) and not (k.startswith("__") or k == "_children"):
                if hidden(v):
                    warnings.warn(f'"{type(self).__name__}.{k}" is an unregistered container with '
                                  f'Blocks. Note that Blocks inside the list, tuple or dict will '
                                  f'not be registered automatically. Make sure to register them '
                                  f'using register_child() or switching to '
                                  f'nn.Sequential/nn.HybridSequential instead.', stacklevel=3)
        for c in self._children.values():
            c._check_container_with_block()

    def initialize(self, init=initializer.Uniform(), ctx=None, verbose=False,
                   force_reinit=False):
        """Initialize all parameters (``init`` where a parameter has no own initializer)."""
        self.collect_params().initialize(init, ctx, verbose, force_reinit)

    def zero_grad(self):
        """Set every parameter gradient to 0."""
        self.collect_params().zero_grad()

    def reset_ctx(self, ctx):
        """Move all parameters onto ``ctx``."""
        self.collect_params().reset_ctx(ctx)

    reset_device = reset_ctx

    def cast(self, dtype):
        """Cast all parameters (children first) to ``dtype``."""
        for child in self._children.values():
            child.cast(dtype)
        for p in self._own_params().values():
            p.cast(dtype)
        self._clear_cached_op()

    def _clear_cached_op(self):
        """Drop compiled graphs (HybridBlock; a plain Block keeps none)."""

    def share_parameters(self, shared):
        """Use the Parameters of ``shared`` (structural name -> Parameter, or another block's
        ``collect_params()``, matched by structural name) in place of this block's ones."""
        if shared is None:
            return self
        if not isinstance(shared, (dict, ParameterDict)):
            raise ValueError(f"'shared' should be a dict or ParameterDict, got {type(shared)}")
        if isinstance(shared, ParameterDict) and shared._structural:
            shared = shared._structural  # collect_params(): keyed by full names
        left = set(shared.keys())
        self._share_with_prefix(shared, left, "")
        for name in sorted(left):
            warnings.warn(f"Parameter name {name} is not in the current model!", stacklevel=2)
        return self

    def _share_with_prefix(self, shared, left, prefix):
        for name in list(self._reg_params):
            key = prefix + name
            if key in left:
                setattr(self, name, shared[key])
                left.discard(key)
        for name, child in self._children.items():
            child._share_with_prefix(shared, left, prefix + name + ".")

    # ---- saving and loading ----------------------------------------------------------------
    def save_parameters(self, filename, deduplicate=False):
        """Save parameters with ``kiln.nd.save`` keyed by structural name (a shared parameter
        once, under its first name, with ``deduplicate=True``)."""
        params = self._collect_params_with_prefix()
        if deduplicate:
            seen, kept = set(), OrderedDict()
            for k, p in params.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    kept[k] = p
            params = kept
        nd.save(filename, {k: p._reduce() for k, p in params.items()})

    def load_parameters(self, filename, ctx=None, allow_missing=False, ignore_extra=False,
                        cast_dtype=False, dtype_source="current"):
        """Load a file from ``save_parameters`` or MXNet (structural keys, or 1.x prefixed keys
        such as ``dense0_weight`` / ``model_dense0_weight``). Every key, shape and dtype is
        checked before any parameter is written; a file that is corrupt or does not fit raises
        a ``FileFormatError`` naming it."""
        self._load_dict(nd.load(filename), f"file '{filename}'", ctx, allow_missing,
                        ignore_extra, cast_dtype, dtype_source, path=filename)

    def load_dict(self, param_dict, ctx=None, allow_missing=False, ignore_extra=False,
                  cast_dtype=False, dtype_source="current"):
        """Load from a dict key -> NDArray (keys matched as in ``load_parameters``)."""
        self._load_dict(param_dict, "param_dict", ctx, allow_missing, ignore_extra, cast_dtype,
                        dtype_source)

    def _load_dict(self, loaded, source, ctx, allow_missing, ignore_extra, cast_dtype,
                   dtype_source, path=None):
        named = self._collect_params_with_prefix()
        if not loaded and not named:
            return
        load_into(loaded, named, source, ctx, allow_missing, ignore_extra, self.prefix,
                  cast_dtype, dtype_source, path=path)

    def save_params(self, filename):
        """Deprecated (MXNet 1.x): saves with prefixed names; use save_parameters."""
        warnings.warn("save_params is deprecated. Please use save_parameters.", stacklevel=2)
        self.collect_params().save(filename, strip_prefix=self.prefix)

    def load_params(self, filename, ctx=None, allow_missing=False, ignore_extra=False):
        """Deprecated (MXNet 1.x): use load_parameters."""
        warnings.warn("load_params is deprecated. Please use load_parameters.", stacklevel=2)
        self.load_parameters(filename, ctx, allow_missing, ignore_extra)

    # ---- hooks and traversal ---------------------------------------------------------------
    def register_forward_pre_hook(self, hook):
        """Call ``hook(block, inputs)`` before each forward; returns a handle to ``detach``."""
        handle = HookHandle()
        handle.attach(self._forward_pre_hooks, hook)
        return handle

    def register_forward_hook(self, hook):
        """Call ``hook(block, inputs, outputs)`` after each forward; returns a handle."""
        handle = HookHandle()
        handle.attach(self._forward_hooks, hook)
        return handle

    def apply(self, fn):
        """Call ``fn(block)`` on every descendant (children first), then on this block."""
        for child in self._children.values():
            child.apply(fn)
        fn(self)
        return self

    def hybridize(self, active=True, **kwargs):
        """Hybridize every HybridBlock below this block (see ``HybridBlock.hybridize``)."""
        _check_hybrid_kwargs(kwargs)
        for child in self._children.values():
            child.hybridize(active, **kwargs)

    def summary(self, *inputs):
        """Run ``inputs`` through the block and print each layer's output shape and parameter
        count (the block must not be hybridized)."""
        summary(self, *inputs)

    # ---- calling ---------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        tracer = STATE.tracer
        if tracer is not None:  # inside a hybridized parent: trace inline, named by path
            with tracer.in_block(getattr(tracer, "paths", {}).get(id(self), self.name)):
                try:
                    return self.forward(*args, **kwargs)
                except OpError as e:
                    _name_block_in(e, self)
                    raise
        if self._forward_pre_hooks:
            for hook in list(self._forward_pre_hooks.values()):
                hook(self, args)
        try:
            out = self._run_forward(*args, **kwargs)
        except OpError as e:
            _name_block_in(e, self)
            raise
        if args and getattr(args[0], "_is_np", False):  # np in, np out (kiln.np arrays)
            out = _as_np(out)
        if self._forward_hooks:
            for hook in list(self._forward_hooks.values()):
                hook(self, args, out)
        return out

    def _run_forward(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args):
        """The computation; override in subclasses."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")


def _as_np(out):
    """A block's outputs (arrays, or lists/tuples of them) as ``kiln.np`` arrays."""
    if isinstance(out, NDArray):
        return out.as_np_ndarray()
    if isinstance(out, (list, tuple)):
        return type(out)(_as_np(o) for o in out)
    return out


def _check_input_kinds(args):
    """Gluon 1.x's HybridBlock.forward check: at least one NDArray or Symbol among the inputs
    (nested lists included), and not both kinds."""
    if args and all(type(a) is NDArray for a in args):  # the common call, checked quickly
        return
    from ..symbol.symbol import Symbol

    kinds = set()
    stack = list(args)
    while stack:
        a = stack.pop()
        if isinstance(a, (list, tuple)):
            stack.extend(a)
        elif isinstance(a, (NDArray, np.ndarray)):  # kiln also takes numpy (transforms)
            kinds.add("nd")
        elif isinstance(a, Symbol):
            kinds.add("sym")
    if not kinds:
        raise ValueError("In HybridBlock, there must be one NDArray or one Symbol in the input. "
                         "Please check the type of the args.")
    if len(kinds) == 2:
        raise ValueError("In HybridBlock, we do not support mixed NDArrays and Symbols types for "
                         "the input. Please check the type of the args.")


def _call_symbolic(block, args, kwargs):
    """Gluon 1.x: a HybridBlock called on a Symbol returns the graph of its forward, with
    parameters as their ``var()`` and nodes named as MXNet does (see ``kiln.symbol.symbolic``);
    hybridization does not matter and parameters need not be initialized."""
    from ..symbol.symbolic import call_block
    return call_block(block, args, kwargs)


def _namespace():
    """``F`` for ``hybrid_forward``: ``kiln.nd``, or the symbolic-call namespace (ops taking
    MXNet's ``name=``) while a block is called on a Symbol."""
    tracer = STATE.tracer
    return nd if tracer is None else getattr(tracer, "F", nd)


class HybridBlock(Block):
    """A Block that can be hybridized (compiled to a graph).

    Define ``forward(self, x, ...)`` using ``kiln.nd`` ops and parameters' ``data()``, or Gluon
    1.x ``hybrid_forward(self, F, x, ..., **params)``. Do not branch in Python on array values,
    nor call ``asnumpy()``: the same code is traced by ``hybridize``.

    Shapes unknown at construction (deferred initialization) are filled at the first call:
    layers override ``infer_shape(*args)`` or set ``param.shape`` in ``forward`` before
    ``param.data()``.
    """

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._active = False
        self._hybrid_flags = {}
        self._cached_graph = ()
        self._cached_op = None
        self._params_ready = False
        self._parents = weakref.WeakSet()  # blocks holding this one: their graphs include it

    def __setattr__(self, name, value):
        super().__setattr__(name, value)
        if isinstance(value, HybridBlock):
            self._clear_cached_op()

    def register_child(self, block, name=None):
        if not isinstance(block, HybridBlock):
            raise ValueError(f"Children of HybridBlock must also be HybridBlock, but {block} has "
                             f"type {type(block)}. If you are using Sequential, please try "
                             f"HybridSequential instead.")
        old = self._children.get(name) if name is not None else None
        super().register_child(block, name)
        if old is not None and all(c is not old for c in self._children.values()):
            getattr(old, "_parents", set()).discard(self)  # replaced: no longer inside
        block._parents.add(self)
        self._clear_cached_op()

    def register_op_hook(self, callback, monitor_all=False):
        """Call ``callback(name, op_type, array)`` for every op output while this (hybridized)
        block and its children run compiled graphs; ``monitor_all`` also reports each op's
        inputs (``<node>_<input>``). Names are the graph's node names (``<node>_output``),
        op types MXNet's (``FullyConnected``); arrays are NDArrays (copies are not made:
        read them in the callback). Registering recompiles the graphs with the calls in.

        Example::

            >>> net.hybridize(); net.register_op_hook(lambda n, op, a: print(n, op, a.shape))
        """
        for block in self._all_blocks():
            block._hybrid_flags = dict(block._hybrid_flags,
                                       op_hook=(callback, bool(monitor_all)))
            block._clear_cached_op()

    def _all_blocks(self):
        stack, seen = [self], []
        while stack:
            block = stack.pop()
            if isinstance(block, HybridBlock) and block not in seen:
                seen.append(block)
            stack.extend(c() if callable(c) and not hasattr(c, "forward") else c
                         for c in block._children.values())
        return seen

    def _clear_cached_op(self):
        """Drop the compiled graphs of this block and of every block that contains it (their
        graphs include this one); unrelated blocks keep theirs."""
        stack, seen = [self], set()
        while stack:
            block = stack.pop()
            if id(block) in seen:
                continue
            seen.add(id(block))
            block._cached_graph = ()
            block._cached_op = None
            block._params_ready = False
            stack.extend(getattr(block, "_parents", ()))

    def hybridize(self, active=True, static_alloc=False, static_shape=False, backend=None,
                  **kwargs):
        """Mark this block and its children for graph execution (``active=False`` undoes it).

        Accepts MXNet's flags (static_alloc, static_shape, backend, backend_opts, clear,
        partition_if_dynamic, inline_limit, forward/backward_bulk_size); any other keyword is a
        TypeError. kiln's ``max_graphs=n`` bounds the compiled graphs kept per block (one per
        input shapes/dtypes/mode signature; default ``kiln.symbol.cached.MAX_GRAPHS``, 8): the
        least recently used one is dropped beyond it, with a warning the first time.

        ``backend='onnxruntime'`` (or ``'ort'``) runs each compiled graph (inference, and the
        training forward and backward) as an onnxruntime session; ``backend_opts`` takes
        ``intra_op_num_threads``, ``inter_op_num_threads``, ``graph_optimization_level``,
        ``opset``, ``params``, ``training`` (``'auto'``: each training graph keeps the faster of
        onnxruntime and numpy, timed on its first calls; ``'onnxruntime'``; ``'numpy'``). Ops
        onnxruntime cannot run stay in numpy partitions between onnxruntime ones, logged once
        (logger ``kiln.ort``) and listed by ``backend_plan()``. Other backend names are ignored.
        """
        _check_hybrid_kwargs(kwargs)
        self._active = bool(active)
        hook = self._hybrid_flags.get("op_hook")  # an installed op hook survives re-hybridizing
        self._hybrid_flags = dict(static_alloc=static_alloc, static_shape=static_shape,
                                  backend=backend, **kwargs)
        if active and backend is not None:  # onnx loads only for a backend that needs it
            from ..export.ort_executor import make_executor
            executor = make_executor(backend, kwargs.get("backend_opts"))
            if executor is not None:
                self._hybrid_flags["executor"] = executor
        if hook is not None:
            self._hybrid_flags["op_hook"] = hook
        self._clear_cached_op()
        if active and (self._forward_hooks or self._forward_pre_hooks):
            warnings.warn(f'"{self.name}" is being hybridized while still having forward '
                          f'hook/pre-hook. If "{self.name}" is a child of HybridBlock, the hooks '
                          f'will not take effect.', stacklevel=2)
        for child in self._children.values():
            child.hybridize(active, static_alloc=static_alloc, static_shape=static_shape,
                            backend=backend, **kwargs)

    def __call__(self, *args, **kwargs):
        # the common hybridized call goes straight to the compiled graphs (a training step
        # makes a few of these: every layer of Python here is paid each time)
        co = self._cached_op
        if (co is not None and self._active and args and type(args[0]) is NDArray and not kwargs
                and STATE.tracer is None and not self._forward_hooks
                and not self._forward_pre_hooks):
            try:
                return co(*args)
            except OpError as e:
                _name_block_in(e, self)
                raise
        if (co is None and not self._active and args and type(args[0]) is NDArray
                and not kwargs and STATE.tracer is None and not self._forward_hooks
                and not self._forward_pre_hooks
                and type(self)._run_forward is HybridBlock._run_forward):
            # an eager call (a loss on a hybridized network's output): Block.__call__ less
            # the layers that have nothing to do here
            try:
                return self._call_eager(*args)
            except OpError as e:
                _name_block_in(e, self)
                raise
        return Block.__call__(self, *args, **kwargs)

    def _run_forward(self, *args, **kwargs):
        if args and isinstance(args[0], Symbol):
            return _call_symbolic(self, args, kwargs)
        if self._active:
            return self._call_cached(*args, **kwargs)
        return self._call_eager(*args, **kwargs)

    def _call_cached(self, *args, **kwargs):
        """Run the compiled graph for this call signature (tracing it on a cache miss).

        The first call with uninitialized (deferred) parameters runs eagerly, which completes
        their initialization; keyword inputs also run eagerly.
        """
        if kwargs:
            return self._call_eager(*args, **kwargs)
        if not self._params_ready:
            if any(p._data is None for p in self._collect_params_with_prefix().values()):
                return self._first_call(args)
            self._params_ready = True
        if self._cached_op is None:
            self._cached_op = CachedGraph(self, self._hybrid_flags, owned=True)
        return self._cached_op(*args)

    def _first_call(self, args):
        """Run eagerly to finish deferred initialization, then build the cached graph. With an
        op hook installed, a predict-mode call then runs the compiled graph instead, so the
        hook sees this call's ops as MXNet's does (the eager run's hooks are muted)."""
        hooked = "op_hook" in self._hybrid_flags and not STATE.training
        codegen.HOOKS_MUTED[0], muted = hooked, codegen.HOOKS_MUTED[0]
        try:
            out = self._call_eager(*args)  # finishes deferred initialization
        finally:
            codegen.HOOKS_MUTED[0] = muted
        if any(p._data is None for p in self._collect_params_with_prefix().values()):
            return out
        self._params_ready = True
        self._cached_op = CachedGraph(self, self._hybrid_flags, owned=True)
        self._cached_op.prepare(*args)  # the graph exists for export() now
        return self._cached_op(*args) if hooked else out

    def _traced_forward(self, *args):
        """``forward`` as the tracer runs it (hooks stay outside the graph)."""
        return self.forward(*args)

    def _call_eager(self, *args, **kwargs):
        if (getattr(self, "_checkpointed", False) and STATE.recording and not kwargs
                and all(p._data is not None
                        for p in self._collect_params_with_prefix().values())):
            out = _checkpoint.call(self, self.forward, args)  # one recomputed tape node
            if out is not None:
                return out
        try:
            return self.forward(*args, **kwargs)
        except DeferredInitializationError:
            self._deferred_infer_shape(*args, **kwargs)
        try:
            return self.forward(*args, **kwargs)
        except DeferredInitializationError as e:
            if getattr(e, "_noted", False):
                raise
            err = DeferredInitializationError(
                f"{e} {type(self).__name__} '{self.name}' could not infer the shape from its "
                f"inputs: define infer_shape(*inputs) or set the Parameter's shape in forward "
                f"before calling data().")
            err._noted = True
            raise err from e

    def _deferred_infer_shape(self, *args, **kwargs):
        """Let ``infer_shape`` fill unknown shapes, then finish the waiting initializations."""
        self.infer_shape(*args, **kwargs)
        for p in self.collect_params().values():
            if p._deferred_init and all(d > 0 for d in (p.shape or (0,))):
                p._finish_deferred_init()

    def infer_shape(self, *args, **kwargs):
        """Fill unknown parameter shapes from the inputs (layers override this)."""

    def infer_type(self, *args):
        """Fill parameter dtypes from the inputs (nothing to do by default)."""

    def forward(self, x, *args, **kwargs):
        """Calls Gluon 1.x ``hybrid_forward(F, x, *args, **params)`` with ``F = kiln.nd``."""
        if type(self).hybrid_forward is HybridBlock.hybrid_forward:
            raise NotImplementedError(f"{type(self).__name__} must define forward(self, x, ...) "
                                      f"or hybrid_forward(self, F, x, ...)")
        _check_input_kinds((x,) + args)
        ctx = x.context if isinstance(x, NDArray) else None
        params = {k: p.data(ctx) for k, p in self._reg_params.items()}
        return self.hybrid_forward(_namespace(), x, *args, **params, **kwargs)

    def hybrid_forward(self, F, x, *args, **kwargs):
        """Gluon 1.x computation: ``F`` is ``kiln.nd``; parameters come as keywords."""
        raise NotImplementedError

    def export(self, path, epoch=0, remove_amp_cast=True):
        """Write ``path-symbol.json`` and ``path-%04d.params`` in MXNet 1.x's formats.

        Call the hybridized block once first. Returns None, as MXNet 1.9 does.
        """
        from .symbol_block import export_block
        export_block(self, path, epoch)

    def export_onnx(self, path, *example_inputs, opset=None, dynamic_axes=None,
                    input_names=None, output_names=None, verify=True, fold_batchnorm=True,
                    **kwargs):
        """Export to an ONNX file (see ``kiln.export.onnx.export_model``).

        ``example_inputs``: arrays (or shape tuples) the graph is traced and verified with;
        ``dynamic_axes`` like ``{"data": {0: "batch"}}``. BatchNorm is folded into the
        convolution/dense before it (for inference); ``fold_batchnorm=False`` keeps it, so
        ``SymbolBlock.from_onnx`` of the file gives BatchNorm layers that fine-tune (batch
        statistics and running-statistics updates in training mode). Returns the file path.

        Example::

            >>> net.export_onnx("net.onnx", nd.ones((1, 3, 32, 32)),
            ...                 dynamic_axes={"data": {0: "batch"}})
        """
        from .symbol_block import export_onnx
        return export_onnx(self, path, *example_inputs, opset=opset, dynamic_axes=dynamic_axes,
                           input_names=input_names, output_names=output_names, verify=verify,
                           fold_batchnorm=fold_batchnorm, **kwargs)

    def print_graph(self):
        """The optimized graph of the last used call signature, one node per line."""
        return self._last_entry().print_graph()

    def generated_code(self):
        """The generated Python source of the last used forward (and backward, once run)."""
        entry = self._last_entry()
        code = entry.forward.source
        for train in entry.train.values():
            code += "\n" + train.forward.source + "\n" + train.backward.source
        return code

    def checkpoint(self, active=True):
        """Recompute this block's activations in the backward instead of keeping them
        (gradient checkpointing): a hybridized training step (this block's graph or a
        hybridized parent's) then saves only what enters the block, and its backward runs the
        block's forward again from there (``symbol/remat.py``; random ops are kept, not
        recomputed, and BatchNorm's running statistics are updated once). Called eagerly while
        autograd records, the block leaves one tape node whose backward reruns its forward with
        the same random draws (``nn/_checkpoint.py``). Returns the block.

        Example::

            >>> for stage in net.features[4:]:
            ...     stage.checkpoint()     # less peak memory, one more forward of each stage
        """
        self._checkpointed = bool(active)
        self._clear_cached_op()
        return self

    def memory_plan(self):
        """The memory plan's estimate for each function compiled for the last used signature:
        ``[(function name, peak bytes of temporaries, bytes of persistent buffers)]``
        (``symbol/memory_plan.py``; arguments and parameters not counted).

        Example::

            >>> net.hybridize(); net(x)
            >>> net.memory_plan()   # [('forward', 401408, 0)]
        """
        entry = self._last_entry()
        fns = [entry.forward] + [f for t in entry.train.values()
                                 for f in [t.forward, *t._into.values()]]
        return [(f.source.split("(", 1)[0][4:], f.peak_temporaries, f.static_bytes)
                for f in fns if hasattr(f, "peak_temporaries")]

    def export_quantized(self, path, *example_inputs, calibration=None, mode="static",
                         **kwargs):
        """Export this block to ONNX and quantize it into ``path`` in one step
        (``kiln.export.quantize_block``: static or dynamic int8, fp16); returns the accuracy
        report.

        Example::

            >>> report = net.export_quantized("net-int8.onnx", calibration=train_loader)
        """
        return export.quantize_block(self, path, *example_inputs, calibration=calibration,
                                     mode=mode, **kwargs)

    def backend_plan(self):
        """Where each graph compiled for this block runs: ``[(graph name, executor), ...]``
        (``'onnxruntime'``, or ``'numpy: <reason>'`` for a graph that fell back); empty
        without ``hybridize(backend='onnxruntime')``."""
        executor = self._hybrid_flags.get("executor")
        return [tuple(p) for p in executor.plan] if executor is not None else []

    def _last_entry(self):
        if self._cached_op is None or not self._cached_op.entries:
            raise RuntimeError(f"{self.name} has no compiled graph yet: hybridize() and call it")
        return next(reversed(self._cached_op.entries.values()))  # the most recently used

    def optimize_for(self, x, *args, backend=None, **kwargs):
        """Partition for a backend (not supported in kiln)."""
        raise NotImplementedError("HybridBlock.optimize_for() is not supported in kiln")
