"""Cells that modify another cell or the sequence: ``DropoutCell``, ``ModifierCell`` and its
``ZoneoutCell``, ``ResidualCell`` and ``VariationalDropoutCell`` (MXNet Gluon 1.9; the last is
``gluon.contrib.rnn`` there).

A modifier wraps ``base_cell`` (registered as child ``base_cell``, so the parameters save as
``base_cell.i2h_weight``) and shares its parameters; the base cell must then be used through
the modifier only. Zoneout and variational dropout keep values across steps (the last output,
masks fixed for a sequence) in Python: hybridized, they run their own step eagerly around the
compiled base cell, and inside a hybridized parent they are traced with it.

Example::

    >>> cell = ResidualCell(GRUCell(4)); cell.initialize()
    >>> out, states = cell.unroll(3, nd.ones((2, 3, 4)), merge_outputs=True); out.shape
    (2, 3, 4)
"""
from numbers import Number

from ... import ndarray as nd
from ._cell_base import (
    HybridRecurrentCell,
    _current_trace,
    _format_sequence,
    _get_begin_state,
    _is_tensor,
    _mask_sequence_variable_length,
)
from ._cell_stack import BidirectionalCell, SequentialRNNCell

__all__ = ["DropoutCell", "ModifierCell", "ZoneoutCell", "ResidualCell",
           "VariationalDropoutCell"]


class DropoutCell(HybridRecurrentCell):
    """Dropout on the input of each step (states pass through unchanged); ``axes`` share one
    mask value along them. Unrolled over a tensor, one Dropout covers the whole sequence.

    Example::

        >>> cell = DropoutCell(0.5); out, st = cell(nd.ones((2, 3)), []); out.shape
        (2, 3)
    """

    def __init__(self, rate, axes=(), prefix=None, params=None):
        super().__init__(prefix, params)
        assert isinstance(rate, Number), "rate must be a number"
        self._rate = rate
        self._axes = axes

    def __repr__(self):
        return f"{self.__class__.__name__}(rate={self._rate}, axes={self._axes})"

    def state_info(self, batch_size=0):
        return []

    def _alias(self):
        return "dropout"

    def hybrid_forward(self, F, inputs, states):
        if self._rate > 0:
            inputs = F.Dropout(inputs, p=self._rate, axes=self._axes,
                               name=f"t{self._counter}_fwd")
        return inputs, states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None,
               valid_length=None):
        self.reset()
        inputs, _, _ = _format_sequence(length, inputs, layout, merge_outputs)
        if _is_tensor(inputs):
            return self.hybrid_forward(nd, inputs, begin_state if begin_state else [])
        return super().unroll(length, inputs, begin_state=begin_state, layout=layout,
                              merge_outputs=merge_outputs, valid_length=None)


class ModifierCell(HybridRecurrentCell):
    """Base of the cells that modify ``base_cell`` (prefix: the base cell's plus the alias;
    ``params``: the base cell's). Subclasses define ``hybrid_forward(F, inputs, states)``.

    Example::

        >>> ZoneoutCell(RNNCell(3, prefix='rnn_')).prefix
        'rnn_zoneout'
    """

    def __init__(self, base_cell):
        assert not base_cell._modified, (f"Cell {base_cell.name} is already modified. One cell "
                                         f"cannot be modified twice")
        base_cell._modified = True
        super().__init__(prefix=base_cell.prefix + self._alias(), params=None)
        self.base_cell = base_cell

    @property
    def params(self):
        return self.base_cell.params

    def state_info(self, batch_size=0):
        return self.base_cell.state_info(batch_size)

    def begin_state(self, func=nd.zeros, **kwargs):
        assert not self._modified, ("After applying modifier cells (e.g. DropoutCell) the base "
                                    "cell cannot be called directly. Call the modifier cell "
                                    "instead.")
        self.base_cell._modified = False
        try:
            return self.base_cell.begin_state(func=func, **kwargs)
        finally:
            self.base_cell._modified = True

    def hybrid_forward(self, F, inputs, states):
        raise NotImplementedError

    def __repr__(self):
        return f"{self.__class__.__name__}({self.base_cell})"


class ZoneoutCell(ModifierCell):
    """Zoneout (Krueger et al., 2016): in training, each output unit keeps the previous
    step's output with probability ``zoneout_outputs`` and each state unit its previous value
    with probability ``zoneout_states``; identity to the base cell in predict mode.

    Example::

        >>> cell = ZoneoutCell(LSTMCell(3), zoneout_states=0.1); cell.initialize()
        >>> out, st = cell.unroll(2, nd.ones((1, 2, 4)))
    """

    _steps_state = True

    def __init__(self, base_cell, zoneout_outputs=0., zoneout_states=0.):
        assert not isinstance(base_cell, BidirectionalCell), (
            "BidirectionalCell doesn't support zoneout since it doesn't support step. Please "
            "add ZoneoutCell to the cells underneath instead.")
        assert not isinstance(base_cell, SequentialRNNCell) or not base_cell._bidirectional, (
            "Bidirectional SequentialRNNCell doesn't support zoneout. Please add ZoneoutCell "
            "to the cells underneath instead.")
        super().__init__(base_cell)
        self.zoneout_outputs = zoneout_outputs
        self.zoneout_states = zoneout_states
        self._prev_output = None

    def __repr__(self):
        return (f"{self.__class__.__name__}(p_out={self.zoneout_outputs}, "
                f"p_state={self.zoneout_states}, {self.base_cell})")

    def _alias(self):
        return "zoneout"

    def reset(self):
        super().reset()
        self._prev_output = None

    def hybrid_forward(self, F, inputs, states):
        cell, p_outputs, p_states = self.base_cell, self.zoneout_outputs, self.zoneout_states
        next_output, next_states = cell(inputs, states)

        def mask(p, like):
            return F.Dropout(F.ones_like(like), p=p)

        trace = _current_trace()
        prev = self._prev_output
        prev_output = prev[0] if prev is not None and prev[1] is trace else None
        if prev_output is None:
            prev_output = F.zeros_like(next_output)
        output = (F.where(mask(p_outputs, next_output), next_output, prev_output)
                  if p_outputs != 0. else next_output)
        states = ([F.where(mask(p_states, new_s), new_s, old_s)
                   for new_s, old_s in zip(next_states, states)]
                  if p_states != 0. else next_states)
        self._prev_output = (output, trace)
        return output, states


