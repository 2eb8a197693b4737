"""A persistent, on-disk cache of compiled graphs: a second process skips passes and codegen.

A hybridized block's first call traces its ``forward``, optimizes the graph, differentiates it
(training), plans memory and generates Python source. All but the trace are a function of the
traced graph, so the generated functions are stored under a hash of it (``graph_key``) and a
later process that traces the same graph loads them instead.

What is stored, per compiled function, is JSON: the generated source and a recipe for its
globals (each kernel as its registry op name and attributes, literals, constant arrays as
``.npy`` bytes, persistent buffers as shape and dtype), the node table that maps generated lines
back to block paths and user lines, and the memory estimates. Never pickle: loading parses JSON,
looks ops up in the registry and compiles the source. A training graph also stores its
metadata (which inputs get gradients, output shapes) and a signature of the values the forward
saves for the backward, so a backward variant compiled later in the process is checked
against a forward loaded from disk.

The key covers everything that shapes the generated code: the traced graph (op names,
attributes, wiring, shapes, dtypes, node names, block paths and user lines), the call's flags
(``static_alloc``, fusion, which inputs need gradients), kiln's own code (sizes and
modification times of its ``symbol/`` and ``ndarray/`` sources), numpy's and Python's versions
and the ``KILN_*`` environment. A graph whose attributes or constants do not encode as plain
data (a custom op, a control-flow subgraph, a cupy constant) is simply not cached.

Entries are written atomically (a temporary file, then rename) and checked whole when read
(format, key, tag and a SHA-256 of the body); a corrupt, truncated or stale entry is logged on
the ``kiln.compile_cache`` logger and ignored, and the graph is compiled as usual.

Location: ``$KILN_COMPILE_CACHE`` if set to a folder (``0``/``off`` disables the cache,
``1``/``on`` keeps the default folder), else
``$XDG_CACHE_HOME/kiln/compile`` (``~/.cache/kiln/compile``). The folder is created private to
the user: its files are Python source that kiln executes, as ``.pyc`` files are.
"""
import base64
import hashlib
import io
import json
import logging
import os
import sys
import threading
import types

import numpy as np

from ..ndarray._registry import OPS
from . import codegen
from .graph import is_entry, topo_order

LOG = logging.getLogger("kiln.compile_cache")
ENV = "KILN_COMPILE_CACHE"
FORMAT = 1
MAX_CONST_BYTES = 1 << 20  # larger constants are not cached (the entry would be mostly data)
_OFF = ("0", "off", "false", "no", "none")
_ON = ("1", "on", "true", "yes")   # the default folder (not a folder named "1")
_FINGERPRINT = []  # computed once per process


class Uncacheable(Exception):
    """The graph or function holds something that does not encode as plain data."""


def directory():
    """The cache folder, or None when the cache is off (``KILN_COMPILE_CACHE=0``)."""
    value = os.environ.get(ENV)
    if value is not None and value.strip().lower() in _OFF:
        return None
    if value and value.strip().lower() not in _ON:
        return value
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "kiln", "compile")


def _fingerprint():
    """kiln's code (the generated source calls its kernels), numpy, Python, KILN_* options."""
    if not _FINGERPRINT:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        h = hashlib.sha256()
        for folder in ("symbol", "ndarray", "base.py", "__init__.py"):
            path = os.path.join(root, folder)
            walk = os.walk(path) if os.path.isdir(path) else [(root, [], [folder])]
            for dirpath, dirs, files in walk:
                dirs.sort()
                for f in sorted(files):
                    if f.endswith(".py"):
                        st = os.stat(os.path.join(dirpath, f))
                        h.update(f"{dirpath}/{f}:{st.st_size}:{st.st_mtime_ns};".encode())
        env = sorted((k, v) for k, v in os.environ.items() if k.startswith("KILN_") and k != ENV)
        h.update(repr((np.__version__, sys.version, env)).encode())
        _FINGERPRINT.append(h.hexdigest())
    return _FINGERPRINT[0]


