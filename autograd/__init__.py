"""Tape-based automatic differentiation (MXNet's ``autograd`` API).

While ``record()`` is active, each op whose inputs need gradients appends a ``Node`` to the tape
(held by the outputs it produced). ``backward`` walks the nodes in reverse topological order and
calls each op's ``grad`` facet, which is written with registry ops, so the same gradients work
eagerly, for second order (``create_graph=True``), and as nodes of a hybridized backward graph.

Example::

    >>> x = kl.nd.array([1., 2., 3.]); x.attach_grad()
    >>> with kl.autograd.record():
    ...     y = (x * x).sum()
    >>> y.backward(); x.grad
    [2. 4. 6.]
    <NDArray 3 @cpu(0)>
"""

import numpy as np

from ..base import MXNetError, user_frame
from ..ndarray import ops as F
from ..ndarray._registry import STATE
from ..ndarray.ndarray import NDArray, _move, _new

__all__ = ["record", "pause", "train_mode", "predict_mode", "is_recording", "is_training",
           "set_recording", "set_training", "backward", "grad", "mark_variables", "Function",
           "get_symbol", "register_grad_ready_hook"]


# Backward passes that freed their graph so far. A node records the count when it is made
# (``born``) and, when freed, the count after its backward (``freed``; 0 while alive): an input
# whose node was freed before the consumer was recorded is a constant (truncated BPTT, as in
# MXNet 1.9), one freed after it was recorded is an error (its graph is gone).
_FREES = 0


class Node:
    """One recorded op call: what its gradient needs (inputs, attributes, maybe outputs)."""

    __slots__ = ("op", "args", "attrs", "outs", "n_out", "freed", "born", "__weakref__")

    def __init__(self, op, args, attrs, outs):
        self.op, self.args, self.attrs = op, args, attrs
        self.n_out = len(outs)
        keep = len(outs) > 1 or getattr(op, "save_outputs", True)
        self.outs = tuple(o._data for o in outs) if keep else None
        self.freed = 0
        self.born = _FREES

    def output(self, i):
        """A fresh NDArray for output ``i`` that is connected to this node (for create_graph)."""
        a = _new(self.outs[i], self.args_ctx())
        a._node, a._index = self, i
        return a

    def args_ctx(self):
        for a in self.args:
            if isinstance(a, NDArray):
                return a._ctx
        raise MXNetError("node without array inputs")


def _record(op, args, attrs, outs):
    node = Node(op, args, attrs, outs)
    for i, o in enumerate(outs):
        o._node, o._index = node, i


# ---- recording and training scopes ----
def set_recording(is_recording):
    """Set whether ops are recorded; returns the previous value."""
    prev, STATE.recording = STATE.recording, bool(is_recording)
    return prev


def set_training(train_mode):
    """Set training mode (dropout, batch-norm statistics); returns the previous value."""
    prev, STATE.training = STATE.training, bool(train_mode)
    return prev


def is_recording():
    return STATE.recording


def is_training():
    return STATE.training


class _Scope:
    """A ``with`` scope setting recording and/or training (None keeps it), restored on exit.

    A small class rather than a generator context manager: entering and leaving it is part of
    every training step."""

    __slots__ = ("_rec", "_train", "_prev")

    def __init__(self, recording, training):
        self._rec = None if recording is None else bool(recording)
        self._train = None if training is None else bool(training)

    def __enter__(self):
        state = STATE
        self._prev = (state.recording, state.training)
        if self._rec is not None:
            state.recording = self._rec
        if self._train is not None:
            state.training = self._train
        return self

    def __exit__(self, *exc):
        state = STATE
        if self._rec is not None:
            state.recording = self._prev[0]
        if self._train is not None:
            state.training = self._prev[1]
        return False


def record(train_mode=True):
    """Record ops for differentiation inside a ``with`` block (training mode by default)."""
    return _Scope(True, train_mode)


def pause(train_mode=False):
    """Stop recording inside a ``with`` block (predict mode by default)."""
    return _Scope(False, train_mode)


