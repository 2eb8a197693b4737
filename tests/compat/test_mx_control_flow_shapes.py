"""Shapes learnt backwards through control-flow subgraphs (MXNet 1.9.1's ``infer_shape`` of
``sym.contrib.foreach``): a loop state whose shape only an elementwise op in the body decides,
and the weights of a layer the body reads, both unknown at bind time. kiln against real MXNet,
and bound with the learnt shapes against the same loop written out step by step."""
import os
import sys
import textwrap

import kiln as mx
import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from _oracle_suite import MX_PYTHON, run_script  # noqa: E402

SCRIPT = textwrap.dedent("""
    import json, sys, warnings
    lib = __import__(sys.argv[1])
    sym = lib.sym

    def shapes(group, **given):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            args, outs, _ = group.infer_shape(**given)
        if args is None:
            return "unknown"
        return [group.list_arguments(), [list(s) for s in args], [list(s) for s in outs]]

    def gated(step, states):   # the memory state's shape comes from the gate's only
        z = sym.FullyConnected(step, num_hidden=3, name="proj") + states[0]
        gate = sym.sigmoid(z)
        mem = gate * states[1] + (1 - gate) * sym.tanh(z)
        return mem * 2, [sym.tanh(mem), mem]
    outs, st = sym.contrib.foreach(gated, sym.var("x"), [sym.var("h"), sym.var("c")])
    res = {"foreach": shapes(sym.Group([outs] + st), x=(4, 2, 5), h=(2, 3))}
    print(json.dumps(res))
""")


@pytest.mark.skipif(not os.path.exists(MX_PYTHON), reason="no MXNet 1.9.1 oracle (.mxnet-venv)")
def test_foreach_state_and_weight_shapes_match_mxnet(tmp_path):
    want = run_script(MX_PYTHON, "mxnet", SCRIPT, tmp_path)
    assert run_script(sys.executable, "kiln", SCRIPT, tmp_path) == want


def _gated(step, states):
    z = mx.sym.FullyConnected(step, num_hidden=3, name="proj") + states[0]
    gate = mx.sym.sigmoid(z)
    mem = gate * states[1] + (1 - gate) * mx.sym.tanh(z)
    return mem * 2, [mx.sym.tanh(mem), mem]


def test_learnt_shapes_bind_and_match_the_unrolled_loop():
    x, h, c = mx.sym.var("x"), mx.sym.var("h"), mx.sym.var("c")
    outs, states = mx.sym.contrib.foreach(_gated, x, [h, c])
    loop = mx.sym.Group([outs] + states)
    arg_shapes, out_shapes, _ = loop.infer_shape(x=(4, 2, 5), h=(2, 3))
    assert dict(zip(loop.list_arguments(), arg_shapes))["c"] == (2, 3)
    assert out_shapes == [(4, 2, 3), (2, 3), (2, 3)]
    rng = np.random.RandomState(0)
    args = {n: mx.nd.array(rng.uniform(-1, 1, s))
            for n, s in zip(loop.list_arguments(), arg_shapes)}
    ex = loop.simple_bind(mx.cpu(), x=(4, 2, 5), h=(2, 3))   # c and the weights learnt
    got = ex.forward(is_train=False, **args)
    steps, st = [], [h, c]
    for t in range(4):
        out, st = _gated(mx.sym.slice_axis(x, axis=0, begin=t, end=t + 1).reshape((2, 5)), st)
        steps.append(out.expand_dims(0))
    unrolled = mx.sym.Group([mx.sym.concat(*steps, dim=0)] + st)
    want = unrolled.bind(mx.cpu(), args=args).forward()
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.asnumpy(), w.asnumpy(), rtol=1e-5, atol=1e-6)


def test_while_loop_and_cond_learn_the_weights_their_subgraphs_read():
    """MXNet 1.9.1 leaves these unknown (its while_loop/cond infer nothing backwards); kiln
    learns them as foreach does (docs/compat.md, "Symbolic shape inference")."""
    i, acc = mx.sym.var("i"), mx.sym.var("acc")
    outs, (_, last) = mx.sym.contrib.while_loop(
        lambda i, acc: i < 3,
        lambda i, acc: (acc * 1, (i + 1, mx.sym.FullyConnected(acc, num_hidden=4, name="w"))),
        [i, acc], max_iterations=3)
    arg_shapes, out_shapes, _ = mx.sym.Group([outs, last]).infer_shape(i=(1,), acc=(2, 4))
    assert arg_shapes == [(1,), (2, 4), (4, 4), (4,)] and out_shapes == [(3, 2, 4), (2, 4)]
    p, d = mx.sym.var("p"), mx.sym.var("d")
    out = mx.sym.contrib.cond(p.sum() > 0, lambda: mx.sym.FullyConnected(d, num_hidden=2),
                              lambda: d.sum(axis=1, keepdims=True) * mx.sym.ones((1, 2)))
    assert out.infer_shape(p=(1,), d=(3, 4))[0][2:] == [(2, 4), (2,)]
