"""``mx.rnn.FusedRNNCell`` (MXNet 1.9's legacy symbolic API): one RNN op over a flat parameter
vector, ``unpack_weights``/``pack_weights`` to and from the per-gate arrays of the stepping
cells, ``unfuse`` into a ``SequentialRNNCell`` (of ``BidirectionalCell``s). kiln against real
MXNet 1.9.1 (names, values, gradients through a Module), and fused against unfused."""
import os
import sys
import textwrap

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from _oracle_suite import MX_PYTHON, run_script  # noqa: E402

SCRIPT = textwrap.dedent("""
    import json, os, sys
    import numpy as np
    lib = __import__(sys.argv[1])
    sym, nd = lib.sym, lib.nd
    T, N, I, H = 3, 2, 5, 4
    explicit = os.environ["RNN_STATES"] == "explicit"   # else the cells' own (batch 0)
    res = {}

    def module(out, params):
        mod = lib.mod.Module(out, label_names=None, context=lib.cpu())
        mod.bind(data_shapes=[("data", (N, T, I))], label_shapes=None, inputs_need_grad=True)
        mod.init_params()
        if params is not None:
            mod.set_params(params, {})
        return mod

    def begin(cell):
        if not explicit:
            return None
        return [sym.zeros(tuple(N if d == 0 else d for d in info["shape"]))
                for info in cell.state_info]

    for mode, bi in (("lstm", False), ("gru", True), ("rnn_relu", False), ("rnn_tanh", True)):
        rng = np.random.RandomState(7)
        fused = lib.rnn.FusedRNNCell(H, num_layers=2, mode=mode, bidirectional=bi,
                                     get_next_state=True, prefix="f_")
        stack = fused.unfuse()
        y1, s1 = fused.unroll(T, sym.var("data"), begin_state=begin(fused), merge_outputs=True)
        y2, s2 = stack.unroll(T, sym.var("data"), begin_state=begin(stack), merge_outputs=True)
        size = module(y1, None).get_params()[0]["f_parameters"].shape
        flat = nd.array(rng.uniform(-0.5, 0.5, size))
        m1 = module(y1, {"f_parameters": flat})
        unpacked = fused.unpack_weights({"f_parameters": flat})
        m2 = module(y2, stack.pack_weights(unpacked))
        again = fused.pack_weights(stack.unpack_weights(stack.pack_weights(unpacked)))
        batch = lib.io.DataBatch(data=[nd.array(rng.uniform(-1, 1, (N, T, I)))])
        head = nd.array(rng.uniform(-1, 1, (N, T, H * (2 if bi else 1))))
        got = []
        for m in (m1, m2):
            m.forward(batch, is_train=True)
            m.backward(out_grads=[head])
            got.append([m.get_outputs()[0].asnumpy().tolist(),
                        m.get_input_grads()[0].asnumpy().tolist()])
        res[mode + str(bi)] = {
            "unpacked": sorted((k, list(v.shape)) for k, v in unpacked.items()),
            "round_trip": bool((again["f_parameters"].asnumpy() == flat.asnumpy()).all()),
            "outputs": [y1.list_outputs(), y2.list_outputs(), len(s1), len(s2)],
            "fused": got[0], "unfused": got[1]}
    print(json.dumps(res))
""")


@pytest.mark.skipif(not os.path.exists(MX_PYTHON), reason="no MXNet 1.9.1 oracle (.mxnet-venv)")
@pytest.mark.parametrize("states", ["explicit", "own"])
def test_fused_cell_matches_mxnet_and_its_unfused_stack(tmp_path, states):
    want = run_script(MX_PYTHON, "mxnet", SCRIPT, tmp_path, RNN_STATES=states)
    got = run_script(sys.executable, "kiln", SCRIPT, tmp_path, RNN_STATES=states)
    assert got.keys() == want.keys()
    for key, w in want.items():
        g = got[key]
        assert [g["unpacked"], g["round_trip"], g["outputs"]] == \
            [w["unpacked"], w["round_trip"], w["outputs"]], key
        for name in ("fused", "unfused"):
            for a, b in zip(g[name], w[name]):
                np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=key)
        for a, b in zip(g["fused"], g["unfused"]):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=key)
