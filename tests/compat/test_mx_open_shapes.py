"""Creation ops whose ``shape`` has 0s (``sym.zeros((0, 3))``): MXNet 1.x reads a 0 there as an
unknown dim, learnt at bind time from the ops that consume the array (the other operand of an
elementwise op, the batch of a layer's output), as the legacy rnn cells' begin states need.
kiln against real MXNet 1.9.1; under ``np_shape`` a 0 stays a real zero-size dim."""
import os
import sys
import textwrap

import kiln as mx
import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from _oracle_suite import MX_PYTHON, run_script  # noqa: E402

SCRIPT = textwrap.dedent("""
    import json, sys
    lib = __import__(sys.argv[1])
    sym, nd = lib.sym, lib.nd
    x = sym.var("x")
    res = {"add": [list(s) for s in (x + sym.zeros((0, 3))).infer_shape(x=(4, 3))[1]]}
    # the batch of ones((0, 5)) decided through the dense layer's output
    y = sym.FullyConnected(sym.ones((0, 5)), num_hidden=3, name="fc") * x
    args, outs, _ = y.infer_shape(x=(2, 3))
    res["fc"] = [[list(s) for s in args], [list(s) for s in outs]]
    ex = y.simple_bind(lib.cpu(), x=(2, 3))
    out = ex.forward(x=nd.array([[1, 2, 3], [4, 5, 6]]), fc_weight=nd.ones((3, 5)),
                     fc_bias=nd.array([0, 1, 2]))
    res["value"] = out[0].asnumpy().tolist()
    print(json.dumps(res))
""")


@pytest.mark.skipif(not os.path.exists(MX_PYTHON), reason="no MXNet 1.9.1 oracle (.mxnet-venv)")
def test_zero_dims_of_created_arrays_are_learnt_as_mxnet_learns_them(tmp_path):
    want = run_script(MX_PYTHON, "mxnet", SCRIPT, tmp_path)
    assert run_script(sys.executable, "kiln", SCRIPT, tmp_path) == want


def test_begin_states_of_the_legacy_cells_take_the_batch_of_the_data():
    cell = mx.rnn.LSTMCell(4, prefix="l_")
    outs, states = cell.unroll(3, mx.sym.var("data"), merge_outputs=True)   # zeros((0, 4))
    group = mx.sym.Group([outs] + states)
    assert group.infer_shape(data=(2, 3, 5))[1] == [(2, 3, 4), (2, 4), (2, 4)]
    ex = group.simple_bind(mx.cpu(), data=(2, 3, 5))
    rng = np.random.RandomState(0)
    args = {k: mx.nd.array(rng.uniform(-1, 1, v.shape)) for k, v in ex.arg_dict.items()}
    got = ex.forward(**args)
    given = [mx.sym.zeros((2, 4)), mx.sym.zeros((2, 4))]
    explicit, _ = cell.unroll(3, mx.sym.var("data"), given, merge_outputs=True)
    want = explicit.bind(mx.cpu(), args=args).forward()
    np.testing.assert_array_equal(got[0].asnumpy(), want[0].asnumpy())


def test_under_np_shape_a_zero_is_a_zero_size_dim():
    out = mx.sym.zeros((0, 3))
    with mx.util.np_shape(True):
        assert out.infer_shape()[1] == [(0, 3)]
        assert out.eval()[0].shape == (0, 3)


@pytest.mark.parametrize("src, args, reverse, dst", [
    ((2, 3, 5, 5), (0, -1), False, (2, 75)),
    ((2, 3, 5, 4), (-1, 0, 0), False, (8, 3, 5)),
    ((64, 1, 2, 3), (-4, 16, -1, -2), False, (16, 4, 1, 2, 3)),
    ((2, 3, 5, 5), (5, 3, 0, -1), True, (5, 3, 5, 2)),
    ((1, 2, 3, 64), (-2, -1, 16, -4), True, (1, 2, 3, 4, 16)),
])
def test_reshape_input_dimension_inferred_back_from_its_output(src, args, reverse, dst):
    """MXNet's test_reshape: one unknown (0) input dimension, the reshape's output shape known
    from the other operand of an add: the input's dimension comes back from the size."""
    for i in range(len(src)):
        holdout = tuple(0 if k == i else d for k, d in enumerate(src))
        net = mx.sym.Variable("data")
        net = mx.sym.elemwise_add(net.reshape(args, reverse=reverse), mx.sym.ones(shape=dst))
        arg_shapes, out_shapes, _ = net.infer_shape(data=holdout)
        assert arg_shapes[0] == src and out_shapes[0] == dst


def test_reshape_back_inference_refuses_a_size_that_does_not_divide():
    net = mx.sym.Variable("data")
    net = mx.sym.elemwise_add(net.reshape((0, -1)), mx.sym.ones(shape=(2, 7)))
    with pytest.raises(Exception):
        net.infer_shape(data=(2, 0, 5))


@pytest.mark.parametrize("begin, end, step, want", [
    ((None, None), (None, 10), [], (-1, 10)),
    ((None, None), (None, 10), (None, 2), (-1, 5)),
    ((None, 3), (5, 10), [], (-1, 7)),
    ((2, 3), (None, 10), [], (-1, 7)),
])
def test_np_shape_unknown_dimension_is_minus_one_in_partial_inference(begin, end, step, want):
    """MXNet's test_slice_partial_infer under np_shape: -1 marks the unknown dimension."""
    with mx.np_shape():
        data = mx.sym.var(name="data", shape=(-1, 20))
        out = mx.sym.slice(data, begin=begin, end=end, step=step)
        assert out.infer_shape_partial()[1][0] == want
    legacy = mx.sym.slice(mx.sym.var(name="data", shape=(0, 20)), begin=begin, end=end,
                          step=step)
    assert legacy.infer_shape_partial()[1][0] == tuple(0 if d == -1 else d for d in want)
