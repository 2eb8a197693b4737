"""ParameterDict (Gluon 1.x) and the key matching shared by every parameter loader.

Saved files name parameters in several ways: structural names (``features.0.weight``, what
``save_parameters`` writes), MXNet 1.x full names (``dense0_weight``, from
``ParameterDict.save``), the same with a parent's prefix (``model_dense0_weight``), or Module
checkpoints' and ``export``'s ``arg:``/``aux:`` keys. :func:`match_loaded` pairs each saved key
with a parameter: by key first, then by 1.x name, then by a unique suffix on a ``_`` or ``.``
boundary.

Example::

    >>> pd = ParameterDict('net_')
    >>> w = pd.get('weight', shape=(2, 3))
    >>> w.name, 'net_weight' in pd
    ('net_weight', True)
"""
from collections import OrderedDict

import numpy as np

from .. import initializer
from .. import ndarray as nd
from ..base import FileFormatError
from .parameter import Constant, Parameter, ParameterError, _brief_print_list, _ctx_list, _indent

__all__ = ["ParameterDict", "ParameterFileError", "match_loaded", "strip_checkpoint_prefix"]


class ParameterFileError(ParameterError, FileFormatError):
    """A parameter file that does not fit the model (keys, shapes, dtypes, entries that hold no
    array): a ``ParameterError`` as Gluon raises, and a ``FileFormatError`` naming the file."""

    def __init__(self, path, reason):
        FileFormatError.__init__(self, path, reason)


def strip_checkpoint_prefix(loaded):
    """Drop Module checkpoints' ``arg:``/``aux:`` key prefixes (``loaded`` must be a dict)."""
    if not isinstance(loaded, dict):
        raise ParameterError("the file holds an unnamed list of arrays; parameters need names "
                             "(save them with save_parameters or nd.save of a dict)")
    return OrderedDict((k[4:] if k.startswith(("arg:", "aux:")) else k, v)
                       for k, v in loaded.items())


def _suffix_of(long, short):
    """True when ``short`` ends ``long`` at a name boundary (``_`` or ``.``)."""
    if long == short:
        return True
    return long.endswith(short) and long[-len(short) - 1] in "._"


def _suffix_match(key, named):
    hits = {}
    for k, p in named.items():
        for cand in (k, p.name):
            if _suffix_of(cand, key) or _suffix_of(key, cand):
                hits[id(p)] = p
    return next(iter(hits.values())) if len(hits) == 1 else None


def match_loaded(loaded, named, restore_prefix=""):
    """Pair saved keys with parameters.

    ``loaded``: saved key -> array; ``named``: key (structural or dict key) -> Parameter.
    Returns ``(pairs, missing, extra)``: ``(saved_key, param)`` pairs, the keys in ``named`` whose
    parameter got no value, and the saved keys that matched nothing.
    """
    by_name = {}
    for p in named.values():
        by_name.setdefault(p.name, p)
    pairs, extra, got = [], [], set()
    for k in loaded:
        p = named.get(k) or by_name.get(k)
        if p is None and restore_prefix:
            p = named.get(restore_prefix + k) or by_name.get(restore_prefix + k)
        if p is None:
            p = _suffix_match(k, named)
        if p is None:
            extra.append(k)
        else:
            pairs.append((k, p))
            got.add(id(p))
    missing, seen = [], set()
    for k, p in named.items():
        if id(p) not in got and id(p) not in seen:
            missing.append(k)
        seen.add(id(p))
    return pairs, missing, extra


def load_into(loaded, named, source, ctx=None, allow_missing=False, ignore_extra=False,
              restore_prefix="", cast_dtype=False, dtype_source="current", path=None):
    """Check and load saved arrays into parameters: every key, entry, shape, dtype and device
    is checked before the first parameter is written. ``path``: the file the arrays came from
    (its errors are then ``ParameterFileError``s, which are ``FileFormatError``s too)."""
    def fail(reason):
        return ParameterFileError(path, reason) if path is not None else ParameterError(reason)
    if cast_dtype and dtype_source not in ("current", "saved"):
        raise ParameterError(f"dtype_source must be 'current' or 'saved', got {dtype_source!r}")
    try:
        loaded = strip_checkpoint_prefix(loaded)
    except ParameterError as e:
        raise fail(str(e)) from None
    pairs, missing, extra = match_loaded(loaded, named, restore_prefix)
    if missing and not allow_missing:
        names = [f"{k} ({named[k].name})" if named[k].name != k else k for k in missing]
        raise fail(
            f"Parameter(s) {_brief_print_list(names)} missing in {source}, which contains "
            f"parameters: {_brief_print_list(loaded.keys())}. Set allow_missing=True to ignore "
            f"missing parameters.")
    if extra and not ignore_extra:
        raise fail(
            f"Parameter(s) {_brief_print_list(extra)} loaded from {source} not present in the "
            f"model, which contains parameters {_brief_print_list(named.keys())}. Set "
            f"ignore_extra=True to ignore.")
    ctx = None if ctx is None else _ctx_list(ctx)
    for k, p in pairs:
        problem = _load_problem(p, loaded[k], ctx, cast_dtype)
        if problem:
            raise fail(f"Failed loading Parameter '{p.name}' from saved params (key {k!r} in "
                       f"{source}): {problem}")
    for k, p in pairs:
        p._load_init(loaded[k], ctx, cast_dtype=cast_dtype, dtype_source=dtype_source)


