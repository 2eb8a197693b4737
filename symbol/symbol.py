"""Symbol: a handle on graph outputs, used both by ``kiln.sym`` and as the traced value.

While ``hybridize`` traces, every op on a Symbol appends a node (through the registry's one
dispatch point). ``x.shape``/``x.dtype`` are known while tracing; using a traced value in Python
control flow raises an error naming the user's line.

Example::

    >>> from kiln import sym
    >>> x = sym.var("x")
    >>> y = sym.relu(x * 2)
    >>> y.list_arguments()
    ['x']
"""
from ..base import MXNetError, NotImplementedForSymbol, user_frame
from ..ndarray import ndarray as _nd
from ..ndarray._registry import STATE
from .graph import Node, is_entry, topo_order
from .mx_names import called_as

_CONTROL_FLOW_HINT = (
    "a traced value cannot decide Python control flow (if/while/bool/int/float) inside a "
    "hybridized block: the graph is recorded once and must not depend on values. Use "
    "kiln.nd.where or the control-flow ops (kiln.nd.contrib.cond / foreach / while_loop), or "
    "run this block eagerly with net.hybridize(active=False)")


class Symbol:
    """Outputs of a graph: one entry (a tensor) or several (a group)."""

    __slots__ = ("_entries", "__weakref__")
    __array_priority__ = 1000.0
    _is_np = False  # True on kiln.np's traced value (numpy semantics, see register_np_type)

    def __init__(self, entries):
        self._entries = list(entries)

    # ---- tensor-like view (single output) ------------------------------------------------------
    @property
    def _trace_node(self):
        return self._entry()

    def _entry(self):
        if len(self._entries) != 1:
            raise MXNetError(f"this symbol groups {len(self._entries)} outputs; pick one with "
                             "sym[i] before using it as an op input")
        return self._entries[0]

    def _aval(self):
        node, i = self._entry()
        if node.avals is None:
            return None
        return node.avals[i]

    @property
    def shape(self):
        av = self._aval()
        if av is None:
            raise MXNetError(f"the shape of symbol {self.name!r} is not known; use "
                             "infer_shape(...) with input shapes")
        return tuple(av.shape)

    @property
    def dtype(self):
        av = self._aval()
        if av is None:
            raise MXNetError(f"the dtype of symbol {self.name!r} is not known; use infer_type")
        return av.dtype.type

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def context(self):
        tracer = STATE.tracer
        if tracer is not None:
            return tracer.ctx
        from ..device import current_context
        return current_context()

    ctx = context

    @property
    def T(self):
        return _nd.F.transpose(self)

    def __bool__(self):
        if STATE.tracer is None:   # a plain graph handle: MXNet's error type
            raise NotImplementedForSymbol(bool, None)
        raise MXNetError(f"{_CONTROL_FLOW_HINT} (at {user_frame()})")

    def __float__(self):
        raise MXNetError(f"{_CONTROL_FLOW_HINT} (at {user_frame()})")

    __int__ = __index__ = __float__

    def asnumpy(self):
        raise MXNetError(f"asnumpy() of a traced value: it has no data while hybridize traces; "
                         f"{_CONTROL_FLOW_HINT} (at {user_frame()})")

    asscalar = item = asnumpy

    def __len__(self):
        if len(self._entries) == 1 and self._aval() is not None and self._aval().shape:
            return self.shape[0]
        return len(self._entries)

    def __iter__(self):
        if len(self._entries) > 1:
            return (Symbol([e]) for e in self._entries)
        return (self[i] for i in range(len(self)))

    def __hash__(self):
        return id(self)

    def __getitem__(self, key):
        if len(self._entries) > 1 or isinstance(key, str) or self._aval() is None:
            return self._select_output(key)
        enc, arrays = _nd.encode_index(key)
        return _nd.F.getitem(self, *arrays, key=enc)

    def _select_output(self, key):
        if isinstance(key, str):
            for e, name in zip(self._entries, self.list_outputs()):
                if name == key or name == key + "_output":
                    return Symbol([e])
            internals = self.get_internals()
            return internals[key]
        if isinstance(key, slice):
            return Symbol(self._entries[key])
        return Symbol([self._entries[key]])

    def reshape(self, *shape, **kwargs):
        if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
            shape = tuple(shape[0])
        if "shape" in kwargs:
            shape = tuple(kwargs.pop("shape"))
        return _nd.F.reshape(self, shape=shape, **kwargs)

    def astype(self, dtype, copy=True):
        return _nd.F.cast(self, dtype=dtype)

    def detach(self):
        return _nd.F.stop_gradient(self)

    def as_in_context(self, ctx):
        return self

    def as_np_ndarray(self):
        """The same value with kiln.np's semantics (a new handle; MXNet's Symbol method)."""
        return to_np_inplace(Symbol(self._entries))

    def as_nd_ndarray(self):
        return self

    as_in_ctx = to_device = as_in_context

    # ---- graph API -------------------------------------------------------------------------------
    @property
    def name(self):
        if len(self._entries) != 1:
            return None
        return self._entries[0][0].name

    def _nodes(self):
        return topo_order(self._entries)

    def list_outputs(self):
        names = []
        for node, i in self._entries:
            if node.kind != "op":
                names.append(node.name)
            elif node.num_outputs == 1:
                names.append(f"{node.name}_output")
            else:
                names.append(f"{node.name}_output{i}")
        return names

    def list_inputs(self):
        return [n.name for n in self._nodes() if n.kind == "var"]

    def list_arguments(self):
        return [n.name for n in self._nodes() if n.kind == "var" and not n.meta.get("aux")]

    def list_auxiliary_states(self):
        return [n.name for n in self._nodes() if n.kind == "var" and n.meta.get("aux")]

    def get_internals(self):
        entries = []
        for n in self._nodes():
            entries.extend((n, i) for i in range(n.num_outputs))
        return Symbol(entries)

    def get_children(self):
        """The inputs of the nodes behind these outputs, each node counted once (a group of a
        multi-output node's outputs has that node's inputs as children, as in MXNet)."""
        ins, seen = [], set()
        for node, _ in self._entries:
            if id(node) not in seen:
                seen.add(id(node))
                ins.extend(i for i in node.inputs if is_entry(i))
        return Symbol(ins) if ins else None

    def attr(self, key):
        return self.list_attr().get(key)

    def list_attr(self):
        return _node_attrs(self._entry()[0])

    def attr_dict(self):
        out = {}
        for n in self._nodes():
            d = _node_attrs(n)
            if d:
                out[n.name] = d
        return out

    def __repr__(self):
        if len(self._entries) == 1:
            return f"<Symbol {self.name}>"
        return f"<Symbol group [{', '.join(self.list_outputs())}]>"


