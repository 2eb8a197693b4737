"""The recurrent cell bases (MXNet Gluon 1.9 ``RecurrentCell``, ``HybridRecurrentCell``) and
the sequence helpers that ``unroll`` shares: formatting inputs as one tensor or a list of
steps, masking outputs past ``valid_length``, taking states at ``valid_length`` and reversing
sequences within their lengths.

A cell maps one step ``(x, states) -> (out, new_states)``; x is (batch, input_size), each state
(batch, ...) as ``state_info`` says. ``unroll`` steps the cell over a sequence in Python, so
under a hybridized parent every step is traced into the parent's one graph; a hybridized cell
unrolled eagerly runs one compiled graph per step.

Example::

    >>> cell = LSTMCell(8); cell.initialize()
    >>> out, states = cell.unroll(5, nd.ones((2, 5, 3)), merge_outputs=True)
    >>> out.shape, [s.shape for s in states]
    ((2, 5, 8), [(2, 8), (2, 8)])
"""
from ... import ndarray as nd
from ...base import MXNetError
from ...ndarray._registry import STATE
from ...ndarray.ndarray import NDArray
from ...symbol.symbol import Symbol
from ..activations import LeakyReLU
from ..block import Block, HybridBlock

__all__ = ["RecurrentCell", "HybridRecurrentCell"]


def _is_tensor(x):
    return isinstance(x, (NDArray, Symbol))


def _as_list(x):
    if isinstance(x, Symbol) and len(x._entries) > 1:   # a split's outputs on a plain graph
        return list(x)
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _cells_state_info(cells, batch_size):
    return sum([c.state_info(batch_size) for c in cells], [])


def _cells_begin_state(cells, **kwargs):
    return sum([c.begin_state(**kwargs) for c in cells], [])


def _shape(x):
    """``x.shape``, or None for a symbol of unknown shape (a Gluon 1.x symbolic unroll)."""
    try:
        return x.shape
    except MXNetError:
        return None


def _get_begin_state(cell, begin_state, inputs, batch_size, batch_axis=0):
    """``begin_state``, or zeros on the inputs' device, of their dtype. For symbols of
    unknown shape the zeros are computed from the inputs (batch on ``batch_axis``), so the
    graph infers their shape (MXNet writes shape (0, hidden) and infers the 0)."""
    if begin_state is not None:
        return begin_state
    first = inputs if _is_tensor(inputs) else inputs[0]
    # a plain symbolic graph (a Gluon 1.x symbolic unroll, not a hybridized trace) computes
    # its zeros from the inputs even when their shape is known: a constant NDArray would mix
    # arrays into the symbols, which MXNet's F = symbol never does
    symbolic = not getattr(STATE.tracer, "records_mode", False)
    if isinstance(first, Symbol) and (_shape(first) is None or symbolic):
        axis = batch_axis if _is_tensor(inputs) else 0
        return cell.begin_state(func=_zeros_from(first, axis), batch_size=0)
    kwargs = {"dtype": first.dtype}
    if isinstance(first, NDArray):
        kwargs["ctx"] = first.context
    return cell.begin_state(func=nd.zeros, batch_size=batch_size, **kwargs)


def _zeros_from(x, batch_axis):
    """A ``begin_state`` func: zeros of the state's shape with x's batch size."""
    column = nd.sum(nd.zeros_like(x), axis=batch_axis, exclude=True)          # (N,)

    def zeros(name=None, shape=(0,), **kwargs):
        z = nd.reshape(column, (-1,) + (1,) * (len(shape) - 1))
        if len(shape) == 1:
            return z
        return nd.broadcast_axis(z, axis=tuple(range(1, len(shape))), size=tuple(shape[1:]))
    return zeros


