"""``kiln.kvstore`` (also ``kiln.kv``): MXNet 1.9's key-value stores for data-parallel training.

``create('local' | 'device')`` reduces across the devices of one process; ``create('dist_sync'
| 'dist_device_sync' | 'horovod')`` also allreduces across the processes of an MPI job (start
it with ``kiln launch -n 2 python train.py`` or ``mpirun -n 2 python train.py``). Pass a store
(or its name) to ``gluon.Trainer(kvstore=...)``.

Example::

    >>> kv = kiln.kv.create('local')
    >>> kv.init(0, kiln.nd.ones((2,)))
    >>> kv.push(0, [kiln.nd.ones((2,)), kiln.nd.ones((2,))])
    >>> out = kiln.nd.zeros((2,)); kv.pull(0, out=out); out.asnumpy()
    array([2., 2.], dtype=float32)
"""
from . import dist, local
from .base import KVStoreBase, KVStoreError, create
from .dist import DistKVStore
from .local import KVStore

__all__ = ["create", "KVStore", "KVStoreBase", "DistKVStore", "KVStoreError", "dist",
           "local"]
