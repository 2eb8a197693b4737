"""kiln.model_zoo.text: the Transformer encoder-decoder and BERT (GluonNLP 0.x's structure).

Full configurations are only built (parameter counts); the behaviour is checked on tiny ones:
files written by GluonNLP 0.10 (on MXNet 1.9.1) load and give GluonNLP's outputs
(``data/gluonnlp``), attention against a numpy reference, the masks (padding and causality),
hybridize parity of outputs and gradients, ONNX export with dynamic batch and sequence axes
against onnxruntime at two sizes, a few training steps, local-only pretrained files.

Parameter counts (trainable; the Transformer's constant position tables excluded):
- bert_12_768_12 without MLM decoder and classifier 109,482,240 and bert_24_1024_16
  335,141,888: Hugging Face's bert-base-uncased / bert-large-uncased BertModel (same layers),
  i.e. the published 110M / 340M;
- transformer_en_de_512 (vocabulary 36794, shared and tied embeddings, GluonNLP's bias-free
  attention projections) 62,979,002: the paper's ~65M "base" Transformer (vocabulary 37000,
  i.e. 106k more embedding weights, and biased projections).
"""
import os

import kiln
import numpy as np
import onnxruntime as ort
import pytest
from kiln import autograd, nd
from kiln.gluon import Trainer
from kiln.gluon.model_zoo import get_model, text

TINY_T = dict(src_vocab_size=20, num_layers=1, units=16, hidden_size=32, num_heads=2)
TINY_B = dict(vocab_size=20, num_layers=1, units=16, hidden_size=32, num_heads=2,
              max_length=16)


def _count(net):
    params = {id(p): p for p in net.collect_params().values() if p.grad_req != "null"}
    return sum(int(np.prod(p.shape)) for p in params.values())


def _tokens(rng, shape, vocab=20):
    return rng.integers(0, vocab, size=shape).astype(np.float32)


def _net(name, **kw):
    kiln.random.seed(0)
    net = get_model(name, **kw)
    net.initialize(kiln.init.Normal(0.3))
    return net


@pytest.mark.parametrize("name, kw, expected", [
    ("bert_12_768_12", dict(use_decoder=False, use_classifier=False), 109482240),
    ("bert_12_768_12", {}, 110106428),
    ("bert_24_1024_16", dict(use_decoder=False, use_classifier=False), 335141888),
    ("transformer_en_de_512", {}, 62979002),
])
def test_full_config_parameter_counts(name, kw, expected):
    net = get_model(name, **kw)
    assert _count(net) == expected


def test_registry_and_structure():
    net = text.transformer_en_de_512()
    cell = net.decoder.transformer_cells[5]
    assert cell.attention_cell_inter.proj_key.weight.shape == (512, 512)
    assert cell.ffn.ffn_1.weight.shape == (2048, 512)
    assert net.tgt_proj.weight is net.src_embed[0].weight        # shared, tied embeddings
    assert net.encoder.position_weight.shape == (530, 512)
    bert = get_model("BERT_2_128_2")
    assert bert.decoder[3].weight is bert.word_embed[0].weight
    assert bert.encoder.position_weight.shape == (64, 128)
    with pytest.raises(ValueError, match="bert_12_768_12"):
        text.get_model("bert_3_3_3")
    with pytest.raises(ValueError, match="(?s)resnet18_v1.*transformer_en_de_512"):
        get_model("bert_3_3_3")                 # the zoo-wide get_model lists both families


GNLP = os.path.join(os.path.dirname(__file__), "data", "gluonnlp")


def test_gluonnlp_files_load_with_gluonnlp_outputs():
    io = np.load(os.path.join(GNLP, "gluonnlp010_text_io.npz"))
    bert = text.BERTModel(vocab_size=20, num_layers=2, units=16, hidden_size=32, num_heads=2,
                          max_length=16)
    bert.load_parameters(os.path.join(GNLP, "gluonnlp010_bert.params"))
    outs = bert(*[nd.array(io[k]) for k in ("bert_tok", "bert_tt", "bert_vl", "bert_mp")])
    assert len(outs) == 4
    for i, o in enumerate(outs):
        np.testing.assert_allclose(o.asnumpy(), io[f"bert_out{i}"], rtol=1e-5, atol=1e-5)
    nmt = text.TransformerModel(20, num_layers=2, units=16, hidden_size=32, num_heads=2,
                                max_src_length=16, max_tgt_length=16)
    nmt.load_parameters(os.path.join(GNLP, "gluonnlp010_transformer.params"))
    logits = nmt(*[nd.array(io[k]) for k in ("nmt_src", "nmt_tgt", "nmt_svl", "nmt_tvl")])
    np.testing.assert_allclose(logits.asnumpy(), io["nmt_out"], rtol=1e-5, atol=1e-6)


