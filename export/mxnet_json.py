"""MXNet 1.x symbol JSON: write kiln graphs so MXNet loads them, and read MXNet's files.

The format: ``nodes`` (each ``{"op", "name", "attrs", "inputs": [[node, output, 0], ...]}``,
variables having ``op == "null"``), ``arg_nodes`` (indices of the variables), ``node_row_ptr``
(cumulative output counts), ``heads`` (the outputs) and ``attrs.mxnet_version``. Attribute
values are strings (``"(3, 3)"``, ``"True"``, ``"relu"``). Old files use ``attr``/``param``.

Graph constants (arrays captured while tracing) cannot live in JSON: they are exported as extra
variables whose values go into the parameter file.
"""
import ast
import json

import numpy as np

from ..base import MXNetError
from ..ndarray import _registry
from ..ndarray.ndarray import NDArray
from ..symbol.graph import Node, is_entry, topo_order
from ..symbol.op_names import _SCALAR_OPS, export_name, format_attr
from ..symbol.symbol import Symbol

MXNET_VERSION = 10901

_SCALAR_IMPORT = {}
for (_k, _right), _m in _SCALAR_OPS.items():
    _SCALAR_IMPORT.setdefault(_m, (_k, _right))

_IMPORT_NAMES = {"_zeros": "zeros", "_ones": "ones", "_full": "full", "_arange": "arange",
                 "SoftmaxOutput": "softmax", "_copy": "identity", "Softmax": "softmax",
                 "_linalg_gemm2": "linalg_gemm2", "_power": "power", "_hypot": "hypot"}
_DROP_ON_IMPORT = {"SoftmaxOutput": ("label",)}
# MXNet counts hidden outputs in ``node_row_ptr``: Dropout's mask, BatchNorm's mean and var
_MXNET_NUM_OUTPUTS = {"Dropout": 2, "BatchNorm": 3}


def parse_attr(text):
    """An MXNet attribute string as a Python value (tuples, numbers, bools, None, strings)."""
    s = text.strip()
    if s in ("True", "true"):
        return True
    if s in ("False", "false"):
        return False
    if s == "None":
        return None
    if s.startswith("[") and s.endswith("]"):
        s = "(" + s[1:-1] + ("," if s[1:-1].strip() and "," not in s else "") + ")"
    try:
        v = ast.literal_eval(s)
    except (ValueError, SyntaxError):
        return text
    if isinstance(v, list):
        v = tuple(v)
    return v


def symbol_to_json(sym, rename=None):
    """Serialize a Symbol; returns ``(json_text, constants)`` with constants name -> array.

    ``rename``: node id -> name to write instead of the node's own name (graph inputs).
    """
    rename = rename or {}
    nodes = topo_order(sym._entries)
    dropouts, masks = _traced_dropouts(nodes, sym._entries)
    index, out_nodes, arg_nodes, row_ptr, consts = {}, [], [], [0], {}
    for node in nodes:
        if node.id in masks:
            continue
        if node.id in dropouts:
            node = dropouts[node.id]
        if node.kind in ("var", "const"):
            name = rename.get(node.id, node.name)
            if node.kind == "const":
                name = f"_const{len(consts)}"
                consts[name] = node.value
            entry = {"op": "null", "name": name, "inputs": []}
            attrs = _var_attrs(node)
            if attrs:
                entry["attrs"] = attrs
            arg_nodes.append(len(out_nodes))
        else:
            op_name, extra = export_name(node)
            attrs = {k: format_attr(v) for k, v in node.attrs.items()
                     if not k.startswith("_") and k != "ctx"}
            attrs.update(extra)
            ins = [[index[i[0].id], i[1], 0] for i in node.inputs if is_entry(i)]
            entry = {"op": op_name, "name": node.name, "attrs": attrs, "inputs": ins}
        index[node.id] = len(out_nodes)
        out_nodes.append(entry)
        n_out = 1
        if node.kind == "op":
            n_out = max(node.num_outputs, _MXNET_NUM_OUTPUTS.get(entry["op"], 1))
        row_ptr.append(row_ptr[-1] + n_out)
    heads = [[index[n.id], i, 0] for n, i in sym._entries]
    doc = {"nodes": out_nodes, "arg_nodes": arg_nodes, "node_row_ptr": row_ptr,
           "heads": heads, "attrs": {"mxnet_version": ["int", MXNET_VERSION]}}
    return json.dumps(doc, indent=2), consts


