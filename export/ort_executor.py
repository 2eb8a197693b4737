"""The onnxruntime executor behind ``hybridize(backend='onnxruntime')``.

A hybridized block's cache (``symbol/cached.py``) compiles each graph it needs (the forward for
inference; the training forward, which also returns what the backward needs, and the backward)
through a compiler. The default is kiln's numpy code generator (``symbol/codegen.py``); an
``OrtExecutor`` put into the block's flags (``flags["executor"]``, which ``nn/block.py`` sets
from ``backend``) lowers the same optimized graph to ONNX instead (``ort_lower.lower_graph``:
arguments become graph inputs, fed without copies) and runs it as one onnxruntime
``InferenceSession``. Sessions live in the compiled-graph cache, so there is one per call
signature, like the numpy functions.

A graph with ops that cannot be lowered (an op without an ONNX lowering, a random op in
training mode) is split into partitions (``ort_partition``): the ops that lower run in
onnxruntime sessions, the others in kiln's numpy code, values passed between them without
copies. A graph with no op that lowers, or on a device other than the CPU, or with an op hook,
is compiled by the numpy code generator whole. The executor logs either once (``logging``
name ``kiln.ort``) and lists it in ``OrtExecutor.plan`` (``net.backend_plan()``).

Example::

    >>> net.hybridize(backend="onnxruntime", backend_opts={"intra_op_num_threads": 2})
    >>> net(x)                       # one onnxruntime session for this input signature
"""
import logging

import numpy as np

from ..base import ExportError
from ..ndarray import _derived
from ..symbol.cached import PARAM_DATA_VERSION, PARAM_WRITE_VERSION
from ..symbol.codegen import compile_graph
from .ort_autotune import AutoChoice
from .ort_lower import DEFAULT_OPSET, lower_graph
from .ort_partition import PartitionedFunction, describe, partition

log = logging.getLogger("kiln.ort")

BACKENDS = ("onnxruntime", "ort")
_LEVELS = {"ORT_DISABLE_ALL": 0, "ORT_ENABLE_BASIC": 1, "ORT_ENABLE_EXTENDED": 2,
           "ORT_ENABLE_LAYOUT": 3, "ORT_ENABLE_ALL": 99}
_OPTIONS = ("intra_op_num_threads", "inter_op_num_threads", "graph_optimization_level", "opset",
            "params", "allow_spinning", "training", "enable_cpu_mem_arena", "enable_mem_pattern")
_TRAINING_GRAPHS = ("forward_train", "backward")


def _level(value):
    """An ``ort.GraphOptimizationLevel`` from its name (``'ORT_ENABLE_ALL'``, ``'all'``), its
    number (0, 1, 2, 99) or itself."""
    import onnxruntime as ort
    if isinstance(value, ort.GraphOptimizationLevel):
        return value
    if isinstance(value, str):
        key = value.upper()
        key = key if key.startswith("ORT_") else ("ORT_DISABLE_ALL" if key == "DISABLE_ALL"
                                                  else f"ORT_ENABLE_{key}")
        if key not in _LEVELS or not hasattr(ort.GraphOptimizationLevel, key):
            raise ValueError(f"graph_optimization_level {value!r}: choose one of "
                             f"{sorted(_LEVELS)}")
        return getattr(ort.GraphOptimizationLevel, key)
    for name, num in _LEVELS.items():
        if int(value) == num and hasattr(ort.GraphOptimizationLevel, name):
            return getattr(ort.GraphOptimizationLevel, name)
    raise ValueError(f"graph_optimization_level {value!r}: choose 0, 1, 2 or 99")


