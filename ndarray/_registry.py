"""The operator registry and the one dispatch point (``invoke``) shared by every mode.

An op is defined once with its facets (see docs/architecture.md):

* ``kernel(xp, *arrays, **attrs)``: the computation, ``xp`` being numpy or cupy.
* ``infer(*avals, **attrs)``: output ``Aval(shape, dtype)`` (or a tuple of them).
* ``grad(ins, outs, gouts, **attrs)``: input gradients written with registry ops.
* ``raw_grad(xp, ins, outs, head, **attrs)``: optional, the same first-order gradients on raw
  arrays when only output 0 has a gradient (``head``, raw): a tuple per input (None for
  none), or None where it does not apply. autograd's chain path starts there when an eager op
  (a loss) heads a hybridized step, with no NDArrays made and no dispatch.
* ``onnx(g, ins, attrs, avals)``: the lowering through ``kiln.export``'s builder ``g``.
* ``samples``: small inputs for the registry-walking tests; ``ref``: a numpy reference.
* ``param_shapes(data_aval, **attrs)``: ``{input name: shape}`` of the parameter inputs (weight,
  bias, gamma...) that the data's shape determines; layers' deferred initialization,
  ``sym.infer_shape`` and the ONNX importer read it through ``param_shapes(op, shape, **attrs)``.
* ``input_init``: ``{input name: initializer}`` (an ``Initializer.dumps()`` string) that a symbol
  input variable of that name gets as its ``__init__`` attribute when it has none (MXNet's
  LeakyReLU gives prelu's ``gamma`` ``Constant(0.25)``); the symbol layer reads ``op.input_init``.
* ``keeps_size``: the output has as many elements as the (one) array input (reshape,
  flatten): shape inference fills a single unknown (0) dimension of the input from a known
  output, as MXNet's reshape infers backwards.
* ``number_inputs``: ``{input name: attribute}``: a Python number given for that input means
  the attribute (MXNet's front end: ``sym.histogram(a, bins=5)`` is ``bin_cnt=5``, ``bins`` an
  array gives the edges); the symbol layer reads ``op.number_inputs``.
* ``value_ranges(*avals, **attrs)``: ``{input name: (low, high)}``, the integer values an input
  must hold for the op to be defined (sequence lengths within the time axis); the export's
  verification draws its random inputs there, read through ``value_ranges(op, avals, attrs)``.

* ``overlap``: a kernel (a matrix product, a sum) that a compiled function may run on a worker
  thread when nothing after it reads its result (a weight's or a bias's gradient), beside the
  next ``serial`` kernel, or beside the rest of a backward whose work is large; True, or a
  function of the graph node giving its multiply-adds (the convolution's weight gradient: what
  makes a backward large); ``serial``: a kernel that keeps one core busy (an RNN's step loop)
  and so leaves the others to such work (``symbol/memory_plan.py``).
* ``out_arg``: the kernel takes ``out=``, an array of its (single) output's shape and dtype that
  it overwrites whole: a compiled backward then writes that gradient straight into the
  parameter's ``.grad`` buffer, with no temporary of the gradient's size and no copy.
* ``amp``: the precision automatic mixed precision (``kiln.amp``) runs the op in: ``"lp16"``
  (its float inputs cast to float16), ``"fp32"`` (cast to float32), ``"widest"`` (float16
  inputs cast to float32 when another input is float32), ``None`` (any dtype: no cast), or a
  function of the attributes giving one of these (``Activation`` is fp32 for softrelu only).

``invoke`` runs the kernel eagerly (recording a tape node while autograd records), or hands the
call to the tracer installed by ``hybridize`` when an input is a traced symbol.
"""
import functools
import threading
import warnings
from collections import namedtuple

import numpy as np

from ..base import OpError, OpIndexError, describe_args, user_frame
from ..device import as_context, current_context
from ._derived import thaw
from ._profile import ACTIVE as PROFILE

Aval = namedtuple("Aval", ["shape", "dtype"])
Aval.__doc__ = "Abstract value: what ``infer`` sees and returns (a shape tuple and a numpy dtype)."

OPS = {}             # name -> Op
ALIASES = {}         # alias -> name
AMP_RULES = (None, "lp16", "fp32", "widest")  # the values of the ``amp`` facet


