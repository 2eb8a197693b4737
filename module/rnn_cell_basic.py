"""``mx.rnn``'s stepping cells (``RNNCell``, ``LSTMCell``, ``GRUCell``), their base class and
``RNNParams``, which :mod:`rnn_cell` re-exports as ``kiln.rnn``.

A cell called on Symbols, ``cell(x_t, states) -> (output, new_states)``, adds one step's nodes,
named ``<prefix>t<step>_<part>`` as MXNet names them; its weights are variables
``<prefix>i2h_weight``, ``<prefix>h2h_bias``... shared through an :class:`RNNParams`, so
several cells (or one cell stepped inside ``sym.contrib.foreach``) use the same ones.

Example::

    >>> cell = rnn.LSTMCell(4, prefix="l_")
    >>> outs, states = cell.unroll(3, sym.var("data"), [sym.var("h"), sym.var("c")])  # NTC
    >>> sym.Group(outs).infer_shape(data=(2, 3, 5), h=(2, 4), c=(2, 4))[1]
    [(2, 4), (2, 4), (2, 4)]
"""
from .. import initializer
from .. import ndarray as nd
from .. import symbol as sym

__all__ = ["RNNParams", "BaseRNNCell", "RNNCell", "LSTMCell", "GRUCell"]


def as_sequence(length, inputs, layout, merge):
    """``(inputs, time axis)``: one Symbol in ``layout`` split into ``length`` steps when
    ``merge`` is False, a list of steps concatenated into one Symbol when it is True, else
    as given (MXNet's ``_normalize_sequence``)."""
    axis = layout.find("T")
    if isinstance(inputs, sym.Symbol):
        if merge is False:
            inputs = list(sym.split(inputs, axis=axis, num_outputs=length, squeeze_axis=True))
    else:
        if length is not None and len(inputs) != length:
            raise ValueError(f"unroll: {len(inputs)} input steps given for length {length}")
        if merge is True:
            inputs = sym.concat(*[sym.expand_dims(x, axis=axis) for x in inputs], dim=axis)
    return inputs, axis


class RNNParams:
    """The variables of one or more cells, made once per name (``prefix + name``)."""

    def __init__(self, prefix=""):
        self._prefix = prefix
        self._params = {}

    def get(self, name, **kwargs):
        name = self._prefix + name
        if name not in self._params:
            self._params[name] = sym.var(name, **kwargs)
        return self._params[name]


class BaseRNNCell:
    """The cell protocol: ``state_info``, ``begin_state``, ``unroll`` and the step
    ``__call__(inputs, states)`` subclasses define."""

    def __init__(self, prefix="", params=None):
        self._own_params = params is None
        self._params = RNNParams(prefix) if params is None else params
        self._prefix = prefix
        self._modified = False
        self.reset()

    def reset(self):
        """Restart the step and begin-state counters (before another unroll)."""
        self._init_counter = -1
        self._counter = -1

    _gate_names = ()   # the gates stacked in the i2h/h2h weights, in their order

    def __call__(self, inputs, states):
        raise NotImplementedError

    def unpack_weights(self, args):
        """``args`` (name -> NDArray) with this cell's stacked ``i2h``/``h2h`` weights and
        biases split per gate (``<prefix>i2h_f_weight``...), as a fused layer names them."""
        args = dict(args)
        h = getattr(self, "_num_hidden", None)
        for group in ("i2h", "h2h") if self._gate_names else ():
            for part in ("weight", "bias"):
                whole = args.pop(f"{self._prefix}{group}_{part}")
                for j, gate in enumerate(self._gate_names):
                    args[f"{self._prefix}{group}{gate}_{part}"] = whole[j * h:(j + 1) * h].copy()
        return args

    def pack_weights(self, args):
        """The inverse of :meth:`unpack_weights`: per-gate arrays stacked back."""
        args = dict(args)
        for group in ("i2h", "h2h") if self._gate_names else ():
            for part in ("weight", "bias"):
                pieces = [args.pop(f"{self._prefix}{group}{gate}_{part}")
                          for gate in self._gate_names]
                args[f"{self._prefix}{group}_{part}"] = nd.concat(*pieces, dim=0)
        return args

    @property
    def params(self):
        self._own_params = False
        return self._params

    _num_states = None  # a step cell's number of (N, num_hidden) states; others override

    @property
    def state_info(self):
        if self._num_states is None:
            raise NotImplementedError
        return [{"shape": (0, self._num_hidden), "__layout__": "NC"}] * self._num_states

    @property
    def state_shape(self):
        return [info["shape"] for info in self.state_info]

    def begin_state(self, func=sym.zeros, **kwargs):
        """The initial states: ``func(name=..., shape=(0, hidden))`` each (the 0 batch size is
        inferred when the graph is bound)."""
        states = []
        for info in self.state_info:
            self._init_counter += 1
            args = dict(kwargs)
            args.update({k: v for k, v in (info or {}).items() if k != "__layout__"})
            states.append(func(name=f"{self._prefix}begin_state_{self._init_counter}", **args))
        return states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        """Step ``length`` times over ``inputs`` (one Symbol in ``layout`` or a list of steps);
        returns ``(outputs, states)``, outputs merged into one Symbol when ``merge_outputs``."""
        self.reset()
        inputs, _ = as_sequence(length, inputs, layout, False)
        states = self.begin_state() if begin_state is None else begin_state
        outputs = []
        for x in inputs[:length]:
            out, states = self(x, states)
            outputs.append(out)
        return as_sequence(length, outputs, layout, merge_outputs)[0], states

    def _fc(self, x, kind, hidden, name):
        return sym.FullyConnected(data=x, weight=self._weights[kind + "_weight"],
                                  bias=self._weights[kind + "_bias"], num_hidden=hidden,
                                  name=name)

    def _make_weights(self, i2h_bias_init=None):
        get = self.params.get
        self._weights = {"i2h_weight": get("i2h_weight"), "h2h_weight": get("h2h_weight"),
                         "i2h_bias": get("i2h_bias", init=i2h_bias_init) if i2h_bias_init
                         else get("i2h_bias"), "h2h_bias": get("h2h_bias")}


