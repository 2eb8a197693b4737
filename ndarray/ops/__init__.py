"""All registered ops as functions (``kiln.nd.<name>``), one module per family.

Families register on import; this module then exposes every op and alias by name, plus the
plain Python functions a family lists in its ``EXPORTS`` dict (composites such as ``batch_take``,
or wrappers with MXNet's positional order such as ``zeros``).
"""
import importlib

from .. import _registry

FAMILIES = ["creation", "elemwise", "unary", "activation", "reduce", "shape", "indexing",
            "linalg", "sort", "nn_basic", "conv", "pool", "norm", "random_ops", "ctc",
            "fused"]


def _load_families():
    mods = []
    for fam in FAMILIES:
        try:
            mods.append(importlib.import_module(f"{__name__}.{fam}"))
        except ModuleNotFoundError as e:  # a family not written yet
            if e.name != f"{__name__}.{fam}":
                raise
    return mods


def _export_all(mods):
    g = globals()
    for name, op in _registry.OPS.items():
        g[name] = op.func
    for alias, name in _registry.ALIASES.items():
        g.setdefault(alias, _registry.OPS[name].func)
    for m in mods:
        for name, fn in getattr(m, "EXPORTS", {}).items():
            g[name] = fn


_export_all(_load_families())
