# ruff: noqa: B007, B011, B023, F841  (MXNet test code ported as written)
"""Ported from MXNet 1.x tests/python/unittest/test_loss.py (imports adapted to kiln).

MXNet trains the losses through the Module API (``mx.mod.Module`` + ``NDArrayIter``), which kiln
does not have: those tests are rewritten as the same network trained with gluon.Trainer (Adam,
lr 0.01, same epochs/thresholds) in ``_fit`` below; the numeric checks are kept verbatim."""
import os
import sys

import kiln as mx
import numpy as np
import pytest
from kiln import autograd, gluon
from kiln.gluon import nn

sys.path.insert(0, os.path.dirname(__file__))
from _gluon_utils import _in_tmp_dir, assert_almost_equal, with_seed  # noqa: E402,F401


@with_seed()
def test_loss_ndarray():
    output = mx.nd.array([1, 2, 3, 4])
    label = mx.nd.array([1, 3, 5, 7])
    weighting = mx.nd.array([0.5, 1, 0.5, 1])

    loss = gluon.loss.L1Loss()
    assert mx.nd.sum(loss(output, label)).asscalar() == 6.
    loss = gluon.loss.L1Loss(weight=0.5)
    assert mx.nd.sum(loss(output, label)).asscalar() == 3.
    loss = gluon.loss.L1Loss()
    assert mx.nd.sum(loss(output, label, weighting)).asscalar() == 5.

    loss = gluon.loss.L2Loss()
    assert mx.nd.sum(loss(output, label)).asscalar() == 7.
    loss = gluon.loss.L2Loss(weight=0.25)
    assert mx.nd.sum(loss(output, label)).asscalar() == 1.75
    loss = gluon.loss.L2Loss()
    assert mx.nd.sum(loss(output, label, weighting)).asscalar() == 6

    output = mx.nd.array([[0, 2], [1, 4]])
    label = mx.nd.array([0, 1])
    weighting = mx.nd.array([[0.5], [1.0]])

    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    L = loss(output, label).asnumpy()
    assert_almost_equal(L, np.array([2.12692809, 0.04858733]))

    L = loss(output, label, weighting).asnumpy()
    assert_almost_equal(L, np.array([1.06346405, 0.04858733]))


def get_net(num_hidden, flatten=True):
    net = nn.HybridSequential()
    net.add(nn.Dense(128, activation='relu', flatten=flatten),
            nn.Dense(64, activation='relu', flatten=flatten),
            nn.Dense(num_hidden, flatten=flatten))
    return net


def _fit(net, loss_fn, data, labels, num_epoch=200, batch_size=10, lr=0.01,
         init=None, transform=None):
    """Module.fit(optimizer='adam') stand-in; returns the mean loss over the data (score)."""
    net.initialize(init or mx.init.Xavier(magnitude=2))
    trainer = gluon.Trainer(net.collect_params(), 'adam', {'learning_rate': lr})
    n = data.shape[0]
    labels = labels if isinstance(labels, (list, tuple)) else [labels]

    def run(x):
        out = net(x)
        return transform(out) if transform is not None else out

    for _ in range(num_epoch):
        for i in range(0, n, batch_size):
            x = data[i:i + batch_size]
            ys = [y[i:i + batch_size] for y in labels]
            with autograd.record():
                L = loss_fn(run(x), *ys)
            L.backward()
            trainer.step(x.shape[0])
    return loss_fn(run(data), *labels).mean().asscalar()


@with_seed()
def test_ce_loss():
    nclass = 10
    N = 20
    data = mx.random.uniform(-1, 1, shape=(N, nclass))
    label = mx.nd.array(np.random.randint(0, nclass, size=(N,)), dtype='int32')
    score = _fit(get_net(nclass), gluon.loss.SoftmaxCrossEntropyLoss(), data, label)
    assert score < 0.05


@with_seed()
def test_bce_loss():
    N = 20
    data = mx.random.uniform(-1, 1, shape=(N, 20))
    label = mx.nd.array(np.random.randint(2, size=(N,)), dtype='float32')
    Loss = gluon.loss.SigmoidBinaryCrossEntropyLoss()
    score = _fit(get_net(1), Loss, data, label)
    assert score < 0.01
    # Test against npy
    data = mx.random.uniform(-5, 5, shape=(10,))
    label = mx.random.uniform(0, 1, shape=(10,))
    mx_bce_loss = Loss(data, label).asnumpy()
    prob_npy = 1.0 / (1.0 + np.exp(-data.asnumpy()))
    label_npy = label.asnumpy()
    npy_bce_loss = - label_npy * np.log(prob_npy) - (1 - label_npy) * np.log(1 - prob_npy)
    assert_almost_equal(mx_bce_loss, npy_bce_loss, rtol=1e-4, atol=1e-5)


