"""kiln.metric against hand-computed values (MXNet 1.9 conventions)."""
import math

import kiln as kl
import numpy as np
import pytest
from kiln import metric

A = kl.nd.array


def test_accuracy_probabilities_and_indices():
    m = metric.Accuracy()
    m.update([A([0, 1, 1])], [A([[0.3, 0.7], [0, 1.0], [0.4, 0.6]])])
    assert m.get() == ("accuracy", pytest.approx(2 / 3))
    m.update(A([1.0, 0.0]), A([1.9, 0.2]))  # same shape: truncated class indices
    assert m.num_inst == 5 and m.sum_metric == 4
    m2 = metric.Accuracy(axis=0)
    m2.update([A([1, 0])], [A([[0.1, 0.9], [0.8, 0.2]])])
    assert m2.get()[1] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="does not match"):
        metric.Accuracy().update([A([0]), A([1])], [A([[1.0, 0]])])


def test_local_and_global_stats():
    m = metric.create("acc")
    m.update([A([0, 1])], [A([0, 0])])
    m.reset_local()
    assert math.isnan(m.get()[1])
    m.update([A([1])], [A([1])])
    assert m.get()[1] == 1.0 and m.get_global()[1] == pytest.approx(2 / 3)
    assert m.get_name_value() == [("accuracy", 1.0)]
    assert m.get_global_name_value()[0][1] == pytest.approx(2 / 3)
    m.reset()
    assert math.isnan(m.get_global()[1])


def test_top_k_accuracy():
    m = metric.TopKAccuracy(top_k=2)
    assert m.name == "top_k_accuracy_2"
    m.update([A([0, 1, 2])], [A([[0.1, 0.5, 0.4], [0.3, 0.2, 0.5], [0.2, 0.3, 0.5]])])
    assert m.get()[1] == pytest.approx(1 / 3)
    with pytest.raises(AssertionError):
        metric.TopKAccuracy(top_k=1)


def test_f1_macro_micro_and_mcc():
    labels = [A([0, 1, 1])]
    preds = [A([[0.3, 0.7], [0, 1.0], [0.4, 0.6]])]
    f1 = metric.F1()
    f1.update(labels, preds)
    assert f1.get() == ("f1", pytest.approx(0.8))  # tp=2 fp=1 fn=0
    f1.update([A([1, 0])], [A([[0.9, 0.1], [0.9, 0.1]])])  # tp=0 -> F1 0
    assert f1.get()[1] == pytest.approx(0.4)  # mean of per-update scores
    micro = metric.F1(average="micro")
    micro.update(labels, preds)
    micro.update([A([1, 0])], [A([[0.9, 0.1], [0.9, 0.1]])])
    p, r = 2 / 3, 2 / 3  # tp=2 fp=1 fn=1 tn=1
    assert micro.get()[1] == pytest.approx(2 * p * r / (p + r))
    with pytest.raises(ValueError, match="binary"):
        metric.F1().update([A([0, 1, 2])], [A(np.ones((3, 3)))])
    mcc = metric.MCC()
    mcc.update([A([1, 0, 1, 0])], [A([[0, 1], [1, 0], [1, 0], [1, 0]])])
    tp, fp, fn, tn = 1, 0, 1, 2
    want = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert mcc.get() == ("mcc", pytest.approx(want))


def test_regression_metrics_average_per_batch():
    mae, mse, rmse = metric.MAE(), metric.MSE(), metric.RMSE()
    for m in (mae, mse, rmse):
        m.update([A([2.5, 0.0, 2, 8])], [A([3, -0.5, 2, 7])])
        m.update([A([1.0])], [A([4.0])])
    assert mae.get() == ("mae", pytest.approx((0.5 + 3.0) / 2))
    assert mse.get() == ("mse", pytest.approx((0.375 + 9.0) / 2))
    assert rmse.get() == ("rmse", pytest.approx((math.sqrt(0.375) + 3.0) / 2))
    # 1-D label against (N, 1) prediction: no broadcasting blow-up
    m = metric.MAE()
    m.update([A([1.0, 2.0])], [A([[1.0], [4.0]])])
    assert m.get()[1] == pytest.approx(1.0)


