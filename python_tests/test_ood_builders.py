"""OOD-set builders and MNIST-C corruptions: shape, range, determinism, and real change."""

import numpy as np
import pytest

from ood_ext.data import corruptions, ood_sets
from ood_ext.data.datasets import fashion_mnist
from ood_ext.data.images import ImageSet


@pytest.fixture(scope="module")
def clean():
    return fashion_mnist("test").subset(24, 0)


def check_valid(out: ImageSet, like: ImageSet):
    assert out.images.shape == like.images.shape and out.images.dtype == np.float32
    assert out.images.min() >= 0.0 and out.images.max() <= 1.0


@pytest.mark.parametrize("name", list(corruptions.CORRUPTIONS))
def test_corruptions(clean, name):
    a, b, c = (corruptions.apply(name, clean, seed) for seed in (0, 0, 1))
    check_valid(a, clean)
    np.testing.assert_array_equal(a.images, b.images)
    assert np.abs(a.images - clean.images).mean() > 0.005, "the corruption must change the images"
    if name != "stripe":  # stripe is deterministic by definition
        assert not np.array_equal(a.images, c.images)
    assert np.allclose(np.rint(a.images * 255), a.images * 255, atol=1e-3), "quantised to 8 bits like MNIST-C"
    assert np.array_equal(a.labels, clean.labels), "labels kept: image i pairs with its clean original"


def test_stripe_inverts_the_outer_quarters(clean):
    out = corruptions.apply("stripe", clean).images
    np.testing.assert_allclose(out[..., :7], 1 - clean.images[..., :7], atol=1 / 255)
    np.testing.assert_allclose(out[..., 7:21], clean.images[..., 7:21], atol=1 / 255)


def test_unknown_corruption_and_colour_input(clean):
    with pytest.raises(ValueError, match="unknown corruption"):
        corruptions.apply("snow", clean)
    with pytest.raises(ValueError, match="grayscale"):
        corruptions.apply("fog", ImageSet("rgb", np.zeros((2, 3, 28, 28), np.float32)))


def test_interpolation_paired_and_random(clean):
    corrupted = corruptions.apply("fog", clean)
    near = ood_sets.interpolate(corrupted, clean, 0.1, paired=True)
    check_valid(near, clean)
    np.testing.assert_allclose(near.images, 0.1 * corrupted.images + 0.9 * clean.images, atol=1e-6)
    mixed = ood_sets.interpolate(corrupted, clean, 0.1, paired=False, seed=3)
    np.testing.assert_array_equal(mixed.images, ood_sets.interpolate(corrupted, clean, 0.1, False, 3).images)
    with pytest.raises(ValueError, match="k must be"):
        ood_sets.interpolate(corrupted, clean, 1.5, paired=True)
    with pytest.raises(ValueError, match="equal sizes"):
        ood_sets.interpolate(corrupted, clean.subset(5, 0), 0.1, paired=True)


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_rotations(clean, degrees):
    out = ood_sets.rotate(clean, degrees)
    check_valid(out, clean)
    np.testing.assert_array_equal(out.images, np.rot90(clean.images, degrees // 90, axes=(2, 3)))
    back = ood_sets.rotate(out, 360 - degrees)
    np.testing.assert_array_equal(back.images, clean.images)


def test_patch_shuffle_permutes_patches(clean):
    out = ood_sets.patch_shuffle(clean, 4, seed=2)
    check_valid(out, clean)
    np.testing.assert_array_equal(out.images, ood_sets.patch_shuffle(clean, 4, seed=2).images)
    assert not np.array_equal(out.images, clean.images)
    # The same 7×7 patches, in another order: per-image sorted pixel values are unchanged.
    np.testing.assert_array_equal(np.sort(out.images.reshape(24, -1), 1), np.sort(clean.images.reshape(24, -1), 1))


def test_brightness_noise_constant(clean):
    dim = ood_sets.brightness(clean, 0.5)
    check_valid(dim, clean)
    np.testing.assert_allclose(dim.images, clean.images * 0.5)
    noise = ood_sets.uniform_noise(10, (1, 28, 28), seed=1)
    assert noise.images.shape == (10, 1, 28, 28) and 0.4 < noise.images.mean() < 0.6
    np.testing.assert_array_equal(noise.images, ood_sets.uniform_noise(10, (1, 28, 28), seed=1).images)
    flat = ood_sets.constant(10, (1, 28, 28), seed=1)
    pixels = flat.images.reshape(10, -1)
    assert (pixels == pixels[:, :1]).all() and pixels[:, 0].std() > 0


def test_held_out_class(clean):
    train, test = fashion_mnist("test").subset(300, 1), clean
    id_train, id_test, ood = ood_sets.held_out_classes(train, test, (3,))
    assert 3 not in np.unique(train.labels[train.labels != 3])
    assert len(id_train) == (train.labels != 3).sum() and len(ood) == (test.labels == 3).sum()
    assert id_train.labels.max() == 8 and len(id_train.classes) == 9 and "Dress" not in id_train.classes
    assert ood.labels is None and "Dress" in ood.name
    with pytest.raises(ValueError, match="held-out classes must be"):
        ood_sets.held_out_classes(train, test, (10,))
