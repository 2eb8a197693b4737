"""kiln.io's file iterators (CSVIter, LibSVMIter, MNISTIter, ImageRecordIter) give the batches,
pads and descriptions MXNet 1.9.1 gives on the same files (one oracle run for the module; skipped
without the MXNet interpreter), and the wrappers (PrefetchingIter, ResizeIter) against
NDArrayIter."""
import struct

import _mxnet_oracle_data
import numpy as np
import pytest
from kiln import io as kio
from kiln.base import FileFormatError
from kiln.data import recordio

# Each case: (name, constructor expression over `io` and `folder`, epochs). Both interpreters
# evaluate the same expression, so the arguments are MXNet's.
CASES = [
    ("csv_round", "io.CSVIter(data_csv=f+'/d.csv', data_shape=(3,), label_csv=f+'/l.csv', "
                  "batch_size=2)", 3),
    ("csv_noround", "io.CSVIter(data_csv=f+'/d.csv', data_shape=(3,), label_csv=f+'/l.csv', "
                    "batch_size=2, round_batch=False)", 2),
    ("csv_nolabel", "io.CSVIter(data_csv=f+'/d.csv', data_shape=(3,), batch_size=3)", 1),
    ("csv_2d", "io.CSVIter(data_csv=f+'/d.csv', data_shape=(1, 3), label_csv=f+'/l2.csv', "
               "label_shape=(2,), batch_size=4)", 2),
    ("libsvm", "io.LibSVMIter(data_libsvm=f+'/x.libsvm', data_shape=(5,), batch_size=3)", 2),
    ("mnist", "io.MNISTIter(image=f+'/img', label=f+'/lab', batch_size=2, shuffle=False)", 2),
    ("mnist_flat", "io.MNISTIter(image=f+'/img', label=f+'/lab', batch_size=3, shuffle=False, "
                   "flat=True)", 1),
    ("imrec", "io.ImageRecordIter(path_imgrec=f+'/im.rec', data_shape=(3, 6, 5), batch_size=2, "
              "label_width=2)", 2),
    ("imrec_norm", "io.ImageRecordIter(path_imgrec=f+'/im.rec', path_imgidx=f+'/im.idx', "
                   "data_shape=(3, 6, 5), batch_size=3, mean_r=10, mean_g=20, mean_b=30, "
                   "std_r=2, std_g=3, std_b=4, scale=0.5, label_width=2)", 1),
]

ORACLE = """
    import sys, numpy as np, mxnet as mx
    io, f, out = mx.io, sys.argv[1], {}
    for name, expr, epochs in eval(sys.argv[2]):
        it = eval(expr)
        out[name + '/desc'] = np.array(repr((it.provide_data, it.provide_label)))
        for e in range(epochs):
            for i, b in enumerate(it):
                key = '%s/%d/%d/' % (name, e, i)
                out[key + 'data'] = b.data[0].asnumpy()
                out[key + 'label'] = b.label[0].asnumpy()
                out[key + 'pad'] = np.array(b.pad)
                out[key + 'stype'] = np.array(b.data[0].stype)
            it.reset()
    np.savez(f + '/oracle.npz', **out)
"""


def _write_files(f):
    rng = np.random.RandomState(0)
    d = np.arange(15, dtype=np.float32).reshape(5, 3)
    np.savetxt(f + "/d.csv", d, delimiter=",")
    np.savetxt(f + "/l.csv", np.arange(5), delimiter=",")
    np.savetxt(f + "/l2.csv", np.arange(10).reshape(5, 2), delimiter=",")
    with open(f + "/x.libsvm", "w") as fh:
        fh.write("1 0:1.5 3:2\n0 1:-1\n2 2:4 4:5\n1\n")
    imgs = rng.randint(0, 256, (7, 28, 28)).astype(np.uint8)
    with open(f + "/img", "wb") as fh:
        fh.write(struct.pack(">IIII", 2051, 7, 28, 28) + imgs.tobytes())
    with open(f + "/lab", "wb") as fh:
        fh.write(struct.pack(">II", 2049, 7) + np.arange(7, dtype=np.uint8).tobytes())
    w = recordio.MXIndexedRecordIO(f + "/im.idx", f + "/im.rec", "w")
    for i in range(5):
        pixels = rng.randint(0, 256, (6, 5, 3)).astype(np.uint8)
        w.write_idx(i, recordio.pack_img(recordio.IRHeader(0, [i, 10 + i], i, 0), pixels,
                                         img_fmt=".png"))
    w.close()


def _run(it, epochs):
    out = {"desc": repr((it.provide_data, it.provide_label))}
    for e in range(epochs):
        for i, b in enumerate(it):
            out[f"{e}/{i}/data"] = b.data[0].asnumpy()
            out[f"{e}/{i}/label"] = b.label[0].asnumpy()
            out[f"{e}/{i}/pad"] = b.pad
            out[f"{e}/{i}/stype"] = b.data[0].stype   # 'csr' for LibSVMIter
        it.reset()
    return out