class _Required:
    """The default of an attribute that has none: reads ``REQUIRED`` in signatures and
    ``help()``; one instance, kept by copy and pickle."""

    __slots__ = ()

    def __repr__(self):
        return "REQUIRED"

    def __reduce__(self):
        return "REQUIRED"


REQUIRED = _Required()


class _State(threading.local):
    """Thread-local autograd and tracing state, read on every op call."""

    def __init__(self):
        self.recording = False
        self.training = False
        self.tracer = None


STATE = _State()

# ---- Hooks: the dispatch point's only calls into code above it ------------------------------
# ``invoke`` wraps results in NDArray (ndarray.py imports this module), records tape nodes for
# autograd and hands traced calls to symbol/ (both higher layers). kiln/__init__.py installs all
# of them once through ``install_hooks``; docs/architecture.md ("Layers and hooks") lists them.
# Plain module globals: the hot path reads them as cheaply as any global.
_NDArray = None     # the NDArray class
_new = None         # _new(data, ctx) -> NDArray, the fast constructor
_record = None      # autograd: _record(op, args, attrs, outputs) attaches a tape node
trace_hook = None   # symbol: trace_hook(op, args, attrs) -> the traced outputs
_backward = None    # autograd.backward, for NDArray.backward
tape_symbol = None  # symbol: tape_symbol(array) -> the recorded computation as a Symbol


# Automatic mixed precision (kiln.amp): ``_amp(op, args, attrs) -> args`` casts an op's inputs
# to the precision its ``amp`` facet asks for. None while AMP is off: one global test per call.
_amp = None


def set_amp(hook):
    """Install (or, with None, remove) the mixed-precision input cast that ``invoke`` applies
    to every op call; returns the previous one. ``ndarray/ops/amp_ops.py`` provides it."""
    global _amp
    prev, _amp = _amp, hook
    return prev


def install_hooks(*, array_type, new_array, record, trace, backward, to_symbol=None):
    """Install the functions the ndarray layer calls in the layers above it, all at once.

    Called once, by ``kiln/__init__.py``; installing the same functions again is a no-op,
    different ones raise (a second copy of a layer would silently split the program's state).
    ``to_symbol``: the symbol layer's tape-to-Symbol conversion (``autograd.get_symbol``).
    """
    global _NDArray, _new, _record, trace_hook, _backward, tape_symbol
    new = (array_type, new_array, record, trace, backward, to_symbol)
    old = (_NDArray, _new, _record, trace_hook, _backward, tape_symbol)
    if old[0] is not None and any(a is not b for a, b in zip(old, new)):
        raise RuntimeError("kiln's layer hooks are installed already (kiln imported twice?)")
    _NDArray, _new, _record, trace_hook, _backward, tape_symbol = new


class Sample:
    """Inputs for the registry tests: numpy arrays (float inputs get cast per test) or scalars.

    ``grad=False`` skips the gradient check for this sample; ``ref`` overrides the op's reference.
    ``wrt`` lists the input positions whose gradient is checked (all float arrays by default).
    """

    def __init__(self, *inputs, ref=None, grad=True, onnx=True, wrt=None, rtol=None, **attrs):
        self.inputs, self.attrs, self.ref = list(inputs), attrs, ref
        self.grad, self.onnx, self.wrt, self.rtol = grad, onnx, wrt, rtol

    def __repr__(self):
        shapes = [getattr(a, "shape", a) for a in self.inputs]
        return f"Sample({shapes}, {self.attrs})"


def _thawing(kernel, op):
    """``kernel`` that first thaws the inputs it updates in place (BatchNorm's moving
    statistics, an update op's weight and states): an array held read-only for a form derived
    from it (``_derived``) is written only after that form is dropped, eagerly and in
    compiled graphs alike."""
    @functools.wraps(kernel)
    def run(xp, *args, **attrs):
        for k in op.mutated(attrs):
            if k < len(args):
                thaw(args[k])
        return kernel(xp, *args, **attrs)
    return run