class OrtExecutor:
    """Compiles kiln graphs into onnxruntime sessions (``compile_graph``'s contract).

    ``opts`` (``hybridize``'s ``backend_opts``): ``intra_op_num_threads``,
    ``inter_op_num_threads``, ``graph_optimization_level`` (onnxruntime's names or numbers;
    default ``ORT_ENABLE_ALL``), ``opset`` (default 17), ``params``: ``'initializers'``
    (default: inference sessions hold a copy of the parameters, see ``OrtInference``) or
    ``'inputs'`` (fed on every call, without copies; training graphs always do this),
    ``allow_spinning`` (default ``'run'``: the workers spin inside a run and stop as it
    returns; True, onnxruntime's default, lets them spin after it too, which slows the numpy
    code that runs between sessions, the optimizer's BLAS calls above all; False: they never
    spin), ``enable_cpu_mem_arena`` (default: on for
    inference sessions, off for training ones, whose arena would hold the largest run's
    memory for good beside the numpy code's), ``enable_mem_pattern``, ``training``:
    ``'auto'`` (default: each training graph runs in onnxruntime and in kiln's numpy code on
    its first calls and keeps the faster, ``ort_autotune``; onnxruntime's convolution
    gradients lost to kiln's on ResNet-18, its MLP won), ``'onnxruntime'`` or ``'numpy'``
    (inference graphs run in onnxruntime either way).
    """

    fuse_ops = False  # kiln's fused ops are numpy kernels; onnxruntime fuses on its own

    def __init__(self, opts=None):
        opts = dict(opts or {})
        bad = sorted(set(opts) - set(_OPTIONS))
        if bad:
            raise ValueError(f"backend_opts {bad} not understood by the onnxruntime backend; "
                             f"accepted: {', '.join(_OPTIONS)}")
        if opts.get("training", "auto") not in ("auto", "onnxruntime", "numpy"):
            raise ValueError(f"backend_opts training={opts['training']!r}: 'auto', "
                             "'onnxruntime' or 'numpy'")
        if opts.get("allow_spinning", "run") not in (True, False, "run"):
            raise ValueError(f"backend_opts allow_spinning={opts['allow_spinning']!r}: True, "
                             "False or 'run'")
        if opts.get("params", "initializers") not in ("initializers", "inputs"):
            raise ValueError(f"backend_opts params={opts['params']!r}: 'initializers' or "
                             "'inputs'")
        import onnxruntime  # noqa: F401  (fail at hybridize(), not at the first call)
        if "graph_optimization_level" in opts:
            _level(opts["graph_optimization_level"])  # a bad name fails here too
        self.opts = opts
        self.opset = int(opts.get("opset", DEFAULT_OPSET))
        self.plan = []  # (graph name, "onnxruntime" or "numpy: reason"), one per compile
        self._logged = set()

    def session_options(self, training=False):
        """onnxruntime's ``SessionOptions`` from ``backend_opts``; ``training``: for a training
        graph (forward_train, backward), whose sessions run without the memory arena unless
        ``enable_cpu_mem_arena`` says otherwise (see the class docstring)."""
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.log_severity_level = 3
        for key in ("intra_op_num_threads", "inter_op_num_threads"):
            if key in self.opts:
                setattr(so, key, int(self.opts[key]))
        # onnxruntime's idle workers spin by default: between two sessions they take the cores
        # from the numpy code around them (the optimizer's BLAS calls ran 5-10x slower);
        # 'run' (kiln's default) lets them spin inside a run only, stopped as the run returns:
        # ResNet-18 inference at batch 32 ran 3-5% faster than with no spinning (2026-12-07)
        spin = self.opts.get("allow_spinning", "run")
        so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        if spin == "run":
            so.add_session_config_entry("session.force_spinning_stop", "1")
        # a training session's arena keeps its largest run's memory reserved for good, beside
        # the numpy code's own (and, while training='auto' measures, the numpy candidate's)
        so.enable_cpu_mem_arena = bool(self.opts.get("enable_cpu_mem_arena", not training))
        if "enable_mem_pattern" in self.opts:
            so.enable_mem_pattern = bool(self.opts["enable_mem_pattern"])
        if "graph_optimization_level" in self.opts:
            so.graph_optimization_level = _level(self.opts["graph_optimization_level"])
        return so

    def compile(self, args, targets, xp=np, name="graph", static_xp=None, op_hook=None,
                last_target_first=False, out_mask=None, params=None):
        """``fn(xp, *arrays)`` returning the values of ``targets`` (see ``compile_graph``).

        ``params``: the Parameters behind the last arguments of an inference forward; unless
        ``backend_opts={'params': 'inputs'}``, their values are baked into the session
        (``OrtInference``)."""
        kw = dict(static_xp=static_xp, op_hook=op_hook, last_target_first=last_target_first,
                  out_mask=out_mask)
        entry = [name, None]
        self.plan.append(entry)
        if xp is not np:
            return self._numpy(args, targets, entry, "onnxruntime runs on the CPU only", kw)
        if op_hook is not None:
            return self._numpy(args, targets, entry, "an op hook is installed (it sees each op)",
                               kw)
        mode = self.opts.get("training", "auto")
        if name in _TRAINING_GRAPHS and mode == "numpy":
            return self._numpy(args, targets, entry, "backend_opts training='numpy'", kw)
        fn = self._onnxruntime(args, targets, entry, kw, params)
        if name not in _TRAINING_GRAPHS or mode != "auto" or entry[1].startswith("numpy"):
            return fn
        return AutoChoice(name, {"onnxruntime": fn,
                                 "numpy": compile_graph(args, targets, name=name, **kw)},
                          entry, lambda mask: compile_graph(args, targets, name=name,
                                                            **dict(kw, out_mask=mask)))

    def _numpy(self, args, targets, entry, reason, kw):
        """kiln's compiled function for this graph; logs why (once per reason)."""
        entry[1] = f"numpy: {reason}"
        if reason not in self._logged:
            self._logged.add(reason)
            log.info("hybridize(backend='onnxruntime'): graph %r runs in numpy: %s", entry[0],
                     reason)
        return compile_graph(args, targets, name=entry[0], **kw)

    def _onnxruntime(self, args, targets, entry, kw, params=None):
        """The graph as one onnxruntime session, or as partitions, or (nothing lowers) in
        numpy."""
        whole = dict(kw, out_mask=None)  # OrtFunction.into returns new arrays on a fallback
        fallback = lambda reason: self._numpy(args, targets, entry, reason, whole)  # noqa: E731
        try:
            model, mutations = lower_graph(args, targets, self.opset)
        except ExportError as e:
            parts = partition(args, targets, self.opset)
            if not any(p.executor == "onnxruntime" for p in parts):
                return self._numpy(args, targets, entry, str(e), kw)
            return self._partitioned(parts, args, targets, entry, kw)
        entry[1] = "onnxruntime"
        name = entry[0]
        if params and not mutations and self.opts.get("params") != "inputs":
            return OrtInference(model, len(args) - len(params), params, self.session_options(),
                                name, fallback)
        fn = OrtFunction(model, mutations, len(args),
                         self.session_options(training=name in _TRAINING_GRAPHS), name, fallback)
        return fn.into(tuple(kw["out_mask"])) if kw.get("out_mask") else fn

    def _partitioned(self, parts, args, targets, entry, kw):
        """The graph as partitions (``ort_partition``): the ops that lower run in onnxruntime
        sessions, the others in numpy; logged once per description."""
        name, how = entry[0], describe(parts)
        entry[1] = how
        if how not in self._logged:
            self._logged.add(how)
            log.info("hybridize(backend='onnxruntime'): graph %r is %s", name, how)
        steps = []
        for k, p in enumerate(parts):
            part_name = f"{name}_part{k}"
            numpy_part = lambda reason=None, p=p, nm=part_name: compile_graph(  # noqa: E731
                p.args, p.targets, name=nm, static_xp=kw["static_xp"])
            fn = None
            if p.executor == "onnxruntime":
                try:
                    model, mutations = lower_graph(p.args, p.targets, self.opset)
                    options = self.session_options(training=name in _TRAINING_GRAPHS)
                    fn = OrtFunction(model, mutations, len(p.args), options, part_name,
                                     numpy_part)
                except ExportError:  # e.g. a partition of constants only
                    fn = None
            steps.append((fn or numpy_part(), [(n.id, i) for n, i in p.args],
                          [(n.id, i) for n, i in p.targets]))
        return PartitionedFunction(args, targets, steps, name, kw["out_mask"])


