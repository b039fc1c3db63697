"""Training-time augmentation: exact integer shifts, flips and rotations, shapes kept, seeded."""

import pytest
import torch

from ood_ext.data.augment import Augmentation


def _batch(n=6, size=12):
    return torch.rand(n, 1, size, size, generator=torch.Generator().manual_seed(0))


def test_inactive_augmentation_returns_the_batch():
    x = _batch()
    assert Augmentation()(x) is x


def test_a_shift_is_a_crop_of_the_zero_padded_image():
    x = _batch(200)
    torch.manual_seed(1)
    out = Augmentation(shift=2)(x)
    assert out.shape == x.shape
    for image, shifted in zip(x[:, 0], out[:, 0]):
        padded = torch.nn.functional.pad(image, (2, 2, 2, 2))
        crops = [padded[i:i + 12, j:j + 12] for i in range(5) for j in range(5)]
        assert any(torch.allclose(shifted, c, atol=1e-5) for c in crops)
    assert not torch.allclose(out, x), "most images move"


def test_flip_mirrors_about_half_the_images():
    x = _batch(400)
    torch.manual_seed(2)
    out = Augmentation(flip=True)(x)
    mirrored = torch.tensor([torch.allclose(o, i.flip(-1), atol=1e-5) for o, i in zip(out, x)])
    kept = torch.tensor([torch.allclose(o, i, atol=1e-5) for o, i in zip(out, x)])
    assert bool((mirrored | kept).all()) and 150 < int(mirrored.sum()) < 250


def test_rotation_keeps_the_centre_and_is_bounded():
    x = torch.zeros(64, 1, 15, 15)
    x[:, :, 7, 7] = 1.0  # the centre pixel stays put under any rotation about the centre
    x[:, :, 7, 12] = 1.0  # a pixel 5 to the right moves along a circle of radius 5
    torch.manual_seed(3)
    out = Augmentation(degrees=30.0)(x)
    assert torch.allclose(out[:, 0, 7, 7], torch.ones(64), atol=1e-5)
    ys, xs = torch.meshgrid(torch.arange(15.0), torch.arange(15.0), indexing="ij")
    ring = out[:, 0].clone()
    ring[:, 7, 7] = 0
    mass = ring.sum((1, 2))
    angle = torch.atan2((ring * (ys - 7)).sum((1, 2)) / mass, (ring * (xs - 7)).sum((1, 2)) / mass)
    assert float(angle.abs().max()) <= 30.5 * torch.pi / 180 and float(angle.abs().max()) > 10 * torch.pi / 180


def test_seeded_and_validated():
    x = _batch()
    torch.manual_seed(4)
    a = Augmentation(2, 10.0, True)(x)
    torch.manual_seed(4)
    assert torch.equal(a, Augmentation(2, 10.0, True)(x))
    with pytest.raises(ValueError, match="must be ≥ 0"):
        Augmentation(shift=-1)
