"""Binding MXNet's fused ``RNN`` symbol from the data's shape alone.

MXNet 1.9's own test_operator.py builds ``sym.RNN(data=x, parameters=p, state=h, ...)`` and
calls ``simple_bind(x=(T, N, C))``: the flat parameter vector and the begin states get their
shapes from the op (``param_shapes``), as FullyConnected's weight does. These checks use small
sizes; the expected lengths follow MXNet's layout (per layer and direction, i2h then h2h
weights; the biases after all weights).
"""
import kiln as mx
import pytest


def _flat_size(mode, C, H, L, D):
    gates = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}[mode]
    size = 0
    for layer in range(L):
        ni = C if layer == 0 else D * H
        size += D * gates * H * (ni + H)
    return size + L * D * 2 * gates * H


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_rnn_symbol_infers_parameters_and_states(mode, bidirectional):
    T, N, C, H, L = 4, 3, 5, 6, 2
    D = 2 if bidirectional else 1
    kwargs = {"state_cell": mx.sym.var("c")} if mode == "lstm" else {}
    net = mx.sym.RNN(data=mx.sym.var("x"), parameters=mx.sym.var("w"),
                     state=mx.sym.var("h"), state_size=H, num_layers=L, mode=mode,
                     bidirectional=bidirectional, state_outputs=True, **kwargs)
    args, outs, _ = net.infer_shape(x=(T, N, C))
    shapes = dict(zip(net.list_arguments(), args))
    assert shapes["w"] == (_flat_size(mode, C, H, L, D),)
    assert shapes["h"] == (L * D, N, H)
    if mode == "lstm":
        assert shapes["c"] == (L * D, N, H)
    assert outs[0] == (T, N, D * H)


def test_rnn_simple_bind_runs_forward_with_dropout():
    net = mx.sym.RNN(data=mx.sym.var("x"), parameters=mx.sym.var("w"),
                     state=mx.sym.var("h"), state_size=4, num_layers=3, mode="gru",
                     p=0.5, state_outputs=True)
    exe = net.simple_bind(ctx=mx.cpu(), x=(5, 2, 3))
    outs = exe.forward(is_train=True)
    assert [o.shape for o in outs] == [(5, 2, 4), (3, 2, 4)]
