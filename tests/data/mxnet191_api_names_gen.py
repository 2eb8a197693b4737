"""Writes ``mxnet191_api_names.json``, the public names of MXNet 1.9.1's namespaces (run with
MXNet's interpreter, not by the tests)::

    .mxnet-venv/bin/python tests/data/mxnet191_api_names_gen.py tests/data/mxnet191_api_names.json

The result maps a namespace path under ``mx`` ("nd.contrib", "gluon.nn") to its sorted public
names. ``tests/test_api_coverage.py`` checks kiln against it.

What counts as a public name of a namespace:

- the names of ``dir(module)`` without a leading underscore (what ``mx.X.name`` reaches;
  ``__all__`` is no guide: ``mx.np.__all__`` is empty);
- minus ``None`` placeholders (``recordio.cv2`` without OpenCV) and modules (``np``, ``os``,
  ``nd`` re-exported by an import statement; a real submodule is a namespace of its own when it
  is listed below);
- minus the ctypes plumbing functions of ``mxnet.base`` (``c_str``, ``check_call``) that
  modules import;
- minus classes and functions the standard library defines (``OrderedDict``, ``contextmanager``,
  ctypes handle types, the builtin ``abs``): imports, not MXNet's API. numpy's objects stay
  (``mx.np.float32`` and numpy fallbacks such as ``mx.np.allclose`` are MXNet's API).

The namespaces: the fixed list below, plus every module under ``mx.gluon`` found by walking the
package, except private ones and implementation files whose public names the parent package
re-exports whole (``gluon.nn.basic_layers`` adds nothing to ``gluon.nn``). For a module file
(not a package) only the names it defines count: ``HybridBlock`` imported into
``gluon.model_zoo.vision.resnet`` is not that module's API.
"""
import importlib
import json
import pkgutil
import sys
import types

import mxnet as mx

FIXED = [
    "nd", "nd.contrib", "nd.linalg", "nd.random", "nd.sparse", "nd.image",
    "sym", "sym.contrib", "sym.linalg", "sym.random", "sym.sparse", "sym.image",
    "np", "np.random", "np.linalg", "npx",
    "io", "image", "recordio", "kv", "profiler",
    "contrib", "contrib.ndarray", "contrib.symbol", "contrib.amp",
    "init", "metric", "optimizer", "test_utils",
]


def resolve(path):
    obj = mx
    for part in path.split("."):
        if not hasattr(obj, part):      # a submodule that its package does not import
            importlib.import_module(obj.__name__ + "." + part)
        obj = getattr(obj, part)
    return obj


def _from_stdlib(obj):
    mod = getattr(obj, "__module__", None)
    if not isinstance(mod, str) or not isinstance(obj, (type, types.FunctionType,
                                                        types.BuiltinFunctionType)):
        return False
    return mod.split(".")[0] in sys.stdlib_module_names


def _c_api_helper(obj):
    return isinstance(obj, types.FunctionType) and obj.__module__ == "mxnet.base"


def public_names(module, defined_here=False):
    out = set()
    for name in dir(module):
        if name.startswith("_"):
            continue
        obj = getattr(module, name)
        if (obj is None or isinstance(obj, types.ModuleType) or _from_stdlib(obj)
                or _c_api_helper(obj)):
            continue
        if defined_here and getattr(obj, "__module__", None) != module.__name__:
            continue
        out.add(name)
    return sorted(out)


def gluon_namespaces():
    found = {"gluon": False}
    for info in pkgutil.walk_packages(mx.gluon.__path__, "mxnet.gluon."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        path = info.name[len("mxnet."):]
        parent = path.rsplit(".", 1)[0]
        own = set(public_names(resolve(path), defined_here=not info.ispkg))
        if not info.ispkg and own <= set(public_names(resolve(parent))):
            continue
        found[path] = not info.ispkg
    return found


def main(out_path):
    table = {path: public_names(resolve(path)) for path in FIXED}
    for path, module_file in gluon_namespaces().items():
        table[path] = public_names(resolve(path), defined_here=module_file)
    with open(out_path, "w") as f:
        json.dump({"mxnet_version": mx.__version__, "namespaces": table}, f, indent=1,
                  sort_keys=True)
        f.write("\n")
    print(sum(len(v) for v in table.values()), "names in", len(table), "namespaces")


if __name__ == "__main__":
    main(sys.argv[1])
