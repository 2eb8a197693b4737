"""kiln.callback (tools/callback.py): the same calls in real MXNet 1.9.1 and in kiln log the
same messages (speeds masked) and write the same checkpoints; without MXNet, the messages are
checked against the metric values they report."""
import json
import logging
import os
import re
import subprocess
import sys
import textwrap

import kiln
import numpy as np
import pytest
from kiln.model import BatchEndParam

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MX_PYTHON = os.environ.get("KILN_MXNET_PYTHON") or os.path.join(ROOT, ".mxnet-venv", "bin",
                                                                 "python")

# run by both libraries (``lib`` is mxnet or kiln): every callback, its log records as JSON
SCRIPT = textwrap.dedent("""
    import json, logging, os, sys
    import numpy as np
    lib = __import__(sys.argv[1])
    P, cb = lib.model.BatchEndParam, lib.callback
    records = []
    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())
    logging.getLogger().handlers[:] = [Keep()]
    logging.getLogger().setLevel(logging.INFO)
    rng = np.random.RandomState(0)
    batches = [(rng.randint(0, 3, 4).astype("f"), rng.rand(4, 3).astype("f"))
               for _ in range(10)]
    def run(callback, epochs=((0, 7), (1, 3)), metric=True):
        m = lib.metric.Accuracy() if metric else None
        k = 0
        for epoch, n in epochs:
            for nbatch in range(n):
                if m is not None:
                    label, pred = batches[k % 10]
                    m.update([lib.nd.array(label)], [lib.nd.array(pred)])
                k += 1
                callback(P(epoch, nbatch, m, None))
    run(cb.Speedometer(4, 2))
    run(cb.Speedometer(4, 3, auto_reset=False))
    run(cb.Speedometer(4, 2), metric=False)
    run(cb.ProgressBar(total=4, length=10), epochs=((0, 5),))
    run(cb.log_train_metric(2, auto_reset=True))
    run(cb.LogValidationMetricsCallback(), epochs=((3, 2),))
    run(cb.LogValidationMetricsCallback(), epochs=((3, 1),), metric=False)
    w = lib.nd.array(np.arange(6, dtype="f").reshape(2, 3))
    save = cb.do_checkpoint(os.path.join(sys.argv[2], "net"), period=2)
    for epoch in range(4):
        save(epoch, None, {"w": w * epoch}, {"m": w[0] + epoch})
    calls = []
    class Mod:
        def save_checkpoint(self, *args):
            calls.append(list(args))
    mod_cb = cb.module_checkpoint(Mod(), "pre", period=3, save_optimizer_states=True)
    for epoch in range(7):
        mod_cb(epoch)
    records.append(json.dumps(calls))
    records.append(json.dumps(sorted(os.listdir(sys.argv[2]))))
    with open(os.path.join(sys.argv[2], "records.json"), "w") as f:
        json.dump(records, f)
""")


def _run(python, lib, folder):
    os.makedirs(folder)
    script = os.path.join(folder, "..", f"cb_{lib}.py")
    with open(script, "w") as f:
        f.write(SCRIPT)
    env = {**os.environ, "PYTHONPATH": ""} if lib == "mxnet" else os.environ
    r = subprocess.run([python, script, lib, folder], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    with open(os.path.join(folder, "records.json")) as f:
        return json.load(f)


def _mask(line):
    return re.sub(r"Speed: [0-9.]+|Speed: inf", "Speed: #", line)


@pytest.mark.skipif(not os.path.exists(MX_PYTHON), reason="no MXNet 1.9.1 interpreter")
def test_callbacks_match_mxnet(tmp_path):
    mx_rec = _run(MX_PYTHON, "mxnet", str(tmp_path / "mx"))
    kl_rec = _run(sys.executable, "kiln", str(tmp_path / "kl"))
    assert [_mask(s).replace(str(tmp_path / "mx"), "") for s in mx_rec] == \
        [_mask(s).replace(str(tmp_path / "kl"), "") for s in kl_rec]
    for epoch in (2, 4):      # the checkpoints hold the same arrays under the same keys
        mine = kiln.model.load_params(str(tmp_path / "kl" / "net"), epoch)
        theirs = kiln.model.load_params(str(tmp_path / "mx" / "net"), epoch)
        for a, b in zip(mine, theirs):
            assert a.keys() == b.keys()
            for k in a:
                np.testing.assert_array_equal(a[k].asnumpy(), b[k].asnumpy())


def test_speedometer_reports_the_metric_it_was_given(caplog):
    metric = kiln.metric.Accuracy()
    speed = kiln.callback.Speedometer(batch_size=4, frequent=2, auto_reset=False)
    rng = np.random.default_rng(0)
    expected = []
    with caplog.at_level(logging.INFO):
        for nbatch in range(5):
            label, pred = rng.integers(0, 3, 4), rng.random((4, 3))
            metric.update([kiln.nd.array(label)], [kiln.nd.array(pred)])
            speed(BatchEndParam(0, nbatch, metric, None))
            if nbatch and nbatch % 2 == 0:
                expected.append(metric.get()[1])
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    for line, acc in zip(lines, expected):
        assert line.startswith("Epoch[0] Batch [0-") and "samples/sec" in line
        assert float(line.rsplit("=", 1)[1]) == pytest.approx(acc, abs=1e-6)


def test_do_checkpoint_writes_every_period(tmp_path):
    prefix = str(tmp_path / "m")
    save = kiln.callback.do_checkpoint(prefix, period=2)
    w = kiln.nd.ones((2, 2))
    for epoch in range(5):
        save(epoch, None, {"w": w * epoch}, {})
    assert sorted(os.listdir(tmp_path)) == ["m-0002.params", "m-0004.params"]
    args, auxs = kiln.model.load_params(prefix, 4)
    np.testing.assert_array_equal(args["w"].asnumpy(), np.full((2, 2), 3.0))
    assert auxs == {}
