"""Whole-graph ONNX export and import (MXNet's ``mx.onnx.export_model``).

Import here gives MXNet's ``(sym, arg_params, aux_params)`` (``import_symbol``); the trainable
``SymbolBlock`` is built one layer up, by ``SymbolBlock.from_onnx`` (export/ never imports
nn/).

The exporter lowers the optimized inference graph (parameters as initializers, BatchNorm folded
into the preceding Convolution/FullyConnected unless ``fold_batchnorm=False``) through each op's
``onnx`` facet, cleans the ONNX graph (``onnx_passes``), makes dynamic axes symbolic, checks the
model with ``onnx.checker.check_model(full_check=True)`` and, by default, compares onnxruntime's
outputs with kiln's eager outputs (``onnx_verify``).

Example::

    >>> x = sym.var("data")
    >>> y = sym.FullyConnected(sym.relu(x), num_hidden=3, name="fc")
    >>> params = {"fc_weight": nd.ones((3, 4)), "fc_bias": nd.zeros((3,))}
    >>> export_model(y, params, [(2, 4)], onnx_file_path="fc.onnx",
    ...              dynamic_axes={"data": {0: "batch"}})
    'fc.onnx'
"""
import os

import numpy as np
import onnx

from ..symbol.api import infer_avals
from ..symbol.symbol import Symbol
from . import onnx_passes, onnx_verify
from .onnx_builder import MIN_IR, TRAINABLE_BN_KEY, TRAINABLE_BN_VALUE, ExportError
from .onnx_import import import_model as import_symbol
from .onnx_lower import emit, finish_outputs, prepare

DEFAULT_OPSET = 17
MIN_OPSET = 13
_TWO_GB = 2 ** 31 - (1 << 24)   # protobuf's limit, less a margin for the graph itself


# ---- argument handling --------------------------------------------------------------------------
def _load_symbol(sym):
    if isinstance(sym, Symbol):
        return sym
    if isinstance(sym, (str, os.PathLike)):
        from ..symbol import load
        return load(os.fspath(sym))
    raise ExportError(f"sym must be a Symbol or a -symbol.json path, got {type(sym).__name__}")


def _load_params(params):
    """name -> numpy array, MXNet's ``arg:``/``aux:`` prefixes stripped."""
    if params is None:
        return {}
    if isinstance(params, (str, os.PathLike)):
        from ..ndarray.io import load
        params = load(os.fspath(params))
    if isinstance(params, (list, tuple)) and len(params) == 2 and \
            all(isinstance(p, dict) for p in params):   # (arg_params, aux_params)
        params = {**params[0], **params[1]}
    if not isinstance(params, dict):
        raise ExportError("params must be a dict name -> NDArray or a .params file path")
    out = {}
    for k, v in params.items():
        name = k.split(":", 1)[1] if k.startswith(("arg:", "aux:")) else k
        out[name] = v.asnumpy() if hasattr(v, "asnumpy") else np.asarray(v)
    return out


def _per_input(value, names, what):
    """A dict name -> value from a dict, a list (one per input) or a single value."""
    if isinstance(value, dict):
        extra = sorted(set(value) - set(names))
        if extra:
            raise ExportError(f"{what} given for unknown input(s) {extra}; inputs are {names}")
        return dict(value)
    return dict(zip(names, value))


def _shapes_and_types(sym, params, in_shapes, in_types, input_names):
    data = [n for n in sym.list_inputs() if n not in params]
    if input_names is not None and set(input_names) == set(data):
        data = list(input_names)   # input_names only orders the symbol's inputs
    if in_shapes is None:
        in_shapes = {}
        for node in sym._nodes():
            if node.kind == "var" and node.name in data and node.meta.get("shape"):
                in_shapes[node.name] = tuple(node.meta["shape"])
    elif not isinstance(in_shapes, dict):
        if all(isinstance(d, (int, np.integer)) for d in in_shapes):
            in_shapes = [in_shapes]   # one shape given bare
        in_shapes = [tuple(s) for s in in_shapes]
        if len(in_shapes) != len(data):
            raise ExportError(f"{len(in_shapes)} input shape(s) for the data inputs {data} "
                              "(inputs without a value in params)")
    shapes = {k: tuple(int(d) for d in v) for k, v in _per_input(in_shapes, data,
                                                                "in_shapes").items()}
    missing = [d for d in data if d not in shapes]
    if missing:
        raise ExportError(f"no shape for input(s) {missing} (and no value in params); pass "
                          "in_shapes, one shape per data input")
    if in_types is None or isinstance(in_types, (str, type, np.dtype)):
        types = {d: np.dtype(in_types or np.float32) for d in data}
    else:
        types = {k: np.dtype(v) for k, v in _per_input(in_types, data, "in_types").items()}
        types.update({d: np.dtype(np.float32) for d in data if d not in types})
    return data, shapes, types


