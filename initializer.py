"""Weight initializers (``kiln.initializer``, also ``kiln.init``), as in MXNet 1.9.

An initializer is called as ``init(desc, arr)``: ``desc`` is an :class:`InitDesc` (a ``str``
holding the parameter's name) and ``arr`` the NDArray to fill in place. Without an explicit
``'__init__'`` attribute the name's suffix picks the rule, exactly as MXNet does: ``*weight`` gets
the initializer's own rule, ``*bias``/``*beta``/``*moving_mean``/``*running_mean`` zeros,
``*gamma``/``*moving_var``/``*running_var`` ones. Gluon's ``Parameter.initialize`` passes the
chosen initializer as ``'__init__'``, so there the rule applies whatever the name.

Random draws use ``kiln.random.generator(numpy)``, so ``kiln.random.seed(s)`` makes every
initialization reproducible.

Example::

    >>> import kiln as kl
    >>> w = kl.nd.zeros((4, 3))
    >>> kl.init.Xavier()(kl.init.InitDesc('fc_weight'), w)   # uniform in +-sqrt(3 / 3.5)
    >>> kl.init.create('zeros')
    <kiln.initializer.Zero object at ...>
"""
import json
import logging
import re

import numpy as np

from .base import string_types  # noqa: F401  (MXNet's mx.init exports these)
from .ndarray import NDArray, load  # noqa: F401
from .ndarray import rng as _random
from .ndarray import zeros as _nd_zeros
from .util import is_np_array  # noqa: F401

__all__ = ["InitDesc", "Initializer", "register", "alias", "create", "Zero", "One", "Constant",
           "Uniform", "Normal", "Orthogonal", "Xavier", "MSRAPrelu", "Bilinear", "LSTMBias",
           "FusedRNN", "Mixed", "Load"]

_REGISTRY = {}


class InitDesc(str):
    """A parameter's name plus the attributes that steer its initialization.

    ``attrs['__init__']`` (an Initializer or its name) forces that initializer's weight rule;
    ``global_init`` is the initializer the call started from.
    """

    def __new__(cls, name, attrs=None, global_init=None):
        ret = super().__new__(cls, name)
        ret.attrs = attrs or {}
        ret.global_init = global_init
        return ret


def register(klass):
    """Class decorator: make ``klass`` creatable by its lower-case name (``create('xavier')``)."""
    if not (isinstance(klass, type) and issubclass(klass, Initializer)):
        raise TypeError(f"can only register Initializer subclasses, got {klass!r}")
    _REGISTRY[klass.__name__.lower()] = klass
    return klass


def alias(*aliases):
    """Class decorator: register ``klass`` under extra names (``@alias('zeros')``)."""
    def reg(klass):
        for name in aliases:
            _REGISTRY[name.lower()] = klass
        return klass
    return reg


def create(init, *args, **kwargs):
    """An Initializer from an instance, a class, a registered name or a ``dumps()`` string.

    Example: ``create('xavier', magnitude=2)``, ``create('["uniform", {"scale": 0.1}]')``.
    """
    if isinstance(init, (Initializer, Mixed)):
        if args or kwargs:
            raise ValueError("cannot pass arguments when init is already an Initializer")
        return init
    if isinstance(init, type) and issubclass(init, Initializer):
        return init(*args, **kwargs)
    if isinstance(init, str):
        if init.startswith("["):
            name, kw = json.loads(init)
            return _lookup(name)(**kw)
        return _lookup(init)(*args, **kwargs)
    raise TypeError(f"cannot create an initializer from {init!r}; pass an Initializer, its class "
                    f"or a registered name such as 'xavier'")


def _lookup(name):
    klass = _REGISTRY.get(name.lower())
    if klass is None:
        raise ValueError(f"unknown initializer {name!r}; registered: {sorted(_REGISTRY)}")
    return klass


def _norm_print(arr):
    """Default verbose statistic: the array's root mean square."""
    a = np.asarray(arr.asnumpy(), dtype=np.float64)
    return str(float(np.linalg.norm(a) / np.sqrt(max(a.size, 1))))


def _fill(arr, value):
    """Write ``value`` (a number or numpy array) into NDArray ``arr`` in place."""
    if not isinstance(value, (int, float)):
        value = np.asarray(value).astype(np.dtype(arr.dtype), copy=False)
    arr[...] = value


def _rng():
    return _random.generator(np)


