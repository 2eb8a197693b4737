"""Cached compiled graphs for hybridized blocks, with a compiled backward on the autograd tape.

``CachedGraph(block)`` is called with the block's inputs. It keys its cache on everything that
can change the graph (input structure including None positions, shapes, dtypes, device, training
mode), traces the block's ``forward`` on a miss, optimizes and compiles it. While autograd
records, one tape node stands for the whole call; its gradient runs the symbolically
differentiated graph, compiled the same way.

The cache is per block and bounded: at most ``MAX_GRAPHS`` graphs (8, as torch.compile's
``cache_size_limit``; ``hybridize(max_graphs=n)`` per block), least recently used out first.
Retracing warns, naming the block and what changed, on the 6th trace and on the first
eviction. A block whose structure changes (a child added or replaced, a cast) drops its own
cache and its ancestors' (nn/block.py); nothing else invalidates it, so blocks created or
changed elsewhere never make a hybridized network retrace.

Each graph is compiled by kiln's numpy code generator, or by the executor in the block's flags
(``flags["executor"]``: ``hybridize(backend='onnxruntime')`` puts export/ort_executor.py's
there, which symbol/ never imports), through ``GraphEntry.compile``.
"""
import hashlib
import sys
import threading
import warnings
import weakref
from collections import OrderedDict

import numpy as np

from ..base import _is_internal
from ..ndarray import _registry
from ..ndarray._derived import mark
from ..ndarray._registry import STATE, Aval
from ..ndarray.ndarray import NDArray, _new
from ..ndarray.ops.fused import donating
from . import compile_cache, fastpath, passes
from .autodiff import backward_graph
from .codegen import compile_graph
from .graph import Node, is_entry, topo_order
from .remat import rematerialize
from .symbol import Symbol
from .symbolic import _block_prefixes
from .trace import Tracer, const_entry, tracing

RETRACE_WARN = 5
MAX_GRAPHS = 8  # compiled graphs kept per hybridized block (hybridize(max_graphs=...) overrides)
PARAM_DATA_VERSION = [0]  # bumped when a Parameter replaces its arrays (nn/parameter.py)
# bumped when parameter values may change in place: set_data/load_parameters, a training
# forward or backward (a step follows); executors that bake parameters into a compiled graph
# (onnxruntime's inference sessions) rebuild when it moves
PARAM_WRITE_VERSION = [0]


def flatten(obj, leaves):
    """Append the leaves of a nested list/tuple to ``leaves``; return its structure."""
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, tuple(flatten(o, leaves) for o in obj))
    leaves.append(obj)
    return "*"


def unflatten(tree, it):
    if tree == "*":
        return next(it)
    kind, items = tree
    vals = [unflatten(t, it) for t in items]
    return vals if kind == "list" else tuple(vals)


def _leaf_key(x):
    if isinstance(x, NDArray):
        return (x.shape, x._data.dtype.str)
    if x is None or isinstance(x, (int, float, bool, str)):
        return ("lit", x)
    raise TypeError(f"hybridized blocks take NDArrays, None and numbers as inputs, got "
                    f"{type(x).__name__}")


