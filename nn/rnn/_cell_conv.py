"""Convolutional recurrent cells (MXNet Gluon 1.9 ``gluon.contrib.rnn.Conv{1,2,3}D{RNN,LSTM,
GRU}Cell``, Shi et al. 2015): the RNN/LSTM/GRU formulas with the input-to-hidden and
hidden-to-hidden products replaced by convolutions, so states keep their spatial layout.

Parameters, with G gates (1 RNN, 4 LSTM in the order i, f, c, o, 3 GRU in the order r, z, o)
and MXNet's names and shapes (so MXNet ``.params`` files load):
``i2h_weight`` (G*hidden, in_channels, *i2h_kernel), ``h2h_weight`` (G*hidden, hidden,
*h2h_kernel), ``i2h_bias``/``h2h_bias`` (G*hidden,) (channels last for 'NWC'-style layouts).
The i2h convolution has stride 1, ``i2h_pad`` and ``i2h_dilate``; the h2h convolution pads
``dilate * (kernel - 1) // 2`` (odd kernels only) so the state keeps its size:
``input_shape`` (C, *spatial) gives states (N, hidden, *conv_out(spatial)).

Example::

    >>> cell = Conv2DLSTMCell((3, 8, 8), 4, i2h_kernel=3, h2h_kernel=3, i2h_pad=1)
    >>> cell.initialize()
    >>> out, (h, c) = cell(nd.ones((2, 3, 8, 8)), cell.begin_state(2))
    >>> out.shape
    (2, 4, 8, 8)
"""
from ._cell_base import HybridRecurrentCell

__all__ = ["Conv1DRNNCell", "Conv2DRNNCell", "Conv3DRNNCell", "Conv1DLSTMCell",
           "Conv2DLSTMCell", "Conv3DLSTMCell", "Conv1DGRUCell", "Conv2DGRUCell",
           "Conv3DGRUCell"]


def _tuple(spec, dims, what):
    if isinstance(spec, int):
        return (spec,) * dims
    spec = tuple(spec)
    if len(spec) != dims:
        raise ValueError(f"For {dims}D convolution, {what} can only be an int or a list/tuple "
                         f"of length {dims}, got {spec}")
    return spec


