"""``kiln.nd.contrib``: MXNet 1.9's ``mx.nd.contrib`` namespace.

Every registered op or alias named ``_contrib_<name>`` is here as ``<name>`` (``contrib.ctc_loss``,
``contrib.CTCLoss``, the transformer ops ``interleaved_matmul_*``, ``div_sqrt_dim``,
``arange_like``), imported by name below; tests/test_namespace_sync.py fails when one is
missing. The Python-level contrib functions (control flow ``foreach``/``while_loop``/
``cond``, ``isnan``/``isinf``/``isfinite``, ``boolean_mask``, the straight-through estimators)
are composed from registry ops, so autograd sees through them.

Example::

    >>> from kiln import nd
    >>> nd.contrib.ctc_loss(nd.zeros((4, 1, 3)), nd.array([[1, 2]])).shape
    (1,)
"""
import numpy as np

from ..device import current_context  # noqa: F401  (MXNet's nd.contrib exports it)
from . import ops as F
from .control_flow import cond, foreach, while_loop
from .convert import array
from .ops import misc_mx as _misc
from .ops import optimizer_adaptive_ops as _opt
from .ops._namespace import _contrib_arange_like as arange_like
from .ops._namespace import _contrib_ctc_loss as ctc_loss
from .ops._namespace import _contrib_CTCLoss as CTCLoss
from .ops._namespace import _contrib_div_sqrt_dim as div_sqrt_dim
from .ops._namespace import _contrib_interleaved_matmul_encdec_qk as interleaved_matmul_encdec_qk
from .ops._namespace import (
    _contrib_interleaved_matmul_encdec_valatt as interleaved_matmul_encdec_valatt,
)
from .ops._namespace import _contrib_interleaved_matmul_selfatt_qk as interleaved_matmul_selfatt_qk
from .ops._namespace import (
    _contrib_interleaved_matmul_selfatt_valatt as interleaved_matmul_selfatt_valatt,
)
from .random import uniform

adamw_update = _opt._contrib_adamw_update
mp_adamw_update = _opt._contrib_mp_adamw_update
group_adagrad_update = _opt._contrib_group_adagrad_update
gradientmultiplier = _misc._contrib_gradientmultiplier
index_array = _misc._contrib_index_array
index_copy = _misc._contrib_index_copy


def multi_adamw(op, mp):
    """MXNet's ``contrib.multi_[mp_]adamw_update`` over the flat op ``op`` (``nd`` or ``sym``):
    lists of weights, grads, means, vars (and float32 copies when ``mp``), then rescale_grad.

    Example::

        >>> nd.contrib.multi_adamw_update([w], [g], [m], [v], 1.0, lrs=[0.01], wds=[0.0],
        ...                               etas=[1.0], out=[w])
    """
    def multi_adamw_update(weights, grads, mean, var, *rest, out=None, size=0, **kwargs):
        lists = (weights, grads, mean, var) + ((rest[0],) if mp else ())
        flat = [a for grp in zip(*lists) for a in grp] + [rest[-1]]
        return op(*flat, out=out, num_weights=size or len(weights), **kwargs)
    multi_adamw_update.__doc__ = (
        f"AdamW (``contrib.adamw_update``) of each weight of the lists ``weights, grads, "
        f"mean, var{', weights32' if mp else ''}`` with ``rescale_grad`` and per-weight "
        "``lrs``, ``wds``, ``etas``: the states change in place; returns the new weights.")
    return multi_adamw_update


def multi_lamb(op, mp):
    """MXNet's ``contrib.multi_[mp_]lamb_update`` over the flat op ``op`` (``nd`` or ``sym``):
    lists of weights, grads, means, vars (and float32 copies when ``mp``), then step_count,
    lrs, wds (one per tensor).

    Example::

        >>> nd.contrib.multi_lamb_update([w], [g], [m], [v], [1], [0.01], [0.0], out=[w])
    """
    def multi_lamb_update(weights, grads, mean, var, *rest, out=None, num_tensors=0, **kwargs):
        k = 5 if mp else 4
        rest = list(rest) + [kwargs.pop(n) for n in ("step_count", "lrs", "wds") if n in kwargs]
        lists = (weights, grads, mean, var) + tuple(rest[:k - 4])
        step_count, lrs, wds = rest[k - 4:k - 1]
        flat = [a for grp in zip(*lists) for a in grp]
        return op(*flat, out=out, num_tensors=num_tensors or len(weights),
                  step_count=tuple(step_count), learning_rates=tuple(lrs), wds=tuple(wds),
                  **kwargs)
    multi_lamb_update.__doc__ = (
        f"LAMB (both phases) of each tensor of the lists ``weights, grads, mean, var"
        f"{', weights32' if mp else ''}`` at per-tensor ``step_count``, ``lrs``, ``wds``: the "
        "states change in place; returns the new weights.")
    return multi_lamb_update


