"""``kiln.io`` (MXNet's ``mx.io``): the data iterators.

In memory: ``NDArrayIter``; from files: ``CSVIter``, ``LibSVMIter`` (CSR batches),
``MNISTIter``, ``ImageRecordIter``; wrappers: ``ResizeIter``, ``PrefetchingIter``. Batches are
``DataBatch`` objects; ``provide_data``/``provide_label`` list ``DataDesc`` entries.

Example::

    >>> it = kiln.io.NDArrayIter(np.ones((5, 2)), np.arange(5), batch_size=2)
    >>> [b.pad for b in it]                      # 'pad': the last batch wraps around
    [0, 0, 1]
    >>> it.provide_data
    [DataDesc[data,(2, 2),<class 'numpy.float32'>,NCHW]]
"""
# ruff: noqa: F401
from .io_base import DataBatch, DataDesc, DataIter, NDArrayIter, ResizeIter, _init_data
from .io_files import CSVIter, LibSVMIter, MNISTIter
from .io_image import ImageRecordIter
from .io_prefetch import PrefetchingIter

__all__ = ["DataDesc", "DataBatch", "DataIter", "NDArrayIter", "ResizeIter", "CSVIter",
           "LibSVMIter", "MNISTIter", "ImageRecordIter", "PrefetchingIter"]
