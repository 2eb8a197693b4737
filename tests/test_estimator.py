"""gluon.contrib.estimator (gluon/contrib/estimator/): fit/evaluate against a hand-written
training loop, the default handlers, validation, early stopping, logging and the progress bar,
and the argument checks. Checkpoints and resuming: test_estimator_checkpoint.py."""
import io
import logging

import kiln
import numpy as np
import pytest
from kiln import autograd, gluon, nd
from kiln.gluon.contrib.estimator import (
    BatchEnd,
    BatchProcessor,
    CheckpointHandler,
    EarlyStoppingHandler,
    EpochEnd,
    Estimator,
    LoggingHandler,
    ValidationHandler,
)

RNG = np.random.default_rng


def make_data(n=24, seed=0, batch_size=6, shuffle=False):
    rng = RNG(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.float32)
    return gluon.data.DataLoader(gluon.data.ArrayDataset(x, y), batch_size=batch_size,
                                 shuffle=shuffle)


def make_net(seed=0, dropout=0.0, ctx=None):
    kiln.random.seed(seed)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(5, activation="tanh"))
    if dropout:
        net.add(gluon.nn.Dropout(dropout))
    net.add(gluon.nn.Dense(2))
    net.initialize(kiln.init.Xavier(), ctx=ctx)
    net(nd.zeros((1, 4)))
    return net


def make_estimator(net, lr=0.1, **kwargs):
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr, "momentum": 0.9})
    est = Estimator(net, gluon.loss.SoftmaxCrossEntropyLoss(), trainer=trainer, **kwargs)
    est.logger.handlers[:] = [logging.NullHandler()]     # keep the test output quiet
    return est


def params(net):
    return {k: p.data().asnumpy().copy() for k, p in net._collect_params_with_prefix().items()}


def manual_fit(net, data, steps):
    """The loop the Estimator stands for: record, backward, trainer.step(batch size)."""
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    done = 0
    while done < steps:
        for x, y in data:
            with autograd.record():
                loss = loss_fn(net(x), y)
            loss.backward()
            trainer.step(x.shape[0])
            done += 1
            if done == steps:
                break
    return params(net)


@pytest.mark.parametrize("kind", ["epochs", "batches"])
def test_fit_equals_a_manual_loop(kind):
    data = make_data()
    want = manual_fit(make_net(), data, 12 if kind == "epochs" else 7)
    est = make_estimator(make_net())
    est.fit(data, **({"epochs": 3} if kind == "epochs" else {"batches": 7}))
    got = params(est.net)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-6, atol=1e-7, err_msg=k)


def test_several_devices_equal_one():
    # each batch is split over two devices; their gradients add up to the one-device gradient
    devices = [kiln.cpu(0), kiln.cpu(1)]
    data = make_data()
    want = manual_fit(make_net(), data, 8)
    est = make_estimator(make_net(ctx=devices), context=devices)
    est.fit(data, epochs=2)
    for k, p in est.net._collect_params_with_prefix().items():
        for device in devices:
            np.testing.assert_allclose(p.data(device).asnumpy(), want[k], rtol=1e-5, atol=1e-6)


