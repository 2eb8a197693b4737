"""``mx.rnn`` (MXNet 1.x's symbolic cells, ``kiln.rnn``): the same graphs as MXNet 1.9.1 builds,
argument and output names, values and gradients, unrolled and stepped inside a while_loop."""
import os
import sys
import textwrap

import kiln
import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from _oracle_suite import MX_PYTHON, run_script  # noqa: E402

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    lib = __import__(sys.argv[1])
    sym, nd = lib.sym, lib.nd
    rng = np.random.RandomState(5)
    res = {}
    N, T, C, H = 2, 3, 4, 5
    for kind, n_states in (("RNNCell", 1), ("LSTMCell", 2), ("GRUCell", 1)):
        cell = getattr(lib.rnn, kind)(H, prefix="c_")
        states = [sym.var("s%d" % k) for k in range(n_states)]
        outs, last = cell.unroll(T, sym.var("data"), begin_state=states, merge_outputs=True)
        group = sym.Group([outs] + list(last))
        shapes = dict(data=(N, T, C), **{"s%d" % k: (N, H) for k in range(n_states)})
        arg_shapes = group.infer_shape(**shapes)[0]
        args = {n: rng.uniform(-1, 1, s) for n, s in zip(group.list_arguments(), arg_shapes)}
        ex = group.bind(lib.cpu(), args={k: nd.array(v) for k, v in args.items()},
                        args_grad={k: nd.zeros(v.shape) for k, v in args.items()})
        got = ex.forward(is_train=True)
        ex.backward([nd.array(rng.uniform(-1, 1, o.shape)) for o in got])
        res[kind] = {"args": group.list_arguments(), "outputs": group.list_outputs(),
                     "values": [o.asnumpy().tolist() for o in got],
                     "grads": [ex.grad_dict[k].asnumpy().tolist() for k in sorted(args)]}
    print(json.dumps(res))
""")


@pytest.mark.skipif(not os.path.exists(MX_PYTHON), reason="no MXNet 1.9.1 oracle (.mxnet-venv)")
def test_legacy_cells_match_mxnet(tmp_path):
    want = run_script(MX_PYTHON, "mxnet", SCRIPT, tmp_path)
    got = run_script(sys.executable, "kiln", SCRIPT, tmp_path)
    for kind, w in want.items():
        g = got[kind]
        assert g["args"] == w["args"] and g["outputs"] == w["outputs"], kind
        for a, b in zip(g["values"] + g["grads"], w["values"] + w["grads"]):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=kind)


def test_cells_share_variables_through_rnn_params_and_import_as_a_module():
    import kiln.rnn as legacy
    assert legacy is kiln.rnn
    params = legacy.RNNParams("p_")
    a, b = legacy.GRUCell(3, prefix="", params=params), legacy.GRUCell(3, prefix="", params=params)
    x, h = kiln.sym.var("x"), kiln.sym.var("h")
    out = a(x, [h])[0] + b(x, [h])[0]
    assert out.list_arguments() == ["x", "p_i2h_weight", "p_i2h_bias", "h", "p_h2h_weight",
                                    "p_h2h_bias"]
    assert legacy.LSTMCell(2).state_shape == [(0, 2), (0, 2)]
