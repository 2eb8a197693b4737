"""A bind/simple_bind-style executor over a Symbol (MXNet's ``Executor``).

It evaluates the graph through the registry (so autograd records it) and keeps MXNet's
``arg_dict`` / ``grad_dict`` / ``aux_dict`` / ``outputs`` surface.

Example::

    >>> ex = net.simple_bind(kl.cpu(), data=(2, 3))
    >>> ex.forward(is_train=True, data=nd.ones((2, 3)))
    >>> ex.backward(nd.ones_like(ex.outputs[0]))
"""

import numpy as np

from .. import autograd
from ..base import MXNetError
from ..device import as_context
from ..ndarray import ndarray as _nd
from ..ndarray._derived import thaw
from .api import infer_avals, infer_shape_complete
from .evaluate import evaluate
from .graph import is_entry, topo_order

# ops whose output shares its input's memory in MXNet's plan, and ops no gradient passes
_SHARING_OPS = frozenset({"stop_gradient", "BlockGrad", "identity", "_copy"})
_GRAD_BLOCKING_OPS = frozenset({"stop_gradient", "BlockGrad"})


class Executor:
    def __init__(self, sym, ctx, args, args_grad=None, grad_req="write", aux_states=None):
        self._sym, self._ctx = sym, as_context(ctx)
        names, aux_names = sym.list_arguments(), sym.list_auxiliary_states()
        self.arg_dict = _as_dict(args, names, "args")
        self.aux_dict = _as_dict(aux_states or {}, aux_names, "aux_states")
        reqs = grad_req if isinstance(grad_req, dict) else {n: grad_req for n in names}
        if isinstance(grad_req, (list, tuple)):
            reqs = dict(zip(names, grad_req))
        grads = _as_dict(args_grad, names, "args_grad") if args_grad is not None else {}
        self.grad_dict = {}
        for n in names:
            req = reqs.get(n, "null")
            if req == "null":
                continue
            g = grads.get(n)
            if g is None and args_grad is not None:
                continue
            if g is None:
                g = _nd.NDArray(self._ctx.xp.zeros(self.arg_dict[n].shape,
                                                   self.arg_dict[n].dtype), self._ctx)
            self.grad_dict[n] = g
            autograd.mark_variables([self.arg_dict[n]], [g], req)
        self._grad_req = grad_req
        self.outputs = self._bound_outputs()
        self._recorded = []  # the last forward's results as autograd recorded them
        self._monitor = None

    def _bound_outputs(self):
        """Zero arrays of the outputs' shapes when every input's shape is known (MXNet
        allocates the outputs at bind); filled by each ``forward``."""
        shapes = {n: a.shape for n, a in list(self.arg_dict.items()) + list(self.aux_dict.items())}
        try:
            _, out_shapes, _ = infer_shape_complete(self._sym, **shapes)
            _, out_types, _ = self._sym.infer_type(
                **{n: a.dtype for n, a in list(self.arg_dict.items())})
        except Exception:  # noqa: BLE001 - unknown until the first forward, as MXNet's
            return []
        if out_shapes is None or out_types is None:
            return []
        return [_nd.NDArray(self._ctx.xp.zeros(s, t), self._ctx)
                for s, t in zip(out_shapes, out_types)]

    def _into_bound(self, results):
        """The results in the arrays allocated at bind (a reference to ``outputs[k]`` taken
        before ``forward`` sees the values, as in MXNet); new shapes get new arrays."""
        bound = self.outputs
        if len(bound) != len(results) or any(
                b.shape != r.shape or b.dtype != r.dtype for b, r in zip(bound, results)):
            return list(results)
        for b, r in zip(bound, results):
            thaw(b._data)
            b._data[...] = r._data
        return bound

    def debug_str(self):
        """The bound graph, one line per node (MXNet's ``Executor.debug_str``)."""
        lines = ["Symbol Outputs:"] + [f"\toutput[{k}]={n}" for k, n in
                                       enumerate(self._sym.list_outputs())]
        lines.append(f"Total {self._allocated_bytes() >> 20} MB allocated")
        for node in topo_order(self._sym._entries):
            if node.kind == "var":
                lines.append(f"Variable:{node.name}")
            elif node.kind == "op":
                lines.append("-" * 40)
                lines.append(f"Op:{node.op.name}, Name={node.name}")
                lines += ["Inputs:"] + [f"\targ[{k}]={i[0].name}({i[1]})"
                                        for k, i in enumerate(node.inputs) if is_entry(i)]
        return "\n".join(lines)

    def _allocated_bytes(self):
        """Bytes of the graph's intermediate arrays, as MXNet's report counts them. Without
        a gradient to compute: the peak of the op outputs alive at once (each freed after its
        last reader). With one: every forward output is kept for the backward, plus a
        gradient buffer per op output the requested gradients flow back through.
        Identities such as ``stop_gradient`` share their input's memory."""
        arrays = list(self.arg_dict.items()) + list(self.aux_dict.items())
        try:
            avals = infer_avals(self._sym, {n: a.shape for n, a in arrays},
                                {n: a.dtype for n, a in arrays})
        except Exception:  # noqa: BLE001 - unknown shapes: nothing planned yet, as MXNet
            return 0
        nodes = [n for n in topo_order(self._sym._entries)
                 if n.kind == "op" and n.op.name not in _SHARING_OPS]
        size = {n.id: sum(int(np.prod(avals[(n.id, k)].shape)) *
                          np.dtype(avals[(n.id, k)].dtype).itemsize
                          for k in range(n.num_outputs) if (n.id, k) in avals) for n in nodes}
        backward = _gradient_nodes(self._sym._entries, set(self.grad_dict))
        if backward:
            return sum(size.values()) + sum(size.get(i, 0) for i in backward)
        return _liveness_peak(nodes, size, {e[0].id for e in self._sym._entries})

    def reshape(self, partial_shaping=False, allow_up_sizing=False, **kwargs):
        """A new Executor for new input shapes (MXNet's ``Executor.reshape``): arrays whose
        shape stays are shared with this one (parameters, their gradients); others are new.
        An argument not named in ``kwargs`` may change shape only with ``partial_shaping``;
        a grown array needs ``allow_up_sizing``."""
        from .api import bind_avals
        dtypes = {n: a.dtype for n, a in self.arg_dict.items()}
        arg_avals, aux_avals = bind_avals(self._sym, kwargs, dtypes)
        args, grads = {}, {}
        for name, av in zip(self._sym.list_arguments(), arg_avals):
            args[name] = self._reshaped(name, self.arg_dict[name], av, kwargs, partial_shaping,
                                        allow_up_sizing)
            if name in self.grad_dict:
                old = self.grad_dict[name]
                grads[name] = old if args[name] is self.arg_dict[name] else \
                    _nd.NDArray(self._ctx.xp.zeros(av.shape, av.dtype), self._ctx)
        aux = {name: self._reshaped(name, self.aux_dict[name], av, kwargs, partial_shaping,
                                    allow_up_sizing)
               for name, av in zip(self._sym.list_auxiliary_states(), aux_avals)}
        reqs = self._grad_req if isinstance(self._grad_req, str) else dict(
            self._grad_req if isinstance(self._grad_req, dict)
            else zip(self._sym.list_arguments(), self._grad_req))
        if isinstance(reqs, dict):
            reqs = {n: (r if n in grads else "null") for n, r in reqs.items()}
        return Executor(self._sym, self._ctx, args, grads if grads else None, reqs, aux)

    def _reshaped(self, name, old, av, given, partial, up):
        if tuple(old.shape) == tuple(av.shape):
            return old
        if name not in given and not partial:
            raise MXNetError(f"Executor.reshape: the new shape of {name!r} {tuple(av.shape)} "
                             f"differs from {tuple(old.shape)}; pass partial_shaping=True to "
                             "allow it")
        if int(np.prod(av.shape)) > int(np.prod(old.shape)) and not up:
            raise MXNetError(f"Executor.reshape: {name!r} grows from {tuple(old.shape)} to "
                             f"{tuple(av.shape)}; pass allow_up_sizing=True to allow it")
        return _nd.NDArray(self._ctx.xp.zeros(av.shape, av.dtype), self._ctx)

    def get_optimized_symbol(self):
        """The symbol this executor runs (kiln's executor evaluates it as given)."""
        return self._sym

    def set_monitor_callback(self, callback, monitor_all=False):
        """Call ``callback(name, NDArray)`` with every op's outputs during ``forward`` (and its
        inputs too with ``monitor_all``), named as MXNet names them (``fc_output``)."""
        self._monitor = (callback, bool(monitor_all))

    @property
    def arg_arrays(self):
        return [self.arg_dict[n] for n in self._sym.list_arguments()]

    @property
    def grad_arrays(self):
        return [self.grad_dict.get(n) for n in self._sym.list_arguments()]

    @property
    def aux_arrays(self):
        return [self.aux_dict[n] for n in self._sym.list_auxiliary_states()]

    @property
    def output_dict(self):
        return dict(zip(self._sym.list_outputs(), self.outputs))

    def forward(self, is_train=False, **kwargs):
        """Run the graph; ``kwargs`` overwrite argument arrays in place."""
        for k, v in kwargs.items():
            if k not in self.arg_dict:
                raise MXNetError(f"forward(): unknown argument {k!r}")
            self.arg_dict[k][:] = v
        feed = dict(self.arg_dict)
        feed.update(self.aux_dict)
        # Recorded whenever a gradient is wanted: MXNet's executor can run backward after an
        # inference-mode forward (gradients of the inference computation, e.g. BatchNorm with
        # its moving statistics). Without gradients nothing is recorded (cheap forwards).
        scope = (autograd.record(train_mode=bool(is_train)) if self.grad_dict
                 else autograd.pause(train_mode=bool(is_train)))
        with scope:
            self._recorded = evaluate(self._sym._entries, feed, self._monitor)
        self.outputs = self._into_bound(self._recorded)
        return self.outputs

    def backward(self, out_grads=None, is_train=True):
        """Gradients of the last ``forward`` into ``grad_dict`` (``add`` requests accumulate).

        ``out_grads``: one NDArray per output (or one NDArray); extra ones are ignored, as in
        MXNet. May be called again after the same forward.
        """
        if not self.grad_dict:   # every grad_req "null": nothing to compute (MXNet: a no-op)
            return
        if not self._recorded:
            # MXNet runs a backward before any forward on whatever its buffers hold, which
            # equals the true gradient wherever the op's backward reads no forward values
            # (repeat, tile, sums); kiln runs the forward first, correct for every op
            self.forward(is_train=is_train)
        if out_grads is not None and isinstance(out_grads, _nd.NDArray):
            out_grads = [out_grads]
        if out_grads is not None:  # copied to the outputs' device, as MXNet's CopyFromTo
            out_grads = [g.as_in_context(o.context) if isinstance(g, _nd.NDArray) else g
                         for g, o in zip(out_grads, self.outputs)]
        autograd.backward(self._recorded, out_grads, retain_graph=True, train_mode=is_train)


