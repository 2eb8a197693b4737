"""kiln.monitor (MXNet's mx.monitor.Monitor) on an executor: the same forward passes in real
MXNet 1.9.1 and in kiln report the same names, steps and statistics."""
import os
import sys
import textwrap

import kiln
import numpy as np
import pytest
from _oracle_suite import run_script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MX_PYTHON = os.environ.get("KILN_MXNET_PYTHON") or os.path.join(ROOT, ".mxnet-venv", "bin",
                                                                 "python")

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    lib = __import__(sys.argv[1])
    rng = np.random.RandomState(0)
    data = lib.sym.Variable("data")
    fc = lib.sym.FullyConnected(data, num_hidden=3, name="fc")
    act = lib.sym.Activation(fc, act_type="tanh", name="act")
    out = lib.sym.SoftmaxOutput(act, name="softmax")
    exe = out.simple_bind(lib.cpu(), grad_req="null", data=(4, 5), softmax_label=(4,))
    exe.arg_dict["fc_weight"][:] = rng.uniform(-1, 1, (3, 5))
    exe.arg_dict["fc_bias"][:] = rng.uniform(-1, 1, (3,))
    results = []
    for all_ in (False, True):
        mon = lib.monitor.Monitor(2, pattern=".*", sort=all_, monitor_all=all_)
        mon.install(exe)
        for step in range(4):
            mon.tic()
            exe.forward(is_train=False, data=lib.nd.array(rng.uniform(-1, 1, (4, 5))),
                        softmax_label=lib.nd.array([0, 1, 2, 1]))
            results.append([[n, k, [float(x) for x in v.split()]] for n, k, v in mon.toc()])
    print(json.dumps(results))
""")


def _run(python, lib, tmp_path):
    # MXNet's MKLDNN build fuses FullyConnected + tanh into one node otherwise
    return run_script(python, lib, SCRIPT, tmp_path, MXNET_SUBGRAPH_BACKEND="NONE")


@pytest.mark.skipif(not os.path.exists(MX_PYTHON), reason="no MXNet 1.9.1 oracle (.mxnet-venv)")
def test_matches_mxnet(tmp_path):
    want, got = _run(MX_PYTHON, "mxnet", tmp_path), _run(sys.executable, "kiln", tmp_path)
    assert [[(n, k) for n, k, _ in step] for step in got] == \
        [[(n, k) for n, k, _ in step] for step in want]
    for gs, ws in zip(got, want):
        for (_, k, gv), (_, _, wv) in zip(gs, ws):
            np.testing.assert_allclose(gv, wv, rtol=1e-5, atol=1e-6, err_msg=k)


def test_statistics_and_interval():
    """Every interval-th batch; the default statistic is |x|_2 / sqrt(size)."""
    data = kiln.sym.Variable("data")
    out = kiln.sym.FullyConnected(data, num_hidden=2, name="fc")
    exe = out.simple_bind(kiln.cpu(), grad_req="null", data=(3, 4))
    exe.arg_dict["fc_weight"][:] = 0.5
    mon = kiln.monitor.Monitor(3, pattern="fc_.*")
    mon.install(exe)
    seen = []
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    for _ in range(6):
        mon.tic()
        exe.forward(data=kiln.nd.array(x))
        seen.append(mon.toc())
    assert [bool(s) for s in seen] == [True, False, False, True, False, False]
    stats = {k: float(v) for _, k, v in seen[0]}
    assert sorted(stats) == ["fc_bias", "fc_output", "fc_weight"]
    y = x @ np.full((4, 2), 0.5, np.float32)
    np.testing.assert_allclose(stats["fc_output"], np.linalg.norm(y) / np.sqrt(y.size),
                               rtol=1e-6)
    with pytest.raises(TypeError, match="NDArrays"):
        bad = kiln.monitor.Monitor(1, stat_func=lambda a: 1.0)
        bad.install(exe)
        bad.tic()
        exe.forward(data=kiln.nd.array(x))
        bad.toc()
