"""Online evaluation metrics (``kiln.metric``, MXNet 1.9's ``mx.metric``).

Every metric keeps a local and a global running sum: ``update(labels, preds)`` adds a batch,
``get()`` returns ``(name, value)``, ``reset_local()`` clears only the local sums (``get_global``
still sees everything since the last ``reset()``). Labels and predictions are NDArrays (numpy
arrays are accepted too), one array or a list of them. Values follow MXNet 1.9 exactly,
including its conventions: MAE/MSE/RMSE average per *batch* (each ``update`` counts once), F1
and MCC with ``average='macro'`` average per-batch scores, ``Accuracy`` takes the argmax along
``axis`` when prediction and label shapes differ.

Example::

    >>> acc = create('acc')
    >>> acc.update([kl.nd.array([0, 1, 1])], [kl.nd.array([[0.3, 0.7], [0, 1.], [0.4, 0.6]])])
    >>> acc.get()
    ('accuracy', 0.6666666666666666)
"""
# ruff: noqa: F401
from ..base import numeric_types, string_types  # noqa: F401  (MXNet's mx.metric exports)
from .base import (
    CompositeEvalMetric,
    EvalMetric,
    alias,
    check_label_shapes,
    create,
    register,
)
from .classification import (
    F1,
    MCC,
    PCC,
    Accuracy,
    CrossEntropy,
    NegativeLogLikelihood,
    Perplexity,
    TopKAccuracy,
)
from .regression import (
    MAE,
    MSE,
    RMSE,
    Caffe,
    CustomMetric,
    Loss,
    PearsonCorrelation,
    Torch,
    np,
)

__all__ = ["EvalMetric", "CompositeEvalMetric", "Accuracy", "TopKAccuracy", "F1", "MCC", "PCC",
           "MAE", "MSE", "RMSE", "CrossEntropy", "NegativeLogLikelihood", "Perplexity",
           "PearsonCorrelation", "Loss", "Torch", "Caffe", "CustomMetric", "np", "create",
           "register", "alias", "check_label_shapes"]
