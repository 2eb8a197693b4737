"""The two tests every MXNet-oracle suite module shares (tests/_mxnet_oracle.py runs the cases):
a module-scoped fixture running all cases once in MXNet's interpreter, and one parametrized
test per case comparing kiln's result with MXNet's.

Usage, at module level::

    mx_results, test_matches_mxnet = suite_tests(SUITE, "mxnet_linalg")
"""
import os

import _mxnet_oracle as oracle
import kiln
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MX_PYTHON = os.environ.get("KILN_MXNET_PYTHON") or os.path.join(ROOT, ".mxnet-venv", "bin",
                                                                 "python")


def suite_tests(suite, folder, mx_python=MX_PYTHON):
    """``(mx_results fixture, test_matches_mxnet)`` for ``suite`` (an ``oracle.Suite``)."""
    cases = {c["id"]: c for c in suite.cases}

    @pytest.fixture(scope="module")
    def mx_results(tmp_path_factory):
        if not os.path.exists(mx_python):
            pytest.skip("no MXNet 1.9.1 interpreter (KILN_MXNET_PYTHON or .mxnet-venv)")
        return oracle.run_mxnet_batch(mx_python, suite.cases, suite.arrays,
                                      tmp_path_factory.mktemp(folder))

    @pytest.mark.parametrize("cid", list(cases))
    def test_matches_mxnet(cid, mx_results):
        mx_res = mx_results[cid]
        assert "error" not in mx_res, f"MXNet refused the case: {mx_res.get('error')}"
        kl_res = oracle.run_case(kiln, cases[cid], suite.arrays, ref=mx_res)
        problems = oracle.compare(cases[cid], mx_res, kl_res, suite.arrays)
        assert not problems, "\n".join(problems)

    return mx_results, test_matches_mxnet


def run_script(python, lib, script, folder, **env):
    """Run ``script`` (which imports ``sys.argv[1]`` as its library: ``mxnet`` or ``kiln``)
    under ``python`` in ``folder``; returns the JSON its last stdout line prints. kiln's
    process sees this checkout (PYTHONPATH), MXNet's none of it."""
    import json
    import subprocess
    path = folder / f"oracle_{lib}.py"
    path.write_text(script)
    env = dict(os.environ, PYTHONPATH=os.path.dirname(ROOT) if lib == "kiln" else "", **env)
    out = subprocess.run([python, str(path), lib], capture_output=True, text=True, env=env,
                         timeout=300, cwd=folder)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])
