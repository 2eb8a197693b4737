"""nd.save / nd.load in MXNet 1.x's binary NDArray-list format (see ndarray/io.py)."""
import io
import os
import struct

import kiln as kl
import numpy as np
import pytest
from kiln import nd
from kiln.base import MXNetError
from kiln.ndarray.io import NDArrayFormatError, save_tobytes

DTYPES = ["float16", "float32", "float64", "int8", "int32", "int64", "uint8", "bool"]


def _values(dtype, shape=(2, 3)):
    rng = np.random.default_rng(0)
    if dtype == "bool":
        return rng.integers(0, 2, size=shape).astype(bool)
    return (rng.uniform(-50, 50, size=shape) if np.dtype(dtype).kind == "f"
            else rng.integers(0, 100, size=shape)).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip_list_all_dtypes(tmp_path, dtype):
    src = _values(dtype)
    path = tmp_path / "a.nd"
    nd.save(str(path), [nd.array(src, dtype=dtype), nd.array(src[:1], dtype=dtype)])
    out = nd.load(str(path))
    assert isinstance(out, list) and len(out) == 2
    assert out[0].dtype == np.dtype(dtype).type and out[0].shape == (2, 3)
    np.testing.assert_array_equal(out[0].asnumpy(), src)
    np.testing.assert_array_equal(out[1].asnumpy(), src[:1])


def test_round_trip_dict_keeps_names_and_order(tmp_path):
    data = {"b.weight": nd.ones((3, 2)), "a.bias": nd.arange(4), "ü": nd.zeros((1,))}
    nd.save(tmp_path / "p.params", data)      # a PathLike works too
    out = nd.load(tmp_path / "p.params")
    assert list(out) == list(data)
    for k in data:
        np.testing.assert_array_equal(out[k].asnumpy(), data[k].asnumpy())


def test_single_array_and_empty_list(tmp_path):
    nd.save(str(tmp_path / "one"), nd.array([1, 2]))
    assert len(nd.load(str(tmp_path / "one"))) == 1
    nd.save(str(tmp_path / "none"), [])
    assert nd.load(str(tmp_path / "none")) == []
    nd.save(str(tmp_path / "nodict"), {})
    assert nd.load(str(tmp_path / "nodict")) == []   # no names stored: MXNet gives a list too


@pytest.mark.parametrize("shape", [(), (0,), (0, 3), (2, 0, 1), (1,), (2, 1, 1, 1, 3)])
def test_zero_d_and_empty_shapes(tmp_path, shape):
    src = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    nd.save(str(tmp_path / "s"), [nd.array(src)])
    (out,) = nd.load(str(tmp_path / "s"))
    assert out.shape == shape
    np.testing.assert_array_equal(out.asnumpy(), src)


def test_exact_bytes_of_a_tiny_array():
    """Derived by hand from NDArray::Save (list magic 0x112, V2 array record, names list)."""
    blob = save_tobytes({"w": nd.array([1.0, 2.0])})
    expected = bytes.fromhex(
        "1201000000000000"    # uint64 kMXAPINDArrayListMagic = 0x112
        "0000000000000000"    # uint64 reserved
        "0100000000000000"    # uint64 number of arrays = 1
        "c9fa93f9"            # uint32 NDARRAY_V2_MAGIC 0xF993fac9
        "00000000"            # int32 storage type: default (dense)
        "01000000"            # int32 ndim = 1
        "0200000000000000"    # int64 dim 0 = 2
        "01000000" "00000000"  # context: int32 dev_type 1 (cpu), int32 dev_id 0
        "00000000"            # int32 type flag 0 = float32
        "0000803f" "00000040"  # data: 1.0f, 2.0f little-endian
        "0100000000000000"    # uint64 number of names = 1
        "0100000000000000" "77"  # uint64 length 1, "w"
    )
    assert blob == expected
    assert nd.load_frombuffer(expected)["w"].asnumpy().tolist() == [1.0, 2.0]


def test_exact_bytes_int64_2d_list_without_names():
    blob = save_tobytes([nd.array([[7], [-1]], dtype="int64")])
    body = struct.pack("<IiiqqiiI", 0xF993FAC9, 0, 2, 2, 1, 1, 0, 6) + struct.pack("<qq", 7, -1)
    assert blob == struct.pack("<QQQ", 0x112, 0, 1) + body + struct.pack("<Q", 0)


def test_gpu_context_record_loads_on_cpu_without_gpu():
    blob = bytearray(save_tobytes([nd.array([3.0])]))
    struct.pack_into("<ii", blob, 24 + 4 + 4 + 4 + 8, 2, 1)    # dev_type gpu, dev_id 1
    (out,) = nd.load_frombuffer(bytes(blob))
    assert out.context == kl.cpu(0) and out.asnumpy().tolist() == [3.0]


def test_context_is_written_and_cpu_id_dropped_on_load():
    blob = save_tobytes([nd.array([1.0], ctx=kl.cpu(1))])
    assert struct.unpack_from("<ii", blob, 24 + 20) == (1, 1)
    assert nd.load_frombuffer(blob)[0].context == kl.cpu(0)


def test_file_like_targets():
    buf = io.BytesIO()
    nd.save(buf, [nd.ones((2,))])
    buf.seek(0)
    assert nd.load(buf)[0].asnumpy().tolist() == [1.0, 1.0]