def _traced_dropouts(nodes, heads):
    """``multiply(x, dropout_mask(x))``, how a trace spells a Dropout that draws a mask
    (``mode='always'`` in a predict-mode graph; see ops/nn_basic.py ``dropout``), written back as
    MXNet's ``Dropout``. Returns (multiply node id -> Dropout node, ids of masks to skip)."""
    users = {}
    for n in nodes:
        for i in n.input_entries():
            users.setdefault(i[0].id, []).append(n)
    head_ids = {n.id for n, _ in heads}
    found, masks = {}, set()
    for n in nodes:
        if n.kind != "op" or n.op.name != "multiply" or not all(map(is_entry, n.inputs)):
            continue
        x, (m, k) = n.inputs
        if (m.kind == "op" and m.op.name == "dropout_mask" and m.inputs[0] == x
                and m.id not in head_ids and all(u is n for u in users[m.id])):
            attrs = {"p": m.attrs.get("p", 0.5), "mode": "always",
                     "axes": m.attrs.get("axes", ()), "cudnn_off": False}
            name = "dropout".join(n.name.rsplit("multiply", 1))   # 1.multiply0 -> 1.dropout0
            found[n.id] = Node("op", _registry.OPS["dropout"], (x,), attrs, name=name,
                               avals=n.avals)
            found[n.id].id = n.id   # consumers index it under the multiply's id
            masks.add(m.id)
    return found, masks


def _var_attrs(node):
    meta = node.meta or {}
    attrs = dict(meta.get("attr") or {})
    if meta.get("shape") is not None:
        attrs["__shape__"] = format_attr(tuple(meta["shape"]))
    for key in ("lr_mult", "wd_mult"):
        if meta.get(key) is not None:
            attrs[f"__{key}__"] = format_attr(meta[key])
    return attrs


def json_to_symbol(text):
    """Parse MXNet 1.x (or kiln) symbol JSON into a Symbol; unsupported ops raise one error."""
    try:
        doc = json.loads(text)
        raw_nodes, heads = doc["nodes"], doc["heads"]
    except (ValueError, KeyError, TypeError) as e:
        raise MXNetError(f"not an MXNet symbol JSON document: {e}") from None
    missing = sorted({n["op"] for n in raw_nodes if n["op"] != "null" and _lookup(n["op"])
                      is None})
    if missing:
        raise MXNetError(f"the graph uses operators kiln does not support: {missing}")
    built = []
    for raw in raw_nodes:
        attrs = raw.get("attrs") or raw.get("attr") or raw.get("param") or {}
        if raw["op"] == "null":
            meta = {"attr": {k: v for k, v in attrs.items()}}
            if "__shape__" in attrs:
                meta["shape"] = parse_attr(attrs["__shape__"])
            built.append([(Node("var", name=raw["name"], meta=meta), 0)])
            continue
        built.append(_import_op(raw, attrs, built))
    entries = [built[h[0]][h[1]] for h in heads]
    _mark_aux(entries)
    return Symbol(entries)


def _lookup(name):
    if name in _SCALAR_IMPORT:
        return _registry.OPS[_SCALAR_IMPORT[name][0]]
    name = _IMPORT_NAMES.get(name, name)
    try:
        return _registry.get(name)
    except KeyError:
        return None


def _import_op(raw, attrs, built):
    name = raw["op"]
    op = _lookup(name)
    ins = [built[i[0]][i[1]] for i in raw["inputs"]]
    kattrs = {}
    for k, v in attrs.items():
        if k.startswith("__") or k in ("scalar", "is_int") or k in op.ignored:
            continue
        if k in op.attrs:
            kattrs[k] = parse_attr(v)
    drop = _DROP_ON_IMPORT.get(name, ())
    if drop and len(ins) > len([i for i in op.inputs]):
        ins = ins[:len(op.inputs)]
    if name in _SCALAR_IMPORT:
        scalar = float(parse_attr(attrs.get("scalar", "0")))
        right = _SCALAR_IMPORT[name][1]
        inputs = (ins[0], scalar) if right else (scalar, ins[0])
    else:
        fixed = [i for i in op.inputs if not i.startswith("*")]
        inputs = list(ins)
        if not op.variadic:
            while len(inputs) < len(fixed):
                inputs.append(None)
        if name == "SoftmaxOutput":
            inputs = inputs[:1]
    node = Node("op", op, tuple(inputs), {k: v for k, v in kattrs.items()}, name=raw["name"])
    return [(node, k) for k in range(node.num_outputs)]


def _mark_aux(entries):
    """Variables an op mutates (BatchNorm's moving statistics) are auxiliary states."""
    for node in topo_order(entries):
        if node.kind == "op" and node.op.mutates:
            for k in node.op.mutates:
                if k < len(node.inputs) and is_entry(node.inputs[k]):
                    node.inputs[k][0].meta["aux"] = True


def constant_params(consts):
    return {k: NDArray(np.asarray(v)) for k, v in consts.items()}