class CachedGraph:
    """The per-block cache of compiled graphs (one entry per call signature).

    At most ``max_graphs`` graphs are kept (the ``hybridize`` flag, else ``MAX_GRAPHS``); a new
    signature beyond that evicts the least recently used one, with a warning the first time.
    The cache belongs to its block alone: the block drops it when its structure changes
    (``HybridBlock._clear_cached_op``, which also clears the blocks that contain it).
    """

    def __init__(self, block, flags=None, owned=False):
        # ``owned``: the block keeps this cache (``block._cached_op``), so refer to it weakly:
        # a strong link back would make a cycle that keeps the last call's inputs (and their
        # gradients) alive until the cyclic collector runs, after the block itself is dropped.
        # A cache made around a temporary block (tests, export) holds it strongly.
        self.block = weakref.proxy(block) if owned else block
        self.flags = dict(flags or {})
        self.entries = OrderedDict()  # signature -> GraphEntry, least recently used first
        self.fast = {}  # a second index into the same entries, for arrays-only calls
        self.trace_count = 0
        self.evictions = 0
        self._mru = None  # the entry used last: a hit on it leaves the LRU order alone
        self._lock = threading.RLock()  # held while tracing and changing the cache

    def clear(self):
        with self._lock:
            self.entries.clear()
            self.fast.clear()
            self._mru = None

    def prepare(self, *args):
        """Trace and compile the graph for this call signature without running it."""
        self._entry(args)

    def __call__(self, *args):
        # the common call (arrays only, no nesting) keys on the arrays directly; the mixed-
        # precision policy (kiln.amp) is part of every key: its casts are traced into the graph
        key = [STATE.training, _registry._amp]
        for a in args:
            if not isinstance(a, NDArray):
                break
            key.append(a._data.shape)
            key.append(a._data.dtype)
        else:
            if args:
                key.append(args[0]._ctx)
                key = tuple(key)
                entry = self.fast.get(key)
                if entry is None or (entry.param_version != PARAM_DATA_VERSION[0]
                                     and not entry.params_match()):
                    entry, _ = self._entry(args, key)
                elif entry is not self._mru:
                    self._touch(entry)
                return entry.run(args)
        entry, leaves = self._entry(args)
        return entry.run(leaves)

    def _entry(self, args, fast_key=None):
        leaves = []
        tree = flatten(args, leaves)
        ctx = next((x._ctx for x in leaves if isinstance(x, NDArray)), None)
        key = (tree, tuple(_leaf_key(x) for x in leaves), ctx, STATE.training, _registry._amp)
        entry = self.entries.get(key)
        if entry is None or not entry.params_match() or fast_key is not None:
            with self._lock:  # one trace per signature when threads miss together
                entry = self.entries.get(key)
                if entry is None or not entry.params_match():
                    change = _describe_change(self._mru, key, entry)
                    entry = self._add(key, self._trace(args, leaves, ctx, change=change),
                                      change)
                if fast_key is not None:
                    self.fast[fast_key] = entry
                    entry.fast_keys.append(fast_key)
        if entry is not self._mru:
            self._touch(entry)
        return entry, leaves

    def _touch(self, entry):
        """Mark ``entry`` most recently used."""
        try:
            self.entries.move_to_end(entry.key)
        except KeyError:  # evicted meanwhile by another thread: it still runs this call
            pass
        self._mru = entry

    def _add(self, key, entry, change):
        """Insert a new graph, evicting the least recently used ones beyond the limit."""
        old = self.entries.pop(key, None)
        if old is not None:  # replaced: its parameters changed shape or dtype
            self._forget(old)
        limit = self.flags.get("max_graphs") or MAX_GRAPHS
        while self.entries and len(self.entries) >= limit:
            _, victim = self.entries.popitem(last=False)
            self._forget(victim)
            self.evictions += 1
            if self.evictions == 1:
                warnings.warn(f"{self._who()} keeps at most {limit} compiled graphs "
                              f"(hybridize(max_graphs=...), kiln.symbol.cached.MAX_GRAPHS): a "
                              f"new call signature ({change}) evicted the least recently used "
                              "one, which is traced again if called again",
                              stacklevel=_user_stacklevel())
        entry.key = key
        self.entries[key] = entry
        return entry

    def _forget(self, entry):
        for k in entry.fast_keys:
            if self.fast.get(k) is entry:
                del self.fast[k]
        if self._mru is entry:
            self._mru = None

    def _who(self):
        return f"{self.block.__class__.__name__} block {self.block.name!r}"

    def inference_entry(self):
        """A predict-mode graph for the last call signature (what ``export`` writes)."""
        args = self.last_args
        from .. import autograd
        with autograd.predict_mode():
            leaves = []
            flatten(args, leaves)
            return self._trace(args, leaves, self.last_ctx, count=False)

    def _trace(self, args, leaves, ctx, count=True, change=None):
        from ..device import current_context
        ctx = ctx or current_context()
        self.last_args, self.last_ctx = args, ctx
        self.trace_count += count
        if self.trace_count == RETRACE_WARN + 1:
            warnings.warn(f"{self._who()} has been traced {self.trace_count} times (input "
                          f"shapes, dtypes or modes keep changing; this time: {change}); each "
                          "new signature costs a trace and a compile",
                          stacklevel=_user_stacklevel())
        tracer = Tracer(ctx, STATE.training)
        tracer.paths = _block_paths(self.block)
        prefixes = _block_prefixes(self.block)
        tracer.mx_prefixes = {path: prefixes.get(i) for i, path in tracer.paths.items()}
        tracer.mx_scopes = [(getattr(self.block, "prefix", ""), {})]
        sym_leaves = [tracer.input(f"data{k}", Aval(x.shape, np.dtype(x.dtype)), like=x)
                      if isinstance(x, NDArray) else x for k, x in enumerate(leaves)]
        sym_args = unflatten(flatten(args, []), iter(sym_leaves))
        with tracing(tracer):
            out = self.block._traced_forward(*sym_args)
        return GraphEntry(self.block, tracer, leaves, out, ctx, self.flags)


