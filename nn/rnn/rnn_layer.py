"""Fused recurrent layers (MXNet Gluon 1.9 ``gluon.rnn.RNN/LSTM/GRU``): one ``RNN`` op over the
whole sequence.

Parameters are named as MXNet 1.9 names them (``l0_i2h_weight``, ``l0_h2h_bias``, ``r0_...``
for the reverse direction, ``l0_h2r_weight`` with a projection) and are joined into the op's
flat vector with ``_rnn_param_concat``, so an export writes MXNet's graph (reshapes, the
concat, one ``RNN`` node) and ``save_parameters`` uses MXNet 1.9's keys
(``_unfused.0.i2h_weight``; ``_unfused.0.l_cell.i2h_weight`` when bidirectional): files load
both ways.
"""
import re
from collections import OrderedDict

from ... import ndarray as _nd
from ...ndarray.ndarray import NDArray
from ..block import HybridBlock
from ._cell_basic import GRUCell, LSTMCell, RNNCell
from ._cell_modifiers import DropoutCell
from ._cell_stack import BidirectionalCell, HybridSequentialRNNCell

__all__ = ["RNN", "LSTM", "GRU"]

_GATES = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}
_KEY = re.compile(r"(l|r)(\d+)_(i2h|h2h|h2r)_(weight|bias)\Z")


