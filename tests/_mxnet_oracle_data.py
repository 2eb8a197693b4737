"""One MXNet 1.9.1 process for the data tests' oracle scripts (test_recordio, test_io_iters,
test_image, test_transforms_extra): importing MXNet costs seconds, so the modules register
their script and input preparation here and the first fixture that needs a result runs them
all in a single interpreter (once per pytest worker).

A job's script reads its arguments from ``sys.argv[1:]`` and writes its results into the
folder it was given; ``prepare(folder)`` writes the inputs and returns those arguments.
"""
import json
import os
import subprocess
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MX_PYTHON = os.environ.get("KILN_MXNET_PYTHON") or os.path.join(ROOT, ".mxnet-venv", "bin",
                                                                 "python")
_JOBS = {}      # key -> (prepare, script)
_DONE = {}      # key -> folder, or the reason the job was skipped

DRIVER = """
import json, sys
for key, script, argv in json.load(open(sys.argv[1])):
    sys.argv = ['oracle:' + key] + argv
    exec(compile(script, 'oracle:' + key, 'exec'), {'__name__': '__main__'})
"""


def register(key, prepare, script):
    """Add a job; call at module import."""
    _JOBS[key] = (prepare, textwrap.dedent(script))


def folder(key, tmp_path_factory):
    """The folder holding ``key``'s inputs and MXNet's results (runs the pending jobs first);
    skips when the MXNet interpreter is absent."""
    if not os.path.exists(MX_PYTHON):
        pytest.skip("no MXNet 1.9.1 interpreter")
    if key not in _DONE:
        _run_pending(tmp_path_factory)
    if not isinstance(_DONE[key], str) or not os.path.isdir(_DONE[key]):
        pytest.skip(str(_DONE[key]))
    return _DONE[key]


def _run_pending(tmp_path_factory):
    jobs = []
    for key, (prepare, script) in _JOBS.items():
        if key in _DONE:
            continue
        path = str(tmp_path_factory.mktemp(key))
        try:
            jobs.append([key, script, [str(a) for a in prepare(path)]])
            _DONE[key] = path
        except (ImportError, pytest.skip.Exception) as e:   # e.g. Pillow missing
            _DONE[key] = f"{key}: inputs not prepared ({e})"
    spec = str(tmp_path_factory.mktemp("oracle_jobs") / "jobs.json")
    with open(spec, "w") as f:
        json.dump(jobs, f)
    r = subprocess.run([MX_PYTHON, "-c", DRIVER, spec], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
