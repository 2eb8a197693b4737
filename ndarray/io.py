"""``nd.save`` / ``nd.load``: MXNet 1.x's binary NDArray-list format, byte for byte.

Layout (little-endian), as written by MXNet 1.9's ``NDArray::Save`` (src/ndarray/ndarray.cc)::

    uint64 0x112 (kMXAPINDArrayListMagic)   uint64 0 (reserved)
    uint64 n_arrays, then per array:
        uint32 magic        0xF993fac9 (V2); 0xF993faca (V3, numpy shape semantics: 0-d arrays)
        int32  stype        0 dense (1 row_sparse, 2 csr: then the storage shape follows)
        int32  ndim, int64 dims[ndim]
        int32  dev_type (1 cpu, 2 gpu, 3 cpu_pinned, 5 cpu_shared), int32 dev_id
        int32  type flag    mshadow: float32=0 float64=1 float16=2 uint8=3 int32=4 int8=5
                            int64=6 bool=7 int16=8 uint16=9 uint32=10 uint64=11 bfloat16=12
        (sparse: per aux array int32 type flag + shape)
        raw data, C order   (sparse: then each aux array's raw data)
    uint64 n_names, then per name: uint64 length, utf-8 bytes (no names for a list)

Older files are read too: V1 (0xF993fac8: no storage type) and the legacy layout whose first
word is ndim itself (uint32 dims). Loading never unpickles; a malformed file raises
``NDArrayFormatError`` (a ``kiln.FileFormatError``) naming the file, the byte offset and what
was wrong. Every declared size is checked against the bytes that remain before anything is
allocated from it. Sparse records load as ``nd.sparse`` arrays (CSRNDArray, RowSparseNDArray:
only their stored values are allocated), after their indices are checked against the shape;
sparse arrays are saved as sparse records, which MXNet reads back as sparse arrays.

Example::

    >>> nd.save("w.params", {"w": nd.ones((2, 3))})
    >>> nd.load("w.params")["w"].shape
    (2, 3)
"""
import math
import os
import struct
import tempfile

import numpy as np

from ..base import FileFormatError
from ..device import Context, num_gpus
from .ndarray import NDArray
from .sparse import BaseSparseNDArray, CSRNDArray, RowSparseNDArray

LIST_MAGIC = 0x112
V1_MAGIC = 0xF993FAC8
V2_MAGIC = 0xF993FAC9
V3_MAGIC = 0xF993FACA

# mshadow type flags (mshadow/base.h); bfloat16 (12) is widened to float32 on load.
FLAG_TO_DTYPE = {0: np.float32, 1: np.float64, 2: np.float16, 3: np.uint8, 4: np.int32,
                 5: np.int8, 6: np.int64, 7: np.bool_, 8: np.int16, 9: np.uint16,
                 10: np.uint32, 11: np.uint64}
DTYPE_TO_FLAG = {np.dtype(t): f for f, t in FLAG_TO_DTYPE.items()}
BFLOAT16_FLAG = 12
_DEV_TYPES = {"cpu": 1, "gpu": 2}
_STYPES = {0: "default", 1: "row_sparse", 2: "csr"}
_N_AUX = {0: 0, 1: 1, 2: 2}


_MAX_DIM = 1 << 48   # no real array has a longer axis; zero-size arrays could declare any


class NDArrayFormatError(FileFormatError):
    """A file or buffer is not a valid MXNet NDArray list (bad magic, truncated, bad dtype)."""


__all__ = ["save", "load", "load_frombuffer", "save_tobytes", "NDArrayFormatError"]


# ---- writing ----------------------------------------------------------------------------------
def _normalize(data):
    """(arrays, names) from an NDArray, a list of NDArrays or a dict str -> NDArray."""
    if isinstance(data, NDArray):
        return [data], []
    if isinstance(data, dict):
        names, arrays = [], []
        for k, v in data.items():
            if not isinstance(k, str):
                raise TypeError(f"save: dict keys must be str, got {type(k).__name__}")
            names.append(k)
            arrays.append(v)
    elif isinstance(data, (list, tuple)):
        names, arrays = [], list(data)
    else:
        raise TypeError("save: data must be an NDArray, a list of NDArrays or a dict "
                        f"str -> NDArray, got {type(data).__name__}")
    for a in arrays:
        if not isinstance(a, NDArray):
            raise TypeError(f"save: every value must be an NDArray, got {type(a).__name__}")
    return arrays, names


def _flag(dtype):
    flag = DTYPE_TO_FLAG.get(np.dtype(dtype))
    if flag is None:
        raise TypeError(f"save: dtype {dtype} has no MXNet type flag")
    return flag


