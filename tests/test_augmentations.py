import pytest
import torch

from benchbench.builtin import augmentations as augs
from benchbench.errors import BenchError

SHAPE = (3, 8, 8)


def batch(n=16):
    images = torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(0))
    return images, torch.arange(n) % 10


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_hflip_flips_exactly_the_chosen_images():
    images, targets = batch(64)
    out, same_targets = augs.hflip(num_classes=10, input_shape=SHAPE)(images, targets, gen())
    flipped = [bool((o == i.flip(-1)).all()) for o, i in zip(out, images, strict=True)]
    kept = [bool((o == i).all()) for o, i in zip(out, images, strict=True)]
    assert all(f != k for f, k in zip(flipped, kept, strict=True))
    assert 16 < sum(flipped) < 48  # p = 0.5, one draw per image
    assert same_targets is targets
    always = augs.hflip(num_classes=10, input_shape=SHAPE, p=1.0)(images, targets, gen())[0]
    assert (always == images.flip(-1)).all()


def test_crop_returns_a_window_of_the_zero_padded_image():
    images, targets = batch(32)
    out, _ = augs.crop(num_classes=10, input_shape=SHAPE, padding=2)(images, targets, gen())
    assert out.shape == images.shape
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2))
    offsets = set()
    for o, p in zip(out, padded, strict=True):
        matches = [
            (y, x) for y in range(5) for x in range(5) if (p[:, y : y + 8, x : x + 8] == o).all()
        ]
        assert matches
        offsets.add(matches[0])
    assert len(offsets) > 5  # different samples, different draws
    unpadded = augs.crop(num_classes=10, input_shape=SHAPE, padding=0)(images, targets, gen())
    assert (unpadded[0] == images).all()


def test_reflect_padding_and_bad_options():
    images, targets = batch(4)
    out, _ = augs.crop(num_classes=10, input_shape=SHAPE, padding=2, fill="reflect")(
        images, targets, gen()
    )
    assert out.shape == images.shape
    with pytest.raises(BenchError, match="fill"):
        augs.crop(num_classes=10, input_shape=SHAPE, fill="wrap")
    with pytest.raises(BenchError, match="probability"):
        augs.hflip(num_classes=10, input_shape=SHAPE, p=1.5)


def test_cutmix_targets_sum_to_one_and_match_the_pasted_area():
    images, targets = batch(64)
    out, soft = augs.cutmix(num_classes=10, input_shape=SHAPE)(images, targets, gen())
    assert soft.shape == (64, 10)
    assert torch.allclose(soft.sum(1), torch.ones(64))
    for o, i, t, label in zip(out, images, soft, targets, strict=True):
        changed = (o != i).any(0).float().mean()  # share of pixels taken from the partner
        own = t[label]
        if own < 1:  # mixed: the own-class weight is the area kept
            assert own == pytest.approx(1 - changed.item(), abs=1e-6)
    assert (soft.max(1).values < 1).sum() > 32  # most samples really mixed


def test_the_same_seed_gives_the_same_output_and_another_seed_not():
    images, targets = batch(16)
    for make in (augs.hflip, augs.crop, augs.cutmix):
        augment = make(num_classes=10, input_shape=SHAPE)
        a = augment(images, targets, gen(1))[0]
        b = augment(images, targets, gen(1))[0]
        c = augment(images, targets, gen(2))[0]
        assert (a == b).all() and not (a == c).all(), make.__name__