@with_seed()
def test_bce_equal_ce2():
    N = 100
    loss1 = gluon.loss.SigmoidBCELoss(from_sigmoid=True)
    loss2 = gluon.loss.SoftmaxCELoss(from_logits=True)
    out1 = mx.random.uniform(0.1, 0.9, shape=(N, 1))
    out2 = mx.nd.log(mx.nd.concat(1 - out1, out1, dim=1) + 1e-8)
    label = mx.nd.round(mx.random.uniform(0, 1, shape=(N, 1)))
    assert_almost_equal(loss1(out1, label).asnumpy(), loss2(out2, label).asnumpy())


def test_logistic_loss_equal_bce():
    N = 100
    loss_binary = gluon.loss.LogisticLoss(label_format='binary')
    loss_signed = gluon.loss.LogisticLoss(label_format='signed')
    loss_bce = gluon.loss.SigmoidBCELoss(from_sigmoid=False)
    data = mx.random.uniform(-10, 10, shape=(N, 1))
    label = mx.nd.round(mx.random.uniform(0, 1, shape=(N, 1)))
    assert_almost_equal(loss_binary(data, label).asnumpy(), loss_bce(data, label).asnumpy(),
                        atol=1e-6)
    assert_almost_equal(loss_signed(data, 2 * label - 1).asnumpy(),
                        loss_bce(data, label).asnumpy(), atol=1e-6)


@with_seed()
def test_kl_loss():
    N = 20
    data = mx.random.uniform(-1, 1, shape=(N, 10))
    label = mx.nd.softmax(mx.random.uniform(0, 1, shape=(N, 2)))
    score = _fit(get_net(2), gluon.loss.KLDivLoss(), data, label, init=mx.init.Uniform(),
                 transform=mx.nd.log_softmax)
    assert score < 0.05


@with_seed()
def test_l2_loss():
    N = 20
    data = mx.random.uniform(-1, 1, shape=(N, 10))
    label = mx.random.uniform(-1, 1, shape=(N, 1))
    assert _fit(get_net(1), gluon.loss.L2Loss(), data, label) < 0.05


@with_seed()
def test_l1_loss():
    N = 20
    data = mx.random.uniform(-1, 1, shape=(N, 10))
    label = mx.random.uniform(-1, 1, shape=(N, 1))
    assert _fit(get_net(1), gluon.loss.L1Loss(), data, label) < 0.1


@with_seed()
def test_ctc_loss():
    loss = gluon.loss.CTCLoss()
    L = loss(mx.nd.ones((2, 20, 4)), mx.nd.array([[1, 0, -1, -1], [2, 1, 1, -1]]))
    assert_almost_equal(L.asnumpy(), np.array([18.82820702, 16.50581741]))

    loss = gluon.loss.CTCLoss(layout='TNC')
    L = loss(mx.nd.ones((20, 2, 4)), mx.nd.array([[1, 0, -1, -1], [2, 1, 1, -1]]))
    assert_almost_equal(L.asnumpy(), np.array([18.82820702, 16.50581741]))

    loss = gluon.loss.CTCLoss(layout='TNC', label_layout='TN')
    L = loss(mx.nd.ones((20, 2, 4)), mx.nd.array([[1, 0, -1, -1], [2, 1, 1, -1]]).T)
    assert_almost_equal(L.asnumpy(), np.array([18.82820702, 16.50581741]))

    loss = gluon.loss.CTCLoss()
    L = loss(mx.nd.ones((2, 20, 4)), mx.nd.array([[2, 1, 2, 2], [3, 2, 2, 2]]), None,
             mx.nd.array([2, 3]))
    assert_almost_equal(L.asnumpy(), np.array([18.82820702, 16.50581741]))

    loss = gluon.loss.CTCLoss()
    L = loss(mx.nd.ones((2, 25, 4)), mx.nd.array([[2, 1, -1, -1], [3, 2, 2, -1]]),
             mx.nd.array([20, 20]))
    assert_almost_equal(L.asnumpy(), np.array([18.82820702, 16.50581741]))

    loss = gluon.loss.CTCLoss()
    L = loss(mx.nd.ones((2, 25, 4)), mx.nd.array([[2, 1, 3, 3], [3, 2, 2, 3]]),
             mx.nd.array([20, 20]), mx.nd.array([2, 3]))
    assert_almost_equal(L.asnumpy(), np.array([18.82820702, 16.50581741]))


