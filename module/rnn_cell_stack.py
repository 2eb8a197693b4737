"""``mx.rnn``'s composite cells: :class:`SequentialRNNCell` (a stack of layers),
:class:`BidirectionalCell` (a forward and a backward cell over the same sequence) and
:class:`DropoutCell`, as MXNet 1.9 builds them (names, outputs, nested states).

Example::

    >>> stack = rnn.SequentialRNNCell()
    >>> stack.add(rnn.BidirectionalCell(rnn.LSTMCell(4, prefix="l0_"),
    ...                                 rnn.LSTMCell(4, prefix="r0_")))
    >>> outs, _ = stack.unroll(3, sym.var("data"), merge_outputs=True)   # (N, 3, 8)
"""
from .. import symbol as sym
from .rnn_cell_basic import BaseRNNCell, as_sequence


class _Composite(BaseRNNCell):
    """Cells whose parameters, states and packed weights are their children's, in order."""

    def __init__(self, cells, params):
        super().__init__(prefix="", params=params)
        self._override_cell_params = params is not None
        self._cells = []
        for cell in cells:
            self._adopt(cell)

    def _adopt(self, cell):
        if self._override_cell_params:
            if not cell._own_params:
                raise ValueError(f"{type(self).__name__}: give params to it or to its "
                                 "cells, not both")
            cell.params._params.update(self.params._params)
        self.params._params.update(cell.params._params)
        self._cells.append(cell)

    @property
    def state_info(self):
        return [info for cell in self._cells for info in cell.state_info]

    def begin_state(self, **kwargs):
        return [s for cell in self._cells for s in cell.begin_state(**kwargs)]

    def unpack_weights(self, args):
        for cell in self._cells:
            args = cell.unpack_weights(args)
        return args

    def pack_weights(self, args):
        for cell in self._cells:
            args = cell.pack_weights(args)
        return args

    def _split_states(self, states):
        """``states`` cut into each cell's share."""
        shares, pos = [], 0
        for cell in self._cells:
            n = len(cell.state_info)
            shares.append(states[pos:pos + n])
            pos += n
        return shares


class SequentialRNNCell(_Composite):
    """Cells applied one after another, each on the previous one's outputs (``add``)."""

    def __init__(self, params=None):
        super().__init__([], params)

    def add(self, cell):
        """Append ``cell`` to the stack."""
        self._adopt(cell)

    def __call__(self, inputs, states):
        self._counter += 1
        new_states = []
        for cell, share in zip(self._cells, self._split_states(states)):
            if isinstance(cell, BidirectionalCell):
                raise ValueError("SequentialRNNCell: a BidirectionalCell cannot be stepped; "
                                 "use unroll")
            inputs, share = cell(inputs, share)
            new_states += share
        return inputs, new_states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        self.reset()
        begin_state = self.begin_state() if begin_state is None else begin_state
        last = len(self._cells) - 1
        new_states = []
        for k, (cell, share) in enumerate(zip(self._cells, self._split_states(begin_state))):
            inputs, share = cell.unroll(length, inputs, begin_state=share, layout=layout,
                                        merge_outputs=merge_outputs if k == last else None)
            new_states.extend(share)
        return inputs, new_states


class BidirectionalCell(_Composite):
    """``l_cell`` over the sequence and ``r_cell`` over it reversed; each step's output is
    the two concatenated (``<output_prefix>t<k>``, or ``<output_prefix>out`` merged). The
    states come back nested: ``[l_cell's states, r_cell's states]``."""

    def __init__(self, l_cell, r_cell, params=None, output_prefix="bi_"):
        super().__init__([l_cell, r_cell], params)
        self._output_prefix = output_prefix

    def __call__(self, inputs, states):
        raise NotImplementedError("BidirectionalCell cannot be stepped; use unroll")

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        self.reset()
        inputs, axis = as_sequence(length, inputs, layout, False)
        begin_state = self.begin_state() if begin_state is None else begin_state
        (l_cell, r_cell), (l_begin, r_begin) = self._cells, self._split_states(begin_state)
        l_out, l_states = l_cell.unroll(length, inputs, begin_state=l_begin, layout=layout,
                                        merge_outputs=merge_outputs)
        r_out, r_states = r_cell.unroll(length, list(reversed(inputs)), begin_state=r_begin,
                                        layout=layout, merge_outputs=merge_outputs)
        if merge_outputs is None:
            merge_outputs = isinstance(l_out, sym.Symbol) and isinstance(r_out, sym.Symbol)
            if not merge_outputs:
                l_out, r_out = (as_sequence(length, o, layout, False)[0] for o in (l_out, r_out))
        if merge_outputs:
            outputs = sym.concat(l_out, sym.reverse(r_out, axis=axis), dim=2,
                                 name=f"{self._output_prefix}out")
        else:
            outputs = [sym.concat(a, b, dim=1, name=f"{self._output_prefix}t{k}")
                       for k, (a, b) in enumerate(zip(l_out, reversed(r_out)))]
        return outputs, [l_states, r_states]


class DropoutCell(BaseRNNCell):
    """Dropout on each step's input (``p = dropout``); no states, no weights."""

    def __init__(self, dropout, prefix="dropout_", params=None):
        super().__init__(prefix=prefix, params=params)
        self.dropout = float(dropout)

    @property
    def state_info(self):
        return []

    def __call__(self, inputs, states):
        if self.dropout > 0:
            inputs = sym.Dropout(data=inputs, p=self.dropout)
        return inputs, states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        self.reset()
        inputs, _ = as_sequence(length, inputs, layout, merge_outputs)
        if isinstance(inputs, sym.Symbol):
            return self(inputs, [])
        return super().unroll(length, inputs, begin_state=begin_state, layout=layout,
                              merge_outputs=merge_outputs)
