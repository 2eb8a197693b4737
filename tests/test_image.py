"""kiln.image against MXNet 1.9.1 (one oracle run for the module, skipped without the MXNet
interpreter): decoding (JPEG, PNG, grey), resizing (OpenCV's codes and rounding), crops, the
augmenters under the same seeds, rotation, ImageIter, and the image datasets."""
import io
import os

import _mxnet_oracle_data
import kiln as kl
import numpy as np
import pytest
from kiln import image
from kiln.data import recordio
from kiln.data.vision import ImageFolderDataset, ImageRecordDataset

PIL = pytest.importorskip("PIL.Image")
AUG_KW = [dict(rand_crop=True, rand_mirror=True, brightness=0.3, contrast=0.3, saturation=0.3,
               hue=0.2, pca_noise=0.1, rand_gray=0.5, mean=True, std=True),
          dict(rand_crop=True, rand_resize=True, inter_method=1),
          dict(resize=12, inter_method=3, mean=True)]
ITERS = [("imglist", dict(path_imglist="{f}/list.lst", path_root="{f}", shuffle=True)),
         ("rec", dict(path_imgrec="{f}/im.rec")),
         ("rec_idx", dict(path_imgrec="{f}/im.rec", path_imgidx="{f}/im.idx", shuffle=True,
                          last_batch_handle="roll_over")),
         ("discard", dict(path_imglist="{f}/list.lst", path_root="{f}",
                          last_batch_handle="discard"))]


def _make_files(f):
    rng = np.random.RandomState(0)
    y, x = np.mgrid[0:20, 0:30]
    smooth = np.stack([x * 8, y * 12, (x + y) * 4], -1).astype(np.uint8)
    smooth[5:9, 5:12] = rng.randint(0, 256, (4, 7, 3))
    PIL.fromarray(smooth).save(f + "/a.jpg", quality=90)
    PIL.fromarray(smooth).save(f + "/a.png")
    PIL.fromarray(smooth[..., 1]).save(f + "/g.png")
    PIL.fromarray((np.arange(120).reshape(12, 10) * 500).astype(np.uint16)).save(f + "/g16.png")
    os.makedirs(f + "/folder/cat")
    os.makedirs(f + "/folder/dog")
    w = recordio.MXIndexedRecordIO(f + "/im.idx", f + "/im.rec", "w")
    with open(f + "/list.lst", "w") as lst:
        for i in range(5):
            img = rng.randint(0, 256, (10 + i, 9, 3)).astype(np.uint8)
            name = f"img{i}.png"
            PIL.fromarray(img).save(f"{f}/{name}")
            PIL.fromarray(img).save(f"{f}/folder/{('cat', 'dog')[i % 2]}/{name}")
            lst.write(f"{i}\t{i * 1.5}\t{name}\n")
            with open(f"{f}/{name}", "rb") as fh:
                w.write_idx(i, recordio.pack(recordio.IRHeader(0, i * 1.5, i, 0), fh.read()))
    w.close()
    np.save(f + "/raw.npy", rng.randint(0, 256, (13, 17, 3)).astype(np.uint8))


