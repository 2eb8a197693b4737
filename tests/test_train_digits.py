"""End-to-end training: a small CNN on scikit-learn's 8x8 digits reaches >= 95% test accuracy.

Two versions of the same job: one written natively against kiln (eager and hybridized), one
written exactly as Gluon 1.x code (``import kiln as mx``) that would run unchanged on MXNet 1.9.
The digits ship with scikit-learn (no download). Each training takes a few seconds on 2 cores.
"""
import numpy as np
import pytest

datasets = pytest.importorskip("sklearn.datasets")


def _digits(seed):
    """(x_train, y_train, x_test, y_test): images (N, 1, 8, 8) in [0, 1], labels 0..9."""
    d = datasets.load_digits()
    x = (d.images / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    y = d.target.astype(np.float32)
    perm = np.random.RandomState(seed).permutation(len(x))
    x, y = x[perm], y[perm]
    return x[:1400], y[:1400], x[1400:], y[1400:]


# ---- native kiln ---------------------------------------------------------------------------------
def _train_native(hybridize, epochs=5):
    import kiln as kl
    from kiln import autograd, gluon, nd

    kl.random.seed(0)
    np.random.seed(0)
    x_train, y_train, x_test, y_test = _digits(0)
    nn = gluon.nn
    net = nn.HybridSequential()
    net.add(nn.Conv2D(16, 3, padding=1), nn.BatchNorm(), nn.Activation("relu"), nn.MaxPool2D(2),
            nn.Conv2D(32, 3, padding=1), nn.BatchNorm(), nn.Activation("relu"), nn.MaxPool2D(2),
            nn.Flatten(), nn.Dropout(0.2), nn.Dense(64, activation="relu"), nn.Dense(10))
    net.initialize(kl.init.Xavier())
    if hybridize:
        net.hybridize()
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.003})
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(x_train, y_train), batch_size=64,
                                   shuffle=True)
    losses = []
    for _ in range(epochs):
        train_acc = kl.metric.Accuracy()
        total = 0.0
        for xb, yb in loader:
            with autograd.record():
                out = net(xb)
                loss = loss_fn(out, yb)
            loss.backward()
            trainer.step(xb.shape[0])
            train_acc.update(yb, out)
            total += float(loss.sum().asscalar())
        losses.append(total / len(x_train))
    test_acc = kl.metric.Accuracy()
    test_acc.update(nd.array(y_test), net(nd.array(x_test)))
    return losses, train_acc.get()[1], test_acc.get()[1]


@pytest.mark.parametrize("hybridize", [False, True], ids=["eager", "hybridized"])
def test_native_cnn_reaches_95_percent(hybridize):
    losses, train_acc, test_acc = _train_native(hybridize)
    assert losses[-1] < losses[0] / 4, losses
    assert train_acc >= 0.95
    assert test_acc >= 0.95, test_acc


def test_eager_and_hybridized_training_agree():
    # Same seed, same data order: the compiled graph must follow the eager trajectory.
    eager = _train_native(False, epochs=2)
    hybrid = _train_native(True, epochs=2)
    np.testing.assert_allclose(eager[0], hybrid[0], rtol=1e-3)
    assert abs(eager[2] - hybrid[2]) <= 0.01


# ---- Gluon 1.x code, unchanged ------------------------------------------------------------------
# Everything below the imports is plain MXNet 1.9 Gluon; only the import line names kiln.
# Not used here because kiln lacks them (noted for the lead): mx.io.NDArrayIter, mx.test_utils,
# mx.onnx.export_model, mx.model.load_checkpoint, mx.kv. Differences: net(mx.sym.var('data'))
# fails after hybridize(); a 6th retrace emits a UserWarning (an error under
# filterwarnings=error).
def _train_gluon1x(epochs=8):
    import kiln as mx
    from kiln import autograd, gluon
    from kiln.gluon import nn

    mx.random.seed(1)
    np.random.seed(1)
    x_train, y_train, x_test, y_test = _digits(1)
    ctx = mx.cpu()

    class ConvBlock(gluon.HybridBlock):
        """conv -> batchnorm -> relu -> 2x2 max pool, written with F (nd or sym)."""

        def __init__(self, channels, **kwargs):
            super(ConvBlock, self).__init__(**kwargs)
            with self.name_scope():
                self.conv = nn.Conv2D(channels, kernel_size=3, padding=1, use_bias=False)
                self.bn = nn.BatchNorm()

        def hybrid_forward(self, F, x):
            x = F.relu(self.bn(self.conv(x)))
            return F.Pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="max")

    net = nn.HybridSequential()
    with net.name_scope():
        net.add(ConvBlock(16))
        net.add(ConvBlock(32))
        net.add(nn.Flatten())
        net.add(nn.Dense(64, activation="relu"))
        net.add(nn.Dropout(0.2))
        net.add(nn.Dense(10))
    net.collect_params().initialize(mx.init.Xavier(), ctx=ctx)
    net.hybridize()

    softmax_ce = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), "sgd",
                            {"learning_rate": 0.05, "momentum": 0.9, "wd": 1e-4})
    batch_size = 64
    train_data = gluon.data.DataLoader(
        gluon.data.ArrayDataset(mx.nd.array(x_train), mx.nd.array(y_train)),
        batch_size=batch_size, shuffle=True, last_batch="discard")
    test_data = gluon.data.DataLoader(
        gluon.data.ArrayDataset(mx.nd.array(x_test), mx.nd.array(y_test)), batch_size=100)

    history = []
    for epoch in range(epochs):
        if epoch == epochs - 2:   # the usual 1.x step decay for the last epochs
            trainer.set_learning_rate(trainer.learning_rate * 0.1)
        metric = mx.metric.Accuracy()
        train_loss = 0.0
        for data, label in train_data:
            data = data.as_in_context(ctx)
            label = label.as_in_context(ctx)
            with mx.autograd.record():
                output = net(data)
                loss = softmax_ce(output, label)
            loss.backward()
            trainer.step(batch_size)
            train_loss += loss.mean().asscalar()
            metric.update([label], [output])
        name, acc = metric.get()
        history.append((epoch, train_loss / len(train_data), acc))

    metric = mx.metric.Accuracy()
    for data, label in test_data:
        output = net(data.as_in_context(ctx))
        metric.update(labels=[label], preds=[output])
    # Plain 1.x evaluation idiom as a cross-check of the metric.
    output = net(mx.nd.array(x_test))
    manual = (mx.nd.argmax(output, axis=1) == mx.nd.array(y_test)).mean().asscalar()
    assert autograd.is_training() is False
    return history, metric.get()[1], float(manual)


def test_gluon1x_script_runs_unchanged_and_reaches_95_percent():
    history, test_acc, manual = _train_gluon1x()
    assert history[-1][1] < history[0][1] / 4, history
    assert test_acc >= 0.95, (test_acc, history)
    assert abs(test_acc - manual) < 1e-6