def test_pretrained_is_local_only(tmp_path):
    with pytest.raises(FileNotFoundError, match="bert_2_128_2.params"):
        get_model("bert_2_128_2", pretrained=True, root=str(tmp_path))
    net = _net("bert_2_128_2")
    net.save_parameters(str(tmp_path / "bert_2_128_2.params"))
    loaded = get_model("bert_2_128_2", pretrained=True, root=str(tmp_path))
    np.testing.assert_array_equal(loaded.pooler.weight.data().asnumpy(),
                                  net.pooler.weight.data().asnumpy())
    headless = get_model("bert_2_128_2", pretrained=True, root=str(tmp_path), use_decoder=False,
                         use_classifier=False)    # extra heads in the file are ignored
    np.testing.assert_array_equal(headless.encoder.position_weight.data().asnumpy(),
                                  net.encoder.position_weight.data().asnumpy())
    os.rename(tmp_path / "bert_2_128_2.params", tmp_path / "bert_2_128_2-0123abcd.params")
    assert get_model("bert_2_128_2", pretrained=True, root=str(tmp_path)) is not None
    with pytest.raises(FileNotFoundError, match="transformer_en_de_512_WMT2014"):
        get_model("transformer_en_de_512", pretrained=True, root=str(tmp_path))


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_attention_against_numpy():
    rng = np.random.default_rng(0)
    att = text.MultiHeadAttention(units=8, num_heads=2)
    att.initialize(kiln.init.Normal(0.5))
    q, kv = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4))
    mask = np.ones((2, 3, 5), np.float32)
    mask[0, :, 3:] = 0
    out = att(nd.array(q), nd.array(kv), nd.array(kv), nd.array(mask)).asnumpy()

    def proj(dense, x):
        y = x @ dense.weight.data().asnumpy().T + dense.bias.data().asnumpy()
        return y.reshape(y.shape[0], y.shape[1], 2, 4).transpose(0, 2, 1, 3)
    sq, sk, sv = proj(att.proj_query, q), proj(att.proj_key, kv), proj(att.proj_value, kv)
    scores = np.where(mask[:, None] > 0, sq @ sk.transpose(0, 1, 3, 2) / 2.0, -1e18)
    ref = (_softmax(scores) @ sv).transpose(0, 2, 1, 3).reshape(2, 3, 8)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


def test_position_encoding():
    enc = text.position_encoding_init(6, 4)
    assert enc[3, 0] == pytest.approx(np.sin(3.0))
    assert enc[3, 1] == pytest.approx(np.cos(3.0 / 10000 ** 0.5), rel=1e-6)


