"""The base of ``kiln.io`` (re-exported by ``data/io.py``): MXNet 1.9's ``NDArrayIter``,
``DataBatch``, ``DataDesc``, ``DataIter`` and ``ResizeIter``.

Example::

    >>> it = kiln.io.NDArrayIter(np.ones((5, 2)), np.arange(5), batch_size=2)
    >>> [b.pad for b in it]                      # 'pad': the last batch wraps around
    [0, 0, 1]
    >>> it.provide_data
    [DataDesc[data,(2, 2),<class 'numpy.float32'>,NCHW]]
"""
from collections import OrderedDict, namedtuple

import numpy as np

from .. import ndarray as nd

_LAST_BATCH = ("pad", "discard", "roll_over")


class DataDesc(namedtuple("DataDesc", ["name", "shape"])):
    """Name, shape, dtype and layout of one input; a ``(name, shape)`` tuple with ``dtype`` and
    ``layout`` attributes.

    Example: ``DataDesc('data', (32, 3, 28, 28))`` compares equal to ``('data', (32, 3, 28, 28))``.
    """

    def __new__(cls, name, shape, dtype=np.float32, layout="NCHW"):
        ret = super().__new__(cls, name, shape)
        ret.dtype = dtype
        ret.layout = layout
        return ret

    def __repr__(self):
        return f"DataDesc[{self.name},{self.shape},{self.dtype},{self.layout}]"

    @staticmethod
    def get_batch_axis(layout):
        """The batch axis of ``layout`` (``'TNC'`` -> 1); 0 when ``layout`` is None."""
        return 0 if layout is None else layout.find("N")

    @staticmethod
    def get_list(shapes, types):
        """DataDescs from ``[(name, shape), ...]`` and optionally ``[(name, dtype), ...]``."""
        if types is None:
            return [DataDesc(n, s) for n, s in shapes]
        types = dict(types)
        return [DataDesc(n, s, types[n]) for n, s in shapes]


class DataBatch:
    """One mini-batch: ``data`` and ``label`` (lists of NDArrays), ``pad`` (examples at the end
    that only fill the batch up), ``index``, ``bucket_key``, ``provide_data``/``provide_label``.

    Example: ``DataBatch([nd.ones((2, 3))], [nd.zeros((2,))], pad=0)``.
    """

    def __init__(self, data, label=None, pad=None, index=None, bucket_key=None,
                 provide_data=None, provide_label=None):
        if data is not None and not isinstance(data, (list, tuple)):
            raise TypeError("DataBatch: data must be a list of NDArrays")
        if label is not None and not isinstance(label, (list, tuple)):
            raise TypeError("DataBatch: label must be a list of NDArrays")
        self.data, self.label, self.pad, self.index = data, label, pad, index
        self.bucket_key = bucket_key
        self.provide_data, self.provide_label = provide_data, provide_label

    def __str__(self):
        data_shapes = [d.shape for d in self.data]
        label_shapes = [x.shape for x in self.label] if self.label else None
        return f"{type(self).__name__}: data shapes: {data_shapes} label shapes: {label_shapes}"


class DataIter:
    """Base class of the iterators: ``next()`` gives a DataBatch or raises StopIteration;
    ``reset()`` starts the next epoch. Subclasses implement ``iter_next``, ``getdata``,
    ``getlabel``, ``getpad`` (and optionally ``getindex``)."""

    def __init__(self, batch_size=0):
        self.batch_size = batch_size

    def __iter__(self):
        return self

    def reset(self):
        """Go back to the start of the data."""

    def next(self):
        """The next DataBatch; raises StopIteration at the end of the epoch."""
        if not self.iter_next():
            raise StopIteration
        return DataBatch(data=self.getdata(), label=self.getlabel(), pad=self.getpad(),
                         index=self.getindex())

    def __next__(self):
        return self.next()

    def iter_next(self):
        """Move to the next batch; False at the end."""
        return False

    def getdata(self):
        """The current batch's data (list of NDArray)."""

    def getlabel(self):
        """The current batch's labels (list of NDArray)."""

    def getindex(self):
        """The example indices of the current batch (None when unknown)."""
        return None

    def getpad(self):
        """How many examples at the end of the current batch are padding."""


