"""Transformer encoder-decoder ("Attention Is All You Need") with GluonNLP 0.x's structure:
post-norm cells without biases in the attention projections, inputs scaled by sqrt(units)
plus a constant sinusoidal position table, then LayerNorm and dropout (encoder) or dropout and
LayerNorm (decoder), as GluonNLP orders them. Source padding is masked from
``src_valid_length`` (keys of both attentions, encoder output rows); target self-attention is
causal, and with ``tgt_valid_length`` the padded target rows are masked and zeroed too.

``transformer_en_de_512``: 6 + 6 layers, 8 heads, units 512, hidden 2048, dropout 0.1, one
embedding shared by source, target and the output projection (WMT14 en-de BPE vocabulary of
36794). ``transformer_2_64_4`` is a tiny configuration for tests.

Example::

    >>> net = transformer_2_64_4(src_vocab_size=20, num_layers=1); net.initialize()
    >>> src, tgt = kiln.nd.ones((2, 5)), kiln.nd.ones((2, 4))
    >>> net(src, tgt, kiln.nd.array([5, 3])).shape
    (2, 4, 20)
"""
import math

from ... import nn
from ...device import cpu
from ...nn import HybridBlock
from ..model_store import DEFAULT_ROOT
from ._store import load_local
from .attention import (
    MultiHeadAttention,
    PositionwiseFFN,
    TransformerEncoderCell,
    causal_mask,
    mask_padding,
    position_encoding_init,
    valid_length_mask,
)

__all__ = ["TransformerEncoder", "TransformerDecoderCell", "TransformerDecoder",
           "TransformerModel", "transformer_en_de_512", "transformer_2_64_4"]


class _Stack(HybridBlock):
    """Input embedding of GluonNLP's TransformerEncoder/Decoder: scale, add positions, then
    LayerNorm and dropout (``norm_first``, the encoder) or dropout and LayerNorm (the decoder);
    ``position_weight`` is a constant (max_length, units) table."""

    def _init_inputs(self, units, max_length, dropout, scale_embed, norm_inputs, norm_first):
        self._units, self._max_length = units, max_length
        self._scale_embed, self._norm_inputs = scale_embed, norm_inputs
        self._norm_first = norm_first
        self.dropout_layer = nn.Dropout(dropout)
        if norm_inputs:
            self.layer_norm = nn.LayerNorm(in_channels=units)
        self.position_weight = self.params.get_constant(
            "const", position_encoding_init(max_length, units))

    def _embed(self, F, x, position_weight):
        if self._scale_embed:
            x = x * math.sqrt(self._units)
        steps = F.contrib.arange_like(x, axis=1)
        pos = F.Embedding(steps, position_weight, input_dim=self._max_length,
                          output_dim=self._units)
        x = F.broadcast_add(x, F.expand_dims(pos, axis=0))
        if not self._norm_inputs:
            return self.dropout_layer(x)
        if self._norm_first:
            return self.dropout_layer(self.layer_norm(x))
        return self.layer_norm(self.dropout_layer(x))


