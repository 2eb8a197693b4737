"""OpenBLAS's idle-worker timeout (ndarray/_blas_spin.py), each case in a fresh interpreter:
the timeout is read once, when OpenBLAS starts its threads."""
import json
import os
import subprocess
import sys

import pytest
from kiln.ndarray import _blas_spin

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PROBE = r"""
import json, os, sys
first = sys.argv[1]
if first == "numpy":
    import numpy
import kiln
import numpy as np
from kiln.ndarray import _blas_spin
fns = _blas_spin._openblas()
a = np.arange(400 * 300, dtype=np.float64).reshape(400, 300) % 7
b = np.arange(300 * 500, dtype=np.float64).reshape(300, 500) % 5
ok = bool(np.array_equal(a @ b, np.einsum("ij,jk->ik", a, b)))   # threads restarted and right
print(json.dumps({"timeout": None if fns is None else fns[1](), "product_ok": ok,
                  "env": os.environ.get("OPENBLAS_THREAD_TIMEOUT")}))
"""


def _probe(first, **env):
    full = {k: v for k, v in os.environ.items()
            if k not in ("OPENBLAS_THREAD_TIMEOUT", "KILN_BLAS_SPIN", "KILN_BLAS")}
    full.update(env, PYTHONPATH=ROOT + os.pathsep + full.get("PYTHONPATH", ""),
                OPENBLAS_NUM_THREADS="2")
    out = subprocess.run([sys.executable, "-c", PROBE, first], env=full, capture_output=True,
                         text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _needs_openblas():
    if _blas_spin._openblas() is None or not _blas_spin._pthreads_build():
        pytest.skip("numpy's BLAS is not a pthreads OpenBLAS with the timeout symbols")


@pytest.mark.parametrize("first", ["numpy", "kiln"])
def test_short_timeout_whichever_loads_first(first):
    _needs_openblas()
    res = _probe(first)
    assert res == {"timeout": _blas_spin.TIMEOUT, "product_ok": True, "env": None}


def test_the_users_timeout_wins():
    _needs_openblas()
    res = _probe("numpy", OPENBLAS_THREAD_TIMEOUT="10")
    assert res == {"timeout": 10, "product_ok": True, "env": "10"}


@pytest.mark.parametrize("switch", ["KILN_BLAS_SPIN", "KILN_BLAS"])
def test_off_switches(switch):
    _needs_openblas()
    for first in ("numpy", "kiln"):
        res = _probe(first, **{switch: "0"})
        assert res["timeout"] != _blas_spin.TIMEOUT and res["product_ok"], (first, res)
        assert res["env"] is None
