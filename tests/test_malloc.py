"""kiln keeps freed memory for the next step (ndarray/_malloc.py): on glibc a large temporary
allocated and dropped every call stops page-faulting after the first; the user's own malloc
settings and ``KILN_MALLOC=0`` turn it off."""
import os
import subprocess
import sys

import pytest

glibc = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")

_PROBE = """
import resource, numpy as np
import kiln
from kiln.ndarray import _malloc
def step():   # 16 MB and 32 MB temporaries, written whole, dropped (glibc's default raises
    # its mmap threshold only up to 32 MiB: the second is mapped and faulted in every call)
    a = np.empty(4 << 20, np.float32); a.fill(1.0)
    b = np.empty(8 << 20, np.float32); b.fill(2.0); return float(a[-1] + b[-1])
step()
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(50):
    step()
print(_malloc.active(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
"""


def _run(**env):
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("MALLOC_", "GLIBC_TUNABLES", "KILN_MALLOC"))}
    clean.update(env)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    clean["PYTHONPATH"] = root + os.pathsep + clean.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", _PROBE], env=clean, capture_output=True,
                         text=True, check=True).stdout.split()
    return out[0] == "True", int(out[1])


@glibc
def test_freed_temporaries_are_reused_not_faulted_in_again():
    active, faults = _run()
    assert active
    # 50 calls: each would fault in the 32 MB block again (16 faults at the least, with
    # transparent 2 MB huge pages; 8192 with 4 KB pages) if it were mapped fresh
    assert faults < 100


@glibc
def test_off_switch_gives_glibc_default_page_faults():
    active, faults = _run(KILN_MALLOC="0")
    assert not active
    assert faults > 50 * 16   # each call maps and faults in its 32 MB block again


@glibc
def test_user_malloc_settings_win():
    active, _ = _run(MALLOC_TRIM_THRESHOLD_="131072")
    assert not active