def test_reads_v1_and_legacy_records():
    data = struct.pack("<ff", 1.5, -2.0)
    v1 = struct.pack("<Iiqiii", 0xF993FAC8, 1, 2, 1, 0, 0) + data          # V1: no stype
    legacy = struct.pack("<IIiii", 1, 2, 1, 0, 0) + data                  # ndim, uint32 dims
    for rec in (v1, legacy):
        blob = struct.pack("<QQQ", 0x112, 0, 1) + rec + struct.pack("<Q", 0)
        assert nd.load_frombuffer(blob)[0].asnumpy().tolist() == [1.5, -2.0]


def test_reads_sparse_records_as_dense():
    # row_sparse (stype 1): storage shape (2, 2), shape (4, 2), aux 0 = int64 row ids [1, 3]
    rsp = (struct.pack("<Iiiqqiqq", 0xF993FAC9, 1, 2, 2, 2, 2, 4, 2) + struct.pack("<iii", 1, 0, 0)
           + struct.pack("<iiq", 6, 1, 2) + np.arange(1, 5, dtype="<f4").tobytes()
           + np.array([1, 3], "<i8").tobytes())
    # csr (stype 2): 2x3 with values 5 at (0, 2) and 6 at (1, 0)
    csr = (struct.pack("<Iiiqiqq", 0xF993FAC9, 2, 1, 2, 2, 2, 3) + struct.pack("<iii", 1, 0, 0)
           + struct.pack("<iiq", 6, 1, 3) + struct.pack("<iiq", 6, 1, 2)
           + np.array([5, 6], "<f4").tobytes() + np.array([0, 1, 2], "<i8").tobytes()
           + np.array([2, 0], "<i8").tobytes())
    blob = struct.pack("<QQQ", 0x112, 0, 2) + rsp + csr + struct.pack("<Q", 0)
    a, b = nd.load_frombuffer(blob)
    assert a.asnumpy().tolist() == [[0, 0], [1, 2], [0, 0], [3, 4]]
    assert b.asnumpy().tolist() == [[0, 0, 5], [6, 0, 0]]


def test_bfloat16_widens_to_float32():
    bf = np.array([1.0, -3.5], np.float32).view(np.uint32) >> 16
    rec = struct.pack("<Iiiqiii", 0xF993FAC9, 0, 1, 2, 1, 0, 12) + bf.astype("<u2").tobytes()
    blob = struct.pack("<QQQ", 0x112, 0, 1) + rec + struct.pack("<Q", 0)
    out = nd.load_frombuffer(blob)[0]
    assert out.dtype == np.float32 and out.asnumpy().tolist() == [1.0, -3.5]


# ---- malformed input ---------------------------------------------------------------------------
def _good_blob():
    return save_tobytes({"x": nd.arange(6).reshape((2, 3)), "y": nd.ones((2,), dtype="int8")})


@pytest.mark.parametrize("cut", [0, 5, 8, 20, 30, 44, 60, 80, -3, -1])
def test_truncated_file_raises_clear_error(tmp_path, cut):
    blob = _good_blob()
    path = tmp_path / "trunc.params"
    path.write_bytes(blob[:cut] if cut >= 0 else blob[:len(blob) + cut])
    with pytest.raises(NDArrayFormatError, match="truncated at byte") as ei:
        nd.load(str(path))
    assert "trunc.params" in str(ei.value)
    assert isinstance(ei.value, MXNetError)


def test_bad_list_magic(tmp_path):
    path = tmp_path / "bad.params"
    path.write_bytes(b"\x80\x04\x95" + _good_blob()[3:])     # e.g. a pickle
    with pytest.raises(NDArrayFormatError, match=r"bad\.params.*bad magic"):
        nd.load(str(path))


def test_bad_array_magic_and_unknown_dtype():
    blob = bytearray(_good_blob())
    bad = bytearray(blob)
    struct.pack_into("<I", bad, 24, 0xDEADBEEF)
    with pytest.raises(NDArrayFormatError, match="bad magic 0xdeadbeef for array 0"):
        nd.load_frombuffer(bytes(bad))
    struct.pack_into("<i", blob, 24 + 4 + 4 + 4 + 16 + 8, 99)    # type flag of array 0
    with pytest.raises(NDArrayFormatError, match="unknown dtype flag 99"):
        nd.load_frombuffer(bytes(blob))


def test_trailing_garbage_and_name_count_mismatch():
    with pytest.raises(NDArrayFormatError, match="unexpected bytes"):
        nd.load_frombuffer(_good_blob() + b"\0")
    blob = save_tobytes([nd.ones((1,))])
    with pytest.raises(NDArrayFormatError, match="2 names for 1 arrays"):
        nd.load_frombuffer(blob[:-8] + struct.pack("<Q", 2))


def test_bad_arguments():
    with pytest.raises(TypeError):
        nd.save("x", [np.ones(2)])
    with pytest.raises(TypeError):
        nd.save("x", {1: nd.ones(2)})
    with pytest.raises(TypeError):
        nd.load_frombuffer("text")


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "w.params"
    nd.save(str(path), [nd.ones((2,))])
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        nd.save(str(path), [nd.zeros((5,))])
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.params"]