_STYPE_IDS = {"default": 0, "row_sparse": 1, "csr": 2}


def _node_attrs(node):
    """A node's attributes as MXNet lists them (strings); a variable's ``__lr_mult__`` and
    ``__wd_mult__`` also show as ``lr_mult``/``wd_mult``, as in MXNet 1.9."""
    d = {k: str(v) for k, v in node.attrs.items() if not k.startswith("_")}
    d.update(node.meta.get("attr", {}))
    if node.kind == "var":
        for key in ("lr_mult", "wd_mult"):
            if f"__{key}__" in d:
                d[key] = d[f"__{key}__"]
    return d


def _var_attr(attr, shape, lr_mult, wd_mult, dtype, init, stype, kwargs):
    """The ``__shape__``/``__dtype__``/``__init__``... attributes MXNet's ``var`` stores."""
    import numpy as np

    from ..ndarray.io import DTYPE_TO_FLAG
    out = dict(attr or {})
    if shape is not None:
        out["__shape__"] = str(tuple(shape))
    if lr_mult is not None:
        out["__lr_mult__"] = str(lr_mult)
    if wd_mult is not None:
        out["__wd_mult__"] = str(wd_mult)
    if dtype is not None and np.dtype(dtype) in DTYPE_TO_FLAG:
        out["__dtype__"] = str(DTYPE_TO_FLAG[np.dtype(dtype)])
    if init is not None:
        out["__init__"] = init if isinstance(init, str) else init.dumps()
    if stype is not None and stype in _STYPE_IDS:
        out["__storage_type__"] = str(_STYPE_IDS[stype])
    out.update({k: str(v) for k, v in kwargs.items() if k.startswith("__")})
    return out


def var(name, attr=None, shape=None, lr_mult=None, wd_mult=None, dtype=None, init=None,
        stype=None, **kwargs):
    """A graph input named ``name`` (data, parameter or auxiliary state).

    The keywords become MXNet's variable attributes (``list_attr()``, the JSON ``attrs``):
    ``__shape__``, ``__dtype__`` (MXNet's type code), ``__lr_mult__``, ``__wd_mult__``,
    ``__init__`` (an initializer's ``dumps()``) and ``__storage_type__``.

    Example::

        >>> var("w", shape=(3, 4), lr_mult=2.0).list_attr()
        {'__shape__': '(3, 4)', '__lr_mult__': '2.0', 'lr_mult': '2.0'}
    """
    import numpy as np

    from ..ndarray._registry import Aval
    meta = {"attr": _var_attr(attr, shape, lr_mult, wd_mult, dtype, init, stype, kwargs),
            "shape": shape, "dtype": dtype, "init": init, "lr_mult": lr_mult,
            "wd_mult": wd_mult}
    avals = None
    if shape is not None and all(int(s) > 0 for s in shape):
        avals = (Aval(tuple(int(s) for s in shape), np.dtype(dtype or np.float32)),)
    return Symbol([(Node("var", name=name, avals=avals, meta=meta), 0)])


Variable = var


def Group(symbols):
    """One symbol whose outputs are the outputs of ``symbols`` in order."""
    entries = []
    for s in symbols:
        entries.extend(s._entries)
    return Symbol(entries)


def _named_method(name):
    """``x.<name>(...)``: the op function, its node named after the method (MXNet's)."""
    def method(self, *args, **kwargs):
        with called_as(name):
            return getattr(_nd.F, name)(self, *args, **kwargs)
    method.__name__ = name
    return method


for _name in _nd._METHODS:
    if not hasattr(Symbol, _name):
        setattr(Symbol, _name, _named_method(_name))
_nd.install_operators(Symbol, inplace=False)
_nd.install_methods(Symbol)

# The numpy-semantics traced value (kiln.np's, a slot-less Symbol subclass), registered by the
# package that defines it (a higher layer). A traced op with an np-flavoured input gives an
# np-flavoured output (``trace.trace_op``), so ``x.sum()`` inside a hybridized np block means
# what it means eagerly.
_NP_TYPE = [None]


def register_np_type(cls):
    """Register ``cls`` (a slot-less Symbol subclass) as the np-flavoured traced value."""
    if _NP_TYPE[0] not in (None, cls):
        raise RuntimeError("a numpy-semantics symbol type is registered already")
    _NP_TYPE[0] = cls


def to_np_inplace(sym):
    """Make ``sym`` (a fresh Symbol) np-flavoured in place; others are returned unchanged."""
    if type(sym) is Symbol and _NP_TYPE[0] is not None:
        sym.__class__ = _NP_TYPE[0]
    return sym