def _load_problem(p, data, ctx, cast_dtype):
    """Why ``data`` cannot be loaded into ``p`` (what ``Parameter._load_init`` would refuse),
    or None."""
    if not (hasattr(data, "shape") and hasattr(data, "dtype")):
        return f"the saved entry holds no array ({type(data).__name__})"
    saved = tuple(data.shape)
    if p._shape is not None and (len(saved) != len(p._shape) or any(
            s not in (-1, 0, d) for s, d in zip(p._shape, saved))):
        return f"shape incompatible expected {p.shape} vs saved {saved}"
    if p._dtype is not None and np.dtype(p._dtype) != np.dtype(data.dtype) and not cast_dtype:
        return (f"dtype incompatible expected {np.dtype(p._dtype).name} vs saved "
                f"{np.dtype(data.dtype).name}. Set cast_dtype=True to cast the dtype of saved "
                f"params.")
    if ctx is not None:
        have = p.list_ctx() if p._data is not None else (
            p._deferred_init[1] if p._deferred_init else None)
        if have is not None and set(ctx) != set(have):
            return f"it is initialized on {list(have)}, not on {ctx}"
    return None


class ParameterDict:
    """An ordered name -> Parameter mapping with a name ``prefix`` (Gluon 1.x).

    ``get(name, **kwargs)`` returns the parameter ``prefix + name``, creating it (or taking it
    from the ``shared`` dict) when absent. ``Block.collect_params()`` fills one keyed by full
    names (``dense0_weight``) as MXNet 1.9 does; ``d[key]`` also finds a parameter by its 1.x
    name or, in a collected dict, by its structural name (``features.0.weight``), a kiln
    convenience (``in``, ``keys()`` and iteration see the full names only).
    """

    def __init__(self, prefix="", shared=None):
        self._prefix = prefix
        self._params = OrderedDict()
        self._shared = shared
        self._structural = OrderedDict()   # structural name -> Parameter (collect_params only)

    def _add_collected(self, structural, param):
        """Add ``param`` (found at ``structural``) under its full name, once.

        MXNet 1.9 refuses two different Parameters with the same full name; kiln keys the
        later one by its structural name instead (blocks with equal explicit prefixes, two
        SymbolBlocks loaded from one file), so every parameter stays reachable.
        """
        self._structural.setdefault(structural, param)
        if any(v is param for v in self._params.values()):
            return
        key = param.name if self._params.get(param.name, param) is param else structural
        self._params[key] = param

    def __repr__(self):
        name = self._prefix + " " if self._prefix else ""
        content = "\n".join(_indent(f"  {v}", 2) for v in self.values())
        return f"{name}(\n{content}\n)"

    def _by_name(self, key):
        for p in self._params.values():
            if p.name == key:
                return p
        return None

    def __getitem__(self, key):
        p = self._params.get(key)
        if p is None:
            p = self._by_name(key)
        if p is None:
            p = self._structural.get(key)
        if p is None:
            raise KeyError(f"no Parameter {key!r}; keys are {_brief_print_list(self.keys())}")
        return p

    def __contains__(self, key):
        return key in self._params or self._by_name(key) is not None

    def __iter__(self):
        return iter(self._params)

    def __len__(self):
        return len(self._params)

    def __bool__(self):
        return True

    def items(self):
        return self._params.items()

    def keys(self):
        return self._params.keys()

    def values(self):
        return self._params.values()

    def __setitem__(self, key, value):
        if not isinstance(value, Parameter):
            raise TypeError(f"ParameterDict values must be Parameters, got {type(value)}")
        self._params[key] = value

    @property
    def prefix(self):
        """The prefix added to names given to ``get`` and ``get_constant``."""
        return self._prefix

    def _get_impl(self, name):
        if name in self._params:
            return self._params[name]
        if self._shared is not None:
            p = self._shared._params.get(name) or self._shared._by_name(name)
            if p is not None:
                self._params[name] = p
                return p
        return None

    def get(self, name, **kwargs):
        """The Parameter ``prefix + name``; created with ``kwargs`` when absent, else checked
        against them (unknown shape dimensions get filled)."""
        name = self._prefix + name
        param = self._get_impl(name)
        if param is None:
            param = Parameter(name, **kwargs)
            param._prefixed = True
            self._params[name] = param
            return param
        for k, v in kwargs.items():
            existing = getattr(param, k, None)
            if existing is None:
                setattr(param, k, v)
            elif k == "shape" and _merge_shape(param, v):
                continue
            elif k == "dtype" and np.dtype(v) == np.dtype(existing):
                continue
            elif v is not None and v != existing:
                raise ParameterError(
                    f"Cannot retrieve Parameter '{name}' because desired attribute does not "
                    f"match with stored for attribute '{k}': desired '{v}' vs stored "
                    f"'{existing}'.")
        return param

    def get_constant(self, name, value=None):
        """The Constant ``prefix + name``, created from ``value`` when absent."""
        name = self._prefix + name
        param = self._get_impl(name)
        if param is None:
            if value is None:
                raise KeyError(f"No constant named '{name}'. Please specify value if you want "
                               f"to create a new constant.")
            param = Constant(name, value)
            param._prefixed = True
            self._params[name] = param
        elif value is not None:
            if not isinstance(param, Constant):
                raise ParameterError(f"Parameter '{name}' already exists but it is not a "
                                     f"constant.")
            value = value.asnumpy() if hasattr(value, "asnumpy") else np.asarray(value)
            if param.shape != value.shape or not (param.value.asnumpy() == value).all():
                raise ParameterError(f"Constant '{name}' already exists but its value doesn't "
                                     f"match new value")
        return param

    def update(self, other):
        """Add ``other``'s parameters; the same name must mean the same Parameter."""
        for k, v in other.items():
            if k in self._params and self._params[k] is not v:
                raise ParameterError(f"Cannot update self with other because they have "
                                     f"different Parameters with the same name '{k}'")
        for k, v in other.items():
            self._params[k] = v
        for k, v in getattr(other, "_structural", {}).items():
            self._structural.setdefault(k, v)

    def initialize(self, init=initializer.Uniform(), ctx=None, verbose=False,
                   force_reinit=False):
        """Initialize every parameter; ``init`` applies where a parameter has no own init."""
        if verbose and hasattr(init, "set_verbosity"):
            init.set_verbosity(verbose=verbose)
        for v in self.values():
            v.initialize(None, ctx, init, force_reinit=force_reinit)

    def zero_grad(self):
        """Set every gradient buffer to 0."""
        for p in self.values():
            p.zero_grad()

    def reset_ctx(self, ctx):
        """Move every parameter onto ``ctx`` (a device or a list of devices)."""
        for p in self.values():
            p.reset_ctx(ctx)

    def list_ctx(self):
        """The devices used by any parameter, in first-seen order."""
        out = []
        for p in self.values():
            out.extend(c for c in p.list_ctx() if c not in out)
        return out

    def setattr(self, name, value):
        """Set attribute ``name`` (e.g. ``'grad_req'``, ``'lr_mult'``) on every parameter."""
        for p in self.values():
            setattr(p, name, value)

    def save(self, filename, strip_prefix=""):
        """Save with ``kiln.nd.save`` under each parameter's 1.x name minus ``strip_prefix``."""
        arg_dict = {}
        for p in self.values():
            if not p.name.startswith(strip_prefix):
                raise ValueError(f"Prefix '{strip_prefix}' is to be striped before saving, but "
                                 f"Parameter's name '{p.name}' does not start with "
                                 f"'{strip_prefix}'.")
            arg_dict[p.name[len(strip_prefix):]] = p._reduce()
        nd.save(filename, arg_dict)

    def load(self, filename, ctx=None, allow_missing=False, ignore_extra=False,
             restore_prefix="", cast_dtype=False, dtype_source="current"):
        """Load a file written by ``save``/``save_parameters`` (keys matched as described in
        this module's docstring)."""
        self.load_dict(nd.load(filename), ctx, allow_missing, ignore_extra, restore_prefix,
                       filename, cast_dtype, dtype_source)

    def load_dict(self, param_dict, ctx=None, allow_missing=False, ignore_extra=False,
                  restore_prefix="", filename=None, cast_dtype=False, dtype_source="current"):
        """Load from a dict name -> NDArray (same matching as ``load``)."""
        source = f"file '{filename}'" if filename else "param_dict"
        load_into(param_dict, self._params, source, ctx, allow_missing, ignore_extra,
                  restore_prefix, cast_dtype, dtype_source, path=filename)


def _merge_shape(param, shape):
    """Fill unknown dimensions of ``param``'s shape from ``shape``; False when they conflict."""
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    old = param._shape
    if len(old) != len(shape):
        return False
    merged = []
    for a, b in zip(shape, old):
        if a > 0 and b > 0 and a != b:
            return False
        merged.append(a if a > 0 else b)
    param._shape = tuple(merged)
    return True