def train_mode():
    """Training mode inside a ``with`` block, recording unchanged."""
    return _Scope(None, True)


def predict_mode():
    """Predict mode inside a ``with`` block, recording unchanged."""
    return _Scope(None, False)


def get_symbol(x):
    """The computation recorded for ``x`` as a Symbol (MXNet's ``autograd.get_symbol``): the
    arrays it started from become variables ``var0``, ``var1``... in the order first met.

    Example::

        >>> with autograd.record():
        ...     y = x * x + 2 * x
        >>> autograd.get_symbol(y).list_arguments()
        ['var0']
    """
    from ..ndarray import _registry as registry
    return registry.tape_symbol(x)


def mark_variables(variables, gradients, grad_reqs="write"):
    """Mark arrays as variables whose gradients go into the given buffers."""
    if isinstance(variables, NDArray):
        variables, gradients = [variables], [gradients]
    if isinstance(grad_reqs, str):
        grad_reqs = [grad_reqs] * len(variables)
    for v, g, req in zip(variables, gradients, grad_reqs):
        v._grad, v._grad_req, v._node = g, (None if req == "null" else req), None
        v._fresh_grad = False


# ---- the backward engine ----
def _key(a):
    """Where an array's gradient accumulates: its tape entry, or the variable itself."""
    if a._node is not None:
        return (id(a._node), a._index)
    return id(a)


def _topo(heads):
    """Nodes reachable from the heads, in an order where each node precedes its inputs' nodes."""
    return _walk(heads)[0]


def _cut(consumer, producer):
    """Whether ``producer``'s output is a constant to ``consumer``: it was freed by a backward
    before ``consumer`` was recorded (an old RNN state fed to the next batch)."""
    return producer.freed and producer.freed <= consumer.born


def _reaches_cut(order):
    return any(isinstance(a, NDArray) and a._node is not None and _cut(n, a._node)
               for n in order for a in n.args)


def _raise_freed():
    raise MXNetError("backward through a graph that has already been freed: pass "
                     f"retain_graph=True to the first backward to run it again (at {user_frame()})")


def _accumulate(grads, key, g):
    prev = grads.get(key)
    grads[key] = g if prev is None else prev + g


def _run_backward(heads, head_grads, create_graph, order=None, raw_variables=False,
                  ready=None):
    """Return ``{key: gradient}`` for every entry and variable reached from the heads.

    With ``raw_variables`` (a plain ``backward``), ops that offer ``grad_data`` (hybridized
    calls) give their variables' gradients as raw arrays: no NDArray is built for them.
    ``ready`` (a ``_Ready``): hooked variables are written and reported as soon as no node
    left can add to their gradient."""
    grads = {}
    get = grads.get
    for h, hg in zip(heads, head_grads):
        if hg is None:
            hg = _new(_ones(h._ctx, h._data.shape, h._data.dtype), h._ctx)
        elif hg._data.dtype != h._data.dtype or hg._ctx != h._ctx:
            hg = _new(_head_data(h, hg), h._ctx)
        _accumulate(grads, _key(h), hg)
    pop = grads.pop
    if order is None:
        order = _topo(heads)
    readers = None  # id(variable) -> how many times the tape reads it (built when needed)
    for node in order if ready is None else ready.walk(order, grads):
        if node.n_out == 1:
            g = pop((id(node), 0), None)
            if g is None:
                continue
            gouts = [g]
        else:
            gouts = [pop((id(node), i), None) for i in range(node.n_out)]
            if all(g is None for g in gouts):
                continue
        op = node.op
        if raw_variables and getattr(op, "grad_data", None) is not None:
            if readers is None:
                readers = _readers(order, heads)
            cb = None if ready is None else ready.callback(node, grads)
            _add_raw_grads(grads, node, _engine_grads_of(node, gouts, readers, cb),
                           () if ready is None else ready.done)
            continue
        if op.grad is None:  # no gradient (sign, argmax, comparisons): zero contribution
            continue
        outs = None
        if node.outs is not None:
            outs = [node.output(i) if create_graph else _new(node.outs[i], node.args_ctx())
                    for i in range(node.n_out)]
            gouts = [F.zeros_like(o) if g is None else g for o, g in zip(outs, gouts)]
        in_grads = op.grad(node.args, outs, gouts, **node.attrs)
        exact = getattr(op, "exact_grad_shapes", False)  # skip the broadcast check
        for a, g in zip(node.args, in_grads):
            if g is None or not isinstance(a, NDArray):
                continue
            if a._node is None:
                if a._grad_req is None:
                    continue
            elif a._node.freed and _cut(node, a._node):
                continue
            if not exact and g.shape != a.shape:
                g = F.sum_to(g, shape=a.shape)
            key = id(a) if a._node is None else (id(a._node), a._index)
            prev = get(key)
            grads[key] = g if prev is None else prev + g
    return grads


