"""A small stand-in for the retired ``nose`` package, enough to import MXNet 1.x's unit tests.

Only ``run_mxnet_suite.py`` puts this folder on ``sys.path``, and only in the subprocess that runs
those files under pytest; kiln itself never imports it.
"""
from unittest import SkipTest

__all__ = ["SkipTest", "runmodule"]


def runmodule(*args, **kwargs):
    """``nose.runmodule()``: run the calling file's tests with pytest instead."""
    import sys

    import pytest
    sys.exit(pytest.main([sys.modules["__main__"].__file__]))
