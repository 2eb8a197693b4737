"""The repository layout a newcomer relies on: the root is on ``sys.path`` when someone runs
``python -m pytest`` there, so no root file or folder may carry a standard-library module's name
(a root ``random.py`` once broke ``import tempfile`` in every fresh virtualenv); MXNet's
top-level modules stay importable under their old names."""
import importlib
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _root_names():
    names = set()
    for entry in os.listdir(ROOT):
        path = os.path.join(ROOT, entry)
        if entry.endswith(".py"):
            names.add(entry[:-3])
        elif os.path.isdir(path) and not entry.startswith("."):
            names.add(entry)
    return names


def test_no_root_name_shadows_the_standard_library():
    clash = sorted(_root_names() & set(sys.stdlib_module_names))
    assert not clash, f"root names shadow the standard library: {clash}"


def test_root_holds_only_the_package_base():
    modules = sorted(n for n in _root_names() if os.path.isfile(os.path.join(ROOT, n + ".py")))
    assert modules == ["__init__", "attribute", "base", "device", "initializer", "name",
                       "runtime", "util"], modules


@pytest.mark.parametrize("name, attr", [
    ("io", "NDArrayIter"), ("random", "seed"), ("metric", "Accuracy"), ("viz", "print_summary"),
    ("test_utils", "assert_almost_equal"), ("model", "save_checkpoint"),
    ("lr_scheduler", "FactorScheduler"), ("onnx", "export_model"), ("loss", "L2Loss"),
    ("gluon.data.vision", "transforms"), ("gluon.nn", "Dense"), ("gluon.loss", "L1Loss"),
    ("gluon.parameter", "DeferredInitializationError"), ("gluon.utils", "split_data"),
    ("gluon.model_zoo.vision", "get_model"),
])
def test_mxnet_module_names_import(name, attr):
    import kiln
    module = importlib.import_module(f"kiln.{name}")
    assert hasattr(module, attr)
    obj = kiln
    for part in name.split("."):
        obj = getattr(obj, part)
    assert obj is module                      # attribute and import statement agree


def test_pytest_runs_from_the_root_in_a_clean_interpreter():
    # `python -m pytest` puts the root first on sys.path; the stdlib must still win.
    import subprocess
    code = "import tempfile, random; print(random.__file__)"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": ROOT})
    assert r.returncode == 0, r.stderr
    assert not os.path.abspath(r.stdout.strip()).startswith(ROOT + os.sep)


def _listed_packages():
    import tomllib
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return set(tomllib.load(f)["tool"]["setuptools"]["packages"])


def _package_folders():
    skip = {"tests", "benchmarks", "examples", "docs", "build"}
    found = {"kiln"}
    for folder, dirs, files in os.walk(ROOT):
        rel = os.path.relpath(folder, ROOT)
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in skip
                   and not d.endswith(".egg-info") and d != "__pycache__"]
        if rel != "." and "__init__.py" in files:
            found.add("kiln." + rel.replace(os.sep, "."))
    return found


def test_every_package_folder_is_installed():
    """A folder missing from pyproject's package list works in an editable install (CI) and is
    absent from a wheel, so ``pip install .`` users would get an ImportError."""
    assert _package_folders() == _listed_packages()
