"""Built-in augmentations: batched on the device, one random draw per sample.

Defaults are the values of the seed reports; each one is set with
``--set aug.NAME.OPTION=VALUE``. Images are float ``(B, C, H, W)`` in [0, 1].
"""

from __future__ import annotations

import functools
import math

from benchbench import hookimpl
from benchbench.errors import BenchError


@hookimpl
def benchbench_register_augmentations(registry):
    add = registry.add
    add("none", none, description="no augmentation (the default)")
    add("hflip", hflip, description="horizontal flip with probability p=0.5 (report 000)")
    add("vflip", vflip, description="vertical flip with probability p=0.5 (report 002)")
    add(
        "crop",
        crop,
        description="pad by padding=4 (fill zero or reflect) and crop back at a "
        "random offset (report 000)",
    )
    add("standard", standard, description="hflip then crop: report 000's flip+crop augmentation")
    add(
        "shift",
        shift,
        description="translate by up to max=0.2 of each side, wrapping around (report 004)",
    )
    add(
        "border_crop",
        border_crop,
        description="black out a random border of up to max=0.2 "
        "per axis, keeping the size (report 004's crop)",
    )
    add(
        "contrast",
        contrast,
        description="raise contrast by a factor in [low=1, high=2] (report 004: up to 200%)",
    )
    add(
        "color_jitter",
        color_jitter,
        description="random brightness, contrast, saturation (0.2 each) and hue (0) (report 002)",
    )
    add(
        "rotate",
        rotate,
        description="rotate by up to degrees=15 either way, zero fill (report 002)",
    )
    add(
        "scale",
        scale,
        description="random resized crop of area low=0.8..high=1.0, resized back (report 002)",
    )
    add(
        "cutout",
        cutout,
        description="zero a random square of side size=0.5 of the image (DeVries & Taylor 2017)",
    )
    add(
        "cutmix",
        cutmix,
        description="paste a random box of a partner image, mixing targets "
        "by area; alpha=1 (report 004)",
    )
    add(
        "mixup",
        mixup,
        description="blend with a partner image and its target; alpha=0.2 "
        "(report 002's future work; Zhang et al.)",
    )


def _probability(name: str, p: float) -> float:
    if not 0 <= p <= 1:
        raise BenchError(f"aug.{name}.p={p}: a probability lies in [0, 1].")
    return float(p)


def _fraction(name: str, key: str, value: float) -> float:
    if not 0 <= value < 1:
        raise BenchError(f"aug.{name}.{key}={value}: a fraction of the image lies in [0, 1).")
    return float(value)


def _range(name: str, low: float, high: float, floor: float = 0.0) -> tuple[float, float]:
    if not floor <= low <= high:
        raise BenchError(f"aug.{name}: need {floor} <= low <= high, got low={low}, high={high}.")
    return float(low), float(high)


def none(*, num_classes: int, input_shape: tuple[int, int, int]):
    return lambda images, targets, rng: (images, targets)


def _flip(dim: int, name: str, p: float):
    from benchbench.data.augment import select

    p = _probability(name, p)

    def augment(images, targets, rng):
        return select(rng.bernoulli(p), images.flip(dim), images), targets

    return augment


def hflip(*, num_classes: int, input_shape: tuple[int, int, int], p: float = 0.5):
    return _flip(-1, "hflip", p)


def vflip(*, num_classes: int, input_shape: tuple[int, int, int], p: float = 0.5):
    return _flip(-2, "vflip", p)


def _padded_crop(input_shape, pad_h: int, pad_w: int, mode: str):
    import torch.nn.functional as F

    from benchbench.data.augment import random_crops

    _, height, width = input_shape

    def augment(images, targets, rng):
        padded = F.pad(images, (pad_w, pad_w, pad_h, pad_h), mode=mode)
        top = rng.randint(0, 2 * pad_h + 1)
        left = rng.randint(0, 2 * pad_w + 1)
        return random_crops(padded, height, width, top, left), targets

    return augment


def crop(
    *, num_classes: int, input_shape: tuple[int, int, int], padding: int = 4, fill: str = "zero"
):
    modes = {"zero": "constant", "reflect": "reflect"}
    if padding < 0:
        raise BenchError(f"aug.crop.padding={padding}: must be >= 0.")
    if fill not in modes:
        raise BenchError(f"aug.crop.fill={fill!r}: use zero or reflect.")
    if fill == "reflect" and padding >= min(input_shape[1:]):
        raise BenchError(
            f"aug.crop.padding={padding} is too large to reflect "
            f"{input_shape[1]}x{input_shape[2]} images."
        )
    return _padded_crop(input_shape, padding, padding, modes[fill])


def standard(
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    p: float = 0.5,
    padding: int = 4,
    fill: str = "zero",
):
    from benchbench.data.augment import compose

    shape = dict(num_classes=num_classes, input_shape=input_shape)
    return compose([hflip(**shape, p=p), crop(**shape, padding=padding, fill=fill)])