class Op:
    """One registered operator. See the module docstring for the facets."""

    def __init__(self, name, kernel, *, inputs=("data",), attrs=None, infer=None, grad=None,
                 onnx=None, samples=(), ref=None, num_outputs=1, save_outputs=False,
                 second_order=False, no_grad=None, no_onnx=None, no_ref=None, uses_mode=False,
                 mutates=(), random=False, ignored=(), doc=None, aliases=(), places=False,
                 param_shapes=None, value_ranges=None, overlap=False, serial=False,
                 out_arg=False, amp=None, input_init=None, number_inputs=None,
                 keeps_size=False, raw_grad=None):
        self.keeps_size, self.raw_grad = keeps_size, raw_grad
        self.input_init = dict(input_init or {})
        self.number_inputs = dict(number_inputs or {})
        self.name, self.kernel, self.infer, self.grad, self.onnx = name, kernel, infer, grad, onnx
        self.param_shapes, self.value_ranges = param_shapes, value_ranges
        self.overlap, self.serial, self.out_arg = overlap, serial, out_arg
        if amp not in AMP_RULES and not callable(amp):
            raise ValueError(f"operator {name!r}: amp must be one of {AMP_RULES} or a "
                             f"function of the attributes, got {amp!r}")
        self.amp = amp
        self.inputs = tuple(inputs)
        self.variadic = bool(self.inputs) and self.inputs[-1].startswith("*")
        self.attrs = dict(attrs or {})
        self.samples, self.ref = list(samples), ref
        self.num_outputs = num_outputs
        self.save_outputs, self.second_order = save_outputs, second_order
        self.no_grad, self.no_onnx, self.no_ref = no_grad, no_onnx, no_ref
        # mutates: input positions updated in place, or a function of the attributes giving
        # them (a CustomOp's auxiliary states follow its prop)
        self.uses_mode, self.random = uses_mode, random
        self.mutates = mutates if callable(mutates) else tuple(mutates)
        if self.mutates and kernel is not None:
            self.kernel = _thawing(kernel, self)
        self.ignored = frozenset(ignored) | {"name", "attr", "ctx_group"}
        self.aliases = tuple(aliases)
        self.places = places  # output lives on attrs["device"] (to_device), not the inputs'
        self.plain = num_outputs == 1 and not uses_mode and not places
        self.doc = doc or (kernel.__doc__ if kernel else None)
        self.func = None

    def mutated(self, attrs):
        """The input positions this op updates in place, for these attributes."""
        return tuple(self.mutates(attrs)) if callable(self.mutates) else self.mutates

    def n_out(self, attrs):
        n = self.num_outputs
        return n(attrs) if callable(n) else n

    def __repr__(self):
        return f"<Op {self.name}>"


def _python_signature(op):
    """Source of the public wrapper: inputs positional, then attributes by position or keyword."""
    params, ins, checks, defaulted = [], [], [], False
    for nm in op.inputs:
        if nm.startswith("*"):
            params.append(nm)
            ins.append(f"*_flat({nm[1:]})")
            defaulted = True
        elif nm.endswith("?"):
            params.append(f"{nm[:-1]}=None")
            ins.append(nm[:-1])
            defaulted = True
        else:
            params.append(nm)
            ins.append(nm)
    for k, v in op.attrs.items():
        if v is REQUIRED and not defaulted:
            params.append(k)
            continue
        params.append(f"{k}=_D[{k!r}]")
        defaulted = True
        if v is REQUIRED:
            checks.append(f"    if {k} is _R: _missing(_op, {k!r})\n")
    params += ["out=None", "**_kw"]
    attr_dict = "{" + ", ".join(f"{k!r}: {k}" for k in op.attrs) + "}"
    ins_t = "(" + ", ".join(ins) + ("," if len(ins) == 1 else "") + ")"
    return (f"def {op.name}({', '.join(params)}):\n"
            f"    if _kw: _extra(_op, _kw)\n" + "".join(checks) +
            f"    return _invoke(_op, {ins_t}, {attr_dict}, out)\n")


def _missing(op, k):
    raise TypeError(f"{op.name}() missing required attribute {k!r}")


def _flat(args):
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        return tuple(args[0])
    return args


def _extra(op, kw):
    tracer = STATE.tracer
    if tracer is not None and "name" in kw and hasattr(tracer, "mx_pending"):
        tracer.mx_pending = kw["name"]  # MXNet's node name for the op hooks of hybridize
    if not op.attrs:  # MXNet ignores keywords given to an op that has no parameters at all
        return
    bad = [k for k in kw if k not in op.ignored]
    if bad:
        raise TypeError(f"{op.name}() got unexpected keyword argument(s) {bad}; "
                        f"attributes are {list(op.attrs)}")


