import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # pytest -n 2 on 2 cores: no oversubscription
# no on-disk compile cache (symbol/compile_cache.py) unless a test points it at tmp_path
os.environ["KILN_COMPILE_CACHE"] = "0"
import sys

sys.path.insert(0, os.path.dirname(__file__))

import pytest  # noqa: E402

_DEVICE = os.environ.get("KILN_TEST_DEVICE")  # e.g. "gpu(0)": the whole suite's default device


@pytest.fixture(autouse=True)
def _default_device():
    """With KILN_TEST_DEVICE set, every test creates its arrays there unless it names a device
    (a GPU sweep of the whole suite; tests that assume cpu(0) fail there and say so)."""
    if not _DEVICE:
        yield
        return
    from kiln.device import as_context
    with as_context(_DEVICE):
        yield
