"""Every loader raises ``kiln.FileFormatError`` on a bad file, checks declared sizes before it
allocates, and validates structure before it changes anything (regression tests)."""
import struct
import tracemalloc

import numpy as np
import pytest
from kiln import nd
from kiln.base import FileFormatError, MXNetError

MB = 1 << 20


def peak_bytes(fn, *args, **kwargs):
    """(result or raised exception, peak bytes traced by tracemalloc while ``fn`` ran)."""
    tracemalloc.start()
    try:
        try:
            out = fn(*args, **kwargs)
        except Exception as e:   # returned so the caller can check its type
            out = e
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ---- nd.load ----------------------------------------------------------------------------------
def _params_blob(*records, names=()):
    blob = struct.pack("<QQQ", 0x112, 0, len(records)) + b"".join(records)
    blob += struct.pack("<Q", len(names))
    for n in names:
        blob += struct.pack("<Q", len(n)) + n.encode()
    return blob


def _row_sparse(dense_shape, rows, values):
    """A V2 row_sparse record (float32 values, int64 row ids)."""
    values = np.asarray(values, "<f4")
    sshape = values.shape
    rec = struct.pack(f"<Iii{len(sshape)}q", 0xF993FAC9, 1, len(sshape), *sshape)
    rec += struct.pack(f"<i{len(dense_shape)}q", len(dense_shape), *dense_shape)
    rec += struct.pack("<iii", 1, 0, 0) + struct.pack("<iiq", 6, 1, len(rows))
    return rec + values.tobytes() + np.asarray(rows, "<i8").tobytes()


def test_sparse_record_cannot_allocate_a_huge_dense_array(tmp_path):
    path = tmp_path / "tiny.params"
    path.write_bytes(_params_blob(_row_sparse((1 << 28, 1), [], np.zeros((0, 1)))))
    assert path.stat().st_size < 200
    out, peak = peak_bytes(nd.load, str(path))
    assert isinstance(out, FileFormatError) and "tiny.params" in str(out), out
    assert "densifies" in str(out)
    assert peak < 16 * MB
    out, peak = peak_bytes(nd.load_frombuffer, path.read_bytes())
    assert isinstance(out, FileFormatError) and peak < 16 * MB


def test_small_sparse_records_still_load():
    blob = _params_blob(_row_sparse((5, 2), [4], [[1.0, 2.0]]), names=("w",))
    np.testing.assert_array_equal(nd.load_frombuffer(blob)["w"].asnumpy()[4], [1.0, 2.0])


@pytest.mark.parametrize("rows", [[7], [-1]])
def test_sparse_row_index_out_of_range(rows):
    with pytest.raises(FileFormatError, match="row index out of range"):
        nd.load_frombuffer(_params_blob(_row_sparse((5, 2), rows, [[1.0, 2.0]])))


def test_sparse_storage_must_fit_the_shape():
    with pytest.raises(FileFormatError, match="do not fit shape"):
        nd.load_frombuffer(_params_blob(_row_sparse((5, 3), [1], [[1.0, 2.0]])))


def test_csr_indptr_cannot_declare_huge_row_lengths():
    # 1 row, 1 column, indptr [0, 2**40] for 1 stored value: numpy's repeat would allocate 8 TB
    rec = struct.pack("<Iiiqiqq", 0xF993FAC9, 2, 1, 1, 2, 1, 1) + struct.pack("<iii", 1, 0, 0)
    rec += struct.pack("<iiq", 6, 1, 2) + struct.pack("<iiq", 6, 1, 1)
    rec += np.array([5], "<f4").tobytes() + np.array([0, 1 << 40], "<i8").tobytes()
    rec += np.array([0], "<i8").tobytes()
    out, peak = peak_bytes(nd.load_frombuffer, _params_blob(rec))
    assert isinstance(out, FileFormatError) and "indptr" in str(out), out
    assert peak < 16 * MB


def test_dims_whose_product_overflows_int64_are_truncation_not_numpy_errors():
    rec = struct.pack("<Iiiqqiii", 0xF993FAC9, 0, 2, 1 << 32, 1 << 32, 1, 0, 0)
    with pytest.raises(FileFormatError, match="truncated"):
        nd.load_frombuffer(_params_blob(rec))
    rec = struct.pack("<Iiiqqiii", 0xF993FAC9, 0, 2, 1 << 62, 0, 1, 0, 0)   # zero-size, huge dim
    with pytest.raises(FileFormatError, match="bad dimension"):
        nd.load_frombuffer(_params_blob(rec))


def test_ndarray_format_error_is_the_kiln_error_class():
    from kiln.ndarray.io import NDArrayFormatError
    assert issubclass(NDArrayFormatError, FileFormatError)
    with pytest.raises(FileFormatError) as ei:
        nd.load_frombuffer(b"\x00" * 7)
    assert ei.value.path == "<buffer>" and isinstance(ei.value, MXNetError)
