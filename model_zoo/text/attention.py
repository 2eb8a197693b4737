"""Blocks shared by the Transformer and BERT: multi-head attention, the position-wise FFN, the
(post-norm) encoder cell, sinusoidal position encodings and the attention masks, with GluonNLP
0.x's structure and child names.

Layout is batch-major: sequences are (B, T, C). Heads are split with a reshape that keeps the
batch and time axes leading, ``(B, T, C) -> (B, T, heads, D)``, and the products are 4-D
``batch_dot``s, so an ONNX export keeps both B and T dynamic (a reshape that merged B with the
heads axis would bake T into the file). Masks are 0/1 arrays broadcastable to (B, T_q, T_k),
built from ``arange_like`` (no Python-side lengths), so they follow dynamic axes too.

Example::

    >>> cell = TransformerEncoderCell(units=16, hidden_size=32, num_heads=2); cell.initialize()
    >>> x = kiln.nd.ones((2, 5, 16))
    >>> cell(x, valid_length_mask(kiln.nd, x, kiln.nd.array([5, 3]))).shape
    (2, 5, 16)
"""
import numpy as np

from ... import nn
from ...nn import HybridBlock

__all__ = ["MultiHeadAttention", "PositionwiseFFN", "TransformerEncoderCell",
           "position_encoding_init", "valid_length_mask", "causal_mask", "mask_padding"]

_NEG = -1e18   # GluonNLP's fill value for masked scores


def position_encoding_init(max_length, dim):
    """GluonNLP 0.x's sinusoidal table (max_length, dim): ``sin`` on even columns, ``cos`` on
    odd ones, of ``pos / 10000 ** (2 j / dim)`` with ``j`` the column (GluonNLP's exponent).

    Example::

        >>> position_encoding_init(50, 8).shape
        (50, 8)
    """
    enc = np.arange(max_length).reshape((-1, 1)) / np.power(
        10000, (2.0 / dim) * np.arange(dim).reshape((1, -1)))
    enc[:, 0::2] = np.sin(enc[:, 0::2])
    enc[:, 1::2] = np.cos(enc[:, 1::2])
    return enc.astype(np.float32)


def _valid(F, x, valid_length):
    """(B, T) 0/1: position < valid_length, T read from x (B, T, ...)."""
    steps = F.expand_dims(F.cast(F.contrib.arange_like(x, axis=1), dtype="float32"), axis=0)
    return F.broadcast_lesser(steps, F.expand_dims(F.cast(valid_length, dtype="float32"), axis=1))


def valid_length_mask(F, keys, valid_length, queries=None):
    """Mask of the key positions below ``valid_length`` (B,): (B, 1, T_k), or with
    ``queries`` (B, T_q, ...) also of the query rows: (B, T_q, T_k) (GluonNLP's decoder
    self-attention batch mask). Broadcasts against (B, T_q, T_k).

    Example::

        >>> valid_length_mask(kiln.nd, kiln.nd.ones((2, 3, 4)), kiln.nd.array([1, 3])).shape
        (2, 1, 3)
    """
    mask = F.expand_dims(_valid(F, keys, valid_length), axis=1)
    if queries is None:
        return mask
    return F.broadcast_mul(F.expand_dims(_valid(F, queries, valid_length), axis=2), mask)


def mask_padding(F, x, valid_length):
    """``x`` (B, T, C) with the steps at or past ``valid_length`` (B,) set to 0 (MXNet's
    ``SequenceMask(axis=1)``, written with ``arange_like`` so that ONNX keeps T dynamic).

    Example::

        >>> mask_padding(kiln.nd, kiln.nd.ones((1, 3, 1)), kiln.nd.array([2]))[0, :, 0].asnumpy()
        array([1., 1., 0.], dtype=float32)
    """
    return F.broadcast_mul(x, F.expand_dims(_valid(F, x, valid_length), axis=2))


def causal_mask(F, queries, keys=None):
    """(1, T_q, T_k) mask: 1 where key position <= query position (no look-ahead).

    Example::

        >>> causal_mask(kiln.nd, kiln.nd.ones((1, 3, 2)))[0].asnumpy()
        array([[1., 0., 0.],
               [1., 1., 0.],
               [1., 1., 1.]], dtype=float32)
    """
    keys = queries if keys is None else keys
    q = F.expand_dims(F.cast(F.contrib.arange_like(queries, axis=1), dtype="float32"), axis=1)
    k = F.expand_dims(F.cast(F.contrib.arange_like(keys, axis=1), dtype="float32"), axis=0)
    return F.expand_dims(F.broadcast_lesser_equal(k, q), axis=0)


