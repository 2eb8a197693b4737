"""kiln.recordio: files byte-compatible with MXNet 1.9.1's in both directions (checked through
the MXNet oracle interpreter when present), the IRHeader conventions, corrupt-file errors."""
import io
import os
import pathlib
import pickle
import struct

import _mxnet_oracle_data
import numpy as np
import pytest
from kiln.base import FileFormatError
from kiln.data import recordio

MAGIC = struct.pack("<I", 0xCED7230A)


def _records():
    """Payloads that exercise the format: empty, every padding length, the magic word at
    aligned offsets (first, middle, last, twice in a row: continuation flags 1/2/3), and
    unaligned (no split)."""
    rng = np.random.RandomState(0)
    recs = [b"", b"a", b"ab", b"abc", b"abcd", b"abcde", rng.bytes(1000)]
    recs += [MAGIC, MAGIC + b"xy", b"1234" + MAGIC + b"5678" + MAGIC + b"z", MAGIC + MAGIC,
             b"x" + MAGIC + b"yyy", b"12345678" + MAGIC]
    return recs


def _write_kiln(folder, recs):
    w = recordio.MXIndexedRecordIO(os.path.join(folder, "k.idx"), os.path.join(folder, "k.rec"),
                                   "w")
    for i, r in enumerate(recs):
        w.write_idx(i, r)
    w.close()


# One oracle run: MXNet writes the records and reads kiln's file (written first), and packs
# headers; the results come back in a pickle that only this test module writes.
ORACLE = """
    import sys, pickle, mxnet as mx
    folder = sys.argv[1]
    recs = pickle.load(open(folder + '/recs.pkl', 'rb'))
    w = mx.recordio.MXIndexedRecordIO(folder + '/m.idx', folder + '/m.rec', 'w')
    for i, r in enumerate(recs):
        w.write_idx(i, r)
    w.close()
    r = mx.recordio.MXIndexedRecordIO(folder + '/k.idx', folder + '/k.rec', 'r')
    keys = list(r.keys)
    by_key = [r.read_idx(k) for k in reversed(keys)][::-1]
    seq = mx.recordio.MXRecordIO(folder + '/k.rec', 'r')
    out = []
    while True:
        item = seq.read()
        if item is None:
            break
        out.append(item)
    h = mx.recordio.IRHeader
    packed = [mx.recordio.pack(x, b'payload') for x in
              [h(0, 3.5, 7, 0), h(5, 2.0, 1, 9), h(0, [1.0, 2.5, -3.0], 2**40, 1)]]
    pickle.dump((keys, by_key, out, packed), open(folder + '/read.pkl', 'wb'))
"""


def _prepare(folder):
    recs = _records()
    with open(os.path.join(folder, "recs.pkl"), "wb") as f:   # input for the oracle script
        pickle.dump(recs, f)
    _write_kiln(folder, recs)
    return [folder]


_mxnet_oracle_data.register("recordio", _prepare, ORACLE)


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    folder = pathlib.Path(_mxnet_oracle_data.folder("recordio", tmp_path_factory))
    with open(folder / "read.pkl", "rb") as f:   # written by the oracle script above
        return folder, _records(), pickle.load(f)


def test_mxnet_writes_kiln_reads_same_bytes(oracle):
    folder, recs, _ = oracle
    for ext in ("rec", "idx"):   # byte-identical files, the index included
        assert (folder / f"k.{ext}").read_bytes() == (folder / f"m.{ext}").read_bytes()
    r = recordio.MXIndexedRecordIO(str(folder / "m.idx"), str(folder / "m.rec"), "r")
    assert r.keys == list(range(len(recs)))
    assert [r.read_idx(k) for k in reversed(r.keys)] == recs[::-1]
    seq = recordio.MXRecordIO(str(folder / "m.rec"), "r")
    assert [seq.read() for _ in recs] == recs and seq.read() is None


def test_kiln_writes_mxnet_reads(oracle):
    _, recs, (keys, by_key, seq, _) = oracle
    assert keys == list(range(len(recs))) and by_key == recs and seq == recs


def test_pack_matches_mxnet(oracle):
    h = recordio.IRHeader
    mine = [recordio.pack(x, b"payload") for x in
            [h(0, 3.5, 7, 0), h(5, 2.0, 1, 9), h(0, [1.0, 2.5, -3.0], 2 ** 40, 1)]]
    assert mine == oracle[2][3]


