"""Recurrent-cell cases run the same way by MXNet 1.9.1 and by kiln (``mx`` is either
library): each builder returns a cell; :func:`run_case` sets its parameters, steps it once,
unrolls it and records outputs, states and gradients. Imports neither library: the file also
runs under MXNet's interpreter (numpy < 1.24).
"""
import numpy as np

BATCH, STEPS, IN = 3, 4, 6
VALID = [2, 4, 1]


def contrib_rnn(mx):
    return mx.gluon.contrib.rnn


def _stack(mx, hybrid):
    rnn = mx.gluon.rnn
    stack = rnn.HybridSequentialRNNCell() if hybrid else rnn.SequentialRNNCell()
    with stack.name_scope():
        stack.add(rnn.LSTMCell(5))
        stack.add(rnn.GRUCell(4))
    return stack


def _stack_of_modifiers(mx):
    rnn = mx.gluon.rnn
    stack = rnn.HybridSequentialRNNCell()
    with stack.name_scope():
        stack.add(rnn.ZoneoutCell(rnn.LSTMCell(5), 0.2, 0.3))
        stack.add(rnn.DropoutCell(0.3))
        stack.add(rnn.ResidualCell(rnn.GRUCell(5)))
    return stack


BUILDERS = {  # name -> (builder, input size, predict mode only)
    "rnn_tanh": (lambda mx: mx.gluon.rnn.RNNCell(5), IN, False),
    "rnn_relu": (lambda mx: mx.gluon.rnn.RNNCell(5, activation="relu", input_size=IN), IN,
                 False),
    "rnn_softsign": (lambda mx: mx.gluon.rnn.RNNCell(5, activation="softsign"), IN, False),
    "lstm": (lambda mx: mx.gluon.rnn.LSTMCell(5), IN, False),
    "gru": (lambda mx: mx.gluon.rnn.GRUCell(5), IN, False),
    "lstmp": (lambda mx: contrib_rnn(mx).LSTMPCell(5, 3), IN, False),
    "seq": (lambda mx: _stack(mx, False), IN, False),
    "hseq": (lambda mx: _stack(mx, True), IN, False),
    "bi": (lambda mx: mx.gluon.rnn.BidirectionalCell(mx.gluon.rnn.LSTMCell(4),
                                                     mx.gluon.rnn.GRUCell(3)), IN, False),
    "residual": (lambda mx: mx.gluon.rnn.ResidualCell(mx.gluon.rnn.GRUCell(IN)), IN, False),
    "dropout": (lambda mx: mx.gluon.rnn.DropoutCell(0.5), IN, True),
    "zoneout": (lambda mx: mx.gluon.rnn.ZoneoutCell(mx.gluon.rnn.LSTMCell(5), 0.3, 0.4), IN,
                True),
    "hseq_modifiers": (_stack_of_modifiers, IN, True),
    "vardrop": (lambda mx: contrib_rnn(mx).VariationalDropoutCell(
        mx.gluon.rnn.GRUCell(5), 0.3, 0.2, 0.4), IN, True),
}

UNROLLS = [  # (layout, merge_outputs, valid_length, inputs as a list of steps)
    ("NTC", True, True, False),
    ("TNC", None, False, False),
    ("NTC", False, True, True),
]


def _arrays(outs):
    flat = []
    for o in outs:
        if isinstance(o, (list, tuple)):
            flat.extend(_arrays(o))
        else:
            flat.append(o)
    return flat


def run_case(mx, name, params_file, save_params):
    """Run case ``name``; parameters come from ``params_file`` (written first when
    ``save_params``). Returns ``{key: ndarray}`` and the parameter names."""
    build, size, predict = BUILDERS[name]
    cell = build(mx)
    cell.initialize(mx.init.Uniform(0.3))
    rs = np.random.RandomState(7)
    x0 = rs.uniform(-1, 1, (BATCH, STEPS, size)).astype(np.float32)
    cell.unroll(STEPS, mx.nd.array(x0), merge_outputs=True)  # finishes deferred init
    named = cell._collect_params_with_prefix()
    if save_params:
        for key in sorted(named):
            p = named[key]
            p.set_data(mx.nd.array(rs.uniform(-0.5, 0.5, p.shape).astype(np.float32)))
        cell.save_parameters(params_file)
    else:
        cell.load_parameters(params_file)
    res = {}
    for u, (layout, merge, valid, as_list) in enumerate(UNROLLS):
        x_np = x0 if layout == "NTC" else x0.transpose(1, 0, 2)
        x = mx.nd.array(x_np)
        x.attach_grad()
        valid_length = mx.nd.array(VALID) if valid else None
        with mx.autograd.record(train_mode=not predict):
            inputs = [x[:, t] if layout == "NTC" else x[t] for t in range(STEPS)] if as_list \
                else x
            outs, states = cell.unroll(STEPS, inputs, layout=layout, merge_outputs=merge,
                                       valid_length=valid_length)
            flat = _arrays([outs, states])
            # one scalar loss: an output that is also a state (h_T) gets both heads
            loss = 0
            for i, o in enumerate(flat):
                head = np.random.RandomState(10 + i).uniform(-1, 1, o.shape)
                loss = loss + (o * mx.nd.array(head.astype(np.float32))).sum()
        loss.backward()
        for i, o in enumerate(flat):
            res[f"u{u}/out{i}"] = o.asnumpy()
        res[f"u{u}/xgrad"] = x.grad.asnumpy()
        for key, p in named.items():
            if p.grad_req != "null":
                res[f"u{u}/pgrad:{key}"] = p.grad().asnumpy()
    if name not in ("bi",):  # one step (a BidirectionalCell cannot step)
        x = mx.nd.array(x0[:, 0])
        rs = np.random.RandomState(8)
        states = [mx.nd.array(rs.uniform(-1, 1, info["shape"]).astype(np.float32))
                  for info in cell.state_info(BATCH)]
        out, new_states = cell(x, states)
        for i, o in enumerate(_arrays([out, new_states])):
            res[f"step/out{i}"] = o.asnumpy()
    return res, list(cell.collect_params().keys())