def _describe_change(last, key, stale=None):
    """What differs between call signature ``key`` and the last used graph's (for warnings)."""
    if stale is not None:
        return "parameter shapes or dtypes changed"
    if last is None or last.key is None:
        return "first call since the cache was cleared"
    (otree, oleaves, octx, otrain, oamp), (tree, leaves, ctx, train, amp) = last.key, key
    changes = []
    if otrain != train:
        changes.append(f"training mode {otrain} -> {train}")
    if oamp is not amp:
        changes.append("mixed precision (kiln.amp) " + ("on" if amp is not None else "off"))
    if octx != ctx:
        changes.append(f"device {octx} -> {ctx}")
    if otree != tree:
        changes.append("input structure (count, nesting or None positions)")
    else:
        for k, (a, b) in enumerate(zip(oleaves, leaves)):
            if a == b:
                continue
            if a[0] == "lit" or b[0] == "lit":
                changes.append(f"input {k} {_leaf_str(a)} -> {_leaf_str(b)}")
                continue
            if a[0] != b[0]:
                changes.append(f"input {k} shape {a[0]} -> {b[0]}")
            if a[1] != b[1]:
                changes.append(f"input {k} dtype {np.dtype(a[1]).name} -> "
                               f"{np.dtype(b[1]).name}")
    return ", ".join(changes)


def _leaf_str(leaf):
    if leaf[0] == "lit":
        return repr(leaf[1])
    return f"array {leaf[0]} {np.dtype(leaf[1]).name}"


def _user_stacklevel():
    """``warnings.warn``'s stacklevel for the innermost frame outside kiln (the user's line),
    counted from the function that calls this one."""
    f, level = sys._getframe(1), 1
    while f is not None and (_is_internal(f.f_code.co_filename)
                             or "contextlib" in f.f_code.co_filename):
        f, level = f.f_back, level + 1
    return level


def _block_paths(root):
    """Map id(block) -> structural path ('features.0') for every block under ``root``."""
    return {id(blk): path for blk, path in _walk_blocks(root)}


def _walk_blocks(root):
    """``(block, structural path)`` for ``root`` and every block under it, each once."""
    seen, stack = {id(root)}, [(root, "")]
    while stack:
        blk, path = stack.pop()
        yield blk, path
        for name, child in getattr(blk, "_children", {}).items():
            child = child() if callable(child) and not hasattr(child, "forward") else child
            if id(child) not in seen:
                seen.add(id(child))
                stack.append((child, f"{path}.{name}" if path else str(name)))


