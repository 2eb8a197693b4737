"""Word-level LSTM language models with GluonNLP 0.x's structure (MXNet's
``word_language_model`` example): ``StandardRNN`` (Zaremba et al., 2014) and ``AWDRNN``
(Merity et al., 2017, "Regularizing and Optimizing LSTM Language Models").

Both map token ids ``inputs`` (T, N) (int or float) and optional states to
``(logits (T, N, vocab_size), states)``; with ``tie_weights`` the decoder (a Dense) shares the
embedding's weight (vocab_size, embed_size). Truncated BPTT as in MXNet: feed the returned
states to the next batch (``[s.detach() for s in states]``, or the states themselves: an output
of a graph already differentiated is a constant to the next one).

Registered configurations (GluonNLP's hyperparameters; ``vocab_size`` is an argument):

=========================  =====  ======  ======  ===========================================
name                       embed  hidden  layers  dropouts
=========================  =====  ======  ======  ===========================================
``standard_lstm_lm_200``   200    200     2       dropout 0.2
``standard_lstm_lm_650``   650    650     2       dropout 0.5
``standard_lstm_lm_1500``  1500   1500    2       dropout 0.65
``awd_lstm_lm_600``        200    600     3       0.2 out, 0.2 weight, 0.1 h, 0.3 i, 0.05 e
``awd_lstm_lm_1150``       400    1150    3       0.4 out, 0.5 weight, 0.2 h, 0.65 i, 0.1 e
=========================  =====  ======  ======  ===========================================

All tie weights. AWD's weight drop (DropConnect on each layer's hidden-to-hidden weights, one
mask per call, in training mode only) and embedding drop (whole rows of the embedding weight)
are exact, as GluonNLP's ``apply_weight_drop``: the weight goes through ``Dropout`` before
the fused ``RNN`` op (``axes=(1,)`` for the embedding rows).

Example::

    >>> net = standard_lstm_lm_200(vocab_size=30); net.initialize()
    >>> logits, states = net(kiln.nd.ones((5, 2)), net.begin_state(batch_size=2))
    >>> logits.shape, [s.shape for s in states]
    ((5, 2, 30), [(2, 2, 200), (2, 2, 200)])
"""
from ... import initializer as init
from ... import nn
from ...device import cpu
from ...nn import HybridBlock
from ...nn.rnn import LSTM
from ..model_store import DEFAULT_ROOT
from ._store import load_local

__all__ = ["StandardRNN", "AWDRNN", "standard_lstm_lm_200", "standard_lstm_lm_650",
           "standard_lstm_lm_1500", "awd_lstm_lm_600", "awd_lstm_lm_1150"]


class _DropEmbedding(nn.Embedding):
    """Embedding whose weight rows are dropped in training (``Dropout(weight, axes=(1,))``)."""

    def __init__(self, input_dim, output_dim, drop, **kwargs):
        super().__init__(input_dim, output_dim, **kwargs)
        self._drop = drop

    def hybrid_forward(self, F, x, weight):
        return super().hybrid_forward(F, x, F.Dropout(weight, p=self._drop, axes=(1,)))


class _WeightDropLSTM(LSTM):
    """LSTM whose ``h2h_weight`` go through ``Dropout(p=weight_drop)`` in training."""

    def __init__(self, hidden_size, num_layers, weight_drop, **kwargs):
        super().__init__(hidden_size, num_layers, **kwargs)
        self._weight_drop = weight_drop

    def hybrid_forward(self, F, inputs, *args, **params):
        params = {k: F.Dropout(v, p=self._weight_drop) if k.endswith("h2h_weight") else v
                  for k, v in params.items()}
        return super().hybrid_forward(F, inputs, *args, **params)


def _zeros(F, x, layers, width):
    """Zero states (layers, N, width) made from x (T, N, C), so the batch axis stays dynamic
    in a traced graph (an ONNX export without state inputs)."""
    col = F.sum(F.zeros_like(F.slice_axis(x, axis=0, begin=0, end=1)), axis=2, keepdims=True)
    return F.tile(col, reps=(layers, 1, width))


