"""Sequence ops over a time axis: ``sequence_last`` and ``sequence_reverse`` (MXNet's
``SequenceLast`` and ``SequenceReverse``; ``SequenceMask`` lives in nn_basic.py).

``data`` is ``(T, B, ...)`` with ``axis=0`` or ``(B, T, ...)`` with ``axis=1``; the optional
``sequence_length`` is ``(B,)``, any numeric dtype. Like MXNet 1.9.1, a fractional length counts
its whole steps only (3.7 means 3). Lengths must lie in ``[1, T]``: MXNet reads outside the
array for a length of 0 in ``SequenceLast``; kiln then returns step 0.
"""
import numpy as np

from .. import ops as F
from .._registry import Aval, Sample, register
from ._rules import sequence_length_range
from ._samples import rnd

_ATTRS = {"use_sequence_length": False, "axis": 0}


def _check_axis(axis, name):
    if int(axis) not in (0, 1):
        raise ValueError(f"{name}: axis must be 0 or 1 (the time axis), got {axis}")
    return int(axis)


def _last_index(xp, length, steps):
    """The index of each sequence's last step: ``trunc(length) - 1`` clipped to ``[0, T-1]``."""
    idx = xp.trunc(length).astype(np.int64) if length.dtype.kind == "f" else length
    return xp.clip(idx.astype(np.int64) - 1, 0, steps - 1)


# ---- SequenceLast ------------------------------------------------------------------------
def _last_kernel(xp, data, length=None, use_sequence_length=False, axis=0):
    axis = _check_axis(axis, "sequence_last")
    moved = xp.moveaxis(data, axis, 0) if axis else data     # (T, B, ...)
    if not use_sequence_length or length is None:
        return moved[-1].copy()
    idx = _last_index(xp, length, moved.shape[0])
    return moved[idx, xp.arange(moved.shape[1])]


def _last_infer(data, length=None, use_sequence_length=False, axis=0):
    axis = _check_axis(axis, "sequence_last")
    shape = tuple(data.shape)
    if len(shape) < 2:
        raise ValueError(f"sequence_last: data must have 2 axes or more, got shape {shape}")
    return Aval(shape[:axis] + shape[axis + 1:], np.dtype(data.dtype))


def _last_grad(i, o, g, use_sequence_length=False, axis=0):
    data, length = i
    axis, steps, ndim = int(axis), int(data.shape[axis]), len(data.shape)
    gx = F.expand_dims(g[0], axis=axis)
    if not use_sequence_length or length is None:
        if steps == 1:
            return gx, None
        rest = F.zeros_like(F.slice_axis(data, axis=axis, begin=0, end=steps - 1))
        return F.concat(rest, gx, dim=axis), None
    # a (B, T) one-hot of each last step, made of registry ops so the gradient stays a graph
    idx = F.clip(F.fix(F.cast(length, dtype="float64")) - 1, a_min=0, a_max=steps - 1)
    hot = F.one_hot(idx, depth=steps, dtype=np.dtype(data.dtype).name)
    if axis == 0:
        hot = F.transpose(hot)                               # (T, B)
    hot = F.reshape(hot, shape=tuple(hot.shape) + (1,) * (ndim - 2))
    return F.broadcast_mul(hot, gx), None


def _last_onnx(g, i, a, o, use_sequence_length=False, axis=0):
    axis = int(axis)
    data = i[0]
    if not use_sequence_length or i[1] is None:
        return g.op("Gather", data, g.const(np.int64(-1)), axis=axis)
    steps = int(a[0].shape[axis])
    ndim = len(a[0].shape)
    if axis == 0:  # GatherND batches over leading axes: put the batch first
        data = g.op("Transpose", data, perm=[1, 0] + list(range(2, ndim)))
    idx = g.op("Cast", i[1], to=g.onnx_dtype(np.int64))    # truncates like MXNet
    idx = g.op("Clip", g.op("Sub", idx, g.const(np.int64(1))), g.const(np.int64(0)),
               g.const(np.int64(steps - 1)))
    return g.op("GatherND", data, g.op("Unsqueeze", idx, g.ints([1])), batch_dims=1)


def _last_ref(data, length=None, use_sequence_length=False, axis=0):
    moved = np.moveaxis(data, axis, 0)
    if not use_sequence_length:
        return moved[-1]
    return np.stack([moved[max(int(n) - 1, 0), b] for b, n in enumerate(length)])