def _onnx_names(data, input_names, out_default, output_names):
    in_map = dict(zip(data, data))
    if input_names is not None and set(input_names) != set(data):
        if len(input_names) != len(data):
            raise ExportError(f"{len(input_names)} input_names for the inputs {data}")
        in_map = dict(zip(data, input_names))
    outs = list(out_default)
    if output_names is not None:
        if len(output_names) != len(outs):
            raise ExportError(f"{len(output_names)} output_names for {len(outs)} outputs")
        outs = list(output_names)
    return in_map, outs


# ---- dynamic axes ---------------------------------------------------------------------------
def _dynamic(dynamic_axes, in_map):
    """onnx input name -> {axis: dim name}; keys may be kiln or ONNX names."""
    dyn = {}
    back = {v: k for k, v in in_map.items()}
    for key, axes in (dynamic_axes or {}).items():
        if isinstance(axes, (list, tuple)):
            axes = {int(a): f"{key}_dim{a}" for a in axes}
        kiln_name = key if key in in_map else back.get(key, key)
        dyn[kiln_name] = {int(a): str(n) for a, n in axes.items()}
    return dyn


def _perturbed(shapes, dyn):
    out = dict(shapes)
    for name, axes in dyn.items():
        if name in out:
            s = list(out[name])
            for a in axes:
                s[a] += 1
            out[name] = tuple(s)
    return out


def _output_dims(sym, params, shapes, types, dyn, out_names, dynamic_axes):
    """Output shapes with symbolic names where they follow a dynamic input axis."""
    allp = {k: v.shape for k, v in params.items()}
    tps = dict(types, **{k: v.dtype for k, v in params.items()})
    base = infer_avals(sym, {**shapes, **allp}, tps)
    try:
        other = infer_avals(sym, {**_perturbed(shapes, dyn), **allp}, tps)
    except Exception:
        other = base
    names = {}   # (base size, perturbed size) -> dim name
    for name, axes in dyn.items():
        for a, dim in axes.items():
            if name in shapes:
                names.setdefault((shapes[name][a], shapes[name][a] + 1), dim)
    result = []
    for (node, k), oname in zip(sym._entries, out_names):
        b, o = base[(node.id, k)], other[(node.id, k)]
        user = (dynamic_axes or {}).get(oname, {})
        dims = []
        for j, (x, y) in enumerate(zip(b.shape, o.shape)):
            if j in user:
                dims.append(str(user[j]))
            elif x != y:
                dims.append(names.get((x, y), f"{oname}_dim{j}"))
            else:
                dims.append(int(x))
        result.append((oname, b.dtype, dims))
    return result


# ---- the exporter ---------------------------------------------------------------------------
def _build(sym, params, data, shapes, types, opset, in_map, out_names, dyn, dynamic_axes,
           fold_bn=True):
    targets, data_nodes = prepare(sym._entries, params, shapes, types, fold_bn=fold_bn)
    g, tensors = emit(targets, data_nodes, opset)
    finals = finish_outputs(g, targets, tensors, out_names)
    outputs = _output_dims(sym, params, shapes, types, dyn, finals, dynamic_axes)
    # passes see static shapes; the dynamic dims are named afterwards
    static_out = [(n, dt, [d if isinstance(d, int) else 1 for d in dims])
                  for n, dt, dims in outputs]
    model = g.model([(d, types[d], list(shapes[d])) for d in data], static_out,
                    graph_name=out_names[0].replace("/", ".") or "kiln")
    onnx_passes.cleanup(model)
    if dyn:
        onnx_passes.make_dynamic(model)
    dims = {d: [dyn.get(d, {}).get(a, s) for a, s in enumerate(shapes[d])] for d in data}
    dims.update({n: d for n, _, d in outputs})
    for vi in list(model.graph.input) + list(model.graph.output):
        for k, d in enumerate(dims.get(vi.name, ())):
            dim = vi.type.tensor_type.shape.dim[k]
            if isinstance(d, str):
                dim.dim_param = d
            else:
                dim.dim_value = int(d)
    _rename_inputs(model, in_map)
    if not fold_bn and any(n.op_type == "BatchNormalization" for n in model.graph.node):
        onnx.helper.set_model_props(model, {TRAINABLE_BN_KEY: TRAINABLE_BN_VALUE})
    return model, (targets, tensors)


