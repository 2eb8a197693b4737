"""Clean-up passes on an ONNX graph (a ``GraphProto`` edited in place).

``cleanup`` repeats until nothing changes: constant folding of nodes whose inputs are all
initializers, Identity removal, same-type Cast removal, Reshape->Reshape merging, no-op
Reshape/Flatten removal, Transpose pair cancelling (or merging), then dead-code and unused
initializer removal. ``make_dynamic`` rewrites baked Reshape/Expand shape constants so the model
runs at other sizes along dynamic axes (``0``/``-1`` codes, ``1`` for Expand).

Example::

    >>> cleanup(model)            # model.graph edited in place
    >>> make_dynamic(model)
"""
import numpy as np
import onnx
from onnx import helper, numpy_helper

_NO_FOLD = {"RandomUniform", "RandomNormal", "RandomUniformLike", "RandomNormalLike",
            "Multinomial", "Bernoulli", "Dropout"}
_FOLD_LIMIT = 1 << 20   # elements: larger folded tensors would only bloat the file


def _typed_copy(model):
    """A copy whose large initializers are graph inputs (cheap shape inference, no 2 GB limit)."""
    m = onnx.ModelProto()
    if model.ByteSize() < (1 << 30):
        m.CopyFrom(model)
    else:   # copying gigabytes of weights only to drop them: copy the small parts
        _shallow(model, m)
    keep = []
    for t in m.graph.initializer:
        if np.prod(t.dims, dtype=np.int64) > 64:
            m.graph.input.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
        else:
            keep.append(t)
    del m.graph.initializer[:]
    m.graph.initializer.extend(keep)
    return m


def _shallow(model, m):
    m.ir_version, m.producer_name = model.ir_version, model.producer_name
    m.opset_import.extend(model.opset_import)
    g = m.graph
    g.name = model.graph.name
    g.node.extend(model.graph.node)
    g.input.extend(model.graph.input)
    g.output.extend(model.graph.output)
    for t in model.graph.initializer:
        small = onnx.TensorProto()
        small.name, small.data_type = t.name, t.data_type
        small.dims.extend(t.dims)
        if np.prod(t.dims, dtype=np.int64) <= 64:
            small.CopyFrom(t)
        g.initializer.append(small)


def value_types(model):
    """tensor name -> (elem_type, shape tuple with None for unknown dims) from shape inference."""
    m = onnx.shape_inference.infer_shapes(_typed_copy(model), strict_mode=False)
    out = {}
    for vi in list(m.graph.value_info) + list(m.graph.input) + list(m.graph.output):
        tt = vi.type.tensor_type
        if not tt.elem_type:
            continue
        shape = None
        if tt.HasField("shape"):
            shape = tuple(d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim)
        out[vi.name] = (tt.elem_type, shape)
    for t in model.graph.initializer:
        out[t.name] = (t.data_type, tuple(t.dims))
    return out


class _Graph:
    """Index over a GraphProto: initializers by name, producers, consumers."""

    def __init__(self, graph, opsets=()):
        self.g, self.opsets = graph, list(opsets)
        self.inits = {t.name: t for t in graph.initializer}
        self.outputs = {o.name for o in graph.output}
        self.inputs = {i.name for i in graph.input}
        self.producer = {o: n for n in graph.node for o in n.output}
        self.users = {}
        for n in graph.node:
            for i in n.input:
                self.users.setdefault(i, []).append(n)

    def value(self, name):
        t = self.inits.get(name)
        return None if t is None else numpy_helper.to_array(t)

    def replace_uses(self, old, new):
        for n in self.users.get(old, []):
            for k, i in enumerate(n.input):
                if i == old:
                    n.input[k] = new


def _attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _bypass(ix, node, src):
    """Remove ``node`` (one output, equal to ``src``); False when that is not possible."""
    out = node.output[0]
    if out in ix.outputs:
        prod = ix.producer.get(src)
        if prod is None or src in ix.outputs or len(ix.users.get(src, [])) != 1:
            return False
        prod.output[list(prod.output).index(src)] = out   # producer now writes the output
    else:
        ix.replace_uses(out, src)
    ix.g.node.remove(node)
    return True


def _fold_node(ix, node):
    """Evaluate a node whose inputs are all initializers; returns True if replaced."""
    if node.op_type in _NO_FOLD or node.domain not in ("", "ai.onnx") or \
            any(o in ix.outputs for o in node.output):
        return False
    if not all(i == "" or i in ix.inits for i in node.input):
        return False
    from onnx.reference import ReferenceEvaluator
    ins = [i for i in node.input if i]
    graph = helper.make_graph([node], "fold", [], [helper.make_value_info(o, onnx.TypeProto())
                                                   for o in node.output],
                              initializer=[ix.inits[i] for i in dict.fromkeys(ins)])
    try:
        model = helper.make_model(graph, opset_imports=ix.opsets or None)
        res = ReferenceEvaluator(model).run(None, {})
    except Exception:
        return False
    if any(np.asarray(r).size > _FOLD_LIMIT for r in res):
        return False
    for o, r in zip(node.output, res):
        ix.g.initializer.append(numpy_helper.from_array(np.asarray(r), o))
    ix.g.node.remove(node)
    return True