class ResidualCell(ModifierCell):
    """Adds the input to the base cell's output (Wu et al., 2016): input and output sizes
    must match.

    Example::

        >>> cell = ResidualCell(RNNCell(3)); cell.initialize()
        >>> out, st = cell(nd.ones((2, 3)), cell.begin_state(batch_size=2)); out.shape
        (2, 3)
    """

    def __init__(self, base_cell):
        super().__init__(base_cell)

    def hybrid_forward(self, F, inputs, states):
        output, states = self.base_cell(inputs, states)
        output = F.elemwise_add(output, inputs, name=f"t{self._counter}_fwd")
        return output, states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None,
               valid_length=None):
        self.reset()
        self.base_cell._modified = False
        try:
            outputs, states = self.base_cell.unroll(length, inputs=inputs,
                                                    begin_state=begin_state, layout=layout,
                                                    merge_outputs=merge_outputs,
                                                    valid_length=valid_length)
        finally:
            self.base_cell._modified = True
        merge_outputs = _is_tensor(outputs) if merge_outputs is None else merge_outputs
        inputs, axis, _ = _format_sequence(length, inputs, layout, merge_outputs)
        if valid_length is not None:  # the padded inputs are zero too
            inputs = _mask_sequence_variable_length(inputs, length, valid_length, axis,
                                                    merge_outputs)
        if merge_outputs:
            return nd.elemwise_add(outputs, inputs), states
        return [nd.elemwise_add(i, j) for i, j in zip(outputs, inputs)], states


class VariationalDropoutCell(ModifierCell):
    """Variational dropout (Gal and Ghahramani, https://arxiv.org/abs/1512.05287): one
    dropout mask per sequence (drawn at the first step, kept until ``reset()``/``unroll``)
    for the inputs, the first state and the outputs, each with its own rate.

    Example::

        >>> cell = VariationalDropoutCell(LSTMCell(3), drop_inputs=0.2); cell.initialize()
        >>> out, st = cell.unroll(4, nd.ones((2, 4, 5)), merge_outputs=True); out.shape
        (2, 4, 3)
    """

    _steps_state = True

    def __init__(self, base_cell, drop_inputs=0., drop_states=0., drop_outputs=0.):
        assert not drop_states or not isinstance(base_cell, BidirectionalCell), (
            "BidirectionalCell doesn't support variational state dropout. Please add "
            "VariationalDropoutCell to the cells underneath instead.")
        assert (not drop_states or not isinstance(base_cell, SequentialRNNCell)
                or not base_cell._bidirectional), (
            "Bidirectional SequentialRNNCell doesn't support variational state dropout. "
            "Please add VariationalDropoutCell to the cells underneath instead.")
        super().__init__(base_cell)
        self.drop_inputs = drop_inputs
        self.drop_states = drop_states
        self.drop_outputs = drop_outputs
        self._masks = {}

    def _alias(self):
        return "vardrop"

    def reset(self):
        super().reset()
        self._masks = {}

    def _mask(self, F, kind, rate, like):
        trace = _current_trace()
        if self._masks.get("trace", trace) is not trace:  # masks of another trace: stale
            self._masks = {}
        self._masks["trace"] = trace
        if kind not in self._masks:
            self._masks[kind] = F.Dropout(F.ones_like(like), p=rate)
        return self._masks[kind]

    def hybrid_forward(self, F, inputs, states):
        if self.drop_states:
            states = list(states)
            states[0] = states[0] * self._mask(F, "states", self.drop_states, states[0])
        if self.drop_inputs:
            inputs = inputs * self._mask(F, "inputs", self.drop_inputs, inputs)
        next_output, next_states = self.base_cell(inputs, states)
        if self.drop_outputs:
            next_output = next_output * self._mask(F, "outputs", self.drop_outputs, next_output)
        return next_output, next_states

    def __repr__(self):
        return (f"{self.__class__.__name__}(p_out = {self.drop_outputs}, "
                f"p_state = {self.drop_states})")

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None,
               valid_length=None):
        if self.drop_states:
            return super().unroll(length, inputs, begin_state, layout, merge_outputs,
                                  valid_length=valid_length)
        self.reset()
        inputs, axis, batch_size = _format_sequence(length, inputs, layout, True)
        states = _get_begin_state(self, begin_state, inputs, batch_size, layout.find("N"))
        if self.drop_inputs:
            inputs = nd.Dropout(inputs, p=self.drop_inputs, axes=(axis,))
        outputs, states = self.base_cell.unroll(length, inputs, states, layout,
                                                merge_outputs=True, valid_length=valid_length)
        if self.drop_outputs:
            outputs = nd.Dropout(outputs, p=self.drop_outputs, axes=(axis,))
        merge_outputs = _is_tensor(outputs) if merge_outputs is None else merge_outputs
        outputs, _, _ = _format_sequence(length, outputs, layout, merge_outputs)
        if valid_length is not None:
            outputs = _mask_sequence_variable_length(outputs, length, valid_length, axis,
                                                     merge_outputs)
        return outputs, states