# Suffix rules of MXNet's Initializer.__call__ (names reaching none of them are an error).
_SUFFIX_RULES = [("weight", "_init_weight"), ("bias", "_init_bias"), ("gamma", "_init_gamma"),
                 ("beta", "_init_beta"), ("moving_mean", "_init_zero"),
                 ("running_mean", "_init_zero"), ("moving_var", "_init_one"),
                 ("running_var", "_init_one"), ("moving_inv_var", "_init_zero"),
                 ("moving_avg", "_init_zero"), ("min", "_init_zero"), ("max", "_init_one")]


def _same_arg(a, b):
    """Equality of initializer arguments, arrays compared by value."""
    if hasattr(a, "asnumpy") or hasattr(b, "asnumpy") or isinstance(a, np.ndarray):
        a = a.asnumpy() if hasattr(a, "asnumpy") else a
        b = b.asnumpy() if hasattr(b, "asnumpy") else b
        return np.array_equal(np.asarray(a), np.asarray(b))
    return bool(a == b)


class Initializer:
    """Base class: subclasses override ``_init_weight(name, arr)`` (and the other rules)."""

    def __init__(self, **kwargs):
        self._kwargs = kwargs
        self._verbose = False
        self._print_func = None

    def set_verbosity(self, verbose=False, print_func=None):
        """Log every initialized array (with ``print_func(arr)``, the RMS by default)."""
        self._verbose = verbose
        self._print_func = print_func or _norm_print
        return self

    def _verbose_print(self, desc, init, arr):
        if self._verbose and self._print_func:
            logging.info("Initialized %s as %s: %s", desc, init, self._print_func(arr))

    def __eq__(self, other):
        # MXNet 1.x compares initializers by type and arguments (ParameterDict.get checks that a
        # shared parameter's ``init`` matches; blocks built alike create equal initializers).
        if not isinstance(other, Initializer):
            return NotImplemented
        if type(self) is not type(other) or self._kwargs.keys() != other._kwargs.keys():
            return False
        return all(_same_arg(self._kwargs[k], other._kwargs[k]) for k in self._kwargs)

    __hash__ = object.__hash__   # stays usable as a dict key (identity), as before

    def dumps(self):
        """JSON ``[name, kwargs]`` that ``create`` turns back into this initializer."""
        return json.dumps([self.__class__.__name__.lower(), self._kwargs])

    def __call__(self, desc, arr):
        """Fill NDArray ``arr`` for the parameter described by ``desc`` (InitDesc or name)."""
        if not isinstance(desc, InitDesc):
            self._legacy_init(desc, arr)
            return
        if desc.global_init is None:
            desc.global_init = self
        init = desc.attrs.get("__init__", "")
        if init:
            create(init)._init_weight(desc, arr)
            self._verbose_print(desc, init, arr)
            return
        for suffix, rule in _SUFFIX_RULES:
            if desc.endswith(suffix):
                getattr(self, rule)(desc, arr)
                self._verbose_print(desc, suffix, arr)
                return
        self._init_default(desc, arr)

    def _legacy_init(self, name, arr):
        """MXNet's name-only dispatch (a plain ``str`` name instead of an InitDesc)."""
        if not isinstance(name, str):
            raise TypeError("name must be a string")
        if name.startswith("upsampling"):
            self._init_bilinear(name, arr)
        elif name.startswith("stn_loc") and name.endswith("weight"):
            self._init_zero(name, arr)
        elif name.startswith("stn_loc") and name.endswith("bias"):
            self._init_loc_bias(name, arr)
        else:
            self(InitDesc(name), arr)

    def _init_bilinear(self, _, arr):
        shape = arr.shape
        if len(shape) != 4:
            raise ValueError(f"bilinear initialization needs a 4-D weight, got shape {shape}")
        f = np.ceil(shape[3] / 2.0)
        c = (2 * f - 1 - f % 2) / (2.0 * f)
        wx = 1 - np.abs(np.arange(shape[3]) / f - c)
        wy = 1 - np.abs(np.arange(shape[2]) / f - c)
        _fill(arr, np.broadcast_to(np.outer(wy, wx), shape))

    def _init_loc_bias(self, _, arr):
        if arr.shape[0] != 6:
            raise ValueError("stn_loc bias must have 6 elements")
        _fill(arr, np.array([1.0, 0, 0, 0, 1.0, 0]))

    def _init_zero(self, _, arr):
        _fill(arr, 0.0)

    def _init_one(self, _, arr):
        _fill(arr, 1.0)

    def _init_bias(self, _, arr):
        _fill(arr, 0.0)

    def _init_gamma(self, _, arr):
        _fill(arr, 1.0)

    def _init_beta(self, _, arr):
        _fill(arr, 0.0)

    def _init_weight(self, name, arr):
        raise NotImplementedError(f"{type(self).__name__} must override _init_weight")

    def _init_default(self, name, _):
        raise ValueError(
            f"Unknown initialization pattern for {name}. Default initialization is limited to "
            f"names ending in 'weight', 'bias', 'gamma' (1.0), 'beta' (0.0) and running/moving "
            f"statistics; give the Parameter an explicit init=")