def _prepare(f):
    _write_files(f)
    return [f, repr(CASES)]


_mxnet_oracle_data.register("io_iters", _prepare, ORACLE)


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    f = _mxnet_oracle_data.folder("io_iters", tmp_path_factory)
    with np.load(f + "/oracle.npz") as z:
        return f, dict(z)


@pytest.mark.parametrize("name, expr, epochs", CASES, ids=[c[0] for c in CASES])
def test_iterator_matches_mxnet(oracle, name, expr, epochs):
    f, want = oracle
    got = _run(eval(expr, {"io": kio, "f": f}), epochs)
    want = {k[len(name) + 1:]: v for k, v in want.items() if k.startswith(name + "/")}
    # the descriptions: same names and shapes (MXNet's C++ iterators print plain tuples)
    assert got.pop("desc").replace("DataDesc", "") == str(want.pop("desc")).replace(
        "DataDesc", "")
    assert sorted(got) == sorted(want)
    for k, v in want.items():
        if k.endswith("stype"):
            assert got[k] == str(v), k
            continue
        np.testing.assert_allclose(np.asarray(got[k], np.float64), v, rtol=1e-6, err_msg=k)


def test_libsvm_bad_index_and_mnist_truncated(tmp_path):
    (tmp_path / "x.libsvm").write_text("1 0:1 9:2\n")
    with pytest.raises(ValueError, match="line 1"):
        kio.LibSVMIter(data_libsvm=str(tmp_path / "x.libsvm"), data_shape=(5,))
    (tmp_path / "img").write_bytes(struct.pack(">IIII", 2051, 7, 28, 28) + b"\0" * 100)
    with pytest.raises(FileFormatError, match="img"):
        kio.MNISTIter(image=str(tmp_path / "img"), label=str(tmp_path / "img"))


def test_image_record_iter_label_width(oracle):
    f, _ = oracle
    it = kio.ImageRecordIter(path_imgrec=f + "/im.rec", data_shape=(3, 6, 5), batch_size=2)
    with pytest.raises(ValueError, match="label_width"):
        it.next()


def test_prefetching_iter_joins_and_renames():
    x, y = np.arange(20).reshape(10, 2), np.arange(10)
    a = kio.NDArrayIter(x, y, batch_size=4)
    b = kio.NDArrayIter(x * 2, y, batch_size=4)
    it = kio.PrefetchingIter([a, b], rename_data=[{"data": "a"}, {"data": "b"}])
    assert [d.name for d in it.provide_data] == ["a", "b"]
    for _ in range(2):   # two epochs, reset in between
        ref = kio.NDArrayIter(x, y, batch_size=4)
        got = list(it)
        want = list(ref)
        assert len(got) == len(want) == 3
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.data[0].asnumpy(), w.data[0].asnumpy())
            np.testing.assert_array_equal(g.data[1].asnumpy(), 2 * w.data[0].asnumpy())
            assert g.pad == w.pad and len(g.label) == 2
        it.reset()


def test_resize_iter_over_csv(tmp_path):
    np.savetxt(tmp_path / "d.csv", np.arange(12).reshape(6, 2), delimiter=",")
    it = kio.ResizeIter(kio.CSVIter(data_csv=str(tmp_path / "d.csv"), data_shape=(2,),
                                    batch_size=4), 5)
    firsts = [b.data[0].asnumpy()[0, 0] for b in it]
    assert len(firsts) == 5
    assert firsts[:2] == [0.0, 8.0]   # second batch wraps (round_batch)


@pytest.mark.parametrize("shuffle", [False, True])
def test_ndarrayiter_label_longer_than_data_uses_its_head(shuffle):
    # MXNet 1.9 pairs example i of the data with example i of each label and never reads a
    # longer label's tail (its test_sample_weight_loss scores data[10:] against 20 labels)
    data = np.arange(12, dtype="float32").reshape(6, 2)
    labels = {"label": np.arange(9, dtype="float32"), "w": np.arange(9, dtype="float32") * 10}
    it = kio.NDArrayIter(data, labels, 3, shuffle=shuffle)
    seen = []
    for batch in it:
        first, lab, w = (batch.data[0].asnumpy()[:, 0], batch.label[0].asnumpy(),
                         batch.label[1].asnumpy())
        np.testing.assert_array_equal(first // 2, lab)
        np.testing.assert_array_equal(lab * 10, w)
        seen.extend(lab)
    assert sorted(seen) == [0, 1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="'label' has 5 examples, 'data' has 6"):
        kio.NDArrayIter(data, {"label": np.arange(5)}, 3)
    with pytest.raises(ValueError, match="has 7 examples"):
        kio.NDArrayIter({"a": data, "b": np.zeros((7, 2))}, None, 3)