def _checkpoint_paths(root):
    """Paths of the blocks under ``root`` marked by ``HybridBlock.checkpoint()``."""
    return {path for blk, path in _walk_blocks(root) if getattr(blk, "_checkpointed", False)}


class GraphEntry:
    """One traced signature: the graph, its compiled forward, and (lazily) its backward."""

    def __init__(self, block, tracer, leaves, out, ctx, flags):
        self.ctx, self.flags = ctx, flags
        self.xp = ctx.xp
        self.input_pos = [k for k, x in enumerate(leaves) if isinstance(x, NDArray)]
        self.has_literals = len(self.input_pos) != len(leaves)
        self.param_version, self.slots, self.param_arrays = PARAM_DATA_VERSION[0], None, None
        self.key, self.fast_keys = None, []  # its keys in the CachedGraph's two indexes
        self.input_entries = [(n, 0) for n in tracer.inputs]
        self.params = [p for p, _ in tracer.params.values()]
        self.param_entries = [s._entry() for _, s in tracer.params.values()]
        self.param_avals = [e[0].avals[0] for e in self.param_entries]
        out_leaves = []
        self.out_tree = flatten(out, out_leaves)
        self.outputs = [_as_entry(o) for o in out_leaves]
        self.args = self.input_entries + self.param_entries
        self.remat_paths = _checkpoint_paths(block)
        self.executor = flags.get("executor")  # None: kiln's numpy code generator
        self.fuse = getattr(self.executor, "fuse_ops", True)
        self._graph = None
        self.static_xp = self.xp if flags.get("static_alloc") else None
        hook = flags.get("op_hook")
        self.op_hook = None if hook is None else (hook[0], hook[1], ctx)
        self._forward = None
        self.train = {}
        # the on-disk compile cache's name for this graph (None: not cached; see cache_key)
        self.cache_key = self._cache_key()

    @property
    def graph(self):
        """The optimized forward graph (optimized on first use: a graph whose compiled
        functions come from the on-disk cache is never optimized in this process)."""
        if self._graph is None:
            self._graph = passes.optimize(self.outputs, self.xp, fuse_ops=self.fuse)
        return self._graph

    def _cache_key(self):
        """``compile_cache.graph_key`` of the traced graph, for kiln's code generator on numpy
        without op hooks (what the generated source and its globals can stand for)."""
        if self.executor is not None or self.op_hook is not None or self.xp is not np \
                or compile_cache.directory() is None:
            return None
        return compile_cache.graph_key(self.args, self.outputs,
                                       (self.static_xp is not None, self.fuse))

    def cached_compile(self, tag, build):
        """``build()`` (a ``Compiled``), or the function stored under ``tag`` for this graph
        in the on-disk cache; a new one is stored there."""
        key = self.cache_key
        if key is None:
            return build()
        body = compile_cache.load(key, tag)
        if body is not None:
            try:
                fn = compile_cache.load_compiled(body, self.static_xp)
                fn.replan = build
                return fn
            except Exception as e:  # noqa: BLE001 - any bad entry is recompiled
                compile_cache.LOG.warning("compile cache entry %s/%s ignored: %s", key, tag, e)
        fn = build()
        try:
            compile_cache.store(key, tag, compile_cache.dump_compiled(fn))
        except compile_cache.Uncacheable as e:
            compile_cache.LOG.debug("%s not cached: %s", tag, e)
        return fn

    @property
    def forward(self):
        """The compiled inference forward, compiled on first use (a training call runs
        ``TrainGraph.forward`` instead)."""
        if self._forward is None:
            self._forward = self.cached_compile("forward", lambda: self.compile(
                self.args, self.graph, name="forward", static_xp=self.static_xp,
                op_hook=self.op_hook, params=self.params))
        return self._forward

    def compile(self, args, targets, **kw):
        """``compile_graph`` through this block's executor (``hybridize(backend=...)``: the
        onnxruntime one lives in export/ort_executor.py), else kiln's code generator."""
        if self.executor is None:
            kw.pop("params", None)
            return compile_graph(args, targets, **kw)
        return self.executor.compile(args, targets, xp=self.xp, **kw)

    def params_match(self):
        """Whether the parameters still have the traced shapes and dtypes (re-checked only
        after some parameter replaced its arrays)."""
        if self.param_version == PARAM_DATA_VERSION[0]:
            return True
        for p, av in zip(self.params, self.param_avals):
            d = p._data[0] if isinstance(getattr(p, "_data", None), list) and p._data else None
            if d is not None and (d.shape != av.shape or d._data.dtype != av.dtype):
                return False
        self.param_version = PARAM_DATA_VERSION[0]
        self.slots = self.param_arrays = None
        return True

    def _param_arrays(self):
        """The parameters' arrays on this device (the same objects while no Parameter
        replaced its arrays: PARAM_DATA_VERSION)."""
        if self.param_arrays is not None:
            return self.param_arrays
        if self.slots is None:  # where each parameter keeps its array for this device
            self.slots = [p._ctx_map.get(self.ctx) if isinstance(getattr(p, "_data", None),
                                                                 list) else None
                          for p in self.params]
        try:
            self.param_arrays = [p._data[i] for p, i in zip(self.params, self.slots)]
        except TypeError:  # not initialized here: let Parameter.data() raise its clear error
            return [p.data(self.ctx) for p in self.params]
        for a in self.param_arrays:
            mark(a._data)   # forms derived from a parameter may be kept (ndarray/_derived)
        return self.param_arrays

    def run(self, leaves):
        inputs = [leaves[k] for k in self.input_pos] if self.has_literals else list(leaves)
        arrays_in = inputs + self._param_arrays()
        datas = [a._data for a in arrays_in]
        if not STATE.recording:
            return self._wrap(self.forward(self.xp, *datas))
        need = tuple([a._node is not None or a._grad_req is not None for a in arrays_in])
        train = self.train.get(need)  # one backward per set of arrays that need gradients
        if train is None:
            if True not in need:
                return self._wrap(self.forward(self.xp, *datas))
            train = self.train[need] = TrainGraph(self, need)
        outs, saved = train.run_forward(datas)
        ctx = self.ctx
        arrays = [_new(o, ctx) for o in outs]
        train.record(arrays_in, arrays, saved)
        return arrays[0] if self.out_tree == "*" else unflatten(self.out_tree, iter(arrays))

    def _wrap(self, outs):
        if self.out_tree == "*":
            return _new(outs[0], self.ctx)
        return unflatten(self.out_tree, iter(_new(o, self.ctx) for o in outs))

    def print_graph(self):
        """The optimized forward graph, one node per line."""
        lines = []
        for n in topo_order(self.graph):
            ins = ", ".join(f"{i[0].name}" if is_entry(i) else repr(i) for i in n.inputs)
            attrs = {k: v for k, v in n.attrs.items() if not k.startswith("_")}
            shape = n.avals[0].shape if n.avals else "?"
            lines.append(f"{n.name} = {n.op.name if n.op else n.kind}({ins}) {attrs or ''} "
                         f"-> {shape}")
        return "\n".join(lines)