@register
@alias("zeros")
class Zero(Initializer):
    """Fills with 0."""

    def _init_weight(self, _, arr):
        _fill(arr, 0.0)


@register
@alias("ones")
class One(Initializer):
    """Fills with 1."""

    def _init_weight(self, _, arr):
        _fill(arr, 1.0)


@register
class Constant(Initializer):
    """Fills with ``value`` (a number, or an array broadcastable to the parameter's shape)."""

    def __init__(self, value):
        super().__init__(value=value)
        self.value = value

    def _init_weight(self, _, arr):
        value = self.value
        if hasattr(value, "asnumpy"):
            value = value.asnumpy()
        _fill(arr, np.broadcast_to(np.asarray(value), arr.shape))

    def dumps(self):
        value = self.value
        if hasattr(value, "asnumpy"):
            value = value.asnumpy()
        if isinstance(value, np.ndarray):
            value = value.tolist()
        return json.dumps([self.__class__.__name__.lower(), {"value": value}])


@register
class Uniform(Initializer):
    """Uniform on ``[-scale, scale]``."""

    def __init__(self, scale=0.07):
        super().__init__(scale=scale)
        self.scale = scale

    def _init_weight(self, _, arr):
        _fill(arr, _rng().uniform(-self.scale, self.scale, size=arr.shape))


@register
class Normal(Initializer):
    """Normal with mean 0 and standard deviation ``sigma``."""

    def __init__(self, sigma=0.01):
        super().__init__(sigma=sigma)
        self.sigma = sigma

    def _init_weight(self, _, arr):
        _fill(arr, _rng().normal(0.0, self.sigma, size=arr.shape))


@register
class Orthogonal(Initializer):
    """Orthogonal rows or columns (``scale`` times the SVD factor of a random matrix).

    The weight of shape ``(n_out, ...)`` is viewed as ``(n_out, prod(rest))``.
    """

    def __init__(self, scale=1.414, rand_type="uniform"):
        super().__init__(scale=scale, rand_type=rand_type)
        self.scale = scale
        self.rand_type = rand_type

    def _init_weight(self, _, arr):
        nout = arr.shape[0]
        nin = int(np.prod(arr.shape[1:]))
        if self.rand_type == "uniform":
            tmp = _rng().uniform(-1.0, 1.0, size=(nout, nin))
        elif self.rand_type == "normal":
            tmp = _rng().normal(0.0, 1.0, size=(nout, nin))
        else:
            raise ValueError(f"unknown rand_type {self.rand_type!r}; use 'uniform' or 'normal'")
        u, _s, v = np.linalg.svd(tmp, full_matrices=False)
        res = u if u.shape == tmp.shape else v
        _fill(arr, self.scale * res.reshape(arr.shape))