def _format_sequence(length, inputs, layout, merge, in_layout=None):
    """Inputs as one (layout) tensor when ``merge`` is True, a list of (N, ...) steps when
    False, as given when None. Returns ``(inputs, time_axis, batch_size)`` (batch size 0 for
    symbols of unknown shape)."""
    assert inputs is not None, ("unroll(inputs=None) has been deprecated. Please create input "
                                "variables outside unroll.")
    axis = layout.find("T")
    batch_axis = layout.find("N")
    in_axis = in_layout.find("T") if in_layout is not None else axis
    if _is_tensor(inputs):
        shape = _shape(inputs)
        batch_size = shape[batch_axis] if shape else 0
        if merge is False:
            steps = shape[in_axis] if shape else length
            assert length is None or length == steps
            inputs = _as_list(nd.split(inputs, axis=in_axis, num_outputs=steps, squeeze_axis=1))
    else:
        assert length is None or len(inputs) == length
        shape = _shape(inputs[0])
        batch_size = shape[0] if shape else 0
        if merge is True:
            inputs = nd.stack(*inputs, axis=axis)
            in_axis = axis
    if _is_tensor(inputs) and axis != in_axis:
        inputs = nd.swapaxes(inputs, dim1=axis, dim2=in_axis)
    return inputs, axis, batch_size


def _mask_sequence_variable_length(data, length, valid_length, time_axis, merge):
    """Zero the steps past each sample's ``valid_length``; one tensor if ``merge``."""
    if not _is_tensor(data):
        data = nd.stack(*data, axis=time_axis)
    outputs = nd.SequenceMask(data, sequence_length=valid_length, use_sequence_length=True,
                              axis=time_axis)
    if not merge:
        outputs = _as_list(nd.split(outputs, num_outputs=length, axis=time_axis,
                                    squeeze_axis=True))
    return outputs


def _sequence_last(data, valid_length):
    """``data[valid_length[n] - 1, n]`` for each n: data (T, N, ...) -> (N, ...)."""
    return nd.SequenceLast(data, sequence_length=valid_length, use_sequence_length=True, axis=0)


def _sequence_reverse(data, valid_length):
    """Reverse each sample's first ``valid_length`` steps, the padding stays in place:
    data (T, N, ...) -> (T, N, ...)."""
    return nd.SequenceReverse(data, sequence_length=valid_length, use_sequence_length=True)


def _reverse_sequences(sequences, unroll_step, valid_length=None):
    if valid_length is None:
        return list(reversed(sequences))
    rev = _sequence_reverse(nd.stack(*sequences, axis=0), valid_length)
    return _as_list(nd.split(rev, axis=0, num_outputs=unroll_step, squeeze_axis=True))


def _current_trace():
    """The trace values made now belong to (None eagerly): values kept across steps (zoneout's
    last output, variational dropout's masks) are reused only within the same trace."""
    return STATE.tracer


