"""``mx.rnn.FusedRNNCell``: a whole multi-layer (bidirectional) RNN as one ``sym.RNN`` node
over one flat ``<prefix>parameters`` variable, in MXNet 1.9's layout (cuDNN's: every layer's
and direction's per-gate weights, then all the biases; ``init.FusedRNN`` initializes it).
``unpack_weights`` splits that vector into the per-gate arrays the unfused cells use
(``<prefix>l0_i2h_f_weight``...), ``pack_weights`` joins them back, and ``unfuse`` gives the
equivalent stack of stepping cells.

Example::

    >>> fused = rnn.FusedRNNCell(4, num_layers=2, mode="gru", prefix="")
    >>> outs, _ = fused.unroll(3, sym.var("data"), layout="TNC", merge_outputs=True)
    >>> outs.infer_shape(data=(3, 2, 5))[1]     # (T, N, num_hidden)
    [(3, 2, 4)]
"""
from .. import initializer
from .. import ndarray as nd
from .. import symbol as sym
from ..name import NameManager
from .rnn_cell_basic import BaseRNNCell, GRUCell, LSTMCell, RNNCell, as_sequence
from .rnn_cell_stack import BidirectionalCell, DropoutCell, SequentialRNNCell


def _swap_batch_time(x):
    # (named as MXNet's ``symbol.swapaxes`` names its node: ``swapaxes<k>``)
    return sym.swapaxes(x, dim1=0, dim2=1, name=NameManager.current.get(None, "swapaxes"))


class FusedRNNCell(BaseRNNCell):
    """``num_layers`` layers of ``mode`` ('rnn_relu', 'rnn_tanh', 'lstm', 'gru') of
    ``num_hidden`` units in one RNN op; it cannot be stepped, only unrolled. States
    ``(layers * directions, N, num_hidden)`` (two for an LSTM); ``get_next_state`` returns the
    last ones from ``unroll``."""

    def __init__(self, num_hidden, num_layers=1, mode="lstm", bidirectional=False, dropout=0.,
                 get_next_state=False, forget_bias=1.0, prefix=None, params=None):
        if mode not in initializer._RNN_GATES:
            raise ValueError(f"FusedRNNCell: mode must be one of "
                             f"{sorted(initializer._RNN_GATES)}, got {mode!r}")
        super().__init__(prefix=f"{mode}_" if prefix is None else prefix, params=params)
        self._num_hidden, self._num_layers, self._mode = num_hidden, num_layers, mode
        self._bidirectional, self._dropout = bool(bidirectional), dropout
        self._get_next_state = get_next_state
        self._directions = ["l", "r"] if bidirectional else ["l"]
        self._parameter = self.params.get("parameters", init=initializer.FusedRNN(
            None, num_hidden, num_layers, mode, bidirectional, forget_bias))

    @property
    def _gate_names(self):
        return initializer._RNN_GATES[self._mode]

    @property
    def state_info(self):
        shape = (len(self._directions) * self._num_layers, 0, self._num_hidden)
        return [{"shape": shape, "__layout__": "LNC"}
                for _ in range(2 if self._mode == "lstm" else 1)]

    def _pieces(self, size):
        return initializer.fused_rnn_pieces(size, self._num_hidden, self._num_layers,
                                            self._mode, self._bidirectional)

    def unpack_weights(self, args):
        """``args`` with ``<prefix>parameters`` replaced by its per-gate pieces (copies)."""
        args = dict(args)
        flat = args.pop(self._parameter.name)
        for name, pos, shape in self._pieces(flat.size):
            size = 1
            for d in shape:
                size *= d
            args[self._prefix + name] = flat[pos:pos + size].reshape(shape).copy()
        return args

    def pack_weights(self, args):
        """``args`` with the per-gate pieces replaced by the flat ``<prefix>parameters``."""
        args = dict(args)
        gates, h, dirs = self._gate_names, self._num_hidden, len(self._directions)
        num_input = args[f"{self._prefix}l0_i2h{gates[0]}_weight"].shape[1]
        per_layer = len(gates) * h * dirs
        size = per_layer * (num_input + h + 2) + \
            (self._num_layers - 1) * per_layer * (dirs * h + h + 2)
        flat = [args.pop(self._prefix + name).reshape((-1,))
                for name, _, _ in self._pieces(size)]
        args[self._parameter.name] = nd.concat(*flat, dim=0)
        return args

    def __call__(self, inputs, states):
        raise NotImplementedError("FusedRNNCell cannot be stepped; use unroll")

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        self.reset()
        inputs, axis = as_sequence(length, inputs, layout, True)
        if axis not in (0, 1):
            raise ValueError(f"FusedRNNCell: unsupported layout {layout!r}")
        if axis == 1:   # the RNN op reads TNC
            inputs = _swap_batch_time(inputs)
        states = self.begin_state() if begin_state is None else begin_state
        given = {"state": states[0]}
        if self._mode == "lstm":
            given["state_cell"] = states[1]
        rnn = sym.RNN(data=inputs, parameters=self._parameter, state_size=self._num_hidden,
                      num_layers=self._num_layers, bidirectional=self._bidirectional,
                      p=self._dropout, state_outputs=self._get_next_state, mode=self._mode,
                      name=self._prefix + "rnn", **given)
        outputs, states = (rnn[0], list(rnn)[1:]) if self._get_next_state else (rnn, [])
        if axis == 1:
            outputs = _swap_batch_time(outputs)
        return as_sequence(length, outputs, layout, merge_outputs)[0], states

    def unfuse(self):
        """The same network as a :class:`SequentialRNNCell` of stepping cells (the names
        ``unpack_weights`` gives), which can run step by step."""
        make = {"rnn_relu": lambda p: RNNCell(self._num_hidden, activation="relu", prefix=p),
                "rnn_tanh": lambda p: RNNCell(self._num_hidden, activation="tanh", prefix=p),
                "lstm": lambda p: LSTMCell(self._num_hidden, prefix=p),
                "gru": lambda p: GRUCell(self._num_hidden, prefix=p)}[self._mode]
        stack = SequentialRNNCell()
        for i in range(self._num_layers):
            if self._bidirectional:
                stack.add(BidirectionalCell(make(f"{self._prefix}l{i}_"),
                                            make(f"{self._prefix}r{i}_"),
                                            output_prefix=f"{self._prefix}bi_l{i}_"))
            else:
                stack.add(make(f"{self._prefix}l{i}_"))
            if self._dropout > 0 and i != self._num_layers - 1:
                stack.add(DropoutCell(self._dropout, prefix=f"{self._prefix}_dropout{i}_"))
        return stack