def _le_bytes(a):
    a = np.asarray(a, order="C")
    return a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()


def _sparse_bytes(arr):
    """A row_sparse / csr record: storage shape, shape, context, dtype, aux types and shapes,
    then the values and each aux array (MXNet's aux order: csr indptr before indices)."""
    stype = 1 if arr.stype == "row_sparse" else 2
    host = arr.as_in_context(Context("cpu", 0))
    values, aux = host._values, host._aux
    ctx = arr.context
    head = struct.pack(f"<Iii{values.ndim}q", V2_MAGIC, stype, values.ndim, *values.shape)
    head += struct.pack(f"<i{len(arr.shape)}q", len(arr.shape), *arr.shape)
    head += struct.pack("<iii", _DEV_TYPES.get(ctx.device_type, 1), ctx.device_id,
                        _flag(values.dtype))
    for a in aux:
        head += struct.pack(f"<ii{a.ndim}q", _flag(a.dtype), a.ndim, *a.shape)
    return b"".join([head, _le_bytes(values)] + [_le_bytes(a) for a in aux])


def _array_bytes(arr):
    """One array's record (see the module docstring)."""
    if isinstance(arr, BaseSparseNDArray):
        return _sparse_bytes(arr)
    data = np.asarray(arr.asnumpy(), order="C")  # not ascontiguousarray: it makes 0-d 1-d
    flag = DTYPE_TO_FLAG.get(data.dtype)
    if flag is None:
        raise TypeError(f"save: dtype {data.dtype} has no MXNet type flag")
    # MXNet writes 0-d arrays only under numpy shape semantics (V3); V2 ndim 0 means "none".
    magic = V3_MAGIC if data.ndim == 0 else V2_MAGIC
    ctx = arr.context
    head = struct.pack(f"<Iii{data.ndim}q", magic, 0, data.ndim, *data.shape)
    head += struct.pack("<iii", _DEV_TYPES.get(ctx.device_type, 1), ctx.device_id, flag)
    return head + data.astype(data.dtype.newbyteorder("<"), copy=False).tobytes()


def save_tobytes(data):
    """The bytes ``save`` would write for ``data`` (a list or dict of NDArrays)."""
    arrays, names = _normalize(data)
    parts = [struct.pack("<QQQ", LIST_MAGIC, 0, len(arrays))]
    parts += [_array_bytes(a) for a in arrays]
    parts.append(struct.pack("<Q", len(names)))
    for n in names:
        b = n.encode("utf-8")
        parts.append(struct.pack("<Q", len(b)) + b)
    return b"".join(parts)


def save(fname, data):
    """Save NDArrays to ``fname`` in MXNet's binary format (readable by ``mx.nd.load``).

    ``data``: an NDArray, a list of NDArrays, or a dict str -> NDArray (keys are stored).
    ``fname`` may also be a binary file-like object with ``write``. Writing a path is atomic:
    a temporary file in the same directory is renamed over ``fname`` once complete. 0-d arrays
    are written as MXNet's numpy mode does (V3 records), which ``mx.nd.load`` reads only under
    ``mx.npx.set_np()``; all other arrays give files any MXNet 1.x reads.

    Example::

        >>> nd.save("arrays.nd", [nd.zeros((2,)), nd.ones((3, 1), dtype="int32")])
    """
    blob = save_tobytes(data)
    if hasattr(fname, "write"):
        fname.write(blob)
        return
    if not isinstance(fname, (str, os.PathLike)):
        raise TypeError(f"save: fname must be a path or a file-like object, got "
                        f"{type(fname).__name__}")
    path = os.fspath(fname)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-" + os.path.basename(path) + "-", dir=folder)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; match a plain open()
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---- reading ----------------------------------------------------------------------------------
class _Reader:
    """Bounds-checked little-endian reads that report the source and the byte offset."""

    def __init__(self, buf, source):
        self.buf, self.pos, self.source = memoryview(buf), 0, source

    def fail(self, what):
        return NDArrayFormatError(self.source, f"not a valid MXNet NDArray file: {what}")

    def remaining(self):
        return len(self.buf) - self.pos

    def take(self, n, what):
        if n < 0 or n > self.remaining():
            raise self.fail(f"truncated at byte {len(self.buf)} while reading {what} "
                            f"({n} bytes needed at byte {self.pos})")
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt, what):
        fmt = "<" + fmt
        vals = struct.unpack(fmt, self.take(struct.calcsize(fmt), what))
        return vals if len(vals) > 1 else vals[0]


