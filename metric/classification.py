"""Classification metrics for ``kiln.metric``: Accuracy, TopKAccuracy, F1, MCC, CrossEntropy,
NegativeLogLikelihood, Perplexity, PCC (MXNet 1.9 semantics)."""
import math

import numpy

from .base import EvalMetric, _asnumpy, alias, check_label_shapes, register


@register
@alias("acc")
class Accuracy(EvalMetric):
    """Fraction of correct predictions. A prediction shaped like its label holds class
    indices; otherwise the class is its argmax along ``axis``. Both are truncated to int32.

    Example::

        >>> m = Accuracy()
        >>> m.update([kl.nd.array([0, 1])], [kl.nd.array([[0.9, 0.1], [0.8, 0.2]])])
        >>> m.get()
        ('accuracy', 0.5)
    """

    def __init__(self, axis=1, name="accuracy", output_names=None, label_names=None):
        super().__init__(name, axis=axis, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.axis = axis

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred_label in zip(labels, preds):
            pred_label = _asnumpy(pred_label)
            label = _asnumpy(label)
            if pred_label.shape != label.shape:
                pred_label = numpy.argmax(pred_label, axis=self.axis)
            pred_label = pred_label.astype("int32").ravel()
            label = label.astype("int32").ravel()
            check_label_shapes(label, pred_label)
            self._add((pred_label == label).sum(), len(pred_label))


@register
@alias("top_k_accuracy", "top_k_acc")
class TopKAccuracy(EvalMetric):
    """Fraction of samples whose label is among the ``top_k`` highest scores (``top_k > 1``);
    the name becomes ``top_k_accuracy_<k>``."""

    def __init__(self, top_k=1, name="top_k_accuracy", output_names=None, label_names=None):
        super().__init__(name, top_k=top_k, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.top_k = top_k
        assert self.top_k > 1, "Please use Accuracy if top_k is no more than 1"
        self.name += f"_{self.top_k}"

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred_label in zip(labels, preds):
            pred_label = _asnumpy(pred_label)
            assert len(pred_label.shape) <= 2, "Predictions should be no more than 2 dims"
            # argpartition, as MXNet: the last top_k columns are the top-k classes.
            pred_label = numpy.argpartition(pred_label.astype("float32"), -self.top_k)
            label = _asnumpy(label).astype("int32")
            check_label_shapes(label, pred_label)
            num_samples = pred_label.shape[0]
            if pred_label.ndim == 1:
                # MXNet adds 1-D matches to the local sum only.
                self.sum_metric += (pred_label.ravel() == label.ravel()).sum()
            else:
                num_classes = pred_label.shape[1]
                for j in range(min(num_classes, self.top_k)):
                    correct = (pred_label[:, num_classes - 1 - j].ravel() == label.ravel()).sum()
                    self.sum_metric += correct
                    self.global_sum_metric += correct
            self.num_inst += num_samples
            self.global_num_inst += num_samples


class _BinaryClassificationMetrics:
    """True/false positive/negative counts (local and global) over binary predictions."""

    def __init__(self):
        self.reset_stats()

    def update_binary_stats(self, label, pred):
        """Count one batch: ``pred`` (N, 2) scores, ``label`` (N,) in {0, 1}."""
        pred = _asnumpy(pred)
        label = _asnumpy(label).astype("int32")
        pred_label = numpy.argmax(pred, axis=1)
        check_label_shapes(label, pred)
        if len(numpy.unique(label)) > 2:
            raise ValueError(f"{self.__class__.__name__} currently only supports binary "
                             f"classification.")
        pred_true = (pred_label == 1).astype(numpy.int64)
        label_true = (label == 1).astype(numpy.int64)
        pred_false, label_false = 1 - pred_true, 1 - label_true
        counts = {"true_positives": (pred_true * label_true).sum(),
                  "false_positives": (pred_true * label_false).sum(),
                  "false_negatives": (pred_false * label_true).sum(),
                  "true_negatives": (pred_false * label_false).sum()}
        for key, value in counts.items():
            setattr(self, key, getattr(self, key) + value)
            setattr(self, "global_" + key, getattr(self, "global_" + key) + value)

    @staticmethod
    def _ratio(a, b):
        return float(a) / (a + b) if a + b > 0 else 0.0

    @staticmethod
    def _f(p, r):
        return 2 * p * r / (p + r) if p + r > 0 else 0.0

    @property
    def precision(self):
        return self._ratio(self.true_positives, self.false_positives)

    @property
    def global_precision(self):
        return self._ratio(self.global_true_positives, self.global_false_positives)

    @property
    def recall(self):
        return self._ratio(self.true_positives, self.false_negatives)

    @property
    def global_recall(self):
        return self._ratio(self.global_true_positives, self.global_false_negatives)

    @property
    def fscore(self):
        return self._f(self.precision, self.recall)

    @property
    def global_fscore(self):
        return self._f(self.global_precision, self.global_recall)

    @property
    def total_examples(self):
        return (self.false_negatives + self.false_positives + self.true_negatives
                + self.true_positives)

    @property
    def global_total_examples(self):
        return (self.global_false_negatives + self.global_false_positives
                + self.global_true_negatives + self.global_true_positives)

    def matthewscc(self, use_global=False):
        """Matthews correlation coefficient (0 without examples; zero factors skipped)."""
        pre = "global_" if use_global else ""
        if not (self.global_total_examples if use_global else self.total_examples):
            return 0.0
        tp, fp, fn, tn = (float(getattr(self, pre + k)) for k in (
            "true_positives", "false_positives", "false_negatives", "true_negatives"))
        denom = 1.0
        for t in (tp + fp, tp + fn, tn + fp, tn + fn):
            if t != 0.0:
                denom *= t
        return (tp * tn - fp * fn) / math.sqrt(denom)

    def local_reset_stats(self):
        self.false_positives = self.false_negatives = 0
        self.true_positives = self.true_negatives = 0

    def reset_stats(self):
        self.local_reset_stats()
        self.global_false_positives = self.global_false_negatives = 0
        self.global_true_positives = self.global_true_negatives = 0


class _BinaryMetric(EvalMetric):
    """Shared update for F1/MCC: ``_score(use_global)`` gives the statistic of the counts."""

    def __init__(self, name, output_names, label_names, average):
        self.average = average
        self.metrics = _BinaryClassificationMetrics()
        super().__init__(name=name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            self.metrics.update_binary_stats(label, pred)
        if self.average == "macro":
            # One score per update() call; MXNet then clears local *and* global counts.
            self.sum_metric += self._score(False)
            self.global_sum_metric += self._score(True)
            self.num_inst += 1
            self.global_num_inst += 1
            self.metrics.reset_stats()
        else:
            self.sum_metric = self._score(False) * self.metrics.total_examples
            self.global_sum_metric = self._score(True) * self.metrics.global_total_examples
            self.num_inst = self.metrics.total_examples
            self.global_num_inst = self.metrics.global_total_examples

    def reset(self):
        super().reset()
        self.metrics.reset_stats()

    def reset_local(self):
        super().reset_local()
        self.metrics.local_reset_stats()


@register
class F1(_BinaryMetric):
    """Binary F1 score of argmax predictions (positive class 1). ``average='macro'``: mean of
    per-update F1 scores; ``'micro'``: F1 of all counts together.

    Example::

        >>> m = F1()
        >>> m.update([kl.nd.array([0, 1, 1])], [kl.nd.array([[0.3, 0.7], [0, 1], [0.4, 0.6]])])
        >>> m.get()
        ('f1', 0.8)
    """

    def __init__(self, name="f1", output_names=None, label_names=None, average="macro"):
        super().__init__(name, output_names, label_names, average)

    def _score(self, use_global):
        return self.metrics.global_fscore if use_global else self.metrics.fscore


@register
class MCC(_BinaryMetric):
    """Binary Matthews correlation coefficient, averaged like ``F1``."""

    def __init__(self, name="mcc", output_names=None, label_names=None, average="macro"):
        super().__init__(name, output_names, label_names, average)
        self._average = average

    def _score(self, use_global):
        return self.metrics.matthewscc(use_global)


def _pick_prob(label, pred):
    label = label.ravel()
    num_examples = pred.shape[0]
    assert label.shape[0] == num_examples, (label.shape[0], num_examples)
    return pred[numpy.arange(num_examples, dtype=numpy.int64), numpy.int64(label)]


@register
@alias("ce")
class CrossEntropy(EvalMetric):
    """Mean of ``-log(p[label] + eps)`` over samples; ``pred`` holds probabilities (N, C)."""

    def __init__(self, eps=1e-12, name="cross-entropy", output_names=None, label_names=None):
        super().__init__(name, eps=eps, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.eps = eps

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            prob = _pick_prob(_asnumpy(label), _asnumpy(pred))
            self._add((-numpy.log(prob + self.eps)).sum(), prob.shape[0])


@register
@alias("nll_loss")
class NegativeLogLikelihood(CrossEntropy):
    """Same numbers as ``CrossEntropy``, named 'nll-loss'."""

    def __init__(self, eps=1e-12, name="nll-loss", output_names=None, label_names=None):
        super().__init__(eps=eps, name=name, output_names=output_names, label_names=label_names)


@register
class Perplexity(EvalMetric):
    """``exp`` of the mean negative log-probability of the labels; labels equal to
    ``ignore_label`` are skipped. Probabilities are picked along ``axis`` (MXNet's clipped
    ``pick``) and floored at 1e-10.

    Example::

        >>> m = Perplexity(ignore_label=None)
        >>> m.update([kl.nd.array([0, 1])], [kl.nd.array([[0.5, 0.5], [0.25, 0.75]])])
        >>> round(m.get()[1], 6)
        1.632993
    """

    def __init__(self, ignore_label, axis=-1, name="perplexity", output_names=None,
                 label_names=None):
        super().__init__(name, ignore_label=ignore_label, output_names=output_names,
                         label_names=label_names, has_global_stats=True)
        self.ignore_label = ignore_label
        self.axis = axis

    def update(self, labels, preds):
        assert len(labels) == len(preds)
        loss, num = 0.0, 0
        for label, pred in zip(labels, preds):
            label, pred = _asnumpy(label), _asnumpy(pred)
            assert label.size == pred.size / pred.shape[-1], \
                f"shape mismatch: {label.shape} vs. {pred.shape}"
            label = label.reshape((label.size,))
            scores = numpy.moveaxis(pred, self.axis, -1).reshape(label.size, -1)
            idx = numpy.clip(label.astype("int32"), 0, scores.shape[1] - 1)
            picked = scores[numpy.arange(label.size), idx]
            if self.ignore_label is not None:
                ignore = (label == self.ignore_label).astype(picked.dtype)
                num -= ignore.sum()
                picked = picked * (1 - ignore) + ignore
            loss -= float(numpy.log(numpy.maximum(picked.dtype.type(1e-10), picked)).sum())
            num += picked.size
        self._add(loss, num)

    def get(self):
        if self.num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.sum_metric / self.num_inst))

    def get_global(self):
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.global_sum_metric / self.global_num_inst))


