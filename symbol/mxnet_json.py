"""MXNet 1.x symbol JSON: write kiln graphs so MXNet loads them, and read MXNet's files.

The format: ``nodes`` (each ``{"op", "name", "attrs", "inputs": [[node, output, 0], ...]}``,
variables having ``op == "null"``), ``arg_nodes`` (indices of the variables), ``node_row_ptr``
(cumulative output counts), ``heads`` (the outputs) and ``attrs.mxnet_version``. Attribute
values are strings (``"(3, 3)"``, ``"True"``, ``"relu"``). Old files use ``attr``/``param``.

Graph constants (arrays captured while tracing) cannot live in JSON: they are exported as extra
variables whose values go into the parameter file.

Control-flow nodes (``_foreach``, ``_while_loop``, ``_cond``) carry a ``subgraphs`` list of
graph documents; ``symbol/mxnet_json_subgraph.py`` maps them to and from kiln's nodes, and
``_build_graph`` validates each subgraph like the top-level graph (nested at most
``MAX_DEPTH`` deep).
"""
import ast
import json

import numpy as np

from ..base import FileFormatError
from ..ndarray import _registry
from ..ndarray.ndarray import NDArray
from . import mxnet_json_subgraph as subgraph
from .graph import Node, is_entry, topo_order
from .op_names import (
    _EXPORT_NAMES,
    _SCALAR_OPS,
    ATTR_NAMES,
    IMPORT_ATTRS,
    export_attrs,
    export_name,
    format_attr,
)
from .symbol import Symbol

MXNET_VERSION = 10901
_MAX_OUTPUTS = 1 << 14      # outputs one imported node may declare (split's num_outputs)
_MAX_ATTR_CHARS = 1 << 16   # longer attribute strings are not parsed as Python literals

_SCALAR_IMPORT = {}
for (_k, _right), _m in _SCALAR_OPS.items():
    _SCALAR_IMPORT.setdefault(_m, (_k, _right))

_IMPORT_NAMES = {m: k for k, m in _EXPORT_NAMES.items() if not m.startswith("broadcast_")}
_IMPORT_NAMES.update({"_copy": "identity", "Softmax": "softmax", "_linalg_gemm2": "linalg_gemm2",
                      "_power": "power", "_hypot": "hypot"})
_IMPORT_ATTRS = {(op, mx): k for (op, k), mx in ATTR_NAMES.items()}
# read for inference (SymbolBlock.imports: its inputs are the data only), MXNet's output layer
# becomes what it computes in predict mode and its label input is dropped
_PREDICT_FORMS = {"SoftmaxOutput": "softmax"}
_PREDICT = [False]
# MXNet counts hidden outputs in ``node_row_ptr``: Dropout's mask, BatchNorm's mean and var
_MXNET_NUM_OUTPUTS = {"Dropout": 2, "BatchNorm": 3}


def parse_attr(text):
    """An MXNet attribute string as a Python value (tuples, numbers, bools, None, strings);
    text that is no Python literal comes back unchanged."""
    s = text.strip()
    if s in ("True", "true"):
        return True
    if s in ("False", "false"):
        return False
    if s == "None":
        return None
    if s.startswith("[") and s.endswith("]"):
        s = "(" + s[1:-1] + ("," if s[1:-1].strip() and "," not in s else "") + ")"
    if len(s) > _MAX_ATTR_CHARS:
        return text
    try:
        v = ast.literal_eval(s)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    if isinstance(v, list):
        v = tuple(v)
    return v


def symbol_to_json(sym, rename=None):
    """Serialize a Symbol; returns ``(json_text, constants)`` with constants name -> array.

    ``rename``: node id -> name to write instead of the node's own name (graph inputs).
    Control-flow nodes are written with their subgraphs (symbol/mxnet_json_subgraph.py); one
    MXNet cannot represent raises ``ExportError`` naming it.
    """
    consts = {}
    doc, _ = _write_graph(sym._entries, rename or {}, consts, {})
    doc["attrs"] = {"mxnet_version": ["int", MXNET_VERSION]}
    return json.dumps(doc, indent=2), consts


