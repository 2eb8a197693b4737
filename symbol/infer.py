"""Shape and dtype inference over a graph: ``infer_avals`` (the avals of every entry from the
variables' shapes), as MXNet's ``infer_shape`` runs it: passes in graph order until nothing new
is learnt, parameter shapes learnt backwards from an op's data (its ``param_shapes`` facet),
an operand of an elementwise op from the other one, a control-flow node's inputs from its
subgraphs (its ``learn_input_avals`` facet), and the 0 dims of creation ops (unknown in MXNet
1.x) from the ops that consume them (``open_shapes``).

Example::

    >>> y = sym.FullyConnected(sym.var("data"), num_hidden=4, name="fc")
    >>> known = infer_avals(y, {"data": (2, 3)})   # {(node id, output): Aval}
"""
import math

import numpy as np

from ..base import MXNetError, OpError
from ..ndarray._registry import Aval, param_shapes
from ..util import is_np_shape
from .graph import is_entry, topo_order


def has_open_shape(node):
    """Whether ``node`` creates an array whose ``shape`` attribute has 0s: unknown dims in
    MXNet 1.x (an rnn cell's begin state ``zeros((0, hidden))``), learnt from the ops that
    consume it (``api.open_shapes``); under ``np_shape`` a 0 is a real zero-size dim."""
    if node.kind != "op" or any(is_entry(i) for i in node.inputs):
        return False
    shape = node.attrs.get("shape")
    return isinstance(shape, (tuple, list)) and 0 in shape and not is_np_shape()



def _param_dtype(op_name, attrs, data_dtype):
    """Default dtype of an op's parameter inputs (MXNet's type inference): the data's, except
    float32 statistics for float16 BatchNorm and the ``dtype`` attribute for Embedding."""
    if op_name == "embedding":
        return np.dtype(attrs.get("dtype", np.float32))
    if data_dtype is None or (op_name == "batch_norm" and data_dtype == np.float16):
        return np.dtype(np.float32)
    return np.dtype(data_dtype)


def _var_dtype(var, dtypes, default=np.float32):
    """A variable's dtype: ``type_dict`` first, then its ``dtype=``, then ``default``."""
    return np.dtype(dtypes.get(var.name) or (var.meta or {}).get("dtype") or default)


def infer_avals(sym, shapes, dtypes=None, partial=False, unknown_dims=False, alike=False):
    """Avals of every entry: ``{(node_id, i): Aval}`` from variable shapes (and dtypes).

    ``unknown_dims`` (``infer_shape_partial``): a 0 in a given shape is an unknown dimension,
    carried through the ops that can; an op that cannot leaves its outputs unknown.
    ``alike`` (the public inference and ``simple_bind``): when shapes stay unknown, a variable
    operand of an op whose operands may share one shape takes a known operand's (MXNet's
    ``elemwise_add(a, b)`` gives ``b`` the shape of ``a``); never a guess where the given
    shapes decide everything."""
    dtypes = dtypes or {}
    nodes = topo_order(sym._entries)
    opened = _resolve_open(nodes, shapes, dtypes, unknown_dims, alike)
    var_shape = dict(shapes)
    known, complete = _infer_loop(nodes, var_shape, dtypes, unknown_dims, alike, opened)
    if not partial and not complete:   # raises, naming the node
        _infer_pass(nodes, var_shape, dtypes, False, unknown_dims, opened=opened)
    return known


def _infer_loop(nodes, var_shape, dtypes, unknown_dims, alike, opened):
    """``(known avals, complete)``: passes until nothing new is learnt. A variable's shape may
    be learnt from an op later in the order than a consumer that needs it
    (``abs(fc_weight) + sum(fc(data))``): MXNet's inference repeats too."""
    outs = [(n.id, k) for n in nodes if n.kind == "op" for k in range(n.num_outputs)]
    count, fill = -1, False
    while True:
        known = _infer_pass(nodes, var_shape, dtypes, True, unknown_dims, fill, opened)
        complete = all(e in known for e in outs)
        if complete or (len(known) == count and (fill or not alike)):
            return known, complete
        fill = fill or (alike and len(known) == count)
        count = len(known)


class _Opened:
    """Shapes of creation ops whose ``shape`` has 0s (see :func:`open_shapes`): while
    ``probing``, each 0 stands as a distinct probe number that consumers may decide."""

    def __init__(self, shapes, probes=()):
        self.shapes, self.probes, self.learnt = shapes, frozenset(probes), {}

    def learn(self, have, want):
        """Probe dims of ``have`` that the concrete ``want`` (same rank) decides."""
        if have is None or want is None or len(have) != len(want):
            return
        for h, w in zip(have, want):
            if h in self.probes and w not in self.probes and int(w) > 0:
                self.learnt.setdefault(h, int(w))

    def learn_alike(self, avals):
        """Probe dims of operands that must share one shape, from the concrete operands."""
        ranks = [a for a in avals if a is not None]
        for a in ranks:
            want = [max((int(b.shape[k]) for b in ranks if len(b.shape) == len(a.shape)
                         and b.shape[k] not in self.probes), default=0)
                    for k in range(len(a.shape))]
            self.learn(tuple(a.shape), want)


