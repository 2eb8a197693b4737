"""Network visualization (MXNet's ``mx.viz``): a printed summary and a Graphviz drawing.

Example::

    >>> net = sym.FullyConnected(sym.var("data"), num_hidden=10, name="fc")
    >>> kl.viz.print_summary(net, shape={"data": (1, 5)})      # prints a table
    >>> dot = kl.viz.plot_network(net, shape={"data": (1, 5)})
    >>> print(dot.source[:7])
    digraph
"""
import json

import numpy as np

from ..symbol.api import infer_avals, infer_shape_complete
from ..symbol.graph import is_entry, topo_order
from ..symbol.op_names import export_name


def _layers(symbol, shape):
    known = infer_avals(symbol, shape or {}, partial=True) if shape else {}
    return topo_order(symbol._entries), known


def _shape_dict(symbol, shape):
    """Output name (``conv1_output``, ``data``) -> shape, as MXNet's summary looks them up."""
    internals = symbol.get_internals()
    _, out_shapes, _ = infer_shape_complete(internals, **shape)
    return dict(zip(internals.list_outputs(), out_shapes))


def _attr_true(attrs, key):
    return str(attrs.get(key, "False")) in ("True", "true", "1")


def _layer_params(node, pre_filter, shapes):
    """MXNet's summary count: formulas for Convolution, FullyConnected, BatchNorm and
    Embedding from the attributes and the channels of the inputs (``pre_filter``); 0 otherwise.
    (For a FullyConnected after a 4-D layer this counts channels, not features, as MXNet does.)"""
    op, attrs = node["op"], node.get("attrs", {})
    if op == "Convolution":
        kernel = [int(k) for k in str(attrs["kernel"]).strip("()[] ").split(",") if k.strip()]
        count = pre_filter * int(attrs["num_filter"]) // int(attrs.get("num_group", 1))
        count *= int(np.prod(kernel))
        return count + (0 if _attr_true(attrs, "no_bias") else int(attrs["num_filter"]))
    if op == "FullyConnected":
        return (pre_filter + (0 if _attr_true(attrs, "no_bias") else 1)) * int(attrs["num_hidden"])
    if op == "BatchNorm" and shapes is not None:
        return 2 * int(shapes[node["name"] + "_output"][1])
    if op == "Embedding":
        return int(attrs["input_dim"]) * int(attrs["output_dim"])
    return 0


def print_summary(symbol, shape=None, line_length=120, positions=(.44, .64, .74, 1.)):
    """Print MXNet 1.x's layer table: each op with its output shape (batch axis dropped), its
    parameter count and the layers feeding it; with ``shape`` (input name -> shape) shapes
    and channel-dependent counts are filled in. The layout and the counts are MXNet's.

    Example::

        >>> kl.viz.print_summary(sym.FullyConnected(sym.var("data"), num_hidden=4, name="fc"),
        ...                      shape={"data": (2, 3)})      # fc(FullyConnected) 4 16 data
    """
    shapes = _shape_dict(symbol, shape) if shape is not None else None
    conf = json.loads(symbol.tojson())
    nodes = conf["nodes"]
    heads = set(conf["heads"][0])  # MXNet reads the first head's [node, index, version]
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]

    def row(fields):
        line = ""
        for field, end in zip(fields, positions):
            line = (line + str(field))[:end]
            line += " " * (end - len(line))
        print(line)

    def shape_of(node, as_input):
        key = node["name"] + "_output" if node["op"] != "null" else node["name"]
        return shapes[key][1:] if shapes is not None and key in shapes else None

    print("_" * line_length)
    row(["Layer (type)", "Output Shape", "Param #", "Previous Layer"])
    print("=" * line_length)
    total = 0
    for i, node in enumerate(nodes):
        if node["op"] == "null" and i > 0:
            continue
        previous, pre_filter = [], 0
        if node["op"] != "null":
            for item in node["inputs"]:
                src = nodes[item[0]]
                if src["op"] != "null" or item[0] in heads:
                    previous.append(src["name"])
                    dims = shape_of(src, True)
                    if dims:
                        pre_filter += int(dims[0])
        out = shape_of(node, False) if (node["op"] != "null" or i in heads) else None
        params = _layer_params(node, pre_filter, shapes)
        total += params
        row([f"{node['name']}({node['op']})", "x".join(str(d) for d in out or ()), params,
             previous[0] if previous else ""])
        for name in previous[1:]:
            row(["", "", "", name])
        print("=" * line_length if i == len(nodes) - 1 else "_" * line_length)
    print(f"Total params: {total}")
    print("_" * line_length)


def _param_count(node, known):
    total = 0
    for i in node.inputs:
        if is_entry(i) and i[0].kind == "var" and not i[0].meta.get("input") \
                and i[0].name != "data":
            av = known.get((i[0].id, 0))
            if av is not None:
                total += int(np.prod(av.shape))
    return total


def summary_table(symbol, shape=None, line_length=100):
    """kiln's own summary (``kiln summary``): full output shapes and exact parameter counts
    from the parameters' shapes (print_summary keeps MXNet's approximate formulas)."""
    nodes, known = _layers(symbol, shape)
    widths = [int(line_length * p) for p in (.44, .64, .74, 1.)]

    def row(fields):
        line = ""
        for f, end in zip(fields, widths):
            line = (line + str(f))[:end].ljust(end)
        return line.rstrip()
    lines = ["_" * line_length, row(["Layer (type)", "Output Shape", "Param #", "Inputs"]),
             "=" * line_length]
    total = 0
    for n in nodes:
        if n.kind != "op":
            continue
        av = known.get((n.id, 0))
        params = _param_count(n, known)
        total += params
        prev = [i[0].name for i in n.inputs if is_entry(i) and i[0].kind == "op"]
        lines.append(row([f"{n.name}({export_name(n)[0]})",
                          "x".join(map(str, av.shape)) if av else "?", params, ", ".join(prev)]))
    lines += ["=" * line_length, f"Total params: {total}"]
    return "\n".join(lines)


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
