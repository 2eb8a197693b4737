"""GPU collectives for the dist kvstores: NCCL through cupy ('dist_device_sync'), or MPI on
host copies of the GPU arrays (the other dist types).

NCCL's communicator is made from a unique id that rank 0 creates and MPI broadcasts; each rank
must use its own GPU (``kiln.gpu(kv.local_rank)``-style: one process per GPU). Buckets are the
same as on the host (``comm.bucket_plan``); every call is enqueued on the current stream and
synchronized before returning, so the arrays are ready as for the host path.

Example::

    >>> comm = NCCLComm(MPIComm.world())
    >>> comm.allreduce_([cupy_grad])          # summed in place across ranks
"""
import numpy as np

from .comm import bucket_plan

__all__ = ["NCCLComm", "StagedComm"]


class StagedComm:
    """MPI collectives on host copies of device arrays (no NCCL needed)."""

    def __init__(self, mpi_comm):
        self.mpi = mpi_comm

    def allreduce_(self, arrays, what="allreduce"):
        hosts = [a.get() for a in arrays]
        self.mpi.allreduce_(hosts, what)
        for a, h in zip(arrays, hosts):
            a.set(h)

    def bcast_(self, arrays, root=0, what="broadcast"):
        hosts = [a.get() for a in arrays]
        self.mpi.bcast_(hosts, root, what)
        for a, h in zip(arrays, hosts):
            a.set(h)


class NCCLComm:
    """An NCCL communicator over the ranks of ``mpi_comm`` (one GPU per rank)."""

    def __init__(self, mpi_comm):
        import cupy
        from cupy.cuda import nccl
        self.cupy, self.nccl, self.mpi = cupy, nccl, mpi_comm
        # cupy's unique id is a tuple of 128 C chars (signed)
        uid = np.array(nccl.get_unique_id(), dtype=np.int8) if mpi_comm.rank == 0 \
            else np.zeros(128, dtype=np.int8)
        mpi_comm.bcast_([uid], root=0, what="NCCL setup")
        self.comm = nccl.NcclCommunicator(mpi_comm.size, tuple(int(v) for v in uid),
                                          mpi_comm.rank)
        self._buffers = {}

    def allreduce_(self, arrays, what="allreduce"):
        stream = self.cupy.cuda.get_current_stream()
        for idx in bucket_plan(arrays, self.mpi.bucket_bytes):
            group = [arrays[i] for i in idx]
            direct = len(group) == 1 and group[0].flags.c_contiguous
            flat = group[0].reshape(-1) if direct \
                else self.cupy.concatenate([a.reshape(-1) for a in group])
            self.comm.allReduce(flat.data.ptr, flat.data.ptr, flat.size, _dtype(self.nccl, flat),
                                self.nccl.NCCL_SUM, stream.ptr)
            if not direct:
                offset = 0
                for a in group:
                    a[...] = flat[offset:offset + a.size].reshape(a.shape)
                    offset += a.size
        stream.synchronize()

    def bcast_(self, arrays, root=0, what="broadcast"):
        stream = self.cupy.cuda.get_current_stream()
        for a in arrays:
            self.comm.bcast(a.data.ptr, a.size, _dtype(self.nccl, a), root, stream.ptr)
        stream.synchronize()


def _dtype(nccl, arr):
    names = {"float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64", "float16": "NCCL_FLOAT16",
             "int32": "NCCL_INT32", "int64": "NCCL_INT64", "uint8": "NCCL_UINT8"}
    return getattr(nccl, names[str(arr.dtype)])
