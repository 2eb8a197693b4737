"""One file of MXNet's unit tests, run by pytest in a subprocess (``run_mxnet_suite.py``).

Under kiln an import hook (a pytest plugin loaded with ``-p`` before any test module) maps every
``mxnet.X`` import onto ``kiln.X``: the module objects are shared, so ``mxnet.nd.NDArray is
kiln.nd.NDArray``. The run uses an empty pytest configuration in a scratch folder (the files that
the tests write land there), so kiln's own settings (warnings as errors) do not apply.
"""
import os
import re
import shutil
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET

_ALIAS_PLUGIN = '''"""pytest plugin: `import mxnet` gives kiln (written by run_mxnet_suite.py)."""
import importlib
import importlib.abc
import importlib.util
import sys

import kiln


class _Loader(importlib.abc.Loader):
    def create_module(self, spec):
        return importlib.import_module("kiln" + spec.name[len("mxnet"):])

    def exec_module(self, module):
        pass


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "mxnet" and not name.startswith("mxnet."):
            return None
        try:
            if importlib.util.find_spec("kiln" + name[len("mxnet"):]) is None:
                return None
        except (ImportError, ValueError):  # the parent is a module, not a package
            return None
        return importlib.util.spec_from_loader(name, _Loader())


sys.meta_path.insert(0, _Finder())
sys.modules["mxnet"] = kiln

# The test files were written for numpy 1.x, whose aliases of the builtins numpy 2 removed
# (np.int, np.bool, ...); MXNet's interpreter runs numpy 1.23, which has them. The test code
# itself uses them (np.int in test_slice_channel), so the kiln side gets them back: kiln's
# own code never reads them.
import numpy
for _name, _type in (("int", int), ("float", float), ("bool", bool), ("object", object),
                     ("str", str), ("long", int), ("unicode", str), ("complex", complex)):
    if _name not in numpy.__dict__:
        setattr(numpy, _name, _type)
'''

_TIMEOUT_PLUGIN = '''"""pytest plugin: fail a test running past KILN_MXSUITE_TEST_TIMEOUT s."""
import os
import signal

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    limit = int(os.environ.get("KILN_MXSUITE_TEST_TIMEOUT", "0"))
    if limit <= 0:
        yield
        return

    def expire(signum, frame):
        pytest.fail(f"test timeout after {limit} s", pytrace=False)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(limit)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
'''

# the `nose` stand-in that MXNet 1.x's test files import (nose itself no longer installs)
NOSE_SHIM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_nose_shim")

# what pytest needs, borrowed from this interpreter when the oracle's has no pytest
_PYTEST_PACKAGES = ("pytest", "_pytest", "pluggy", "iniconfig", "packaging", "py.py",
                    "pygments")


_SHIM_LOCK = threading.Lock()


def _shim(work, alias, python):
    """A folder for PYTHONPATH: the alias plugin (kiln) or pytest itself (an oracle without)."""
    with _SHIM_LOCK:   # --jobs runs files on threads: one builds the folder, the rest wait
        return _build_shim(work, alias, python)


def _build_shim(work, alias, python):
    shim = os.path.join(work, "shim-kiln" if alias else "shim-oracle")
    if os.path.isdir(shim):
        return shim
    os.makedirs(shim)
    with open(os.path.join(shim, "kiln_mxsuite_timeout.py"), "w") as f:
        f.write(_TIMEOUT_PLUGIN)
    if alias:
        with open(os.path.join(shim, "kiln_mxnet_alias.py"), "w") as f:
            f.write(_ALIAS_PLUGIN)
        return shim
    has_pytest = subprocess.run([python, "-c", "import pytest"], capture_output=True).returncode
    if has_pytest != 0:
        import pytest
        site = os.path.dirname(os.path.dirname(pytest.__file__))
        for name in _PYTEST_PACKAGES:
            if os.path.exists(os.path.join(site, name)):
                os.symlink(os.path.join(site, name), os.path.join(shim, name))
    return shim


def _first_line(message):
    """The cause of a failure: its first non-empty line, numbers folded so alike errors group."""
    line = next((ln.strip() for ln in (message or "").splitlines() if ln.strip()), "?")
    line = re.sub(r"0x[0-9a-f]+", "0x#", line)
    return re.sub(r"\d+", "#", line)[:200]


def parse_junit(path, module):
    """``{test id: (outcome, first error line)}`` (``Class::test`` inside a class);
    ``<collection>`` holds an import error."""
    results = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        name, cls = case.get("name"), case.get("classname") or ""
        if cls.startswith(module + "."):
            name = f"{cls[len(module) + 1:]}::{name}"
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = "skipped" if child.tag == "skipped" else "failed"
                message = _first_line(child.get("message") or child.text)
                break
        if not cls:                           # a collection error names no test
            results["<collection>"] = (outcome, message)
        else:
            results[name] = (outcome, message)
    return results


def run_file(python, folder, name, work, alias, timeout, keyword=None, test_timeout=0):
    """Run ``folder/name.py`` with ``python``; returns :func:`parse_junit`'s mapping.

    ``timeout`` bounds the whole file; ``test_timeout`` (seconds, 0: none) fails any one test
    that runs longer, so a slow test is counted as failed instead of losing the file."""
    tag = ("kiln-" if alias else "mxnet-") + name + (f"-{abs(hash(keyword))}" if keyword else "")
    cwd = os.path.join(work, tag)
    shutil.rmtree(cwd, ignore_errors=True)
    os.makedirs(cwd)
    with open(os.path.join(cwd, "pytest.ini"), "w") as f:
        f.write("[pytest]\n")
    xml_path = os.path.join(cwd, "junit.xml")
    cmd = [python, "-m", "pytest", os.path.join(os.path.abspath(folder), name + ".py"),
           "-c", os.path.join(cwd, "pytest.ini"), "--rootdir", os.path.abspath(folder), "-q",
           "--tb=line", "-p", "no:cacheprovider", "--junitxml", xml_path,
           "-p", "kiln_mxsuite_timeout"]
    if alias:
        cmd += ["-p", "kiln_mxnet_alias"]
    if keyword:
        cmd += ["-k", keyword]
    path = os.pathsep.join([_shim(work, alias, python), NOSE_SHIM])
    env = dict(os.environ, PYTHONPATH=path, MXNET_TEST_SEED="1", OPENBLAS_NUM_THREADS="1",
               PYTHONDONTWRITEBYTECODE="1", KILN_MXSUITE_TEST_TIMEOUT=str(test_timeout))
    try:
        subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"<collection>": ("failed", f"timeout after {timeout} s")}
    if not os.path.isfile(xml_path):
        return {"<collection>": ("failed", "pytest wrote no report (crashed)")}
    return parse_junit(xml_path, name)


if __name__ == "__main__":  # run one file: python _mxnet_suite_run.py FOLDER NAME
    print(run_file(sys.executable, sys.argv[1], sys.argv[2], "/tmp/kiln-mxsuite-one", True, 900))
