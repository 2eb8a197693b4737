"""kiln.data.vision: transform numerics and the local-file datasets."""
import gzip
import random
import struct

import kiln as kl
import numpy as np
import pytest
from kiln.data.vision import CIFAR10, MNIST, FashionMNIST, transforms


def _img(h, w, c=3, dtype="uint8"):
    return kl.nd.array(np.arange(h * w * c).reshape(h, w, c) % 256, dtype=dtype)


def test_to_tensor_and_normalize():
    img = _img(2, 3)
    t = transforms.ToTensor()(img)
    assert t.shape == (3, 2, 3) and t.dtype == np.float32
    np.testing.assert_allclose(t.asnumpy(), img.asnumpy().transpose(2, 0, 1) / 255.0, rtol=1e-6)
    batch = transforms.ToTensor()(kl.nd.array(np.ones((4, 2, 3, 3)), dtype="uint8"))
    assert batch.shape == (4, 3, 2, 3)
    x = kl.nd.array(np.ones((3, 2, 2)))
    out = transforms.Normalize(mean=(0.0, 0.5, 1.0), std=(1.0, 0.5, 2.0))(x).asnumpy()
    np.testing.assert_allclose(out[:, 0, 0], [1.0, 1.0, 0.0])
    assert transforms.Normalize(0.5, 0.25)(x).asnumpy()[0, 0, 0] == pytest.approx(2.0)
    with pytest.raises(ValueError):
        transforms.Normalize(mean=(0.0, 0.0))(x)


def test_resize_bilinear_nearest_area():
    row = kl.nd.array(np.array([0.0, 10.0]).reshape(1, 2, 1))
    # OpenCV half-pixel bilinear, edges clamped.
    up = transforms.Resize((4, 1))(row).asnumpy().ravel()
    np.testing.assert_allclose(up, [0.0, 2.5, 7.5, 10.0])
    near = transforms.Resize((4, 1), interpolation=0)(row).asnumpy().ravel()
    np.testing.assert_allclose(near, [0.0, 0.0, 10.0, 10.0])
    four = kl.nd.array(np.array([0.0, 2.0, 4.0, 10.0]).reshape(1, 4, 1))
    # 3 is OpenCV's INTER_AREA (MXNet passes the codes to cv::resize; 2 is bicubic)
    np.testing.assert_allclose(transforms.Resize((2, 1), interpolation=3)(four).asnumpy().ravel(),
                               [1.0, 7.0])
    u8 = kl.nd.array(np.array([0, 255]).reshape(1, 2, 1), dtype="uint8")
    out = transforms.Resize((4, 1))(u8)
    assert out.dtype == np.uint8 and out.asnumpy().ravel().tolist() == [0, 64, 191, 255]


def test_resize_shapes_keep_ratio_and_batch():
    img = _img(8, 4)
    assert transforms.Resize(5)(img).shape == (5, 5, 3)
    assert transforms.Resize((6, 3))(img).shape == (3, 6, 3)
    assert transforms.Resize(2, keep_ratio=True)(img).shape == (4, 2, 3)
    assert transforms.Resize(3, keep_ratio=True)(_img(4, 6)).shape == (3, 4, 3)
    assert transforms.Resize((2, 2))(kl.nd.zeros((5, 8, 8, 3))).shape == (5, 2, 2, 3)
    same = transforms.Resize((4, 8))(img)
    np.testing.assert_array_equal(same.asnumpy(), img.asnumpy())


def test_center_crop_and_random_resized_crop():
    img = kl.nd.array(np.arange(16).reshape(4, 4, 1))
    out = transforms.CenterCrop(2)(img).asnumpy()[..., 0]
    np.testing.assert_array_equal(out, [[5, 6], [9, 10]])
    assert transforms.CenterCrop((3, 2))(_img(5, 7)).shape == (2, 3, 3)
    assert transforms.CenterCrop(8)(_img(4, 4)).shape == (8, 8, 3)  # upsampled
    random.seed(0)
    rrc = transforms.RandomResizedCrop(3)
    assert rrc(_img(10, 12)).shape == (3, 3, 3)
    full = transforms.RandomResizedCrop((12, 10), scale=(1.0, 1.0), ratio=(1.2, 1.2))
    np.testing.assert_array_equal(full(_img(10, 12)).asnumpy(), _img(10, 12).asnumpy())