# ---- plain-data encoding of attributes and literals ---------------------------------------------
def encode(v):
    """``v`` as JSON data (tuples and non-finite floats tagged); Uncacheable otherwise."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if np.isfinite(v) else {"f": repr(v)}
    if isinstance(v, tuple):
        return {"t": [encode(x) for x in v]}
    if isinstance(v, list):
        return {"l": [encode(x) for x in v]}
    raise Uncacheable(f"a {type(v).__name__} value")


def decode(v):
    if isinstance(v, dict):
        if "t" in v:
            return tuple(decode(x) for x in v["t"])
        if "l" in v:
            return [decode(x) for x in v["l"]]
        return float(v["f"])
    return v


def _encode_attrs(attrs):
    return {k: encode(v) for k, v in attrs.items()}


def _registry_op(node):
    if OPS.get(node.op.name) is not node.op:
        raise Uncacheable(f"op {node.op.name} is not a registry op")
    return node.op.name


def _array_data(value):
    if type(value) is not np.ndarray or value.dtype.hasobject or value.nbytes > MAX_CONST_BYTES:
        raise Uncacheable("a constant that is not a small numpy array")
    buf = io.BytesIO()
    np.save(buf, value, allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _array_from(text):
    return np.load(io.BytesIO(base64.b64decode(text)), allow_pickle=False)


# ---- the key ------------------------------------------------------------------------------------
def graph_key(args, outputs, options):
    """A hex digest naming the compiled forms of the graph ``args -> outputs`` under
    ``options`` (any repr-stable data), or None when the graph is not cacheable."""
    try:
        nodes = topo_order(list(args) + list(outputs))
        index = {n.id: k for k, n in enumerate(nodes)}
        lines = [_fingerprint(), repr(options)]
        for n in nodes:
            ins = [[index[i[0].id], i[1]] if is_entry(i) else encode(i) for i in n.inputs]
            avals = [[list(a.shape), np.dtype(a.dtype).str] for a in n.avals or ()]
            item = [n.kind, n.name, n.block, n.source, ins, avals]
            if n.kind == "op":
                item += [_registry_op(n), _encode_attrs(n.attrs)]
            elif n.kind == "const":
                item.append(hashlib.sha256(_array_data(n.value).encode()).hexdigest())
            lines.append(json.dumps(item, sort_keys=True))
        lines.append(json.dumps([[index[n.id], i] for n, i in args]))
        lines.append(json.dumps([[index[n.id], i] for n, i in outputs]))
    except Uncacheable as e:
        LOG.debug("graph not cached: %s", e)
        return None
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def entry_signature(graph_targets, entries):
    """Where each of ``entries`` sits in the graph of ``graph_targets`` (topological
    position, op, output index, shape, dtype): the same in every process for one traced
    graph, with no node ids in it."""
    pos = {n.id: k for k, n in enumerate(topo_order(graph_targets))}
    return [[pos.get(n.id, -1), n.op.name if n.op else n.kind, i,
             list(n.avals[i].shape) if n.avals else None,
             np.dtype(n.avals[i].dtype).str if n.avals else None] for n, i in entries]


# ---- entries on disk ----------------------------------------------------------------------------
def _path(folder, key, tag):
    return os.path.join(folder, key[:2], f"{key}.{tag}.json")


def load(key, tag):
    """The body stored for ``(key, tag)``, or None (missing; or unreadable, logged)."""
    folder = directory()
    if folder is None or key is None:
        return None
    path = _path(folder, key, tag)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        LOG.warning("compile cache entry %s ignored: %s", path, e)
        return None
    try:
        outer = json.loads(raw)
        if outer.get("format") != FORMAT or outer.get("key") != key or outer.get("tag") != tag:
            raise ValueError("written for another format, key or tag")
        body = outer["body"]
        if hashlib.sha256(body.encode()).hexdigest() != outer.get("sha256"):
            raise ValueError("checksum mismatch (corrupt or truncated)")
        return json.loads(body)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        LOG.warning("compile cache entry %s ignored: %s", path, e)
        return None


def store(key, tag, body):
    """Write ``body`` (JSON data) for ``(key, tag)``; failures are logged, never raised."""
    folder = directory()
    if folder is None or key is None:
        return
    path = _path(folder, key, tag)
    text = json.dumps(body, sort_keys=True)
    outer = json.dumps({"format": FORMAT, "key": key, "tag": tag, "body": text,
                        "sha256": hashlib.sha256(text.encode()).hexdigest()})
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        _write_atomic(path, outer.encode())
    except OSError as e:
        LOG.warning("compile cache entry %s not written: %s", path, e)


def _write_atomic(path, blob):
    # no fsync (base.atomic_write's): a cache entry lost or cut short by a crash is detected by
    # its checksum and recompiled, and an fsync per function cost more than compiling it
    tmp = f"{path}.{os.getpid()}-{threading.get_ident()}.tmp"  # writers never share one
    try:
        with open(tmp, "wb") as f:
            f.write(blob)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ---- compiled functions as plain data -----------------------------------------------------------
def dump_compiled(compiled):
    """A ``codegen.Compiled`` as JSON data (its source and how to rebuild its globals)."""
    plan, name, arg_names, static_xp, op_hook, notify = compiled.plan
    if op_hook is not None:
        raise Uncacheable("op hooks")
    kernels = {f"k{s.node.id}": s.node for s in plan.steps if s.node.kind == "op"}
    base = codegen.base_namespace()
    recipe = {}
    for var, value in compiled.fn.__globals__.items():
        if var in base or var in ("__builtins__", "_own", name):
            continue
        if var in kernels:
            node = kernels[var]
            recipe[var] = ["kernel", _registry_op(node), _encode_attrs(node.attrs)]
        elif var.startswith("_buf"):
            recipe[var] = ["buf", list(value.shape), value.dtype.str]
        elif var.startswith("_lit"):
            recipe[var] = ["lit", encode(value)]
        elif var.startswith("c"):
            recipe[var] = ["const", _array_data(value)]
        else:
            raise Uncacheable(f"global {var}")
    lines = {str(k): [n.name, n.op.name if n.op else n.kind, n.block, n.source]
             for k, n in compiled.line_nodes.items()}
    return {"name": name, "source": compiled.source, "recipe": recipe, "lines": lines,
            "arg_names": arg_names, "peak": compiled.peak_temporaries,
            "static_bytes": compiled.static_bytes}


def load_compiled(body, static_xp):
    """The ``Compiled`` function stored by ``dump_compiled``."""
    ns = codegen.base_namespace()
    for var, (kind, *data) in body["recipe"].items():
        if kind == "kernel":
            kernel, attrs = OPS[data[0]].kernel, {k: decode(v) for k, v in data[1].items()}
            ns[var] = codegen.kernel_partial(kernel, attrs)
        elif kind == "buf":
            ns[var] = static_xp.empty(tuple(data[0]), np.dtype(data[1]))
        elif kind == "lit":
            ns[var] = decode(data[0])
        elif kind == "const":
            ns[var] = _array_from(data[0])
        else:
            raise ValueError(f"unknown global kind {kind!r}")
    line_nodes = {int(k): _NodeInfo(*v) for k, v in body["lines"].items()}
    compiled = codegen.finish(ns, body["name"], body["source"], line_nodes, body["arg_names"],
                              static_xp)
    compiled.peak_temporaries, compiled.static_bytes = body["peak"], body["static_bytes"]
    return compiled


class _NodeInfo:
    """What an error in a loaded function reports about its node (``Compiled._reraise``)."""

    def __init__(self, name, op_name, block, source):
        self.name, self.block, self.source = name, block, source
        self.op = types.SimpleNamespace(name=op_name)

    def where(self):
        parts = [p for p in (self.block, self.source) if p]
        return " at ".join(parts) if parts else "?"