def shift(*, num_classes: int, input_shape: tuple[int, int, int], max: float = 0.2):
    _fraction("shift", "max", max)
    _, height, width = input_shape
    return _padded_crop(input_shape, int(max * height), int(max * width), "circular")


def border_crop(*, num_classes: int, input_shape: tuple[int, int, int], max: float = 0.2):
    import torch

    _fraction("border_crop", "max", max)
    _, height, width = input_shape

    def augment(images, targets, rng):
        device = images.device
        keep_h = height - (rng.uniform(low=0, high=max) * height).round().long()
        keep_w = width - (rng.uniform(low=0, high=max) * width).round().long()
        top = rng.randint(0, height - keep_h + 1)
        left = rng.randint(0, width - keep_w + 1)
        ys = torch.arange(height, device=device)[None, :, None]
        xs = torch.arange(width, device=device)[None, None, :]
        inside = (
            (ys >= top[:, None, None])
            & (ys < (top + keep_h)[:, None, None])
            & (xs >= left[:, None, None])
            & (xs < (left + keep_w)[:, None, None])
        )
        return images * inside[:, None].to(images.dtype), targets

    return augment


def _gray(images):
    """Per-pixel luminance ``(B, 1, H, W)`` (ITU-R 601 weights for RGB)."""
    if images.shape[1] == 3:
        weights = _on_device((0.299, 0.587, 0.114), images.device, images.dtype)
        return (images * weights.view(1, 3, 1, 1)).sum(1, keepdim=True)
    return images.mean(1, keepdim=True)


@functools.lru_cache(maxsize=64)
def _on_device(values: tuple, device, dtype):
    """A constant tensor made once per device and dtype, not copied to the GPU per batch."""
    import torch

    return torch.tensor(values, device=device, dtype=dtype)


def _blend(images, other, factor):
    """``factor * images + (1 - factor) * other``, clamped to [0, 1]; factor per sample."""
    factor = factor.view(-1, 1, 1, 1)
    return (factor * images + (1 - factor) * other).clamp_(0, 1)


def contrast(
    *, num_classes: int, input_shape: tuple[int, int, int], low: float = 1.0, high: float = 2.0
):
    """Contrast scaled by a random factor in [low, high] about each image's mean grey:
    report 004's "increasing the image contrast by up to 200%" (low 0 also lowers it)."""
    low, high = _range("contrast", low, high)

    def augment(images, targets, rng):
        factor = rng.uniform(low=low, high=high)
        mean = _gray(images).mean(dim=(1, 2, 3), keepdim=True)
        return _blend(images, mean, factor), targets

    return augment


def color_jitter(
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    brightness: float = 0.2,
    contrast: float = 0.2,
    saturation: float = 0.2,
    hue: float = 0.0,
):
    import torch

    for key, value in (
        ("brightness", brightness),
        ("contrast", contrast),
        ("saturation", saturation),
    ):
        if not 0 <= value <= 1:
            raise BenchError(f"aug.color_jitter.{key}={value}: use a strength in [0, 1].")
    if not 0 <= hue <= 0.5:
        raise BenchError(f"aug.color_jitter.hue={hue}: use a strength in [0, 0.5].")
    rgb = input_shape[0] == 3
    to_yiq = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
    from_yiq = torch.linalg.inv(to_yiq)
    yiq = [tuple(map(tuple, m.tolist())) for m in (to_yiq, from_yiq)]  # host values, once

    def augment(images, targets, rng):
        x = images * rng.uniform(low=1 - brightness, high=1 + brightness).view(-1, 1, 1, 1)
        x = x.clamp_(0, 1)
        mean = _gray(x).mean(dim=(1, 2, 3), keepdim=True)
        x = _blend(x, mean, rng.uniform(low=1 - contrast, high=1 + contrast))
        if rgb:
            x = _blend(x, _gray(x), rng.uniform(low=1 - saturation, high=1 + saturation))
        if rgb and hue:
            # Hue rotation as a rotation of the chroma plane (I, Q) of YIQ.
            angle = rng.uniform(low=-hue, high=hue) * 2 * math.pi
            cos, sin = angle.cos(), angle.sin()
            rotation = torch.zeros(len(x), 3, 3, device=x.device)
            rotation[:, 0, 0] = 1
            rotation[:, 1, 1], rotation[:, 1, 2] = cos, -sin
            rotation[:, 2, 1], rotation[:, 2, 2] = sin, cos
            to, back = (_on_device(values, x.device, None) for values in yiq)
            matrix = back @ rotation @ to  # (B, 3, 3)
            x = torch.einsum("bij,bjhw->bihw", matrix, x).clamp_(0, 1)
        return x, targets

    return augment


def rotate(*, num_classes: int, input_shape: tuple[int, int, int], degrees: float = 15.0):
    import torch

    from benchbench.data.augment import affine

    if not 0 <= degrees <= 180:
        raise BenchError(f"aug.rotate.degrees={degrees}: use 0 to 180.")
    _, height, width = input_shape
    aspect = width / height

    def augment(images, targets, rng):
        angle = rng.uniform(low=-degrees, high=degrees) * (math.pi / 180)
        cos, sin = angle.cos(), angle.sin()
        zero = torch.zeros_like(cos)
        theta = torch.stack(
            [torch.stack([cos, -sin / aspect, zero], 1), torch.stack([sin * aspect, cos, zero], 1)],
            1,
        )
        return affine(images, theta), targets

    return augment


