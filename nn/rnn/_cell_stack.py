"""Cells made of cells: ``SequentialRNNCell``, ``HybridSequentialRNNCell`` (stacks) and
``BidirectionalCell`` (MXNet Gluon 1.9 behaviour and structural parameter names: ``0.i2h_weight``,
``l_cell.i2h_weight``).

Example::

    >>> stack = HybridSequentialRNNCell()
    >>> stack.add(LSTMCell(4)); stack.add(GRUCell(3)); stack.initialize()
    >>> out, states = stack.unroll(5, nd.ones((2, 5, 6)), merge_outputs=True)
    >>> out.shape, len(states)
    ((2, 5, 3), 3)
"""
from ... import ndarray as nd
from ... import symbol as sym
from ...ndarray._registry import STATE
from ...symbol.symbol import Symbol
from ..parameter import _indent
from ._cell_base import (
    HybridRecurrentCell,
    RecurrentCell,
    _cells_begin_state,
    _cells_state_info,
    _format_sequence,
    _get_begin_state,
    _is_tensor,
    _mask_sequence_variable_length,
    _reverse_sequences,
)

__all__ = ["SequentialRNNCell", "HybridSequentialRNNCell", "BidirectionalCell"]


class _StackMixin:
    """What both stacks share: add, indexing, states split over the cells, unroll cell by
    cell (each cell unrolls the whole sequence before the next)."""

    _bidirectional = False

    def __repr__(self):
        modstr = "\n".join(f"({i}): {_indent(repr(m), 2)}" for i, m in self._children.items())
        return f"{self.__class__.__name__}(\n{modstr}\n)"

    def add(self, cell):
        """Append a cell to the stack."""
        self.register_child(cell)

    def state_info(self, batch_size=0):
        return _cells_state_info(self._children.values(), batch_size)

    def begin_state(self, **kwargs):
        assert not self._modified, ("After applying modifier cells (e.g. ZoneoutCell) the base "
                                    "cell cannot be called directly. Call the modifier cell "
                                    "instead.")
        return _cells_begin_state(self._children.values(), **kwargs)

    def _step(self, inputs, states):
        self._counter += 1
        next_states, p = [], 0
        for cell in self._children.values():
            assert not isinstance(cell, BidirectionalCell)
            n = len(cell.state_info())
            inputs, state = cell(inputs, states[p:p + n])
            p += n
            next_states.append(state)
        return inputs, sum(next_states, [])

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None,
               valid_length=None):
        self.reset()
        inputs, _, batch_size = _format_sequence(length, inputs, layout, None)
        num_cells = len(self._children)
        begin_state = _get_begin_state(self, begin_state, inputs, batch_size, layout.find("N"))
        p, next_states = 0, []
        for i, cell in enumerate(self._children.values()):
            n = len(cell.state_info())
            states = begin_state[p:p + n]
            p += n
            inputs, states = cell.unroll(
                length, inputs=inputs, begin_state=states, layout=layout,
                merge_outputs=None if i < num_cells - 1 else merge_outputs,
                valid_length=valid_length)
            next_states.extend(states)
        return inputs, next_states

    def __getitem__(self, i):
        return self._children[str(i)]

    def __len__(self):
        return len(self._children)


class SequentialRNNCell(_StackMixin, RecurrentCell):
    """Stacks cells: each step feeds the output of one cell to the next; the states are the
    cells' states concatenated in order.

    Example::

        >>> stack = SequentialRNNCell(); stack.add(RNNCell(3)); stack.add(RNNCell(3))
        >>> stack.initialize(); out, st = stack(nd.ones((2, 4)), stack.begin_state(batch_size=2))
    """

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def forward(self, inputs, states):
        return self._step(inputs, states)


