"""Write the op namespaces ``kiln.nd`` and ``kiln.sym`` out as explicit modules.

Every registered op and alias is a name in ``kiln.nd`` (its public function) and ``kiln.sym``
(a function that builds graph nodes). Those names are listed in generated, checked-in files, so
an IDE or a reader can follow ``nd.Convolution`` to its definition:

* ``ndarray/ops/_namespace.py`` imports each op by name from the family that registered it,
  MXNet's aliases as assignments, and the plain functions a family lists in ``EXPORTS``;
* ``symbol/_namespace.py`` makes each ``sym.<name>`` with ``sym_ops.make_sym_function``;
* a typed stub (``.pyi``) beside each gives the signatures (``nd.*`` returns ``NDArray``,
  ``sym.*`` a ``Symbol``).

Regenerate after adding, renaming or removing an op, alias or export (``--check`` only
reports)::

    python -m kiln.tools.gen_namespace

(``tests/test_namespace_sync.py`` fails until then.) If ``import kiln`` itself fails because the
files name an op that is gone, run the same generator as a script, ``python
tools/gen_namespace.py``: it then loads the op families without the package's namespaces.
"""
import importlib
import inspect
import os
import pkgutil
import re
import sys
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ND_FILE, SYM_FILE = "ndarray/ops/_namespace.py", "symbol/_namespace.py"
HEADER = "Generated from the op registry by `python -m kiln.tools.gen_namespace`: do not edit."
LINE = 100


def load_families():
    """``(registry, {family: module}, sym_ops)`` with every op family of ndarray/ops imported."""
    ops = importlib.import_module("kiln.ndarray.ops")
    families = {info.name: importlib.import_module(f"kiln.ndarray.ops.{info.name}")
                for info in pkgutil.iter_modules(ops.__path__) if not info.name.startswith("_")}
    return (importlib.import_module("kiln.ndarray._registry"), families,
            importlib.import_module("kiln.symbol.sym_ops"))


def nd_names(registry, families):
    """``{name: function}`` of ``kiln.nd``'s ops: each op, each alias (unless an op has the
    name), then the families' ``EXPORTS`` (which replace an op's name: MXNet's ``nd.zeros``)."""
    names = {n: op.func for n, op in registry.OPS.items()}
    for alias, n in registry.ALIASES.items():
        names.setdefault(alias, registry.OPS[n].func)
    for fam in sorted(families):
        names.update(getattr(families[fam], "EXPORTS", {}))
    return names


def _binding(name, fn, families):
    """``(family, attribute)`` where ``fn`` is bound at module level: preferably under its own
    name, not a leftover loop variable, in the family that defines its kernel."""
    hits = [(fam, attr) for fam, mod in families.items() for attr, v in vars(mod).items()
            if v is fn]
    if not hits:
        raise RuntimeError(f"nd.{name} is bound in no op family: assign what register() "
                           "returns to a module-level name (or list the function in EXPORTS)")
    op = getattr(fn, "op", None)
    kmod = getattr(getattr(op, "kernel", None), "__module__", "") or ""

    def rank(hit):
        fam, attr = hit
        return (attr not in (name, getattr(op, "name", None)), attr.startswith("_"),
                not kmod.endswith("." + fam), fam, attr)
    return min(hits, key=rank)


def _natural(name):
    """ruff's isort order for names: digits compare as numbers (``log2`` before ``log10``)."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _linalg_names(names):
    """``{short: name}``: MXNet's ``linalg.<short>`` for each ``linalg_<short>`` name."""
    return {n[len("linalg_"):]: n for n in sorted(names, key=_natural)
            if n.startswith("linalg_")}


def _linalg_module(names, qualname, what):
    """Lines that build MXNet's ``linalg`` sub-namespace (``nd.linalg.gemm2``) as a module."""
    short = _linalg_names(names)
    out = ["", f"# MXNet's ``{what}.linalg``: the linalg_* functions under their short names",
           f'linalg = _types.ModuleType("{qualname}", "{what}.linalg.<name> is '
           f'{what}.linalg_<name>")',
           "linalg.__dict__.update("]
    out += [f"    {k}={v}," for k, v in short.items()]
    return out + ["    __all__=_LINALG_ALL,", ")"], short


def _linalg_all(short):
    lines, cur = ["_LINALG_ALL = ["], "   "
    for n in sorted(short):
        item = f' "{n}",'
        if len(cur) + len(item) > LINE:
            lines.append(cur)
            cur = "   "
        cur += item
    return lines + [cur, "]"]