def test_cross_entropy_nll_perplexity():
    pred = A([[0.5, 0.5], [0.25, 0.75]])
    label = A([0, 1])
    want = -(math.log(0.5 + 1e-12) + math.log(0.75 + 1e-12)) / 2
    ce = metric.create("ce")
    ce.update([label], [pred])
    assert ce.get() == ("cross-entropy", pytest.approx(want))
    nll = metric.create("nll_loss")
    nll.update([label], [pred])
    assert nll.get() == ("nll-loss", pytest.approx(want))
    pp = metric.Perplexity(ignore_label=None)
    pp.update([label], [pred])
    assert pp.get() == ("perplexity", pytest.approx(math.exp(want), rel=1e-6))
    ig = metric.Perplexity(ignore_label=1)
    ig.update([label], [pred])
    assert ig.get()[1] == pytest.approx(2.0, rel=1e-6)  # only the 0.5 counts


def test_pearson_macro_and_micro():
    pr = metric.create("pearsonr")
    pr.update([A([[1, 0], [0, 1], [0, 1]])], [A([[0.3, 0.7], [0, 1.0], [0.4, 0.6]])])
    assert pr.get()[1] == pytest.approx(0.42163704544016178, rel=1e-6)
    x = np.array([1.0, 2.0, 4.0, 3.0, 7.0])
    y = np.array([2.0, 1.0, 5.0, 3.0, 6.0])
    micro = metric.PearsonCorrelation(average="micro")
    micro.update([A(y)], [A(x)])
    assert micro.get()[1] == pytest.approx(np.corrcoef(x, y)[0, 1], rel=1e-6)


def test_loss_custom_np_composite_and_registry():
    loss = metric.create("loss")
    loss.update(None, [A([1.0, 2.0]), A([[3.0, 6.0]])])
    assert loss.get() == ("loss", pytest.approx(3.0))

    def l1(label, pred):
        return np.abs(label - pred).sum(), label.size
    cm = metric.create(l1)
    assert isinstance(cm, metric.CustomMetric) and cm.name == "l1"
    cm.update([A([1.0, 2.0])], [A([1.0, 4.0])])
    assert cm.get()[1] == pytest.approx(1.0)
    npm = metric.np(lambda lab, p: float((lab == p).mean()))
    assert npm.name == "custom(<lambda>)"
    npm.update([A([1, 2])], [A([1, 3])])
    assert npm.get()[1] == pytest.approx(0.5)

    comp = metric.create(["acc", metric.MSE()])
    comp.update([A([0, 1])], [A([[0.9, 0.1], [0.2, 0.8]])])
    names, values = comp.get()
    assert names == ["accuracy", "mse"] and values[0] == 1.0
    assert isinstance(comp.get_metric(0), metric.Accuracy)
    for name, cls in [("acc", metric.Accuracy), ("f1", metric.F1), ("mae", metric.MAE),
                      ("mse", metric.MSE), ("rmse", metric.RMSE), ("ce", metric.CrossEntropy),
                      ("nll_loss", metric.NegativeLogLikelihood), ("perplexity", None),
                      ("pearsonr", metric.PearsonCorrelation), ("loss", metric.Loss),
                      ("Accuracy", metric.Accuracy), ("mcc", metric.MCC)]:
        if cls is not None:
            assert type(metric.create(name)) is cls
    assert type(metric.create("top_k_accuracy", top_k=3)) is metric.TopKAccuracy
    assert isinstance(metric.create("perplexity", ignore_label=None), metric.Perplexity)
    acc = metric.Accuracy(axis=0, name="a0")
    again = metric.create(**acc.get_config())
    assert again.axis == 0 and again.name == "a0"
    with pytest.raises(ValueError, match="not registered"):
        metric.create("no-such-metric")