class _RNNLayer(HybridBlock):
    """The shared implementation of RNN, LSTM and GRU (see their docstrings)."""

    def __init__(self, hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                 i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
                 h2h_bias_initializer, mode, projection_size, h2r_weight_initializer,
                 lstm_state_clip_min, lstm_state_clip_max, lstm_state_clip_nan, dtype,
                 use_sequence_length=False, **kwargs):
        super().__init__(**kwargs)
        if layout not in ("TNC", "NTC"):
            raise ValueError(f"Invalid layout {layout}; must be one of ['TNC' or 'NTC']")
        self._hidden_size = hidden_size
        self._projection_size = projection_size if projection_size else None
        self._num_layers = num_layers
        self._mode = mode
        self._layout = layout
        self._dropout = dropout
        self._dir = 2 if bidirectional else 1
        self._input_size = input_size
        self._lstm_state_clip_min = lstm_state_clip_min
        self._lstm_state_clip_max = lstm_state_clip_max
        self._lstm_state_clip_nan = lstm_state_clip_nan
        self._dtype = dtype
        self._use_sequence_length = use_sequence_length
        self._gates = _GATES[mode]
        ng, ni, nh = self._gates, input_size, hidden_size
        nr = self._projection_size or nh
        inits = {"i2h_weight": i2h_weight_initializer, "h2h_weight": h2h_weight_initializer,
                 "i2h_bias": i2h_bias_initializer, "h2h_bias": h2h_bias_initializer,
                 "h2r_weight": h2r_weight_initializer}
        with self.name_scope():
            for i in range(num_layers):
                for j in ["l", "r"][:self._dir]:
                    shapes = {"i2h_weight": (ng * nh, ni), "h2h_weight": (ng * nh, nr),
                              "i2h_bias": (ng * nh,), "h2h_bias": (ng * nh,)}
                    if self._projection_size:
                        shapes["h2r_weight"] = (nr, nh)
                    for kind, shape in shapes.items():
                        name = f"{j}{i}_{kind}"
                        setattr(self, name, self.params.get(
                            name, shape=shape, init=inits[kind], dtype=dtype,
                            allow_deferred_init=True))
                ni = nr * self._dir

    def _zero_states(self, F, inputs):
        """Zero states shaped from the (T, N, C) input itself, so a traced graph keeps the
        batch axis dynamic (an ONNX export without state inputs)."""
        col = F.sum(F.zeros_like(F.slice_axis(inputs, axis=0, begin=0, end=1)), axis=2,
                    keepdims=True)                                   # (1, N, 1)
        layers = self._num_layers * self._dir
        return [F.tile(col, reps=(layers, 1, info["shape"][2]))
                for info in self.state_info(1)]

    def __repr__(self):
        s = "{name}({mapping}, {_layout}"
        if self._num_layers != 1:
            s += ", num_layers={_num_layers}"
        if self._dropout != 0:
            s += ", dropout={_dropout}"
        if self._dir == 2:
            s += ", bidirectional"
        s += ")"
        shape = self.l0_i2h_weight.shape
        mapping = f"{shape[1] if shape[1] else None} -> {shape[0] // self._gates}"
        return s.format(name=type(self).__name__, mapping=mapping, **self.__dict__)

    def _collect_params_with_prefix(self, prefix=""):
        # MXNet 1.9's keys (kept from its unfused implementation), so files load both ways
        if prefix:
            prefix += "."
        own = self._own_params()
        bidirectional = any(_KEY.match(k).group(1) == "r" for k in own)
        ret = OrderedDict()
        for key, p in own.items():
            d, layer, g, t = _KEY.match(key).groups()
            cell = f"{d}_cell." if bidirectional else ""
            ret[f"{prefix}_unfused.{layer}.{cell}{g}_{t}"] = p
        for name, child in self._children.items():
            ret.update(child._collect_params_with_prefix(prefix + name))
        return ret

    def state_info(self, batch_size=0):
        raise NotImplementedError

    def _unfuse(self):
        """The layer as a stack of cells sharing its parameters (MXNet 1.9's ``_unfuse``):
        ``l<i>_``/``r<i>_`` cells in a HybridSequentialRNNCell, DropoutCells between layers.
        Unroll it with ``layout`` 'TNC' to match the fused layer.

        Example::

            >>> lstm = LSTM(3, num_layers=2); cells = lstm._unfuse(); lstm.initialize()
            >>> out, _ = cells.unroll(4, nd.ones((4, 2, 5)), layout='TNC', merge_outputs=True)
        """
        assert not self._projection_size, "_unfuse does not support projection layer yet!"
        assert not self._lstm_state_clip_min and not self._lstm_state_clip_max, \
            "_unfuse does not support state clipping yet!"
        kinds = {"rnn_relu": (RNNCell, {"activation": "relu"}),
                 "rnn_tanh": (RNNCell, {"activation": "tanh"}),
                 "lstm": (LSTMCell, {}), "gru": (GRUCell, {})}
        cls, extra = kinds[self._mode]
        stack = HybridSequentialRNNCell(prefix=self.prefix, params=self.params)
        with stack.name_scope():
            ni = self._input_size
            for i in range(self._num_layers):
                kwargs = dict(extra, input_size=ni,
                              i2h_weight_initializer=self.l0_i2h_weight.init,
                              h2h_weight_initializer=self.l0_h2h_weight.init,
                              i2h_bias_initializer=self.l0_i2h_bias.init,
                              h2h_bias_initializer=self.l0_h2h_bias.init)
                if self._dir == 2:
                    stack.add(BidirectionalCell(cls(self._hidden_size, prefix=f"l{i}_", **kwargs),
                                                cls(self._hidden_size, prefix=f"r{i}_", **kwargs)))
                else:
                    stack.add(cls(self._hidden_size, prefix=f"l{i}_", **kwargs))
                if self._dropout > 0 and i != self._num_layers - 1:
                    stack.add(DropoutCell(self._dropout))
                ni = self._hidden_size * self._dir
        return stack

    def begin_state(self, batch_size=0, func=None, **kwargs):
        """Initial states: a list of arrays made by ``func`` (default ``nd.zeros``) with the
        shapes of ``state_info(batch_size)``, e.g. [h (L*D, N, H), c (L*D, N, H)] for an LSTM.

        Example::

            >>> LSTM(10, num_layers=2).begin_state(4)[0].shape
            (2, 4, 10)
        """
        func = _nd.zeros if func is None else func
        states = []
        for i, info in enumerate(self.state_info(batch_size)):
            info = {k: v for k, v in (info or {}).items() if k != "__layout__"}
            info.update(kwargs)   # (MXNet passes __layout__ on: kiln's creators take none)
            states.append(func(name=f"{self.prefix}h0_{i}", **info))
        return states

    def cast(self, dtype):
        super().cast(dtype)
        self._dtype = dtype

    def __call__(self, inputs, states=None, sequence_length=None, **kwargs):
        skip = states is None
        if skip and hasattr(inputs, "_trace_node"):
            # traced inside a parent's graph: zero states built from the input itself keep the
            # batch axis dynamic (begin_state's arrays would be constants of this batch size)
            if self._use_sequence_length:
                return super().__call__(inputs, None, sequence_length, **kwargs)
            return super().__call__(inputs, **kwargs)
        if skip:
            batch_size = inputs.shape[self._layout.find("N")]
            ctx = inputs.context if isinstance(inputs, NDArray) else None
            states = self.begin_state(batch_size, ctx=ctx, dtype=inputs.dtype)
        if isinstance(states, (NDArray,)) or hasattr(states, "_trace_node"):
            states = [states]
        # a tuple tells forward to return only the output (its own compiled graph: the
        # structure of the inputs is part of the graph cache's key)
        states = tuple(states) if skip else list(states)
        if self._use_sequence_length:
            return super().__call__(inputs, states, sequence_length, **kwargs)
        return super().__call__(inputs, states, **kwargs)

    def infer_shape(self, inputs, *args):
        ni = inputs.shape[2]
        for j in ["l", "r"][:self._dir]:
            p = getattr(self, f"{j}0_i2h_weight")
            p.shape = (self._gates * self._hidden_size, ni)

    def hybrid_forward(self, F, inputs, *args, **params):
        # args: (states,) or (states, sequence_length) from __call__ (a tuple of states means
        # the caller gave none: return only the output); flat state arrays (an ONNX export's
        # example inputs); or nothing, when zero states are made from the input's batch size.
        n = len(self.state_info())
        if args and isinstance(args[0], (list, tuple)):
            states, skip, rest = list(args[0]), isinstance(args[0], tuple), args[1:]
        elif len(args) >= n and args[0] is not None:
            states, skip, rest = list(args[:n]), False, args[n:]
        else:
            states, skip, rest = None, True, args[1:]
        sequence_length = rest[0] if rest else None
        if self._layout == "NTC":
            inputs = F.swapaxes(inputs, 0, 1)
        if states is None:
            states = self._zero_states(F, inputs)
        if isinstance(inputs, NDArray):
            batch_size = inputs.shape[1]
            for state, info in zip(states, self.state_info(batch_size)):
                if state.shape != info["shape"]:
                    raise ValueError(f"Invalid recurrent state shape. Expecting "
                                     f"{info['shape']}, got {state.shape}.")
        kinds = ["i2h", "h2h", "h2r"] if self._projection_size else ["i2h", "h2h"]
        flat = [params[f"{d}{layer}_{g}_{t}"].reshape(-1)
                for t in ["weight", "bias"]
                for layer in range(self._num_layers)
                for d in ["l", "r"][:self._dir]
                for g in kinds if g != "h2r" or t != "bias"]
        rnn_args = list(states)
        if self._use_sequence_length:
            rnn_args.append(sequence_length)
        rnn = F.RNN(inputs, F._rnn_param_concat(*flat, dim=0, num_args=len(flat)), *rnn_args,
                    use_sequence_length=self._use_sequence_length,
                    state_size=self._hidden_size, projection_size=self._projection_size,
                    num_layers=self._num_layers, bidirectional=self._dir == 2,
                    p=self._dropout, state_outputs=True, mode=self._mode,
                    lstm_state_clip_min=self._lstm_state_clip_min,
                    lstm_state_clip_max=self._lstm_state_clip_max,
                    lstm_state_clip_nan=self._lstm_state_clip_nan)
        outputs, states = rnn[0], list(rnn[1:])
        if self._layout == "NTC":
            outputs = F.swapaxes(outputs, 0, 1)
        return outputs if skip else (outputs, states)


