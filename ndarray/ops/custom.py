"""``_custom``: a Python operator registered through ``kiln.operator`` (ndarray/custom_op.py)
as one registry op, and ``_custom_backward``, its gradient.

The kernels wrap the raw arrays as NDArrays, ask the prop for the output shapes and dtypes,
and call the kept CustomOp's ``forward``/``backward`` with ``req='write'``; ``infer`` asks the
prop too, so hybridized graphs trace it; the gradient is the backward op over the inputs,
outputs and output gradients. Python code has no ONNX form.

Example::

    >>> nd.Custom(x, op_type="square")     # the public form: kiln.operator's Custom
"""
import numpy as np

from ...base import MXNetError, OpError
from ...device import cpu, current_context
from .. import _registry
from .._registry import Aval, Sample, register
from ..custom_op import CustomOp, CustomOpProp, make_prop, operator_for, pack_kwargs, split_inputs
from ..custom_op import register as register_prop

_ATTRS = {"op_type": _registry.REQUIRED, "prop_args": ()}


def _n_out(attrs):
    return len(make_prop(attrs["op_type"], attrs["prop_args"]).list_outputs())


def _n_in(attrs):
    return len(make_prop(attrs["op_type"], attrs["prop_args"]).list_arguments())


def _aux_positions(attrs):
    """The auxiliary states follow the arguments; the op updates them in place."""
    prop = make_prop(attrs["op_type"], attrs["prop_args"])
    n_in = len(prop.list_arguments())
    return tuple(range(n_in, n_in + len(prop.list_auxiliary_states())))


def _wrap(xp, arrays):
    ctx = cpu() if xp is np else current_context()
    return [_registry._new(a, ctx) for a in arrays], ctx


def _outs(answer):
    """The outputs' part of an infer_shape/infer_type answer: MXNet takes (in, out) as well as
    (in, out, aux)."""
    return tuple(answer)[1]


def _out_avals(prop, avals, op_type):
    """Output avals from the arguments' (``avals``: arguments then auxiliary states, whose
    shapes must be the prop's answer)."""
    n_in, n_aux = len(prop.list_arguments()), len(prop.list_auxiliary_states())
    aux, avals = avals[n_in:], avals[:n_in]
    shapes = [tuple(a.shape) for a in avals]
    answer = tuple(prop.infer_shape([list(s) for s in shapes]))
    out_shapes = answer[1]
    want_aux = [tuple(int(d) for d in s) for s in (answer[2] if len(answer) > 2 else [])]
    if n_aux and (len(aux) != n_aux or len(want_aux) != n_aux or
                  any(tuple(a.shape) != w for a, w in zip(aux, want_aux))):
        raise OpError(f"Custom {op_type!r}: auxiliary states "
                      f"{prop.list_auxiliary_states()} of shapes {want_aux} expected, got "
                      f"{[tuple(a.shape) for a in aux]}")
    out_types = _outs(prop.infer_type([np.dtype(a.dtype).type for a in avals]))
    n = len(prop.list_outputs())
    if len(out_shapes) != n or len(out_types) != n:
        raise OpError(f"Custom {op_type!r}: infer_shape/infer_type give "
                      f"{len(out_shapes)}/{len(out_types)} outputs for {n} list_outputs")
    return [Aval(tuple(int(d) for d in s), np.dtype(t)) for s, t in zip(out_shapes, out_types)]


def _infer(*avals, op_type, prop_args, _train=False):
    prop = make_prop(op_type, prop_args)
    names = prop.list_arguments() + prop.list_auxiliary_states()
    if len(avals) != len(names):
        raise OpError(f"Custom {op_type!r}: {len(avals)} inputs for arguments and auxiliary "
                      f"states {names}")
    outs = _out_avals(prop, avals, op_type)
    return outs[0] if len(outs) == 1 else tuple(outs)


def _forward(xp, *arrays, op_type, prop_args, _train=False):
    prop = make_prop(op_type, prop_args)
    n_in = len(prop.list_arguments())
    wrapped, ctx = _wrap(xp, arrays)   # the auxiliary states wrap the caller's buffers:
    ins, aux = wrapped[:n_in], wrapped[n_in:]   # the op's writes update them in place
    avals = [Aval(a.shape, a.dtype) for a in arrays]
    outs = [_registry._new(xp.zeros(av.shape, av.dtype), ctx)
            for av in _out_avals(prop, avals, op_type)]
    op = operator_for(op_type, prop_args, prop, ctx, [a.shape for a in arrays[:n_in]],
                      [a.dtype for a in arrays[:n_in]])
    op.forward(is_train=bool(_train), req=["write"] * len(outs), in_data=ins, out_data=outs,
               aux=aux)
    res = [o._data for o in outs]
    return res[0] if len(res) == 1 else tuple(res)


