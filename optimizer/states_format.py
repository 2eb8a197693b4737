"""The optimizer-states file (``Trainer.save_states`` / ``Updater.get_states``): write, read,
validate.

An uncompressed ``.npz`` archive, never pickle: ``__meta__.npy`` holds one JSON document (the
format name, the per-index states and, when dumped, the optimizer's class and settings) in which
arrays are referenced by position; ``arr_<k>.npy`` hold the arrays. Reading parses the archive
and the ``.npy`` headers itself, so every declared size is checked against the bytes present
before anything is allocated, and any defect raises ``FileFormatError`` naming the file.

Example::

    >>> blob = encode(updater.states, updater.optimizer)
    >>> states, optimizer = parse(blob, "run.states", current=updater.optimizer)
"""
import inspect
import io
import json
import math
import warnings
import zipfile

import numpy as np

from ..base import FileFormatError
from ..ndarray.ndarray import NDArray
from .optimizer import Optimizer

FORMAT = "kiln-optimizer-states"
_MAX_HEADER = 10000


class _Bad(Exception):
    """A defect found while reading; turned into a FileFormatError naming the file."""


# ---- writing ----------------------------------------------------------------------------------
class _Unencodable(TypeError):
    pass


def encode(states, optimizer=None):
    """The file's bytes for ``states`` (index -> state) and, if given, ``optimizer``."""
    arrays = []
    meta = {"format": FORMAT, "version": 1, "states": _encode(states, arrays),
            "optimizer": _encode_optimizer(optimizer, arrays) if optimizer is not None
            else None}
    buf = io.BytesIO()
    entries = {f"arr_{k}": a for k, a in enumerate(arrays)}
    entries["__meta__"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    np.savez(buf, **entries)
    return buf.getvalue()


def _encode(obj, arrays):
    """JSON-able form of ``obj``; NDArrays go to ``arrays`` and are referenced by position."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj)
    if isinstance(obj, NDArray):
        arrays.append(obj.asnumpy())
        return {"__nd__": len(arrays) - 1}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(o, arrays) for o in obj]}
    if isinstance(obj, list):
        return [_encode(o, arrays) for o in obj]
    if isinstance(obj, dict):
        return {"__dict__": [[_encode(k, arrays), _encode(v, arrays)] for k, v in obj.items()]}
    from .lr_scheduler import LRScheduler
    if isinstance(obj, LRScheduler):
        cls = type(obj)
        return {"__sched__": cls.__qualname__, "module": cls.__module__,
                "attrs": _encode(dict(vars(obj)), arrays)}
    raise _Unencodable(f"cannot save {type(obj).__name__}")


def _encode_optimizer(opt, arrays):
    attrs = {}
    for name, value in vars(opt).items():
        if name in ("param_dict", "_index_update_count", "sym_info"):
            continue  # param_dict is the Trainer's; the count dict is re-linked on load
        try:
            attrs[name] = _encode(value, arrays)
        except _Unencodable:
            continue  # unsaveable extras keep the live optimizer's value on load
    return {"class": type(opt).__name__.lower(), "attrs": attrs}


# ---- reading ----------------------------------------------------------------------------------
def parse(blob, source=None, current=None):
    """``(states, optimizer or None)`` from the file's bytes; ``current``: the live optimizer
    (a dumped optimizer of the same class starts from its settings, and every setting read
    must be of the kind the live one has). Raises ``FileFormatError`` naming ``source``."""
    try:
        arrays, meta = _read_archive(bytes(blob))
        used = set()
        states = _decode(meta["states"], arrays, used)
        if not isinstance(states, dict) or not all(_is_int(k) for k in states):
            raise _Bad("the states are not a mapping index -> state")
        entry = meta.get("optimizer")
        optimizer = None if entry is None else _decode_optimizer(entry, arrays, used, current)
    except _Bad as e:
        raise FileFormatError(source, f"not a valid kiln optimizer-states file: {e}") from None
    except RecursionError:
        raise FileFormatError(source, "not a valid kiln optimizer-states file: nested too "
                                      "deeply") from None
    return states, optimizer


def _read_archive(blob):
    """(arrays by position, meta document) from the npz bytes, sizes checked first."""
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            members = {}
            for info in zf.infolist():
                if info.compress_type != zipfile.ZIP_STORED or info.file_size > len(blob) or \
                        info.compress_size != info.file_size:
                    raise _Bad(f"member {info.filename!r} is compressed or larger than the file")
                members[info.filename] = zf.read(info)
    except _Bad:
        raise
    except Exception as e:   # zipfile reports a damaged archive in many ways
        raise _Bad(f"damaged archive ({type(e).__name__}: {e})") from None
    if "__meta__.npy" not in members:
        raise _Bad("no __meta__ entry")
    raw = _npy(members.pop("__meta__.npy"), "__meta__")
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise _Bad("__meta__ is not a byte string")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise _Bad(f"__meta__ is not JSON text: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or "states" not in meta:
        raise _Bad(f"__meta__ does not describe a {FORMAT!r} document")
    arrays = {}
    for name, data in members.items():
        index = name[4:-4]
        if not (name.startswith("arr_") and name.endswith(".npy") and index.isdigit()):
            raise _Bad(f"unexpected member {name!r}")
        arrays[int(index)] = _npy(data, name)
    return arrays, meta


def _npy(data, what):
    """An array from ``.npy`` bytes: numeric dtypes only, size checked against the bytes."""
    fmt = np.lib.format
    f = io.BytesIO(data)
    try:
        version = fmt.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(f, max_header_size=_MAX_HEADER)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(f, max_header_size=_MAX_HEADER)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except Exception as e:   # numpy's header parser (a tokenizer) reports it in many ways
        raise _Bad(f"{what}: bad .npy header ({type(e).__name__}: {e})") from None
    if dtype.kind not in "biufc" or dtype.hasobject or any(d < 0 for d in shape):
        raise _Bad(f"{what}: unsupported array {dtype} {shape}")
    count = math.prod(shape)
    if count * dtype.itemsize != len(data) - f.tell():
        raise _Bad(f"{what}: shape {shape} {dtype} needs {count * dtype.itemsize} bytes, "
                   f"{len(data) - f.tell()} are present")
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=f.tell())
    return np.array(flat.reshape(shape, order="F" if fortran else "C"))


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def _decode(obj, arrays, used):
    """The value ``_encode`` wrote; each array may be referenced once."""
    if isinstance(obj, list):
        return [_decode(o, arrays, used) for o in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if not isinstance(obj, dict):
        raise _Bad(f"unexpected {type(obj).__name__}")
    kind = sorted(obj)
    if kind == ["__nd__"]:
        k = obj["__nd__"]
        if not _is_int(k) or k not in arrays or k in used:
            raise _Bad(f"array reference {k!r} is missing or used twice")
        used.add(k)
        return NDArray(arrays[k])
    if kind == ["__tuple__"] and isinstance(obj["__tuple__"], list):
        return tuple(_decode(o, arrays, used) for o in obj["__tuple__"])
    if kind == ["__dict__"] and isinstance(obj["__dict__"], list):
        out = {}
        for pair in obj["__dict__"]:
            if not isinstance(pair, list) or len(pair) != 2:
                raise _Bad("a mapping entry is not a [key, value] pair")
            key = _hashable(_decode(pair[0], arrays, used))
            out[key] = _decode(pair[1], arrays, used)
        return out
    if kind == ["__sched__", "attrs", "module"]:
        cls = _scheduler_class(obj["__sched__"], obj["module"])
        attrs = _decode(obj["attrs"], arrays, used)
        if not isinstance(attrs, dict) or not all(isinstance(k, str) for k in attrs):
            raise _Bad("lr_scheduler settings are not a mapping name -> value")
        return _rebuild_scheduler(cls, attrs)
    raise _Bad(f"unknown entry {kind}")


def _rebuild_scheduler(cls, attrs):
    """The scheduler with ``attrs``, after its constructor has checked the arguments it stores
    under their own names (step >= 1, factor <= 1...) and the rest have the kinds it sets."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    kwargs = {p.name: attrs[p.name] for p in params if p.name in attrs}
    if "base_lr" in kwargs and "warmup_final_lr" in attrs:   # base_lr decays as it runs;
        kwargs["base_lr"] = attrs["warmup_final_lr"]         # the checks are on its start
    needed = [p.name for p in params if p.default is p.empty and
              p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in attrs]
    reference = None
    if not needed:   # else its constructor takes arguments it does not store as attributes
        try:
            reference = cls(**kwargs)
        except Exception as e:   # the scheduler's own argument checks
            raise _Bad(f"lr_scheduler {cls.__name__}: {type(e).__name__}: {e}") from None
    for name, value in attrs.items():
        if reference is not None and not _same_kind(value, getattr(reference, name, None)):
            raise _Bad(f"lr_scheduler setting {name}={value!r:.60} does not fit "
                       f"{cls.__name__}")
    sched = cls.__new__(cls)
    sched.__dict__.update(attrs)
    return sched


def _hashable(key):
    if isinstance(key, (list, tuple)):
        return tuple(_hashable(k) for k in key)
    if isinstance(key, (dict, NDArray)):
        raise _Bad("a mapping key is not a number, string or tuple")
    return key


def _scheduler_class(qualname, module):
    """Only LRScheduler subclasses already defined in this process can be rebuilt."""
    from .lr_scheduler import LRScheduler
    todo, seen = [LRScheduler], set()
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        if cls.__qualname__ == qualname and cls.__module__ == module:
            return cls
        todo.extend(cls.__subclasses__())
    raise _Bad(f"it names an unknown lr_scheduler {module}.{qualname}")


def _decode_optimizer(entry, arrays, used, current):
    if not isinstance(entry, dict) or not isinstance(entry.get("class"), str) or \
            not isinstance(entry.get("attrs"), dict):
        raise _Bad("the optimizer entry needs a class name and settings")
    cls = Optimizer.opt_registry.get(entry["class"])
    if cls is None:
        raise _Bad(f"it names an unknown optimizer {entry['class']!r}")
    attrs = {k: _decode(v, arrays, used) for k, v in entry["attrs"].items()}
    reference = current if type(current) is cls else _default(cls)
    for name, value in attrs.items():
        old = getattr(reference, name, None) if reference is not None else None
        if not _same_kind(value, old) or not _valid_setting(name, value):
            raise _Bad(f"optimizer setting {name}={value!r:.60} does not fit "
                       f"{cls.__name__} (expected {type(old).__name__})")
    opt = cls.__new__(cls)
    if type(current) is cls:
        opt.__dict__.update(vars(current))
    opt.__dict__.update(attrs)
    counts = opt.__dict__.setdefault("_all_index_update_counts", {0: {}})
    opt._index_update_count = counts.setdefault(getattr(opt, "_device_key", 0), {})
    opt.sym_info = getattr(current, "sym_info", ())
    opt.param_dict = {}
    return opt


def _default(cls):
    """A default instance to compare settings with (None when the class needs arguments)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return cls()
    except Exception:   # an optimizer class whose constructor needs arguments
        return None


def _same_kind(new, old):
    from .lr_scheduler import LRScheduler
    if new is None or old is None:
        return True
    if isinstance(old, (bool, int, float)):
        return isinstance(new, (bool, int, float))
    if isinstance(old, LRScheduler):
        return isinstance(new, LRScheduler)
    return type(new) is type(old)


def _valid_setting(name, value):
    if name in ("num_update", "begin_num_update", "_device_key", "aggregate_num"):
        return _is_int(value)
    if name in ("lr_mult", "wd_mult"):
        return isinstance(value, dict) and all(isinstance(v, (int, float))
                                               for v in value.values())
    if name == "idx2name":
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    if name == "_all_index_update_counts":
        return isinstance(value, dict) and all(
            _is_int(dev) and isinstance(c, dict) and all(map(_is_int, c.keys()))
            and all(map(_is_int, c.values())) for dev, c in value.items())
    return True


def check_states(states, optimizer, weights, source=None):
    """Check states read from a file against the parameters they will update: indices in range
    and, for each, the same layout (shapes, dtypes) as the state ``optimizer`` creates for that
    weight. ``weights``: one NDArray (or None when unknown) per parameter index."""
    for index, state in states.items():
        if not 0 <= index < len(weights):
            raise FileFormatError(source, f"optimizer states for parameter index {index}, but "
                                          f"the trainer has {len(weights)} parameters")
        if weights[index] is None:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = optimizer.create_state_multi_precision(index, weights[index])
        problem = _layout_problem(state, expected)
        if problem:
            raise FileFormatError(source, f"the optimizer state of parameter {index} does not "
                                          f"fit it: {problem} (states of another model?)")


def _layout_problem(got, want):
    if isinstance(want, NDArray):
        if not isinstance(got, NDArray):
            return f"expected an array, found {type(got).__name__}"
        if got.shape != want.shape or np.dtype(got.dtype) != np.dtype(want.dtype):
            return (f"shape {got.shape} {np.dtype(got.dtype).name}, expected {want.shape} "
                    f"{np.dtype(want.dtype).name}")
        return None
    if isinstance(want, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(want):
            return f"expected {len(want)} parts, found {got!r:.60}"
        return next((p for p in map(_layout_problem, got, want) if p), None)
    if want is None:
        return None if got is None else f"expected no state, found {type(got).__name__}"
    return None if _same_kind(got, want) else f"found {type(got).__name__}"