sequence_last = register(
    "sequence_last", _last_kernel, inputs=("data", "sequence_length?"), attrs=dict(_ATTRS),
    infer=_last_infer, grad=_last_grad, onnx=_last_onnx, ref=_last_ref, second_order=True,
    value_ranges=sequence_length_range(),
    samples=[Sample(rnd(4, 3, 2), np.array([1.0, 4, 2]), use_sequence_length=True, wrt=[0]),
             Sample(rnd(3, 4, 2), np.array([1.5, 4, 2.7]), use_sequence_length=True, axis=1,
                    wrt=[0]),
             Sample(rnd(4, 3), np.array([3, 1, 4], dtype=np.int32), use_sequence_length=True,
                    wrt=[0]),
             Sample(rnd(4, 3, 2), None),
             Sample(rnd(3, 5), None, axis=1)],
    aliases=("SequenceLast",),
    doc="""The last valid step of each sequence (MXNet ``SequenceLast``).

    data: (T, B, ...) for axis=0 or (B, T, ...) for axis=1; sequence_length: (B,), used with
    ``use_sequence_length=True`` (otherwise every sequence ends at step T-1).
    Output: (B, ...), the data's dtype.

    Example::

        >>> x = nd.arange(6).reshape((3, 2))
        >>> nd.SequenceLast(x, nd.array([1, 3]), use_sequence_length=True)   # [0. 5.]
    """)


# ---- SequenceReverse -----------------------------------------------------------------------
def _reverse_kernel(xp, data, length=None, use_sequence_length=False, axis=0):
    axis = _check_axis(axis, "sequence_reverse")
    if not use_sequence_length or length is None:
        return xp.flip(data, axis=axis).copy()
    moved = xp.moveaxis(data, axis, 0)                       # (T, B, ...)
    steps, batch = moved.shape[:2]
    n = xp.trunc(length).astype(np.int64) if length.dtype.kind == "f" else length
    n = xp.clip(n.astype(np.int64), 0, steps)
    t = xp.arange(steps)[:, None]
    src = xp.where(t < n[None, :], n[None, :] - 1 - t, t)     # (T, B): step read by each step
    out = moved[src, xp.arange(batch)[None, :]]
    return xp.moveaxis(out, 0, axis) if axis else out


def _reverse_grad(i, o, g, use_sequence_length=False, axis=0):
    # the permutation is its own inverse
    return F.sequence_reverse(g[0], i[1], use_sequence_length=use_sequence_length,
                              axis=axis), None


def _reverse_onnx(g, i, a, o, use_sequence_length=False, axis=0):
    axis = int(axis)
    if not use_sequence_length or i[1] is None:
        return g.op("Slice", i[0], g.ints([-1]), g.ints([-(2 ** 62)]), g.ints([axis]),
                    g.ints([-1]))
    steps = int(a[0].shape[axis])
    lens = g.op("Clip", g.op("Cast", i[1], to=g.onnx_dtype(np.int64)), g.const(np.int64(0)),
                g.const(np.int64(steps)))
    return g.op("ReverseSequence", i[0], lens, batch_axis=1 - axis, time_axis=axis)


def _reverse_ref(data, length=None, use_sequence_length=False, axis=0):
    if not use_sequence_length:
        return np.flip(data, axis)
    out = data.copy()
    moved, src = np.moveaxis(out, axis, 0), np.moveaxis(data, axis, 0)
    for b, n in enumerate(length):
        n = int(n)
        moved[:n, b] = src[:n, b][::-1]
    return out


sequence_reverse = register(
    "sequence_reverse", _reverse_kernel, inputs=("data", "sequence_length?"),
    attrs=dict(_ATTRS),
    infer=lambda d, *_, **__: Aval(tuple(d.shape), np.dtype(d.dtype)),
    grad=_reverse_grad, onnx=_reverse_onnx, ref=_reverse_ref, second_order=True,
    value_ranges=sequence_length_range(),
    samples=[Sample(rnd(4, 3, 2), np.array([1.0, 4, 2]), use_sequence_length=True, wrt=[0]),
             Sample(rnd(3, 4, 2), np.array([0.0, 4, 2.7]), use_sequence_length=True, axis=1,
                    wrt=[0]),
             Sample(rnd(4, 3), np.array([3, 1, 4], dtype=np.int64), use_sequence_length=True,
                    wrt=[0]),
             Sample(rnd(4, 3, 2), None), Sample(rnd(2, 5), None, axis=1)],
    aliases=("SequenceReverse",),
    doc="""Reverse the first ``sequence_length[b]`` steps of each sequence, keeping the padding
    in place (MXNet ``SequenceReverse``; without lengths the whole time axis is reversed).

    data: (T, B, ...) for axis=0 or (B, T, ...) for axis=1 (MXNet 1.9.1 supports axis 0 only);
    sequence_length: (B,). Output: like data.

    Example::

        >>> x = nd.arange(6).reshape((3, 2))
        >>> nd.SequenceReverse(x, nd.array([2, 3]), use_sequence_length=True)
        # [[2. 5.] [0. 3.] [4. 1.]]
    """)