def _grad(ins, outs, gouts, **attrs):
    attrs = {k: v for k, v in attrs.items() if not k.startswith("_")}
    res = _custom_backward(*ins, *outs, *gouts, **attrs)
    res = list(res) if isinstance(res, (list, tuple)) else [res]
    return res + [None] * (len(ins) - len(res))   # no gradient for auxiliary states


_custom = register(
    "_custom", _forward, inputs=("*data",), attrs=dict(_ATTRS), num_outputs=_n_out,
    uses_mode=True, infer=_infer, grad=_grad, save_outputs=True, mutates=_aux_positions,
    no_onnx="a Python CustomOp has no ONNX form",
    no_ref="the sample op's reference is its own definition (tests/test_custom_op.py)",
    samples=[Sample(np.array([[1.0, -2.0], [0.5, 3.0]]), op_type="_kiln_sample_cube",
                    prop_args=(("scale", "2"),), onnx=False)],
    doc="""A Python operator registered with ``kiln.operator.register`` (``nd.Custom``).

    Inputs and outputs as the prop's ``list_arguments``/``list_outputs``, shapes and dtypes
    from its ``infer_shape``/``infer_type``.""")


def _backward(xp, *arrays, op_type, prop_args, _train=True):
    prop = make_prop(op_type, prop_args)
    n_in, n_out = len(prop.list_arguments()), len(prop.list_outputs())
    n_aux = len(prop.list_auxiliary_states())
    wrapped, ctx = _wrap(xp, arrays)
    in_data, aux = wrapped[:n_in], wrapped[n_in:n_in + n_aux]
    out_data = wrapped[n_in + n_aux:n_in + n_aux + n_out]
    out_grad = wrapped[n_in + n_aux + n_out:]
    in_grad = [_registry._new(xp.zeros(a.shape, a.dtype), ctx) for a in arrays[:n_in]]
    op = operator_for(op_type, prop_args, prop, ctx, [a.shape for a in arrays[:n_in]],
                      [a.dtype for a in arrays[:n_in]])
    op.backward(req=["write"] * n_in, out_grad=out_grad, in_data=in_data, out_data=out_data,
                in_grad=in_grad, aux=aux)
    res = [g._data for g in in_grad]
    return res[0] if len(res) == 1 else tuple(res)


def _backward_infer(*avals, op_type, prop_args, _train=True):
    n_in = _n_in({"op_type": op_type, "prop_args": prop_args})
    outs = [Aval(tuple(a.shape), np.dtype(a.dtype)) for a in avals[:n_in]]
    return outs[0] if len(outs) == 1 else tuple(outs)


_custom_backward = register(
    "_custom_backward", _backward, inputs=("*data",), attrs=dict(_ATTRS), num_outputs=_n_in,
    uses_mode=True, infer=_backward_infer,
    no_grad="a CustomOp's backward has no gradient of its own",
    no_onnx="backward-only op: never exported",
    no_ref="the sample op's reference is its own definition (tests/test_custom_op.py)",
    samples=[Sample(np.array([[1.0, -2.0]]), np.array([[2.0, -16.0]]), np.array([[1.0, 0.5]]),
                    op_type="_kiln_sample_cube", prop_args=(("scale", "2"),), grad=False,
                    onnx=False)],
    doc="Gradient of a custom operator: its ``backward`` over inputs, outputs, output grads.")


def Custom(*args, op_type=None, **kwargs):
    """Run the custom operator registered as ``op_type`` (``nd.Custom``). Inputs are
    positional or NDArray keywords named by ``list_arguments``; the other keywords go to the
    prop (as strings, as MXNet passes them)."""
    if op_type is None:
        raise MXNetError("Custom: op_type= is required")
    kwargs.pop("name", None)
    arrays = {k: v for k, v in kwargs.items() if isinstance(v, _registry._NDArray)}
    params = pack_kwargs({k: v for k, v in kwargs.items() if k not in arrays})
    inputs = split_inputs(make_prop(op_type, params), args, arrays)
    return _custom(*inputs, op_type=op_type, prop_args=params)


# ---- the registry walk's sample operator: scale * x**3 --------------------------------------
class _Cube(CustomOp):
    def __init__(self, scale):
        self.scale = scale

    def forward(self, is_train, req, in_data, out_data, aux):
        x = in_data[0]
        self.assign(out_data[0], req[0], x * x * x * self.scale)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        x = in_data[0]
        self.assign(in_grad[0], req[0], out_grad[0] * x * x * (3 * self.scale))


@register_prop("_kiln_sample_cube")
class _CubeProp(CustomOpProp):
    def __init__(self, scale="1"):
        super().__init__(need_top_grad=True)
        self.scale = float(scale)

    def create_operator(self, ctx, in_shapes, in_dtypes):
        return _Cube(self.scale)
