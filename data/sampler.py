"""Samplers: iterables of dataset indices (``kiln.data`` / ``gluon.data``; MXNet 1.9 semantics).

``RandomSampler`` shuffles with numpy's global generator (``numpy.random.shuffle``), as MXNet 1.9
does, so ``numpy.random.seed`` makes the order reproducible.

Example::

    >>> list(BatchSampler(SequentialSampler(5), 2, 'keep'))
    [[0, 1], [2, 3], [4]]
"""
import numpy as np

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "FilterSampler", "BatchSampler",
           "IntervalSampler", "SplitSampler"]

_LAST_BATCH = ("keep", "discard", "rollover")


class Sampler:
    """Base class: subclasses define ``__iter__`` (indices) and ``__len__``."""

    def __iter__(self):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """Indices ``start, start+1, ..., start+length-1`` in order.

    Example::

        >>> list(SequentialSampler(3, start=2))
        [2, 3, 4]
    """

    def __init__(self, length, start=0):
        self._length = length
        self._start = start

    def __iter__(self):
        return iter(range(self._start, self._start + self._length))

    def __len__(self):
        return self._length


class RandomSampler(Sampler):
    """A random permutation of ``[0, length)`` per epoch, drawn with ``numpy.random.shuffle``.

    Example::

        >>> sorted(RandomSampler(4))
        [0, 1, 2, 3]
    """

    def __init__(self, length):
        self._length = length

    def __iter__(self):
        indices = np.arange(self._length)
        np.random.shuffle(indices)
        return iter(indices)

    def __len__(self):
        return self._length


class FilterSampler(Sampler):
    """Indices of the samples of ``dataset`` for which ``fn(sample)`` is true (computed once).

    Example::

        >>> list(FilterSampler(lambda x: x % 2 == 0, [5, 6, 7, 8]))
        [1, 3]
    """

    def __init__(self, fn, dataset):
        self._fn = fn
        self._dataset = dataset
        self._indices = [i for i in range(len(dataset)) if fn(dataset[i])]

    def __iter__(self):
        return iter(self._indices)

    def __len__(self):
        return len(self._indices)


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``.

    ``last_batch`` says what happens to an incomplete final batch: ``'keep'`` yields it,
    ``'discard'`` drops it, ``'rollover'`` prepends it to the next epoch's first batch.

    Example::

        >>> list(BatchSampler(SequentialSampler(10), 3, 'keep'))
        [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    """

    def __init__(self, sampler, batch_size, last_batch="keep"):
        self._sampler = sampler
        self._batch_size = batch_size
        self._last_batch = last_batch
        self._prev = []

    def _bad_last_batch(self):
        return ValueError(f"last_batch must be one of 'keep', 'discard', or 'rollover', "
                          f"but got {self._last_batch}")

    def __iter__(self):
        batch, self._prev = self._prev, []
        for i in self._sampler:
            batch.append(i)
            if len(batch) == self._batch_size:
                yield batch
                batch = []
        if batch:
            if self._last_batch == "keep":
                yield batch
            elif self._last_batch == "rollover":
                self._prev = batch
            elif self._last_batch != "discard":
                raise self._bad_last_batch()

    def __len__(self):
        if self._last_batch == "keep":
            return (len(self._sampler) + self._batch_size - 1) // self._batch_size
        if self._last_batch == "discard":
            return len(self._sampler) // self._batch_size
        if self._last_batch == "rollover":
            return (len(self._prev) + len(self._sampler)) // self._batch_size
        raise self._bad_last_batch()


class IntervalSampler(Sampler):
    """Every ``interval``-th index; with ``rollover`` it then restarts from 1, 2, ... so every
    index is visited once.

    Example::

        >>> list(IntervalSampler(7, 3))
        [0, 3, 6, 1, 4, 2, 5]
        >>> list(IntervalSampler(7, 3, rollover=False))
        [0, 3, 6]
    """

    def __init__(self, length, interval, rollover=True):
        assert interval <= length, \
            f"Interval {interval} must be smaller than or equal to length {length}"
        self._length = length
        self._interval = interval
        self._rollover = rollover

    def __iter__(self):
        for i in range(self._interval if self._rollover else 1):
            yield from range(i, self._length, self._interval)

    def __len__(self):
        # MXNet reports the full length even without rollover.
        return self._length


class SplitSampler(Sampler):
    """Part ``part_index`` of ``num_parts`` contiguous, equal parts of ``[0, length)``: the
    data shard of one worker in data-parallel training (``num_parts=kv.num_workers``,
    ``part_index=kv.rank``; GluonNLP's ``SplitSampler``).

    Every part has ``length // num_parts`` indices (the last ``length % num_parts`` indices
    are left out, so all workers run the same number of batches); ``even_size=False`` gives
    them to the first parts instead. With ``shuffle`` the part's indices are permuted each
    epoch by ``numpy.random.shuffle``.

    Example::

        >>> list(SplitSampler(10, num_parts=3, part_index=1))
        [3, 4, 5]
    """

    def __init__(self, length, num_parts=1, part_index=0, shuffle=False, even_size=True):
        if not (isinstance(num_parts, int) and num_parts >= 1):
            raise ValueError(f"SplitSampler: num_parts must be a positive int, got {num_parts!r}")
        if not (isinstance(part_index, int) and 0 <= part_index < num_parts):
            raise ValueError(f"SplitSampler: part_index must be in [0, {num_parts}), got "
                             f"{part_index!r}")
        if length < num_parts:
            raise ValueError(f"SplitSampler: length {length} is smaller than num_parts "
                             f"{num_parts}: some part would be empty")
        size, extra = divmod(length, num_parts)
        if even_size:
            self._start, self._end = part_index * size, (part_index + 1) * size
        else:
            self._start = part_index * size + min(part_index, extra)
            self._end = self._start + size + (part_index < extra)
        self._shuffle = shuffle

    def __iter__(self):
        indices = np.arange(self._start, self._end)
        if self._shuffle:
            np.random.shuffle(indices)
        return iter(indices.tolist())

    def __len__(self):
        return self._end - self._start