_ONES = {}  # (shape, dtype) -> read-only numpy ones: the default head gradient, made once


def _ones(ctx, shape, dtype):
    if ctx.device_type != "cpu":
        return ctx.xp.ones(shape, dtype)
    a = _ONES.get((shape, dtype))
    if a is None:
        if len(_ONES) > 64:
            _ONES.clear()
        a = _ONES[(shape, dtype)] = np.ones(shape, dtype)
        a.flags.writeable = False
    return a


def _add_raw_grads(grads, node, pairs, done=()):
    """Accumulate ``(input position, raw gradient)`` pairs: raw for variables, NDArrays for
    entries that feed further nodes (their ops take NDArray output gradients). Variables in
    ``done`` were written already (gradient-ready hooks)."""
    args = node.args
    for k, r in pairs:
        a = args[k]
        if a._node is None:
            if a._grad_req is None or id(a) in done:
                continue
            key = id(a)
        elif a._node.freed and _cut(node, a._node):
            continue
        else:
            key, r = (id(a._node), a._index), _new(r, a._ctx)
        prev = grads.get(key)
        grads[key] = r if prev is None else prev + r


def _release(node):
    """Drop what a node's gradient needs: its inputs, outputs and (a hybridized call) the
    arrays its forward saved for the backward."""
    node.args = ()
    node.outs = None
    release = getattr(node.op, "release", None)
    if release is not None:
        release()


def _free(order):
    global _FREES
    _FREES += 1
    for node in order:
        node.freed = _FREES
        _release(node)


def _normalize(heads, head_grads):
    if isinstance(heads, NDArray):
        heads = [heads]
    if head_grads is None:
        head_grads = [None] * len(heads)
    elif isinstance(head_grads, NDArray):
        head_grads = [head_grads]
    if len(head_grads) != len(heads):
        raise ValueError(f"{len(heads)} heads but {len(head_grads)} head gradients")
    for h in heads:
        if h._node is None and h._grad_req is None:
            raise MXNetError(
                "cannot differentiate: the head was not computed inside autograd.record() from "
                f"arrays with attach_grad() (at {user_frame()})")
    return list(heads), list(head_grads)


def backward(heads, head_grads=None, retain_graph=False, train_mode=True):
    """Accumulate gradients of ``heads`` into the ``.grad`` of every variable reached."""
    heads, head_grads = _normalize(heads, head_grads)
    if len(heads) == 1 and _chain_backward(heads[0], head_grads[0], retain_graph, train_mode):
        return
    order, variables = _walk(heads)
    if not variables and _reaches_cut(order):
        raise MXNetError(
            "cannot differentiate: the head depends on variables only through arrays whose "
            "graph an earlier backward freed, which are constants now (MXNet 1.9 raises too); "
            f"record the computation from the variables again (at {user_frame()})")
    ready = _Ready.of(variables, head_grads, order) if _READY_HOOKS else None
    with _Scope(False, train_mode):
        grads = _run_backward(heads, head_grads, False, order, raw_variables=True,
                              ready=ready)
    if ready is not None:
        ready.finish_all(variables, grads)
    _write_grads(variables, grads, head_grads, () if ready is None else ready.done)
    if not retain_graph:
        _free(order)