ORACLE = """
    import os, sys, random, numpy as np, mxnet as mx
    from mxnet.gluon.data.vision import ImageFolderDataset, ImageRecordDataset
    f, AUG_KW, ITERS = sys.argv[1], eval(sys.argv[2]), eval(sys.argv[3])
    out, im = {}, mx.image
    for name in ['a.jpg', 'a.png', 'g.png', 'g16.png']:
        for flag in (0, 1):
            for rgb in (True, False):
                out['dec/%s/%d/%d' % (name, flag, rgb)] = im.imread(f + '/' + name, flag=flag,
                                                                   to_rgb=rgb).asnumpy()
    raw = mx.nd.array(np.load(f + '/raw.npy'), dtype='uint8')
    for interp in range(5):
        out['rs/%d' % interp] = im.resize_short(raw, 7, interp).asnumpy()
        out['rsf/%d' % interp] = im.resize_short(raw.astype('float32'), 20, interp).asnumpy()
    out['cc'] = im.center_crop(raw, (8, 5))[0].asnumpy()
    out['cc_up'] = im.center_crop(raw, (20, 15), interp=1)[0].asnumpy()
    out['fc'] = im.fixed_crop(raw, 2, 3, 6, 4, (12, 8), 1).asnumpy()
    random.seed(3)
    out['rc'] = np.array([im.random_crop(raw, (8, 5))[1] for _ in range(4)])
    out['rsc'] = np.array([im.random_size_crop(raw, (8, 5), 0.3, (0.5, 2))[1]
                           for _ in range(4)])
    out['cn'] = im.color_normalize(raw.astype('float32'), mx.nd.array([1, 2, 3]),
                                   mx.nd.array([2, 4, 8])).asnumpy()
    for k, kw in enumerate(AUG_KW):
        random.seed(k); np.random.seed(k)
        augs = im.CreateAugmenter((3, 6, 8), **kw)
        out['augdump/%d' % k] = np.array(str([a.dumps() for a in augs]))
        for rep in range(3):
            x = raw
            for a in augs:
                x = a(x)
            out['aug/%d/%d' % (k, rep)] = x.asnumpy()
    chw = mx.nd.array(np.load(f + '/raw.npy').transpose(2, 0, 1).astype('float32'))
    for deg, zi, zo in [(30, False, False), (-75, True, False), (120, False, True)]:
        out['rot/%d' % deg] = im.imrotate(chw, deg, zoom_in=zi, zoom_out=zo).asnumpy()
    out['rotb'] = im.imrotate(mx.nd.stack(chw, chw * 2), mx.nd.array([10, -20])).asnumpy()
    for name, kw in ITERS:
        random.seed(5)
        it = im.ImageIter(2, (3, 6, 5), **{k: v.format(f=f) if isinstance(v, str) else v
                                           for k, v in kw.items()})
        for e in range(2):
            for i, b in enumerate(it):
                key = 'it/%s/%d/%d/' % (name, e, i)
                out[key + 'data'] = b.data[0].asnumpy()
                out[key + 'label'] = b.label[0].asnumpy()
                out[key + 'pad'] = np.array(b.pad)
            it.reset()
    ds = ImageFolderDataset(f + '/folder')
    out['folder/synsets'] = np.array(ds.synsets)
    out['folder/items'] = np.array([(os.path.relpath(p, f), l) for p, l in ds.items])
    out['folder/0'] = ds[0][0].asnumpy()
    ds = ImageRecordDataset(f + '/im.rec', flag=0)
    out['recds/len'] = np.array(len(ds))
    out['recds/3'] = ds[3][0].asnumpy()
    out['recds/3/label'] = np.array(ds[3][1])
    np.savez(f + '/oracle.npz', **out)
"""


def _prepare(f):
    _make_files(f)
    return [f, repr(AUG_KW), repr(ITERS)]


_mxnet_oracle_data.register("image", _prepare, ORACLE)


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    f = _mxnet_oracle_data.folder("image", tmp_path_factory)
    with np.load(f + "/oracle.npz") as z:
        return f, dict(z)


def _raw(f, dtype="uint8"):
    return kl.nd.array(np.load(f + "/raw.npy"), dtype=dtype)


@pytest.mark.parametrize("name", ["a.jpg", "a.png", "g.png", "g16.png"])
def test_decode_matches_mxnet(oracle, name):
    f, want = oracle
    for flag in (0, 1):
        for rgb in (True, False):
            got = image.imread(f"{f}/{name}", flag=flag, to_rgb=rgb)
            assert got.dtype == np.uint8
            np.testing.assert_array_equal(got.asnumpy(), want[f"dec/{name}/{flag}/{rgb:d}"])
    with open(f"{f}/{name}", "rb") as fh:
        buf = fh.read()
    np.testing.assert_array_equal(image.imdecode(buf).asnumpy(), want[f"dec/{name}/1/1"])


def test_decode_errors(tmp_path):
    with pytest.raises(kl.MXNetError, match="Decoding failed"):
        image.imdecode(b"not an image at all")