def _read_shape(r, what, dim_fmt="q"):
    start = r.pos
    ndim = r.unpack("i", f"{what} ndim")
    if ndim < -1 or ndim > 32:
        raise r.fail(f"bad ndim {ndim} for {what} at byte {start}")
    if ndim <= 0:
        return ndim, ()
    dims = r.unpack(f"{ndim}{dim_fmt}", f"{what} dims")
    dims = (dims,) if ndim == 1 else tuple(dims)
    if any(d < 0 or d > _MAX_DIM for d in dims):
        raise r.fail(f"bad dimension in {what} {dims} at byte {start}")
    return ndim, dims


def _dtype_of(r, flag, at):
    if flag == BFLOAT16_FLAG:
        return "bfloat16"
    dt = FLAG_TO_DTYPE.get(flag)
    if dt is None:
        raise r.fail(f"unknown dtype flag {flag} at byte {at}")
    return np.dtype(dt)


def _itemsize(dtype):
    return 2 if dtype == "bfloat16" else dtype.itemsize


def _read_values(r, dtype, shape, what):
    """The next ``prod(shape)`` values; the byte count is checked before any copy is made."""
    n = math.prod(shape)   # a Python int: no overflow however large the declared dims
    if math.prod(d for d in shape if d) > _MAX_DIM:   # numpy refuses even a zero-size one
        raise r.fail(f"{what}: shape {shape} is too large")
    raw = r.take(_itemsize(dtype) * n, what)
    if dtype == "bfloat16":  # no numpy type: the high half of a float32
        wide = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return wide.view(np.float32).reshape(shape)
    return np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype).reshape(shape)


def _read_array(r, index):
    """One array record -> (numpy array or None for MXNet's 'none' array, device)."""
    at = r.pos
    magic = r.unpack("I", f"array {index} magic")
    stype, sshape = 0, None
    if magic in (V2_MAGIC, V3_MAGIC):
        stype = r.unpack("i", f"array {index} storage type")
        if stype not in _STYPES:
            raise r.fail(f"unknown storage type {stype} for array {index} at byte {at + 4}")
        if _N_AUX[stype]:
            sshape = _read_shape(r, f"array {index} storage shape")[1]
        ndim, shape = _read_shape(r, f"array {index} shape")
        if ndim == -1 or (ndim == 0 and magic == V2_MAGIC):
            if stype:
                raise r.fail(f"sparse array {index} at byte {at} has no shape")
            return None, None
    elif magic == V1_MAGIC:
        ndim, shape = _read_shape(r, f"array {index} shape")
        if ndim <= 0:
            return None, None
    else:  # legacy: the magic word is ndim itself, dims are uint32
        if magic > 32:
            raise r.fail(f"bad magic 0x{magic:08x} for array {index} at byte {at}")
        if magic == 0:
            return None, None
        shape = r.unpack(f"{magic}I", f"array {index} dims")
        shape = (shape,) if magic == 1 else tuple(shape)
    dev_type, dev_id = r.unpack("ii", f"array {index} context")
    flag_at = r.pos
    dtype = _dtype_of(r, r.unpack("i", f"array {index} dtype flag"), flag_at)
    if stype:
        return _read_sparse(r, index, stype, shape, sshape, dtype), (dev_type, dev_id)
    return _read_values(r, dtype, shape, f"array {index} data"), (dev_type, dev_id)


def _read_sparse(r, index, stype, shape, sshape, dtype):
    """A row_sparse / csr record as (values, aux arrays, stype, shape), after checking that
    the storage fits the shape and the indices lie inside it."""
    at = r.pos
    aux = []
    for k in range(_N_AUX[stype]):
        flag_at = r.pos
        adt = _dtype_of(r, r.unpack("i", f"array {index} aux {k} dtype"), flag_at)
        if adt == "bfloat16" or adt.kind not in "iu":
            raise r.fail(f"sparse array {index}: aux {k} has non-integer dtype {adt}")
        aux.append((adt, _read_shape(r, f"array {index} aux {k} shape")[1]))
    _check_sparse_layout(r, index, stype, shape, sshape, [a[1] for a in aux], at)
    values = _read_values(r, dtype, sshape, f"array {index} values")
    aux_data = [_read_values(r, adt, ash, f"array {index} aux {k} data").astype(np.int64)
                for k, (adt, ash) in enumerate(aux)]
    if stype == 1:   # row_sparse: aux 0 = row indices
        rows = aux_data[0]
        if rows.size and (rows.min() < 0 or rows.max() >= shape[0]):
            raise r.fail(f"sparse array {index}: row index out of range [0, {shape[0]})")
        if rows.size > 1 and np.any(np.diff(rows) <= 0):
            raise r.fail(f"sparse array {index}: row indices are not sorted and unique")
    else:            # csr: aux 0 = indptr, aux 1 = column indices
        indptr, cols = aux_data
        if indptr[0] != 0 or indptr[-1] != cols.size or np.any(np.diff(indptr) < 0):
            raise r.fail(f"sparse array {index}: indptr is not a non-decreasing run from 0 to "
                         f"the {cols.size} stored values")
        if indptr.size != shape[0] + 1:
            raise r.fail(f"sparse array {index}: indptr has {indptr.size} entries for "
                         f"{shape[0]} rows")
        if cols.size and (cols.min() < 0 or cols.max() >= shape[1]):
            raise r.fail(f"sparse array {index}: column index out of range [0, {shape[1]})")
    return values, aux_data, stype, shape


