"""optimizer.LBSGD (large-batch SGD: gradient accumulation, warm-up, LARS), the Test optimizer
and NDabs: the weights MXNet 1.9.1 computes for the same gradients (fresh gradient arrays each
step: MXNet keeps a reference to the first gradient of a macro-batch, so a reused buffer would
change its sum)."""
import os
import subprocess

import kiln as mx
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MX_PYTHON = os.path.join(ROOT, ".mxnet-venv", "bin", "python")

CONFIGS = [
    dict(momentum=0.9, batch_scale=2, warmup_epochs=1, updates_per_epoch=4, wd=0.01),
    dict(momentum=0.0, batch_scale=3, warmup_strategy="sqrt", warmup_epochs=1,
         updates_per_epoch=5, clip_gradient=0.5),
    dict(momentum=0.5, batch_scale=2, warmup_strategy="lars", wd=0.1),
    dict(batch_scale=1, warmup_strategy="power2", warmup_epochs=2, updates_per_epoch=2,
         begin_epoch=1),
]

SCRIPT = """
import sys, numpy as np, {lib} as mx
configs = eval(sys.argv[1])
out = []
for k, cfg in enumerate(configs + ["test"]):
    rs = np.random.RandomState(k)
    opt = mx.optimizer.create("test", rescale_grad=0.5) if cfg == "test" else \\
        mx.optimizer.create("lbsgd", learning_rate=0.1, **cfg)
    w = mx.nd.array(rs.uniform(-1, 1, (3, 4)))
    state = opt.create_state(0, w)
    for step in range(7):
        opt.update(0, w, mx.nd.array(rs.uniform(-1, 1, (3, 4))), state)
    out.append(w.asnumpy().tolist())
print("JSON", out)
"""


def _run(python, lib):
    proc = subprocess.run([python, "-c", SCRIPT.format(lib=lib), repr(CONFIGS)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return np.array(eval(proc.stdout.split("JSON", 1)[1]))  # noqa: S307 - our own output


def test_lbsgd_and_test_optimizer_match_mxnet():
    if not os.path.exists(MX_PYTHON):
        pytest.skip("real MXNet 1.9.1 interpreter (.mxnet-venv) absent")
    mine = _run(os.path.join(ROOT, ".venv", "bin", "python"), "kiln")
    theirs = _run(MX_PYTHON, "mxnet")
    np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


def test_lbsgd_waits_for_the_macro_batch_and_ndabs():
    opt = mx.optimizer.create("lbsgd", learning_rate=1.0, batch_scale=2, warmup_epochs=0)
    w = mx.nd.ones((2,))
    opt.update(0, w, mx.nd.array([1.0, 2.0]), None)
    np.testing.assert_array_equal(w.asnumpy(), [1, 1])       # first half: no step
    opt.update(0, w, mx.nd.array([3.0, 4.0]), None)
    np.testing.assert_allclose(w.asnumpy(), [1 - 2 * 2, 1 - 2 * 3])  # mean grad, lr * 2
    assert mx.optimizer.NDabs(mx.nd.array([-2.0])).asscalar() == 2.0
