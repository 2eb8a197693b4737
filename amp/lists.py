"""The op lists of mixed precision, read from the registry's ``amp`` facets.

MXNet keeps four name lists beside its ops (``mxnet/contrib/amp/lists/symbol_fp16.py``); kiln
keeps the fact on each op (``register(..., amp="fp32")``) and these functions collect it.
Names are kiln's registry names (``fully_connected``); the functions that take lists accept
MXNet's names and aliases too (``FullyConnected``).
"""
import numpy as np

from ..ndarray import _registry

LP16_DTYPES = ("float16",)


def check_target(target_dtype):
    """The numpy dtype of ``target_dtype``; bfloat16 is refused with the reason."""
    name = getattr(target_dtype, "__name__", None) or str(np.dtype(target_dtype)
                                                          if _is_dtype(target_dtype)
                                                          else target_dtype)
    if name == "bfloat16":
        raise TypeError("kiln.amp: target_dtype='bfloat16' is not supported: numpy has no "
                        "bfloat16 type, so kiln's CPU kernels cannot compute in it (the "
                        "ml_dtypes package adds one, but numpy's matmul/convolution would "
                        "not run faster in it); use 'float16'")
    if name not in LP16_DTYPES:
        raise TypeError(f"kiln.amp: target_dtype must be 'float16', got {target_dtype!r}")
    return np.dtype(name)


def _is_dtype(x):
    try:
        np.dtype(x)
    except TypeError:
        return False
    return True


def _names(rule):
    return sorted(n for n, op in _registry.OPS.items() if op.amp == rule)


def list_lp16_ops(target_dtype="float16"):
    """Ops that run in the low-precision type (convolution, fully_connected, rnn...)."""
    check_target(target_dtype)
    return _names("lp16")


def list_fp16_ops(target_dtype="float16"):
    """Same as ``list_lp16_ops`` (MXNet 1.5's name)."""
    return list_lp16_ops(target_dtype)


def list_fp32_ops(target_dtype="float16"):
    """Ops that always run in float32 (softmax, the norms, exp/log, sums, losses...)."""
    check_target(target_dtype)
    return _names("fp32")


def list_lp16_fp32_ops(target_dtype="float16"):
    """Ops that run in whatever float type their inputs have (relu, pooling, reshape...)."""
    check_target(target_dtype)
    return _names(None)


def list_widest_type_cast(target_dtype="float16"):
    """Ops whose float inputs are cast to the widest float type among them (add, concat...)."""
    check_target(target_dtype)
    return _names("widest")


def list_conditional_fp32_ops(target_dtype="float16"):
    """``[(op, attribute, [values])]``: ops that run in float32 only for some attribute
    values (``("activation", "act_type", ["softrelu", ...])``), found by asking each
    conditional facet about the attribute values of the op's registry samples."""
    check_target(target_dtype)
    out = []
    for name, op in sorted(_registry.OPS.items()):
        if callable(op.amp):
            out += _conditions(name, op)
    return out


def _conditions(name, op):
    found = {}
    for s in op.samples:
        attrs = {**op.attrs, **s.attrs}
        if op.amp(**attrs) != "fp32":
            continue
        for k, v in s.attrs.items():
            if isinstance(v, str):
                found.setdefault(k, [])
                if v not in found[k]:
                    found[k].append(v)
    return [(name, k, v) for k, v in found.items()]


# MXNet's LOSS_OUTPUT_FUNCTIONS: ops whose gradient ignores the head gradient, so AMP puts the
# loss scale into their ``grad_scale`` (an API list of MXNet's, resolved through the registry).
_LOSS_OUTPUTS = ("SoftmaxOutput", "LinearRegressionOutput", "LogisticRegressionOutput",
                 "MAERegressionOutput")


def list_loss_output_functions(target_dtype="float16"):
    """The ``*Output`` loss ops whose ``grad_scale`` takes the loss scale under AMP (their
    gradient ignores the head gradient that ``scale_loss`` would scale)."""
    check_target(target_dtype)
    names = []
    for n in _LOSS_OUTPUTS:
        try:
            names.append(_registry.get(n).name)
        except KeyError:
            continue
    return names


def list_lp16_use_fp32_params(target_dtype="float16"):
    """Ops whose parameters stay float32 in low precision: None for float16, as in MXNet."""
    check_target(target_dtype)
    return None


def build_rules(target_precision_ops=None, conditional_fp32_ops=None, fp32_ops=None):
    """``{op name: rule}`` for ``Policy``: the registry's facets, with each list given
    replacing the facets of its kind (as MXNet's ``init`` overrides its lists)."""
    rules = {n: op.amp for n, op in _registry.OPS.items() if op.amp is not None}
    if target_precision_ops is not None:
        rules = {n: r for n, r in rules.items() if r != "lp16"}
        rules.update({n: "lp16" for n in _resolve(target_precision_ops, "target_precision_ops")})
    if fp32_ops is not None:
        rules = {n: r for n, r in rules.items() if r != "fp32"}
        rules.update({n: "fp32" for n in _resolve(fp32_ops, "fp32_ops")})
    if conditional_fp32_ops is not None:
        rules = {n: r for n, r in rules.items() if isinstance(r, str)}
        for entry in conditional_fp32_ops:
            if not (isinstance(entry, (list, tuple)) and len(entry) == 3):
                raise ValueError("kiln.amp: conditional_fp32_ops entries are (op name, "
                                 f"attribute, [values]), got {entry!r}")
            op_name, attr, values = entry
            rules[_resolve([op_name], "conditional_fp32_ops")[0]] = _condition(attr, values)
    return rules


def _condition(attr, values):
    values = frozenset(values)

    def rule(**attrs):
        return "fp32" if attrs.get(attr) in values else None
    return rule


def _resolve(names, what):
    if isinstance(names, str) or not hasattr(names, "__iter__"):
        raise TypeError(f"kiln.amp: {what} must be a list of op names, got {names!r}")
    out, unknown = [], []
    for n in names:
        try:
            out.append(_registry.get(n).name)
        except KeyError:
            unknown.append(n)
    if unknown:
        raise ValueError(f"kiln.amp: {what} names ops kiln does not have: {unknown}")
    return out
