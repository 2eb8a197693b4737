"""mx.image's detection augmenters (image/detection.py): boxes move with the pixels."""
import random

import numpy as np
import pytest
from kiln import image, nd


def _img_and_label():
    img = np.zeros((20, 30, 3), np.float32)
    img[4:10, 3:12] = 255.0                            # the object's pixels
    label = np.array([[1, 3 / 30, 4 / 20, 12 / 30, 10 / 20]])
    return nd.array(img), label


def _box_pixels(img, label):
    h, w = img.shape[:2]
    x0, y0, x1, y1 = (label[0, 1:5] * [w, h, w, h]).round().astype(int)
    return img.asnumpy()[y0:y1, x0:x1]


def test_horizontal_flip_moves_the_box_with_the_pixels():
    img, label = _img_and_label()
    out, lab = image.DetHorizontalFlipAug(1.0)(img, label.copy())
    np.testing.assert_allclose(lab[0, 1:5], [1 - 12 / 30, 4 / 20, 1 - 3 / 30, 10 / 20])
    assert (_box_pixels(out, lab) == 255).all() and out.asnumpy().sum() == img.asnumpy().sum()
    same, lab2 = image.DetHorizontalFlipAug(0.0)(img, label.copy())
    np.testing.assert_allclose(lab2, label)


def test_random_pad_keeps_the_object_inside_its_box():
    random.seed(0)
    img, label = _img_and_label()
    aug = image.DetRandomPadAug(area_range=(1.5, 3.0), pad_val=(7, 7, 7))
    out, lab = aug(img, label.copy())
    assert out.shape[0] * out.shape[1] >= 1.5 * 20 * 30 - 60 and out.shape[2] == 3
    assert (_box_pixels(out, lab) == 255).all()
    assert (out.asnumpy() == 255).sum() == (img.asnumpy() == 255).sum()
    assert (out.asnumpy() == 7).any()


def test_invalid_pad_ranges_warn_and_skip():
    with pytest.warns(UserWarning):
        aug = image.DetRandomPadAug(area_range=(1.0, 0.9))
    img, label = _img_and_label()
    out, lab = aug(img, label)
    assert out.shape == img.shape and lab is label


@pytest.mark.parametrize("make,match", [
    (lambda: image.DetRandomCropAug(area_range=(0.5, 0.0)), "DetRandomCropAug.*area_range"),
    (lambda: image.DetRandomCropAug(aspect_ratio_range=(0.0, 1.0)),
     "DetRandomCropAug.*aspect_ratio_range"),
    (lambda: image.DetRandomPadAug(aspect_ratio_range=(2.0, 1.0)),
     "DetRandomPadAug.*aspect_ratio_range"),
])
def test_invalid_ranges_name_the_augmenter_and_disable_it(make, match):
    with pytest.warns(UserWarning, match=match):
        aug = make()
    assert not aug.enabled
    img, label = _img_and_label()
    out, lab = aug(img, label)
    assert out.shape == img.shape and lab is label


def test_borrow_and_random_select():
    img, label = _img_and_label()
    borrow = image.DetBorrowAug(image.CastAug("float64"))
    out, lab = borrow(img, label)
    assert out.dtype == np.float64 and lab is label
    assert borrow.dumps() == image.CastAug("float64").dumps()
    with pytest.raises(TypeError):
        image.DetBorrowAug(lambda x: x)
    sel = image.DetRandomSelectAug([image.DetHorizontalFlipAug(1.0)], skip_prob=0)
    _, lab = sel(img, label.copy())
    assert lab[0, 1] == pytest.approx(1 - 12 / 30)
    assert image.DetRandomSelectAug([], skip_prob=0).skip_prob == 1
    with pytest.raises(ValueError):
        image.DetRandomSelectAug([image.CastAug()])
    assert sel.dumps()[0] == "detrandomselectaug"


def test_random_crop_keeps_covered_objects_and_their_pixels():
    img = np.zeros((40, 60, 3), np.float32)
    img[8:20, 6:24] = 255.0
    label = np.array([[1, 6 / 60, 8 / 40, 24 / 60, 20 / 40]])
    aug = image.DetRandomCropAug(min_object_covered=0.95, area_range=(0.3, 1.0))
    for seed in range(5):
        random.seed(seed)
        out, lab = aug(nd.array(img), label.copy())
        assert len(lab) == 1 and (_box_pixels(out, lab) == 255).all()
        assert (out.asnumpy() == 255).sum() == (img == 255).sum()   # the object is whole


def test_create_det_augmenter_pipeline_shapes():
    random.seed(1)
    augs = image.CreateDetAugmenter((3, 16, 16), rand_crop=0.5, rand_pad=0.5, rand_mirror=True,
                                    mean=True, std=True)
    img, label = _img_and_label()
    for aug in augs:
        img, label = aug(img, label)
    assert img.shape == (16, 16, 3) and img.dtype == np.float32
    assert label.shape[1] == 5 and (label[:, 1:5] >= 0).all() and (label[:, 1:5] <= 1).all()
    multi = image.CreateMultiRandCropAugmenter(min_object_covered=[0.1, 0.5], skip_prob=0.2)
    assert len(multi.aug_list) == 2 and multi.skip_prob == 0.2
