"""Network visualization (MXNet's ``mx.viz``): a printed summary and a Graphviz drawing.

Example::

    >>> net = sym.FullyConnected(sym.var("data"), num_hidden=10, name="fc")
    >>> kl.viz.print_summary(net, shape={"data": (1, 5)})      # prints a table
    >>> dot = kl.viz.plot_network(net, shape={"data": (1, 5)})
    >>> print(dot.source[:7])
    digraph
"""
import numpy as np

from .symbol.api import infer_avals
from .symbol.graph import is_entry, topo_order


def _layers(symbol, shape):
    known = infer_avals(symbol, shape or {}, partial=True) if shape else {}
    nodes = topo_order(symbol._entries)
    consumers = {}
    for n in nodes:
        for i in n.inputs:
            if is_entry(i):
                consumers.setdefault(i[0].id, []).append(n)
    return nodes, known


def _param_count(node, known):
    total = 0
    for i in node.inputs:
        if is_entry(i) and i[0].kind == "var" and not i[0].meta.get("input") \
                and i[0].name != "data":
            av = known.get((i[0].id, 0))
            if av is not None:
                total += int(np.prod(av.shape))
    return total


def print_summary(symbol, shape=None, line_length=120, positions=(.44, .64, .74, 1.)):
    """Print each op with its output shape, parameter count and inputs; returns the text."""
    nodes, known = _layers(symbol, shape)
    cols = [int(line_length * p) for p in positions]
    header = ["Layer (type)", "Output Shape", "Param #", "Previous Layer"]

    def row(fields):
        line = ""
        for f, end in zip(fields, cols):
            line = (line + str(f))[:end].ljust(end)
        return line.rstrip()
    lines = ["_" * line_length, row(header), "=" * line_length]
    total = 0
    for n in nodes:
        if n.kind != "op":
            continue
        av = known.get((n.id, 0))
        params = _param_count(n, known)
        total += params
        prev = [i[0].name for i in n.inputs if is_entry(i) and i[0].kind == "op"]
        lines.append(row([f"{n.name}({n.op.name})", "x".join(map(str, av.shape)) if av else "?",
                          params, ", ".join(prev)]))
        lines.append("_" * line_length)
    lines.append(f"Total params: {total}")
    lines.append("_" * line_length)
    text = "\n".join(lines)
    print(text)
    return text


class Dot:
    """Graphviz source; ``render`` needs the ``graphviz`` Python package and binaries."""

    def __init__(self, source, title):
        self.source, self.title = source, title

    def render(self, filename=None, format="svg", cleanup=True):
        import graphviz
        src = graphviz.Source(self.source, filename=filename or self.title, format=format)
        return src.render(cleanup=cleanup)

    def _repr_svg_(self):  # notebooks
        try:
            import graphviz
            return graphviz.Source(self.source)._repr_image_svg_xml()
        except Exception:
            return None


def plot_network(symbol, title="plot", save_format="pdf", shape=None, dtype=None,
                 node_attrs=None, hide_weights=True):
    """A Graphviz drawing of the graph (ops as boxes, edges labelled with shapes)."""
    nodes, known = _layers(symbol, shape)
    attrs = {"shape": "box", "fixedsize": "false", "style": "filled", "fillcolor": "#8dd3c7"}
    attrs.update(node_attrs or {})
    lines = [f'digraph "{title}" {{', "  rankdir=BT;",
             "  node [" + ", ".join(f'{k}="{v}"' for k, v in attrs.items()) + "];"]
    shown = set()
    for n in nodes:
        if n.kind == "var" and hide_weights and n.name not in (shape or {}) \
                and n.name != "data" and not n.meta.get("input"):
            continue
        shown.add(n.id)
        label = n.name if n.kind != "op" else f"{n.op.name}\\n{n.name}"
        color = "#fb8072" if n.kind == "op" else "#ffffb3"
        lines.append(f'  n{n.id} [label="{label}", fillcolor="{color}"];')
    for n in nodes:
        for i in n.inputs:
            if is_entry(i) and i[0].id in shown and n.id in shown:
                av = known.get((i[0].id, i[1]))
                lab = f' [label="{"x".join(map(str, av.shape))}"]' if av else ""
                lines.append(f"  n{i[0].id} -> n{n.id}{lab};")
    lines.append("}")
    source = "\n".join(lines)
    try:
        import graphviz
        dot = graphviz.Source(source, filename=title, format=save_format)
        dot.source_text = source
        return dot
    except ImportError:
        return Dot(source, title)