def _write_graph(entries, rename, consts, const_names):
    """One graph document; also, per written node, the var ``Node`` or lifted constant name it
    stands for (``None`` for ops). ``consts``/``const_names`` are shared with subgraphs."""
    nodes = topo_order(entries)
    dropouts, masks = _traced_dropouts(nodes, entries)
    index, out_nodes, arg_nodes, row_ptr, keys, const_vars = {}, [], [], [0], [], {}

    def add(entry, n_out, key=None):
        out_nodes.append(entry)
        row_ptr.append(row_ptr[-1] + n_out)
        keys.append(key)
        return len(out_nodes) - 1

    def const_var(name):
        if name not in const_vars:
            arg_nodes.append(len(out_nodes))
            const_vars[name] = add({"op": "null", "name": name, "inputs": []}, 1, name)
        return const_vars[name]

    def write_sub(sub_entries):
        doc, sub_keys = _write_graph(sub_entries, {}, consts, const_names)
        order = subgraph.dfs_inputs(
            [None if n["op"] == "null" else [i[0] for i in n["inputs"]] for n in doc["nodes"]],
            [h[0] for h in doc["heads"]])
        return doc, [sub_keys[k] for k in order]

    for node in nodes:
        if node.id in masks:
            continue
        if node.id in dropouts:
            node = dropouts[node.id]
        if node.kind == "const":
            if node.id not in const_names:
                const_names[node.id] = f"_const{len(consts)}"
                consts[const_names[node.id]] = node.value
            index[node.id] = const_var(const_names[node.id])
            continue
        if node.kind == "var":
            entry = {"op": "null", "name": rename.get(node.id, node.name), "inputs": []}
            attrs = _var_attrs(node)
            if attrs:
                entry["attrs"] = attrs
            arg_nodes.append(len(out_nodes))
            index[node.id] = add(entry, 1, node)
            continue
        if getattr(node.op, "subgraphs", None) or any(
                isinstance(v, subgraph.cf.Subgraph) for v in node.attrs.values()):
            op_name, attrs, ins, subs = subgraph.node_json(node, write_sub)
            refs = [[const_var(i), 0, 0] if isinstance(i, str) else [index[i[0].id], i[1], 0]
                    for i in ins]
            entry = {"op": op_name, "name": node.name, "attrs": attrs, "inputs": refs,
                     "subgraphs": subs}
        else:
            op_name, extra = export_name(node)
            ins = [[index[i[0].id], i[1], 0] for i in node.inputs if is_entry(i)]
            attrs = export_attrs(node.op, node.attrs, len(ins), _data_ndim(node))
            attrs.update(extra)
            if "dtype" in node.attrs and node.attrs["dtype"] is None and not ins:
                attrs["dtype"] = _created_dtype(node)
            entry = {"op": op_name, "name": node.name, "attrs": attrs, "inputs": ins}
        n_out = max(node.num_outputs, _MXNET_NUM_OUTPUTS.get(entry["op"], 1))
        index[node.id] = add(entry, n_out)
    heads = [[index[n.id], i, 0] for n, i in entries]
    doc = {"nodes": out_nodes, "arg_nodes": arg_nodes, "node_row_ptr": row_ptr,
           "heads": heads}
    return doc, keys


def _data_ndim(node):
    """The rank of a node's first input, when its shape is known."""
    first = node.inputs[0] if node.inputs else None
    if not is_entry(first) or not first[0].avals:
        return None
    shape = first[0].avals[first[1]].shape
    return None if shape is None else len(shape)


def _created_dtype(node):
    """The dtype a creation op (no array inputs) made with ``dtype=None`` writes: MXNet's
    ``_zeros``/``_ones``/``_full``/``_arange``/``_eye``/``_linspace`` refuse ``"None"``, and the
    value kiln made is known (its aval), else MXNet's default float32."""
    aval = node.avals[0] if getattr(node, "avals", None) else None
    dtype = getattr(aval, "dtype", None)
    return np.dtype(dtype).name if dtype is not None else "float32"


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


