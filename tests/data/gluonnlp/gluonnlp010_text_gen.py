"""Writes the GluonNLP 0.10 text-model fixtures (not run by the tests):

    PYTHONPATH=<dir with gluonnlp 0.10.0> .mxnet-venv/bin/python \
        tests/data/gluonnlp/gluonnlp010_text_gen.py tests/data/gluonnlp

With MXNet 1.9.1 and GluonNLP 0.10.0: a BERTModel (2 layers, units 16, 2 heads, hidden 32,
max length 16, vocabulary 20, pooler, classifier and MLM decoder) and an NMTModel with
GluonNLP's Transformer encoder/decoder (2+2 layers, same sizes, shared and tied embeddings),
initialized with Normal(0.3) and saved with ``save_parameters`` (``gluonnlp010_bert.params``,
``gluonnlp010_transformer.params``); ``gluonnlp010_text_io.npz`` holds the inputs and
GluonNLP's outputs (BERT: sequence, pooled, NSP, MLM; NMT: logits with source and target
valid lengths).
"""
import os
import sys

import gluonnlp as nlp
import mxnet as mx
import numpy as np
from gluonnlp.model.bert import BERTEncoder, BERTModel
from gluonnlp.model.transformer import get_transformer_encoder_decoder
from gluonnlp.model.translation import NMTModel


def main(out_dir):
    mx.random.seed(0)
    rng = np.random.RandomState(0)
    out = {}
    enc = BERTEncoder(num_layers=2, units=16, hidden_size=32, max_length=16, num_heads=2,
                      dropout=0.0)
    bert = BERTModel(enc, vocab_size=20, token_type_vocab_size=2, units=16, embed_size=16)
    bert.initialize(mx.init.Normal(0.3))
    tok = rng.randint(0, 20, (2, 6)).astype("float32")
    types = rng.randint(0, 2, (2, 6)).astype("float32")
    vl = np.array([6, 4], "float32")
    pos = np.array([[1, 5], [0, 3]], "float32")
    res = bert(mx.nd.array(tok), mx.nd.array(types), mx.nd.array(vl), mx.nd.array(pos))
    for i, r in enumerate(res):
        out[f"bert_out{i}"] = r.asnumpy()
    out.update(bert_tok=tok, bert_tt=types, bert_vl=vl, bert_mp=pos)
    bert.save_parameters(os.path.join(out_dir, "gluonnlp010_bert.params"))

    vocab = nlp.Vocab(nlp.data.count_tokens([f"w{i}" for i in range(16)]))   # 20 with specials
    enc, dec, step_dec = get_transformer_encoder_decoder(
        num_layers=2, num_heads=2, units=16, hidden_size=32, dropout=0.0, max_src_length=16,
        max_tgt_length=16)
    nmt = NMTModel(vocab, vocab, enc, dec, step_dec, share_embed=True, embed_size=16,
                   tie_weights=True, prefix="transformer_")
    nmt.initialize(mx.init.Normal(0.3))
    src = rng.randint(0, 20, (2, 6)).astype("float32")
    tgt = rng.randint(0, 20, (2, 5)).astype("float32")
    svl, tvl = np.array([6, 3], "float32"), np.array([5, 2], "float32")
    logits, _ = nmt(mx.nd.array(src), mx.nd.array(tgt), mx.nd.array(svl), mx.nd.array(tvl))
    out.update(nmt_out=logits.asnumpy(), nmt_src=src, nmt_tgt=tgt, nmt_svl=svl, nmt_tvl=tvl)
    nmt.save_parameters(os.path.join(out_dir, "gluonnlp010_transformer.params"))
    np.savez(os.path.join(out_dir, "gluonnlp010_text_io.npz"), **out)


if __name__ == "__main__":
    main(sys.argv[1])