def _make_function(op):
    defaults = {k: v for k, v in op.attrs.items()}
    ns = {"_op": op, "_invoke": invoke, "_D": defaults, "_extra": _extra, "_flat": _flat,
          "_R": REQUIRED, "_missing": _missing}
    # Compiled under a file name inside the package so base.user_frame skips the wrapper
    # (a plain exec gives "<string>", which error messages then report as the user's line).
    code = compile(_python_signature(op), f"{__file__}<{op.name}>", "exec")
    exec(code, ns)  # noqa: S102 - builds a real signature, once per op
    fn = ns[op.name]
    fn.__doc__ = op.doc
    fn.__module__ = "kiln.ndarray"
    fn.op = op
    return fn


def register(name, kernel=None, **facets):
    """Register an operator and return its public function ``nd.<name>``.

    Usable directly, ``register("relu", kernel, infer=..., ...)``, or as a decorator on the kernel.
    """
    if kernel is None:
        return lambda k: register(name, k, **facets)
    if name in OPS:
        raise ValueError(f"operator {name!r} registered twice")
    op = Op(name, kernel, **facets)
    op.func = _make_function(op)
    OPS[name] = op
    for a in op.aliases:
        ALIASES[a] = name
    return op.func


def get(name):
    """The Op registered under ``name`` or one of its aliases."""
    op = OPS.get(name)
    if op is None and name in ALIASES:
        op = OPS[ALIASES[name]]
    if op is None:
        raise KeyError(f"no operator named {name!r}")
    return op


def param_shapes(op, data_shape, **attrs):
    """``{input name: shape}`` of ``op``'s parameter inputs for a data input of ``data_shape``.

    ``op`` is an Op, a name or an alias; ``attrs`` are the call's attributes (the op's defaults
    fill the rest, other keys are ignored). ``{}`` for an op without the ``param_shapes`` facet.

    Example: ``param_shapes("Convolution", (8, 3, 32, 32), kernel=(3, 3), num_filter=16)`` is
    ``{"weight": (16, 3, 3, 3), "bias": (16,)}``.
    """
    op = get(op) if isinstance(op, str) else op
    if op.param_shapes is None:
        return {}
    full = {k: attrs.get(k, v) for k, v in op.attrs.items()}
    data = Aval(tuple(int(d) for d in data_shape), None)
    return {k: tuple(int(d) for d in s) for k, s in op.param_shapes(data, **full).items()}


def value_ranges(op, in_avals, attrs):
    """``{input position: (low, high)}``: the half-open integer ranges that ``op``'s inputs must
    take for inputs of avals ``in_avals`` (``None`` for absent ones) and the call's ``attrs``
    (defaults fill the rest). ``{}`` for an op without the ``value_ranges`` facet.

    Example: an ``RNN`` over data (35, 20, 256) with ``use_sequence_length=True`` gives
    ``{4: (1, 36)}`` (each sequence's length lies in 1..35).
    """
    if op.value_ranges is None:
        return {}
    full = {k: attrs.get(k, v) for k, v in op.attrs.items()}
    names = [n.lstrip("*").rstrip("?") for n in op.inputs]
    return {names.index(k): (int(lo), int(hi))
            for k, (lo, hi) in op.value_ranges(*in_avals, **full).items()}


# ---------------------------------------------------------------------------------------------
# The dispatch point.

