"""Symbolic shape tensors while importing ONNX: ``Shape -> Gather/Slice/Concat -> Reshape``.

With a dynamic dim (a batch of unknown size), ``Shape(x)`` has no constant value. Such shape
tensors are tracked as lists whose items are ints or ``("dim", tensor, axis)``; a Reshape fed by
one becomes MXNet codes: ``0`` where it copies the data's own dim, ``-1`` for the one unknown.

Example: ``Reshape(x, Concat(Gather(Shape(x), 0), [-1]))`` imports as ``reshape(x, (0, -1))``.
"""
import numpy as np
from onnx import helper

from ..base import MXNetError

_PASS = ("Unsqueeze", "Squeeze", "Cast", "Identity", "Reshape")


_MAX_ITEMS = 64   # a shape tensor has one item per axis: larger static values are not shapes


class _NotShape(Exception):
    """A static value too large to be a shape tensor: the node is converted as an op."""


def _items(imp, name):
    if name in imp.symdims:
        return list(imp.symdims[name])
    value = np.asarray(imp.static[name])
    if value.size > _MAX_ITEMS:
        raise _NotShape(name)
    return [int(v) for v in value.reshape(-1)]


def _shape_of(imp, node):
    t = imp.types.get(node.input[0])
    if t is None or t[1] is None:
        return None
    items = [d if d is not None else ("dim", node.input[0], k) for k, d in enumerate(t[1])]
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    return items[attrs.get("start", 0):attrs.get("end", len(items))]


def _slice(imp, node, src):
    vals = [_items(imp, i) if i else None for i in node.input[1:]] + [None] * 4
    starts, ends, axes, steps = vals[:4]
    if axes not in (None, [0]):
        return None
    step = steps[0] if steps else 1
    return src[slice(starts[0], min(ends[0], len(src) + 1) if step > 0 else ends[0], step)]


def track(imp, node):
    """Record ``node``'s output if it computes a symbolic shape; True when handled."""
    try:
        return _track(imp, node)
    except _NotShape:
        return False


def _track(imp, node):
    op = node.op_type
    if op == "Shape":
        items = _shape_of(imp, node)
    else:
        ins = [i for i in node.input if i]
        if not ins or ins[0] not in imp.symdims or \
                not all(i in imp.symdims or i in imp.static for i in ins):
            return False
        src = _items(imp, ins[0])
        if op == "Gather":
            items = [src[i] for i in _items(imp, node.input[1])] \
                if node.input[1] in imp.static else None
        elif op == "Slice":
            items = _slice(imp, node, src)
        elif op == "Concat":
            items = [it for i in ins for it in _items(imp, i)]
        elif op in _PASS:
            items = src
        else:
            items = None
    if items is None:
        return False
    imp.symdims[node.output[0]] = items
    return True


def kiln_shape(imp, name):
    """The static shape of converted tensor ``name`` from kiln's own shape inference (ONNX's
    can lose a shape behind a computed Reshape), or None."""
    av = kiln_aval(imp, name)
    return tuple(int(d) for d in av.shape) if av is not None else None


def kiln_aval(imp, name):
    """kiln's ``Aval`` (shape, dtype) of converted tensor ``name``, or None."""
    from ..symbol.api import infer_avals
    from ..symbol.symbol import Symbol
    entry = imp.entries.get(name)
    if entry is None or isinstance(entry, (int, float)):
        return None
    try:
        known = infer_avals(Symbol([entry]), {}, partial=True)
    except Exception:   # an op's infer refusing partial knowledge: the shape stays unknown
        return None
    return known.get((entry[0].id, entry[1]))


def dim_symbols(model):
    """tensor name -> its dims as symbols (a name per dynamic dim, None where unknown): the
    graph inputs' anonymous dynamic dims are named, and ONNX's shape inference carries the
    names through MatMul, Transpose, elementwise ops... so ``q = x @ w`` is known to share
    ``x``'s batch and sequence dims."""
    import onnx
    m = onnx.ModelProto()
    m.CopyFrom(model)
    inits = {t.name for t in m.graph.initializer}
    for vi in m.graph.input:
        if vi.name in inits:
            continue
        for k, d in enumerate(vi.type.tensor_type.shape.dim):
            if not d.HasField("dim_value") and not d.dim_param:
                d.dim_param = f"{vi.name}:{k}"
    try:
        # data_prop: the Shape -> Slice -> Concat values flow into the Reshapes' outputs
        m = onnx.shape_inference.infer_shapes(m, strict_mode=False, data_prop=True)
    except Exception:   # shape inference refusing the graph: no symbols, as before
        return {}
    out = {}
    for vi in list(m.graph.value_info) + list(m.graph.input) + list(m.graph.output):
        dims = vi.type.tensor_type.shape.dim
        out[vi.name] = tuple(d.dim_param or None for d in dims)
    return out


def _same_dim(imp, it, data, k):
    """Whether symbolic item ``it`` is ``data``'s own dim ``k``."""
    if it[1] == data and it[2] == k:
        return True
    syms = imp.dim_symbols()
    a, b = syms.get(it[1], ()), syms.get(data, ())
    return it[2] < len(a) and k < len(b) and a[it[2]] is not None and a[it[2]] == b[k]


def reshape_codes(imp, shape_name, data):
    """MXNet reshape codes for symbolic shape ``shape_name`` applied to tensor ``data``."""
    codes = []
    for k, it in enumerate(imp.symdims[shape_name]):
        if isinstance(it, int):
            codes.append(it)
        else:
            codes.append(0 if _same_dim(imp, it, data, k) else None)
    if codes.count(None) + codes.count(-1) > 1:
        raise MXNetError(f"ONNX import: cannot express the dynamic shape of {shape_name!r} "
                         "as reshape codes")
    return tuple(-1 if c is None else c for c in codes)