def _linalg_stub(names, signature):
    """Stub lines of the ``linalg`` sub-namespace: a class of static methods and its instance;
    ``signature(name)`` gives a function's ``(parameters, return type)``."""
    out = ["", "class _Linalg:"]
    for short, name in _linalg_names(names).items():
        out += ["    @staticmethod"]
        out += ["    " + ln for ln in _stub_def(short, *signature(name), width=LINE - 4)]
    return out + ["", "linalg = _Linalg()"]


def _import_lines(module, attrs):
    """``from <module> import a, b`` the way ruff's isort writes it."""
    items = sorted(attrs, key=_natural)
    one = f"from {module} import {', '.join(items)}"
    if len(one) <= LINE:
        return [one]
    return [f"from {module} import ("] + [f"    {i}," for i in items] + [")"]


def render_nd(registry, families):
    """The source of ndarray/ops/_namespace.py."""
    names = nd_names(registry, families)
    imports, renames = {}, {}
    for name, fn in names.items():
        op = getattr(fn, "op", None)
        fam, attr = _binding(op.name if op is not None and op.func is fn else name, fn, families)
        imports.setdefault(fam, set()).add(attr)
        if attr != name:
            renames[name] = attr
    out = [f'"""Every op, MXNet alias and family export of ``kiln.nd``, by name.\n\n{HEADER}\n"""',
           "import types as _types", ""]
    for fam in sorted(imports):
        out += _import_lines(f".{fam}", imports[fam])
    # an alias reads an op's function before an export takes over the op's name (nd.zeros)
    late = {n for n in renames if any(n in attrs for attrs in imports.values())}
    out += ["", "# MXNet's names (CamelCase, broadcast_*), and functions kept under another name"]
    out += [f"{n} = {renames[n]}" for n in sorted(renames, key=_natural) if n not in late]
    out += [f"{n} = {renames[n]}" for n in sorted(late, key=_natural)]
    lines, short = _linalg_module(names, "kiln.ndarray.linalg", "nd")
    out += ["", *_linalg_all(short), *lines]
    out += ["", *_all_lines({**names, "linalg": None})]
    return "\n".join(out) + "\n"


def _all_lines(names):
    lines, cur = ["__all__ = ["], "   "
    for n in sorted(names):
        item = f' "{n}",'
        if len(cur) + len(item) > LINE:
            lines.append(cur)
            cur = "   "
        cur += item
    return lines + [cur, "]"]


def sym_names(registry, sym_ops):
    """``{name: (maker, op name)}`` of ``kiln.sym``: ``sym`` for the generic graph-building
    function, ``scalar`` for the names that take Python numbers (``SCALAR_FRIENDLY``)."""
    names = {n: ("sym", n) for n in registry.OPS}
    for alias, n in registry.ALIASES.items():
        names.setdefault(alias, ("sym", n))
    for fname, opname in sym_ops.SCALAR_FRIENDLY.items():
        if opname in registry.OPS:
            names[fname] = ("scalar", opname)
    return names


def sym_plan(registry, sym_ops):
    """``(made, aliases)``: ``{name: (maker, op name)}`` for the functions to make and
    ``{alias: name}`` for the names that share one of them."""
    names = sym_names(registry, sym_ops)
    made, aliases, first = {}, {}, {}
    for name, (kind, opname) in sorted(names.items(), key=lambda kv: _natural(kv[0])):
        if kind == "scalar":
            made[name] = (kind, opname)
        elif names.get(opname) == ("sym", opname) and name != opname:
            aliases[name] = opname
        elif opname in first:  # the op's own name takes numbers: its aliases share one function
            aliases[name] = first[opname]
        else:
            first[opname] = name
            made[name] = (kind, opname)
    return made, aliases


def render_sym(registry, sym_ops):
    """The source of symbol/_namespace.py."""
    made, aliases = sym_plan(registry, sym_ops)
    out = [f'"""Every op and MXNet alias of ``kiln.sym``: functions that build graph nodes.\n\n'
           f'{HEADER}\n"""',
           "import types as _types", "",
           "from ..ndarray._registry import OPS as _OPS",
           "from .sym_ops import make_scalar_binary as _scalar",
           "from .sym_ops import make_sym_function as _sym", ""]
    for name, (kind, opname) in made.items():
        out.append(f'{name} = _sym(_OPS["{opname}"])' if kind == "sym" else
                   f'{name} = _scalar(_OPS["{opname}"], "{name}")')
    out += ["", "# MXNet's names for the same functions"]
    out += [f"{a} = {n}" for a, n in aliases.items()]
    lines, short = _linalg_module({**made, **aliases}, "kiln.symbol.linalg", "sym")
    out += ["", *_linalg_all(short), *lines]
    out += ["", *_all_lines({**made, **aliases, "linalg": None})]
    return "\n".join(out) + "\n"


