"""Gluon losses (``kiln.loss``, ``kiln.gluon.loss``) with MXNet Gluon 1.9's names and values.

Every loss is a HybridBlock whose ``forward`` uses only ``kiln.nd`` ops, so it runs eagerly,
under autograd and hybridized alike. Most return one value per sample: the mean over the
non-batch axes (``KLDivLoss`` and ``TripletLoss`` sum them, ``CosineEmbeddingLoss`` returns
``(N, 1)``, ``PoissonNLLLoss`` one value of shape ``(1,)``, as MXNet 1.9 does).

``weight`` is a global scalar factor; ``sample_weight`` (an input) multiplies the elementwise
loss before the reduction and must broadcast against it (``(N, 1)`` weighs each sample).

Example::

    >>> from kiln import gluon, nd
    >>> gluon.loss.L2Loss()(nd.array([[1., 2.]]), nd.array([[0., 0.]]))
    [1.25]
    <NDArray 1 @cpu(0)>
"""
import math
from numbers import Number

from .. import ndarray as nd
from ..ndarray import _registry
from .block import HybridBlock

__all__ = ["Loss", "L2Loss", "L1Loss", "SigmoidBinaryCrossEntropyLoss", "SigmoidBCELoss",
           "SoftmaxCrossEntropyLoss", "SoftmaxCELoss", "KLDivLoss", "CTCLoss", "HuberLoss",
           "HingeLoss", "SquaredHingeLoss", "LogisticLoss", "TripletLoss", "PoissonNLLLoss",
           "CosineEmbeddingLoss", "SDMLLoss"]


# ---- helpers (MXNet's private names and signatures: ``F`` is kiln.nd) ------------------------
def _apply_weighting(F, loss, weight=None, sample_weight=None):
    """``loss * sample_weight * weight``; ``sample_weight`` broadcasts, ``weight`` is a number."""
    if sample_weight is not None:
        loss = F.broadcast_mul(loss, sample_weight)
    if weight is not None:
        if not isinstance(weight, Number):
            raise TypeError(f"weight must be a number, got {type(weight).__name__}")
        loss = loss * weight
    return loss


def _reshape_like(F, x, y):
    """``x`` reshaped to ``y``'s shape (same number of elements)."""
    return F.reshape_like(x, y)


def _batch_mean(F, loss, batch_axis):
    """Mean over every axis but ``batch_axis``: shape ``(batch_size,)``."""
    return F.mean(loss, axis=batch_axis, exclude=True)


def _batch_sum(F, loss, batch_axis):
    """Sum over every axis but ``batch_axis``: shape ``(batch_size,)``."""
    return F.sum(loss, axis=batch_axis, exclude=True)


def _log1p_exp_neg_abs(x):
    """``log(1 + exp(-|x|))``: the stable part of the logistic losses."""
    return nd.softrelu(-nd.abs(x))


# ---- the base class --------------------------------------------------------------------------
class Loss(HybridBlock):
    """Base class of losses: ``weight`` (a global scalar or None) and ``batch_axis``.

    Subclasses define ``forward(self, pred, label, ...)`` with ``kiln.nd`` ops, or Gluon 1.x
    ``hybrid_forward(self, F, pred, label, ...)``; ``super().hybrid_forward(F, ...)`` inside a
    subclass of a built-in loss runs the built-in computation.

    Example::

        >>> class Scaled(L1Loss):
        ...     def hybrid_forward(self, F, pred, label, sample_weight=None):
        ...         return 2 * super().hybrid_forward(F, pred, label, sample_weight)
    """

    def __init__(self, weight=None, batch_axis=0, **kwargs):
        super().__init__(**kwargs)
        self._weight = weight
        self._batch_axis = batch_axis

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # A Gluon 1.x subclass (hybrid_forward only) of a built-in loss: its hybrid_forward
        # must win over the built-in's forward, so route forward back through HybridBlock's.
        if "hybrid_forward" in cls.__dict__ and "forward" not in cls.__dict__:
            cls.forward = HybridBlock.forward

    def __repr__(self):
        return f"{type(self).__name__}(batch_axis={self._batch_axis}, w={self._weight})"

    def hybrid_forward(self, F, *args, **kwargs):
        """The nearest built-in ``forward`` (Gluon 1.x subclasses reach it through super())."""
        for klass in type(self).__mro__:
            fwd = klass.__dict__.get("forward")
            if fwd is not None and fwd is not HybridBlock.forward and klass is not Loss:
                return fwd(self, *args, **kwargs)
        raise NotImplementedError(f"{type(self).__name__} must define forward(self, pred, "
                                  f"label, ...) or hybrid_forward(self, F, pred, label, ...)")


