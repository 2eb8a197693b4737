"""The 'local' and 'device' kvstores: reduce the values pushed from the devices of one process.

A key holds one stored array. ``push`` sums the values given for a key (one per device) and
stores the sum, or, once an optimizer/updater is set, calls ``updater(key, sum, stored)``;
``pull`` copies the stored array to every output. This is MXNet 1.9's KVStore without the
engine: everything is done when the call returns.

Example::

    >>> kv = kiln.kv.create('device')
    >>> kv.init('w', kiln.nd.zeros((2,)))
    >>> kv.push('w', [kiln.nd.ones((2,), ctx=kiln.cpu(0)), kiln.nd.ones((2,), ctx=kiln.cpu(1))])
    >>> out = kiln.nd.zeros((2,)); kv.pull('w', out=out); out.asnumpy()
    array([2., 2.], dtype=float32)
"""
from .. import optimizer as opt
from ..base import atomic_write
from ..ndarray._derived import thaw
from ..ndarray.ndarray import NDArray, _move
from ..symbol.cached import PARAM_WRITE_VERSION
from . import base, row_sparse
from .base import KVStoreBase, KVStoreError, key_value_pairs

__all__ = ["KVStore"]


class KVStore(KVStoreBase):
    """A single-process store ('local' or 'device'); see the module docstring."""

    def __init__(self, name="local"):
        self._type = name
        self._store = {}
        self._index = {}  # key -> the optimizer's index: the key itself, or init order for strs
        self._updater = None
        self._key_type = None
        self._compression = None

    # ---- properties --------------------------------------------------------------------------
    @property
    def type(self):
        """The type name given to ``create``."""
        return self._type

    @property
    def rank(self):
        """0: one process."""
        return 0

    @property
    def num_workers(self):
        """1: one process."""
        return 1

    def is_capable(self, capability):
        """Every kiln store can run the optimizer (``set_optimizer``)."""
        if capability.lower() == KVStoreBase.OPTIMIZER:
            return True
        raise KVStoreError(f"kvstore.is_capable: unknown capability {capability!r}")

    # ---- data --------------------------------------------------------------------------------
    def init(self, key, value):
        """Store a copy of ``value`` (the first one, if a list) under ``key`` (or keys)."""
        for k, vals in self._pairs(key, value, "init"):
            if k in self._store:
                raise KVStoreError(f"kvstore.init: duplicate init of key {k!r}")
            self._store[k] = self._initial(k, vals[0])
            self._index[k] = k if isinstance(k, int) else len(self._index)

    def push(self, key, value, priority=0):
        """Sum ``value`` (one NDArray per device) into ``key``'s stored array, or apply the
        updater to that sum. ``priority`` is accepted for MXNet compatibility."""
        pairs = self._pairs(key, value, "push")
        self._reduce_and_apply(pairs)

    def pull(self, key, out=None, priority=0, ignore_sparse=True):
        """Copy ``key``'s stored array into ``out`` (an NDArray or one per device)."""
        if out is None:
            raise KVStoreError("kvstore.pull: out is required (the arrays to copy into)")
        self._write_out(self._pairs(key, out, "pull"))

    def pushpull(self, key, value, out=None, priority=0):
        """``push`` then ``pull``; with ``out=None`` the result overwrites ``value``.

        A list of keys is done as one batch (one bucketed allreduce on a dist store)."""
        pairs = self._pairs(key, value, "pushpull")
        self._reduce_and_apply(pairs)
        self._write_out(pairs if out is None else self._pairs(key, out, "pushpull"))

    def broadcast(self, key, value, out, priority=0):
        """``init(key, value)`` then ``pull(key, out)`` (on a dist store: rank 0's value)."""
        self.init(key, value)
        self.pull(key, out=out)

    def row_sparse_pull(self, key, out=None, priority=0, row_ids=None):
        """Copy rows ``row_ids`` of ``key``'s row_sparse array into the row_sparse ``out``
        (one array or one per device; ``row_ids`` one NDArray or one per out)."""
        if out is None or row_ids is None:
            raise KVStoreError("kvstore.row_sparse_pull: out and row_ids are required")
        for k, outs in self._pairs(key, out, "row_sparse_pull"):
            row_sparse.pull_rows(k, self._store[k], outs, row_ids)

    # ---- optimizer ---------------------------------------------------------------------------
    def set_optimizer(self, optimizer):
        """Run ``optimizer`` on the store: a push then updates the stored weight."""
        self._updater = opt.get_updater(optimizer)

    def _set_updater(self, updater):
        """Use ``updater(key, merged, stored)`` for pushes (MXNet's private hook)."""
        self._updater = updater

    def set_gradient_compression(self, compression_params):
        """Only ``{'type': 'none'}`` (off, the default) is supported."""
        kind = (compression_params or {}).get("type", "none")
        if kind != "none":
            raise KVStoreError(f"kvstore.set_gradient_compression: type {kind!r} is not "
                               "supported (kiln reduces full-precision gradients)")
        self._compression = compression_params

    def save_optimizer_states(self, fname, dump_optimizer=False):
        """Write the updater's states to ``fname`` atomically (the Trainer's format)."""
        self._need_updater("save_optimizer_states")
        atomic_write(fname, self._updater.get_states(dump_optimizer=dump_optimizer))

    def load_optimizer_states(self, fname):
        """Read what ``save_optimizer_states`` wrote (validated; never unpickled)."""
        self._need_updater("load_optimizer_states")
        with open(fname, "rb") as f:
            self._updater.set_states(f.read(), source=str(fname))

    def _barrier(self):
        """Wait for every worker (nothing to wait for in one process)."""

    # ---- internals ---------------------------------------------------------------------------
    def _need_updater(self, what):
        if not isinstance(self._updater, opt.Updater):
            raise KVStoreError(f"kvstore.{what}: no optimizer on the store (call "
                               "set_optimizer first)")

    def _pairs(self, key, value, what):
        pairs = key_value_pairs(key, value, what)
        for k, vals in pairs:
            kind = type(k)
            if self._key_type is None:
                self._key_type = kind
            elif kind is not self._key_type:
                raise KVStoreError(f"kvstore.{what}: key {k!r} is a {kind.__name__} but this "
                                   f"store's keys are {self._key_type.__name__}s (do not mix)")
            for v in vals:
                if not isinstance(v, NDArray):
                    raise KVStoreError(f"kvstore.{what}: key {k!r}: values must be NDArrays, "
                                       f"got {type(v).__name__}")
            if what != "init" and k not in self._store:
                raise KVStoreError(f"kvstore.{what}: key {k!r} doesn't exist. Did you init?")
        return pairs

    def _initial(self, key, value):
        if row_sparse.is_sparse(value):  # the key keeps its storage type, as in MXNet
            return value.copy()
        return NDArray(value._data.copy(), value.context)

    def _merge(self, key, vals):
        """The sum of ``vals`` on the stored array's device (a new array)."""
        stored = self._store[key]
        for v in vals:
            if v.shape != stored.shape:
                raise KVStoreError(f"kvstore: key {key!r} holds shape {stored.shape}, got a "
                                   f"value of shape {v.shape}")
        if row_sparse.is_sparse(vals[0]):
            return row_sparse.merge(key, stored, vals)
        total = _move(vals[0]._data, stored.context, copy=True)
        for v in vals[1:]:
            total += _move(v._data, stored.context)
        return NDArray(total, stored.context)

    def _allreduce(self, keys, merged):
        """Across processes: nothing to do in one process (dist stores override)."""

    def _pushpull_reduced(self, keys, values, out):
        """``pushpull`` of values already summed across devices and processes (the dist
        Trainer's overlapped allreduce): store them or update with them, then pull."""
        pairs = self._pairs(keys, values, "pushpull")
        self._apply(keys, [vals[0] for _, vals in pairs])
        self._write_out(self._pairs(keys, out, "pushpull"))

    def _reduce_and_apply(self, pairs):
        keys = [k for k, _ in pairs]
        merged = [self._merge(k, vals) for k, vals in pairs]
        self._allreduce(keys, merged)
        self._apply(keys, merged)

    def _apply(self, keys, merged):
        stored = [self._store[k] for k in keys]
        if self._updater is None:
            for s, m in zip(stored, merged):
                if row_sparse.is_sparse(s):
                    row_sparse.store(s, m)
                else:
                    thaw(s._data)
                    s._data[...] = m._data
        elif isinstance(self._updater, opt.Updater):  # all keys in one call (multi-tensor SGD)
            self._updater([self._index[k] for k in keys], merged, stored)
        else:
            for k, m, s in zip(keys, merged, stored):
                self._updater(k, m, s)

    def _write_out(self, pairs):
        for k, outs in pairs:
            stored = self._store[k]
            for o in outs:
                if o.shape != stored.shape:
                    raise KVStoreError(f"kvstore.pull: key {k!r} holds shape {stored.shape}, "
                                       f"out has shape {o.shape}")
                if row_sparse.is_sparse(o):   # a sparse gradient buffer: keep its storage
                    row_sparse.store(o, stored.as_in_context(o.context))
                else:
                    thaw(o._data)
                    o._data[...] = _move(stored._data, o.context)
        PARAM_WRITE_VERSION[0] += 1  # outputs may be Parameters: ort sessions rebuild


for _name in ("local", "device", "local_allreduce_cpu", "local_allreduce_device"):
    base._TYPES[_name] = KVStore
