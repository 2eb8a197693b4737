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