# ---- regression ------------------------------------------------------------------------------
class L2Loss(Loss):
    """Half the squared error: ``weight / 2 * (pred - label)^2``, averaged per sample.

    Inputs ``pred``, ``label`` (same number of elements), optional ``sample_weight``.
    Output shape ``(batch_size,)``.

    Example::

        >>> L2Loss()(nd.array([[1., 3.]]), nd.array([[0., 0.]]))   # (1 + 9) / 2 / 2
        [2.5]
        <NDArray 1 @cpu(0)>
    """

    def __init__(self, weight=1., batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)

    def forward(self, pred, label, sample_weight=None):
        label = _reshape_like(nd, label, pred)
        loss = nd.square(label - pred)
        half = 0.5 if self._weight is None else self._weight / 2
        loss = _apply_weighting(nd, loss, half, sample_weight)
        return _batch_mean(nd, loss, self._batch_axis)


class L1Loss(Loss):
    """Absolute error ``|pred - label|``, averaged per sample. Output ``(batch_size,)``.

    Example::

        >>> L1Loss()(nd.array([[1., -3.]]), nd.array([[0., 0.]]))
        [2.]
        <NDArray 1 @cpu(0)>
    """

    def __init__(self, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)

    def forward(self, pred, label, sample_weight=None):
        label = _reshape_like(nd, label, pred)
        loss = _apply_weighting(nd, nd.abs(label - pred), self._weight, sample_weight)
        return _batch_mean(nd, loss, self._batch_axis)