@register
class Xavier(Initializer):
    """Glorot initialization: scale ``sqrt(magnitude / factor)`` where factor is fan_in,
    fan_out or their mean (``factor_type`` 'in', 'out', 'avg'); uniform on [-scale, scale] or
    gaussian with that standard deviation (``rnd_type``). Needs a weight of at least 2-D.
    """

    def __init__(self, rnd_type="uniform", factor_type="avg", magnitude=3):
        super().__init__(rnd_type=rnd_type, factor_type=factor_type, magnitude=magnitude)
        self.rnd_type = rnd_type
        self.factor_type = factor_type
        self.magnitude = float(magnitude)

    def _init_weight(self, name, arr):
        shape = arr.shape
        if len(shape) < 2:
            raise ValueError(f"Xavier initializer cannot be applied to vector {name}. It requires "
                             f"at least 2D (give this Parameter init='zeros' or another init).")
        hw_scale = float(np.prod(shape[2:])) if len(shape) > 2 else 1.0
        fan_in, fan_out = shape[1] * hw_scale, shape[0] * hw_scale
        factors = {"avg": (fan_in + fan_out) / 2.0, "in": fan_in, "out": fan_out}
        if self.factor_type not in factors:
            raise ValueError(f"Incorrect factor type {self.factor_type!r}: use 'avg', 'in' or "
                             f"'out'")
        scale = np.sqrt(self.magnitude / factors[self.factor_type])
        if self.rnd_type == "uniform":
            _fill(arr, _rng().uniform(-scale, scale, size=shape))
        elif self.rnd_type == "gaussian":
            _fill(arr, _rng().normal(0.0, scale, size=shape))
        else:
            raise ValueError(f"Unknown random type {self.rnd_type!r}: use 'uniform' or "
                             f"'gaussian'")


@register
class MSRAPrelu(Xavier):
    """He (MSRA) initialization for PReLU: gaussian Xavier with magnitude 2 / (1 + slope^2)."""

    def __init__(self, factor_type="avg", slope=0.25):
        magnitude = 2.0 / (1 + slope ** 2)
        super().__init__("gaussian", factor_type, magnitude)
        self._kwargs = {"factor_type": factor_type, "slope": slope}


