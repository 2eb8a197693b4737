"""kiln.model_zoo.text.lm: GluonNLP 0.x's StandardRNN and AWDRNN word language models.

Full configurations are only built (structure and parameter counts); behaviour is checked on
tiny ones: tied weights, dropouts only in training, hybridize parity of outputs and gradients,
ONNX export with dynamic batch and sequence axes against onnxruntime, training with truncated
BPTT (the states of one batch fed to the next) lowers the loss, local-only pretrained files.

Parameter counts (the tied decoder weight counted once): with WikiText-2's vocabulary (33278)
standard_lstm_lm_200 7,332,078, standard_lstm_lm_650 28,434,378 and awd_lstm_lm_1150
33,556,078, with Penn Treebank's (10000) awd_lstm_lm_1150 24,221,600: AWD-LSTM's published
33M (WikiText-2) and 24M (PTB) (Merity et al., 2017, tables 1 and 2).
"""
import kiln
import numpy as np
import onnxruntime as ort
import pytest
from kiln import autograd, nd
from kiln.gluon import Trainer
from kiln.gluon.model_zoo import get_model
from kiln.model_zoo.text import lm

V = 12
TINY_S = dict(mode="lstm", vocab_size=V, embed_size=8, hidden_size=8, num_layers=2,
              dropout=0.3, tie_weights=True)
TINY_A = dict(mode="lstm", vocab_size=V, embed_size=6, hidden_size=10, num_layers=3,
              tie_weights=True, dropout=0.3, weight_drop=0.3, drop_h=0.2, drop_i=0.2,
              drop_e=0.1)


def _net(kind, seed=0):
    kiln.random.seed(seed)
    net = lm.StandardRNN(**TINY_S) if kind == "standard" else lm.AWDRNN(**TINY_A)
    net.initialize(kiln.init.Xavier())
    return net


def _tokens(rng, shape):
    return nd.array(rng.integers(0, V, size=shape).astype(np.int32), dtype="int32")


def _flat(states):
    out = []
    for s in states:
        out.extend(_flat(s) if isinstance(s, (list, tuple)) else [s])
    return out


def _count(net):
    params = {id(p): p for p in net.collect_params().values() if p.grad_req != "null"}
    return sum(int(np.prod(p.shape)) for p in params.values())


@pytest.mark.parametrize("name, vocab, expected", [
    ("standard_lstm_lm_200", 33278, 7332078), ("standard_lstm_lm_650", 33278, 28434378),
    ("awd_lstm_lm_1150", 33278, 33556078), ("awd_lstm_lm_1150", 10000, 24221600)])
def test_full_config_parameter_counts(name, vocab, expected):
    assert _count(get_model(name, vocab_size=vocab)) == expected


def test_registry_and_configurations():
    names = ["standard_lstm_lm_200", "standard_lstm_lm_650", "standard_lstm_lm_1500",
             "awd_lstm_lm_600", "awd_lstm_lm_1150"]
    for name in names:
        net = get_model(name, vocab_size=50)
        assert net.decoder[0].weight is net.embedding[0].weight       # tied
        assert net.decoder[0].weight.shape[0] == 50
    big = get_model("standard_lstm_lm_1500", vocab_size=50)
    assert (big._embed_size, big._hidden_size, big._num_layers, big._dropout) == \
        (1500, 1500, 2, 0.65)
    awd = get_model("awd_lstm_lm_600", vocab_size=50)
    assert (awd._dropout, awd._weight_drop, awd._drop_h, awd._drop_i, awd._drop_e) == \
        (0.2, 0.2, 0.1, 0.3, 0.05)
    assert awd._widths == [600, 600, 200]
    untied = lm.StandardRNN("lstm", 20, 8, 16, 1, 0.0, False)
    assert untied.decoder[0].weight is not untied.embedding[0].weight
    with pytest.raises(ValueError, match="tie_weights"):
        lm.StandardRNN("lstm", 20, 8, 16, 1, 0.0, True)
    with pytest.raises(ValueError, match="lstm"):
        lm.StandardRNN("gru", 20, 8, 8, 1, 0.0, True)


def test_pretrained_is_local_only(tmp_path):
    net = _net("standard")
    net.save_parameters(str(tmp_path / "tiny_lm_ptb.params"))
    with pytest.raises(FileNotFoundError, match="does not download"):
        lm.standard_lstm_lm_200(vocab_size=V, pretrained=True, root=str(tmp_path))
    kw = {k: v for k, v in TINY_S.items() if k != "vocab_size"}
    loaded = lm._make(lm.StandardRNN, "tiny_lm", kw, V, True, None, str(tmp_path), "ptb", {})
    x = _tokens(np.random.default_rng(0), (4, 2))
    np.testing.assert_allclose(loaded(x)[0].asnumpy(), net(x)[0].asnumpy(), rtol=1e-6)


@pytest.mark.parametrize("kind", ["standard", "awd"])
def test_states_and_inference_is_deterministic(kind):
    net = _net(kind)
    rng = np.random.default_rng(1)
    x = _tokens(rng, (6, 3))
    logits, states = net(x)
    zero = net.begin_state(batch_size=3)
    np.testing.assert_array_equal(net(x, zero)[0].asnumpy(), logits.asnumpy())
    np.testing.assert_array_equal(net(x, *_flat(zero))[0].asnumpy(), logits.asnumpy())
    # two halves with the state carried over equal the whole sequence
    first, mid = net(x[:2])
    second, _ = net(x[2:], mid)
    np.testing.assert_allclose(np.concatenate([first.asnumpy(), second.asnumpy()]),
                               logits.asnumpy(), rtol=1e-5, atol=1e-6)
    assert [s.shape for s in _flat(states)] == [s.shape for s in _flat(zero)]
    with autograd.record():                          # dropouts (weight drop too) in training
        train1 = net(x)[0].asnumpy()
        train2 = net(x)[0].asnumpy()
    assert not np.allclose(train1, logits.asnumpy()) and not np.allclose(train1, train2)