def layer_ops(ns, group=list):
    """MXNet's contrib layer ops that are kiln ops under other names, over the namespace
    ``ns`` (``nd`` or ``sym``): ``SyncBatchNorm`` (one device: BatchNorm; ``ndev``/``key``
    name MXNet's cross-device reduction), ``BatchNormWithReLU`` (relu of BatchNorm's output)
    and ``SparseEmbedding`` (Embedding with a row_sparse weight gradient). ``group`` makes one
    result of several outputs (a list for ``nd``, ``sym.Group`` for ``sym``).

    Example::

        >>> nd.contrib.SyncBatchNorm(x, gamma, beta, mean, var, ndev=1, key="bn0")
    """
    def SyncBatchNorm(*args, ndev=1, key=None, **kwargs):  # noqa: N802 - MXNet's name
        """BatchNorm synchronised across ``ndev`` devices (MXNet ``contrib.SyncBatchNorm``);
        on one device (kiln's) it is ``BatchNorm`` with the same inputs and attributes, but
        with ``output_mean_var`` its third output is the batch variance, as MXNet's
        SyncBatchNorm gives it (BatchNorm's is ``1/sqrt(var + eps)``)."""
        out = ns.BatchNorm(*args, **kwargs)
        if not kwargs.get("output_mean_var"):
            return out
        eps = kwargs.get("eps", 1e-3)
        return group([out[0], out[1], ns.reciprocal(ns.square(out[2])) - eps])

    def BatchNormWithReLU(*args, **kwargs):  # noqa: N802 - MXNet's name
        """``relu(BatchNorm(...))`` (MXNet's fused oneDNN op); the same inputs and
        attributes as ``BatchNorm``, output like data."""
        out = ns.BatchNorm(*args, **kwargs)
        if isinstance(out, (list, tuple)):  # output_mean_var: the statistics pass through
            return group([ns.relu(out[0]), *out[1:]])
        return ns.relu(out)

    def SparseEmbedding(*args, **kwargs):  # noqa: N802 - MXNet's name
        """``Embedding`` whose weight gradient is row_sparse (MXNet
        ``contrib.SparseEmbedding``): data (...), weight (input_dim, output_dim)."""
        kwargs["sparse_grad"] = True
        return ns.Embedding(*args, **kwargs)

    return SyncBatchNorm, BatchNormWithReLU, SparseEmbedding


SyncBatchNorm, BatchNormWithReLU, SparseEmbedding = layer_ops(F)
multi_adamw_update = multi_adamw(_opt._multi_adamw_update, False)
multi_mp_adamw_update = multi_adamw(_opt._multi_mp_adamw_update, True)
multi_lamb_update = multi_lamb(_opt._multi_lamb_update, False)
multi_mp_lamb_update = multi_lamb(_opt._multi_mp_lamb_update, True)


# ---- element tests (MXNet keeps the input dtype: 1 where true, 0 elsewhere) ----
def _is_float(data):
    return np.dtype(getattr(data, "dtype", np.float32)).kind == "f"


def isnan(data):
    """1 where ``data`` is NaN, else 0; same shape and dtype as ``data``.

    Example: ``contrib.isnan(nd.array([1, nan]))`` is ``[0. 1.]``.
    """
    return F.not_equal(data, data) if _is_float(data) else F.zeros_like(data)


def isinf(data):
    """1 where ``data`` is +inf or -inf, else 0; same shape and dtype as ``data``.

    Example: ``contrib.isinf(nd.array([1, -inf, nan]))`` is ``[0. 1. 0.]``.
    """
    return F.equal(F.abs(data), np.inf) if _is_float(data) else F.zeros_like(data)


def isfinite(data):
    """1 where ``data`` is neither infinite nor NaN, else 0; same shape and dtype as ``data``.

    Example: ``contrib.isfinite(nd.array([1, inf, nan]))`` is ``[1. 0. 0.]``.
    """
    if not _is_float(data):
        return F.ones_like(data)
    # NaN compares false, so one comparison covers both cases without a floating-point warning
    return F.lesser_equal(F.abs(data), float(np.finfo(np.dtype(data.dtype)).max))


# ---- small composites ----
def quadratic(data, a=0.0, b=0.0, c=0.0):
    """``a * data**2 + b * data + c`` elementwise.

    Example: ``contrib.quadratic(nd.array([2]), a=1, c=1)`` is ``[5.]``.
    """
    return data * data * a + data * b + c


def round_ste(data):
    """``round(data)`` forward, identity gradient (straight-through estimator).

    Example: ``contrib.round_ste(nd.array([1.4, -2.5]))`` is ``[1. -3.]``; its gradient is 1.
    """
    # x - stop_gradient(x) is exactly 0 (so the forward is exactly round(x)) with gradient 1
    return F.stop_gradient(F.round(data)) + (data - F.stop_gradient(data))