@register
class Bilinear(Initializer):
    """Bilinear upsampling kernel for a 4-D deconvolution weight."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, name, arr):
        self._init_bilinear(name, arr)


@register
class LSTMBias(Initializer):
    """Zeros except the forget gate (the second of four blocks), set to ``forget_bias``."""

    def __init__(self, forget_bias=1.0):
        super().__init__(forget_bias=forget_bias)
        self.forget_bias = forget_bias

    def _init_weight(self, name, arr):
        n = int(arr.shape[0] / 4)
        value = np.zeros(arr.shape)
        value[n:2 * n] = self.forget_bias
        _fill(arr, value)


# The gates of each fused RNN mode, in the order the flat parameter stores them (cuDNN's).
_RNN_GATES = {"lstm": ("_i", "_f", "_c", "_o"), "gru": ("_r", "_z", "_o"),
              "rnn_tanh": ("",), "rnn_relu": ("",)}


def fused_rnn_pieces(size, num_hidden, num_layers, mode, bidirectional):
    """``[(name, offset, shape)]`` of the per-gate matrices and vectors inside a fused RNN's
    flat parameter of ``size`` elements: for each layer and direction (``l``, then ``r``) the
    i2h then h2h weights of every gate, then all biases in the same order. Names are MXNet's
    (``l0_i2h_f_weight``, ``r1_h2h_o_bias``); the input width follows from ``size``.

    Example: an LSTM with 3 hidden units over 2 inputs has 4 * 3 * (2 + 3 + 2) = 84 elements;
    its first piece is ``('l0_i2h_i_weight', 0, (3, 2))``."""
    if mode not in _RNN_GATES:
        raise ValueError(f"FusedRNN: mode must be one of {sorted(_RNN_GATES)}, got {mode!r}")
    gates, dirs, h = _RNN_GATES[mode], ("l", "r")[:2 if bidirectional else 1], num_hidden
    per_dir = len(gates) * h
    # size = D*G*H*(in + H + 2) + (L-1)*D*G*H*(D*H + H + 2): solve for the input width
    rest = (num_layers - 1) * (len(dirs) * h + h + 2)
    num_input = size // (len(dirs) * per_dir) - rest - h - 2
    if num_input < 1 or len(dirs) * per_dir * (num_input + h + 2 + rest) != size:
        raise ValueError(f"FusedRNN: {size} elements do not fit a {num_layers}-layer "
                         f"{'bidirectional ' if bidirectional else ''}{mode} of {h} units")
    pieces, pos = [], 0
    for layer in range(num_layers):
        width = num_input if layer == 0 else len(dirs) * h
        for d in dirs:
            for kind, cols in (("i2h", width), ("h2h", h)):
                for g in gates:
                    pieces.append((f"{d}{layer}_{kind}{g}_weight", pos, (h, cols)))
                    pos += h * cols
    for layer in range(num_layers):
        for d in dirs:
            for kind in ("i2h", "h2h"):
                for g in gates:
                    pieces.append((f"{d}{layer}_{kind}{g}_bias", pos, (h,)))
                    pos += h
    return pieces


@register
class FusedRNN(Initializer):
    """Initializes the flat parameter of a fused RNN layer gate by gate, as MXNet does: each
    per-gate weight matrix and bias (see :func:`fused_rnn_pieces`) goes through ``init`` (the
    global initializer when None) under its own name, so weights get ``init``'s rule, biases
    zeros, and an LSTM's forget-gate biases (i2h and h2h) ``forget_bias``.

    Example::

        >>> w = kl.nd.zeros((84,))   # LSTM, 3 units over 2 inputs
        >>> kl.init.FusedRNN(kl.init.Xavier(), 3, 1, 'lstm')._init_weight(
        ...     kl.init.InitDesc('lstm_parameters'), w)
    """

    def __init__(self, init, num_hidden, num_layers, mode, bidirectional=False,
                 forget_bias=1.0):
        if isinstance(init, str):   # from dumps(): the inner initializer's own JSON
            klass, kwargs = json.loads(init)
            init = _lookup(klass)(**kwargs)
        super().__init__(init=init.dumps() if init is not None else None,
                         num_hidden=num_hidden, num_layers=num_layers, mode=mode,
                         bidirectional=bidirectional, forget_bias=forget_bias)
        self._init, self._num_hidden, self._num_layers = init, num_hidden, num_layers
        self._mode, self._bidirectional, self._forget_bias = mode, bidirectional, forget_bias

    def _init_weight(self, desc, arr):
        flat = np.zeros(arr.size, dtype=np.dtype(arr.dtype))
        global_init = getattr(desc, "global_init", None)
        for name, pos, shape in fused_rnn_pieces(arr.size, self._num_hidden,
                                                 self._num_layers, self._mode,
                                                 self._bidirectional):
            count = int(np.prod(shape))
            if self._mode == "lstm" and name.endswith("_f_bias"):
                flat[pos:pos + count] = self._forget_bias
                continue
            init = self._init if self._init is not None else global_init
            if init is None:
                raise ValueError(f"FusedRNN: no initializer for {name} (give init=, or call "
                                 f"it from a global initializer)")
            piece = _nd_zeros(shape, dtype=arr.dtype, ctx=arr.context)
            init(InitDesc(name, global_init=global_init), piece)
            flat[pos:pos + count] = piece.asnumpy().ravel()
        _fill(arr, flat.reshape(arr.shape))


class Mixed:
    """Picks the initializer of the first regex in ``patterns`` that matches the name.

    Example: ``Mixed(['bias', '.*'], [Zero(), Uniform(0.1)])``.
    """

    def __init__(self, patterns, initializers):
        if len(patterns) != len(initializers):
            raise ValueError("Mixed needs as many patterns as initializers")
        self.map = list(zip([re.compile(p) for p in patterns], initializers))

    def __call__(self, name, arr):
        for prog, init in self.map:
            if prog.match(name):
                init(name, arr)
                return
        raise ValueError(f"Parameter name {name} did not match any pattern. Consider adding a "
                         f"'.*' pattern at the end with a default Initializer.")


@register
class Load(Initializer):
    """Initializes from saved arrays (a dict name -> NDArray, or a file for ``kiln.nd.load``);
    names missing there go to ``default_init``."""

    def __init__(self, param, default_init=None, verbose=False):
        if isinstance(param, str):
            from . import ndarray as nd
            param = nd.load(param)
        super().__init__()
        self.param = {(k[4:] if k.startswith(("arg:", "aux:")) else k): v
                      for k, v in param.items()}
        self.default_init = default_init
        self.verbose = verbose

    def __call__(self, name, arr):
        if name in self.param:
            src = self.param[name]
            if tuple(src.shape) != tuple(arr.shape):
                raise ValueError(f"Parameter {name} cannot be initialized from loading: shape "
                                 f"{tuple(arr.shape)} vs saved {tuple(src.shape)}")
            _fill(arr, src.asnumpy() if hasattr(src, "asnumpy") else np.asarray(src))
            if self.verbose:
                logging.info("Initialized %s by loading", name)
        else:
            if self.default_init is None:
                raise ValueError(f"Cannot Initialize {name}: not found in loaded params and no "
                                 f"default Initializer is provided.")
            self.default_init(name, arr)