def _as_entry(o):
    if isinstance(o, Symbol):
        return o._entry()
    if isinstance(o, NDArray):
        return const_entry(o)
    raise TypeError(f"a hybridized forward must return arrays, got {type(o).__name__}")


class TrainGraph:
    """Forward that also returns what the backward needs, and the compiled backward.

    With the on-disk compile cache (symbol/compile_cache.py) a graph traced before loads its
    metadata and compiled functions: the backward graph is derived and optimized only if a
    function missing from the cache must be compiled (``_build``)."""

    def __init__(self, entry, need):
        self.entry = entry
        self._tag = "train" + _bits(need)
        self._positions = [k for k, n in enumerate(need) if n]
        self._bw_args = None
        meta = entry.cache_key and compile_cache.load(entry.cache_key, self._tag)
        if meta:
            try:
                self.grad_pos, self.saved_count = meta["grad_pos"], meta["saved_count"]
                self.n_out, self._saved_sig = meta["n_out"], meta["saved"]
                self.grad_avals = [Aval(tuple(s), np.dtype(d)) for s, d in meta["grad_avals"]]
                self.out_avals = [Aval(tuple(s), np.dtype(d)) for s, d in meta["out_avals"]]
            except (KeyError, TypeError, ValueError) as e:
                compile_cache.LOG.warning("compile cache entry %s/%s ignored: %r",
                                          entry.cache_key, self._tag, e)
                meta = self._saved_sig = None
        if not meta:
            self._build()
            if entry.cache_key:
                compile_cache.store(entry.cache_key, self._tag, {
                    "grad_pos": self.grad_pos, "saved_count": self.saved_count,
                    "n_out": self.n_out, "saved": self._saved_sig,
                    "grad_avals": [[list(a.shape), np.dtype(a.dtype).str]
                                   for a in self.grad_avals],
                    "out_avals": [[list(a.shape), np.dtype(a.dtype).str]
                                  for a in self.out_avals]})
        sx = entry.static_xp
        self.forward = entry.cached_compile(self._tag + ".forward_train", lambda: entry.compile(
            *self._build()[:2], name="forward_train", static_xp=sx, op_hook=entry.op_hook))
        self._into = {}  # variants writing gradients straight into .grad buffers, by mask
        self._backward = None
        self._notify = {}  # mask (None: no mask) -> the backward calling ready(k, grad)

    def _build(self):
        """Differentiate and optimize (once): ``(forward args, forward targets, backward
        args, gradient targets)``."""
        if self._bw_args is not None:
            return self._fw_args, self._fw_targets, self._bw_args, self._gtargets
        entry, positions = self.entry, self._positions
        args = entry.input_entries + entry.param_entries
        # differentiate the optimized forward: fused ops bring their fused gradients
        heads, grads = backward_graph(entry.graph, [args[k] for k in positions], entry.ctx)
        grad_pos = [positions[k] for k, g in enumerate(grads) if g is not None]
        grads = [g for g in grads if g is not None]
        targets = passes.optimize(entry.graph + grads, entry.xp, fuse_ops=entry.fuse)
        n_out = len(entry.outputs)
        outs, gtargets = targets[:n_out], targets[n_out:]
        head_ids = {h.id for h, _ in heads}
        # checkpointed blocks: the backward recomputes their nodes from what enters them
        gtargets, clone_ids = rematerialize(gtargets, head_ids, entry.remat_paths)
        saved = _saved_entries(gtargets, head_ids | clone_ids, {n.id for n, _ in entry.args},
                               {n.id for n, _ in outs})
        sig = compile_cache.entry_signature(outs, saved) if entry.cache_key else None
        if getattr(self, "_saved_sig", None) is not None and (
                sig != self._saved_sig or grad_pos != self.grad_pos):
            # the forward loaded from the cache saves other values than this backward reads:
            # kiln's passes gave another graph in this process (a bug; the key should differ)
            raise RuntimeError(f"kiln's compile cache holds a training graph that differs "
                               f"from the one compiled now (entry {entry.cache_key}); "
                               f"delete the cache folder or set {compile_cache.ENV}=0")
        self.grad_pos, self.saved_count, self._saved_sig = grad_pos, len(saved), sig
        self.grad_avals = [n.avals[i] for n, i in gtargets]
        self.n_out = n_out
        self.out_avals = [n.avals[i] for n, i in entry.outputs]
        self._fw_args, self._fw_targets = entry.args, outs + saved
        self._bw_args, self._gtargets = entry.args + saved + heads, gtargets
        return self._fw_args, self._fw_targets, self._bw_args, self._gtargets

    def _compile_backward(self, tag, **kw):
        entry = self.entry

        def build():
            _, _, bw_args, gtargets = self._build()
            return entry.compile(bw_args, gtargets, name="backward",
                                 static_xp=entry.static_xp, last_target_first=True, **kw)
        return entry.cached_compile(f"{self._tag}.{tag}", build)

    @property
    def backward(self):
        """The compiled backward returning new gradient arrays, compiled on first use: the
        usual ``loss.backward()`` (the engine's chain path) runs ``backward_into`` instead,
        so a training graph's first call compiles one backward, not two."""
        if self._backward is None:
            self._backward = self._compile_backward("backward")
        return self._backward

    def backward_into(self, mask):
        """The backward that writes the gradients marked in ``mask`` into buffers passed
        after its regular arguments (compiled on first use per mask)."""
        fn = self._into.get(mask)
        if fn is None and hasattr(self.backward, "into"):  # an executor's own way (I/O binding)
            fn = self._into[mask] = self.backward.into(mask)
        if fn is None:
            fn = self._into[mask] = self._compile_backward(
                "backward_into" + _bits(mask), out_mask=mask)
        return fn

    def backward_notify(self, mask=None):
        """``backward`` (``mask`` None) or ``backward_into(mask)`` taking one more argument,
        ``ready(k, grad)``, called as each gradient is final (autograd's gradient-ready hooks;
        compiled on first use). None for an executor other than kiln's code generator: the
        caller then reports the gradients after the call."""
        if self.entry.executor is not None:
            return None
        fn = self._notify.get(mask)
        if fn is None:
            fn = self._notify[mask] = self._compile_backward(
                "backward_notify" + ("" if mask is None else _bits(mask)), out_mask=mask,
                notify=True)
        return fn

    def run_forward(self, datas):
        PARAM_WRITE_VERSION[0] += 1
        res = self.forward(self.entry.xp, *datas)
        return res[:self.n_out], res[self.n_out:]

    def record(self, args, outputs, saved):
        _registry._record(_CachedOp(self, saved), tuple(args), {}, outputs)  # autograd's