def _chain_backward(head, head_grad, retain_graph, train_mode):
    """The tape of a hybridized training step: a chain of hybridized calls (the network, then
    the loss), each fed by the one before only, with distinct variables. Runs their compiled
    backwards back to back, passing raw arrays; returns False, having done nothing, for any
    other tape (the general engine then runs)."""
    chain, variables, seen = [], [], set()
    node = head._node
    loss = _eager_head(node)
    if loss is not None:   # an eager op on top (a loss): its gradient starts the chain
        node = loss[0]._node
    while node is not None:
        if node.n_out != 1 or node.freed or getattr(node.op, "grad_raw", None) is None:
            return False
        chain.append(node)
        prev = None
        for a in node.args:  # a hybridized call's inputs are all NDArrays
            if a._node is not None and not _cut(node, a._node):
                if prev is not None:
                    return False
                prev = a._node
            elif a._grad_req is not None:
                if id(a) in seen:
                    return False
                seen.add(id(a))
                variables.append(a)
        node = prev
    if not chain:
        return False
    grads = {}
    if loss is None:
        g = _head_data(head, head_grad)
    else:
        try:
            with _Scope(False, train_mode):
                g = _eager_head_grad(head, head_grad, loss)
        except BaseException:
            if not retain_graph:
                _free([head._node, *chain])
            raise
        if not retain_graph:
            _free([head._node])
    ready = _Ready.of(variables, (head_grad,)) if _READY_HOOKS else None
    written = set()  # variables whose gradient was computed right in .grad (hooks: none)
    # (no record/train scope: compiled backwards run raw kernels, their mode fixed when traced)
    try:
        for node in chain:
            args, nxt = node.args, None
            cb = None if ready is None else ready.callback(node, None)
            for k, r in _grads_of(node, args, g, not retain_graph, cb):
                a = args[k]
                if a._node is not None:
                    if not _cut(node, a._node):
                        nxt = r
                elif a._grad_req is not None:
                    if ready is not None:
                        if id(a) in ready.hooks:
                            ready.finish(a, r)  # (done already where the backward reported it)
                        else:
                            grads[id(a)] = r
                    elif r is a._grad._data and a._grad_req == "write" and \
                            type(a._grad) is NDArray:
                        a._fresh_grad = True  # ``_write_one``'s work, in short
                        written.add(id(a))
                    else:
                        grads[id(a)] = r
            g = nxt
            if not retain_graph:  # its inputs and saved arrays die before the next backward
                args = a = None
                _release(node)
            if g is None:  # no gradient flows further back
                break
    except BaseException:
        if not retain_graph:  # a graph partly released is freed: running it again raises
            _free(chain)
        raise
    if ready is not None:
        ready.finish_all(variables, grads)
        _write_grads(variables, grads, () if head_grad is None else (head_grad,), ready.done)
    elif len(written) < len(variables):
        _write_grads(variables, grads, () if head_grad is None else (head_grad,), written)
    if not retain_graph:
        _free(chain)
    return True


def _eager_head(node):
    """``(the recorded input, its position)`` where ``node``, the head's, is an eager op (a
    loss) whose gradient flows to one recorded array only (no variable among its inputs): the
    chain path runs its gradient, then the hybridized calls below; None otherwise."""
    if node is None or node.freed or getattr(node.op, "grad_raw", None) is not None or \
            node.op.grad is None or node.outs is None:
        return None
    found = None
    for k, a in enumerate(node.args):
        if not isinstance(a, NDArray):
            continue
        if a._node is None:
            if a._grad_req is not None:
                return None
        elif found is not None or _cut(node, a._node):
            return None
        else:
            found = (a, k)
    return found