class _ConvCellBase(HybridRecurrentCell):
    """The parameters and the two convolutions every convolutional cell shares."""

    _gate_names = ("",)

    def __init__(self, input_shape, hidden_channels, i2h_kernel, h2h_kernel, i2h_pad,
                 i2h_dilate, h2h_dilate, i2h_weight_initializer, h2h_weight_initializer,
                 i2h_bias_initializer, h2h_bias_initializer, dims, conv_layout, activation,
                 prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._hidden_channels = hidden_channels
        self._input_shape = tuple(input_shape)
        self._conv_layout = conv_layout
        self._activation = activation
        self._i2h_kernel = _tuple(i2h_kernel, dims, "i2h_kernel")
        self._i2h_pad = _tuple(i2h_pad, dims, "i2h_pad")
        self._i2h_dilate = _tuple(i2h_dilate, dims, "i2h_dilate")
        self._h2h_kernel = _tuple(h2h_kernel, dims, "h2h_kernel")
        self._h2h_dilate = _tuple(h2h_dilate, dims, "h2h_dilate")
        self._stride = (1,) * dims
        if any(k % 2 == 0 for k in self._h2h_kernel):
            raise ValueError(f"Only support odd number, get h2h_kernel= {h2h_kernel}")
        # the recurrent convolution keeps the state's size: "same" padding of an odd kernel
        self._h2h_pad = tuple(d * (k - 1) // 2 for d, k in zip(self._h2h_dilate,
                                                             self._h2h_kernel))
        self._channel_axis = conv_layout.find("C")
        first = self._channel_axis == 1
        in_channels = self._input_shape[0 if first else -1]
        spatial = self._input_shape[1:] if first else self._input_shape[:-1]
        out_size = tuple(x + 2 * p - d * (k - 1) if x else 0 for x, k, p, d in zip(
            spatial, self._i2h_kernel, self._i2h_pad, self._i2h_dilate))
        rows = hidden_channels * len(self._gate_names)
        if first:
            i2h_shape = (rows, in_channels) + self._i2h_kernel
            h2h_shape = (rows, hidden_channels) + self._h2h_kernel
            self._state_shape = (hidden_channels,) + out_size
        else:
            i2h_shape = (rows,) + self._i2h_kernel + (in_channels,)
            h2h_shape = (rows,) + self._h2h_kernel + (hidden_channels,)
            self._state_shape = out_size + (hidden_channels,)
        self.i2h_weight = self.params.get("i2h_weight", shape=i2h_shape,
                                          init=i2h_weight_initializer, allow_deferred_init=True)
        self.h2h_weight = self.params.get("h2h_weight", shape=h2h_shape,
                                          init=h2h_weight_initializer, allow_deferred_init=True)
        self.i2h_bias = self.params.get("i2h_bias", shape=(rows,), init=i2h_bias_initializer,
                                        allow_deferred_init=True)
        self.h2h_bias = self.params.get("h2h_bias", shape=(rows,), init=h2h_bias_initializer,
                                        allow_deferred_init=True)

    def state_info(self, batch_size=0):
        info = {"shape": (batch_size,) + self._state_shape, "__layout__": self._conv_layout}
        return [dict(info) for _ in range(self._num_states)]

    _num_states = 1

    def __repr__(self):
        shape = self.i2h_weight.shape
        in_channels = shape[1 if self._channel_axis == 1 else -1]
        return (f"{self.__class__.__name__}({in_channels or None} -> {shape[0]}, "
                f"{self._activation}, {self._conv_layout})")

    def _conv_forward(self, F, inputs, state, i2h_weight, h2h_weight, i2h_bias, h2h_bias,
                      prefix):
        rows = self._hidden_channels * len(self._gate_names)
        i2h = F.Convolution(data=inputs, weight=i2h_weight, bias=i2h_bias, num_filter=rows,
                            kernel=self._i2h_kernel, stride=self._stride, pad=self._i2h_pad,
                            dilate=self._i2h_dilate, layout=self._conv_layout,
                            name=prefix + "i2h")
        h2h = F.Convolution(data=state, weight=h2h_weight, bias=h2h_bias, num_filter=rows,
                            kernel=self._h2h_kernel, stride=self._stride, pad=self._h2h_pad,
                            dilate=self._h2h_dilate, layout=self._conv_layout,
                            name=prefix + "h2h")
        return i2h, h2h