def _compose(p1, p2):
    return [p1[k] for k in p2]


_SHAPE_OPS = ("Reshape", "Flatten", "Squeeze", "Unsqueeze")


def _static(shape):
    return shape is not None and None not in shape


def _to_identity(ix, node, out_t, types):
    """A chain of shape-only ops that ends at its start's shape: make the last an Identity."""
    prev = ix.producer.get(node.input[0])
    while prev is not None and prev.op_type in _SHAPE_OPS:
        cand = types.get(prev.input[0])
        if cand and cand[1] == out_t[1] and cand[0] == out_t[0]:
            node.op_type = "Identity"
            del node.input[:]
            node.input.append(prev.input[0])
            del node.attribute[:]
            return True
        prev = ix.producer.get(prev.input[0])
    return False


def _step(ix, node, types):
    """One local rewrite of ``node``; True when the graph changed."""
    op = node.op_type
    if _fold_node(ix, node):
        return True
    if op == "Identity":
        return _bypass(ix, node, node.input[0])
    src = node.input[0] if node.input else None
    src_t = types.get(src)
    if op == "Cast" and src_t is not None and src_t[0] == _attr(node, "to"):
        return _bypass(ix, node, src)
    out_t = types.get(node.output[0])
    if op in ("Reshape", "Flatten") and src_t and out_t and src_t[1] is not None and \
            src_t[1] == out_t[1] and None not in src_t[1]:
        return _bypass(ix, node, src)
    if op in _SHAPE_OPS and out_t and _static(out_t[1]) and _to_identity(ix, node, out_t, types):
        return True
    prev = ix.producer.get(src)
    if prev is None or len(ix.users.get(src, [])) != 1 or src in ix.outputs:
        return False
    if op == "Reshape" and prev.op_type in ("Reshape", "Flatten", "Squeeze", "Unsqueeze"):
        shape = ix.value(node.input[1])
        if shape is not None and not (shape == 0).any() and not _attr(node, "allowzero", 0):
            node.input[0] = prev.input[0]
            ix.g.node.remove(prev)
            return True
    if op == "Transpose" and prev.op_type == "Transpose":
        perm = _compose(list(_attr(prev, "perm")), list(_attr(node, "perm")))
        node.input[0] = prev.input[0]
        node.attribute.remove(next(a for a in node.attribute if a.name == "perm"))
        if perm == sorted(perm):   # the pair cancels: an Identity the next round removes
            node.op_type = "Identity"
        else:
            node.attribute.append(helper.make_attribute("perm", perm))
        ix.g.node.remove(prev)
        return True
    return False


def _prune(graph):
    """Drop nodes whose outputs nobody reads and initializers no node reads."""
    needed = {o.name for o in graph.output}
    keep = []
    for n in reversed(list(graph.node)):
        if any(o in needed for o in n.output):
            keep.append(n)
            needed.update(i for i in n.input if i)
    keep.reverse()
    if len(keep) != len(graph.node):
        del graph.node[:]
        graph.node.extend(keep)
    unused = [t for t in graph.initializer if t.name not in needed]
    for t in unused:
        graph.initializer.remove(t)


def cleanup(model, max_rounds=50):
    """Simplify ``model.graph`` in place (see the module docstring); returns the model."""
    graph = model.graph
    _prune(graph)
    for _ in range(max_rounds):
        types = value_types(model)
        changed = False
        for node in list(graph.node):
            ix = _Graph(graph, model.opset_import)
            if node in graph.node and _step(ix, node, types):
                changed = True
        _prune(graph)
        if not changed:
            break
    return model


# ---- dynamic axes ---------------------------------------------------------------------------
def _reshape_codes(src, dst):
    """0 where a leading output dim copies the input's, -1 at the first other dim."""
    if 0 in dst or None in src:
        return list(dst)
    codes = list(dst)
    k = 0
    while k < min(len(src), len(dst)) and src[k] == dst[k]:
        codes[k] = 0
        k += 1
    if k < len(dst) and -1 not in codes:
        codes[k] = -1
    return codes


def _expand_codes(src, dst):
    off = len(dst) - len(src)
    return [1 if j >= off and src[j - off] == d else d for j, d in enumerate(dst)]


def make_dynamic(model):
    """Rewrite constant Reshape/Expand shapes so dynamic dims are not baked in (in place)."""
    types = value_types(model)
    ix = _Graph(model.graph)
    for node in model.graph.node:
        if node.op_type not in ("Reshape", "Expand") or len(node.input) < 2:
            continue
        shape, src = ix.value(node.input[1]), types.get(node.input[0])
        if shape is None or src is None or src[1] is None or (shape < 0).any():
            continue
        if node.op_type == "Reshape":
            if (shape == 0).any():
                continue
            codes = _reshape_codes(src[1], [int(s) for s in shape])
        else:
            codes = _expand_codes(src[1], [int(s) for s in shape])
        if codes != [int(s) for s in shape]:
            name = f"{node.output[0]}_shape"
            model.graph.initializer.append(numpy_helper.from_array(np.asarray(codes, np.int64),
                                                                   name))
            node.input[1] = name
    _prune(model.graph)
    return model
