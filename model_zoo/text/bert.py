"""BERT (Devlin et al., 2018) with GluonNLP 0.x's BERTModel structure: word and token-type
embeddings, learned positions (up to ``max_length``) added in the encoder, dropout then
LayerNorm (epsilon 1e-12; GluonNLP 0.10's order), post-norm encoder cells with biased
projections and GELU (erf) FFNs, padded output rows zeroed, a tanh pooler over
the first token, the next-sentence classifier (``classifier``, Dense(2)) and the masked-LM
decoder (Dense, GELU, LayerNorm, Dense(vocab) tied to the word embedding).

``bert_12_768_12`` (BERT-base), ``bert_24_1024_16`` (BERT-large) and ``bert_2_128_2`` (tiny).

Example::

    >>> net = bert_2_128_2(vocab_size=50, use_decoder=False, use_classifier=False)
    >>> net.initialize()
    >>> seq, pooled = net(kiln.nd.ones((2, 6)), kiln.nd.zeros((2, 6)), kiln.nd.array([6, 2]))
    >>> seq.shape, pooled.shape
    ((2, 6, 128), (2, 128))
"""
from ... import nn
from ...device import cpu
from ...nn import HybridBlock
from ..model_store import DEFAULT_ROOT
from ._store import load_local
from .attention import TransformerEncoderCell, mask_padding, valid_length_mask

__all__ = ["BERTEncoder", "BERTModel", "bert_12_768_12", "bert_24_1024_16", "bert_2_128_2"]


