"""The graph IR: nodes (variables, constants, op calls) linked by ``(node, output_index)`` entries.

A node is immutable once built except for ``name``. Inputs are entries or literals (Python
scalars and None, which ops accept in place of arrays).
"""
import itertools
from contextlib import contextmanager

import numpy as np

from ..ndarray._registry import STATE

_ids = itertools.count()


class Node:
    """One graph node.

    ``kind``: ``'var'`` (a graph input: data, parameter or auxiliary state), ``'const'``
    (a captured array in ``value``) or ``'op'`` (``op`` applied to ``inputs`` with ``attrs``).
    ``avals`` holds each output's ``Aval`` when known. ``block`` and ``source`` say where the node
    came from (block path and the user's file:line) for error messages.
    """

    __slots__ = ("id", "kind", "op", "inputs", "attrs", "name", "avals", "value", "block",
                 "source", "meta", "_n_out")

    def __init__(self, kind, op=None, inputs=(), attrs=None, name=None, avals=None,
                 value=None, block="", source="", meta=None):
        self.id = next(_ids)
        self.kind, self.op, self.inputs = kind, op, tuple(inputs)
        self.attrs = dict(attrs or {})
        self.name = name or (f"{op.name}{self.id}" if op is not None else f"{kind}{self.id}")
        self.avals, self.value = avals, value
        self.block, self.source = block, source
        self.meta = dict(meta or {})
        self._n_out = None

    @property
    def num_outputs(self):
        n = self._n_out
        if n is None:  # read by every pass: computed once (a node's op and attrs never change)
            n = self._n_out = 1 if self.kind != "op" else self.op.n_out(self.attrs)
        return n

    def input_entries(self):
        return [i for i in self.inputs if is_entry(i)]

    def where(self):
        """``'block path (file:line)'`` for error messages."""
        parts = [p for p in (self.block, self.source) if p]
        return " at ".join(parts) if parts else "?"

    def __repr__(self):
        return f"<Node {self.name} {self.kind}>"


def is_entry(x):
    return type(x) is tuple and len(x) == 2 and type(x[0]) is Node


def topo_order(entries, stop=None):
    """Nodes reachable from ``entries``, inputs before users (iterative DFS).

    ``stop``: node ids treated as leaves (their inputs are not visited).
    """
    order, seen = [], set()
    stack = [(e[0], False) for e in reversed(entries)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node.id in seen:
            continue
        seen.add(node.id)
        stack.append((node, True))
        if stop is not None and node.id in stop:
            continue
        for inp in reversed(node.inputs):
            if is_entry(inp) and inp[0].id not in seen:
                stack.append((inp[0], False))
    # the DFS may append a node twice through different paths before it is marked: dedupe
    out, done_ids = [], set()
    for n in order:
        if n.id not in done_ids:
            done_ids.add(n.id)
            out.append(n)
    return out


def hashable(value):
    """Attribute values as hashable, printable constants (lists -> tuples, dtypes -> str)."""
    if isinstance(value, (list, tuple)):
        return tuple(hashable(v) for v in value)
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value,
                                                                              np.generic)):
        return np.dtype(value).name
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return tuple(sorted((k, hashable(v)) for k, v in value.items()))
    if value.__class__.__name__ == "Context":
        return str(value)
    return value


class TraceScope:
    """What every tracer keeps: the block path of the nodes being made and per-path op
    counters naming them (``features.0.fully_connected0``). ``symbol/trace.py:Tracer`` adds
    inputs, parameters and MXNet's names; the symbolic differentiation traces under a bare
    one. Installed as ``STATE.tracer`` by ``tracing``."""

    records_mode = True  # mode-dependent ops are traced for this call's mode (``_train``)

    def __init__(self, ctx=None):
        self.ctx = ctx  # the graph's device: what ``Symbol.context`` reports while tracing
        self.block_stack = []
        self.counts = {}

    def block_path(self):
        return self.block_stack[-1] if self.block_stack else ""

    @contextmanager
    def in_block(self, path):
        """Attribute the nodes traced inside to block ``path`` (a full dotted path)."""
        self.block_stack.append(path)
        try:
            yield
        finally:
            self.block_stack.pop()

    def node_name(self, op, inputs):
        path = self.block_path()
        key = (path, op.name)
        k = self.counts.get(key, 0)
        self.counts[key] = k + 1
        base = f"{op.name}{k}"
        return f"{path}.{base}" if path else base


@contextmanager
def tracing(tracer):
    """Install ``tracer`` for the duration of a ``with`` block."""
    prev, STATE.tracer = STATE.tracer, tracer
    try:
        yield tracer
    finally:
        STATE.tracer = prev