def test_resize_and_crops_match_mxnet(oracle):
    f, want = oracle
    raw = _raw(f)
    for interp in range(5):   # uint8: OpenCV's fixed-point rounding, to within one unit
        got = image.resize_short(raw, 7, interp).asnumpy().astype(int)
        assert np.abs(got - want[f"rs/{interp}"]).max() <= 1
        gotf = image.resize_short(_raw(f, "float32"), 20, interp).asnumpy()
        np.testing.assert_allclose(gotf, want[f"rsf/{interp}"], rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(image.center_crop(raw, (8, 5))[0].asnumpy(), want["cc"])
    up = image.center_crop(raw, (20, 15), interp=1)[0].asnumpy().astype(int)
    assert up.shape == want["cc_up"].shape and np.abs(up - want["cc_up"]).max() <= 1
    fc = image.fixed_crop(raw, 2, 3, 6, 4, (12, 8), 1).asnumpy().astype(int)
    assert np.abs(fc - want["fc"]).max() <= 1
    import random
    random.seed(3)   # the same draws from Python's generator as MXNet's
    assert np.array_equal([image.random_crop(raw, (8, 5))[1] for _ in range(4)], want["rc"])
    assert np.array_equal([image.random_size_crop(raw, (8, 5), 0.3, (0.5, 2))[1]
                           for _ in range(4)], want["rsc"])
    cn = image.color_normalize(raw.astype("float32"), kl.nd.array([1, 2, 3]),
                               kl.nd.array([2, 4, 8]))
    np.testing.assert_allclose(cn.asnumpy(), want["cn"], rtol=1e-6)


@pytest.mark.parametrize("k", range(len(AUG_KW)))
def test_augmenters_match_mxnet_under_the_same_seeds(oracle, k):
    import random
    f, want = oracle
    random.seed(k)
    np.random.seed(k)
    augs = image.CreateAugmenter((3, 6, 8), **AUG_KW[k])
    assert str([a.dumps() for a in augs]) == str(want[f"augdump/{k}"])
    for rep in range(3):
        x = _raw(f)
        for a in augs:
            x = a(x)
        # resizes round uint8 within a unit of OpenCV's (then normalized by std ~57)
        np.testing.assert_allclose(x.asnumpy(), want[f"aug/{k}/{rep}"], rtol=1e-4,
                                   atol=1e-3 if k == 0 else 1.01)


def test_imrotate_matches_mxnet(oracle):
    f, want = oracle
    chw = kl.nd.array(np.load(f + "/raw.npy").transpose(2, 0, 1).astype("float32"))
    for deg, zi, zo in [(30, False, False), (-75, True, False), (120, False, True)]:
        got = image.imrotate(chw, deg, zoom_in=zi, zoom_out=zo).asnumpy()
        np.testing.assert_allclose(got, want[f"rot/{deg}"], rtol=1e-4, atol=1e-3)
    batch = kl.nd.stack(chw, chw * 2)
    got = image.imrotate(batch, kl.nd.array([10, -20])).asnumpy()
    np.testing.assert_allclose(got, want["rotb"], rtol=1e-4, atol=1e-3)
    with pytest.raises(TypeError, match="float32"):
        image.imrotate(chw.astype("uint8"), 10)


@pytest.mark.parametrize("name, kw", ITERS, ids=[c[0] for c in ITERS])
def test_image_iter_matches_mxnet(oracle, name, kw):
    import random
    f, want = oracle
    random.seed(5)
    it = image.ImageIter(2, (3, 6, 5), **{k: v.format(f=f) if isinstance(v, str) else v
                                          for k, v in kw.items()})
    got = {}
    for e in range(2):
        for i, b in enumerate(it):
            key = f"it/{name}/{e}/{i}/"
            got[key + "data"] = b.data[0].asnumpy()
            got[key + "label"] = b.label[0].asnumpy()
            got[key + "pad"] = b.pad
        it.reset()
    expect = {k: v for k, v in want.items() if k.startswith(f"it/{name}/")}
    assert sorted(got) == sorted(expect)
    for k, v in expect.items():
        np.testing.assert_allclose(np.asarray(got[k], np.float64), v, atol=1.01, err_msg=k)


def test_image_datasets_match_mxnet(oracle):
    f, want = oracle
    ds = ImageFolderDataset(f + "/folder")
    assert ds.synsets == list(want["folder/synsets"])
    assert [(os.path.relpath(p, f), str(lab)) for p, lab in ds.items] == \
        [tuple(x) for x in want["folder/items"].tolist()]
    np.testing.assert_array_equal(ds[0][0].asnumpy(), want["folder/0"])
    rec = ImageRecordDataset(f + "/im.rec", flag=0)
    assert len(rec) == int(want["recds/len"])
    img, label = rec[3]
    np.testing.assert_array_equal(img.asnumpy(), want["recds/3"])
    assert label == float(want["recds/3/label"])
    raw = kl.data.RecordFileDataset(f + "/im.rec")
    assert recordio.unpack(raw[3])[0].id == 3


def test_image_folder_skips_other_files(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("no image")
    (tmp_path / "stray.txt").write_text("not a folder")
    buf = io.BytesIO()
    PIL.fromarray(np.zeros((2, 2, 3), np.uint8)).save(buf, format="PNG")
    (tmp_path / "a" / "y.PNG").write_bytes(buf.getvalue())
    with pytest.warns(UserWarning) as rec:
        ds = ImageFolderDataset(str(tmp_path))
    assert len(rec) == 2 and len(ds) == 1 and ds[0][0].shape == (2, 2, 3)


def test_image_record_dataset_in_worker_processes(oracle):
    f, _ = oracle
    ds = ImageRecordDataset(f + "/im.rec").transform_first(lambda x: x[:10].astype("float32"))
    loader = kl.data.DataLoader(ds, batch_size=5, num_workers=2)
    x, y = next(iter(loader))   # each worker reopens the record file
    np.testing.assert_allclose(y.asnumpy(), [i * 1.5 for i in range(5)])
    np.testing.assert_array_equal(x.asnumpy()[3], ds[3][0].asnumpy())