def _decoder(vocab_size, embed_size, tie_weights, embedding):
    out = nn.HybridSequential()
    with out.name_scope():
        out.add(nn.Dense(vocab_size, flatten=False, in_units=embed_size,
                         params=embedding.params if tie_weights else None))
    return out


def _lstm(hidden, layers, input_size, dropout=0.0, weight_drop=0.0):
    if weight_drop:
        return _WeightDropLSTM(hidden, layers, weight_drop, dropout=dropout,
                               input_size=input_size)
    return LSTM(hidden, layers, dropout=dropout, input_size=input_size)


class StandardRNN(HybridBlock):
    """GluonNLP's StandardRNN: Embedding (Uniform(0.1)), Dropout, an ``num_layers`` LSTM with
    ``dropout`` between layers, Dropout over (N, C) shared across time, Dense decoder.

    ``forward(inputs (T, N), *begin_state)``: states as a list [h, c] (each
    (num_layers, N, hidden_size)), as two arrays, or none (zeros). Returns
    (logits (T, N, vocab_size), [h, c]).

    Example::

        >>> net = StandardRNN("lstm", 20, 8, 8, 2, 0.1, True); net.initialize()
        >>> net(kiln.nd.ones((3, 4)))[0].shape
        (3, 4, 20)
    """

    def __init__(self, mode, vocab_size, embed_size, hidden_size, num_layers, dropout,
                 tie_weights, **kwargs):
        if mode != "lstm":
            raise ValueError(f"mode {mode!r}: kiln's language models are LSTMs ('lstm')")
        if tie_weights and embed_size != hidden_size:
            raise ValueError("tie_weights needs embed_size == hidden_size "
                             f"(got {embed_size} and {hidden_size})")
        super().__init__(**kwargs)
        self._mode, self._vocab_size = mode, vocab_size
        self._embed_size, self._hidden_size = embed_size, hidden_size
        self._num_layers, self._dropout, self._tie_weights = num_layers, dropout, tie_weights
        with self.name_scope():
            self.embedding = nn.HybridSequential()
            with self.embedding.name_scope():
                self.embedding.add(nn.Embedding(vocab_size, embed_size,
                                                weight_initializer=init.Uniform(0.1)))
                if dropout:
                    self.embedding.add(nn.Dropout(dropout))
            self.encoder = _lstm(hidden_size, num_layers, embed_size, dropout)
            self.decoder = _decoder(vocab_size, hidden_size, tie_weights, self.embedding[0])

    def begin_state(self, *args, **kwargs):
        """Zero states [h, c] (``LSTM.begin_state``): ``begin_state(batch_size=N)``."""
        return self.encoder.begin_state(*args, **kwargs)

    def hybrid_forward(self, F, inputs, *begin_state):
        encoded = self.embedding(inputs)
        states = list(begin_state[0]) if len(begin_state) == 1 else list(begin_state)
        if not states or states[0] is None:
            states = [_zeros(F, encoded, self._num_layers, self._hidden_size)] * 2
        encoded, states = self.encoder(encoded, states)
        if self._dropout:
            encoded = F.Dropout(encoded, p=self._dropout, axes=(0,))
        return self.decoder(encoded), states


