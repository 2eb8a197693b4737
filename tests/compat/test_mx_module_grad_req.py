"""``Module.bind(grad_req=..., inputs_need_grad=True)``: the data's gradient follows
``grad_req`` as MXNet 1.9.1's executor group sets it ('add' accumulates over backwards,
'null' leaves ``get_input_grads()`` None and ``backward`` a no-op). kiln against MXNet."""
import os
import sys
import textwrap

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from _oracle_suite import MX_PYTHON, run_script  # noqa: E402

SCRIPT = textwrap.dedent("""
    import json, sys
    lib = __import__(sys.argv[1])
    sym, nd = lib.sym, lib.nd
    res = {}
    out = sym.FullyConnected(sym.var("data"), num_hidden=2, name="fc")
    for req in ("write", "add", "null"):
        mod = lib.mod.Module(out, label_names=None, context=lib.cpu())
        mod.bind(data_shapes=[("data", (3, 4))], inputs_need_grad=True, grad_req=req)
        mod.init_params(initializer=lib.init.One())
        batch = lib.io.DataBatch(data=[nd.ones((3, 4))])
        for _ in range(2):
            mod.forward(batch, is_train=True)
            mod.backward(out_grads=[nd.ones((3, 2))])
        grad = mod.get_input_grads()[0]
        res[req] = None if grad is None else grad.asnumpy().tolist()
    print(json.dumps(res))
""")


@pytest.mark.skipif(not os.path.exists(MX_PYTHON), reason="no MXNet 1.9.1 oracle (.mxnet-venv)")
def test_data_gradient_follows_grad_req_as_in_mxnet(tmp_path):
    want = run_script(MX_PYTHON, "mxnet", SCRIPT, tmp_path)
    assert run_script(sys.executable, "kiln", SCRIPT, tmp_path) == want