class RecurrentCell(Block):
    """Abstract base class of recurrent cells (MXNet Gluon 1.9 ``gluon.rnn.RecurrentCell``).

    Subclasses define ``state_info(batch_size)`` (one ``{'shape': ..., '__layout__': ...}``
    per state) and the one-step ``forward(inputs, states) -> (output, new_states)``.
    ``prefix``/``params`` as for every Block.

    Example::

        >>> cell = RNNCell(4); cell.state_info(2)
        [{'shape': (2, 4), '__layout__': 'NC'}]
    """

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._modified = False
        self.reset()

    def reset(self):
        """Reset before re-using the cell for another sequence (and its children)."""
        self._init_counter = -1
        self._counter = -1
        for cell in self._children.values():
            cell.reset()

    def state_info(self, batch_size=0):
        """Shape and layout of each state: a list of dicts."""
        raise NotImplementedError()

    def begin_state(self, batch_size=0, func=nd.zeros, **kwargs):
        """Initial states: ``func(name=..., shape=(batch_size, ...), **kwargs)`` per state
        (``nd.zeros``, ``nd.ones``, ``nd.random.uniform``...); kwargs such as ``dtype`` or
        ``ctx`` go to ``func``.

        Example::

            >>> LSTMCell(3).begin_state(2)[0].shape
            (2, 3)
        """
        assert not self._modified, ("After applying modifier cells (e.g. ZoneoutCell) the base "
                                    "cell cannot be called directly. Call the modifier cell "
                                    "instead.")
        states = []
        for info in self.state_info(batch_size):
            self._init_counter += 1
            info = dict(info or {})
            info.pop("__layout__", None)  # kiln arrays carry no layout
            info.update(kwargs)
            states.append(func(name=f"{self._prefix}begin_state_{self._init_counter}", **info))
        return states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None,
               valid_length=None):
        """Step the cell ``length`` times over ``inputs``.

        inputs: one tensor (N, T, C) for layout 'NTC' or (T, N, C) for 'TNC', or a list of T
        (N, C) steps. ``begin_state``: states (``begin_state()`` zeros if None).
        ``merge_outputs``: True gives one tensor in ``layout``, False a list of steps, None
        whichever the inputs were. ``valid_length`` (N,): outputs past it are zero and the
        states returned are those at step ``valid_length[n]``.
        Returns ``(outputs, states)``.

        Example::

            >>> cell = GRUCell(4); cell.initialize()
            >>> out, st = cell.unroll(3, nd.ones((2, 3, 5)), valid_length=nd.array([1, 3]))
        """
        self.reset()
        inputs, axis, batch_size = _format_sequence(length, inputs, layout, False)
        states = _get_begin_state(self, begin_state, inputs, batch_size)
        outputs, all_states = [], []
        for i in range(length):
            output, states = self(inputs[i], states)
            outputs.append(output)
            if valid_length is not None:
                all_states.append(states)
        if valid_length is not None:
            states = [_sequence_last(nd.stack(*ele, axis=0), valid_length)
                      for ele in zip(*all_states)]
            outputs = _mask_sequence_variable_length(outputs, length, valid_length, axis, True)
        outputs, _, _ = _format_sequence(length, outputs, layout, merge_outputs)
        return outputs, states

    def _get_activation(self, F, inputs, activation, **kwargs):
        """Apply ``activation``: a name ('tanh', 'relu'... any ``Activation`` act_type), a
        ``LeakyReLU`` block or any callable."""
        func = {"tanh": F.tanh, "relu": F.relu, "sigmoid": F.sigmoid,
                "softsign": F.softsign}.get(activation) if isinstance(activation, str) else None
        if func:
            return func(inputs, **kwargs)
        if isinstance(activation, str):
            return F.Activation(inputs, act_type=activation, **kwargs)
        if isinstance(activation, LeakyReLU):
            return F.LeakyReLU(inputs, act_type="leaky", slope=activation._alpha, **kwargs)
        return activation(inputs)

    def forward(self, inputs, states):
        """One step: ``(inputs (N, C), states) -> (output, new_states)``."""
        self._counter += 1
        return super().forward(inputs, states)


class HybridRecurrentCell(RecurrentCell, HybridBlock):
    """A recurrent cell that hybridizes: define ``hybrid_forward(F, inputs, states,
    **params)``. Hybridized, each step (``cell(x, states)``) runs one compiled graph.

    Example::

        >>> cell = RNNCell(4); cell.initialize(); cell.hybridize()
        >>> out, states = cell(nd.ones((2, 3)), cell.begin_state(2))
    """

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def hybrid_forward(self, F, x, *args, **kwargs):
        raise NotImplementedError

    _steps_state = False  # True: keeps Python values across steps (zoneout, variational)

    def _run_forward(self, *args, **kwargs):
        # a cell whose steps share Python-side values (the last output, fixed masks) cannot
        # be one compiled graph per step: it runs eagerly and its children compile themselves
        if self._active and any(getattr(b, "_steps_state", False) for b in self._all_blocks()):
            return self._call_eager(*args, **kwargs)
        return super()._run_forward(*args, **kwargs)