def _rename_inputs(model, in_map):
    ren = {k: v for k, v in in_map.items() if k != v}
    if not ren:
        return
    for vi in model.graph.input:
        vi.name = ren.get(vi.name, vi.name)
    for node in model.graph.node:
        for k, i in enumerate(node.input):
            node.input[k] = ren.get(i, i)


def _save(model, path, large):
    try:
        _save_checked(model, path, large)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        raise ExportError(f"the exported model fails onnx.checker (full_check): {e} (parameter "
                          "dtypes must match the inputs' in_types)") from e


def _save_checked(model, path, large):
    if large:
        loc = os.path.basename(path) + ".data"
        if os.path.exists(os.path.join(os.path.dirname(path) or ".", loc)):
            os.remove(os.path.join(os.path.dirname(path) or ".", loc))
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=loc, size_threshold=0)
        onnx.checker.check_model(path, full_check=True)
    else:
        onnx.checker.check_model(model, full_check=True)
        onnx.save_model(model, path)


def _check_opset(opset):
    newest = onnx.defs.onnx_opset_version()
    opset = DEFAULT_OPSET if opset is None else int(opset)
    if not MIN_OPSET <= opset <= newest:
        raise ExportError(f"opset {opset} is not supported: choose {MIN_OPSET}..{newest} "
                          "(the installed onnx's newest)")
    if opset not in MIN_IR:
        raise ExportError(f"opset {opset}: unknown minimum IR version")
    return opset


def export_model(sym, params, in_shapes=None, in_types=np.float32, onnx_file_path="model.onnx",
                 opset=None, dynamic_axes=None, input_names=None, output_names=None,
                 verify=True, example_inputs=None, large_model=False, fold_batchnorm=True,
                 **legacy):
    """Export a Symbol and its parameters to an ONNX file; returns ``onnx_file_path``.

    ``sym``: a Symbol or a ``-symbol.json`` path; ``params``: name -> NDArray (``arg:``/``aux:``
    prefixes allowed) or a ``.params`` path. ``in_shapes``/``in_types``: one per data input (the
    symbol's inputs without a value in ``params``), or dicts by name. ``opset``: 13 to the newest
    the installed onnx knows (default 17). ``dynamic_axes``: ``{'data': {0: 'batch'}}``.
    ``verify``: run the model in onnxruntime on ``example_inputs`` (one array per data input, or
    a dict; random when omitted) and raise an ExportError if it differs from kiln's outputs.
    ``large_model``: store the weights as external data (automatic above 2 GB).
    ``fold_batchnorm``: fold each BatchNorm into the Convolution/FullyConnected before it (the
    default: a smaller, faster inference file, but an imported copy has no BatchNorm left to
    fine-tune); ``False`` keeps BatchNormalization nodes with their running statistics and
    marks the file (``metadata_props`` ``kiln.batchnorm=trainable``) so that
    ``SymbolBlock.from_onnx`` gives BatchNorm layers that train: batch statistics and running
    mean/var updates in training mode, the running statistics in predict mode.

    Example: ``export_model(net, params, [(1, 3, 224, 224)], onnx_file_path="net.onnx")``.
    """
    in_shapes = legacy.pop("input_shape", in_shapes)
    in_types = legacy.pop("input_type", in_types)
    if legacy.pop("dynamic", False) and dynamic_axes is None:
        dyn_shapes = legacy.pop("dynamic_input_shapes", None) or []
        dynamic_axes = {i: {a: f"dim{a}" for a, s in enumerate(shp) if s is None}
                        for i, shp in enumerate(dyn_shapes)}
    legacy.pop("dynamic_input_shapes", None)
    legacy.pop("verbose", None)
    legacy.pop("run_shape_inference", None)
    if legacy:
        raise TypeError(f"export_model() got unexpected argument(s) {sorted(legacy)}")
    opset = _check_opset(opset)
    sym = _load_symbol(sym)
    params = _load_params(params)
    used = set(sym.list_inputs())
    params = {k: v for k, v in params.items() if k in used}
    data, shapes, types = _shapes_and_types(sym, params, in_shapes, in_types, input_names)
    if dynamic_axes and any(isinstance(k, int) for k in dynamic_axes):
        dynamic_axes = {data[k] if isinstance(k, int) else k: v for k, v in dynamic_axes.items()}
    in_map, out_names = _onnx_names(data, input_names, sym.list_outputs(), output_names)
    dyn = _dynamic(dynamic_axes, in_map)
    model, lowered = _build(sym, params, data, shapes, types, opset, in_map, out_names, dyn,
                            dynamic_axes, fold_bn=bool(fold_batchnorm))
    path = os.fspath(onnx_file_path)
    large = large_model or sum(v.nbytes for v in params.values()) > _TWO_GB
    _save(model, path, large)
    if verify:
        _verify(model, path if large else None, sym, params, data, shapes, types, in_map,
                [o.name for o in model.graph.output], example_inputs, lowered, dyn)
    return path