def _init_data(data, allow_empty, default_name):
    """``[(name, NDArray), ...]`` sorted by name, as MXNet names and orders its sources: a single
    array is ``default_name``, a list gives ``_0_<name>``, ``_1_<name>``..., a dict its keys."""
    if data is None:
        data = []
    if isinstance(data, (np.ndarray, nd.NDArray)):
        data = [data]
    if isinstance(data, (list, tuple)):
        if not data and not allow_empty:
            raise ValueError("NDArrayIter: data must not be empty")
        data = OrderedDict([(default_name, data[0])] if len(data) == 1 else
                           [(f"_{i}_{default_name}", d) for i, d in enumerate(data)])
    if not isinstance(data, dict):
        raise TypeError("NDArrayIter: data must be an NDArray, a numpy array, a list of them or "
                        f"a dict name -> array, got {type(data).__name__}")
    out = []
    for k, v in data.items():
        if not isinstance(v, nd.NDArray):
            try:
                v = nd.array(v)   # float32, as MXNet converts numpy sources
            except Exception as e:
                raise TypeError(f"NDArrayIter: invalid type {type(v).__name__} for {k!r}; "
                                "expected an NDArray or numpy array") from e
        out.append((k, v))
    return sorted(out, key=lambda kv: kv[0])


class NDArrayIter(DataIter):
    """Iterate over NDArrays / numpy arrays in mini-batches along the batch axis.

    ``data``/``label``: an array, a list of arrays or a dict name -> array (same number of
    examples each). ``last_batch_handle``: ``'pad'`` (fill the last batch from the start;
    ``batch.pad`` counts the filler), ``'discard'`` (drop the incomplete tail) or ``'roll_over'``
    (carry the tail into the first batch of the next epoch). ``shuffle`` reorders the examples
    (numpy's global RNG) at construction and at every ``reset()``.

    Example::

        >>> it = NDArrayIter(np.arange(10).reshape(5, 2), np.arange(5), 2,
        ...                  last_batch_handle='discard')
        >>> [b.data[0].shape for b in it]
        [(2, 2), (2, 2)]
    """

    def __init__(self, data, label=None, batch_size=1, shuffle=False, last_batch_handle="pad",
                 data_name="data", label_name="softmax_label", layout="NCHW"):
        super().__init__(batch_size)
        if last_batch_handle not in _LAST_BATCH:
            raise ValueError(f"last_batch_handle must be one of {_LAST_BATCH}, got "
                             f"{last_batch_handle!r}")
        self.data = _init_data(data, allow_empty=False, default_name=data_name)
        self.label = _init_data(label, allow_empty=True, default_name=label_name)
        self.layout = layout
        self._axis = max(DataDesc.get_batch_axis(layout), 0)
        self.num_data = self.data[0][1].shape[self._axis]
        # MXNet 1.9 reads the first num_data examples of every source: a label with more
        # examples is accepted (its tail is never reached, as in MXNet); fewer would give
        # short or failing batches, so that is refused, as is data of differing lengths
        for i, (k, v) in enumerate(self.data + self.label):
            n = v.shape[self._axis]
            if n != self.num_data and not (n > self.num_data and i >= len(self.data)):
                raise ValueError(f"NDArrayIter: {k!r} has {n} examples, "
                                 f"{self.data[0][0]!r} has {self.num_data}")
        self.idx = np.arange(self.num_data)
        self.shuffle = shuffle
        self.last_batch_handle = last_batch_handle
        self.batch_size = int(batch_size)
        self.cursor = -self.batch_size
        self._cache = None   # (data, label) of the incomplete tail, for 'roll_over'
        self.reset()
        self.data_list = [v for _, v in self.data] + [v for _, v in self.label]
        self.num_source = len(self.data_list)

    def _descs(self, source):
        descs = []
        for k, v in source:
            shape = list(v.shape)
            shape[self._axis] = self.batch_size
            descs.append(DataDesc(k, tuple(shape), v.dtype, layout=self.layout))
        return descs

    @property
    def provide_data(self):
        """``[DataDesc(name, batch shape, dtype, layout)]`` of the data sources."""
        return self._descs(self.data)

    @property
    def provide_label(self):
        """``[DataDesc(...)]`` of the label sources (empty without labels)."""
        return self._descs(self.label)

    def hard_reset(self):
        """Start over, dropping any rolled-over examples."""
        if self.shuffle:
            self._shuffle_data()
        self.cursor = -self.batch_size
        self._cache = None

    def reset(self):
        """Start the next epoch (reshuffling when ``shuffle``); with ``'roll_over'`` the tail
        left by the last epoch opens the first batch."""
        if self.shuffle:
            self._shuffle_data()
        n, bs = self.num_data, self.batch_size
        if self.last_batch_handle == "roll_over" and n - bs < self.cursor < n:
            # cursor goes negative by the number of rolled-over examples
            self.cursor = self.cursor - n - bs
        else:
            self.cursor = -bs
            self._cache = None

    def iter_next(self):
        self.cursor += self.batch_size
        return self.cursor < self.num_data

    def next(self):
        if not self.iter_next():
            raise StopIteration
        data, label = self.getdata(), self.getlabel()
        if data[0].shape[self._axis] != self.batch_size:
            self._cache = (data, label)   # incomplete tail: discarded or rolled over
            raise StopIteration
        return DataBatch(data=data, label=label, pad=self.getpad(), index=None)

    def _rows(self, v, start, stop):
        return v.slice_axis(axis=self._axis, begin=start, end=stop)

    def _batchify(self, source, which):
        c, bs, n = self.cursor, self.batch_size, self.num_data
        if c >= n:
            raise RuntimeError("DataIter needs reset()")
        if self.last_batch_handle == "roll_over" and c < 0 and self._cache is not None:
            head = self._cache[which]
            return [nd.concat(h, self._rows(v, 0, c + bs), dim=self._axis)
                    for h, (_, v) in zip(head, source)]
        if self.last_batch_handle == "pad" and c + bs > n:
            # wrap around (several times when batch_size > num_data)
            rows = nd.array(np.arange(c, c + bs) % n, dtype="int64")
            return [nd.take(v, rows.as_in_context(v.context), axis=self._axis)
                    for _, v in source]
        return [self._rows(v, c, min(c + bs, n)) for _, v in source]

    def getdata(self):
        return self._batchify(self.data, 0)

    def getlabel(self):
        return self._batchify(self.label, 1)

    def getpad(self):
        c, bs, n = self.cursor, self.batch_size, self.num_data
        if self.last_batch_handle == "pad" and c + bs > n:
            return c + bs - n
        if self.last_batch_handle == "roll_over" and -bs < c < 0:
            return -c   # as MXNet 1.9 reports it: the number of rolled-over examples
        return 0

    def _shuffle_data(self):
        # the permutation composes with the previous one, as in MXNet (same global RNG stream)
        np.random.shuffle(self.idx)
        self.data = [(k, self._permute(v)) for k, v in self.data]
        self.label = [(k, self._permute(v)) for k, v in self.label]

    def _permute(self, v):
        rows = nd.array(self.idx, ctx=v.context, dtype="int64")
        return nd.take(v, rows, axis=self._axis)