class HybridSequentialRNNCell(_StackMixin, HybridRecurrentCell):
    """Stacks HybridRecurrentCells; hybridized, one step of the whole stack is one graph.

    Example::

        >>> stack = HybridSequentialRNNCell(); stack.add(GRUCell(3)); stack.initialize()
        >>> stack.hybridize(); out, st = stack(nd.ones((2, 4)), stack.begin_state(batch_size=2))
    """

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def forward(self, inputs, states):
        return self._step(inputs, states)


class BidirectionalCell(HybridRecurrentCell):
    """Runs ``l_cell`` forward and ``r_cell`` backward over the sequence (within each
    sample's ``valid_length``) and concatenates their outputs on the feature axis. It cannot
    be stepped: use ``unroll``. States: l_cell's, then r_cell's.

    Example::

        >>> bi = BidirectionalCell(LSTMCell(3), LSTMCell(3)); bi.initialize()
        >>> out, st = bi.unroll(4, nd.ones((2, 4, 5)), merge_outputs=True); out.shape
        (2, 4, 6)
    """

    def __init__(self, l_cell, r_cell, output_prefix="bi_"):
        super().__init__(prefix="", params=None)
        self.register_child(l_cell, "l_cell")
        self.register_child(r_cell, "r_cell")
        self._output_prefix = output_prefix

    def __call__(self, inputs, states):
        raise NotImplementedError("Bidirectional cannot be stepped. Please use unroll")

    def __repr__(self):
        return (f"{self.__class__.__name__}(forward={self._children['l_cell']}, "
                f"backward={self._children['r_cell']})")

    def state_info(self, batch_size=0):
        return _cells_state_info(self._children.values(), batch_size)

    def begin_state(self, **kwargs):
        assert not self._modified, ("After applying modifier cells (e.g. DropoutCell) the base "
                                    "cell cannot be called directly. Call the modifier cell "
                                    "instead.")
        return _cells_begin_state(self._children.values(), **kwargs)

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None,
               valid_length=None):
        self.reset()
        inputs, axis, batch_size = _format_sequence(length, inputs, layout, False)
        reversed_inputs = list(_reverse_sequences(inputs, length, valid_length))
        states = _get_begin_state(self, begin_state, inputs, batch_size)
        l_cell, r_cell = self._children.values()
        n_left = len(l_cell.state_info(batch_size))
        l_outputs, l_states = l_cell.unroll(length, inputs=inputs, begin_state=states[:n_left],
                                            layout=layout, merge_outputs=merge_outputs,
                                            valid_length=valid_length)
        r_outputs, r_states = r_cell.unroll(length, inputs=reversed_inputs,
                                            begin_state=states[n_left:], layout=layout,
                                            merge_outputs=False, valid_length=valid_length)
        reversed_r_outputs = _reverse_sequences(r_outputs, length, valid_length)
        if merge_outputs is None:
            merge_outputs = _is_tensor(l_outputs)
            l_outputs, _, _ = _format_sequence(None, l_outputs, layout, merge_outputs)
            reversed_r_outputs, _, _ = _format_sequence(None, reversed_r_outputs, layout,
                                                        merge_outputs)
        if merge_outputs:
            reversed_r_outputs = nd.stack(*reversed_r_outputs, axis=axis)
            outputs = _concat(l_outputs, reversed_r_outputs, dim=2,
                              name=f"{self._output_prefix}out")
        else:
            outputs = [_concat(lo, ro, dim=1, name=f"{self._output_prefix}t{i}")
                       for i, (lo, ro) in enumerate(zip(l_outputs, reversed_r_outputs))]
        if valid_length is not None:
            outputs = _mask_sequence_variable_length(outputs, length, valid_length, axis,
                                                     merge_outputs)
        return outputs, l_states + r_states


def _concat(*xs, dim, name):
    """``concat``; in a plain ``kiln.sym`` graph (no block call tracing it) the node takes
    ``name`` as MXNet's ``F.concat(..., name=)`` does (``rnn_bi_t0_output``)."""
    if STATE.tracer is None and isinstance(xs[0], Symbol):
        return sym.concat(*xs, dim=dim, name=name)
    return nd.concat(*xs, dim=dim, name=name)