def test_default_metrics_and_validation():
    train, val = make_data(), make_data(n=12, seed=1)
    est = make_estimator(make_net())
    assert [m.name for m in est.train_metrics] == ["training accuracy",
                                                   "training softmaxcrossentropyloss"]
    assert [m.name for m in est.val_metrics] == ["validation accuracy",
                                                 "validation softmaxcrossentropyloss"]
    est.fit(train, val, epochs=2)
    # the validation metrics hold the final net's accuracy and mean loss on val (numpy)
    xs = np.concatenate([x.asnumpy() for x, _ in val])
    ys = np.concatenate([y.asnumpy() for _, y in val])
    logits = est.net(nd.array(xs)).asnumpy()
    log_p = logits - logits.max(1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
    acc = est.val_metrics[0].get()[1]
    loss = est.val_metrics[1].get()[1]
    assert acc == pytest.approx(np.mean(logits.argmax(1) == ys))
    assert loss == pytest.approx(-np.mean(log_p[np.arange(len(ys)), ys.astype(int)]), rel=1e-5)
    assert est.evaluation_loss is est.val_loss is est.loss


class Count(BatchEnd, EpochEnd):
    def __init__(self):
        self.batches = self.epochs = 0

    def batch_end(self, estimator, *args, **kwargs):
        self.batches += 1

    def epoch_end(self, estimator, *args, **kwargs):
        self.epochs += 1


def test_validation_handler_periods():
    calls = []
    est = make_estimator(make_net())
    handler = ValidationHandler(make_data(n=6), eval_fn=lambda **kw: calls.append(kw),
                                epoch_period=2, batch_period=3)
    est.fit(make_data(), epochs=4, event_handlers=[handler])
    # 16 batches -> 5 batch-period runs; 4 epochs -> 2 epoch-period runs
    assert len(calls) == 16 // 3 + 4 // 2
    assert all(c["batch_axis"] == 0 for c in calls)


@pytest.mark.parametrize("patience", [0, 2])
def test_early_stopping_stops_when_the_monitor_stalls(patience):
    est = make_estimator(make_net(), lr=0.0)       # lr 0: the loss never improves
    count = Count()
    stop = EarlyStoppingHandler(est.train_metrics[1], patience=patience, mode="min")
    est.fit(make_data(), epochs=10, event_handlers=[stop, count])
    # epoch 0 sets the best; each later epoch waits one more, stopping at wait == patience
    assert count.epochs == max(patience, 1) + 1
    assert stop.stop_training


def test_auto_mode_picks_the_direction_by_name():
    est = make_estimator(make_net())
    with pytest.warns(UserWarning, match="greater is better"):
        acc = EarlyStoppingHandler(est.train_metrics[0])
    with pytest.warns(UserWarning, match="less is better"):
        loss = EarlyStoppingHandler(est.train_metrics[1])
    assert acc.monitor_op is np.greater and loss.monitor_op is np.less


def test_custom_batch_processor_is_used():
    seen = []

    class Recording(BatchProcessor):
        def fit_batch(self, estimator, batch, batch_axis=0):
            seen.append(batch[0].shape)
            return super().fit_batch(estimator, batch, batch_axis)

    est = make_estimator(make_net(), batch_processor=Recording())
    est.fit(make_data(), batches=3)
    assert seen == [(6, 4)] * 3


def test_logging_lines_and_progress_bar():
    est = make_estimator(make_net())
    log = io.StringIO()
    est.logger.handlers[:] = [logging.StreamHandler(log)]
    bar = io.StringIO()
    handler = LoggingHandler(log_interval=2, metrics=est.train_metrics, progress_bar=True,
                             stream=bar)
    est.fit(make_data(), epochs=2, event_handlers=[handler])
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("Training begin: using optimizer SGD with current learning "
                               "rate 0.1000")
    assert lines[1] == "Train for 2 epochs."
    batch_lines = [ln for ln in lines if "][Batch " in ln]
    assert [ln.split("]")[1] for ln in batch_lines] == ["[Batch 0", "[Batch 2"] * 2
    assert "[Samples 18]" in batch_lines[1] and "training accuracy: " in batch_lines[1]
    assert lines[-1].startswith("Train finished using total")
    # not a terminal: one line per batch here (4 batches, each a new tenth), ends at 4/4
    bar_lines = bar.getvalue().splitlines()
    assert len(bar_lines) == 8 and bar_lines[3].startswith("[Epoch 0] 4/4 [=")
    assert "100%" in bar_lines[-1] and "\r" not in bar.getvalue()


def test_argument_checks(tmp_path):
    net, data = make_net(), make_data()
    est = make_estimator(net)
    with pytest.raises(ValueError, match="exactly one of epochs or batches"):
        est.fit(data, epochs=1, batches=2)
    with pytest.raises(ValueError, match="exactly one of epochs or batches"):
        est.fit(data)
    with pytest.raises(ValueError, match="train_data must be a gluon.data.DataLoader"):
        est.fit([(nd.ones((2, 4)), nd.ones((2,)))], epochs=1)
    with pytest.raises(ValueError, match="loss must be a gluon.loss.Loss"):
        Estimator(net, loss=lambda a, b: a)
    with pytest.raises(ValueError, match="trainer must be a gluon.Trainer"):
        Estimator(net, gluon.loss.L2Loss(), trainer="sgd")
    with pytest.raises(ValueError, match="context must be a Context"):
        Estimator(net, gluon.loss.L2Loss(), trainer=est.trainer, context="cpu")
    with pytest.raises(ValueError, match="log_interval must be an int or 'epoch'"):
        LoggingHandler(log_interval="batch")
    with pytest.raises(ValueError, match="save_best=True needs monitor"):
        CheckpointHandler(str(tmp_path), save_best=True)
    foreign = EarlyStoppingHandler(kiln.metric.Accuracy(), mode="max")
    with pytest.raises(ValueError, match="outside of the known training and validation"):
        est.fit(data, epochs=1, event_handlers=[foreign])
    with pytest.warns(UserWarning, match="no trainer given"):
        Estimator(make_net(), gluon.loss.L2Loss())


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_redraws_in_place_on_a_terminal():
    from kiln.gluon.contrib.estimator._logging import TextProgressBar
    out = _Terminal()
    bar = TextProgressBar(width=4, stream=out)
    for done in range(1, 4):
        bar.update("[Epoch 0]", done, 3, "loss: 1.0")
    bar.close()
    bar.update("[Epoch 1]", 25, None)          # unknown epoch length: the count only
    text = out.getvalue()
    frames = text.split("\r")[1:]
    assert len(frames) == 4 and text.count("\n") == 1
    assert frames[0] == "[Epoch 0] 1/3 [=>  ]  33%  loss: 1.0"
    assert frames[2] == "[Epoch 0] 3/3 [====] 100%  loss: 1.0\n"
    assert frames[3] == "[Epoch 1] 25 batches"