def _state_shape(layer, batch_size, width):
    return (layer._num_layers * layer._dir, batch_size, width)


class RNN(_RNNLayer):
    """Multi-layer Elman RNN, ``h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`` with
    ``activation`` 'relu' or 'tanh', over a whole sequence.

    Input (T, N, C) for layout 'TNC' ((N, T, C) for 'NTC'); optional states [h (L*D, N, H)].
    Output (T, N, D*H) (D = 2 if bidirectional); with states given, (output, [h]).
    ``input_size=0`` defers the first layer's weight shape to the first call.

    Example::

        >>> layer = RNN(100, 3); layer.initialize()
        >>> out, h = layer(nd.ones((5, 3, 10)), layer.begin_state(3))   # out (5, 3, 100)
    """

    def __init__(self, hidden_size, num_layers=1, activation="relu", layout="TNC", dropout=0,
                 bidirectional=False, i2h_weight_initializer=None, h2h_weight_initializer=None,
                 i2h_bias_initializer="zeros", h2h_bias_initializer="zeros", input_size=0,
                 dtype="float32", **kwargs):
        super().__init__(hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                         i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
                         h2h_bias_initializer, "rnn_" + activation, None, None, None, None,
                         False, dtype, **kwargs)

    def state_info(self, batch_size=0):
        return [{"shape": _state_shape(self, batch_size, self._hidden_size),
                 "__layout__": "LNC", "dtype": self._dtype}]