class _ConvRNNCell(_ConvCellBase):
    def _alias(self):
        return "conv_rnn"

    def hybrid_forward(self, F, inputs, states, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        prefix = f"t{self._counter}_"
        i2h, h2h = self._conv_forward(F, inputs, states[0], i2h_weight, h2h_weight, i2h_bias,
                                      h2h_bias, prefix)
        output = self._get_activation(F, i2h + h2h, self._activation, name=prefix + "out")
        return output, [output]


class _ConvLSTMCell(_ConvCellBase):
    _gate_names = ("_i", "_f", "_c", "_o")
    _num_states = 2

    def _alias(self):
        return "conv_lstm"

    def hybrid_forward(self, F, inputs, states, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        prefix = f"t{self._counter}_"
        i2h, h2h = self._conv_forward(F, inputs, states[0], i2h_weight, h2h_weight, i2h_bias,
                                      h2h_bias, prefix)
        gates = F.SliceChannel(i2h + h2h, num_outputs=4, axis=self._channel_axis,
                               name=prefix + "slice")
        in_gate = F.Activation(gates[0], act_type="sigmoid", name=prefix + "i")
        forget_gate = F.Activation(gates[1], act_type="sigmoid", name=prefix + "f")
        in_transform = self._get_activation(F, gates[2], self._activation, name=prefix + "c")
        out_gate = F.Activation(gates[3], act_type="sigmoid", name=prefix + "o")
        next_c = F.elemwise_add(forget_gate * states[1], in_gate * in_transform,
                                name=prefix + "state")
        next_h = F.elemwise_mul(out_gate, self._get_activation(F, next_c, self._activation),
                                name=prefix + "out")
        return next_h, [next_h, next_c]


class _ConvGRUCell(_ConvCellBase):
    _gate_names = ("_r", "_z", "_o")

    def _alias(self):
        return "conv_gru"

    def hybrid_forward(self, F, inputs, states, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        prefix = f"t{self._counter}_"
        i2h, h2h = self._conv_forward(F, inputs, states[0], i2h_weight, h2h_weight, i2h_bias,
                                      h2h_bias, prefix)
        i2h_r, i2h_z, i2h = F.SliceChannel(i2h, num_outputs=3, axis=self._channel_axis,
                                           name=prefix + "i2h_slice")
        h2h_r, h2h_z, h2h = F.SliceChannel(h2h, num_outputs=3, axis=self._channel_axis,
                                           name=prefix + "h2h_slice")
        reset_gate = F.Activation(i2h_r + h2h_r, act_type="sigmoid", name=prefix + "r_act")
        update_gate = F.Activation(i2h_z + h2h_z, act_type="sigmoid", name=prefix + "z_act")
        candidate = self._get_activation(F, i2h + reset_gate * h2h, self._activation,
                                         name=prefix + "h_act")
        next_h = F.elemwise_add((1. - update_gate) * candidate, update_gate * states[0],
                                name=prefix + "out")
        return next_h, [next_h]


def _make(base, dims, layout, formula):
    """A public cell class of ``base`` for ``dims``-D inputs, with MXNet's defaults."""
    def __init__(self, input_shape, hidden_channels, i2h_kernel, h2h_kernel,
                 i2h_pad=(0,) * dims, i2h_dilate=(1,) * dims, h2h_dilate=(1,) * dims,
                 i2h_weight_initializer=None, h2h_weight_initializer=None,
                 i2h_bias_initializer="zeros", h2h_bias_initializer="zeros",
                 conv_layout=layout, activation="tanh", prefix=None, params=None):
        base.__init__(self, input_shape, hidden_channels, i2h_kernel, h2h_kernel, i2h_pad,
                      i2h_dilate, h2h_dilate, i2h_weight_initializer, h2h_weight_initializer,
                      i2h_bias_initializer, h2h_bias_initializer, dims, conv_layout,
                      activation, prefix=prefix, params=params)

    kind = {_ConvRNNCell: "RNN", _ConvLSTMCell: "LSTM", _ConvGRUCell: "GRU"}[base]
    name = f"Conv{dims}D{kind}Cell"
    doc = (f"{dims}-D convolutional {kind} cell: {formula} (``*``: convolution).\n\n"
           f"``input_shape``: one step's sample shape in ``conv_layout`` (default "
           f"'{layout}': (C, *spatial)); inputs (N, *input_shape); states as ``state_info`` "
           f"says. ``h2h_kernel`` must be odd. The module docstring lists the parameters.\n\n"
           f"Example::\n\n    >>> cell = {name}((2,{' 5,' * dims}), 3, i2h_kernel=3, "
           f"h2h_kernel=1)\n")
    return type(name, (base,), {"__init__": __init__, "__doc__": doc,
                                "__module__": __name__, "__qualname__": name})


_RNN = "h_t = tanh(W_i * x_t + R_i * h_{t-1} + b_i)"
_LSTM = ("i, f, o = sigmoid(W * x_t + R * h_{t-1} + b); c~ = tanh(...); "
         "c_t = f c_{t-1} + i c~; h_t = o tanh(c_t)")
_GRU = ("r, z = sigmoid(W * x_t + R * h_{t-1} + b); n = tanh(W_o * x_t + b_o + "
        "r (R_o * h_{t-1} + b_ro)); h_t = (1 - z) n + z h_{t-1}")
Conv1DRNNCell = _make(_ConvRNNCell, 1, "NCW", _RNN)
Conv2DRNNCell = _make(_ConvRNNCell, 2, "NCHW", _RNN)
Conv3DRNNCell = _make(_ConvRNNCell, 3, "NCDHW", _RNN)
Conv1DLSTMCell = _make(_ConvLSTMCell, 1, "NCW", _LSTM)
Conv2DLSTMCell = _make(_ConvLSTMCell, 2, "NCHW", _LSTM)
Conv3DLSTMCell = _make(_ConvLSTMCell, 3, "NCDHW", _LSTM)
Conv1DGRUCell = _make(_ConvGRUCell, 1, "NCW", _GRU)
Conv2DGRUCell = _make(_ConvGRUCell, 2, "NCHW", _GRU)
Conv3DGRUCell = _make(_ConvGRUCell, 3, "NCDHW", _GRU)