def _session(model, options, fallback):
    """``(session, run)`` for ``model``, or ``(None, numpy function)`` when onnxruntime refuses
    it (a lowering that onnxruntime lacks, mixed dtypes that ONNX does not promote)."""
    import onnxruntime as ort
    try:
        sess = ort.InferenceSession(model.SerializeToString(), options,
                                    providers=["CPUExecutionProvider"])
    except Exception as e:
        return None, fallback(f"onnxruntime could not load the graph: {type(e).__name__}: "
                              f"{str(e)[:300]}")
    return sess, getattr(sess, "_sess", sess).run  # _sess.run: skips the Python checks


class OrtFunction:
    """One onnxruntime session called like a compiled numpy function: ``fn(xp, *arrays)``.

    Arrays go in without copies (onnxruntime wraps contiguous numpy buffers); arguments past
    the graph's inputs are ignored (``into`` writes gradients into the ``.grad`` buffers
    instead). Moving statistics updated by a training-mode BatchNorm are written back into
    their arrays.
    """

    def __init__(self, model, mutations, n_args, options, name, fallback):
        self.name, self.mutations, self.n_args = name, mutations, n_args
        self.model, self.options, self.fallback = model, options, fallback
        self.session, self._run, self.numpy_fn = None, None, None
        self.in_names = [i.name for i in model.graph.input]
        self.out_names = [o.name for o in model.graph.output]
        self.n_targets = len(self.out_names) - len(mutations)
        self.source = (f"# {name}: onnxruntime session, {len(model.graph.node)} ONNX nodes, "
                       f"inputs {self.in_names}, outputs {self.out_names}\n")

    def _built(self):
        """Whether the session runs (built at the first call: some graphs never run); False:
        onnxruntime refused the graph and ``numpy_fn`` stands in."""
        if self._run is None and self.numpy_fn is None:
            self.session, run = _session(self.model, self.options, self.fallback)
            self.model = None
            if self.session is None:
                self.numpy_fn = run
            else:
                self._run = run
        return self._run is not None

    def __call__(self, xp, *arrays):
        if not self._built():
            return self.numpy_fn(xp, *arrays[:self.n_args])
        outs = self._run(self.out_names, dict(zip(self.in_names, arrays[:self.n_args])), None)
        if self.mutations:
            for pos, new in zip(self.mutations, outs[self.n_targets:]):
                _derived.thaw(arrays[pos])   # a moving statistic a session may hold
                arrays[pos][...] = new
            outs = outs[:self.n_targets]
        return outs

    def into(self, mask):
        """``fn(xp, *arrays, *buffers)``: the results marked in ``mask`` are written into
        ``buffers`` (the ``.grad`` arrays, through onnxruntime's I/O binding) and returned;
        the others come back as new arrays (``compile_graph(out_mask=...)``'s contract)."""
        return lambda xp, *arrays: self._run_into(mask, xp, arrays)

    def _run_into(self, mask, xp, arrays):
        args, buffers = arrays[:self.n_args], arrays[self.n_args:]
        if not self._built() or self.mutations:  # numpy fallback: new arrays
            return self(xp, *args)
        # onnxruntime's C binding, not its Python wrapper (IOBinding): the wrapper's checks
        # cost ~85 us per MLP backward (16 arrays), 1.5x the bindings. Inputs are bound over
        # the numpy buffers (no copy), which ``arrays`` keeps alive through the run.
        sess, dev = self.session._sess, _cpu_device()
        binding = _C().SessionIOBinding(sess)
        for name, a in zip(self.in_names, args):
            binding.bind_input(name, np.ascontiguousarray(a))
        it = iter(buffers)
        for name, m in zip(self.out_names, mask):
            if m:
                buf = next(it)
                binding.bind_output(name, dev, buf.dtype.type, list(buf.shape), buf.ctypes.data)
            else:
                binding.bind_output(name, dev)
        sess.run_with_iobinding(binding, None)
        if all(mask):
            return list(buffers)
        it, outs = iter(buffers), binding.get_outputs()
        return [next(it) if m else outs[k].numpy() for k, m in enumerate(mask)]