class MultiHeadAttention(HybridBlock):
    """Scaled dot-product attention over ``num_heads`` heads (GluonNLP's MultiHeadAttentionCell
    with a DotProductAttentionCell): ``proj_query``/``proj_key``/``proj_value`` Dense(units),
    softmax over the keys with masked scores set to -1e18 and masked weights to 0, dropout on
    the weights. No output projection (the cells own it, as in GluonNLP). ``in_units``: the
    width of query, key and value (0: inferred on the first call).

    query (B, T_q, C_q), key (B, T_k, C_k), value (B, T_k, C_v), mask broadcastable to
    (B, T_q, T_k) or None -> (B, T_q, units).

    Example::

        >>> att = MultiHeadAttention(units=8, num_heads=2); att.initialize()
        >>> att(kiln.nd.ones((2, 3, 4)), kiln.nd.ones((2, 5, 4)), kiln.nd.ones((2, 5, 4))).shape
        (2, 3, 8)
    """

    def __init__(self, units, num_heads, dropout=0.0, use_bias=True, scaled=True,
                 in_units=0, weight_initializer=None, bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if units % num_heads:
            raise ValueError(f"units ({units}) must be divisible by num_heads ({num_heads})")
        self._units, self._num_heads, self._scaled = units, num_heads, scaled
        with self.name_scope():
            dense = dict(flatten=False, use_bias=use_bias, weight_initializer=weight_initializer,
                         bias_initializer=bias_initializer, in_units=in_units)
            self.proj_query = nn.Dense(units, prefix="query_", **dense)
            self.proj_key = nn.Dense(units, prefix="key_", **dense)
            self.proj_value = nn.Dense(units, prefix="value_", **dense)
            self.dropout_layer = nn.Dropout(dropout)

    def _heads(self, F, x):
        """(B, T, units) -> (B, heads, T, D)."""
        return F.transpose(F.reshape(x, shape=(0, 0, self._num_heads, -1)), axes=(0, 2, 1, 3))

    def hybrid_forward(self, F, query, key, value, mask=None):
        q = self._heads(F, self.proj_query(query))
        if self._scaled:
            q = q * (1.0 / float(np.sqrt(self._units // self._num_heads)))
        k = self._heads(F, self.proj_key(key))
        v = self._heads(F, self.proj_value(value))
        scores = F.batch_dot(q, k, transpose_b=True)                        # (B, H, Tq, Tk)
        if mask is not None:
            mask = F.expand_dims(mask, axis=1)                                 # (B|1, 1, Tq|1, Tk)
            scores = F.broadcast_add(scores, (mask - 1.0) * -_NEG)
            weights = F.broadcast_mul(F.softmax(scores, axis=-1), mask)
        else:
            weights = F.softmax(scores, axis=-1)
        out = F.batch_dot(self.dropout_layer(weights), v)                     # (B, H, Tq, D)
        return F.reshape(F.transpose(out, axes=(0, 2, 1, 3)), shape=(0, 0, -1))


class PositionwiseFFN(HybridBlock):
    """GluonNLP's PositionwiseFFN: ``layer_norm(x + dropout(ffn_2(act(ffn_1(x)))))``.

    x (B, T, units) -> (B, T, units). ``activation``: 'relu' or 'gelu' (erf).

    Example::

        >>> ffn = PositionwiseFFN(units=4, hidden_size=8); ffn.initialize()
        >>> ffn(kiln.nd.ones((2, 3, 4))).shape
        (2, 3, 4)
    """

    def __init__(self, units, hidden_size, dropout=0.0, activation="relu", layer_norm_eps=1e-5,
                 weight_initializer=None, bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.ffn_1 = nn.Dense(hidden_size, flatten=False, in_units=units,
                                  weight_initializer=weight_initializer,
                                  bias_initializer=bias_initializer, prefix="ffn_1_")
            self.activation = nn.GELU() if activation == "gelu" else nn.Activation(activation)
            self.ffn_2 = nn.Dense(units, flatten=False, in_units=hidden_size,
                                  weight_initializer=weight_initializer,
                                  bias_initializer=bias_initializer, prefix="ffn_2_")
            self.dropout_layer = nn.Dropout(dropout)
            self.layer_norm = nn.LayerNorm(epsilon=layer_norm_eps, in_channels=units)

    def hybrid_forward(self, F, x):
        y = self.dropout_layer(self.ffn_2(self.activation(self.ffn_1(x))))
        return self.layer_norm(y + x)


class TransformerEncoderCell(HybridBlock):
    """One post-norm encoder layer (GluonNLP 0.x's TransformerEncoderCell / BERTEncoderCell):
    ``h = layer_norm(x + dropout(proj(attention(x, x, x, mask))))``, then ``ffn(h)``.
    GluonNLP's Transformer has no bias in the attention and ``proj`` projections
    (``attention_use_bias=False``, ``proj_use_bias=False``, the defaults); BERT has both.

    x (B, T, units), mask broadcastable to (B, T, T) or None -> (B, T, units).

    Example::

        >>> cell = TransformerEncoderCell(units=8, hidden_size=16, num_heads=2); cell.initialize()
        >>> cell(kiln.nd.ones((1, 3, 8))).shape
        (1, 3, 8)
    """

    def __init__(self, units=512, hidden_size=2048, num_heads=8, dropout=0.0,
                 activation="relu", layer_norm_eps=1e-5, attention_use_bias=False,
                 proj_use_bias=False, weight_initializer=None, bias_initializer="zeros",
                 **kwargs):
        super().__init__(**kwargs)
        init = dict(weight_initializer=weight_initializer, bias_initializer=bias_initializer)
        with self.name_scope():
            self.attention_cell = MultiHeadAttention(
                units, num_heads, dropout=dropout, in_units=units, use_bias=attention_use_bias,
                prefix="attention_cell_", **init)
            self.proj = nn.Dense(units, flatten=False, in_units=units, use_bias=proj_use_bias,
                                 prefix="proj_", **init)
            self.dropout_layer = nn.Dropout(dropout)
            self.layer_norm = nn.LayerNorm(epsilon=layer_norm_eps, in_channels=units)
            self.ffn = PositionwiseFFN(units, hidden_size, dropout=dropout,
                                       activation=activation, layer_norm_eps=layer_norm_eps,
                                       prefix="ffn_", **init)

    def hybrid_forward(self, F, x, mask=None):
        att = self.attention_cell(x, x, x, mask)
        h = self.layer_norm(x + self.dropout_layer(self.proj(att)))
        return self.ffn(h)
