"""The Estimator against real MXNet 1.9.1's (``.mxnet-venv`` or ``KILN_MXNET_PYTHON``; skipped
without it): the same net, initial weights, data and handlers give the same final weights,
metric names and values, and log lines of the same form."""
import json
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MX_PYTHON = os.environ.get("KILN_MXNET_PYTHON") or os.path.join(ROOT, ".mxnet-venv", "bin",
                                                                 "python")
pytestmark = pytest.mark.skipif(not os.path.exists(MX_PYTHON),
                                reason="no MXNet 1.9.1 interpreter (KILN_MXNET_PYTHON or "
                                       ".mxnet-venv)")

# One script for both libraries: ``lib`` is mxnet or kiln; it writes weights, metrics, logs.
SCRIPT = textwrap.dedent("""
    import json, logging, sys
    import numpy as np
    lib = __import__(sys.argv[1])
    from importlib import import_module
    est_mod = import_module(sys.argv[1] + ".gluon.contrib.estimator")
    gluon = lib.gluon
    d = np.load(sys.argv[2])
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(5, activation="tanh"), gluon.nn.Dense(2))
    net.initialize()
    net(lib.nd.zeros((1, 4)))
    for i, p in enumerate(net.collect_params().values()):
        p.set_data(lib.nd.array(d["p%d" % i]))
    data = gluon.data.ArrayDataset(lib.nd.array(d["x"]), lib.nd.array(d["y"]))
    train = gluon.data.DataLoader(data, batch_size=6)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1,
                                                          "momentum": 0.9})
    est = est_mod.Estimator(net, gluon.loss.SoftmaxCrossEntropyLoss(), trainer=trainer)
    lines = []
    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())
    est.logger.handlers[:] = [Keep()]
    log = est_mod.LoggingHandler(log_interval=3, metrics=est.train_metrics)
    est.fit(train, val_data=train, epochs=3, event_handlers=[log])
    out = {"p%d" % i: p.data().asnumpy() for i, p in enumerate(net.collect_params().values())}
    np.savez(sys.argv[3], **out)
    metrics = [m.get() for m in est.train_metrics + est.val_metrics]
    with open(sys.argv[3] + ".json", "w") as f:
        json.dump({"metrics": [[n, float(v)] for n, v in metrics], "log": lines}, f)
""")


def _run(tmp_path, python, lib):
    script = tmp_path / "fit.py"
    script.write_text(SCRIPT)
    out = tmp_path / f"{lib}.npz"
    env = {**os.environ, "PYTHONPATH": ""} if lib == "mxnet" else os.environ
    r = subprocess.run([python, str(script), lib, str(tmp_path / "in.npz"), str(out)],
                       capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    with open(str(out) + ".json") as f:
        return dict(np.load(out)), json.load(f)


def _shape(line):
    """A log line with its numbers replaced: what must agree is the wording."""
    return re.sub(r"-?\d+(\.\d+)?", "#", line)


def test_fit_matches_mxnet(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(18, 4)).astype(np.float32)
    arrays = {"x": x, "y": (x[:, 0] > x[:, 1]).astype(np.float32),
              "p0": rng.normal(size=(5, 4)).astype(np.float32) * 0.5,
              "p1": rng.normal(size=(5,)).astype(np.float32) * 0.1,
              "p2": rng.normal(size=(2, 5)).astype(np.float32) * 0.5,
              "p3": rng.normal(size=(2,)).astype(np.float32) * 0.1}
    np.savez(tmp_path / "in.npz", **arrays)
    mx_w, mx_info = _run(tmp_path, MX_PYTHON, "mxnet")
    kl_w, kl_info = _run(tmp_path, sys.executable, "kiln")
    for k in mx_w:
        np.testing.assert_allclose(kl_w[k], mx_w[k], rtol=1e-4, atol=1e-5, err_msg=k)
    assert [n for n, _ in kl_info["metrics"]] == [n for n, _ in mx_info["metrics"]]
    np.testing.assert_allclose([v for _, v in kl_info["metrics"]],
                               [v for _, v in mx_info["metrics"]], rtol=1e-4)
    assert [_shape(s) for s in kl_info["log"]] == [_shape(s) for s in mx_info["log"]]

