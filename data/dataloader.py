"""DataLoader: mini-batches from a Dataset (``kiln.data.DataLoader``, MXNet 1.9 Gluon API).

Shuffling (``shuffle=True``) uses ``RandomSampler``, i.e. numpy's global generator, as MXNet 1.9
does. ``num_workers > 0`` runs ``batchify_fn`` in worker processes (fork where available, else
spawn) or, with ``thread_pool=True``, in threads; batches come back in sampler order, a worker's
exception is re-raised in the caller, and a batch not ready after ``timeout`` seconds raises
``multiprocessing.TimeoutError``. ``try_nopython`` (MXNet's C++ iterator) is accepted and ignored.

Example::

    >>> loader = DataLoader(ArrayDataset(np.arange(5.0), np.arange(5)), batch_size=2)
    >>> [b[0].shape for b in loader]
    [(2,), (2,), (1,)]
"""
import numpy as np

from .. import device as _device
from ..ndarray import NDArray
from ..ndarray import array as _nd_array
from ..ndarray import stack as _nd_stack
from ..ndarray.ndarray import np_mode
from . import _workers
from . import sampler as _sampler

__all__ = ["DataLoader", "DataLoaderV1", "default_batchify_fn", "default_mp_batchify_fn"]


def default_batchify_fn(data):
    """Collate a list of samples into a batch, as MXNet's ``default_batchify_fn``.

    NDArrays are stacked along a new first axis (dtype kept); tuples are collated element-wise
    into a *list* of batches; anything else goes through ``numpy.asarray`` and keeps numpy's
    dtype (Python ints -> int64, Python floats -> float64, uint8 images stay uint8).

    Example::

        >>> b = default_batchify_fn([(np.ones(2, 'uint8'), 1), (np.zeros(2, 'uint8'), 0)])
        >>> b[0].shape, b[0].dtype, b[1].dtype
        ((2, 2), <class 'numpy.uint8'>, <class 'numpy.int64'>)
    """
    if isinstance(data[0], NDArray):
        return _np_if(_nd_stack(*data))
    if isinstance(data[0], tuple):
        return [default_batchify_fn(list(i)) for i in zip(*data)]
    arr = np.asarray(data)
    return _np_if(_nd_array(arr, dtype=arr.dtype))


def _np_if(batch):
    """Batches are ``kiln.np`` arrays under ``npx.set_np()``, as MXNet's batchify makes."""
    return batch.as_np_ndarray() if np_mode() else batch


# MXNet's worker variant only differs by allocating in shared memory.
default_mp_batchify_fn = default_batchify_fn


def _as_in_context(data, ctx):
    """Move every NDArray in (nested lists/tuples of) ``data`` onto ``ctx``."""
    if isinstance(data, NDArray):
        return data.as_in_context(ctx)
    if isinstance(data, (list, tuple)):
        return [_as_in_context(d, ctx) for d in data]
    return data


class _MultiWorkerIter:
    """Keeps up to ``prefetch`` batches in flight and hands them back in sampler order."""

    def __init__(self, loader, pool, batch_sampler, prefetch, timeout, pin_ctx):
        self._loader = loader  # keeps the loader (and so its pool) alive while iterating
        self._pool = pool
        self._iter = iter(batch_sampler)
        self._len = len(batch_sampler)
        self._timeout = timeout
        self._pin_ctx = pin_ctx
        self._pending = []
        for _ in range(prefetch):
            self._push_next()

    def __len__(self):
        return self._len

    def __iter__(self):
        return self

    def _push_next(self):
        indices = next(self._iter, None)
        if indices is not None:
            self._pending.append(self._pool.submit(indices))

    def __next__(self):
        self._push_next()
        if not self._pending:
            raise StopIteration
        batch = self._pending.pop(0).result(self._timeout)
        if self._pin_ctx is not None:
            batch = _as_in_context(batch, self._pin_ctx)
        return batch

    next = __next__

    def __del__(self):
        # An abandoned epoch: let the pool drop the results still on their way.
        for handle in getattr(self, "_pending", ()):
            try:
                handle.cancel()
            except Exception:  # noqa: BLE001  (interpreter shutting down)
                pass


