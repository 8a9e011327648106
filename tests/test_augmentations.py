import math

import pytest
import torch

from benchbench.data.augment import SampleRandom
from benchbench.data.augment import batch_random
from benchbench.errors import BenchError
from benchbench.plugins.builtin import augmentations as augs

SHAPE = (3, 8, 8)
NAMES = [
    "hflip",
    "vflip",
    "crop",
    "standard",
    "shift",
    "border_crop",
    "contrast",
    "color_jitter",
    "rotate",
    "scale",
    "cutout",
    "cutmix",
    "mixup",
]


def batch(n=16, shape=SHAPE):
    images = torch.rand(n, *shape, generator=torch.Generator().manual_seed(0))
    return images, torch.arange(n) % 10


def rng_for(images, targets, seed=0):
    return batch_random(images, targets, torch.Generator().manual_seed(seed))


def build(name, **options):
    return getattr(augs, name)(num_classes=10, input_shape=SHAPE, **options)


def apply(name, images=None, targets=None, seed=0, **options):
    if images is None:
        images, targets = batch(64)
    return build(name, **options)(images, targets, rng_for(images, targets, seed))


# -- the random source -------------------------------------------------------------------


def test_sample_random_draws_depend_on_the_sample_seed_only():
    a = SampleRandom(torch.tensor([5, 6, 7])).uniform(4)
    b = SampleRandom(torch.tensor([9, 6])).uniform(4)
    assert torch.equal(a[1], b[1])  # same seed, same draws, whatever the batch
    assert not torch.equal(a[0], a[2])
    draws = SampleRandom(torch.arange(20000)).uniform()
    assert 0 <= draws.min() and draws.max() < 1
    assert abs(draws.mean().item() - 0.5) < 0.01  # uniform enough for augmentation
    ints = SampleRandom(torch.arange(20000)).randint(0, 5)
    assert sorted(ints.unique().tolist()) == [0, 1, 2, 3, 4]
    bounded = SampleRandom(torch.arange(4)).randint(0, torch.tensor([1, 2, 3, 4]))
    assert (bounded < torch.tensor([1, 2, 3, 4])).all()


def test_beta_draws_have_the_right_mean_and_spread():
    draws = SampleRandom(torch.arange(50000)).beta(0.5)
    assert draws.mean().item() == pytest.approx(0.5, abs=0.01)
    assert draws.var().item() == pytest.approx(0.125, abs=0.01)  # 1 / (4 (2 alpha + 1))


# -- each augmentation's real effect ---------------------------------------------------------


def test_hflip_and_vflip_flip_exactly_the_chosen_images():
    images, targets = batch(64)
    for name, dim in (("hflip", -1), ("vflip", -2)):
        out, same_targets = apply(name, images, targets)
        flipped = [bool((o == i.flip(dim)).all()) for o, i in zip(out, images, strict=True)]
        kept = [bool((o == i).all()) for o, i in zip(out, images, strict=True)]
        assert all(f != k for f, k in zip(flipped, kept, strict=True))
        assert 16 < sum(flipped) < 48  # p = 0.5, one draw per image
        assert same_targets is targets
        assert (apply(name, images, targets, p=1.0)[0] == images.flip(dim)).all()


def _window_offsets(out, padded, size=8):
    offsets = []
    span = padded.shape[-1] - size + 1
    for o, p in zip(out, padded, strict=True):
        hits = [
            (y, x)
            for y in range(span)
            for x in range(span)
            if (p[:, y : y + size, x : x + size] == o).all()
        ]
        assert hits, "output is not a window of the padded image"
        offsets.append(hits[0])
    return offsets


def test_crop_returns_a_window_of_the_zero_padded_image():
    images, targets = batch(32)
    out, _ = apply("crop", images, targets, padding=2)
    offsets = _window_offsets(out, torch.nn.functional.pad(images, (2, 2, 2, 2)))
    assert len(set(offsets)) > 5  # different samples, different draws
    assert (apply("crop", images, targets, padding=0)[0] == images).all()


def test_shift_wraps_around():
    images, targets = batch(32)
    out, _ = apply("shift", images, targets, max=0.25)  # up to 2 pixels of 8
    for o, i in zip(out, images, strict=True):
        shifts = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if torch.equal(o, torch.roll(i, (dy, dx), dims=(1, 2)))
        ]
        assert shifts
    assert not (out == images).all()


def test_border_crop_blacks_out_a_border_and_keeps_the_inside():
    images, targets = batch(64)
    out, _ = apply("border_crop", images, targets, max=0.5)
    for o, i in zip(out, images, strict=True):
        kept = (o != 0).all(0)
        rows, cols = kept.any(1).nonzero(), kept.any(0).nonzero()
        top, bottom, left, right = rows.min(), rows.max(), cols.min(), cols.max()
        assert kept[top : bottom + 1, left : right + 1].all()  # one solid rectangle
        assert torch.equal(
            o[:, top : bottom + 1, left : right + 1], i[:, top : bottom + 1, left : right + 1]
        )
        assert bottom - top + 1 >= 4 and right - left + 1 >= 4  # at most half removed
    assert (out == 0).any()


def test_contrast_scales_the_distance_to_the_mean():
    images, targets = batch(8)
    flat = apply("contrast", images, targets, low=0.0, high=0.0)[0]
    assert (flat.amax(dim=(1, 2, 3)) - flat.amin(dim=(1, 2, 3)) < 1e-6).all()  # uniform grey
    same = apply("contrast", images, targets, low=1.0, high=1.0)[0]
    assert torch.allclose(same, images)
    stronger = apply("contrast", images, targets, low=1.5, high=2.0)[0]
    assert (stronger.std(dim=(1, 2, 3)) > images.std(dim=(1, 2, 3))).all()