class RNNCell(BaseRNNCell):
    """``h' = act(W_i x + b_i + W_h h + b_h)``; one state (N, num_hidden)."""

    _gate_names, _num_states = ("",), 1

    def __init__(self, num_hidden, activation="tanh", prefix="rnn_", params=None):
        super().__init__(prefix=prefix, params=params)
        self._num_hidden, self._activation = num_hidden, activation
        self._make_weights()

    def __call__(self, inputs, states):
        self._counter += 1
        name = f"{self._prefix}t{self._counter}_"
        i2h = self._fc(inputs, "i2h", self._num_hidden, name + "i2h")
        h2h = self._fc(states[0], "h2h", self._num_hidden, name + "h2h")
        out = sym.Activation(i2h + h2h, act_type=self._activation, name=name + "out")
        return out, [out]


class LSTMCell(BaseRNNCell):
    """An LSTM step (gates i, f, c, o in that order); states ``[h, c]``. ``forget_bias``
    initializes the forget gate's part of ``i2h_bias``."""

    _gate_names, _num_states = ("_i", "_f", "_c", "_o"), 2

    def __init__(self, num_hidden, prefix="lstm_", params=None, forget_bias=1.0):
        super().__init__(prefix=prefix, params=params)
        self._num_hidden = num_hidden
        self._make_weights(initializer.LSTMBias(forget_bias=forget_bias))

    def __call__(self, inputs, states):
        self._counter += 1
        name, n = f"{self._prefix}t{self._counter}_", self._num_hidden
        gates = self._fc(inputs, "i2h", 4 * n, name + "i2h") + \
            self._fc(states[0], "h2h", 4 * n, name + "h2h")
        parts = sym.SliceChannel(gates, num_outputs=4, name=name + "slice")
        i, f, o = (sym.Activation(parts[k], act_type="sigmoid", name=name + g)
                   for k, g in ((0, "i"), (1, "f"), (3, "o")))
        c_in = sym.Activation(parts[2], act_type="tanh", name=name + "c")
        next_c = sym.elemwise_add(f * states[1], i * c_in, name=name + "state")
        next_h = sym.elemwise_mul(o, sym.Activation(next_c, act_type="tanh"), name=name + "out")
        return next_h, [next_h, next_c]


class GRUCell(BaseRNNCell):
    """A GRU step (gates r, z, then the candidate); one state."""

    _gate_names, _num_states = ("_r", "_z", "_o"), 1

    def __init__(self, num_hidden, prefix="gru_", params=None):
        super().__init__(prefix=prefix, params=params)
        self._num_hidden = num_hidden
        self._make_weights()

    def __call__(self, inputs, states):
        self._counter += 1
        name, n, h = f"{self._prefix}t{self._counter}_", self._num_hidden, states[0]
        i_r, i_z, i_n = sym.SliceChannel(self._fc(inputs, "i2h", 3 * n, name + "_i2h"),
                                         num_outputs=3, name=name + "_i2h_slice")
        h_r, h_z, h_n = sym.SliceChannel(self._fc(h, "h2h", 3 * n, name + "_h2h"),
                                         num_outputs=3, name=name + "_h2h_slice")
        reset = sym.Activation(i_r + h_r, act_type="sigmoid", name=name + "_r_act")
        update = sym.Activation(i_z + h_z, act_type="sigmoid", name=name + "_z_act")
        cand = sym.Activation(i_n + reset * h_n, act_type="tanh", name=name + "_h_act")
        next_h = sym.elemwise_add((1.0 - update) * cand, update * h, name=name + "out")
        return next_h, [next_h]
