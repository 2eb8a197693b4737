"""Imports run down the layers, never up, and modules import each other without cycles.

The layers, lowest first (docs/architecture.md, "Layers and hooks"):

    base, device < ndarray/ < autograd, initializer < symbol/ < export/ < nn/ < the rest

A module may import its own layer or any layer below it, at module level or inside a function.
Where a lower layer needs behaviour of a higher one it calls a hook that the higher layer
installed once, through ``ndarray/_registry.install_hooks``; assigning attributes of another
kiln module (``_registry._record = ...``) or probing ``sys.modules`` is refused here.

The module graph is read from the source (AST): module-level imports make the edges of the
cycle check; function-level imports are checked for direction, and one that exists only to
break a module-level cycle is refused unless listed in ``LAZY_CYCLE_BREAKERS`` with its reason.
An import of a module's own ancestor package (``from .. import ops as F`` in a family of ops)
adds no edge: Python imports every ancestor package before the module anyway.
"""
import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIP = {"tests", "benchmarks", "examples", "docs", "build", "kiln.egg-info"}
LAYERS = [{"base", "device", "name", "attribute"}, {"ndarray"},
          {"autograd", "initializer", "util"}, {"symbol"}, {"export"}, {"nn"}]
TOP = len(LAYERS)  # optimizer/, data/, metric/, gluon/, model_zoo/, tools/ and kiln itself

# (importer, imported): upward imports that another change is removing. Each entry must still
# exist (the test fails once it is gone, so the list only shrinks). None left.
KNOWN_UPWARD = {}
# (importer, imported): function-level imports that break a module-level cycle, with the reason
# they stay. Each entry must still be such an import.
LAZY_CYCLE_BREAKERS = {
    ("kiln.nn.block", "kiln.nn.symbol_block"):
        "Block.export calls export_block; SymbolBlock subclasses HybridBlock",
    ("kiln.nn.parameter", "kiln.nn.parameter_dict"):
        "module __getattr__ serves MXNet's `from ...parameter import ParameterDict`",
    ("kiln.nn._block_utils", "kiln.nn.block"): "summary(), Block.summary's body, tests HybridBlock",
    ("kiln.nn._block_utils", "kiln.nn.containers"): "summary() skips the containers' own rows",
    ("kiln.metric.base", "kiln.metric.regression"):
        "create(callable) makes a CustomMetric, which subclasses EvalMetric",
}