@register
class PCC(EvalMetric):
    """Multiclass Matthews correlation (the discrete Pearson correlation of one-hot predictions
    and labels), computed from a confusion matrix that grows with the largest class seen.

    For two classes it equals ``MCC(average='micro')``; unlike F1/MCC the value does not depend
    on how the samples are split into batches.

    Example::

        >>> m = PCC()
        >>> m.update([kl.nd.array([0, 1, 1])], [kl.nd.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])])
        >>> round(m.get()[1], 4)
        0.5
    """

    def __init__(self, name="pcc", output_names=None, label_names=None, has_global_stats=True):
        self.k = 2
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=has_global_stats)

    def _grow(self, k):
        pad = k - self.k
        self.lcm = numpy.pad(self.lcm, ((0, pad), (0, pad)))
        self.gcm = numpy.pad(self.gcm, ((0, pad), (0, pad)))
        self.k = k

    @staticmethod
    def _mcc(cm):
        # rows: predicted class, columns: true class
        n = cm.sum()
        pred_tot, true_tot = cm.sum(axis=1), cm.sum(axis=0)
        var_p = numpy.sum(pred_tot * (n - pred_tot))
        var_t = numpy.sum(true_tot * (n - true_tot))
        if var_p == 0 or var_t == 0:
            return float("nan")
        cov = numpy.sum(cm.diagonal() * n - pred_tot * true_tot)
        return cov / math.sqrt(var_p * var_t)

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            label = _asnumpy(label).astype(numpy.int64).ravel()
            pred = _asnumpy(pred)
            pred = (pred.argmax(axis=1) if pred.shape != label.shape else pred).astype(
                numpy.int64).ravel()
            k = int(max(pred.max(initial=0), label.max(initial=0))) + 1
            if k > self.k:
                self._grow(k)
            batch = numpy.zeros((self.k, self.k))
            numpy.add.at(batch, (pred, label), 1)
            self.lcm += batch
            self.gcm += batch
        self.num_inst += 1
        self.global_num_inst += 1

    @property
    def sum_metric(self):
        return self._mcc(self.lcm) * self.num_inst

    @sum_metric.setter
    def sum_metric(self, value):  # EvalMetric.reset assigns it; the matrices hold the state
        pass

    @property
    def global_sum_metric(self):
        return self._mcc(self.gcm) * self.global_num_inst

    @global_sum_metric.setter
    def global_sum_metric(self, value):
        pass

    def get(self):
        # the correlation itself (not sum/num, which may round differently)
        return (self.name, self._mcc(self.lcm) if self.num_inst else float("nan"))

    def get_global(self):
        return (self.name, self._mcc(self.gcm) if self.global_num_inst else float("nan"))

    def reset(self):
        self.global_num_inst = 0
        self.gcm = numpy.zeros((self.k, self.k))
        self.reset_local()

    def reset_local(self):
        self.num_inst = 0
        self.lcm = numpy.zeros((self.k, self.k))
