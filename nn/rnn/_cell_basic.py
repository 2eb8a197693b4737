"""The gated cells: ``RNNCell``, ``LSTMCell``, ``GRUCell`` and ``LSTMPCell`` (MXNet Gluon 1.9
formulas, gate order, parameter names and reprs).

Each cell owns ``i2h_weight`` (G*hidden, input_size), ``h2h_weight`` (G*hidden, hidden),
``i2h_bias`` and ``h2h_bias`` (G*hidden,), G = 1 (RNN), 4 (LSTM: gates i, f, g, o) or 3 (GRU:
gates r, z, n). ``input_size=0`` defers the input size to the first call.

Example::

    >>> cell = GRUCell(6); cell.initialize()
    >>> out, states = cell(nd.ones((2, 3)), cell.begin_state(2))
    >>> out.shape, cell.i2h_weight.shape
    ((2, 6), (18, 3))
"""
from ._cell_base import HybridRecurrentCell

__all__ = ["RNNCell", "LSTMCell", "GRUCell", "LSTMPCell"]


class _GatedCell(HybridRecurrentCell):
    """The parameters every gated cell shares: G*hidden rows for G gates."""

    _gates = 1

    def _make_params(self, hidden_size, input_size, recurrent_size, i2h_weight_initializer,
                     h2h_weight_initializer):
        rows = self._gates * hidden_size
        self._hidden_size = hidden_size
        self._input_size = input_size
        self.i2h_weight = self.params.get("i2h_weight", shape=(rows, input_size),
                                          init=i2h_weight_initializer, allow_deferred_init=True)
        self.h2h_weight = self.params.get("h2h_weight", shape=(rows, recurrent_size),
                                          init=h2h_weight_initializer, allow_deferred_init=True)

    def _make_biases(self, i2h_bias_initializer, h2h_bias_initializer):
        rows = self._gates * self._hidden_size
        self.i2h_bias = self.params.get("i2h_bias", shape=(rows,), init=i2h_bias_initializer,
                                        allow_deferred_init=True)
        self.h2h_bias = self.params.get("h2h_bias", shape=(rows,), init=h2h_bias_initializer,
                                        allow_deferred_init=True)

    def infer_shape(self, inputs, *args):
        size = 1
        for d in inputs.shape[1:]:  # FullyConnected flattens the input
            size *= d
        self.i2h_weight.shape = (self.i2h_weight.shape[0], size)

    def _mapping(self):
        shape = self.i2h_weight.shape
        return f"{shape[1] if shape[1] else None} -> {shape[0]}"

    def __repr__(self):
        return f"{self.__class__.__name__}({self._mapping()})"

    def _i2h_h2h(self, F, inputs, state, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        prefix = f"t{self._counter}_"
        rows = self._gates * self._hidden_size
        i2h = F.FullyConnected(inputs, i2h_weight, i2h_bias, num_hidden=rows,
                               name=prefix + "i2h")
        h2h = F.FullyConnected(state, h2h_weight, h2h_bias, num_hidden=rows,
                               name=prefix + "h2h")
        return prefix, i2h, h2h


class RNNCell(_GatedCell):
    r"""Elman RNN cell: ``h_t = activation(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``.

    Inputs: data (N, input_size) and states ``[h]`` (N, hidden_size). Outputs: out
    (N, hidden_size) and ``[out]``. ``activation``: a name ('tanh', 'relu'...), a LeakyReLU
    block or a callable.

    Example::

        >>> cell = RNNCell(4, activation='relu', input_size=3); cell
        RNNCell(3 -> 4, relu)
    """

    def __init__(self, hidden_size, activation="tanh", i2h_weight_initializer=None,
                 h2h_weight_initializer=None, i2h_bias_initializer="zeros",
                 h2h_bias_initializer="zeros", input_size=0, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._activation = activation
        self._make_params(hidden_size, input_size, hidden_size, i2h_weight_initializer,
                          h2h_weight_initializer)
        self._make_biases(i2h_bias_initializer, h2h_bias_initializer)

    def state_info(self, batch_size=0):
        return [{"shape": (batch_size, self._hidden_size), "__layout__": "NC"}]

    def _alias(self):
        return "rnn"

    def __repr__(self):
        return f"{self.__class__.__name__}({self._mapping()}, {self._activation})"

    def hybrid_forward(self, F, inputs, states, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        prefix, i2h, h2h = self._i2h_h2h(F, inputs, states[0], i2h_weight, h2h_weight,
                                         i2h_bias, h2h_bias)
        output = self._get_activation(F, F.elemwise_add(i2h, h2h, name=prefix + "plus0"),
                                      self._activation, name=prefix + "out")
        return output, [output]


class LSTMCell(_GatedCell):
    r"""Long short-term memory cell (gates in the order i, f, g, o)::

        i, f, o = sigmoid(W_i. x + b_i. + W_h. h + b_h.);  g = tanh(W_ig x + ... )
        c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t)

    Inputs: data (N, input_size), states ``[h, c]`` each (N, hidden_size). Outputs: h_t and
    ``[h_t, c_t]``. Biases default to zeros, as in MXNet 1.9 (``i2h_bias_initializer=
    'lstmbias'`` sets the forget gate's to 1). ``activation``/``recurrent_activation`` replace
    tanh/sigmoid.

    Example::

        >>> cell = LSTMCell(5); cell.initialize()
        >>> h, (h2, c) = cell(nd.ones((2, 3)), cell.begin_state(2)); h.shape
        (2, 5)
    """

    _gates = 4

    def __init__(self, hidden_size, i2h_weight_initializer=None, h2h_weight_initializer=None,
                 i2h_bias_initializer="zeros", h2h_bias_initializer="zeros", input_size=0,
                 prefix=None, params=None, activation="tanh", recurrent_activation="sigmoid"):
        super().__init__(prefix=prefix, params=params)
        self._make_params(hidden_size, input_size, hidden_size, i2h_weight_initializer,
                          h2h_weight_initializer)
        self._make_biases(i2h_bias_initializer, h2h_bias_initializer)
        self._activation = activation
        self._recurrent_activation = recurrent_activation

    def state_info(self, batch_size=0):
        return [{"shape": (batch_size, self._hidden_size), "__layout__": "NC"},
                {"shape": (batch_size, self._hidden_size), "__layout__": "NC"}]

    def _alias(self):
        return "lstm"

    def _gates_to_state(self, F, prefix, gates, c_prev):
        sl = F.SliceChannel(gates, num_outputs=4, name=prefix + "slice")
        rec, act = self._recurrent_activation, self._activation
        in_gate = self._get_activation(F, sl[0], rec, name=prefix + "i")
        forget_gate = self._get_activation(F, sl[1], rec, name=prefix + "f")
        in_transform = self._get_activation(F, sl[2], act, name=prefix + "c")
        out_gate = self._get_activation(F, sl[3], rec, name=prefix + "o")
        next_c = F.elemwise_add(F.elemwise_mul(forget_gate, c_prev, name=prefix + "mul0"),
                                F.elemwise_mul(in_gate, in_transform, name=prefix + "mul1"),
                                name=prefix + "state")
        hidden = self._get_activation(F, next_c, act, name=prefix + "activation0")
        return next_c, out_gate, hidden

    def hybrid_forward(self, F, inputs, states, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        prefix, i2h, h2h = self._i2h_h2h(F, inputs, states[0], i2h_weight, h2h_weight,
                                         i2h_bias, h2h_bias)
        gates = F.elemwise_add(i2h, h2h, name=prefix + "plus0")
        next_c, out_gate, hidden = self._gates_to_state(F, prefix, gates, states[1])
        next_h = F.elemwise_mul(out_gate, hidden, name=prefix + "out")
        return next_h, [next_h, next_c]


class GRUCell(_GatedCell):
    r"""Gated recurrent unit cell, cuDNN's variant (the reset gate applies after the matrix
    product; gates in the order r, z, n)::

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr);  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn));  h_t = (1 - z) * n + z * h

    Inputs: data (N, input_size), states ``[h]`` (N, hidden_size). Outputs: h_t, ``[h_t]``.

    Example::

        >>> cell = GRUCell(5, input_size=3); cell
        GRUCell(3 -> 15)
    """

    _gates = 3

    def __init__(self, hidden_size, i2h_weight_initializer=None, h2h_weight_initializer=None,
                 i2h_bias_initializer="zeros", h2h_bias_initializer="zeros", input_size=0,
                 prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._make_params(hidden_size, input_size, hidden_size, i2h_weight_initializer,
                          h2h_weight_initializer)
        self._make_biases(i2h_bias_initializer, h2h_bias_initializer)

    def state_info(self, batch_size=0):
        return [{"shape": (batch_size, self._hidden_size), "__layout__": "NC"}]

    def _alias(self):
        return "gru"

    def hybrid_forward(self, F, inputs, states, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        prev_h = states[0]
        prefix, i2h, h2h = self._i2h_h2h(F, inputs, prev_h, i2h_weight, h2h_weight, i2h_bias,
                                         h2h_bias)
        i2h_r, i2h_z, i2h = F.SliceChannel(i2h, num_outputs=3, name=prefix + "i2h_slice")
        h2h_r, h2h_z, h2h = F.SliceChannel(h2h, num_outputs=3, name=prefix + "h2h_slice")
        reset_gate = F.Activation(F.elemwise_add(i2h_r, h2h_r, name=prefix + "plus0"),
                                  act_type="sigmoid", name=prefix + "r_act")
        update_gate = F.Activation(F.elemwise_add(i2h_z, h2h_z, name=prefix + "plus1"),
                                   act_type="sigmoid", name=prefix + "z_act")
        candidate = F.Activation(
            F.elemwise_add(i2h, F.elemwise_mul(reset_gate, h2h, name=prefix + "mul0"),
                           name=prefix + "plus2"), act_type="tanh", name=prefix + "h_act")
        ones = F.ones_like(update_gate, name=prefix + "ones_like0")
        next_h = F.elemwise_add(
            F.elemwise_mul(F.elemwise_sub(ones, update_gate, name=prefix + "minus0"), candidate,
                           name=prefix + "mul1"),
            F.elemwise_mul(update_gate, prev_h, name=prefix + "mul20"), name=prefix + "out")
        return next_h, [next_h]


class LSTMPCell(LSTMCell):
    r"""LSTM with a projected recurrent state (https://arxiv.org/abs/1402.1128): the LSTM's
    ``h_t`` is projected by ``h2r_weight`` (projection_size, hidden_size) to ``r_t``, which is
    the output and the recurrent input (``h2h_weight``: (4*hidden, projection_size)).

    Inputs: data (N, input_size), states ``[r, c]``: (N, projection_size), (N, hidden_size).
    Outputs: r_t (N, projection_size), ``[r_t, c_t]``. (MXNet 1.9: ``gluon.contrib.rnn``.)

    Example::

        >>> cell = LSTMPCell(6, 2, input_size=3); cell
        LSTMPCell(3 -> 24 -> 2)
    """

    def __init__(self, hidden_size, projection_size, i2h_weight_initializer=None,
                 h2h_weight_initializer=None, h2r_weight_initializer=None,
                 i2h_bias_initializer="zeros", h2h_bias_initializer="zeros", input_size=0,
                 prefix=None, params=None):
        HybridRecurrentCell.__init__(self, prefix=prefix, params=params)
        self._projection_size = projection_size
        self._activation, self._recurrent_activation = "tanh", "sigmoid"
        self._make_params(hidden_size, input_size, projection_size, i2h_weight_initializer,
                          h2h_weight_initializer)
        self.h2r_weight = self.params.get("h2r_weight", shape=(projection_size, hidden_size),
                                          init=h2r_weight_initializer, allow_deferred_init=True)
        self._make_biases(i2h_bias_initializer, h2h_bias_initializer)

    def state_info(self, batch_size=0):
        return [{"shape": (batch_size, self._projection_size), "__layout__": "NC"},
                {"shape": (batch_size, self._hidden_size), "__layout__": "NC"}]

    def _alias(self):
        return "lstmp"

    def __repr__(self):
        return f"{self.__class__.__name__}({self._mapping()} -> {self.h2r_weight.shape[0]})"

    def hybrid_forward(self, F, inputs, states, i2h_weight, h2h_weight, h2r_weight, i2h_bias,
                       h2h_bias):
        prefix, i2h, h2h = self._i2h_h2h(F, inputs, states[0], i2h_weight, h2h_weight,
                                         i2h_bias, h2h_bias)
        next_c, out_gate, hidden = self._gates_to_state(F, prefix, i2h + h2h, states[1])
        hidden = F.elemwise_mul(out_gate, hidden, name=prefix + "hidden")
        next_r = F.FullyConnected(hidden, h2r_weight, num_hidden=self._projection_size,
                                  no_bias=True, name=prefix + "out")
        return next_r, [next_r, next_c]
