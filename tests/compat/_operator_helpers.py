"""Shared pieces of the ``test_mx_operator_*.py`` ports of MXNet's operator tests."""
import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _numpy_fp_warnings_off():
    """MXNet's suite does not turn warnings into errors; the numpy references here divide by zero
    or take log of negatives on purpose (kiln itself computes those silently, as MXNet does).

    Autouse in each module that imports it (``from ._operator_helpers import ...``)."""
    with np.errstate(all="ignore"):
        yield
