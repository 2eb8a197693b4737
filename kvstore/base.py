"""KVStoreBase, the type registry and ``create`` (MXNet 1.9's ``mx.kv``), plus key handling.

Keys are ints or strs (one kind per store, as in MXNet); a call takes one key with a value (an
NDArray, or a list of NDArrays: one per device) or a list of keys with a list of such values.

Example::

    >>> kv = kiln.kv.create('local')
    >>> kv.init(3, kiln.nd.ones((2, 3)))
"""
from ..base import MXNetError

__all__ = ["KVStoreBase", "KVStoreError", "create"]


class KVStoreError(MXNetError, RuntimeError):
    """A kvstore misuse (unknown key, shape mismatch) or a failed/timed-out collective."""


class KVStoreBase:
    """The interface every kvstore type implements (``broadcast``, ``pushpull``, ...).

    Subclasses register with ``KVStoreBase.register`` under their lowercase class name; the
    built-in types are also registered under MXNet's names ('local', 'dist_sync', ...).
    """

    OPTIMIZER = "optimizer"
    kv_registry = {}

    @staticmethod
    def register(klass):
        """Register ``klass`` so ``create(klass.__name__.lower())`` makes one."""
        name = klass.__name__.lower()
        if name in KVStoreBase.kv_registry:
            raise KVStoreError(f"kvstore type {name!r} is already registered")
        KVStoreBase.kv_registry[name] = klass
        return klass

    def is_capable(self, capability):
        """Whether the store supports ``capability`` (``KVStoreBase.OPTIMIZER``)."""
        raise NotImplementedError

    @property
    def type(self):
        """The type name given to ``create``."""
        raise NotImplementedError

    @property
    def rank(self):
        """This worker's index in ``[0, num_workers)``."""
        raise NotImplementedError

    @property
    def num_workers(self):
        """The number of worker processes."""
        raise NotImplementedError


# name -> factory(name); filled by local.py and dist.py
_TYPES = {}


def create(name="local"):
    """A new kvstore of type ``name``.

    'local' / 'device': reduce across the devices of this process. 'dist_sync' (also
    'dist_sync_device', 'dist', 'horovod'): also allreduce across the MPI processes of the job
    (``mpirun -n N`` / ``kiln launch -n N``; needs ``mpi4py``). 'dist_device_sync': the same
    with NCCL (through cupy) for GPU arrays. A registered class name makes that class.

    Example::

        >>> kv = create('device'); kv.type, kv.rank, kv.num_workers
        ('device', 0, 1)
    """
    if not isinstance(name, str):
        raise TypeError(f"kvstore.create: name must be a str, got {type(name).__name__}")
    if name in _TYPES:
        return _TYPES[name](name)
    klass = KVStoreBase.kv_registry.get(name.lower())
    if klass is not None:
        return klass()
    known = sorted(set(_TYPES) | set(KVStoreBase.kv_registry))
    raise KVStoreError(f"kvstore.create: unknown type {name!r}; known types: {known} "
                       "('dist_async' and parameter servers are not supported: use 'dist_sync')")


def key_value_pairs(key, value, what):
    """``[(key, [NDArray, ...]), ...]`` from MXNet's key/value call forms."""
    if isinstance(key, (list, tuple)):
        if not isinstance(value, (list, tuple)) or len(value) != len(key):
            raise KVStoreError(f"kvstore.{what}: {len(key)} keys need a list of {len(key)} "
                               f"values, got {_describe(value)}")
        return [(_check_key(k, what), _as_list(v)) for k, v in zip(key, value)]
    return [(_check_key(key, what), _as_list(value))]


def _as_list(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _check_key(key, what):
    if isinstance(key, bool) or not isinstance(key, (int, str)):
        raise KVStoreError(f"kvstore.{what}: keys must be int or str, got {key!r}")
    return key


def _describe(value):
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)}"
    return type(value).__name__