def json_to_symbol(text, source=None, predict_outputs=False):
    """Parse MXNet 1.x (or kiln) symbol JSON (str or bytes) into a Symbol.

    ``predict_outputs``: MXNet's ``SoftmaxOutput`` is read as the ``softmax`` it computes in
    predict mode, without its label input (``SymbolBlock.imports`` serves inference from the
    data inputs alone); by default the op is kept as written, label and all (``Module``
    resumes training from it).

    The whole document is validated while it is read, before a Symbol exists: every node's
    inputs must refer to an existing output of an earlier node (so no node reads itself and
    there are no cycles), ``heads`` and ``arg_nodes`` must be valid, every operator known and
    every attribute parseable. Anything else raises ``FileFormatError`` naming ``source`` (the
    file path, when there is one).

    Example::

        >>> json_to_symbol(open("net-symbol.json", "rb").read(), "net-symbol.json")
    """
    doc = _read_doc(text, source)
    _PREDICT[0], before = bool(predict_outputs), _PREDICT[0]
    try:
        entries, _ = _build_graph(doc, source, 0)
    finally:
        _PREDICT[0] = before
    _mark_aux(entries)
    return Symbol(entries)


def _build_graph(doc, source, depth):
    """Validate and build one graph document: ``(head entries, built)``, ``built[k]`` the
    entries of node ``k``. Control-flow nodes build their subgraphs through this, nested at
    most ``MAX_DEPTH`` deep."""
    nodes = [_node_fields(k, raw, source) for k, raw in enumerate(doc["nodes"])]
    missing = sorted({op for op, *_ in nodes if op != "null" and op not in subgraph.KINDS
                      and _lookup(op) is None})
    if missing:
        raise FileFormatError(source, f"the graph uses operators kiln does not support: "
                                      f"{missing}")
    _check_arg_nodes(doc.get("arg_nodes"), nodes, source)
    built, var_names = [], set()

    def parse_sub(sub_doc, what):
        if depth + 1 > subgraph.MAX_DEPTH:
            raise FileFormatError(source, f"{what}: control flow nested deeper than "
                                          f"{subgraph.MAX_DEPTH} levels")
        _check_doc(sub_doc, source, what)
        try:
            heads, sub_built = _build_graph(sub_doc, source, depth + 1)
        except FileFormatError as e:   # say which subgraph of which node
            raise FileFormatError(source, f"{what}: {e.reason}") from None
        order = subgraph.dfs_inputs(
            [None if op == "null" else [i[0] for i in ins] for op, _, _, ins in
             (_node_fields(k, raw, source) for k, raw in enumerate(sub_doc["nodes"]))],
            [h[0] for h in sub_doc["heads"]])
        return heads, [sub_built[k][0][0] for k in order]

    for k, (op_name, name, attrs, inputs) in enumerate(nodes):
        where = f"node {k} ({name!r})"
        if op_name == "null":
            if inputs:
                raise FileFormatError(source, f"{where} is a variable but has inputs")
            if name in var_names:
                raise FileFormatError(source, f"{where}: two variables are named {name!r}")
            var_names.add(name)
            built.append([(Node("var", name=name, meta=_var_meta(attrs, where, source)), 0)])
            continue
        ins = [_entry(built, i, k, f"{where} input {j}", source) for j, i in enumerate(inputs)]
        if op_name in subgraph.KINDS:
            built.append(subgraph.import_node(op_name, name, attrs, ins,
                                              doc["nodes"][k].get("subgraphs"), where, source,
                                              parse_sub))
        else:
            built.append(_import_op(op_name, name, attrs, ins, where, source))
    heads = doc["heads"]
    if not heads:
        raise FileFormatError(source, "symbol JSON has no heads (outputs)")
    entries = [_entry(built, h, len(built), f"head {j}", source) for j, h in enumerate(heads)]
    return entries, built


def _check_doc(doc, source, what="not an MXNet symbol JSON document"):
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list) or \
            not isinstance(doc.get("heads"), list):
        raise FileFormatError(source, f"{what}: it needs 'nodes' and 'heads' lists")