class LSTM(_RNNLayer):
    """Multi-layer LSTM over a whole sequence (gates i, f, g, o as MXNet; optional projection
    ``h = W_hr (o * tanh(c))`` of size ``projection_size`` and cell-state clipping).

    Input (T, N, C) for layout 'TNC' ((N, T, C) for 'NTC'); optional states
    [h (L*D, N, R), c (L*D, N, H)] with R = projection_size or hidden_size; with
    ``use_sequence_length=True`` a third argument (N,) gives each sample's length. Output
    (T, N, D*R); with states given, (output, [h, c]).

    Example::

        >>> layer = LSTM(100, 3); layer.initialize()
        >>> out = layer(nd.ones((5, 3, 10)))                       # (5, 3, 100)
    """

    def __init__(self, hidden_size, num_layers=1, layout="TNC", dropout=0, bidirectional=False,
                 input_size=0, i2h_weight_initializer=None, h2h_weight_initializer=None,
                 i2h_bias_initializer="zeros", h2h_bias_initializer="zeros",
                 projection_size=None, h2r_weight_initializer=None, state_clip_min=None,
                 state_clip_max=None, state_clip_nan=False, dtype="float32", **kwargs):
        super().__init__(hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                         i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
                         h2h_bias_initializer, "lstm", projection_size, h2r_weight_initializer,
                         state_clip_min, state_clip_max, state_clip_nan, dtype, **kwargs)

    def state_info(self, batch_size=0):
        h = self._projection_size or self._hidden_size
        return [{"shape": _state_shape(self, batch_size, h), "__layout__": "LNC",
                 "dtype": self._dtype},
                {"shape": _state_shape(self, batch_size, self._hidden_size),
                 "__layout__": "LNC", "dtype": self._dtype}]


class GRU(_RNNLayer):
    """Multi-layer GRU over a whole sequence, MXNet's formula: r, z gates and
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) * n + z * h``.

    Input (T, N, C) for layout 'TNC' ((N, T, C) for 'NTC'); optional states [h (L*D, N, H)].
    Output (T, N, D*H); with states given, (output, [h]).

    Example::

        >>> layer = GRU(100, 3); layer.initialize()
        >>> out, h = layer(nd.ones((5, 3, 10)), layer.begin_state(3))   # h[0]: (3, 3, 100)
    """

    def __init__(self, hidden_size, num_layers=1, layout="TNC", dropout=0, bidirectional=False,
                 input_size=0, i2h_weight_initializer=None, h2h_weight_initializer=None,
                 i2h_bias_initializer="zeros", h2h_bias_initializer="zeros", dtype="float32",
                 **kwargs):
        super().__init__(hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                         i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
                         h2h_bias_initializer, "gru", None, None, None, None, False, dtype,
                         **kwargs)

    def state_info(self, batch_size=0):
        return [{"shape": _state_shape(self, batch_size, self._hidden_size),
                 "__layout__": "LNC", "dtype": self._dtype}]