@with_seed()
def test_ctc_loss_train():
    N = 20
    data = mx.random.uniform(-1, 1, shape=(N, 20, 10))
    label = mx.nd.arange(4, repeat=N).reshape((N, 4))
    Loss = gluon.loss.CTCLoss(layout='NTC', label_layout='NT')
    assert _fit(get_net(5, False), Loss, data, label) < 10


@with_seed()
def test_sample_weight_loss():
    nclass = 10
    N = 20
    data = mx.random.uniform(-1, 1, shape=(N, nclass))
    label = mx.nd.array(np.random.randint(0, nclass, size=(N,)), dtype='int32')
    weight = mx.nd.array([1 for i in range(10)] + [0 for i in range(10)])
    net = get_net(nclass)
    Loss = gluon.loss.SoftmaxCrossEntropyLoss()
    _fit(net, Loss, data, [label, weight.reshape((-1, 1))])
    score = Loss(net(data[10:]), label[10:]).mean().asscalar()
    assert score > 1
    score = Loss(net(data[:10]), label[:10]).mean().asscalar()
    assert score < 0.05


@with_seed()
def test_huber_loss():
    N = 20
    data = mx.random.uniform(-1, 1, shape=(N, 10))
    label = mx.random.uniform(-1, 1, shape=(N, 1))
    assert _fit(get_net(1), gluon.loss.HuberLoss(), data, label) < 0.05


@with_seed()
def test_hinge_loss():
    N = 20
    data = mx.random.uniform(-1, 1, shape=(N, 10))
    label = mx.nd.sign(mx.random.uniform(-1, 1, shape=(N, 1)))
    assert _fit(get_net(1), gluon.loss.HingeLoss(), data, label) < 0.06


@with_seed()
def test_squared_hinge_loss():
    N = 20
    data = mx.random.uniform(-1, 1, shape=(N, 10))
    label = mx.nd.sign(mx.random.uniform(-1, 1, shape=(N, 1)))
    assert _fit(get_net(1), gluon.loss.SquaredHingeLoss(), data, label) < 0.05


@with_seed()
def test_triplet_loss():
    N = 20
    data = mx.random.uniform(-1, 1, shape=(N, 10))
    pos = mx.random.uniform(-1, 1, shape=(N, 10))
    neg = mx.random.uniform(-1, 1, shape=(N, 10))
    assert _fit(get_net(10), gluon.loss.TripletLoss(), data, [pos, neg]) < 0.05


@with_seed()
def test_cosine_loss():
    # Generating samples
    input1 = mx.nd.random.randn(3, 2)
    input2 = mx.nd.random.randn(3, 2)
    label = mx.nd.sign(mx.nd.random.randn(input1.shape[0]))
    # Calculating loss from cosine embedding loss function in Gluon
    Loss = gluon.loss.CosineEmbeddingLoss()
    loss = Loss(input1, input2, label)

    # Calculating the loss Numpy way
    numerator = mx.nd.sum(input1 * input2, keepdims=True, axis=1)
    denominator = mx.nd.sqrt(mx.nd.sum(input1**2, axis=1, keepdims=True)) \
        * mx.nd.sqrt(mx.nd.sum(input2**2, axis=1, keepdims=True))
    numpy_loss = mx.nd.where(label == 1, 1 - numerator / denominator,
                             mx.nd.broadcast_maximum(mx.nd.array([0]), numerator / denominator,
                                                     axis=1))
    assert_almost_equal(loss.asnumpy(), numpy_loss.asnumpy(), rtol=1e-3, atol=1e-5)