def _read_doc(text, source):
    """The JSON document with its top-level structure checked."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as e:
            raise FileFormatError(source, f"not an MXNet symbol JSON document: not utf-8 text "
                                          f"(byte {e.start})") from None
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise FileFormatError(source, f"not an MXNet symbol JSON document: {e}") from None
    _check_doc(doc, source)
    return doc


def _node_fields(k, raw, source):
    """``(op, name, attrs, inputs)`` of raw node ``k``, every field type-checked."""
    if not isinstance(raw, dict):
        raise FileFormatError(source, f"node {k} is not a JSON object")
    op, name, inputs = raw.get("op"), raw.get("name"), raw.get("inputs", [])
    if not isinstance(op, str) or not isinstance(name, str):
        raise FileFormatError(source, f"node {k} needs string 'op' and 'name' fields")
    attrs = raw.get("attrs") or raw.get("attr") or raw.get("param") or {}
    if not isinstance(attrs, dict) or not all(isinstance(v, str) for v in attrs.values()):
        raise FileFormatError(source, f"node {k} ({name!r}): attributes must be an object of "
                                      "strings")
    if not isinstance(inputs, list):
        raise FileFormatError(source, f"node {k} ({name!r}): 'inputs' must be a list")
    return op, name, attrs, inputs


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _entry(built, ref, limit, what, source):
    """The entry ``[node, output(, version)]`` refers to; ``node`` must be below ``limit``."""
    if not isinstance(ref, list) or len(ref) not in (2, 3) or not all(map(_is_int, ref)):
        raise FileFormatError(source, f"{what}: {ref!r} is not [node, output, version]")
    node, out = ref[0], ref[1]
    if not 0 <= node < limit:
        raise FileFormatError(source, f"{what} refers to node {node}, which is not an earlier "
                                      f"node (0..{limit - 1}): a missing node, or a cycle")
    if not 0 <= out < len(built[node]):
        raise FileFormatError(source, f"{what} refers to output {out} of node {node}, which has "
                                      f"{len(built[node])} output(s)")
    return built[node][out]


def _check_arg_nodes(arg_nodes, nodes, source):
    if arg_nodes is None:
        return
    if not isinstance(arg_nodes, list) or not all(
            _is_int(i) and 0 <= i < len(nodes) and nodes[i][0] == "null" for i in arg_nodes):
        raise FileFormatError(source, "'arg_nodes' must list indices of variable ('null') "
                                      "nodes")


def _var_meta(attrs, where, source):
    meta = {"attr": dict(attrs)}
    if "__shape__" in attrs:
        shape = parse_attr(attrs["__shape__"])
        shape = (shape,) if _is_int(shape) else shape
        if not isinstance(shape, tuple) or not all(_is_int(d) and d >= -1 for d in shape):
            raise FileFormatError(source, f"{where}: bad __shape__ {attrs['__shape__']!r}")
        meta["shape"] = shape
    for key in ("__lr_mult__", "__wd_mult__"):
        if key in attrs and not _is_number(parse_attr(attrs[key])):
            raise FileFormatError(source, f"{where}: {key} {attrs[key]!r} is not a number")
    return meta


def _lookup(name):
    if name in _SCALAR_IMPORT:
        return _registry.OPS[_SCALAR_IMPORT[name][0]]
    name = _IMPORT_NAMES.get(name, name)
    if _PREDICT[0]:
        name = _PREDICT_FORMS.get(name, name)
    try:
        return _registry.get(name)
    except KeyError:
        return None


def _is_literal(v):
    """What MXNet attribute strings hold: None, bools, numbers, strings and tuples of them."""
    if isinstance(v, tuple):
        return all(map(_is_literal, v))
    return v is None or isinstance(v, (bool, int, float, str))


def _fits_default(value, default):
    """Whether a parsed attribute value has the kind of the op's default (None fits all)."""
    if value is None or default is None or default is _registry.REQUIRED:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool) or value in (0, 1)
    if isinstance(default, (int, float)):   # MXNet widens some: flip's axis, pad's value
        return isinstance(value, (int, float)) or (
            isinstance(value, tuple) and all(map(_is_number, value)))
    if isinstance(default, tuple):   # _image_normalize's mean: one number or one per channel
        return isinstance(value, tuple) or _is_number(value)
    if isinstance(default, str):
        return isinstance(value, str)
    return True