class HuberLoss(Loss):
    """Smoothed L1: ``0.5/rho * d^2`` where ``d = |pred - label| <= rho``, else ``d - rho/2``.

    Output ``(batch_size,)``.

    Example::

        >>> HuberLoss(rho=1)(nd.array([[0.5, 3.]]), nd.array([[0., 0.]]))   # (0.125 + 2.5) / 2
        [1.3125]
        <NDArray 1 @cpu(0)>
    """

    def __init__(self, rho=1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._rho = rho

    def forward(self, pred, label, sample_weight=None):
        label = _reshape_like(nd, label, pred)
        d = nd.abs(label - pred)
        loss = nd.where(d > self._rho, d - 0.5 * self._rho, (0.5 / self._rho) * nd.square(d))
        loss = _apply_weighting(nd, loss, self._weight, sample_weight)
        return _batch_mean(nd, loss, self._batch_axis)


# ---- margin losses ---------------------------------------------------------------------------
class HingeLoss(Loss):
    """``max(0, margin - pred * label)`` with labels -1/1, averaged per sample.

    Example::

        >>> HingeLoss()(nd.array([[0.5, 2.]]), nd.array([[1., 1.]]))
        [0.25]
        <NDArray 1 @cpu(0)>
    """

    def __init__(self, margin=1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def forward(self, pred, label, sample_weight=None):
        label = _reshape_like(nd, label, pred)
        loss = nd.relu(self._margin - pred * label)
        loss = _apply_weighting(nd, loss, self._weight, sample_weight)
        return _batch_mean(nd, loss, self._batch_axis)


class SquaredHingeLoss(Loss):
    """``max(0, margin - pred * label)^2`` with labels -1/1, averaged per sample.

    Example::

        >>> SquaredHingeLoss()(nd.array([[0.5, 2.]]), nd.array([[1., 1.]]))
        [0.125]
        <NDArray 1 @cpu(0)>
    """

    def __init__(self, margin=1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def forward(self, pred, label, sample_weight=None):
        label = _reshape_like(nd, label, pred)
        loss = nd.square(nd.relu(self._margin - pred * label))
        loss = _apply_weighting(nd, loss, self._weight, sample_weight)
        return _batch_mean(nd, loss, self._batch_axis)


class TripletLoss(Loss):
    """``max(0, |pos - pred|^2 - |neg - pred|^2 + margin)``, squared norms summed per sample.

    Inputs ``pred``, ``positive``, ``negative`` (same number of elements). Output
    ``(batch_size,)``.

    Example::

        >>> TripletLoss()(nd.zeros((1, 2)), nd.ones((1, 2)), nd.ones((1, 2)))
        [1.]
        <NDArray 1 @cpu(0)>
    """

    def __init__(self, margin=1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def forward(self, pred, positive, negative, sample_weight=None):
        positive = _reshape_like(nd, positive, pred)
        negative = _reshape_like(nd, negative, pred)
        diff = nd.square(positive - pred) - nd.square(negative - pred)
        loss = nd.relu(_batch_sum(nd, diff, self._batch_axis) + self._margin)
        return _apply_weighting(nd, loss, self._weight, sample_weight)


# ---- classification --------------------------------------------------------------------------
class SigmoidBinaryCrossEntropyLoss(Loss):
    """Binary cross-entropy, from logits (default) or from probabilities (``from_sigmoid``).

    ``forward(pred, label, sample_weight=None, pos_weight=None)``: ``pos_weight`` (broadcast
    against ``pred``, e.g. ``(1, C)``) scales the positive term. Output ``(batch_size,)``.

    Example::

        >>> SigmoidBCELoss()(nd.array([[0.]]), nd.array([[1.]]))   # log(2)
        [0.6931472]
        <NDArray 1 @cpu(0)>
    """

    def __init__(self, from_sigmoid=False, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._from_sigmoid = from_sigmoid

    def forward(self, pred, label, sample_weight=None, pos_weight=None):
        label = _reshape_like(nd, label, pred)
        if not self._from_sigmoid:
            if pos_weight is None:
                # max(x, 0) - x * z + log(1 + exp(-|x|)): stable for any x
                loss = nd.relu(pred) - pred * label + _log1p_exp_neg_abs(pred)
            else:
                # x - x * z + (1 + (pw - 1) * z) * (log(1 + exp(-|x|)) + max(-x, 0))
                log_weight = 1 + nd.broadcast_mul(pos_weight - 1, label)
                loss = pred - pred * label + log_weight * (_log1p_exp_neg_abs(pred) +
                                                           nd.relu(-pred))
        else:
            eps = 1e-12
            pos = nd.log(pred + eps) * label
            if pos_weight is not None:
                pos = nd.broadcast_mul(pos, pos_weight)
            loss = -(pos + nd.log(1. - pred + eps) * (1. - label))
        loss = _apply_weighting(nd, loss, self._weight, sample_weight)
        return _batch_mean(nd, loss, self._batch_axis)


SigmoidBCELoss = SigmoidBinaryCrossEntropyLoss


class SoftmaxCrossEntropyLoss(Loss):
    """Softmax cross-entropy along ``axis``, against class indices or distributions.

    ``sparse_label=True``: ``label`` holds class indices, shaped like ``pred`` without ``axis``;
    else ``label`` is a distribution shaped like ``pred``. ``from_logits=True`` means ``pred``
    already holds log-probabilities. Output ``(batch_size,)``.

    Class indices outside ``[0, num_classes)`` are clipped into range, as MXNet's ``pick``
    does (-1 reads class 0). In checked mode (``kiln.set_checks(True)``) they raise an
    ``OpError`` instead, eagerly and hybridized alike: the compiled graph checks each call's
    labels.

    Example::

        >>> SoftmaxCELoss()(nd.array([[0., 0.]]), nd.array([1]))   # log(2)
        [0.6931472]
        <NDArray 1 @cpu(0)>
    """

    def __init__(self, axis=-1, sparse_label=True, from_logits=False, weight=None,
                 batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._axis = axis
        self._sparse_label = sparse_label
        self._from_logits = from_logits

    def forward(self, pred, label, sample_weight=None):
        state = _registry.STATE
        if self._sparse_label and not self._from_logits and state.tracer is None:
            # eagerly, the one op that a hybridized graph's fusion pass makes of the chain
            # below (symbol/passes.fuse): the same values, and a tape of two nodes, not four
            if pred.ndim == 2 and self._axis in (-1, 1) and self._batch_axis == 0 and \
                    self._weight is None and sample_weight is None and \
                    getattr(label, "shape", None) == pred.shape[:1]:
                # (batch, classes): the mean over the one kept axis is the value itself;
                # recording, the op's hidden outputs (the softmax's exp and sums) stay on the
                # tape for its gradient instead of being computed again there
                if state.recording:
                    return nd._log_softmax_pick(pred, label, axis=self._axis, scale=-1.0,
                                                hidden=True)[0]
                return nd._log_softmax_pick(pred, label, axis=self._axis, scale=-1.0)
            loss = nd._log_softmax_pick(pred, label, axis=self._axis, keepdims=True, scale=-1.0)
        else:
            if not self._from_logits:
                pred = nd.log_softmax(pred, axis=self._axis)
            if self._sparse_label:
                loss = -nd.pick(pred, label, axis=self._axis, keepdims=True)
            else:
                label = _reshape_like(nd, label, pred)
                loss = -nd.sum(pred * label, axis=self._axis, keepdims=True)
        loss = _apply_weighting(nd, loss, self._weight, sample_weight)
        return _batch_mean(nd, loss, self._batch_axis)


SoftmaxCELoss = SoftmaxCrossEntropyLoss


class LogisticLoss(Loss):
    """``log(1 + exp(-pred * label))`` for labels -1/1 (``'signed'``) or 0/1 (``'binary'``).

    Output ``(batch_size,)``.

    Example::

        >>> LogisticLoss()(nd.array([[0.]]), nd.array([[1.]]))   # log(2)
        [0.6931472]
        <NDArray 1 @cpu(0)>
    """

    def __init__(self, weight=None, batch_axis=0, label_format="signed", **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._label_format = label_format
        if label_format not in ("signed", "binary"):
            raise ValueError(f"label_format can only be signed or binary, recieved "
                             f"{label_format}.")

    def forward(self, pred, label, sample_weight=None):
        label = _reshape_like(nd, label, pred)
        if self._label_format == "signed":
            label = (label + 1.0) / 2.0   # -1/1 -> 0/1
        loss = nd.relu(pred) - pred * label + _log1p_exp_neg_abs(pred)
        loss = _apply_weighting(nd, loss, self._weight, sample_weight)
        return _batch_mean(nd, loss, self._batch_axis)


# ---- distributions ---------------------------------------------------------------------------
class KLDivLoss(Loss):
    """``label * (log(label) - pred)`` summed over the non-batch axes (MXNet 1.9 sums).

    ``pred`` holds log-probabilities (``from_logits=True``, default) or unnormalised scores
    turned into them by ``log_softmax`` along ``axis``. Output ``(batch_size,)``.

    Example::

        >>> KLDivLoss()(nd.log(nd.array([[0.5, 0.5]])), nd.array([[0.5, 0.5]]))
        [0.]
        <NDArray 1 @cpu(0)>
    """

    def __init__(self, from_logits=True, axis=-1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._from_logits = from_logits
        self._axis = axis

    def forward(self, pred, label, sample_weight=None):
        if not self._from_logits:
            pred = nd.log_softmax(pred, axis=self._axis)
        loss = label * (nd.log(label + 1e-12) - pred)
        loss = _apply_weighting(nd, loss, self._weight, sample_weight)
        return _batch_sum(nd, loss, self._batch_axis)


class PoissonNLLLoss(Loss):
    """Poisson negative log-likelihood, averaged over *all* elements: shape ``(1,)``.

    ``from_logits=True``: ``exp(pred) - target * pred``; else
    ``pred - target * log(pred + epsilon)``. ``compute_full`` adds Stirling's approximation of
    ``log(target!)`` for targets above 1 (without MXNet's NaN for targets of 0).

    Example::

        >>> PoissonNLLLoss()(nd.array([[0., 0.]]), nd.array([[1., 2.]]))
        [1.]
        <NDArray 1 @cpu(0)>
    """

    def __init__(self, weight=None, from_logits=True, batch_axis=0, compute_full=False,
                 **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._from_logits = from_logits
        self._compute_full = compute_full

    def forward(self, pred, target, sample_weight=None, epsilon=1e-08):
        target = _reshape_like(nd, target, pred)
        if self._from_logits:
            loss = nd.exp(pred) - target * pred
        else:
            loss = pred - target * nd.log(pred + epsilon)
        if self._compute_full:
            # Evaluated at max(target, 1) so targets <= 1 (masked out) give no log(0) NaN.
            t = nd.maximum(target, 1.0)
            stirling = t * nd.log(t) - t + 0.5 * nd.log(2 * math.pi * t)
            loss = loss + stirling * (target > 1)
        loss = _apply_weighting(nd, loss, self._weight, sample_weight)
        return nd.mean(loss)


class CosineEmbeddingLoss(Loss):
    """``1 - cos(input1, input2)`` for label 1, ``max(0, cos - margin)`` for label -1.

    ``forward(input1, input2, label, sample_weight=None)``; the cosine is taken along the last
    axis. Output shape ``(batch_size, 1)`` (as MXNet 1.9).

    Example::

        >>> CosineEmbeddingLoss()(nd.array([[1., 0.]]), nd.array([[1., 0.]]), nd.array([1]))
        [[0.]]
        <NDArray 1x1 @cpu(0)>
    """

    def __init__(self, weight=None, batch_axis=0, margin=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def forward(self, input1, input2, label, sample_weight=None):
        input1 = _reshape_like(nd, input1, input2)
        label = nd.reshape(label, shape=(-1, 1))
        cos_sim = self._cosine_similarity(input1, input2)
        pos = (1 - cos_sim) * (label == 1)
        neg = nd.relu((label == -1) * (cos_sim - self._margin))
        return _apply_weighting(nd, pos + neg, self._weight, sample_weight)

    @staticmethod
    def _cosine_similarity(x, y, axis=-1):
        x_norm = nd.reshape(nd.norm(x, axis=axis), shape=(-1, 1))
        y_norm = nd.reshape(nd.norm(y, axis=axis), shape=(-1, 1))
        x_dot_y = nd.reshape(nd.sum(x * y, axis=axis), shape=(-1, 1))
        return x_dot_y / nd.maximum(x_norm * y_norm, 1e-12)


# ---- sequences and metric learning ------------------------------------------------------------
class CTCLoss(Loss):
    """Connectionist Temporal Classification loss of unnormalised scores (before softmax).

    ``pred`` is ``(N, T, C)`` (``layout='NTC'``) or ``(T, N, C)``; class ``C - 1`` is the blank.
    ``label`` is ``(N, L)`` (``label_layout='NT'``) or ``(L, N)``, zero-based, padded with -1.
    ``forward(pred, label, pred_lengths=None, label_lengths=None, sample_weight=None)``; the
    optional lengths have shape ``(N,)``. Output ``(batch_size,)``.

    Example::

        >>> CTCLoss()(nd.zeros((2, 3, 4)), nd.array([[0, 1], [2, -1]])).shape
        (2,)
    """

    def __init__(self, layout="NTC", label_layout="NT", weight=None, **kwargs):
        if layout not in ("NTC", "TNC"):
            raise AssertionError(f"Only 'NTC' and 'TNC' layouts for pred are supported. "
                                 f"Got: {layout}")
        if label_layout not in ("NT", "TN"):
            raise AssertionError(f"Only 'NT' and 'TN' layouts for label are supported. "
                                 f"Got: {label_layout}")
        self._layout = layout
        self._label_layout = label_layout
        super().__init__(weight, label_layout.find("N"), **kwargs)

    def forward(self, pred, label, pred_lengths=None, label_lengths=None, sample_weight=None):
        if self._layout == "NTC":
            pred = nd.swapaxes(pred, 0, 1)
        if self._batch_axis == 1:
            label = nd.swapaxes(label, 0, 1)
        loss = nd.ctc_loss(pred, label, pred_lengths, label_lengths,
                           use_data_lengths=pred_lengths is not None,
                           use_label_lengths=label_lengths is not None, blank_label="last")
        return _apply_weighting(nd, loss, self._weight, sample_weight)


class SDMLLoss(Loss):
    """Smoothed Deep Metric Learning loss between aligned batches ``x1``, ``x2`` of ``(N, D)``.

    Row ``i`` of ``x1`` should match row ``i`` of ``x2``; the other rows are negatives. The KL
    divergence between ``softmax(-squared distances)`` and the smoothed identity (mass
    ``smoothing_parameter`` spread over the other rows). Output ``(batch_size,)``.

    Example::

        >>> SDMLLoss()(nd.ones((3, 2)), nd.ones((3, 2))).shape
        (3,)
    """

    def __init__(self, smoothing_parameter=0.3, weight=1., batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self.kl_loss = KLDivLoss(from_logits=True)
        self.smoothing_parameter = smoothing_parameter

    def _compute_labels(self, batch_size, like):
        gold = nd.eye(batch_size, dtype=like.dtype, ctx=like.context)
        s = self.smoothing_parameter
        return gold * (1 - s) + (1 - gold) * s / (batch_size - 1)

    @staticmethod
    def _compute_distances(x1, x2):
        diff = nd.expand_dims(x1, axis=1) - nd.expand_dims(x2, axis=0)   # (N, N, D)
        return nd.sum(nd.square(diff), axis=2)

    def forward(self, x1, x2):
        labels = self._compute_labels(x1.shape[0], x1)
        log_probabilities = nd.log_softmax(-self._compute_distances(x1, x2), axis=1)
        return self.kl_loss(log_probabilities, labels)