def _as_dict(values, names, what):
    if isinstance(values, dict):   # keys that name no argument are ignored, as MXNet's bind
        return {k: v for k, v in values.items() if k in names}
    values = list(values or [])
    if len(values) != len(names):
        raise MXNetError(f"{what}: expected {len(names)} arrays ({names}), got {len(values)}")
    return dict(zip(names, values))


def bind(self, ctx, args, args_grad=None, grad_req="write", aux_states=None, **_):
    return Executor(self, ctx, args, args_grad, grad_req, aux_states)


def simple_bind(self, ctx, grad_req="write", type_dict=None, **shapes):
    """An Executor with zero-filled arrays: shapes from ``shapes`` (by argument name), dtypes
    from ``type_dict``, else the Variable's ``dtype=``, else inferred (float32 by default)."""
    from .api import bind_avals
    ctx = as_context(ctx)
    arg_avals, aux_avals = bind_avals(self, shapes, dict(type_dict or {}))

    def alloc(av):
        return _nd.NDArray(ctx.xp.zeros(av.shape, av.dtype), ctx)
    args = {n: alloc(av) for n, av in zip(self.list_arguments(), arg_avals)}
    aux = {n: alloc(av) for n, av in zip(self.list_auxiliary_states(), aux_avals)}
    return Executor(self, ctx, args, None, grad_req, aux)


