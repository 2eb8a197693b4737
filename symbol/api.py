"""Symbol methods for shape/type inference, JSON I/O and evaluation (MXNet's Symbol API).

Example::

    >>> x = sym.var("data"); y = sym.FullyConnected(x, num_hidden=4, name="fc")
    >>> y.infer_shape(data=(2, 3))[0]     # argument shapes, weights included
    [(2, 3), (4, 3), (4,)]
"""
import os
import warnings

import numpy as np

from ..base import MXNetError, OpError, atomic_write
from ..ndarray._registry import Aval
from .evaluate import evaluate
from .graph import is_entry, topo_order
from .infer import _attrs, _param_dtype, _var_dtype, infer_avals, unknown_dim
from .mxnet_json import json_to_symbol, symbol_to_json


def _lists(sym, known):
    nodes = topo_order(sym._entries)
    args = [n for n in nodes if n.kind == "var" and not n.meta.get("aux")]
    aux = [n for n in nodes if n.kind == "var" and n.meta.get("aux")]
    return args, aux


def infer_shape(self, *args, **kwargs):
    """``(arg_shapes, out_shapes, aux_shapes)`` from input shapes (by name or position).

    When the given shapes do not decide every shape, MXNet's answer: ``(None, None, None)``
    and a warning naming the arguments still unknown (``infer_shape_partial`` shows them).

    Example: ``FullyConnected(var('x'), num_hidden=4).infer_shape(x=(2, 3))`` is
    ``([(2, 3), (4, 3), (4,)], [(2, 4)], [])``.
    """
    try:
        return _infer_shape(self, args, kwargs, partial=False)
    except MXNetError as e:
        if isinstance(e, OpError):   # shapes that contradict an op: an error, as in MXNet
            raise
        arg_shapes = _infer_shape(self, args, kwargs, partial=True)[0]
        unknown = [f"{name}: {shp}" for name, shp in zip(self.list_arguments(), arg_shapes)
                   if not shp or 0 in shp]
        warnings.warn(f"Cannot decide shape for the following arguments ({e}); consider "
                      f"providing them as input: {', '.join(unknown)}", stacklevel=2)
        return None, None, None


def infer_shape_complete(sym, **shapes):
    """``infer_shape`` for kiln's own callers (executors, modules): raises ``MXNetError``
    naming the node whose input shape is unknown instead of returning ``None``s."""
    return _infer_shape(sym, (), shapes, partial=False)


def infer_shape_partial(self, *args, **kwargs):
    """Like ``infer_shape`` but unknown shapes come back as ``()`` instead of raising; a 0 in
    a given shape is an unknown dimension, carried through the ops that can (MXNet's
    ``data=(0, 3)`` gives ``fc_output`` ``(0, 4)``)."""
    return _infer_shape(self, args, kwargs, partial=True)


def _infer_shape(sym, args, kwargs, partial):
    shapes = dict(zip(sym.list_arguments(), args)) if args else {}
    shapes.update(kwargs)
    known = infer_avals(sym, shapes, partial=partial, unknown_dims=partial, alike=True)
    arg_nodes, aux_nodes = _lists(sym, known)

    # under np_shape an unknown dimension is -1 (carried inside as 0, MXNet 1.x's marker)
    unknown = unknown_dim() if partial and _gives_minus_one(sym, shapes) else 0

    def shp(e):
        av = known.get(e)
        if av is None:
            return ()
        return tuple(unknown if int(d) == 0 else int(d) for d in av.shape)
    return ([shp((n.id, 0)) for n in arg_nodes], [shp((n.id, i)) for n, i in sym._entries],
            [shp((n.id, 0)) for n in aux_nodes])


def _gives_minus_one(sym, shapes):
    given = list(shapes.values()) + [(n.meta or {}).get("shape") for n in topo_order(sym._entries)
                                     if n.kind == "var"]
    return any(s is not None and -1 in tuple(s) for s in given)


def bind_avals(sym, shapes, dtypes):
    """``(arg avals, aux avals)`` for ``simple_bind``: shapes as ``infer_shape`` finds them,
    dtypes from ``dtypes`` (``type_dict``), a Variable's ``dtype=``, or inference."""
    known = infer_avals(sym, shapes, dtypes, alike=True)
    arg_nodes, aux_nodes = _lists(sym, known)

    def aval(n):
        return known.get((n.id, 0)) or Aval((), _var_dtype(n, dtypes))
    return [aval(n) for n in arg_nodes], [aval(n) for n in aux_nodes]


def infer_type(self, *args, **kwargs):
    """``(arg_types, out_types, aux_types)`` as numpy types, from input dtypes."""
    return _infer_type(self, args, kwargs, partial=False)