_PROBE0 = 1_000_003   # (odd numbers from here: dims no real graph has)


def open_shapes(nodes, shapes, dtypes=None):
    """``{node id: shape}`` for the creation ops among ``nodes`` whose ``shape`` has 0s (MXNet
    1.x reads a 0 there as unknown: an rnn cell's begin state ``zeros((0, hidden))``), each
    learnt from the ops that consume it (an elementwise op's other operand, the state an RNN
    op expects) given the variables' ``shapes``. Only the ones fully decided are returned."""
    found = [n for n in nodes if has_open_shape(n)]
    if not found:
        return {}
    taken, probe, stand_in = {int(d) for s in shapes.values() for d in s}, _PROBE0, {}
    for n in found:
        dims = []
        for d in n.attrs["shape"]:
            while int(d) == 0 and probe in taken:
                probe += 2
            dims.append(probe if int(d) == 0 else int(d))
            probe += 2 if int(d) == 0 else 0
        stand_in[n.id] = tuple(dims)
    opened = _Opened(stand_in, {d for s in stand_in.values() for d in s if d >= _PROBE0})
    for _ in found:   # each round decides some probes, or nothing more can be learnt
        opened.learnt = {}
        _infer_loop(nodes, dict(shapes), dtypes or {}, False, True, opened)
        if not opened.learnt:
            break
        opened.shapes = {k: tuple(opened.learnt.get(d, d) for d in s)
                         for k, s in opened.shapes.items()}
    return {k: s for k, s in opened.shapes.items() if not opened.probes.intersection(s)}


def _resolve_open(nodes, shapes, dtypes, unknown_dims, alike):
    settled = {} if unknown_dims else open_shapes(nodes, shapes, dtypes)
    return _Opened(settled) if settled else None


def _infer_pass(nodes, var_shape, dtypes, partial, unknown_dims, fill=False, opened=None):
    """One walk in graph order; learnt parameter shapes are added to ``var_shape``."""
    known = {}
    for node in nodes:
        if node.kind == "op":
            data = node.inputs[0] if node.inputs else None
            dav = known.get((data[0].id, data[1])) if is_entry(data) else None
            attrs = _attrs(node)
            # MXNet's backward inference: parameter shapes from the data's (the op's facet)
            shapes = param_shapes(node.op, dav.shape, **attrs) if dav else {}
            for k, name in enumerate(n.lstrip("*").rstrip("?") for n in node.op.inputs):
                shp = shapes.get(name)
                if shp is not None and k < len(node.inputs) and is_entry(node.inputs[k]) \
                        and opened is not None and opened.probes:
                    have = known.get((node.inputs[k][0].id, node.inputs[k][1]))
                    opened.learn(have and tuple(have.shape), shp)
                if shp is not None and k < len(node.inputs) and is_entry(node.inputs[k]):
                    var = _through_elementwise(node.inputs[k][0], shp)
                    if var.kind == "var" and var.name not in var_shape:
                        var_shape[var.name] = shp
                        # a variable behind a cast has its own dtype, not the op's
                        dt = (_param_dtype(node.op.name, attrs, dav.dtype if dav else None)
                              if var is node.inputs[k][0] else np.float32)
                        known[(var.id, 0)] = Aval(shp, _var_dtype(var, dtypes, dt))
            if getattr(node.op, "learn_input_avals", None) is not None:
                _learn_inputs(node, known, var_shape, dtypes)
            alike = getattr(node.op.infer, "operands_alike", False)
            if alike and opened is not None and opened.probes:
                opened.learn_alike([known.get((i[0].id, i[1])) for i in node.inputs
                                    if is_entry(i)])
            if fill and alike:
                _fill_alike_operands(node, known, var_shape, dtypes)
            _infer_node(node, known, partial, unknown_dims, opened)
        elif node.kind == "var":
            shp = var_shape.get(node.name) or (node.meta or {}).get("shape")
            if unknown_dims and shp is not None and unknown_dim() == -1:
                shp = tuple(0 if int(s) == -1 else s for s in shp)   # carried inside as 0
            # 0 marks an unknown dimension (MXNet): partial inference carries it through
            if shp is not None and all(int(s) > 0 or (unknown_dims and int(s) == 0)
                                       for s in shp):
                known[(node.id, 0)] = Aval(tuple(int(s) for s in shp),
                                           _var_dtype(node, dtypes))
        else:
            known[(node.id, 0)] = Aval(node.value.shape, node.value.dtype)
    return known


def _learn_inputs(node, known, var_shape, dtypes):
    """Variables feeding a control-flow node that its subgraphs give a shape (a loop state
    that the body's ops decide, a weight the body reads), as MXNet infers them backwards."""
    ins = [known.get((i[0].id, i[1])) for i in node.inputs]
    if None not in ins:
        return
    learnt = node.op.learn_input_avals(ins, **node.attrs)
    for entry, before, after in zip(node.inputs, ins, learnt):
        if before is None and after is not None:
            var = _through_elementwise(entry[0], tuple(after.shape))
            if var.kind == "var" and var.name not in var_shape:
                var_shape[var.name] = tuple(after.shape)
                known[(var.id, 0)] = Aval(tuple(after.shape),
                                          _var_dtype(var, dtypes, after.dtype))