def test_irheader_label_conventions():
    hdr, s = recordio.unpack(recordio.pack(recordio.IRHeader(3, 4.0, 11, 0), b"img"))
    assert hdr.flag == 0 and hdr.label == 4.0 and hdr.id == 11 and s == b"img"  # flag reset
    label = np.array([1, 2, 3.5], np.float32)
    hdr, s = recordio.unpack(recordio.pack(recordio.IRHeader(0, label, 1, 0), b"img"))
    assert hdr.flag == 3 and s == b"img"
    np.testing.assert_array_equal(hdr.label, label)
    with pytest.raises(FileFormatError):
        recordio.unpack(recordio.pack(recordio.IRHeader(0, label, 1, 0), b"")[:30])


def test_corrupt_and_truncated_files(tmp_path):
    path = str(tmp_path / "a.rec")
    with recordio.MXRecordIO(path, "w") as w:
        w.write(b"x" * 10)
        w.write(b"y" * 10)
    raw = (tmp_path / "a.rec").read_bytes()
    (tmp_path / "a.rec").write_bytes(raw[:-3])
    r = recordio.MXRecordIO(path, "r")
    assert r.read() == b"x" * 10
    with pytest.raises(FileFormatError, match=r"a\.rec.*byte 20"):
        r.read()
    (tmp_path / "a.rec").write_bytes(raw[:20] + b"junkjunk" + raw[28:])
    r = recordio.MXRecordIO(path, "r")
    r.read()
    with pytest.raises(FileFormatError, match="magic.*byte 20"):
        r.read()
    # a record that declares 2**29-1 bytes is refused before anything is allocated
    (tmp_path / "a.rec").write_bytes(MAGIC + struct.pack("<I", (1 << 29) - 1))
    with pytest.raises(FileFormatError, match="declares"):
        recordio.MXRecordIO(path, "r").read()
    # a split record whose continuation is missing
    (tmp_path / "a.rec").write_bytes(recordio.encode_record(b"1234" + MAGIC + b"5678")[:12])
    with pytest.raises(FileFormatError, match="truncated"):
        recordio.MXRecordIO(path, "r").read()


def test_bad_index_file(tmp_path):
    _write_kiln(str(tmp_path), [b"a", b"b"])
    (tmp_path / "k.idx").write_text("0\t0\nnot-a-line\n")
    with pytest.raises(FileFormatError, match=r"k\.idx: line 2"):
        recordio.MXIndexedRecordIO(str(tmp_path / "k.idx"), str(tmp_path / "k.rec"), "r")
    (tmp_path / "k.idx").write_text("0\t0\n1\t999\n")
    with pytest.raises(FileFormatError, match="outside"):
        recordio.MXIndexedRecordIO(str(tmp_path / "k.idx"), str(tmp_path / "k.rec"), "r")


def test_write_is_atomic_and_reader_pickles(tmp_path):
    path = str(tmp_path / "b.rec")
    w = recordio.MXIndexedRecordIO(str(tmp_path / "b.idx"), path, "w", key_type=str)
    w.write_idx("first", b"1")
    assert not os.path.exists(path)   # appears whole, on close
    w.write_idx("second", b"22")
    assert w.tell() == 24
    w.close()
    r = recordio.MXIndexedRecordIO(str(tmp_path / "b.idx"), path, "r", key_type=str)
    r2 = pickle.loads(pickle.dumps(r))   # DataLoader workers receive the reader this way
    assert r2.keys == ["first", "second"] and r2.read_idx("second") == b"22"
    r.reset()
    assert r.read() == b"1"


def test_pack_img_unpack_img_bgr(tmp_path):
    pytest.importorskip("PIL")
    img = np.random.RandomState(1).randint(0, 256, (5, 7, 3)).astype(np.uint8)
    s = recordio.pack_img(recordio.IRHeader(0, 2.0, 3, 0), img, quality=3, img_fmt=".png")
    hdr, out = recordio.unpack_img(s)
    assert hdr.label == 2.0
    np.testing.assert_array_equal(out, img)   # BGR in, BGR out: OpenCV's order
    _, gray = recordio.unpack_img(s, 0)
    assert gray.shape == (5, 7)
    _, payload = recordio.unpack(s)
    from PIL import Image  # the payload is a PNG whose RGB is the BGR input flipped
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(payload))), img[..., ::-1])
