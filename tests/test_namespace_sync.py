"""The op namespaces ``kiln.nd`` and ``kiln.sym`` are explicit, generated modules: checked in,
in sync with the registry, complete, and readable in ``help()``.

Out of sync? Regenerate with ``python -m kiln.tools.gen_namespace``.
"""
import ast
import copy
import inspect
import os
import pickle
import subprocess
import sys

import pytest
from kiln import nd, sym
from kiln.ndarray import _registry
from kiln.ndarray.ops import _namespace as nd_namespace
from kiln.symbol import _namespace as sym_namespace
from kiln.tools import gen_namespace

REGENERATE = "run `python -m kiln.tools.gen_namespace`"


def _checked_in(path):
    with open(os.path.join(gen_namespace.ROOT, path), encoding="utf-8") as f:
        return f.read()


@pytest.mark.parametrize("path", sorted(gen_namespace.render()))
def test_generated_file_is_in_sync(path):
    assert _checked_in(path) == gen_namespace.render()[path], f"{path} is out of date: {REGENERATE}"


def test_every_op_and_alias_is_named_in_nd_and_sym():
    exported = {n for mod in gen_namespace.load_families()[1].values()
                for n in getattr(mod, "EXPORTS", {})}
    for name, op in _registry.OPS.items():
        assert getattr(nd, name) is op.func or name in exported, name
        assert callable(getattr(sym, name)), name
    for alias, name in _registry.ALIASES.items():
        assert getattr(nd, alias) is _registry.OPS[name].func, alias
        assert callable(getattr(sym, alias)), alias
    assert set(nd_namespace.__all__) <= set(nd.__all__)
    assert nd.zeros is not _registry.OPS["zeros"].func  # MXNet's positional order (EXPORTS)


def test_contrib_names_every_contrib_op():
    names = [n for n in list(_registry.OPS) + list(_registry.ALIASES) if n.startswith("_contrib_")]
    assert names
    for full in names:
        short = full[len("_contrib_"):]
        # a storage-dispatching wrapper (getnnz/edge_id on CSR) names its op in __wrapped__
        assert inspect.unwrap(getattr(nd.contrib, short)) is _registry.get(full).func, (
            f"add `from .ops._namespace import {full} as {short}` to ndarray/contrib.py")
        assert short in nd.contrib.__all__


def test_namespaces_are_plain_modules():
    """No module ``__getattr__`` resolves names late: what a reader sees is what there is."""
    for mod in (nd, nd.contrib, sym, nd_namespace, sym_namespace):
        assert "__getattr__" not in vars(mod), mod.__name__


def test_stubs_declare_the_modules_names():
    for mod, path in ((nd_namespace, gen_namespace.ND_FILE),
                      (sym_namespace, gen_namespace.SYM_FILE)):
        tree = ast.parse(_checked_in(path + "i"))
        declared = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        declared |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets}
        assert declared == set(mod.__all__), path


def test_help_shows_required_attributes_readably():
    sig = inspect.signature(nd.Convolution)
    assert repr(sig.parameters["kernel"].default) == "REQUIRED"
    assert "<object" not in str(sig)
    assert str(sig).startswith("(data, weight, bias=None, kernel=REQUIRED,")
    assert sym.Convolution.__doc__ == nd.Convolution.__doc__
    with pytest.raises(TypeError, match="missing required attribute 'kernel'"):
        nd.Convolution(nd.ones((1, 1, 3, 3)), nd.ones((1, 1, 1, 1)), num_filter=1)


def test_required_keeps_its_identity():
    req = _registry.REQUIRED
    assert copy.deepcopy(req) is req
    assert pickle.loads(pickle.dumps(req)) is req
    assert copy.deepcopy({"kernel": req})["kernel"] is req


def test_generator_runs_without_the_namespaces():
    """As a script, the generator loads the op families alone: it still works when
    ``import kiln`` fails on a stale generated file (an op renamed or removed)."""
    script = os.path.join(gen_namespace.ROOT, "tools", "gen_namespace.py")
    res = subprocess.run([sys.executable, script, "--check"], capture_output=True, text=True,
                         cwd=gen_namespace.ROOT, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


def test_generator_reports_a_new_op(monkeypatch):
    """A registered op missing from the files makes the rendered text differ."""
    registry, families, sym_ops = gen_namespace.load_families()
    op = _registry.Op("planted_op", lambda xp, x: x)
    op.func = _registry._make_function(op)
    families = dict(families)
    families["planted"] = type(sys)("planted")
    families["planted"].planted_op = op.func
    monkeypatch.setitem(_registry.OPS, "planted_op", op)
    text = gen_namespace.render_nd(registry, families)
    assert "from .planted import planted_op" in text
    assert text != _checked_in(gen_namespace.ND_FILE)
    assert "planted_op = _sym(_OPS[\"planted_op\"])" in gen_namespace.render_sym(registry, sym_ops)