def infer_type_partial(self, *args, **kwargs):
    """Like ``infer_type``, but an argument whose type nothing decides is ``None`` (MXNet)."""
    return _infer_type(self, args, kwargs, partial=True)


def _infer_type(sym, args, kwargs, partial):
    dtypes = dict(zip(sym.list_arguments(), args)) if args else {}
    dtypes.update(kwargs)
    shapes = {}
    for n in topo_order(sym._entries):
        if n.kind == "var" and n.avals:
            shapes[n.name] = n.avals[0].shape
    known = infer_avals(sym, shapes, dtypes, partial=True)
    # types flow without shapes too (MXNet infers them on their own: Cast(a) is its dtype
    # attribute's type, Correlation's second input the first's, with no shape given)
    known.update(_propagate_dtypes(sym, dtypes, known))
    arg_nodes, aux_nodes = _lists(sym, known)

    def typ(e, default=None):
        av = known.get(e)
        return av.dtype.type if av is not None else default

    def arg_default(n):
        if partial and not (n.name in dtypes or (n.meta or {}).get("dtype")):
            return None
        return _var_dtype(n, dtypes).type
    return ([typ((n.id, 0), arg_default(n)) for n in arg_nodes],
            [typ((n.id, i), None if partial else np.float32) for n, i in sym._entries],
            [typ((n.id, 0), None if partial else np.float32) for n in aux_nodes])


def _propagate_dtypes(sym, dtypes, known):
    """Types alone where shapes are unknown: a variable's given type, an op's ``dtype``
    attribute (``Cast``'s), else its first typed input's; an untyped parameter input takes the
    type the op gives its parameters (``_param_dtype``)."""
    types = {}
    for e, av in known.items():
        types[e] = av.dtype
    for node in topo_order(sym._entries):
        if node.kind == "var":
            dt = dtypes.get(node.name) or (node.meta or {}).get("dtype")
            if (node.id, 0) not in types and dt is not None:
                types[(node.id, 0)] = np.dtype(dt)
            continue
        if node.kind != "op" or (node.id, 0) in types:
            continue
        ins = [types.get((i[0].id, i[1])) if is_entry(i) else None for i in node.inputs]
        attrs = _attrs(node)
        out = attrs.get("dtype")   # an op with a ``dtype`` attribute (cast, one_hot) makes it
        data = ins[0] if ins else None
        out = np.dtype(out) if out is not None else next((t for t in ins if t is not None), None)
        if out is None:
            continue
        for k in range(node.num_outputs):
            types[(node.id, k)] = out
        pdt = _param_dtype(node.op.name, attrs, data if data is not None else out)
        for i in node.inputs[1:]:
            if is_entry(i) and i[0].kind == "var" and (i[0].id, 0) not in types:
                types[(i[0].id, 0)] = pdt
    return {e: Aval((), t) for e, t in types.items() if e not in known}


def tojson(self):
    """MXNet 1.x graph JSON (constants captured while tracing become ``_const`` variables)."""
    return symbol_to_json(self)[0]


def save(self, fname, remove_amp_cast=True):
    """Write the graph JSON atomically."""
    atomic_write(fname, tojson(self).encode())


def _reduce(self):
    """Pickling goes through the graph JSON, as MXNet's ``Symbol.__getstate__`` does."""
    return load_json, (tojson(self),)


def load_json(json_str):
    """A Symbol from MXNet 1.x (or kiln) graph JSON text."""
    return json_to_symbol(json_str)


def load(fname, predict_outputs=False):
    """Read an MXNet 1.x ``*-symbol.json`` file (``predict_outputs``: see
    ``mxnet_json.json_to_symbol``)."""
    if not os.path.exists(fname):
        raise MXNetError(f"symbol file {fname!r} does not exist")
    with open(fname, "rb") as f:   # bytes: a binary file is a FileFormatError, not Unicode's
        return json_to_symbol(f.read(), source=os.fspath(fname),
                              predict_outputs=predict_outputs)


def eval_(self, ctx=None, **kwargs):
    """Evaluate with the given input arrays; returns a list of NDArrays."""
    return evaluate(self._entries, kwargs)


def install(cls):
    """Give ``cls`` (Symbol) these methods; kiln/symbol/__init__.py calls it once."""
    cls.infer_shape = infer_shape
    cls.infer_shape_partial = infer_shape_partial
    cls.infer_type = infer_type
    cls.infer_type_partial = infer_type_partial
    cls.__reduce__ = _reduce
    cls.tojson = tojson
    cls.save = save
    cls.eval = eval_
