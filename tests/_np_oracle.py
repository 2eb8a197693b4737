"""Run numpy-interface programs under kiln and under real MXNet 1.9.1 (np mode) and compare.

A program is Python source over ``mx``, ``np``, ``npx``, ``autograd``, ``gluon``, ``nn``
(the library's) and ``onp`` (real numpy), storing results with ``put(key, value)``;
``set_params(net, rs, scale)`` draws a block's parameters from ``rs``. Data and
initial weights come from ``onp.random.RandomState`` so both libraries compute on the same
numbers. All programs run in one MXNet subprocess (started once per test process: MXNet takes
seconds to import); kiln runs them in-process, resetting np mode afterwards.
"""
import functools
import json
import os
import subprocess
import tempfile
import textwrap

import numpy as onp
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MX_PYTHON = os.environ.get("KILN_MXNET_PYTHON") or os.path.join(ROOT, ".mxnet-venv", "bin",
                                                                 "python")

PRELUDE = """
import numpy as onp
LIB = __import__(LIBNAME)
mx = LIB
np, npx = LIB.np, LIB.npx
autograd, gluon = LIB.autograd, LIB.gluon
nn = gluon.nn
def put(key, value):
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            put(f"{key}.{i}", v)
        return
    RESULTS[key] = value.asnumpy() if hasattr(value, "asnumpy") else onp.asarray(value)
def set_params(net, rs, scale=0.1):
    for p in net.collect_params().values():
        p.set_data(np.array(rs.normal(0, scale, p.shape).astype("float32")))
"""

RUNNER = """
import json, sys, traceback
import numpy as onp
programs = json.load(open(sys.argv[1]))
everything = {}
for name, src in programs.items():
    RESULTS = {}
    env = {"LIBNAME": "mxnet", "RESULTS": RESULTS}
    try:
        exec(PRELUDE + src, env)
    except Exception:
        RESULTS["__error__"] = onp.asarray(traceback.format_exc())
    finally:
        env["npx"].reset_np()
    for k, v in RESULTS.items():
        everything[name + "/" + k] = v
onp.savez(sys.argv[2], **everything)
"""

PROGRAMS = {}


def program(name, src):
    """Register program ``name`` (run by both libraries); returns ``name``."""
    PROGRAMS[name] = textwrap.dedent(src)
    return name


def run_kiln(name):
    """``{key: numpy array}`` of program ``name`` run by kiln (np mode reset afterwards)."""
    results = {}
    env = {"LIBNAME": "kiln", "RESULTS": results}
    try:
        exec(PRELUDE + PROGRAMS[name], env)  # noqa: S102 - the test's own program
    finally:
        env["npx"].reset_np()
    return results


@functools.lru_cache(maxsize=None)
def _mxnet_all(names):
    with tempfile.TemporaryDirectory() as tmp:
        src, out = os.path.join(tmp, "p.json"), os.path.join(tmp, "out.npz")
        with open(src, "w") as f:
            json.dump({n: PROGRAMS[n] for n in names}, f)
        script = os.path.join(tmp, "run.py")
        with open(script, "w") as f:
            f.write(f"PRELUDE = {PRELUDE!r}\n" + RUNNER)
        proc = subprocess.run([MX_PYTHON, script, src, out], capture_output=True, text=True,
                              timeout=300, cwd=tmp)
        if proc.returncode:
            raise RuntimeError(f"MXNet run failed: {proc.stderr[-3000:]}")
        with onp.load(out) as z:
            return {k: z[k] for k in z.files}


def run_mxnet(name):
    """``{key: numpy array}`` of program ``name`` run by MXNet 1.9.1; skips without MXNet."""
    if not os.path.exists(MX_PYTHON):
        pytest.skip("MXNet 1.9.1 oracle not installed (.mxnet-venv)")
    everything = _mxnet_all(tuple(sorted(PROGRAMS)))
    res = {k.split("/", 1)[1]: v for k, v in everything.items() if k.startswith(name + "/")}
    if "__error__" in res:
        raise AssertionError(f"program {name} failed under MXNet:\n{res['__error__']}")
    return res


def compare(name, rtol=1e-4, atol=1e-5, exact=()):
    """Run ``name`` in both libraries and assert equal keys, shapes, dtypes and values
    (``exact`` keys bit for bit). Returns kiln's results."""
    mine, theirs = run_kiln(name), run_mxnet(name)
    assert mine, f"program {name} stored no results"
    assert sorted(mine) == sorted(theirs), (name, sorted(mine), sorted(theirs))
    for key, ref in theirs.items():
        got = mine[key]
        assert got.shape == ref.shape, (name, key, got.shape, ref.shape)
        assert got.dtype == ref.dtype, (name, key, got.dtype, ref.dtype)
        if key in exact or ref.dtype.kind in "biuU":
            onp.testing.assert_array_equal(got, ref, err_msg=f"{name}:{key}")
        else:
            onp.testing.assert_allclose(got, ref, rtol=rtol, atol=atol, err_msg=f"{name}:{key}")
    return mine