def _check_sparse_layout(r, index, stype, shape, sshape, aux_shapes, at):
    """The storage, aux and dense shapes of a sparse record agree (before reading its data)."""
    what = f"sparse array {index} at byte {at}"
    if not shape or not sshape:
        raise r.fail(f"{what}: missing shape or storage shape")
    if stype == 1:
        ok = (len(sshape) == len(shape) and sshape[1:] == shape[1:] and sshape[0] <= shape[0]
              and aux_shapes[0] == (sshape[0],))
    else:
        ok = (len(shape) == 2 and len(sshape) == 1 and aux_shapes[0] == (shape[0] + 1,)
              and aux_shapes[1] == sshape)
    if not ok:
        raise r.fail(f"{what}: storage shape {sshape} and aux shapes {aux_shapes} do not fit "
                     f"shape {shape}")


def _place(data, device):
    """Arrays saved from a usable GPU go back to it; everything else loads on cpu(0)."""
    if data is None:
        return None
    if isinstance(data, tuple):   # a sparse record
        values, aux, stype, shape = data
        cls = RowSparseNDArray if stype == 1 else CSRNDArray
        arr = cls(values, aux, shape, Context("cpu", 0))
        if device is not None and device[0] == 2 and device[1] < num_gpus():
            return arr.as_in_context(Context("gpu", device[1]))
        return arr
    if device is not None and device[0] == 2 and device[1] < num_gpus():
        ctx = Context("gpu", device[1])
        with ctx.use():
            return NDArray(ctx.xp.asarray(data), ctx)
    return NDArray(data, Context("cpu", 0))  # already a fresh, writable copy


def _parse(buf, source):
    r = _Reader(buf, source)
    header = r.unpack("Q", "the header")
    if header != LIST_MAGIC:
        raise r.fail(f"bad magic 0x{header:x} at byte 0 (expected 0x{LIST_MAGIC:x})")
    r.unpack("Q", "the reserved word")
    n = r.unpack("Q", "the array count")
    if n > len(buf):
        raise r.fail(f"array count {n} is larger than the file")
    arrays = [_place(*_read_array(r, i)) for i in range(n)]
    n_names = r.unpack("Q", "the name count")
    if n_names not in (0, n):
        raise r.fail(f"{n_names} names for {n} arrays")
    names = []
    for i in range(n_names):
        length = r.unpack("Q", f"name {i} length")
        raw = r.take(length, f"name {i}")
        try:
            names.append(bytes(raw).decode("utf-8"))
        except UnicodeDecodeError:
            raise r.fail(f"name {i} is not utf-8") from None
    if r.pos != len(buf):
        raise r.fail(f"{len(buf) - r.pos} unexpected bytes after the end at byte {r.pos}")
    return dict(zip(names, arrays)) if names else arrays


def load(fname):
    """Load what ``save`` (or MXNet's ``mx.nd.save``) wrote: a list, or a dict if names were
    stored. ``fname``: a path or a binary file-like object.

    Example::

        >>> nd.save("x.nd", [nd.arange(3)]); nd.load("x.nd")[0].asnumpy()
        array([0., 1., 2.], dtype=float32)
    """
    if hasattr(fname, "read"):
        return _parse(fname.read(), getattr(fname, "name", "<file object>"))
    if not isinstance(fname, (str, os.PathLike)):
        raise TypeError(f"load: fname must be a path, got {type(fname).__name__}")
    with open(fname, "rb") as f:
        return _parse(f.read(), os.fspath(fname))


def load_frombuffer(buf):
    """Like ``load``, from the file's bytes in memory (MXNet's ``nd.load_frombuffer``)."""
    if not isinstance(buf, (bytes, bytearray, memoryview)):
        raise TypeError(f"load_frombuffer: buf must be bytes, got {type(buf).__name__}")
    return _parse(bytes(buf), "<buffer>")