def _C():
    from onnxruntime.capi import _pybind_state
    return _pybind_state


_DEVICE = []


def _cpu_device():
    """onnxruntime's C-level CPU device (made once)."""
    if not _DEVICE:
        import onnxruntime as ort
        _DEVICE.append(ort.OrtDevice.make("cpu", 0)._get_c_device())
    return _DEVICE[0]


def _grads_fresh(params):
    """Whether some parameter holds a gradient no optimizer step has used yet."""
    return any(getattr(d, "_fresh_grad", False) for p in params for d in (p._data or ()))


def _version():
    return PARAM_DATA_VERSION[0], PARAM_WRITE_VERSION[0]


class OrtInference:
    """An inference session with the parameters' values baked in as initializers, so that
    onnxruntime folds BatchNorm into convolutions and pre-packs the weights as for an exported
    model; called like ``OrtFunction`` (the parameter arguments are read only to rebuild).

    The session is built at the first call and rebuilt when the parameters may have changed:
    arrays replaced (``PARAM_DATA_VERSION``), values overwritten by ``set_data``/
    ``load_parameters`` or a training forward/backward of any hybridized block
    (``PARAM_WRITE_VERSION``), for a session built while some gradient was fresh, once an
    optimizer step has used the gradients, and after any write through kiln into a parameter
    array it baked in (``p.data()[:] = v``, ``+=``, ``out=``): the arrays are held read-only
    while the session holds their values (``ndarray/_derived.hold``), so a write that bypasses
    kiln raises instead of leaving the session stale. ``backend_opts={'params': 'inputs'}``
    feeds the parameters on every call instead.
    """

    returns_new_arrays = True

    def __init__(self, model, n_data, params, options, name, fallback):
        self.template, self.n_data, self.params = model, n_data, params
        self.options, self.name, self.fallback, self.numpy_fn = options, name, fallback, None
        inputs = [i.name for i in model.graph.input]
        self.in_names, self.param_names = inputs[:n_data], inputs[n_data:]
        self.out_names = [o.name for o in model.graph.output]
        self.session, self._run, self.version, self.pending = None, None, None, False
        self.held, self.thawed = (), None   # parameter arrays held read-only for the session
        self.builds = 0  # how many sessions were built (tests, benchmarks)
        self.source = (f"# {name}: onnxruntime session, {len(model.graph.node)} ONNX nodes, "
                       f"inputs {self.in_names}, parameters {self.param_names} baked in, "
                       f"outputs {self.out_names}\n")

    def _build(self, values):
        import onnx
        from onnx import numpy_helper
        m = onnx.ModelProto()
        m.CopyFrom(self.template)
        keep = list(m.graph.input[:self.n_data])
        del m.graph.input[:]
        m.graph.input.extend(keep)
        m.graph.initializer.extend(numpy_helper.from_array(np.ascontiguousarray(v), n)
                                   for n, v in zip(self.param_names, values))
        self.version, self.pending = _version(), _grads_fresh(self.params)
        self.held = tuple(v for v in values if _derived.hold(v))
        self.thawed = _derived.THAWED[0]
        self.session, self._run = _session(m, self.options, self.fallback)
        if self.session is None:
            self.numpy_fn = self._run
        self.builds += 1

    def __call__(self, xp, *arrays):
        if self.numpy_fn is not None:
            return self.numpy_fn(xp, *arrays)
        if (self.version != _version() or self.session is None
                or (self.pending and not _grads_fresh(self.params))
                or (self.thawed != _derived.THAWED[0] and self._written())):
            self._build(arrays[self.n_data:])
            if self.numpy_fn is not None:
                return self.numpy_fn(xp, *arrays)
        if self.n_data == 1:  # the usual call: one input, no zip
            return self._run(self.out_names, {self.in_names[0]: arrays[0]}, None)
        return self._run(self.out_names, dict(zip(self.in_names, arrays[:self.n_data])), None)


    def _written(self):
        """Whether kiln wrote into a parameter array the session holds since it was built."""
        if self.thawed == _derived.THAWED[0]:
            return False
        if all(_derived.held(a) for a in self.held):
            self.thawed = _derived.THAWED[0]   # the writes were to other arrays
            return False
        return True


def make_executor(backend, opts=None):
    """The executor for ``hybridize(backend=...)``: an OrtExecutor for 'onnxruntime'/'ort',
    None (kiln's numpy code generator) otherwise."""
    if backend is None or str(backend).lower() not in BACKENDS:
        return None
    return OrtExecutor(opts)


__all__ = ["OrtExecutor", "OrtFunction", "OrtInference", "make_executor", "BACKENDS"]