class AWDRNN(HybridBlock):
    """GluonNLP's AWDRNN: Embedding (Uniform(0.1)) with embedding drop ``drop_e``, Dropout
    ``drop_i``, ``num_layers`` one-layer LSTMs (the last one of width embed_size when tied) with
    weight drop ``weight_drop`` and ``drop_h`` between them, Dropout ``dropout``, Dense decoder.
    The Dropouts on activations share their mask across time (``axes=(0,)``).

    ``forward(inputs (T, N), *begin_state)``: states as a list of per-layer [h, c], as
    2 * num_layers arrays (h0, c0, h1, c1...), or none (zeros). Returns
    (logits (T, N, vocab_size), [[h, c] per layer]), h and c (1, N, width of that layer).

    Example::

        >>> net = AWDRNN("lstm", 20, 4, 6, 3, True, 0.1, 0.1, 0.1, 0.1, 0.1); net.initialize()
        >>> logits, states = net(kiln.nd.ones((3, 2)))
        >>> logits.shape, [s[0].shape for s in states]
        ((3, 2, 20), [(1, 2, 6), (1, 2, 6), (1, 2, 4)])
    """

    def __init__(self, mode, vocab_size, embed_size, hidden_size, num_layers, tie_weights,
                 dropout, weight_drop, drop_h, drop_i, drop_e, **kwargs):
        if mode != "lstm":
            raise ValueError(f"mode {mode!r}: kiln's language models are LSTMs ('lstm')")
        super().__init__(**kwargs)
        self._mode, self._vocab_size = mode, vocab_size
        self._embed_size, self._hidden_size = embed_size, hidden_size
        self._num_layers, self._tie_weights = num_layers, tie_weights
        self._dropout, self._weight_drop = dropout, weight_drop
        self._drop_h, self._drop_i, self._drop_e = drop_h, drop_i, drop_e
        self._widths = [hidden_size if i != num_layers - 1 or not tie_weights else embed_size
                        for i in range(num_layers)]
        with self.name_scope():
            self.embedding = nn.HybridSequential()
            with self.embedding.name_scope():
                weight_init = init.Uniform(0.1)
                self.embedding.add(
                    _DropEmbedding(vocab_size, embed_size, drop_e,
                                   weight_initializer=weight_init) if drop_e else
                    nn.Embedding(vocab_size, embed_size, weight_initializer=weight_init))
                if drop_i:
                    self.embedding.add(nn.Dropout(drop_i, axes=(0,)))
            self.encoder = nn.HybridSequential()
            with self.encoder.name_scope():
                for i, width in enumerate(self._widths):
                    self.encoder.add(_lstm(width, 1, self._widths[i - 1] if i else embed_size,
                                           weight_drop=weight_drop))
            self.decoder = _decoder(vocab_size, self._widths[-1], tie_weights,
                                    self.embedding[0])

    def begin_state(self, *args, **kwargs):
        """Zero states, one [h, c] per layer: ``begin_state(batch_size=N)``."""
        return [c.begin_state(*args, **kwargs) for c in self.encoder]

    def hybrid_forward(self, F, inputs, *begin_state):
        encoded = self.embedding(inputs)
        if len(begin_state) == 1:
            states = [list(s) for s in begin_state[0]]
        else:
            states = [list(begin_state[i:i + 2]) for i in range(0, len(begin_state), 2)]
        if not states or states[0][0] is None:
            states = [[_zeros(F, encoded, 1, w)] * 2 for w in self._widths]
        out_states = []
        for i, (layer, state) in enumerate(zip(self.encoder, states)):
            encoded, state = layer(encoded, state)
            out_states.append(state)
            if self._drop_h and i != self._num_layers - 1:
                encoded = F.Dropout(encoded, p=self._drop_h, axes=(0,))
        if self._dropout:
            encoded = F.Dropout(encoded, p=self._dropout, axes=(0,))
        return self.decoder(encoded), out_states


def _make(cls, name, cfg, vocab_size, pretrained, ctx, root, dataset_name, kwargs):
    cfg.update(kwargs)
    net = cls(vocab_size=vocab_size, **cfg)
    if pretrained:
        load_local(net, f"{name}_{dataset_name}" if dataset_name else name, ctx, root)
    return net