def scale(
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    low: float = 0.8,
    high: float = 1.0,
    ratio_low: float = 3 / 4,
    ratio_high: float = 4 / 3,
):
    import torch

    from benchbench.data.augment import affine

    low, high = _range("scale", low, high, floor=1e-3)
    if high > 1:
        raise BenchError(f"aug.scale.high={high}: the crop's area share is at most 1.")
    _range("scale", ratio_low, ratio_high, floor=1e-3)
    log_low, log_high = math.log(ratio_low), math.log(ratio_high)

    def augment(images, targets, rng):
        area = rng.uniform(low=low, high=high)
        ratio = rng.uniform(low=log_low, high=log_high).exp()
        w = (area * ratio).sqrt().clamp_(max=1)
        h = (area / ratio).sqrt().clamp_(max=1)
        cx = rng.uniform(low=-1, high=1) * (1 - w)
        cy = rng.uniform(low=-1, high=1) * (1 - h)
        zero = torch.zeros_like(w)
        theta = torch.stack([torch.stack([w, zero, cx], 1), torch.stack([zero, h, cy], 1)], 1)
        return affine(images, theta), targets

    return augment


def cutout(
    *, num_classes: int, input_shape: tuple[int, int, int], size: float = 0.5, p: float = 1.0
):
    import torch

    p = _probability("cutout", p)
    if not 0 < size <= 1:
        raise BenchError(f"aug.cutout.size={size}: the square's side is a fraction in (0, 1].")
    _, height, width = input_shape
    side_h, side_w = max(1, round(size * height)), max(1, round(size * width))

    def augment(images, targets, rng):
        device = images.device
        cy, cx = rng.randint(0, height), rng.randint(0, width)
        apply = rng.bernoulli(p)
        ys = torch.arange(height, device=device)[None, :, None]
        xs = torch.arange(width, device=device)[None, None, :]
        top, left = (cy - side_h // 2)[:, None, None], (cx - side_w // 2)[:, None, None]
        hole = (
            (ys >= top)
            & (ys < top + side_h)
            & (xs >= left)
            & (xs < left + side_w)
            & apply[:, None, None]
        )
        return images.masked_fill(hole[:, None], 0.0), targets

    return augment


def cutmix(
    *, num_classes: int, input_shape: tuple[int, int, int], alpha: float = 1.0, p: float = 1.0
):
    import torch

    from benchbench.data.augment import soft_targets

    if alpha <= 0:
        raise BenchError(f"aug.cutmix.alpha={alpha}: must be > 0.")
    p = _probability("cutmix", p)
    _, height, width = input_shape

    def augment(images, targets, rng):
        device = images.device
        cut = torch.sqrt(1 - rng.beta(alpha))
        cut_h, cut_w = (cut * height).round().long(), (cut * width).round().long()
        cy, cx = rng.randint(0, height), rng.randint(0, width)
        y0, y1 = (cy - cut_h // 2).clamp(0, height), (cy + (cut_h + 1) // 2).clamp(0, height)
        x0, x1 = (cx - cut_w // 2).clamp(0, width), (cx + (cut_w + 1) // 2).clamp(0, width)
        apply = rng.bernoulli(p)
        y1, x1 = torch.where(apply, y1, y0), torch.where(apply, x1, x0)  # empty box: untouched
        other_images, other_targets = rng.partners()
        ys = torch.arange(height, device=device)[None, :, None]
        xs = torch.arange(width, device=device)[None, None, :]
        box = (
            (ys >= y0[:, None, None])
            & (ys < y1[:, None, None])
            & (xs >= x0[:, None, None])
            & (xs < x1[:, None, None])
        )
        mixed = torch.where(box[:, None], other_images, images)
        pasted = ((y1 - y0) * (x1 - x0)).float() / (height * width)  # exact, after clipping
        soft = soft_targets(targets, num_classes)
        other = soft_targets(other_targets, num_classes)
        return mixed, (1 - pasted)[:, None] * soft + pasted[:, None] * other

    return augment


def mixup(
    *, num_classes: int, input_shape: tuple[int, int, int], alpha: float = 0.2, p: float = 1.0
):
    from benchbench.data.augment import soft_targets

    if alpha <= 0:
        raise BenchError(f"aug.mixup.alpha={alpha}: must be > 0.")
    p = _probability("mixup", p)

    def augment(images, targets, rng):
        lam = rng.beta(alpha)
        lam = lam.where(rng.bernoulli(p), 1.0)
        other_images, other_targets = rng.partners()
        mixed = _blend(images, other_images, lam)
        soft = soft_targets(targets, num_classes)
        other = soft_targets(other_targets, num_classes)
        return mixed, lam[:, None] * soft + (1 - lam)[:, None] * other

    return augment