def invoke(op, args, attrs, out=None):
    """Run ``op`` on ``args`` in the active mode and return its public result."""
    if _amp is not None:  # mixed precision: inputs cast here, so eager and traced calls agree
        args = _amp(op, args, attrs)
    NDArray = _NDArray
    ctx = None
    needs_tape = raw = False
    datas = []
    for a in args:
        if type(a) is NDArray or isinstance(a, NDArray):
            c = a._ctx
            if ctx is None:
                ctx = c
            elif c is not ctx and c != ctx:
                _device_mismatch(op, args)
            datas.append(a._data)
            if a._node is not None or a._grad_req is not None:
                needs_tape = True
        elif a is None or isinstance(a, (int, float, bool, np.generic)):
            datas.append(a)
        elif isinstance(a, np.ndarray):
            datas.append(a)
            raw = True
        elif hasattr(a, "_trace_node"):
            return trace_hook(op, args, attrs)
        else:
            datas.append(_coerce_other(op, a))
            raw = True
    state = STATE
    if state.tracer is not None and (ctx is None or op.random):
        return trace_hook(op, args, attrs)
    if ctx is None:
        ctx = as_context(attrs.get("ctx")) if "ctx" in attrs else current_context()
    if raw and ctx.device_type != "cpu":  # numpy arrays and lists join the GPU computation
        datas = [ctx.xp.asarray(d) if isinstance(d, np.ndarray) else d for d in datas]
    prof = PROFILE[0]
    if op.plain:  # the common case: one output, no mode, no device move
        try:
            if prof is None:
                res = op.kernel(ctx._xp or ctx.xp, *datas, **attrs)
            else:
                res = prof.kernel(op, ctx._xp or ctx.xp, datas, attrs)
        except RuntimeWarning as w:
            res = _quiet_retry(op, args, datas, attrs, ctx._xp or ctx.xp, w)
        except Exception as e:
            raise op_error(op, args, attrs, e) from e
        result = _new(res, ctx)
        if needs_tape and state.recording:
            _record(op, args, attrs, (result,))
        return result if out is None else _write_out(out, result)
    if op.uses_mode:
        attrs["_train"] = state.training
    try:
        if prof is None:
            res = op.kernel(ctx._xp or ctx.xp, *datas, **attrs)
        else:
            res = prof.kernel(op, ctx._xp or ctx.xp, datas, attrs)
    except RuntimeWarning as w:
        res = _quiet_retry(op, args, datas, attrs, ctx._xp or ctx.xp, w)
    except Exception as e:
        raise op_error(op, args, attrs, e) from e
    if op.places:
        ctx = as_context(attrs["device"])
    if op.n_out(attrs) == 1:
        result = _new(res, ctx)
        outs = (result,)
    else:
        result = [_new(r, ctx) for r in res]
        outs = tuple(result)
    if needs_tape and state.recording:
        _record(op, args, attrs, outs)
    if out is not None:
        return _write_out(out, result)
    return result


def _quiet_retry(op, args, datas, attrs, xp, warning):
    """Rerun a kernel whose numpy floating-point warning was turned into an exception (warnings
    as errors): MXNet computes NaN/inf silently (``log(0)``, ``arccosh(0.5)``), so kiln does
    too. Ops that draw random numbers or update inputs in place are not rerun."""
    if op.random or op.mutates:
        raise op_error(op, args, attrs, warning) from warning
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return op.kernel(xp, *datas, **attrs)
    except Exception as e:
        raise op_error(op, args, attrs, e) from e


def _write_out(out, result):
    if isinstance(result, list):
        for o, r in zip(out, result):
            o[:] = r
        return out
    out[:] = result
    return out


def _coerce_other(op, a):
    if isinstance(a, (list, tuple)):
        return np.asarray(a, dtype=np.float32)
    raise TypeError(f"{op.name}: expected NDArray or number, got {type(a).__name__} at "
                    f"{user_frame()}")


def _device_mismatch(op, args):
    devs = [str(a._ctx) for a in args if isinstance(a, _NDArray)]
    raise OpError(f"{op.name}: inputs are on different devices {devs}; move them with "
                  f".as_in_context(ctx) first (inputs {describe_args(args)}, at {user_frame()})")


def op_error(op, args, attrs, exc):
    """Translate a kernel failure into kiln's error: the op, its inputs, attributes and line."""
    shown = {k: v for k, v in attrs.items() if not k.startswith("_")}
    msg = _infer_message(op, args, attrs) or str(exc).split("\n")[0]
    if msg.startswith(op.name + ":"):  # kernels often name the op themselves
        msg = msg[len(op.name) + 1:].lstrip()
    kind = OpIndexError if isinstance(exc, IndexError) else OpError
    err = kind(f"{op.name}: {msg} (inputs {describe_args(args)}, attrs {shown}) "
               f"at {user_frame()}")
    err.op = op.name
    return err


def _infer_message(op, args, attrs):
    """The ``infer`` facet's reason to refuse these inputs, if it has one: a kernel failure
    then reads as the same error the hybridized trace gives, not numpy's wording."""
    if op.infer is None:
        return None
    avals = [Aval(tuple(a.shape), a.dtype) if hasattr(a, "shape") and hasattr(a, "dtype")
             else a for a in args]
    try:
        op.infer(*avals, **attrs)
    except OpError as e:
        return str(e).split("\n")[0]
    except Exception:  # noqa: BLE001 - infer's own trouble: keep the kernel's message
        return None
    return None


def current_mode():
    """``'tracing'`` while hybridize traces, else ``'eager'``."""
    return "tracing" if STATE.tracer is not None else "eager"