def test_awd_weight_drop_and_embedding_drop():
    x = _tokens(np.random.default_rng(5), (4, 3))
    kw = dict(TINY_A, dropout=0.0, drop_h=0.0, drop_i=0.0, drop_e=0.0)
    outs = {}
    for wd in (0.0, 0.5):
        kiln.random.seed(0)
        net = lm.AWDRNN(**dict(kw, weight_drop=wd))
        net.initialize(kiln.init.Xavier())
        with autograd.record():
            outs[wd] = net(x)[0].asnumpy()
        np.testing.assert_allclose(net(x)[0].asnumpy(), outs[0.0], rtol=1e-6)
    assert not np.allclose(outs[0.5], outs[0.0])       # only the h2h weights were dropped
    emb = lm._DropEmbedding(V, 4, 0.5)
    emb.initialize(kiln.init.One())
    with autograd.record():
        rows = emb(nd.arange(V)).asnumpy()
    assert set(np.unique(rows.sum(axis=1))) <= {0.0, 8.0}   # whole rows dropped, kept x2
    assert 0 < (rows.sum(axis=1) == 0).sum() < V
    np.testing.assert_array_equal(emb(nd.arange(V)).asnumpy(), np.ones((V, 4)))


def _outputs_and_grads(net, x, states):
    with autograd.record(train_mode=False):          # dropout off: comparable outputs
        logits, out = net(x, states)
        loss = (logits * logits).sum() + sum((s * s).sum() * (i + 2)
                                             for i, s in enumerate(_flat(out)))
    loss.backward()
    grads = {k: p.grad().asnumpy().copy() for k, p in net.collect_params().items()}
    return [logits.asnumpy()] + [s.asnumpy() for s in _flat(out)], grads


@pytest.mark.parametrize("kind", ["standard", "awd"])
def test_hybridize_parity(kind):
    net = _net(kind)
    rng = np.random.default_rng(2)
    x = _tokens(rng, (5, 3))
    states = [nd.array(rng.normal(size=s.shape).astype(np.float32) * 0.5)
              for s in _flat(net.begin_state(batch_size=3))]
    if kind == "awd":
        states = [states[i:i + 2] for i in range(0, len(states), 2)]
    outs0, grads0 = _outputs_and_grads(net, x, states)
    net.hybridize()
    outs1, grads1 = _outputs_and_grads(net, x, states)
    for a, b in zip(outs0, outs1):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    assert grads0.keys() == grads1.keys() and len(grads0) > 5
    for k in grads0:
        assert np.abs(grads0[k]).sum() > 0, k
        np.testing.assert_allclose(grads1[k], grads0[k], rtol=1e-4, atol=1e-5, err_msg=k)


@pytest.mark.parametrize("kind", ["standard", "awd"])
@pytest.mark.parametrize("with_states", [False, True], ids=["zero_states", "states"])
def test_onnx_dynamic_batch_and_sequence(tmp_path, kind, with_states):
    net = _net(kind)
    rng = np.random.default_rng(3)
    x = _tokens(rng, (4, 2))
    states = _flat(net.begin_state(batch_size=2)) if with_states else []
    names = ["data"] + [f"state{i}" for i in range(len(states))]
    dyn = {"data": {0: "seq", 1: "batch"}}
    dyn.update({f"state{i}": {1: "batch"} for i in range(len(states))})
    path = net.export_onnx(str(tmp_path / f"{kind}.onnx"), x, *states, dynamic_axes=dyn,
                           input_names=names)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    for length, batch in [(1, 3), (7, 5)]:
        feed = _tokens(rng, (length, batch))
        st = [nd.array(rng.normal(size=(s.shape[0], batch, s.shape[2])).astype(np.float32))
              for s in states]
        got = sess.run(None, dict(zip(names, [a.asnumpy() for a in [feed] + st])))
        logits, out = net(feed, *st)
        want = [logits] + _flat(out)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w.asnumpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["standard", "awd"])
def test_truncated_bptt_training_lowers_the_loss(kind):
    net = _net(kind, seed=4)
    net.hybridize()
    stream = np.tile(np.array([1, 5, 2, 7, 3, 9, 4], np.int32), 41)[:281]   # periodic
    data = stream[:-1].reshape(2, -1).T.copy()            # (140, N=2), MXNet's batchify
    target = stream[1:].reshape(2, -1).T.copy()
    ce = kiln.gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = Trainer(net.collect_params(), "adam", {"learning_rate": 0.05})
    states = net.begin_state(batch_size=2)
    losses = []
    for _epoch in range(5):
        for t in range(0, data.shape[0] - 5, 5):
            x = nd.array(data[t:t + 5], dtype="int32")
            y = nd.array(target[t:t + 5], dtype="int32")
            with autograd.record():
                logits, states = net(x, states)   # the previous batch's states: constants
                loss = ce(logits.reshape((-1, V)), y.reshape((-1,)))
            loss.backward()
            trainer.step(x.size)
            losses.append(float(loss.mean().asscalar()))
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5]), losses


def test_docstring_examples():
    import doctest
    result = doctest.testmod(lm, extraglobs={"kiln": kiln}, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