def _bits(mask):
    """A short name for a mask of booleans in a cache entry's file name."""
    return "-" + hashlib.sha256(bytes(bool(m) for m in mask)).hexdigest()[:16]


def _saved_entries(targets, head_ids, arg_ids, out_ids=frozenset()):
    """Forward entries the backward uses: inputs of backward nodes computed by the forward.

    A cheap elementwise forward node used only by the backward (relu's ``sign(y)`` mask,
    softmax's ``exp(log_p)``) moves into the backward when its inputs are kept anyway: the
    forward then saves one array fewer and computes nothing the backward could.
    """
    nodes = topo_order(targets)
    backward = set(head_ids)
    for n in nodes:
        if any(is_entry(i) and i[0].id in backward for i in n.inputs):
            backward.add(n.id)
    _move_cheap_nodes(nodes, targets, backward, set(arg_ids) | set(out_ids))
    saved, seen = [], set()

    def keep(e):
        key = (e[0].id, e[1])
        if e[0].kind == "op" and e[0].id not in backward and key not in seen:
            seen.add(key)
            saved.append(e)
    for n in nodes:
        if n.id in backward:
            for i in n.inputs:
                if is_entry(i):
                    keep(i)
    for t in targets:
        if t[0].id not in backward:
            keep(t)
    return saved


