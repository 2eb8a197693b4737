"""``kiln.onnx``: MXNet 1.9's ``mx.onnx`` (``export_model``, ``get_operator_support``) plus the
importers of ``mx.contrib.onnx`` (``import_model``, ``import_to_gluon``, ``get_model_metadata``),
as thin wrappers over ``kiln.export.onnx``.

The module file is not named ``onnx.py``: at the repository root (the package directory) such a
file would shadow the ``onnx`` package for any Python started there. ``kiln/__init__.py``
exposes it as ``kiln.onnx`` and registers ``sys.modules['kiln.onnx']``.

Example::

    >>> kiln.onnx.export_model(sym, params, [(1, 3, 224, 224)], np.float32, "net.onnx")
    'net.onnx'
    >>> sym, arg_params, aux_params = kiln.onnx.import_model("net.onnx")
"""
import numpy as np


def export_model(sym, params, in_shapes=None, in_types=np.float32, onnx_file_path="model.onnx",
                 verbose=False, dynamic=False, dynamic_input_shapes=None,
                 run_shape_inference=False, input_type=None, input_shape=None, **kwargs):
    """Export a Symbol (or ``-symbol.json`` path) and its params (dict or ``.params`` path) to
    ``onnx_file_path``; returns the path. MXNet 1.9's argument order.

    ``in_shapes``/``in_types``: one per data input (``input_shape``/``input_type`` are MXNet's
    older names). ``dynamic=True`` with ``dynamic_input_shapes`` (None marks a dynamic axis)
    exports symbolic dimensions. kiln's own options pass through ``kwargs``: ``opset`` (13..17,
    default 17), ``dynamic_axes``, ``input_names``, ``output_names``, ``verify`` (compare with
    onnxruntime, default True), ``example_inputs``, ``large_model``.

    Example: ``export_model(sym, params, [(1, 4)], np.float32, 'fc.onnx')``.
    """
    from ..export import onnx as kiln_onnx
    if input_shape is not None:
        in_shapes = input_shape
    if input_type is not None:
        in_types = input_type
    legacy = {"verbose": verbose, "run_shape_inference": run_shape_inference}
    if dynamic:
        legacy.update(dynamic=True, dynamic_input_shapes=dynamic_input_shapes)
    return kiln_onnx.export_model(sym, params, in_shapes, in_types, onnx_file_path,
                                  **kwargs, **legacy)


def get_operator_support(opset_version=None):
    """Sorted names (MXNet's and kiln's) of the operators that export to ONNX at
    ``opset_version`` (kiln exports opsets 13 to 17; default: the newest onnx knows).

    Example: ``'FullyConnected' in get_operator_support()`` is True.
    """
    from ..export.onnx import MIN_OPSET
    from ..ndarray import _registry
    if opset_version is not None and int(opset_version) < MIN_OPSET:
        return []
    names = {n for n, op in _registry.OPS.items() if op.onnx is not None}
    names |= {a for a, n in _registry.ALIASES.items() if n in names}
    return sorted(n for n in names if not n.startswith("_"))


def import_model(model_file):
    """``(sym, arg_params, aux_params)`` from an ONNX file (``mx.contrib.onnx.import_model``).

    Example: ``sym, args, auxs = import_model('net.onnx')``.
    """
    from ..export.onnx import import_symbol
    return import_symbol(model_file)


def import_to_gluon(model_file, ctx=None):
    """An ONNX file as a ``SymbolBlock`` with its parameters loaded on ``ctx``
    (``mx.contrib.onnx.import_to_gluon``).

    Example: ``net = import_to_gluon('net.onnx', kiln.cpu()); y = net(x)``.
    """
    from ..nn.symbol_block import SymbolBlock
    return SymbolBlock.from_onnx(model_file, ctx=ctx)


def get_model_metadata(model_file):
    """``{'input_tensor_data': [(name, shape)], 'output_tensor_data': [(name, shape)]}`` of an
    ONNX file's graph inputs (initializers excluded) and outputs; unknown sizes are 0."""
    from ..export.onnx_import import read_model
    graph = read_model(model_file)[0].graph
    inits = {t.name for t in graph.initializer}

    def shapes(values):
        return [(v.name, tuple(d.dim_value for d in v.type.tensor_type.shape.dim))
                for v in values if v.name not in inits]
    return {"input_tensor_data": shapes(graph.input),
            "output_tensor_data": shapes(graph.output)}


__all__ = ["export_model", "get_operator_support", "import_model", "import_to_gluon",
           "get_model_metadata"]