def _through_elementwise(node, shape):
    """The node a parameter shape flows back to: through ops that keep their one array
    operand's shape (``cast(weight)`` fed to a Convolution gives ``weight`` the kernel's
    shape, as MXNet's backward inference does); ``node`` itself if it is no such op."""
    while node.kind == "op" and node.num_outputs == 1:
        ins = [i for i in node.inputs if is_entry(i)]
        if len(ins) != 1 or not _keeps_shape(node, shape):
            break
        node = ins[0][0]
    return node


def _keeps_shape(node, shape):
    """Whether ``node``'s op maps its operand's shape to itself, for ``shape`` and for an
    unrelated probe shape (a reshape or transpose that happens to fix ``shape`` is no
    elementwise op)."""
    attrs = dict(node.attrs)
    if node.op.uses_mode:
        attrs.setdefault("_train", False)
    args = [i for i in node.inputs if not is_entry(i)]
    for probe in (tuple(shape), (2, 3, 5)):
        try:
            out = node.op.infer(Aval(probe, np.dtype(np.float32)), *args, **attrs)
        except Exception:   # an op that refuses the probe is not elementwise
            return False
        if not isinstance(out, Aval) or tuple(out.shape) != probe:
            return False
    return True


def _fill_alike_operands(node, known, var_shape, dtypes):
    """Variables of unknown shape among the operands of an op whose operands may share one
    shape (its infer rule says ``operands_alike``) take the first known operand's shape; an
    operand made by a ``keeps_size`` op (reshape) from a variable given with one unknown (0)
    dimension gives that variable its full shape."""
    ins = [i for i in node.inputs if is_entry(i)]
    first = next((known[(i[0].id, i[1])] for i in ins if (i[0].id, i[1]) in known), None)
    if first is None:
        return
    shape = tuple(first.shape)
    for var, k in ins:
        if var.kind == "op" and (var.id, k) not in known:
            _size_back(var, shape, var_shape)
        if var.kind == "var" and (var.id, 0) not in known and var.name not in var_shape:
            var_shape[var.name] = shape
            known[(var.id, 0)] = Aval(shape, _var_dtype(var, dtypes))
    if node.num_outputs == 1 and any((i[0].id, i[1]) not in known for i in ins):
        # an operand made by an op stays unknown: the output still has the known one's shape
        known[(node.id, 0)] = Aval(shape, np.dtype(first.dtype))


def unknown_dim():
    """MXNet's marker of an unknown dimension: -1 under ``np_shape``, else 0."""
    return -1 if is_np_shape() else 0


def _size_back(node, out_shape, var_shape):
    """Backward inference through a ``keeps_size`` op: its variable input given with a single
    0 (unknown) dimension gets it from the output's size, when the op then gives ``out_shape``."""
    data = node.inputs[0] if node.inputs else None
    if not (node.op.keeps_size and is_entry(data) and data[0].kind == "var"):
        return
    given = var_shape.get(data[0].name) or (data[0].meta or {}).get("shape")
    unknown = unknown_dim()
    if given is None or [int(d) for d in given].count(unknown) != 1:
        return
    rest = math.prod(int(d) for d in given if int(d) != unknown)
    total = math.prod(int(d) for d in out_shape)
    if rest <= 0 or total % rest:
        return
    full = tuple(total // rest if int(d) == unknown else int(d) for d in given)
    try:
        out = node.op.infer(Aval(full, np.dtype(np.float32)), **_attrs(node))
    except Exception:   # noqa: BLE001 - the op refuses the filled shape: nothing learnt
        return
    if isinstance(out, Aval) and tuple(out.shape) == tuple(out_shape):
        var_shape[data[0].name] = full


def _attrs(node):
    return {k: v for k, v in node.attrs.items() if not k.startswith("_")}


def _infer_node(node, known, partial, unknown_dims=False, opened=None):
    ins = []
    for i in node.inputs:
        if is_entry(i):
            av = known.get((i[0].id, i[1]))
            if av is None:
                if partial:
                    return
                raise MXNetError(f"cannot infer the shape of {node.name}: input "
                                 f"{i[0].name} has unknown shape")
            ins.append(av)
        else:
            ins.append(i)
    attrs = dict(node.attrs)
    if node.op.uses_mode:
        attrs.setdefault("_train", False)
    if opened is not None and node.id in opened.shapes:
        attrs["shape"] = opened.shapes[node.id]
    try:
        out = node.op.infer(*ins, **attrs)
    except Exception as e:
        if opened is not None and opened.probes:
            return   # a probe this op cannot take yet: its outputs stay unknown this round
        if unknown_dims and any(0 in tuple(a.shape) for a in ins if isinstance(a, Aval)):
            return  # an unknown (0) dimension this op cannot carry: its outputs stay unknown
        raise OpError(f"{node.op.name} ({node.name}): {e}") from e
    outs = [out] if isinstance(out, Aval) else list(out)
    for k, av in enumerate(outs):
        known[(node.id, k)] = av