def sign_ste(data):
    """``sign(data)`` forward, identity gradient (straight-through estimator).

    Example: ``contrib.sign_ste(nd.array([0.2, -3]))`` is ``[1. -1.]``.
    """
    return F.stop_gradient(F.sign(data)) + (data - F.stop_gradient(data))


def boolean_mask(data, index, axis=0):
    """The slices of ``data`` along ``axis`` where ``index`` (1-D, length ``data.shape[axis]``)
    is nonzero; the output's length along ``axis`` depends on the values.

    Example: ``contrib.boolean_mask(nd.array([[1, 2], [3, 4]]), nd.array([0, 1]))`` is
    ``[[3. 4.]]``.
    """
    keep = np.flatnonzero(index.asnumpy() if hasattr(index, "asnumpy") else np.asarray(index))
    return F.take(data, array(keep, ctx=data.context, dtype="int64"), axis=axis)


def rand_zipfian(true_classes, num_sampled, range_max, ctx=None):
    """Candidate sampling from the approximately Zipfian (log-uniform) distribution over
    ``[0, range_max)``, where class ``k`` has probability ``log((k+2)/(k+1)) / log(range_max+1)``
    (classes sorted by decreasing frequency). Draws ``num_sampled`` classes with replacement.

    Returns ``(sampled_classes (num_sampled,) int64, expected count of each true class
    (true_classes.shape) float64, expected count of each sampled class (num_sampled,) float64)``,
    an expected count being ``num_sampled`` times the class's probability.

    Example::

        >>> s, e_true, e_s = nd.contrib.rand_zipfian(nd.array([3]), 4, 5)
        >>> s.shape, e_true.shape
        ((4,), (1,))
    """
    ctx = true_classes.context if ctx is None else ctx
    log_range = float(np.log(range_max + 1))
    draw = uniform(0, log_range, shape=(num_sampled,), dtype="float64", ctx=ctx)
    # exp(U(0, log(R+1))) - 1 is log-uniform on [0, R); the modulo guards the top edge
    sampled = F.cast(F.floor(F.expm1(draw)), dtype="int64") % range_max

    def expected(classes):
        k = F.cast(classes, dtype="float64")
        return F.log((k + 2.0) / (k + 1.0)) / log_range * num_sampled

    return sampled, expected(true_classes), expected(sampled)


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=True):
    """1 (shape (), float32) when every ``|a - b| <= atol + rtol * |b|`` (broadcasting), else
    0; with ``equal_nan`` NaNs in the same places compare equal, as MXNet's default.

    Example: ``nd.contrib.allclose(nd.array([1.0]), nd.array([1.0 + 1e-9]))`` is ``1.``.
    """
    close = F.broadcast_lesser_equal(F.abs(F.broadcast_sub(a, b)),
                                     F.broadcast_add(F.abs(b) * rtol, atol))
    if equal_nan:
        close = F.broadcast_logical_or(close, F.broadcast_logical_and(isnan(a), isnan(b)))
    return F.reshape(F.cast(F.min(close), dtype="float32"), shape=())   # MXNet: shape ()


__all__ = ["isnan", "isinf", "isfinite", "div_sqrt_dim", "quadratic", "round_ste", "sign_ste",
           "arange_like", "boolean_mask", "rand_zipfian", "allclose", "foreach", "while_loop",
           "cond",
           "CTCLoss", "ctc_loss", "interleaved_matmul_selfatt_qk",
           "interleaved_matmul_selfatt_valatt", "interleaved_matmul_encdec_qk",
           "interleaved_matmul_encdec_valatt", "adamw_update", "mp_adamw_update",
           "group_adagrad_update", "multi_adamw_update", "multi_mp_adamw_update",
           "multi_lamb_update", "multi_mp_lamb_update", "gradientmultiplier", "index_array",
           "index_copy", "SyncBatchNorm", "BatchNormWithReLU",
           "SparseEmbedding"]  # _contrib_<name> ops, aliases

# the detection and vision ops (box_nms, ROIAlign, MultiBoxPrior...): one list, see there
from . import contrib_vision as _vision  # noqa: E402
from .contrib_vision import *  # noqa: E402,F401,F403

__all__ += _vision.__all__

# the int8 quantization ops (quantize_v2, quantized_conv...): one list, see there
from . import contrib_quant as _quant  # noqa: E402
from .contrib_quant import *  # noqa: E402,F401,F403

__all__ += _quant.__all__

# hawkesll, fft/ifft, count_sketch, the backward_* ops, getnnz/edge_id: one list, see there
from . import contrib_misc as _misc_contrib  # noqa: E402
from .contrib_misc import *  # noqa: E402,F401,F403

__all__ += _misc_contrib.__all__
