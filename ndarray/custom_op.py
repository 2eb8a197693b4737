"""``kiln.operator``: operators written in Python (MXNet 1.9's ``mx.operator``).

Subclass ``CustomOpProp`` (the op's interface: argument and output names, shape and type
inference, ``create_operator``) and ``CustomOp`` (``forward``/``backward`` over NDArrays, results
written with ``assign``), register the prop under a name, then call it as
``nd.Custom(*inputs, op_type=name, **kwargs)`` or ``sym.Custom(...)``. It is one registry op
(``_custom``, ndarray/ops/custom.py), so it records on autograd's tape, traces into hybridized
graphs and differentiates like any other op; it has no ONNX form.

Auxiliary states (the prop's ``list_auxiliary_states``, with shapes as the third part of its
``infer_shape`` answer) are inputs after the arguments; ``forward``/``backward`` get them in
``aux`` as NDArrays over the caller's buffers and update them in place; they have no gradient.

As in MXNet, the prop receives its keyword arguments as strings, and one operator instance is
made per prop arguments, input shapes and dtypes and kept (MXNet makes one per bound executor),
so state a ``forward`` keeps on ``self`` is there for its ``backward``.

Example::

    >>> class Square(kiln.operator.CustomOp):
    ...     def forward(self, is_train, req, in_data, out_data, aux):
    ...         self.assign(out_data[0], req[0], in_data[0] * in_data[0])
    ...     def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
    ...         self.assign(in_grad[0], req[0], 2 * in_data[0] * out_grad[0])
    >>> @kiln.operator.register("square")
    ... class SquareProp(kiln.operator.CustomOpProp):
    ...     def create_operator(self, ctx, shapes, dtypes):
    ...         return Square()
    >>> nd.Custom(nd.array([1, 2]), op_type="square")
    [1. 4.]
"""
from ..base import MXNetError

_PROPS = {}        # op_type -> CustomOpProp subclass
_OPERATORS = {}    # (op_type, kwargs, shapes, dtypes) -> CustomOp instance


class CustomOp:
    """The computation of a custom operator; override ``forward`` and ``backward``."""

    def forward(self, is_train, req, in_data, out_data, aux):
        """Write the outputs (``out_data``, NDArrays) from ``in_data`` with ``assign``."""
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        """Write the inputs' gradients (``in_grad``) with ``assign``."""
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def assign(self, dst, req, src):
        """``dst = src`` (req ``'write'``/``'inplace'``), ``dst += src`` (``'add'``), or
        nothing (``'null'``)."""
        if req == "null":
            return
        if req in ("write", "inplace"):
            dst[:] = src
        elif req == "add":
            dst[:] = dst + src
        else:
            raise MXNetError(f"CustomOp.assign: unknown req {req!r}")


class CustomOpProp:
    """A custom operator's interface. ``need_top_grad``: whether ``backward`` reads the
    outputs' gradients (MXNet's flag; kiln always passes them)."""

    def __init__(self, need_top_grad=True):
        self.need_top_grad_ = need_top_grad

    def list_arguments(self):
        return ["data"]

    def list_outputs(self):
        return ["output"]

    def list_auxiliary_states(self):
        return []

    def infer_shape(self, in_shape):
        """``(input shapes, output shapes, aux shapes)``; by default every output has the
        first input's shape."""
        return in_shape, [in_shape[0]] * len(self.list_outputs()), []

    def infer_type(self, in_type):
        """``(input dtypes, output dtypes, aux dtypes)``; by default the first input's."""
        return in_type, [in_type[0]] * len(self.list_outputs()), \
            [in_type[0]] * len(self.list_auxiliary_states())

    def infer_storage_type(self, in_stype):
        return in_stype, ["default"] * len(self.list_outputs()), \
            ["default"] * len(self.list_auxiliary_states())

    def declare_backward_dependency(self, out_grad, in_data, out_data):
        deps = list(in_data) + list(out_data)
        return (list(out_grad) if self.need_top_grad_ else []) + deps

    def create_operator(self, ctx, in_shapes, in_dtypes):
        raise NotImplementedError(f"{type(self).__name__}.create_operator")


def register(reg_name):
    """A class decorator registering a ``CustomOpProp`` subclass as ``op_type=reg_name``."""
    def deco(prop_cls):
        if not (isinstance(prop_cls, type) and issubclass(prop_cls, CustomOpProp)):
            raise TypeError(f"operator.register({reg_name!r}): expected a CustomOpProp "
                            f"subclass, got {prop_cls!r}")
        _PROPS[reg_name] = prop_cls
        for key in [k for k in _OPERATORS if k[0] == reg_name]:  # a redefinition: fresh ops
            del _OPERATORS[key]
        return prop_cls
    return deco


def get_all_registered_operators():
    """The registered op_type names."""
    return sorted(_PROPS)


def make_prop(op_type, kwargs):
    """The prop for ``op_type`` with its keyword arguments (``kwargs``: ``((key, str), ...)``)."""
    cls = _PROPS.get(op_type)
    if cls is None:
        raise MXNetError(f"Custom: no operator registered as op_type={op_type!r} (registered: "
                         f"{get_all_registered_operators()}); decorate its CustomOpProp with "
                         f"kiln.operator.register({op_type!r})")
    return cls(**dict(kwargs))


def operator_for(op_type, kwargs, prop, ctx, shapes, dtypes):
    """The kept CustomOp instance for this prop and these input shapes/dtypes."""
    key = (op_type, kwargs, tuple(map(tuple, shapes)), tuple(str(d) for d in dtypes))
    op = _OPERATORS.get(key)
    if op is None:
        op = _OPERATORS[key] = prop.create_operator(ctx, [list(s) for s in shapes], dtypes)
    return op


def pack_kwargs(kwargs):
    """The prop's keyword arguments as the op's hashable attribute (values as MXNet's
    strings)."""
    return tuple(sorted((str(k), str(v)) for k, v in kwargs.items()))


def split_inputs(prop, args, named, make_missing=None):
    """Positional inputs, then the named ones (``named``: arrays by argument name) in
    ``list_arguments`` then ``list_auxiliary_states`` order; ``make_missing(name)`` supplies
    absent ones (sym.Custom's variables), else they raise."""
    names = prop.list_arguments() + prop.list_auxiliary_states()   # MXNet's input order
    inputs, named = list(args), dict(named)
    for name in names[len(inputs):]:
        if name in named:
            inputs.append(named.pop(name))
        elif make_missing is not None:
            inputs.append(make_missing(name))
        else:
            raise MXNetError(f"Custom: input {name!r} missing (arguments {names})")
    if len(inputs) != len(names) or named:
        raise MXNetError(f"Custom: inputs {len(args)} positional and {sorted(named)} named do "
                         f"not match the op's arguments {names}")
    return inputs


__all__ = ["CustomOp", "CustomOpProp", "register", "get_all_registered_operators"]