def _verify(model, path, sym, params, data, shapes, types, in_map, outs, examples, lowered,
            dyn):
    param_shapes = {k: v.shape for k, v in params.items()}
    try:
        ranges = onnx_verify.input_ranges(sym, infer_avals(sym, {**shapes, **param_shapes}))
    except Exception:   # shapes kiln cannot infer statically: plain random inputs
        ranges = {}
    feed = _example_feed(examples, data, shapes, types, ranges)
    target = path or model
    onnx_feed = {in_map[k]: v for k, v in feed.items()}
    onnx_verify.compare(target, sym, params, feed, onnx_feed, outs, lowered)
    if dyn:   # the model must also run at other sizes along the dynamic axes
        other = _perturbed(shapes, dyn)
        try:
            avals = infer_avals(sym, {**other, **param_shapes})
        except Exception:
            return   # kiln itself cannot run at the perturbed size: nothing to compare
        feed2 = onnx_verify.random_inputs({d: other[d] for d in data}, types, seed=1,
                                          ranges=onnx_verify.input_ranges(sym, avals))
        onnx_verify.compare(target, sym, params, feed2, {in_map[k]: v for k, v in feed2.items()},
                            outs, None, where=f" at input shapes {other}")


def _example_feed(examples, data, shapes, types, ranges):
    if examples is None:
        return onnx_verify.random_inputs({d: shapes[d] for d in data}, types, ranges=ranges)
    if not isinstance(examples, dict):
        examples = [examples] if hasattr(examples, "shape") else list(examples)
        if len(examples) != len(data):
            raise ExportError(f"{len(examples)} example input(s) for the inputs {data}")
        examples = dict(zip(data, examples))
    feed = {}
    for d in data:
        if d not in examples:
            raise ExportError(f"no example input for {d!r}")
        v = examples[d]
        arr = v.asnumpy() if hasattr(v, "asnumpy") else np.asarray(v)
        if tuple(arr.shape) != shapes[d]:
            raise ExportError(f"example input {d!r} has shape {tuple(arr.shape)} but the model "
                              f"is exported for shape {shapes[d]}")
        feed[d] = arr.astype(types[d], copy=False)
    return feed


def __getattr__(name):
    if name == "import_model":   # it returned a SymbolBlock, which export/ cannot build
        raise AttributeError(
            "kiln.export.onnx.import_model moved up to nn/: use "
            "kiln.gluon.SymbolBlock.from_onnx(path) (or kiln.onnx.import_to_gluon) for a "
            "block, kiln.export.onnx.import_symbol(path) for (sym, arg_params, aux_params)")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["export_model", "import_symbol", "ExportError"]