def test_transformer_masks():
    rng = np.random.default_rng(1)
    net = _net("transformer_2_64_4", **TINY_T)
    src, tgt = _tokens(rng, (2, 6)), _tokens(rng, (2, 5))
    vl = nd.array([6, 3])
    out = net(nd.array(src), nd.array(tgt), vl).asnumpy()
    assert out.shape == (2, 5, 20)
    src2, tgt2 = src.copy(), tgt.copy()
    src2[1, 3:] = (src2[1, 3:] + 1) % 20           # source padding of sample 1
    tgt2[:, 3] = (tgt2[:, 3] + 1) % 20             # a later target token
    out2 = net(nd.array(src2), nd.array(tgt2), vl).asnumpy()
    np.testing.assert_allclose(out2[:, :3], out[:, :3], rtol=1e-5, atol=1e-6)
    assert np.abs(out2[:, 3:] - out[:, 3:]).max() > 1e-3
    mem = net.encode(nd.array(src), vl)
    np.testing.assert_array_equal(mem.asnumpy()[1, 3:], 0)        # padded source rows
    np.testing.assert_allclose(net.decode(nd.array(tgt), mem, vl).asnumpy(), out, rtol=1e-5,
                               atol=1e-6)
    tvl = nd.array([5, 2])                                        # padded target rows: bias only
    masked = net(nd.array(src), nd.array(tgt), vl, tvl).asnumpy()
    np.testing.assert_allclose(masked[0], out[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(masked[1, :2], out[1, :2], rtol=1e-5, atol=1e-6)
    bias = net.tgt_proj.bias.data().asnumpy()
    np.testing.assert_allclose(masked[1, 2:], np.broadcast_to(bias, (3, 20)), atol=1e-6)


def test_bert_outputs_and_padding():
    rng = np.random.default_rng(2)
    net = _net("bert_2_128_2", **TINY_B)
    tok, types = _tokens(rng, (2, 6)), (rng.random((2, 6)) > 0.5).astype(np.float32)
    vl, mpos = nd.array([6, 4]), nd.array([[1, 5], [0, 3]])
    seq, pooled, nsp, mlm = net(nd.array(tok), nd.array(types), vl, mpos)
    assert (seq.shape, pooled.shape, nsp.shape, mlm.shape) == (
        (2, 6, 16), (2, 16), (2, 2), (2, 2, 20))
    rows = seq.asnumpy()[[[0, 0], [1, 1]], [[1, 5], [0, 3]]]
    np.testing.assert_allclose(mlm.asnumpy(), net.decoder(nd.array(rows)).asnumpy(),
                               rtol=1e-5, atol=1e-5)
    tok2 = tok.copy()
    tok2[1, 4:] = (tok2[1, 4:] + 1) % 20                          # padding of sample 1
    seq2 = net(nd.array(tok2), nd.array(types), vl, mpos)[0].asnumpy()
    np.testing.assert_allclose(seq2, seq.asnumpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(seq.asnumpy()[1, 4:], 0)       # padded rows are zeroed
    only = _net("bert_2_128_2", use_pooler=False, use_decoder=False, use_classifier=False,
                **TINY_B)
    assert only(nd.array(tok), nd.array(types), vl).shape == (2, 6, 16)


def _outputs_and_grads(net, inputs):
    inputs = [nd.array(x) for x in inputs]
    with autograd.record():
        outs = net(*inputs)
        outs = list(outs) if isinstance(outs, tuple) else [outs]
        loss = sum((o * o).sum() * (i + 1) for i, o in enumerate(outs))
    loss.backward()
    grads = {k: p.grad().asnumpy().copy() for k, p in net.collect_params().items()
             if p.grad_req != "null"}
    return [o.asnumpy() for o in outs], grads


def _cases():
    rng = np.random.default_rng(3)
    t_in = [_tokens(rng, (2, 5)), _tokens(rng, (2, 4)), np.array([5, 2], np.float32),
            np.array([4, 3], np.float32)]
    b_in = [_tokens(rng, (2, 5)), np.zeros((2, 5), np.float32), np.array([5, 3], np.float32),
            np.array([[0, 2], [1, 4]], np.float32)]
    return [("transformer_2_64_4", TINY_T, t_in), ("bert_2_128_2", TINY_B, b_in)]


@pytest.mark.parametrize("name, kw, inputs", _cases(), ids=["transformer", "bert"])
def test_hybridize_parity(name, kw, inputs):
    net = _net(name, **kw)
    outs0, grads0 = _outputs_and_grads(net, inputs)
    net.hybridize()
    outs1, grads1 = _outputs_and_grads(net, inputs)
    for a, b in zip(outs0, outs1):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)
    assert grads0.keys() == grads1.keys()
    for k in grads0:
        np.testing.assert_allclose(grads1[k], grads0[k], rtol=1e-4, atol=1e-5, err_msg=k)


@pytest.mark.parametrize("name, kw, inputs", _cases(), ids=["transformer", "bert"])
def test_onnx_dynamic_batch_and_sequence(tmp_path, name, kw, inputs):
    net = _net(name, **kw)
    seq = {0: "batch", 1: "seq"}
    if name.startswith("bert"):
        axes = [seq, seq, {0: "batch"}, {0: "batch", 1: "masked"}]
    else:
        axes = [seq, {0: "batch", 1: "seq2"}, {0: "batch"}, {0: "batch"}]
    dyn = {f"data{i}": a for i, a in enumerate(axes[:len(inputs)])}
    path = net.export_onnx(str(tmp_path / f"{name}.onnx"), *[nd.array(x) for x in inputs],
                           dynamic_axes=dyn)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(4)
    for batch, length in [(1, 3), (3, 7)]:
        if name.startswith("bert"):
            feed = [_tokens(rng, (batch, length)), _tokens(rng, (batch, length), 2),
                    rng.integers(1, length + 1, batch).astype(np.float32),
                    rng.integers(0, length, (batch, 3)).astype(np.float32)]
        else:
            feed = [_tokens(rng, (batch, length)), _tokens(rng, (batch, length + 1)),
                    rng.integers(1, length + 1, batch).astype(np.float32),
                    rng.integers(1, length + 2, batch).astype(np.float32)]
        got = sess.run(None, {f"data{i}": x for i, x in enumerate(feed)})
        want = net(*[nd.array(x) for x in feed])
        want = list(want) if isinstance(want, tuple) else [want]
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w.asnumpy(), rtol=1e-4, atol=1e-4)


def _train(net, step_inputs, labels, loss_of, optimizer, lr, steps):
    trainer = Trainer(net.collect_params(), optimizer, {"learning_rate": lr})
    losses = []
    for _ in range(steps):
        with autograd.record():
            loss = loss_of(net(*step_inputs), labels)
        loss.backward()
        trainer.step(labels.shape[0])
        losses.append(float(loss.mean().asscalar()))
    return losses


def test_transformer_trains():
    rng = np.random.default_rng(5)
    net = _net("transformer_2_64_4", **TINY_T)
    net.initialize(kiln.init.Xavier(), force_reinit=True)
    net.hybridize()
    src = _tokens(rng, (4, 6))
    tgt = np.concatenate([np.ones((4, 1), np.float32), src[:, :-1]], axis=1)   # copy task
    ce = kiln.gluon.loss.SoftmaxCrossEntropyLoss()
    losses = _train(net, [nd.array(src), nd.array(tgt), nd.array([6, 6, 6, 6])],
                    nd.array(src), ce, "adam", 0.01, 8)
    assert losses[-1] < 0.7 * losses[0], losses


def test_bert_trains():
    rng = np.random.default_rng(6)
    net = _net("bert_2_128_2", use_decoder=False, **TINY_B)
    net.initialize(kiln.init.Xavier(), force_reinit=True)
    tok = _tokens(rng, (8, 5))
    labels = nd.array((tok[:, 0] > 9).astype(np.float32))   # NSP head learns a token rule
    ce = kiln.gluon.loss.SoftmaxCrossEntropyLoss()
    losses = _train(net, [nd.array(tok), nd.zeros((8, 5)), nd.array([5] * 8)], labels,
                    lambda outs, y: ce(outs[2], y), "sgd", 0.1, 8)
    assert losses[-1] < 0.8 * losses[0], losses


@pytest.mark.parametrize("module", ["attention", "transformer", "bert", "__init__"])
def test_docstring_examples(module):
    import doctest
    import importlib
    name = "kiln.model_zoo.text" + ("" if module == "__init__" else "." + module)
    result = doctest.testmod(importlib.import_module(name), extraglobs={"kiln": kiln},
                             optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


class _InterleavedSelfAtt(kiln.nn.HybridBlock):
    def hybrid_forward(self, F, qkv, length):
        att = F.softmax(F.contrib.interleaved_matmul_selfatt_qk(qkv, heads=2), axis=-1)
        out = F.contrib.interleaved_matmul_selfatt_valatt(qkv, att, heads=2)
        return F.SequenceMask(out, sequence_length=length, use_sequence_length=True, axis=0)


class _InterleavedEncDec(kiln.nn.HybridBlock):
    def hybrid_forward(self, F, q, kv):
        att = F.softmax(F.contrib.interleaved_matmul_encdec_qk(q, kv, heads=2), axis=-1)
        return F.contrib.interleaved_matmul_encdec_valatt(kv, att, heads=2)


@pytest.mark.parametrize("block, shapes, axes", [
    (_InterleavedSelfAtt, [(5, 2, 12), (2,)], [{0: "t", 1: "b"}, {0: "b"}]),
    (_InterleavedEncDec, [(3, 2, 8), (5, 2, 16)], [{0: "tq", 1: "b"}, {0: "tk", 1: "b"}]),
], ids=["selfatt_sequence_mask", "encdec"])
def test_attention_ops_onnx_dynamic_time_axis(tmp_path, block, shapes, axes):
    """MXNet's (T, B, C) attention ops and SequenceMask export with T and B dynamic (their
    lowerings once baked the traced T into Reshape shapes and the step constants)."""
    rng = np.random.default_rng(7)
    net = block()
    path = net.export_onnx(str(tmp_path / "att.onnx"),
                           *[nd.array(rng.uniform(1, 5, s)) for s in shapes],
                           dynamic_axes={f"data{i}": a for i, a in enumerate(axes)})
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    grow = [(s[0] + 3, s[1] + 1) + s[2:] if len(s) == 3 else (s[0] + 1,) for s in shapes]
    feed = [rng.uniform(1, 5, s).astype(np.float32) for s in grow]
    got = sess.run(None, {f"data{i}": x for i, x in enumerate(feed)})[0]
    np.testing.assert_allclose(got, net(*[nd.array(x) for x in feed]).asnumpy(), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.skipif(not os.environ.get("KILN_TEST_ZOO_FULL"), reason="KILN_TEST_ZOO_FULL=1")
@pytest.mark.parametrize("name", ["bert_12_768_12", "transformer_en_de_512"])
def test_full_config_forward(name):
    kiln.random.seed(0)
    net = get_model(name)
    net.initialize(kiln.init.Normal(0.02))
    net.hybridize()
    x, vl = nd.array(np.arange(16).reshape(1, 16) % 7), nd.array([12])
    if name.startswith("bert"):
        seq, pooled, nsp, mlm = net(x, nd.zeros((1, 16)), vl, nd.array([[1, 3]]))
        assert (seq.shape, pooled.shape, nsp.shape, mlm.shape) == (
            (1, 16, 768), (1, 768), (1, 2), (1, 2, 30522))
        out = mlm
    else:
        out = net(x, x, vl, vl)
        assert out.shape == (1, 16, 36794)
    assert np.isfinite(out.asnumpy()).all()