def install(cls):
    cls.bind = bind
    cls.simple_bind = simple_bind


def _gradient_nodes(entries, grad_vars):
    """Ids of the op nodes a gradient flows through from the outputs to a variable in
    ``grad_vars`` (none pass a ``stop_gradient``)."""
    reaches_output, stack = set(), [e[0] for e in entries]
    while stack:   # nodes an output's gradient reaches without crossing a blocking op
        node = stack.pop()
        if node.id in reaches_output:
            continue
        reaches_output.add(node.id)
        if node.kind == "op" and node.op.name not in _GRAD_BLOCKING_OPS:
            stack += [i[0] for i in node.inputs if is_entry(i)]
    from_vars = set()
    for node in topo_order(entries):
        if node.kind == "var":
            if node.name in grad_vars:
                from_vars.add(node.id)
        elif node.op.name not in _GRAD_BLOCKING_OPS and any(
                is_entry(i) and i[0].id in from_vars for i in node.inputs):
            from_vars.add(node.id)
    return from_vars & reaches_output


def _liveness_peak(nodes, size, outputs):
    """The most bytes of op outputs alive at once, each freed after its last reader
    (outputs of the graph live to the end)."""
    last = {}
    for step, node in enumerate(nodes):
        for i in node.inputs:
            if is_entry(i):
                last[i[0].id] = step
    live, peak = {}, 0
    for step, node in enumerate(nodes):
        live[node.id] = size[node.id]
        peak = max(peak, sum(live.values()))
        for nid in [n for n, s in last.items() if s == step]:
            if nid not in outputs:
                live.pop(nid, None)
    return peak