def test_poisson_nllloss():
    pred = mx.nd.random.normal(shape=(3, 4))
    min_pred = mx.nd.min(pred)
    # This is necessary to ensure only positive random values are generated for prediction,
    # to avoid ivalid log calculation
    pred[:] = pred + mx.nd.abs(min_pred)
    target = mx.nd.random.normal(shape=(3, 4))
    min_target = mx.nd.min(target)
    # This is necessary to ensure only positive random values are generated for prediction,
    # to avoid ivalid log calculation
    target[:] += mx.nd.abs(min_target)

    Loss = gluon.loss.PoissonNLLLoss(from_logits=True)
    Loss_no_logits = gluon.loss.PoissonNLLLoss(from_logits=False)
    # Calculating by brute formula for default value of from_logits = True

    # 1) Testing for flag logits = True
    brute_loss = np.mean(np.exp(pred.asnumpy()) - target.asnumpy() * pred.asnumpy())
    loss_withlogits = Loss(pred, target)
    assert_almost_equal(brute_loss, loss_withlogits.asscalar())

    # 2) Testing for flag logits = False
    loss_no_logits = Loss_no_logits(pred, target)
    np_loss_no_logits = np.mean(pred.asnumpy() - target.asnumpy()
                                * np.log(pred.asnumpy() + 1e-08))
    if np.isnan(loss_no_logits.asscalar()):
        assert_almost_equal(np.isnan(np_loss_no_logits), np.isnan(loss_no_logits.asscalar()))
    else:
        assert_almost_equal(np_loss_no_logits, loss_no_logits.asscalar())

    # 3) Testing for Sterling approximation
    np_pred = np.random.uniform(1, 5, (2, 3))
    np_target = np.random.uniform(1, 5, (2, 3))
    np_compute_full = np.mean((np_pred - np_target * np.log(np_pred + 1e-08))
                              + ((np_target * np.log(np_target) - np_target
                                  + 0.5 * np.log(2 * np_target * np.pi)) * (np_target > 1)))
    Loss_compute_full = gluon.loss.PoissonNLLLoss(from_logits=False, compute_full=True)
    loss_compute_full = Loss_compute_full(mx.nd.array(np_pred), mx.nd.array(np_target))
    assert_almost_equal(np_compute_full, loss_compute_full.asscalar())


@with_seed()
def test_bce_loss_with_pos_weight():
    # Suppose it's a multi-label classification
    N = np.random.randint(5, 30)
    data = mx.nd.random.uniform(-1, 1, shape=(N, 20))
    label = mx.nd.array(np.random.randint(2, size=(N, 5)), dtype='float32')
    pos_weight = mx.nd.random.uniform(0, 10, shape=(1, 5))
    pos_weight = mx.nd.repeat(pos_weight, repeats=N, axis=0)
    Loss = gluon.loss.SigmoidBinaryCrossEntropyLoss()
    score = _fit(get_net(5), lambda o, lab, pw: Loss(o, lab, None, pw), data,
                 [label, pos_weight])
    assert score < 0.01
    # Test against npy
    data = mx.nd.random.uniform(-5, 5, shape=(N, 5))
    label = mx.nd.array(np.random.randint(2, size=(N, 5)), dtype='float32')
    pos_weight = mx.nd.random.uniform(0, 10, shape=(1, 5))
    mx_bce_loss = Loss(data, label, None, pos_weight).asnumpy()
    prob_npy = 1.0 / (1.0 + np.exp(-data.asnumpy()))
    label_npy = label.asnumpy()
    pos_weight_npy = pos_weight.asnumpy()
    npy_bce_loss = (- label_npy * np.log(prob_npy) * pos_weight_npy
                    - (1 - label_npy) * np.log(1 - prob_npy)).mean(axis=1)
    assert_almost_equal(mx_bce_loss, npy_bce_loss, rtol=1e-4, atol=1e-5)


@with_seed()
def test_sdml_loss():
    N = 5  # number of samples
    DIM = 10  # Dimensionality
    EPOCHS = 20

    # Generate randomized data and 'positive' samples
    data = mx.random.uniform(-1, 1, shape=(N, DIM))
    pos = data + mx.random.uniform(-0.1, 0.1, shape=(N, DIM))  # correlated paired data

    # Init model and trainer
    sdml_loss = gluon.loss.SDMLLoss()
    model = gluon.nn.Dense(DIM, activation='tanh')  # Simple NN encoder
    model.initialize(mx.init.Xavier(), ctx=mx.current_context())
    trainer = gluon.Trainer(model.collect_params(), 'adam', {'learning_rate': 0.1})

    for i in range(EPOCHS):  # Training loop (one full batch per epoch, as NDArrayIter gave)
        with autograd.record():
            z_data, z_pos = model(data), model(pos)
            loss = sdml_loss(z_data, z_pos)
            loss.backward()
        trainer.step(1)

    # After training euclidean distance between aligned pairs should be lower than all
    # non-aligned pairs
    avg_loss = loss.sum() / len(loss)
    assert (avg_loss < 0.05)
