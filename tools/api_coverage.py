"""How much of MXNet 1.9.1's public API ``import kiln as mx`` provides, per namespace.

The reference is ``tests/data/mxnet191_api_names.json`` (written by MXNet itself, see
``tests/data/mxnet191_api_names_gen.py`` for what counts as a public name). A name is covered
when the kiln module at the same path under ``kiln`` has the attribute. The names left out on
purpose, one per line with the reason, are in ``tests/data/api_omissions.txt``;
``tests/test_api_coverage.py`` keeps both honest. Run::

    python -m kiln.tools.api_coverage            # the per-namespace table
    python -m kiln.tools.api_coverage --missing  # plus the missing names of each namespace

Example::

    >>> from kiln.tools.api_coverage import coverage, load_reference
    >>> rows = coverage(load_reference())
    >>> rows[0].namespace, rows[0].total >= rows[0].have
    ('contrib', True)
"""
import argparse
import importlib
import json
import os
from dataclasses import dataclass, field

import kiln

_DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "data")
REFERENCE = os.path.join(_DATA, "mxnet191_api_names.json")
OMISSIONS = os.path.join(_DATA, "api_omissions.txt")


@dataclass
class Row:
    """One namespace: ``total`` MXNet names, ``have`` of them in kiln, the ``missing`` ones."""
    namespace: str
    total: int
    have: int
    missing: list = field(default_factory=list)

    @property
    def percent(self):
        return 100.0 * self.have / self.total if self.total else 100.0


def load_reference(path=REFERENCE):
    """``{namespace: [names]}`` from the MXNet-generated file."""
    with open(path) as f:
        return json.load(f)["namespaces"]


def resolve(path):
    """The kiln module at ``path`` ("gluon.nn"), or None. A submodule its package does not
    import (``gluon.contrib.estimator.event_handler``) is imported, as MXNet code would."""
    obj = kiln
    for part in path.split("."):
        if not hasattr(obj, part):
            try:
                importlib.import_module(f"{obj.__name__}.{part}")
            except ImportError:
                return None
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def coverage(reference):
    """One ``Row`` per namespace of ``reference``, in its order."""
    rows = []
    for namespace, names in reference.items():
        module = resolve(namespace)
        missing = [n for n in names if module is None or not hasattr(module, n)]
        rows.append(Row(namespace, len(names), len(names) - len(missing), missing))
    return rows


def load_omissions(path=OMISSIONS):
    """``{"ns.name": reason}`` and ``{"ns": reason}`` for ``ns.*`` lines (a namespace whose
    missing names are all accepted, e.g. one being written). Lines are ``key: reason``;
    ``#`` starts a comment line."""
    names, namespaces = {}, {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, reason = line.partition(":")
            if not sep or not reason.strip():
                raise ValueError(f"{path}:{number}: expected 'namespace.name: reason'")
            key = key.strip()
            target = namespaces if key.endswith(".*") else names
            target[key[:-2] if key.endswith(".*") else key] = reason.strip()
    return names, namespaces


def table(rows, missing=False):
    """The per-namespace coverage table as text (the total last)."""
    lines = [f"{'namespace':40s} {'kiln':>5s} {'mxnet':>6s} {'%':>6s}"]
    for r in rows:
        lines.append(f"{r.namespace:40s} {r.have:5d} {r.total:6d} {r.percent:6.1f}")
        if missing and r.missing:
            lines.append("    missing: " + " ".join(r.missing))
    have, total = sum(r.have for r in rows), sum(r.total for r in rows)
    lines.append(f"{'total':40s} {have:5d} {total:6d} {100.0 * have / total:6.1f}")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--missing", action="store_true", help="list each namespace's missing names")
    p.add_argument("--reference", default=REFERENCE, help="the MXNet names file (JSON)")
    args = p.parse_args(argv)
    print(table(coverage(load_reference(args.reference)), missing=args.missing))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
