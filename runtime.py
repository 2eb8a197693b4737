"""``mxnet.runtime``: which features this installation has, under MXNet 1.9's feature names.

MXNet reports what its C++ library was compiled with. kiln has no compiled core, so each flag
says what kiln can actually use here: ``CUDA`` only when cupy finds a GPU, ``CUDNN``/``NCCL``
when cupy has them, CPU SIMD flags as numpy detects them (its kernels dispatch on them), BLAS
from numpy's build, ``DIST_KVSTORE`` when mpi4py imports. Features kiln never has (TensorRT,
oneDNN, TVM, jemalloc, ...) read ``False``; an unknown name raises ``RuntimeError`` as in MXNet.

Example::

    >>> import kiln as mx
    >>> features = mx.runtime.Features()
    >>> features.is_enabled("CUDA") == (mx.num_gpus() > 0)
    True
"""
import collections
import importlib.util

import numpy as np

from .device import num_gpus

__all__ = ["Feature", "Features", "feature_list"]

# MXNet 1.9.1's feature names, in its order (libinfo.h)
NAMES = ("CUDA", "CUDNN", "NCCL", "CUDA_RTC", "TENSORRT", "CPU_SSE", "CPU_SSE2", "CPU_SSE3",
         "CPU_SSE4_1", "CPU_SSE4_2", "CPU_SSE4A", "CPU_AVX", "CPU_AVX2", "OPENMP", "SSE", "F16C",
         "JEMALLOC", "BLAS_OPEN", "BLAS_ATLAS", "BLAS_MKL", "BLAS_APPLE", "LAPACK", "MKLDNN",
         "OPENCV", "CAFFE", "PROFILER", "DIST_KVSTORE", "CXX14", "INT64_TENSOR_SIZE",
         "SIGNAL_HANDLER", "DEBUG", "TVM_OP")
# MXNet's CPU flag -> numpy's name for it
_CPU = {"CPU_SSE": "SSE", "CPU_SSE2": "SSE2", "CPU_SSE3": "SSE3", "CPU_SSE4_1": "SSE41",
        "CPU_SSE4_2": "SSE42", "CPU_AVX": "AVX", "CPU_AVX2": "AVX2", "SSE": "SSE2",
        "F16C": "F16C"}


class Feature:
    """One feature: ``name`` and ``enabled``; prints as ``✔ CUDA`` or ``✖ CUDA``.

    Example::

        >>> mx.runtime.Feature("CUDA", False)
        ✖ CUDA
    """

    __slots__ = ("name", "enabled")

    def __init__(self, name, enabled):
        self.name, self.enabled = name, bool(enabled)

    def __repr__(self):
        return ("✔ " if self.enabled else "✖ ") + self.name


def _cpu_features():
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # numpy 1.x
        from numpy.core._multiarray_umath import __cpu_features__
    return __cpu_features__


def _blas_name():
    try:
        deps = np.show_config(mode="dicts")["Build Dependencies"]
        return str(deps["blas"].get("name", "")).lower()
    except Exception:  # numpy 1.x prints its configuration only: the name stays unknown
        return ""


def _cupy_has(module):
    if num_gpus() == 0:
        return False
    try:
        mod = importlib.import_module(f"cupy.cuda.{module}")
    except Exception:
        return False
    return bool(getattr(mod, "available", True))


def _probe():
    cpu, blas, gpu = _cpu_features(), _blas_name(), num_gpus() > 0
    found = {"CUDA": gpu, "CUDA_RTC": gpu, "CUDNN": _cupy_has("cudnn"),
             "NCCL": _cupy_has("nccl"), "BLAS_OPEN": "openblas" in blas,
             "BLAS_MKL": "mkl" in blas, "BLAS_ATLAS": "atlas" in blas,
             "BLAS_APPLE": "accelerate" in blas, "LAPACK": True, "PROFILER": True,
             "DIST_KVSTORE": importlib.util.find_spec("mpi4py") is not None,
             "INT64_TENSOR_SIZE": True}   # numpy/cupy index with 64-bit integers
    found.update({name: bool(cpu.get(flag)) for name, flag in _CPU.items()})
    return [Feature(name, found.get(name, False)) for name in NAMES]


def feature_list():
    """The features as a list of :class:`Feature`, in MXNet's order.

    Example::

        >>> [f.name for f in mx.runtime.feature_list()][:2]
        ['CUDA', 'CUDNN']
    """
    return list(Features().values())


class Features(collections.OrderedDict):
    """Feature name -> :class:`Feature`, probed once (a singleton, as in MXNet).

    Example::

        >>> mx.runtime.Features().is_enabled("LAPACK")
        True
    """

    instance = None

    def __new__(cls):
        if cls.instance is None:
            cls.instance = super().__new__(cls)
            super().__init__(cls.instance, [(f.name, f) for f in _probe()])
        return cls.instance

    def __init__(self):  # filled once in __new__; calling Features() again changes nothing
        pass

    def __repr__(self):
        return str(list(self.values()))

    def is_enabled(self, feature_name):
        """Whether ``feature_name`` (any case) is available; ``RuntimeError`` if unknown."""
        name = feature_name.upper()
        if name not in self:
            raise RuntimeError(f"Feature '{name}' is unknown, known features are: "
                               f"{list(self.keys())}")
        return self[name].enabled