def test_color_jitter_stays_in_range_and_zero_strength_is_identity():
    images, targets = batch(16)
    out, _ = apply("color_jitter", images, targets, hue=0.2)
    assert out.min() >= 0 and out.max() <= 1 and not torch.allclose(out, images)
    identity = apply("color_jitter", images, targets, brightness=0, contrast=0, saturation=0)
    assert torch.allclose(identity[0], images, atol=1e-6)


def test_rotate_turns_the_image():
    image = torch.zeros(1, 1, 9, 9)
    image[0, 0, 4, 6:] = 1.0  # a bar from the centre to the right edge
    rotate = augs.rotate(num_classes=2, input_shape=(1, 9, 9), degrees=90)
    turned = None
    for seed in range(200):  # find a draw close to +-90 degrees
        out, _ = rotate(image, torch.zeros(1, dtype=torch.long), SampleRandom(torch.tensor([seed])))
        if out[0, 0, :, 4].sum() > 1.5 and out[0, 0, 4, 6:].sum() < 0.5:
            turned = out
            break
    assert turned is not None, "no rotation moved the bar onto the vertical axis"
    assert apply("rotate", degrees=0)[0].allclose(batch(64)[0], atol=1e-5)


def test_scale_zooms_into_a_crop():
    images, targets = batch(8)
    full = apply("scale", images, targets, low=1.0, high=1.0, ratio_low=1.0, ratio_high=1.0)
    assert torch.allclose(full[0], images, atol=1e-5)  # the whole image: unchanged
    zoomed = apply("scale", images, targets, low=0.25, high=0.25, ratio_low=1.0, ratio_high=1.0)[0]
    assert not torch.allclose(zoomed, images, atol=1e-2)
    assert zoomed.min() >= 0 and zoomed.max() <= 1  # bilinear inside the image: no fill


def test_cutout_zeroes_one_square_per_image():
    images, targets = batch(32)
    out, _ = apply("cutout", images, targets, size=0.5)
    for o in out:
        hole = (o == 0).all(0)
        assert 1 <= hole.sum() <= 16  # a 4x4 square, clipped at the border
    none = apply("cutout", images, targets, p=0.0)[0]
    assert torch.equal(none, images)


def test_cutmix_targets_sum_to_one_and_match_the_pasted_area():
    images, targets = batch(64)
    out, soft = apply("cutmix", images, targets)
    assert soft.shape == (64, 10)
    assert torch.allclose(soft.sum(1), torch.ones(64))
    for o, i, t, label in zip(out, images, soft, targets, strict=True):
        changed = (o != i).any(0).float().mean()  # share of pixels taken from the partner
        if t[label] < 1:  # mixed with an image of another class
            assert t[label].item() == pytest.approx(1 - changed.item(), abs=1e-6)
    assert (soft.max(1).values < 1).sum() > 32  # most samples really mixed


def test_mixup_blends_images_and_targets_with_the_same_weight():
    images, targets = batch(10)  # ten images, ten different labels
    rng = rng_for(images, targets, 3)
    partner_images, _ = rng.partners()
    out, soft = build("mixup", alpha=1.0)(images, targets, rng)
    mixed = 0
    for o, i, p, t, label in zip(out, images, partner_images, soft, targets, strict=True):
        lam = t[label].item()  # the own-class weight is the image's weight
        assert torch.allclose(o, lam * i + (1 - lam) * p, atol=1e-5)
        mixed += lam < 1
    assert mixed >= 5
    assert torch.allclose(soft.sum(1), torch.ones(10))


def test_standard_is_hflip_then_crop():
    images, targets = batch(16)
    out, _ = apply("standard", images, targets, p=1.0, padding=1)
    _window_offsets(out, torch.nn.functional.pad(images.flip(-1), (1, 1, 1, 1)))


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_output_other_seed_other_output(name):
    images, targets = batch(16)
    a = apply(name, images, targets, seed=1)[0]
    b = apply(name, images, targets, seed=1)[0]
    c = apply(name, images, targets, seed=2)[0]
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == images.shape and a.dtype == images.dtype


@pytest.mark.parametrize("name", NAMES)
def test_two_identical_images_in_a_batch_get_different_draws(name):
    image = torch.rand(1, *SHAPE, generator=torch.Generator().manual_seed(5))
    images, targets = image.repeat(16, 1, 1, 1), torch.zeros(16, dtype=torch.long)
    images[8:] = torch.rand(8, *SHAPE)  # mixing partners that differ
    out, _ = apply(name, images, targets)
    firsts = {tuple(o.flatten().tolist()) for o in out[:8]}
    assert len(firsts) > 1


@pytest.mark.parametrize(
    "name,options,message",
    [
        ("crop", {"fill": "wrap"}, "fill"),
        ("hflip", {"p": 1.5}, "probability"),
        ("shift", {"max": 1.5}, "fraction"),
        ("contrast", {"low": 2, "high": 1}, "low <= high"),
        ("rotate", {"degrees": 400}, "0 to 180"),
        ("scale", {"high": 2}, "at most 1"),
        ("cutmix", {"alpha": 0}, "> 0"),
        ("cutout", {"size": 0}, "fraction"),
    ],
)
def test_bad_options_are_named(name, options, message):
    with pytest.raises(BenchError, match=message):
        build(name, **options)


def test_grayscale_images_work_everywhere():
    images = torch.rand(8, 1, 8, 8)
    targets = torch.zeros(8, dtype=torch.long)
    for name in NAMES:
        augment = getattr(augs, name)(num_classes=10, input_shape=(1, 8, 8))
        out, _ = augment(images, targets, rng_for(images, targets))
        assert out.shape == images.shape and not math.isnan(out.sum().item()), name
