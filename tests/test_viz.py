"""kiln.viz against MXNet 1.9.1: tests/data/mxnet191_print_summary.txt is what real MXNet printed
for the network below (MXNet's own tests/python/unittest/test_viz.py network), without and with
shapes."""
import os

import kiln as mx

DATA = os.path.join(os.path.dirname(__file__), "data", "mxnet191_print_summary.txt")


def _viz_net():
    data = mx.sym.Variable("data")
    bias = mx.sym.Variable("fc1_bias")
    conv1 = mx.sym.Convolution(data=data, name="conv1", num_filter=32, kernel=(3, 3),
                               stride=(2, 2))
    bn1 = mx.sym.BatchNorm(data=conv1, name="bn1")
    act1 = mx.sym.Activation(data=bn1, name="relu1", act_type="relu")
    mp1 = mx.sym.Pooling(data=act1, name="mp1", kernel=(2, 2), stride=(2, 2), pool_type="max")
    fc1 = mx.sym.FullyConnected(data=mp1, bias=bias, name="fc1", num_hidden=10)
    return mx.sym.FullyConnected(data=fc1, name="fc2", num_hidden=10)


def test_print_summary_prints_what_mxnet_prints(capsys):
    net = _viz_net()
    assert mx.viz.print_summary(net) is None
    mx.viz.print_summary(net, shape={"data": (1, 3, 28, 28)})
    with open(DATA) as f:
        assert capsys.readouterr().out == f.read()


def test_print_summary_multiple_inputs_and_no_bias(capsys):
    a = mx.sym.var("a")
    conv = mx.sym.Convolution(a, num_filter=4, kernel=(3, 3), num_group=2, no_bias=True,
                              name="cg")
    fc = mx.sym.FullyConnected(mx.sym.var("b"), num_hidden=3, no_bias=True, name="fc")
    out = mx.sym.broadcast_add(mx.sym.sum(conv, axis=(1, 2, 3), keepdims=True, name="s"),
                               mx.sym.sum(fc, axis=1, keepdims=True, name="t"), name="add0")
    mx.viz.print_summary(out, shape={"a": (2, 4, 6, 6), "b": (2, 5)})
    text = capsys.readouterr().out
    rows = [line.split() for line in text.splitlines() if "(" in line and ")" in line]
    counts = {r[0]: r[-2] if len(r) > 3 else r[-1] for r in rows}
    assert counts["cg(Convolution)"] == str(4 * 4 // 2 * 9)  # channels x filters / groups x kernel
    assert "Total params: 72" in text  # MXNet counts no input channels for variable b: fc 0