class DataLoader:
    """Loads mini-batches from ``dataset``.

    Parameters follow MXNet 1.9: ``batch_size``; ``shuffle`` (a ``RandomSampler``); ``sampler``
    (not with ``shuffle``); ``last_batch`` ('keep' default, 'discard', 'rollover');
    ``batch_sampler`` (excludes the four before); ``batchify_fn`` (default
    ``default_batchify_fn``); ``num_workers``; ``pin_memory``/``pin_device_id`` (batches moved to
    ``cpu_pinned``); ``prefetch`` (batches in flight, default ``2 * num_workers``);
    ``thread_pool``; ``timeout`` (seconds per batch with workers); ``try_nopython`` and
    ``auto_reload`` (MXNet's hints to compile batchify or prefetch the next epoch: accepted,
    kiln prefetches each epoch when its iteration starts).

    Example::

        >>> loader = DataLoader(SimpleDataset(list(range(7))), batch_size=3, last_batch='discard')
        >>> len(loader), [b.asnumpy().tolist() for b in loader]
        (2, [[0, 1, 2], [3, 4, 5]])
    """

    def __init__(self, dataset, batch_size=None, shuffle=False, sampler=None,
                 last_batch=None, batch_sampler=None, batchify_fn=None,
                 num_workers=0, pin_memory=False, pin_device_id=0,
                 prefetch=None, thread_pool=False, timeout=120, try_nopython=None,
                 auto_reload=True):
        self._dataset = dataset
        self.auto_reload = auto_reload  # MXNet's prefetch of the next epoch: a speed hint
        self._pin_memory = pin_memory
        self._pin_device_id = pin_device_id
        self._thread_pool = thread_pool
        self._timeout = timeout
        assert timeout > 0, f"timeout must be positive, given {timeout}"
        self._batch_sampler = self._make_batch_sampler(dataset, batch_size, shuffle, sampler,
                                                       last_batch, batch_sampler)
        self._num_workers = num_workers if num_workers >= 0 else 0
        self._prefetch = max(0, int(prefetch) if prefetch is not None
                             else 2 * self._num_workers)
        self._batchify_fn = default_batchify_fn if batchify_fn is None else batchify_fn
        self._worker_pool = None
        if self._num_workers > 0:
            self._worker_pool = self._make_pool()

    @staticmethod
    def _make_batch_sampler(dataset, batch_size, shuffle, sampler, last_batch, batch_sampler):
        if batch_sampler is not None:
            if batch_size is not None or shuffle or sampler is not None or \
                    last_batch is not None:
                raise ValueError("batch_size, shuffle, sampler and last_batch must "
                                 "not be specified if batch_sampler is specified.")
            return batch_sampler
        if batch_size is None:
            raise ValueError("batch_size must be specified unless batch_sampler is specified")
        if sampler is None:
            sampler = (_sampler.RandomSampler(len(dataset)) if shuffle
                       else _sampler.SequentialSampler(len(dataset)))
        elif shuffle:
            raise ValueError("shuffle must not be specified if sampler is specified")
        return _sampler.BatchSampler(sampler, batch_size, last_batch if last_batch else "keep")

    def _make_pool(self):
        cls = _workers.ThreadPool if self._thread_pool else _workers.ProcessPool
        return cls(self._num_workers, self._dataset, self._batchify_fn)

    def _pin_ctx(self):
        return _device.cpu_pinned(self._pin_device_id) if self._pin_memory else None

    def __iter__(self):
        if self._num_workers == 0:
            return self._same_process_iter()
        if self._worker_pool is None or not self._worker_pool.alive:
            self._worker_pool = self._make_pool()  # the previous one lost a worker
        return _MultiWorkerIter(self, self._worker_pool, self._batch_sampler, self._prefetch,
                                self._timeout, self._pin_ctx())

    def _same_process_iter(self):
        pin_ctx = self._pin_ctx()
        for batch in self._batch_sampler:
            ret = self._batchify_fn([self._dataset[idx] for idx in batch])
            if pin_ctx is not None:
                ret = _as_in_context(ret, pin_ctx)
            yield ret

    def __len__(self):
        return len(self._batch_sampler)

    def __del__(self):
        pool = getattr(self, "_worker_pool", None)
        if pool is not None:
            pool.shutdown()


class DataLoaderV1(DataLoader):
    """MXNet's first DataLoader (``gluon.data.dataloader.DataLoaderV1``): the same batches as
    :class:`DataLoader`, with the older, shorter signature (no ``prefetch``, ``thread_pool``,
    ``timeout`` or ``auto_reload``); ``num_workers > 0`` loads in worker processes.

    Example::

        >>> loader = DataLoaderV1(SimpleDataset(list(range(5))), batch_size=2)
        >>> [b.asnumpy().tolist() for b in loader]
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, dataset, batch_size=None, shuffle=False, sampler=None,
                 last_batch=None, batch_sampler=None, batchify_fn=None,
                 num_workers=0, pin_memory=False, pin_device_id=0):
        super().__init__(dataset, batch_size=batch_size, shuffle=shuffle, sampler=sampler,
                         last_batch=last_batch, batch_sampler=batch_sampler,
                         batchify_fn=batchify_fn, num_workers=num_workers,
                         pin_memory=pin_memory, pin_device_id=pin_device_id)