def _modules():
    """``{dotted name: (path, is_package)}`` for every module of the package."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(ROOT):
        rel = os.path.relpath(dirpath, ROOT)
        parts = [] if rel == "." else rel.split(os.sep)
        dirnames[:] = [d for d in dirnames if not d.startswith((".", "__")) and
                       not (not parts and d in SKIP)]
        for f in filenames:
            if f.endswith(".py"):
                name = parts + ([] if f == "__init__.py" else [f[:-3]])
                found[".".join(["kiln"] + name)] = (os.path.join(dirpath, f), f == "__init__.py")
    return found


MODULES = _modules()


def layer(module):
    """The rank of ``module`` in LAYERS (TOP for the rest and for ``kiln`` itself)."""
    parts = module.split(".")
    if len(parts) < 2:
        return TOP
    return next((i for i, names in enumerate(LAYERS) if parts[1] in names), TOP)


_TREES = {}


def _tree(module):
    """The parsed source of ``module`` (read once: files can change while the tests run)."""
    if module not in _TREES:
        path = MODULES[module][0]
        with open(path, encoding="utf-8") as f:
            _TREES[module] = ast.parse(f.read(), path)
    return _TREES[module]


def _imports(module):
    """``[(imported module, line, inside a function?)]`` for the kiln imports of ``module``."""
    is_pkg = MODULES[module][1]
    tree = _tree(module)
    package = module if is_pkg else module.rsplit(".", 1)[0]
    found = []

    def target(base, name):
        sub = f"{base}.{name}"
        return sub if sub in MODULES else base

    def visit(node, lazy):
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[:len(package.split(".")) - child.level + 1]
                    base = ".".join(base + ([child.module] if child.module else []))
                else:
                    base = child.module
                if base == "kiln" or base.startswith("kiln."):
                    found.extend((target(base, a.name), child.lineno, inner) for a in child.names)
            elif isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, inner) for a in child.names
                             if a.name == "kiln" or a.name.startswith("kiln."))
            visit(child, inner)
    visit(tree, False)
    return found


IMPORTS = {m: _imports(m) for m in MODULES}


def _is_ancestor(pkg, module):
    return module.startswith(pkg + ".")


def module_graph():
    """Module-level import edges, ancestor packages left out."""
    return {m: {t for t, _, lazy in imps if not lazy and t in MODULES and not _is_ancestor(t, m)
                and t != m}
            for m, imps in IMPORTS.items()}


def _reachable(graph, start):
    seen, todo = set(), [start]
    while todo:
        for t in graph.get(todo.pop(), ()):
            if t not in seen:
                seen.add(t)
                todo.append(t)
    return seen


def upward_imports():
    """``{(importer, imported): line}`` for imports from a lower layer to a higher one."""
    found = {}
    for m, imps in IMPORTS.items():
        for t, line, _ in imps:
            if layer(t) > layer(m):
                found.setdefault((m, t), line)
    return found


def cycles():
    """The strongly connected components (more than one module) of the module-level graph."""
    graph = module_graph()
    return sorted({frozenset(m for m in _reachable(graph, s) if s in _reachable(graph, m))
                   | {s} for s in graph if s in _reachable(graph, s)}, key=sorted)


def lazy_cycle_breakers():
    """``{(importer, imported): line}``: function-level imports whose target imports the
    importer back through module-level imports."""
    graph = module_graph()
    found = {}
    for m, imps in IMPORTS.items():
        for t, line, lazy in imps:
            if lazy and t in MODULES and t != m and m in _reachable(graph, t):
                found.setdefault((m, t), line)
    return found


def test_modules_found():
    for m in ("kiln", "kiln.base", "kiln.ndarray._registry", "kiln.symbol.api",
              "kiln.export.onnx", "kiln.nn.block", "kiln.tools.cli"):
        assert m in MODULES
    assert layer("kiln.ndarray.ops.conv") < layer("kiln.autograd") < layer("kiln.symbol.trace")
    assert layer("kiln") == layer("kiln.gluon.trainer") == TOP


def test_imports_run_down_the_layers():
    found = upward_imports()
    new = {k: v for k, v in found.items() if k not in KNOWN_UPWARD}
    assert not new, "upward imports (importer, imported): line\n" + "\n".join(
        f"  {k}: {v}" for k, v in sorted(new.items()))
    gone = sorted(set(KNOWN_UPWARD) - set(found))
    assert not gone, f"fixed, now remove from KNOWN_UPWARD: {gone}"


def test_no_import_cycles():
    found = [sorted(c) for c in cycles()]
    assert not found, f"module-level import cycles: {found}"


def test_no_new_lazy_imports_that_break_cycles():
    found = lazy_cycle_breakers()
    new = {k: v for k, v in found.items() if k not in LAZY_CYCLE_BREAKERS}
    assert not new, ("function-level imports that only break a cycle (move the code to the "
                     "right layer): " + ", ".join(f"{a} -> {b}:{n}"
                                                  for (a, b), n in sorted(new.items())))
    gone = sorted(set(LAZY_CYCLE_BREAKERS) - set(found))
    assert not gone, f"no longer needed, remove from LAZY_CYCLE_BREAKERS: {gone}"


def _module_aliases(tree, module):
    """Names bound to kiln modules by the imports of ``module`` (``_registry``, ``ndarray``)."""
    aliases = {}
    package = module if MODULES[module][1] else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            for a in node.names:
                if f"{base}.{a.name}" in MODULES:
                    aliases[a.asname or a.name] = f"{base}.{a.name}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name in MODULES and a.asname:
                    aliases[a.asname] = a.name
    return aliases


def patched_modules():
    """``[(module, line, target)]``: assignments to attributes of other kiln modules and
    reads of ``sys.modules[...]``."""
    found = []
    for m in MODULES:
        tree = _tree(m)
        aliases = _module_aliases(tree, m)
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if (isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                        and t.value.id in aliases):
                    found.append((m, node.lineno, f"{aliases[t.value.id]}.{t.attr}"))
            if (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load)
                    and isinstance(node.value, ast.Attribute) and node.value.attr == "modules"
                    and isinstance(node.value.value, ast.Name)
                    and node.value.value.id in ("sys", "_sys")):
                found.append((m, node.lineno, "sys.modules[...]"))
    return found


def test_hooks_only_through_the_registration_point():
    found = patched_modules()
    assert not found, ("modules patch other modules (install a hook with "
                       f"_registry.install_hooks instead): {found}")


@pytest.mark.parametrize("source,expected", [
    ("from .. import symbol\n", "kiln.symbol"),
    ("from ..export.onnx import export_model\n", "kiln.export.onnx"),
    ("def f():\n    import kiln\n", "kiln"),
])
def test_detects_an_upward_import(tmp_path, source, expected, monkeypatch):
    """The checks themselves: a planted ndarray module importing upward is found."""
    path = tmp_path / "planted.py"
    path.write_text(source)
    monkeypatch.setitem(MODULES, "kiln.ndarray.planted", (str(path), False))
    monkeypatch.delitem(_TREES, "kiln.ndarray.planted", raising=False)
    monkeypatch.setitem(IMPORTS, "kiln.ndarray.planted", _imports("kiln.ndarray.planted"))
    assert ("kiln.ndarray.planted", expected) in upward_imports()


def test_detects_a_cycle_and_a_patch(tmp_path, monkeypatch):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("from . import b\nfrom ..ndarray import _registry\n_registry.trace_hook = None\n")
    b.write_text("from . import a\n")
    for name, path in (("kiln.symbol.a", a), ("kiln.symbol.b", b)):
        monkeypatch.setitem(MODULES, name, (str(path), False))
        monkeypatch.delitem(_TREES, name, raising=False)
    for name in ("kiln.symbol.a", "kiln.symbol.b"):
        monkeypatch.setitem(IMPORTS, name, _imports(name))
    assert [sorted(c) for c in cycles()] == [["kiln.symbol.a", "kiln.symbol.b"]]
    assert ("kiln.symbol.a", 3, "kiln.ndarray._registry.trace_hook") in patched_modules()


def test_detects_a_lazy_import_that_breaks_a_cycle(tmp_path, monkeypatch):
    """``def f(): from . import array`` in a module its own package imports at load time (how
    nd.contrib once reached nd.array) is a cycle broken by a lazy import."""
    init, mod = tmp_path / "__init__.py", tmp_path / "mod.py"
    init.write_text("from . import mod\n\ndef array():\n    pass\n")
    mod.write_text("def f():\n    from . import array\n    return array\n")
    for name, path, is_pkg in (("kiln.planted", init, True), ("kiln.planted.mod", mod, False)):
        monkeypatch.setitem(MODULES, name, (str(path), is_pkg))
        monkeypatch.delitem(_TREES, name, raising=False)
    for name in ("kiln.planted", "kiln.planted.mod"):
        monkeypatch.setitem(IMPORTS, name, _imports(name))
    assert ("kiln.planted.mod", "kiln.planted") in lazy_cycle_breakers()
    assert not cycles()  # at module level there is none: the lazy import hides it