class TransformerEncoder(_Stack):
    """``num_layers`` TransformerEncoderCells over embedded inputs.

    inputs (B, T, units) embedded tokens, valid_length (B,) or None -> (B, T, units), rows at
    or past valid_length zeroed.

    Example::

        >>> enc = TransformerEncoder(num_layers=1, units=8, hidden_size=16, num_heads=2)
        >>> enc.initialize(); enc(kiln.nd.ones((2, 3, 8)), kiln.nd.array([3, 1])).shape
        (2, 3, 8)
    """

    def __init__(self, num_layers=6, units=512, hidden_size=2048, num_heads=8, max_length=530,
                 dropout=0.0, scale_embed=True, norm_inputs=True, weight_initializer=None,
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self._init_inputs(units, max_length, dropout, scale_embed, norm_inputs, True)
            self.transformer_cells = nn.HybridSequential()
            for i in range(num_layers):
                self.transformer_cells.add(TransformerEncoderCell(
                    units, hidden_size, num_heads, dropout=dropout,
                    weight_initializer=weight_initializer, bias_initializer=bias_initializer,
                    prefix=f"transformer{i}_"))

    def hybrid_forward(self, F, inputs, valid_length=None, position_weight=None):
        mask = None if valid_length is None else valid_length_mask(F, inputs, valid_length)
        x = self._embed(F, inputs, position_weight)
        for cell in self.transformer_cells:
            x = cell(x, mask)
        return x if valid_length is None else mask_padding(F, x, valid_length)


class TransformerDecoderCell(HybridBlock):
    """Post-norm decoder layer: masked self-attention, attention over the encoder's memory,
    FFN, each followed by proj, dropout, residual and LayerNorm (GluonNLP's child names; no
    bias in the attention projections, ``proj_in`` and ``proj_inter``).

    x (B, T, units), mem (B, S, units), self_mask ~ (B, T, T), mem_mask ~ (B, T, S)
    -> (B, T, units).

    Example::

        >>> cell = TransformerDecoderCell(units=8, hidden_size=16, num_heads=2); cell.initialize()
        >>> cell(kiln.nd.ones((1, 3, 8)), kiln.nd.ones((1, 4, 8))).shape
        (1, 3, 8)
    """

    def __init__(self, units=512, hidden_size=2048, num_heads=8, dropout=0.0,
                 weight_initializer=None, bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        init = dict(weight_initializer=weight_initializer, bias_initializer=bias_initializer)
        att = dict(dropout=dropout, in_units=units, use_bias=False, **init)
        with self.name_scope():
            self.attention_cell_in = MultiHeadAttention(units, num_heads,
                                                        prefix="attention_cell_in_", **att)
            self.attention_cell_inter = MultiHeadAttention(
                units, num_heads, prefix="attention_cell_inter_", **att)
            self.proj_in = nn.Dense(units, flatten=False, in_units=units, use_bias=False,
                                    prefix="proj_in_", **init)
            self.proj_inter = nn.Dense(units, flatten=False, in_units=units, use_bias=False,
                                       prefix="proj_inter_", **init)
            self.dropout_layer = nn.Dropout(dropout)
            self.layer_norm_in = nn.LayerNorm(in_channels=units)
            self.layer_norm_inter = nn.LayerNorm(in_channels=units)
            self.ffn = PositionwiseFFN(units, hidden_size, dropout=dropout, prefix="ffn_", **init)

    def hybrid_forward(self, F, x, mem, self_mask=None, mem_mask=None):
        h = self.attention_cell_in(x, x, x, self_mask)
        x = self.layer_norm_in(x + self.dropout_layer(self.proj_in(h)))
        h = self.attention_cell_inter(x, mem, mem, mem_mask)
        x = self.layer_norm_inter(x + self.dropout_layer(self.proj_inter(h)))
        return self.ffn(x)


class TransformerDecoder(_Stack):
    """``num_layers`` TransformerDecoderCells; self-attention is causal, memory attention masks
    source positions at or past ``mem_valid_length``; with ``valid_length`` the target rows at
    or past it attend to nothing and the output rows there are zeroed (GluonNLP's decode_seq).

    inputs (B, T, units), mem (B, S, units), mem_valid_length (B,) or None,
    valid_length (B,) or None -> (B, T, units).

    Example::

        >>> dec = TransformerDecoder(num_layers=1, units=8, hidden_size=16, num_heads=2)
        >>> dec.initialize(); dec(kiln.nd.ones((2, 3, 8)), kiln.nd.ones((2, 4, 8))).shape
        (2, 3, 8)
    """

    def __init__(self, num_layers=6, units=512, hidden_size=2048, num_heads=8, max_length=549,
                 dropout=0.0, scale_embed=True, norm_inputs=True, weight_initializer=None,
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self._init_inputs(units, max_length, dropout, scale_embed, norm_inputs, False)
            self.transformer_cells = nn.HybridSequential()
            for i in range(num_layers):
                self.transformer_cells.add(TransformerDecoderCell(
                    units, hidden_size, num_heads, dropout=dropout,
                    weight_initializer=weight_initializer, bias_initializer=bias_initializer,
                    prefix=f"transformer{i}_"))

    def hybrid_forward(self, F, inputs, mem, mem_valid_length=None, valid_length=None,
                       position_weight=None):
        self_mask = causal_mask(F, inputs)
        if valid_length is not None:
            self_mask = F.broadcast_mul(self_mask, valid_length_mask(F, inputs, valid_length,
                                                                     queries=inputs))
        mem_mask = (None if mem_valid_length is None
                    else valid_length_mask(F, mem, mem_valid_length))
        x = self._embed(F, inputs, position_weight)
        for cell in self.transformer_cells:
            x = cell(x, mem, self_mask, mem_mask)
        return x if valid_length is None else mask_padding(F, x, valid_length)


class TransformerModel(HybridBlock):
    """Encoder-decoder with embeddings and the output projection (GluonNLP's NMTModel with
    Transformer encoder and decoder; teacher forcing).

    ``forward(src (B, S), tgt (B, T), src_valid_length (B,) or None, tgt_valid_length=None)``
    -> logits (B, T, tgt_vocab_size). Token ids may be float or int. Logits of target steps
    at or past ``tgt_valid_length`` are the output bias only (their decoder rows are zeroed,
    as in GluonNLP): mask the loss there.
    ``encode(src, src_valid_length)`` -> memory (B, S, units);
    ``decode(tgt, memory, src_valid_length, tgt_valid_length)`` -> logits.

    Example::

        >>> net = TransformerModel(10, num_layers=1, units=8, hidden_size=16, num_heads=2)
        >>> net.initialize(); net(kiln.nd.ones((1, 4)), kiln.nd.ones((1, 3))).shape
        (1, 3, 10)
    """

    def __init__(self, src_vocab_size, tgt_vocab_size=None, num_layers=6, units=512,
                 hidden_size=2048, num_heads=8, dropout=0.0, max_src_length=530,
                 max_tgt_length=549, share_embed=True, tie_weights=True, embed_dropout=0.0,
                 weight_initializer=None, embed_initializer=None, **kwargs):
        super().__init__(**kwargs)
        tgt_vocab_size = src_vocab_size if tgt_vocab_size is None else tgt_vocab_size
        if share_embed and tgt_vocab_size != src_vocab_size:
            raise ValueError("share_embed needs src_vocab_size == tgt_vocab_size")
        cfg = dict(num_layers=num_layers, units=units, hidden_size=hidden_size,
                   num_heads=num_heads, dropout=dropout, weight_initializer=weight_initializer)
        with self.name_scope():
            self.src_embed = self._embedding(src_vocab_size, units, embed_dropout,
                                             embed_initializer, "src_embed_")
            self.tgt_embed = self.src_embed if share_embed else self._embedding(
                tgt_vocab_size, units, embed_dropout, embed_initializer, "tgt_embed_")
            self.encoder = TransformerEncoder(max_length=max_src_length, prefix="enc_", **cfg)
            self.decoder = TransformerDecoder(max_length=max_tgt_length, prefix="dec_", **cfg)
            shared = self.tgt_embed[0].params if tie_weights else None
            self.tgt_proj = nn.Dense(tgt_vocab_size, flatten=False, params=shared,
                                     in_units=units, prefix="tgt_proj_")

    @staticmethod
    def _embedding(vocab, units, dropout, init, prefix):
        seq = nn.HybridSequential(prefix=prefix)
        with seq.name_scope():
            seq.add(nn.Embedding(vocab, units, weight_initializer=init))
            seq.add(nn.Dropout(dropout))
        return seq

    def encode(self, src, src_valid_length=None):
        return self.encoder(self.src_embed(src), src_valid_length)

    def decode(self, tgt, memory, src_valid_length=None, tgt_valid_length=None):
        return self.tgt_proj(self.decoder(self.tgt_embed(tgt), memory, src_valid_length,
                                          tgt_valid_length))

    def hybrid_forward(self, F, src, tgt, src_valid_length=None, tgt_valid_length=None):
        return self.decode(tgt, self.encode(src, src_valid_length), src_valid_length,
                           tgt_valid_length)


def _transformer(name, pretrained, ctx, root, **kwargs):
    net = TransformerModel(**kwargs)
    if pretrained:
        load_local(net, name, ctx, root)
    return net


def transformer_en_de_512(src_vocab_size=36794, tgt_vocab_size=None, pretrained=False,
                          ctx=cpu(), root=DEFAULT_ROOT, **kwargs):
    """GluonNLP's ``transformer_en_de_512``: 6+6 layers, 8 heads, units 512, hidden 2048,
    dropout 0.1, shared and tied embeddings. ``pretrained=True`` loads
    ``<root>/transformer_en_de_512_WMT2014.params`` (no download).

    Example::

        >>> transformer_en_de_512(src_vocab_size=100).decoder.transformer_cells[0].ffn
        ... # doctest: +ELLIPSIS
        PositionwiseFFN(...)
    """
    cfg = dict(num_layers=6, units=512, hidden_size=2048, num_heads=8, dropout=0.1)
    cfg.update(kwargs)
    return _transformer("transformer_en_de_512_WMT2014", pretrained, ctx, root,
                        src_vocab_size=src_vocab_size, tgt_vocab_size=tgt_vocab_size, **cfg)


def transformer_2_64_4(src_vocab_size=100, tgt_vocab_size=None, pretrained=False, ctx=cpu(),
                       root=DEFAULT_ROOT, **kwargs):
    """A tiny Transformer for tests: 2+2 layers, 4 heads, units 64, hidden 128, dropout 0.

    Example::

        >>> net = transformer_2_64_4(src_vocab_size=30); net.initialize()
        >>> net(kiln.nd.ones((2, 5)), kiln.nd.ones((2, 4))).shape
        (2, 4, 30)
    """
    cfg = dict(num_layers=2, units=64, hidden_size=128, num_heads=4, dropout=0.0,
               max_src_length=64, max_tgt_length=64)
    cfg.update(kwargs)
    return _transformer("transformer_2_64_4", pretrained, ctx, root,
                        src_vocab_size=src_vocab_size, tgt_vocab_size=tgt_vocab_size, **cfg)
