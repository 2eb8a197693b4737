"""MXNet Gluon 1.9's ``gluon.contrib.rnn.rnn_cell`` module: ``LSTMPCell``,
``VariationalDropoutCell`` (the classes ``kiln.gluon.rnn`` has too) and ``dynamic_unroll``,
which steps a cell over a sequence with ``contrib.foreach``: in a hybridized block the whole
loop is one graph node instead of one traced copy of the cell per step.

Example::

    >>> cell = LSTMCell(5); cell.initialize()
    >>> out, states = dynamic_unroll(cell, nd.ones((3, 2, 4)), cell.begin_state(2))
    >>> out.shape
    (3, 2, 5)
"""
from ... import ndarray as nd
from ._cell_base import _as_list, _format_sequence
from ._cell_basic import LSTMPCell
from ._cell_modifiers import VariationalDropoutCell

__all__ = ["LSTMPCell", "VariationalDropoutCell", "dynamic_unroll"]


def dynamic_unroll(cell, inputs, begin_state, drop_inputs=0, drop_outputs=0, layout="TNC",
                   valid_length=None):
    """Run ``cell`` over ``inputs`` ((T, N, ...) for 'TNC', (N, T, ...) for 'NTC') from
    ``begin_state``; returns ``(outputs, states)`` with outputs in ``layout``.

    ``drop_inputs``/``drop_outputs``: dropout rates shared over time (one mask per sequence).
    ``valid_length`` (N,): each sample's length; its states stop changing after it and its
    later outputs are zero.

    Example::

        >>> out, states = dynamic_unroll(cell, x, cell.begin_state(2),
        ...                              valid_length=nd.array([2, 3]))
    """
    inputs, axis, _ = _format_sequence(0, inputs, layout, True)
    if axis != 0:  # foreach walks axis 0 (swapaxes: inputs may have more axes than layout)
        inputs = nd.swapaxes(inputs, dim1=0, dim2=axis)
    states = begin_state
    if drop_inputs:
        inputs = nd.Dropout(inputs, p=drop_inputs, axes=(axis,))
    if valid_length is None:
        def body(step, states):
            return cell(step, states)
    else:
        states = list(_as_list(states)) + [nd.zeros((1,), ctx=_ctx(valid_length))]

        def body(step, states):
            cell_states, t = states[:-1], states[-1]
            out, new_states = cell(step, cell_states)
            alive = nd.broadcast_greater(valid_length, t)
            new_states = [nd.where(alive, new, old) for new, old in zip(new_states,
                                                                         cell_states)]
            return out, new_states + [t + 1]
    outputs, states = nd.contrib.foreach(body, inputs, states)
    if drop_outputs:
        outputs = nd.Dropout(outputs, p=drop_outputs, axes=(axis,))
    if axis != 0:
        outputs = nd.swapaxes(outputs, dim1=0, dim2=axis)
    if valid_length is None:
        return outputs, states
    outputs = nd.SequenceMask(outputs, sequence_length=valid_length, use_sequence_length=True,
                              axis=axis)
    return outputs, states[:-1]


def _ctx(x):
    return getattr(x, "context", None)
