"""Built-in augmentations: batched on the device, one random draw per sample."""

from __future__ import annotations

from benchbench import hookimpl
from benchbench.errors import BenchError


@hookimpl
def benchbench_register_augmentations(registry):
    registry.add("none", none, description="no augmentation (the default)")
    registry.add("hflip", hflip, description="horizontal flip with probability p=0.5 (report 000)")
    registry.add(
        "crop",
        crop,
        description="pad by `padding`=4 (zero or reflect) and crop back "
        "at a random offset (report 000)",
    )
    registry.add(
        "cutmix",
        cutmix,
        description="paste a random box from another image of the "
        "batch, mixing targets by area; alpha=1.0, p=1.0 (report 004)",
    )


def _probability(name: str, p: float) -> float:
    if not 0 <= p <= 1:
        raise BenchError(f"aug.{name}.p={p}: a probability lies in [0, 1].")
    return float(p)


def none(*, num_classes: int, input_shape: tuple[int, int, int]):
    return lambda images, targets, generator: (images, targets)


def hflip(*, num_classes: int, input_shape: tuple[int, int, int], p: float = 0.5):
    import torch

    from benchbench.augment import per_sample

    p = _probability("hflip", p)

    def augment(images, targets, generator):
        flip = per_sample(len(images), p, generator, images.device)[:, None, None, None]
        return torch.where(flip, images.flip(-1), images), targets

    return augment


def crop(
    *, num_classes: int, input_shape: tuple[int, int, int], padding: int = 4, fill: str = "zero"
):
    import torch.nn.functional as F

    from benchbench.augment import random_crops

    if padding < 0:
        raise BenchError(f"aug.crop.padding={padding}: must be >= 0.")
    modes = {"zero": "constant", "reflect": "reflect"}
    if fill not in modes:
        raise BenchError(f"aug.crop.fill={fill!r}: use zero or reflect.")
    _, height, width = input_shape
    if fill == "reflect" and padding >= min(height, width):
        raise BenchError(f"aug.crop.padding={padding} is too large to reflect {height}x{width}.")

    def augment(images, targets, generator):
        padded = F.pad(images, (padding,) * 4, mode=modes[fill])
        return random_crops(padded, height, width, generator), targets

    return augment


def cutmix(
    *, num_classes: int, input_shape: tuple[int, int, int], alpha: float = 1.0, p: float = 1.0
):
    import torch

    from benchbench.augment import per_sample, soft_targets

    if alpha <= 0:
        raise BenchError(f"aug.cutmix.alpha={alpha}: must be > 0.")
    p = _probability("cutmix", p)
    _, height, width = input_shape
    # Beta(alpha, alpha) by inverse transform on a fine grid, so every draw comes from the
    # run's seeded generator on the device (torch's Beta sampler takes no generator).
    grid = (torch.arange(4096, dtype=torch.float64) + 0.5) / 4096
    density = (grid * (1 - grid)) ** (alpha - 1)
    cdf = torch.cumsum(density, 0) / density.sum()
    grids = {}

    def augment(images, targets, generator):
        device, b = images.device, len(images)
        if device not in grids:
            grids[device] = (cdf.float().to(device), grid.float().to(device))
        cdf_d, grid_d = grids[device]
        u = torch.rand(b, generator=generator, device=device)
        lam = grid_d[torch.searchsorted(cdf_d, u).clamp_(max=len(grid_d) - 1)]
        cut = torch.sqrt(1 - lam)
        cut_h, cut_w = (cut * height).round().long(), (cut * width).round().long()
        cy = torch.randint(0, height, (b,), generator=generator, device=device)
        cx = torch.randint(0, width, (b,), generator=generator, device=device)
        y0, y1 = (cy - cut_h // 2).clamp(0, height), (cy + (cut_h + 1) // 2).clamp(0, height)
        x0, x1 = (cx - cut_w // 2).clamp(0, width), (cx + (cut_w + 1) // 2).clamp(0, width)
        apply = per_sample(b, p, generator, device)
        y1, x1 = torch.where(apply, y1, y0), torch.where(apply, x1, x0)  # empty box: untouched
        partner = torch.randperm(b, generator=generator, device=device)
        ys = torch.arange(height, device=device)[None, :, None]
        xs = torch.arange(width, device=device)[None, None, :]
        box = (
            (ys >= y0[:, None, None])
            & (ys < y1[:, None, None])
            & (xs >= x0[:, None, None])
            & (xs < x1[:, None, None])
        )[:, None]
        mixed = torch.where(box, images[partner], images)
        pasted = ((y1 - y0) * (x1 - x0)).float() / (height * width)  # exact area, after clipping
        soft = soft_targets(targets, num_classes)
        mixed_targets = (1 - pasted)[:, None] * soft + pasted[:, None] * soft[partner]
        return mixed, mixed_targets

    return augment