def _stub_params(fn, extra=(), skip=()):
    parts, star = [], False
    for p in inspect.signature(fn).parameters.values():
        if p.name in skip:
            continue
        if p.kind is p.VAR_POSITIONAL:
            parts.append(f"*{p.name}")
            star = True
        elif p.kind is p.VAR_KEYWORD:
            parts += list(extra) + ["**kwargs"]
            extra = ()
        else:
            if p.kind is p.KEYWORD_ONLY and not star:
                parts.append("*")
                star = True
            parts.append(p.name if p.default is p.empty else f"{p.name}=...")
    return ", ".join(parts + list(extra))


def _stub_def(name, params, returns, width=LINE):
    one = f"def {name}({params}) -> {returns}: ..."
    if len(one) <= width:
        return [one]
    lines, cur = [f"def {name}("], "    "
    for part in params.split(", "):
        item = part + ","
        if len(cur) + len(item) + 1 > width:
            lines.append(cur.rstrip())
            cur = "    "
        cur += item + " "
    return lines + [cur.rstrip(), f") -> {returns}: ..."]


def _returns(op, single, several):
    if op is None:
        return single
    n = op.num_outputs
    return "Any" if callable(n) else single if n == 1 else several


def render_nd_stub(registry, families):
    """The typed stub ndarray/ops/_namespace.pyi."""
    names = nd_names(registry, families)
    out = [f"# {HEADER}", "from typing import Any", "", "from ..ndarray import NDArray", ""]
    aliases = []
    for name, fn in sorted(names.items()):
        op = getattr(fn, "op", None)
        if op is not None and op.name != name and names.get(op.name) is fn:
            aliases.append(f"{name} = {op.name}")
            continue
        out += _stub_def(name, _stub_params(fn), _returns(op, "NDArray", "list[NDArray]"))
    out += _linalg_stub(names, lambda n: (_stub_params(names[n]), _returns(
        getattr(names[n], "op", None), "NDArray", "list[NDArray]")))
    return "\n".join(out + [""] + aliases) + "\n"


def render_sym_stub(registry, sym_ops):
    """The typed stub symbol/_namespace.pyi."""
    made, aliases = sym_plan(registry, sym_ops)
    out = [f"# {HEADER}", "from typing import Any", "", "from .symbol import Symbol", ""]
    for name, (kind, opname) in made.items():
        if kind == "sym":
            params = _stub_params(registry.OPS[opname].func, ("name=...", "attr=..."), ("out",))
            out += _stub_def(name, params, "Symbol")
        else:
            out += _stub_def(name, "lhs, rhs, name=..., attr=...", "Symbol | Any")

    def signature(name):
        op = registry.OPS[made[aliases.get(name, name)][1]]
        return _stub_params(op.func, ("name=...", "attr=..."), ("out",)), "Symbol"
    out += _linalg_stub({**made, **aliases}, signature)
    return "\n".join(out + [""] + [f"{a} = {n}" for a, n in aliases.items()]) + "\n"


def render():
    """``{path relative to the package root: source}`` for the four generated files."""
    registry, families, sym_ops = load_families()
    return {ND_FILE: render_nd(registry, families),
            ND_FILE + "i": render_nd_stub(registry, families),
            SYM_FILE: render_sym(registry, sym_ops),
            SYM_FILE + "i": render_sym_stub(registry, sym_ops)}


def _bare_packages():
    """Make ``kiln``, ``kiln.ndarray``, ``kiln.ndarray.ops`` and ``kiln.symbol`` importable as
    empty packages, so the op families load without the (possibly stale) namespaces."""
    for name, sub in (("kiln", ""), ("kiln.ndarray", "ndarray"),
                      ("kiln.ndarray.ops", "ndarray/ops"), ("kiln.symbol", "symbol")):
        mod = types.ModuleType(name)
        mod.__path__ = [os.path.join(ROOT, sub)]
        sys.modules[name] = mod


def main(argv=None):
    """Rewrite the generated files (print the ones that changed); with ``--check``, only
    report stale files and return 1 if there are any."""
    check = "--check" in (sys.argv[1:] if argv is None else argv)
    if "kiln" not in sys.modules:
        _bare_packages()
    stale = []
    for path, text in render().items():
        full = os.path.join(ROOT, path)
        old = open(full, encoding="utf-8").read() if os.path.exists(full) else None
        if old != text:
            stale.append(path)
            if not check:
                with open(full, "w", encoding="utf-8") as f:
                    f.write(text)
            print(f"{'out of date' if check else 'wrote'}: {path}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