def _expected(op, key):
    """The op's default for attribute ``key``; for a required one, a value from its samples."""
    default = op.attrs[key]
    if default is _registry.REQUIRED:
        return next((smp.attrs[key] for smp in op.samples if smp.attrs.get(key) is not None),
                    default)
    return default


def _import_op(name, node_name, attrs, ins, where, source):
    op = _lookup(name)
    kattrs = {}
    typed = {}
    if name in IMPORT_ATTRS:   # MXNet's form of kiln's attributes (_split_v2's indices)
        typed = IMPORT_ATTRS[name]({k: parse_attr(v) for k, v in attrs.items()
                                    if not k.startswith("__")})
        attrs = {}
    for k, v in attrs.items():
        k = _IMPORT_ATTRS.get((op.name, k), k)
        if k in op.ignored and k in op.attrs and not k.startswith("__"):
            # accepted without effect (Convolution's workspace): kept as read, unchecked, so
            # the graph writes back the JSON it came from (pickling a Symbol goes through it)
            kattrs[k] = parse_attr(v)
            continue
        if k.startswith("__") or (k in ("scalar", "is_int") and k not in op.attrs) \
                or k in op.ignored:  # smooth_l1's scalar is its own attribute
            continue
        if k in op.attrs:
            value = parse_attr(v)
            if not _is_literal(value) or not _fits_default(value, _expected(op, k)):
                raise FileFormatError(source, f"{where}: attribute {k}={v!r} is not a valid "
                                              f"value for {name}")
            if _is_number(value) and isinstance(_expected(op, k), tuple):
                value = (value,)   # MXNet reads a tuple attribute "-1" as (-1,): Reshape's shape
            kattrs[k] = value
    kattrs.update({k: v for k, v in typed.items() if k in op.attrs})
    required = [k for k, v in op.attrs.items() if v is _registry.REQUIRED and k not in kattrs]
    if required:
        raise FileFormatError(source, f"{where}: {name} needs attribute(s) {required}")
    if _PREDICT[0] and name in _PREDICT_FORMS and len(ins) > len(op.inputs):
        ins = ins[:len(op.inputs)]
    if name in _SCALAR_IMPORT:
        scalar = parse_attr(attrs.get("scalar", "0"))
        if len(ins) != 1 or not _is_number(scalar):
            raise FileFormatError(source, f"{where}: {name} takes one input and a numeric "
                                          f"'scalar' attribute")
        inputs = (ins[0], float(scalar)) if _SCALAR_IMPORT[name][1] else (float(scalar), ins[0])
    else:
        fixed = [i for i in op.inputs if not i.startswith("*")]
        inputs = list(ins)
        if not op.variadic:
            if len(inputs) > len(fixed):
                raise FileFormatError(source, f"{where}: {name} takes at most {len(fixed)} "
                                              f"inputs, the node has {len(inputs)}")
            inputs += [None] * (len(fixed) - len(inputs))
    node = Node("op", op, tuple(inputs), kattrs, name=node_name)
    try:
        n_out = int(node.num_outputs)
    except (KeyError, TypeError, ValueError, OverflowError):
        n_out = -1
    if not 1 <= n_out <= _MAX_OUTPUTS:
        raise FileFormatError(source, f"{where}: {name} would have {n_out} outputs "
                                      f"(1..{_MAX_OUTPUTS})")
    return [(node, k) for k in range(n_out)]


def _mark_aux(entries):
    """Variables an op mutates (BatchNorm's moving statistics) are auxiliary states."""
    for node in topo_order(entries):
        if node.kind == "op" and node.op.mutates:
            for k in node.op.mutated(node.attrs):
                if k < len(node.inputs) and is_entry(node.inputs[k]):
                    node.inputs[k][0].meta["aux"] = True


def constant_params(consts):
    """Graph constants (``symbol_to_json``'s second result) as NDArrays, by name."""
    return {k: NDArray(np.asarray(v)) for k, v in consts.items()}