def _eager_head_grad(head, head_grad, loss):
    """The raw gradient that the head's eager op sends to its recorded input (``loss`` from
    ``_eager_head``), computed as the general engine would (``_run_backward``)."""
    node, (a, k) = head._node, loss
    ctx = node.args_ctx()
    raw = node.op.raw_grad
    if raw is not None and head._index == 0 and a._ctx is ctx:
        res = raw(ctx.xp, [getattr(x, "_data", x) for x in node.args], node.outs,
                  _head_data(head, head_grad), **node.attrs)
        if res is not None and (res[k] is None or res[k].shape == a.shape):
            return res[k]
    hg = _new(_head_data(head, head_grad), head._ctx)
    outs = [_new(d, ctx) for d in node.outs]
    # the other outputs' gradients are zeros (raw: no dispatched op for each)
    gouts = [hg if i == head._index else _new(ctx.xp.zeros_like(d), ctx)
             for i, d in enumerate(node.outs)]
    g = node.op.grad(node.args, outs, gouts, **node.attrs)[k]
    if g is not None and not getattr(node.op, "exact_grad_shapes", False) and \
            g.shape != a.shape:
        g = F.sum_to(g, shape=a.shape)
    return None if g is None else _data_on(g, a._ctx)


def _readers(order, heads):
    """How many times the tape reads each variable (a head counts as one more)."""
    count = {}
    for a in [*heads, *(a for node in order for a in node.args)]:
        if isinstance(a, NDArray) and a._node is None and a._grad_req is not None:
            count[id(a)] = count.get(id(a), 0) + 1
    return count


def _engine_grads_of(node, gouts, readers, ready):
    """``(input position, raw gradient)`` pairs of a hybridized call in the general engine
    (a loss computed eagerly, say): as ``_grads_of``, the gradients of variables that only
    this call reads are computed right into their ``.grad`` (with the loss eager, onnxruntime
    would otherwise return them all as new arrays beside the old ones)."""
    g = gouts[0] if len(gouts) == 1 else None
    if g is None or not IN_PLACE_ENGINE:
        return node.op.grad_data(node.args, gouts, ready=ready)
    return _grads_of(node, node.args, g._data, ready=ready,
                     only=lambda a: readers.get(id(a)) == 1)


IN_PLACE_ENGINE = True  # off: the engine's hybridized calls return new arrays (benchmarks)


def _grads_of(node, args, g, last=False, ready=None, only=None):
    """``(input position, raw gradient)`` pairs of a hybridized call in the chain path
    (``ready``: its ``_Ready.callback`` or None); the gradients of variables with grad_req
    'write' whose ``.grad`` array fits (and, ``only`` given, that it accepts) are computed
    right into it (no new array each step), the others (and 'add') are new arrays."""
    op = node.op
    train = op.train
    mask, buffers = [], []
    for k, av in zip(train.grad_pos, train.grad_avals):
        a = args[k]
        buf = a._grad
        if (a._grad_req == "write" and a._node is None and buf._ctx is a._ctx
                and (type(buf) is NDArray or buf.stype == "default")
                and (only is None or only(a))):
            b = buf._data
            # (numpy only for now: the cupy variant awaits a run of tests/test_gpu.py)
            if (type(b) is np.ndarray and b is not g and b.shape == av[0]
                    and b.dtype == av[1] and b.flags.c_contiguous and b.flags.writeable):
                mask.append(True)
                buffers.append(b)
                continue
        mask.append(False)
    kw = {"last": last}
    if ready is not None:
        kw["ready"] = ready
    if True in mask:
        return op.grad_into(args, g, tuple(mask), buffers, **kw)
    return op.grad_raw(args, g, **kw)


def _head_data(head, head_grad):
    """The raw head gradient: ones by default, else the given one in the head's dtype."""
    d = head._data
    if head_grad is None:
        return _ones(head._ctx, d.shape, d.dtype)
    g = _data_on(head_grad, head._ctx)
    return g if g.dtype == d.dtype else g.astype(d.dtype)  # (MXNet: the head's dtype)


def _data_on(a, ctx):
    """``a``'s raw data on ``ctx``: copied over when given on another device (as MXNet's
    executors copy head gradients and gradient buffers)."""
    return a._data if a._ctx is ctx or a._ctx == ctx else _move(a._data, ctx)


