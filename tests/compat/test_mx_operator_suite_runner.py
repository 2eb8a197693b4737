"""The MXNet unit-test runner (``run_mxnet_suite.py``) on a fake MXNet 1.x file: the ``nose``
stand-in it supplies (MXNet 1.x's files import ``nose.tools``) and its per-test time limit, which
counts a slow test as failed instead of losing the whole file."""
import json
import os
import sys
import textwrap

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture()
def runner():
    sys.path.insert(0, HERE)
    try:
        import run_mxnet_suite
    finally:
        sys.path.pop(0)
    return run_mxnet_suite


def _nose_era_suite(folder):
    (folder / "common.py").write_text(textwrap.dedent("""
        from nose.tools import make_decorator, assert_raises

        def with_seed(seed=None):
            def wrap(test):
                @make_decorator(test)
                def run(*args, **kwargs):
                    return test(*args, **kwargs)
                return run
            return wrap
    """))
    (folder / "test_nose_era.py").write_text(textwrap.dedent("""
        import time
        import mxnet as mx
        from nose.tools import assert_raises, ok_, eq_, raises
        from common import with_seed

        @with_seed()
        def test_tools():
            ok_(mx.nd.ones((2,)).sum().asscalar() == 2)
            eq_(mx.nd.zeros((3,)).shape, (3,))
            assert_raises(ZeroDivisionError, lambda: 1 / 0)

        @raises(KeyError)
        def test_raises():
            {}["missing"]

        def test_slow():
            time.sleep(30)
    """))


def test_nose_era_file_runs_and_slow_test_times_out(tmp_path, runner):
    _nose_era_suite(tmp_path)
    report = tmp_path / "report.json"
    assert runner.main([str(tmp_path), "--files", "test_nose_era", "--test-timeout", "2",
                        "--json", str(report)]) == 0
    row = json.loads(report.read_text())["files"]["test_nose_era"]
    assert (row["collected"], row["kiln_passed"]) == (3, 2)
    assert row["kiln_failed"] == {"test_slow": "Failed: test timeout after # s"}