class ResizeIter(DataIter):
    """Give exactly ``size`` batches per epoch from ``data_iter``, restarting it when it runs out.

    Example: ``ResizeIter(NDArrayIter(nd.ones((100, 10)), batch_size=25), 2)`` yields 2 batches.
    """

    def __init__(self, data_iter, size, reset_internal=True):
        super().__init__(data_iter.batch_size)
        self.data_iter, self.size, self.reset_internal = data_iter, size, reset_internal
        self.cur = 0
        self.current_batch = None
        self.provide_data = data_iter.provide_data
        self.provide_label = data_iter.provide_label
        if hasattr(data_iter, "default_bucket_key"):
            self.default_bucket_key = data_iter.default_bucket_key

    def reset(self):
        self.cur = 0
        if self.reset_internal:
            self.data_iter.reset()

    def iter_next(self):
        if self.cur == self.size:
            return False
        try:
            self.current_batch = self.data_iter.next()
        except StopIteration:
            self.data_iter.reset()
            self.current_batch = self.data_iter.next()
        self.cur += 1
        return True

    def getdata(self):
        return self.current_batch.data

    def getlabel(self):
        return self.current_batch.label

    def getindex(self):
        return self.current_batch.index

    def getpad(self):
        return self.current_batch.pad


__all__ = ["DataDesc", "DataBatch", "DataIter", "NDArrayIter", "ResizeIter"]