def test_flips_cast_compose_brightness():
    img = _img(2, 3)
    seen = set()
    np.random.seed(1)
    for _ in range(20):
        out = transforms.RandomFlipLeftRight()(img).asnumpy()
        flipped = (out == img.asnumpy()[:, ::-1]).all()
        assert flipped or (out == img.asnumpy()).all()
        seen.add(bool(flipped))
        tb = transforms.RandomFlipTopBottom()(img).asnumpy()
        assert (tb == img.asnumpy()[::-1]).all() or (tb == img.asnumpy()).all()
    assert seen == {True, False}
    assert transforms.Cast("float16")(img).dtype == np.float16
    assert transforms.Cast()(img).dtype == np.float32
    comp = transforms.Compose([transforms.Resize(4), transforms.CenterCrop(2),
                               transforms.ToTensor(), transforms.Normalize(0.5, 0.5)])
    assert len(comp) == 3  # Resize | CenterCrop | HybridSequential(ToTensor, Normalize)
    assert comp(img).shape == (3, 2, 2)
    bright = transforms.RandomBrightness(0.5)(kl.nd.full((2, 2, 3), 200, dtype="uint8"))
    assert bright.dtype == np.uint8 and 100 <= bright.asnumpy().min() <= 255
    assert transforms.RandomContrast(0.3)(_img(3, 3, dtype="float32")).shape == (3, 3, 3)


def test_transform_first_in_dataloader():
    ds = kl.data.ArrayDataset(np.zeros((5, 4, 4, 3), np.uint8), np.arange(5))
    ds = ds.transform_first(transforms.ToTensor())
    x, y = next(iter(kl.data.DataLoader(ds, batch_size=5)))
    assert x.shape == (5, 3, 4, 4) and x.dtype == np.float32 and y.dtype == np.int64


def _write_idx(path, arr):
    dims = arr.shape
    header = struct.pack(">I", 0x0800 | len(dims)) + struct.pack(f">{len(dims)}I", *dims)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


@pytest.mark.parametrize("cls", [MNIST, FashionMNIST])
def test_mnist_from_local_files(tmp_path, cls):
    images = np.random.RandomState(0).randint(0, 256, (3, 28, 28))
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([7, 2, 1]))
    ds = cls(root=str(tmp_path), train=False)
    assert len(ds) == 3
    img, label = ds[1]
    assert img.shape == (28, 28, 1) and img.dtype == np.uint8 and label == 2
    assert label.dtype == np.int32
    np.testing.assert_array_equal(img.asnumpy()[..., 0], images[1])
    tds = cls(root=str(tmp_path), train=False, transform=lambda d, lab: (d.shape, lab + 1))
    assert tds[0] == ((28, 28, 1), 8)
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        cls(root=str(tmp_path), train=True)


def test_cifar10_from_local_files(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    rng = np.random.RandomState(1)
    rec = np.concatenate([np.array([[3], [9]]), rng.randint(0, 256, (2, 3072))], axis=1)
    rec.astype(np.uint8).tofile(folder / "test_batch.bin")
    ds = CIFAR10(root=str(tmp_path), train=False)
    img, label = ds[1]
    assert len(ds) == 2 and img.shape == (32, 32, 3) and label == 9
    np.testing.assert_array_equal(img.asnumpy()[:, :, 0], rec[1, 1:1025].reshape(32, 32))
    with pytest.raises(FileNotFoundError, match="does not download"):
        CIFAR10(root=str(tmp_path), train=True)


def test_hybridized_transforms_match_eager():
    img = _img(4, 6)
    seq = kl.nn.HybridSequential()
    seq.add(transforms.ToTensor(), transforms.Normalize((0.1, 0.2, 0.3), (0.5, 0.5, 2.0)),
            transforms.Cast("float16"))
    eager = seq(img).asnumpy()
    seq.hybridize()
    out = seq(img)
    assert out.dtype == np.float16 and out.shape == (3, 4, 6)
    np.testing.assert_allclose(out.asnumpy().astype(np.float32), eager.astype(np.float32))
    resize = transforms.Resize(3)
    resize.hybridize()  # stays eager on its own
    assert resize(img).shape == (3, 3, 3)
    bad = kl.nn.HybridSequential()
    bad.add(transforms.ToTensor(), transforms.RandomFlipLeftRight())
    bad.hybridize()
    with pytest.raises(TypeError, match="cannot be traced"):
        bad(img)


def test_random_crop_with_padding():
    random.seed(5)
    img = _img(4, 4, 1)
    out = transforms.RandomCrop(4, pad=2)(img).asnumpy()[..., 0]
    padded = np.pad(img.asnumpy()[..., 0], 2)
    windows = [padded[y:y + 4, x:x + 4] for y in range(5) for x in range(5)]
    assert any((out == w).all() for w in windows)
    assert transforms.RandomCrop((3, 2))(_img(5, 6)).shape == (2, 3, 3)
