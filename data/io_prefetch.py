"""``mx.io.PrefetchingIter``: runs one or more iterators in background threads, one batch
ahead, and joins their batches.

Example::

    >>> it = PrefetchingIter(NDArrayIter(np.ones((10, 2)), batch_size=5))
    >>> [b.data[0].shape for b in it]
    [(5, 2), (5, 2)]
"""
import threading

from .io_base import DataBatch, DataDesc, DataIter

__all__ = ["PrefetchingIter"]


def _rename(descs, names):
    if names is None:
        return list(descs)
    return [DataDesc(names.get(d[0], d[0]), d[1], getattr(d, "dtype", None) or "float32",
                     getattr(d, "layout", "NCHW")) for d in descs]


class PrefetchingIter(DataIter):
    """Prefetches ``iters`` (one DataIter or a list of them, all giving the same number of
    batches) in threads; each batch's ``data``/``label`` are the iterators' lists joined.
    ``rename_data``/``rename_label``: one ``{old: new}`` dict per iterator.

    Example: ``PrefetchingIter([it_a, it_b], rename_data=[{'data': 'a'}, {'data': 'b'}])``.
    """

    def __init__(self, iters, rename_data=None, rename_label=None):
        iters = iters if isinstance(iters, list) else [iters]
        super().__init__(iters[0].batch_size)
        self.iters, self.n_iter = iters, len(iters)
        self.rename_data = rename_data or [None] * self.n_iter
        self.rename_label = rename_label or [None] * self.n_iter
        self.current_batch = None
        self._next = [None] * self.n_iter
        self._threads = []
        self._start()

    @property
    def provide_data(self):
        """The iterators' data descriptions, renamed."""
        return sum((_rename(i.provide_data, r) for i, r in zip(self.iters, self.rename_data)),
                   [])

    @property
    def provide_label(self):
        """The iterators' label descriptions, renamed."""
        return sum((_rename(i.provide_label, r)
                    for i, r in zip(self.iters, self.rename_label)), [])

    def _fetch(self, k):
        try:
            self._next[k] = ("ok", self.iters[k].next())
        except StopIteration:
            self._next[k] = ("stop", None)
        except Exception as e:   # re-raised in the consumer's thread
            self._next[k] = ("error", e)

    def _start(self):
        self._threads = [threading.Thread(target=self._fetch, args=(k,), daemon=True)
                         for k in range(self.n_iter)]
        for t in self._threads:
            t.start()

    def _join(self):
        for t in self._threads:
            t.join()
        self._threads = []

    def reset(self):
        self._join()
        for it in self.iters:
            it.reset()
        self._start()

    def iter_next(self):
        self._join()
        results = list(self._next)
        for kind, value in results:
            if kind == "error":
                raise value
        stops = [kind == "stop" for kind, _ in results]
        if all(stops):
            return False
        if any(stops):
            raise RuntimeError("PrefetchingIter: the iterators give different numbers of batches")
        batches = [b for _, b in results]
        self.current_batch = DataBatch(
            sum((list(b.data) for b in batches), []),
            sum((list(b.label or []) for b in batches), []),
            pad=batches[0].pad, index=batches[0].index,
            provide_data=self.provide_data, provide_label=self.provide_label)
        self._start()
        return True

    def next(self):
        if not self.iter_next():
            raise StopIteration
        return self.current_batch

    def getdata(self):
        return self.current_batch.data

    def getlabel(self):
        return self.current_batch.label

    def getindex(self):
        return self.current_batch.index

    def getpad(self):
        return self.current_batch.pad