def standard_lstm_lm_200(vocab_size=33278, pretrained=False, ctx=cpu(), root=DEFAULT_ROOT,
                         dataset_name="wikitext-2", **kwargs):
    """Standard 2-layer LSTM LM, embed and hidden 200, dropout 0.2, tied weights (default
    vocabulary: WikiText-2's 33278). ``pretrained=True`` loads
    ``<root>/standard_lstm_lm_200_<dataset_name>.params`` (no download).

    Example::

        >>> standard_lstm_lm_200(vocab_size=10).encoder.l1_h2h_weight.shape
        (800, 200)
    """
    cfg = dict(mode="lstm", embed_size=200, hidden_size=200, num_layers=2, dropout=0.2,
               tie_weights=True)
    return _make(StandardRNN, "standard_lstm_lm_200", cfg, vocab_size, pretrained, ctx, root,
                 dataset_name, kwargs)


def standard_lstm_lm_650(vocab_size=33278, pretrained=False, ctx=cpu(), root=DEFAULT_ROOT,
                         dataset_name="wikitext-2", **kwargs):
    """Standard 2-layer LSTM LM, embed and hidden 650, dropout 0.5, tied weights.

    Example::

        >>> standard_lstm_lm_650(vocab_size=10).decoder[0].weight.shape
        (10, 650)
    """
    cfg = dict(mode="lstm", embed_size=650, hidden_size=650, num_layers=2, dropout=0.5,
               tie_weights=True)
    return _make(StandardRNN, "standard_lstm_lm_650", cfg, vocab_size, pretrained, ctx, root,
                 dataset_name, kwargs)


def standard_lstm_lm_1500(vocab_size=33278, pretrained=False, ctx=cpu(), root=DEFAULT_ROOT,
                          dataset_name="wikitext-2", **kwargs):
    """Standard 2-layer LSTM LM, embed and hidden 1500, dropout 0.65, tied weights.

    Example::

        >>> standard_lstm_lm_1500(vocab_size=10).embedding[0].weight.shape
        (10, 1500)
    """
    cfg = dict(mode="lstm", embed_size=1500, hidden_size=1500, num_layers=2, dropout=0.65,
               tie_weights=True)
    return _make(StandardRNN, "standard_lstm_lm_1500", cfg, vocab_size, pretrained, ctx, root,
                 dataset_name, kwargs)


def awd_lstm_lm_600(vocab_size=33278, pretrained=False, ctx=cpu(), root=DEFAULT_ROOT,
                    dataset_name="wikitext-2", **kwargs):
    """AWD LSTM LM: embed 200, hidden 600, 3 layers, tied; dropout 0.2, weight drop 0.2,
    drop_h 0.1, drop_i 0.3, drop_e 0.05.

    Example::

        >>> [layer.l0_h2h_weight.shape for layer in awd_lstm_lm_600(vocab_size=10).encoder]
        [(2400, 600), (2400, 600), (800, 200)]
    """
    cfg = dict(mode="lstm", embed_size=200, hidden_size=600, num_layers=3, tie_weights=True,
               dropout=0.2, weight_drop=0.2, drop_h=0.1, drop_i=0.3, drop_e=0.05)
    return _make(AWDRNN, "awd_lstm_lm_600", cfg, vocab_size, pretrained, ctx, root,
                 dataset_name, kwargs)


def awd_lstm_lm_1150(vocab_size=33278, pretrained=False, ctx=cpu(), root=DEFAULT_ROOT,
                     dataset_name="wikitext-2", **kwargs):
    """AWD LSTM LM (Merity et al.'s): embed 400, hidden 1150, 3 layers, tied; dropout 0.4,
    weight drop 0.5, drop_h 0.2, drop_i 0.65, drop_e 0.1.

    Example::

        >>> [layer.l0_h2h_weight.shape for layer in awd_lstm_lm_1150(vocab_size=10).encoder]
        [(4600, 1150), (4600, 1150), (1600, 400)]
    """
    cfg = dict(mode="lstm", embed_size=400, hidden_size=1150, num_layers=3, tie_weights=True,
               dropout=0.4, weight_drop=0.5, drop_h=0.2, drop_i=0.65, drop_e=0.1)
    return _make(AWDRNN, "awd_lstm_lm_1150", cfg, vocab_size, pretrained, ctx, root,
                 dataset_name, kwargs)