def _move_cheap_nodes(nodes, targets, backward, kept_ids):
    """Add to ``backward`` the cheap forward nodes that only feed it (see _saved_entries)."""
    consumers = {}
    for n in nodes:
        for i in n.inputs:
            if is_entry(i):
                consumers.setdefault(i[0].id, []).append(n.id)
    target_ids = {t[0].id for t in targets}
    for n in reversed(nodes):
        if (n.kind != "op" or n.id in backward or n.id in target_ids or n.num_outputs != 1
                or n.op.name not in fastpath.ELEMENTWISE or not consumers.get(n.id)
                or not all(c in backward for c in consumers[n.id])):
            continue
        if all(_kept_anyway(i, n.id, consumers, backward, kept_ids) for i in n.inputs):
            backward.add(n.id)


def _kept_anyway(entry, user_id, consumers, backward, kept_ids):
    """Whether ``entry`` reaches the backward without ``user_id`` needing it there (graph
    inputs and outputs are held anyway: saving an output costs no memory)."""
    if not is_entry(entry):
        return True
    node = entry[0]
    if node.kind != "op" or node.id in kept_ids:
        return True
    return any(c in backward and c != user_id for c in consumers.get(node.id, ()))


class _CachedOp:
    """The tape's view of one hybridized call: its gradient runs the compiled backward."""

    save_outputs = False
    exact_grad_shapes = True  # the compiled backward returns each gradient in its input's shape

    name = "hybridized block"

    def __init__(self, train, saved):
        self.train, self.saved = train, saved

    def release(self):
        """Drop the saved arrays once the tape is freed (the loss's saved exp is as large as
        the logits; a loss kept for a metric would hold it into the next step)."""
        self.saved = ()

    def grad(self, ins, outs, gouts):
        grads = [None] * len(ins)
        ctx = self.train.entry.ctx
        for k, r in self.grad_data(ins, gouts):
            grads[k] = _new(r, ctx)
        return grads

    def grad_data(self, ins, gouts, ready=None):
        """``(input position, raw gradient)`` pairs from one run of the compiled backward.
        ``ready(position, grad)``, if given, is called as each gradient is final (before the
        backward goes on), where the executor can (see ``TrainGraph.backward_notify``)."""
        train = self.train
        xp = train.entry.xp
        heads = [g._data if g is not None else xp.zeros(o.shape, o.dtype)
                 for g, o in zip(gouts, train.out_avals)]
        if ready is None:
            return self.grad_raw(ins, *heads)
        return self.grad_raw(ins, *heads, ready=ready)

    def grad_into(self, ins, head, mask, buffers, last=False, ready=None):
        """``grad_raw`` for one head, with the gradients marked in ``mask`` written into
        ``buffers`` (the variables' ``.grad`` arrays) instead of new arrays."""
        train = self.train
        PARAM_WRITE_VERSION[0] += 1
        fn, extra = (None, ()) if ready is None else _notifying(train, mask, ready)
        if fn is None:
            fn = train._into.get(mask) or train.backward_into(mask)
        with donating(self.saved if last else ()):
            res = fn(train.entry.xp, *[a._data for a in ins], *self.saved, head, *buffers,
                     *extra)
        return zip(train.grad_pos, res)

    def grad_raw(self, ins, *heads, last=False, ready=None):
        """``grad_data`` given the raw output gradients (the engine's chain path,
        autograd._chain_backward, passes the single one it holds). ``last``: the tape is freed
        right after, so the backward may overwrite the saved arrays (``fused.donating``)."""
        train = self.train
        PARAM_WRITE_VERSION[0] += 1
        fn, extra = _notifying(train, None, ready)
        if fn is None:
            fn = train.backward
        with donating(self.saved if last else ()):
            res = fn(train.entry.xp, *[a._data for a in ins], *self.saved, *heads, *extra)
        return zip(train.grad_pos, res)


def _notifying(train, mask, ready):
    """``(backward calling ready, (its ready argument,))``, or ``(None, ())`` without
    ``ready`` or where the executor has no such variant."""
    if ready is None:
        return None, ()
    fn = train.backward_notify(mask)
    if fn is None:
        return None, ()
    pos = train.grad_pos
    return fn, (lambda k, grad: ready(pos[k], grad),)


_ = Node