def _write_grads(variables, grads, head_grads, done=()):
    """Store each variable's gradient in its ``.grad`` as its grad_req says (but those in
    ``done``: written already, as their gradient-ready hooks asked)."""
    taken = {id(h._data) for h in head_grads if h is not None}
    for v in variables:
        if v._grad_req is not None and id(v) not in done:
            _write_one(v, grads.get(id(v)), taken)


def _write_one(v, g, taken, adopt=True):
    """Store ``g`` (raw, an NDArray or None) in ``v.grad`` as ``v``'s grad_req says.
    ``adopt``: a fresh gradient buffer may become ``.grad``'s data instead of being copied
    (not while the backward still runs: a later node may read the same array)."""
    req, buf = v._grad_req, v._grad
    if type(buf) is not NDArray and buf.stype != "default":  # nd.sparse stores its own
        buf._store_grad(g, req)
        v._fresh_grad = True
        return
    if g is None:  # reached only through ops without gradient: MXNet writes zeros
        if req == "write":
            buf._data[...] = 0
        v._fresh_grad = True
        return
    gd = _data_on(g, buf._ctx) if isinstance(g, NDArray) else g
    if req == "add":
        buf._data += gd
    elif gd is buf._data:
        pass  # computed right in .grad (the compiled backward's out_mask)
    elif adopt and _owned(gd, buf._data, taken):
        buf._data = gd  # a fresh buffer nobody else holds: adopt it, no copy
        taken.add(id(gd))
    else:
        buf._data[...] = gd
    v._fresh_grad = True


def _owned(data, target, taken):
    """Whether a computed gradient buffer can become ``.grad``'s data instead of being copied."""
    # an array without a base owns its memory (numpy and cupy alike); one whose base is no
    # array (onnxruntime's outputs hold their memory through a capsule) is no view either
    base = getattr(data, "base", 0)
    return (id(data) not in taken and (base is None or type(base).__name__ == "PyCapsule")
            and data.shape == target.shape and data.dtype == target.dtype
            and getattr(data.flags, "writeable", True))  # not a shared read-only ones


def _walk(heads):
    """``_topo``'s order plus the variables (leaves with a grad_req) reached, in one pass."""
    order, seen, found, seen_vars, stack = [], set(), [], set(), []
    for h in heads:
        if h._node is not None:
            stack.append((h._node, False))
        elif h._grad_req is not None and id(h) not in seen_vars:
            seen_vars.add(id(h))
            found.append(h)
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.freed:
            _raise_freed()
        stack.append((node, True))
        for a in node.args:
            if isinstance(a, NDArray):
                n = a._node
                if n is not None:
                    if id(n) not in seen and not (n.freed and _cut(node, n)):
                        stack.append((n, False))
                elif a._grad_req is not None and id(a) not in seen_vars:
                    seen_vars.add(id(a))
                    found.append(a)
    order.reverse()
    return order, found


def grad(heads, variables, head_grads=None, retain_graph=None, create_graph=False,
         train_mode=True):
    """Gradients of ``heads`` w.r.t. ``variables``, returned (``.grad`` is left untouched).

    With ``create_graph=True`` the gradient computation is itself recorded, so the results can
    be differentiated again (second order).
    """
    heads, head_grads = _normalize(heads, head_grads)
    single = isinstance(variables, NDArray)
    if single:
        variables = [variables]
    if retain_graph is None:
        retain_graph = create_graph
    order = _topo(heads)
    with _Scope(bool(create_graph), train_mode):
        grads = _run_backward(heads, head_grads, create_graph=bool(create_graph), order=order)
    result = []
    for v in variables:
        g = grads.get(_key(v))
        result.append(F.zeros_like(v.detach()) if g is None else g)
    if not retain_graph:
        _free(order)
    return result[0] if single else result


# gradient-ready hooks (autograd/ready.py) and custom functions (autograd/function.py) use
# the engine above
from .function import Function, _FunctionOp  # noqa: E402,F401
from .ready import _READY_HOOKS, HookHandle, _Ready, register_grad_ready_hook  # noqa: E402,F401