class BERTEncoder(HybridBlock):
    """Adds learned positions (``position_weight`` (max_length, units)), dropout, LayerNorm,
    then ``num_layers`` encoder cells (GELU, epsilon 1e-12).

    inputs (B, T, units) embeddings, valid_length (B,) or None -> (B, T, units), rows at or
    past valid_length zeroed.

    Example::

        >>> enc = BERTEncoder(num_layers=1, units=8, hidden_size=16, num_heads=2)
        >>> enc.initialize(); enc(kiln.nd.ones((2, 3, 8)), kiln.nd.array([3, 1])).shape
        (2, 3, 8)
    """

    def __init__(self, num_layers=12, units=768, hidden_size=3072, num_heads=12, max_length=512,
                 dropout=0.0, layer_norm_eps=1e-12, weight_initializer=None,
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self._units, self._max_length = units, max_length
        with self.name_scope():
            self.position_weight = self.params.get("position_weight", shape=(max_length, units),
                                                   init=weight_initializer)
            self.layer_norm = nn.LayerNorm(epsilon=layer_norm_eps, in_channels=units)
            self.dropout_layer = nn.Dropout(dropout)
            self.transformer_cells = nn.HybridSequential()
            for i in range(num_layers):
                self.transformer_cells.add(TransformerEncoderCell(
                    units, hidden_size, num_heads, dropout=dropout, activation="gelu",
                    layer_norm_eps=layer_norm_eps, attention_use_bias=True, proj_use_bias=True,
                    weight_initializer=weight_initializer,
                    bias_initializer=bias_initializer, prefix=f"transformer{i}_"))

    def hybrid_forward(self, F, inputs, valid_length=None, position_weight=None):
        mask = None if valid_length is None else valid_length_mask(F, inputs, valid_length)
        steps = F.contrib.arange_like(inputs, axis=1)
        pos = F.Embedding(steps, position_weight, input_dim=self._max_length,
                          output_dim=self._units)
        x = F.broadcast_add(inputs, F.expand_dims(pos, axis=0))
        x = self.layer_norm(self.dropout_layer(x))
        for cell in self.transformer_cells:
            x = cell(x, mask)
        return x if valid_length is None else mask_padding(F, x, valid_length)


class BERTModel(HybridBlock):
    """GluonNLP's BERTModel.

    ``forward(inputs (B, T), token_types (B, T), valid_length (B,) or None,
    masked_positions (B, M) or None)`` returns a tuple: the sequence encoding (B, T, units);
    then, when enabled, the pooled first token (B, units) (``use_pooler``), the next-sentence
    logits (B, 2) (``use_classifier``) and, when ``masked_positions`` is given, the masked-LM
    logits (B, M, vocab_size) (``use_decoder``). With only the encoding enabled it is returned
    alone. Token ids and positions may be float or int.

    Example::

        >>> net = BERTModel(vocab_size=20, num_layers=1, units=8, hidden_size=16, num_heads=2)
        >>> net.initialize()
        >>> outs = net(kiln.nd.ones((2, 4)), kiln.nd.zeros((2, 4)), kiln.nd.array([4, 2]),
        ...            kiln.nd.array([[1, 2], [0, 1]]))
        >>> [o.shape for o in outs]
        [(2, 4, 8), (2, 8), (2, 2), (2, 2, 20)]
    """

    def __init__(self, vocab_size=30522, token_type_vocab_size=2, num_layers=12, units=768,
                 hidden_size=3072, num_heads=12, max_length=512, dropout=0.0,
                 embed_dropout=0.0, use_pooler=True, use_decoder=True, use_classifier=True,
                 use_token_type_embed=True, weight_initializer=None, embed_initializer=None,
                 **kwargs):
        super().__init__(**kwargs)
        if use_classifier and not use_pooler:
            raise ValueError("use_classifier=True needs use_pooler=True")
        self._units = units
        self._use_pooler, self._use_decoder = use_pooler, use_decoder
        self._use_classifier = use_classifier
        self._use_token_type_embed = use_token_type_embed
        with self.name_scope():
            self.encoder = BERTEncoder(num_layers, units, hidden_size, num_heads, max_length,
                                       dropout=dropout, weight_initializer=weight_initializer,
                                       prefix="encoder_")
            self.word_embed = self._embedding(vocab_size, units, embed_dropout,
                                              embed_initializer, "word_embed_")
            if use_token_type_embed:
                self.token_type_embed = self._embedding(token_type_vocab_size, units,
                                                        embed_dropout, embed_initializer,
                                                        "token_type_embed_")
            if use_pooler:
                self.pooler = nn.Dense(units, flatten=False, activation="tanh",
                                       in_units=units, prefix="pooler_")
                if self._use_classifier:
                    self.classifier = nn.Dense(2, in_units=units, prefix="cls_")
            if use_decoder:
                self.decoder = nn.HybridSequential(prefix="decoder_")
                with self.decoder.name_scope():
                    self.decoder.add(nn.Dense(units, flatten=False, in_units=units))
                    self.decoder.add(nn.GELU())
                    self.decoder.add(nn.LayerNorm(epsilon=1e-12, in_channels=units))
                    self.decoder.add(nn.Dense(vocab_size, flatten=False, in_units=units,
                                              params=self.word_embed[0].params))

    @staticmethod
    def _embedding(vocab, units, dropout, init, prefix):
        seq = nn.HybridSequential(prefix=prefix)
        with seq.name_scope():
            seq.add(nn.Embedding(vocab, units, weight_initializer=init))
            if dropout:
                seq.add(nn.Dropout(dropout))
        return seq

    def _decode(self, F, seq, masked_positions):
        """Rows ``masked_positions`` (B, M) of ``seq`` (B, T, C) through the MLM decoder: a
        one-hot (B, M, T) product gathers them and keeps both axes dynamic in ONNX."""
        steps = F.cast(F.contrib.arange_like(seq, axis=1), dtype="float32")     # (T,)
        pos = F.expand_dims(F.cast(masked_positions, dtype="float32"), axis=2)  # (B, M, 1)
        onehot = F.broadcast_equal(pos, F.expand_dims(F.expand_dims(steps, axis=0), axis=0))
        return self.decoder(F.batch_dot(F.cast(onehot, dtype="float32"), seq))

    def hybrid_forward(self, F, inputs, token_types=None, valid_length=None,
                       masked_positions=None):
        x = self.word_embed(inputs)
        if self._use_token_type_embed and token_types is not None:
            x = x + self.token_type_embed(token_types)
        seq = self.encoder(x, valid_length)
        outputs = [seq]
        if self._use_pooler:
            first = F.squeeze(F.slice_axis(seq, axis=1, begin=0, end=1), axis=1)
            pooled = self.pooler(first)
            outputs.append(pooled)
            if self._use_classifier:
                outputs.append(self.classifier(pooled))
        if self._use_decoder and masked_positions is not None:
            outputs.append(self._decode(F, seq, masked_positions))
        return outputs[0] if len(outputs) == 1 else tuple(outputs)


def _bert(name, pretrained, ctx, root, dataset_name, cfg, kwargs):
    cfg.update(kwargs)
    net = BERTModel(**cfg)
    if pretrained:   # a file with the pooler and both heads also loads into a model without
        heads = [cfg.get(k, True) for k in ("use_pooler", "use_decoder", "use_classifier")]
        load_local(net, f"{name}_{dataset_name}" if dataset_name else name, ctx, root,
                   ignore_extra=not all(heads))
    return net


def bert_12_768_12(pretrained=False, ctx=cpu(), root=DEFAULT_ROOT,
                   dataset_name="book_corpus_wiki_en_uncased", **kwargs):
    """BERT-base: 12 layers, units 768, 12 heads, hidden 3072, dropout 0.1, vocabulary 30522.
    ``pretrained=True`` loads ``<root>/bert_12_768_12_<dataset_name>.params`` or GluonNLP's
    ``...-<hash>.params`` (no download).

    Example::

        >>> bert_12_768_12(vocab_size=100).encoder.transformer_cells[11].ffn.ffn_1.weight.shape
        (3072, 768)
    """
    cfg = dict(num_layers=12, units=768, hidden_size=3072, num_heads=12, max_length=512,
               dropout=0.1)
    return _bert("bert_12_768_12", pretrained, ctx, root, dataset_name, cfg, kwargs)


def bert_24_1024_16(pretrained=False, ctx=cpu(), root=DEFAULT_ROOT,
                    dataset_name="book_corpus_wiki_en_uncased", **kwargs):
    """BERT-large: 24 layers, units 1024, 16 heads, hidden 4096, dropout 0.1.

    Example::

        >>> len(bert_24_1024_16(vocab_size=100).encoder.transformer_cells)
        24
    """
    cfg = dict(num_layers=24, units=1024, hidden_size=4096, num_heads=16, max_length=512,
               dropout=0.1)
    return _bert("bert_24_1024_16", pretrained, ctx, root, dataset_name, cfg, kwargs)


def bert_2_128_2(pretrained=False, ctx=cpu(), root=DEFAULT_ROOT, dataset_name=None, **kwargs):
    """A tiny BERT for tests: 2 layers, units 128, 2 heads, hidden 512, max length 64,
    dropout 0, vocabulary 100.

    Example::

        >>> bert_2_128_2().word_embed[0].weight.shape
        (100, 128)
    """
    cfg = dict(vocab_size=100, num_layers=2, units=128, hidden_size=512, num_heads=2,
               max_length=64, dropout=0.0)
    return _bert("bert_2_128_2", pretrained, ctx, root, dataset_name, cfg, kwargs)
