"""Batched, seeded, on-device augmentation: the random source augmentations draw from.

An augmentation is ``augment(images, targets, rng) -> (images, targets)``. Every random
number comes from ``rng``, a :class:`SampleRandom`: sample ``i``'s draws depend only on
its own seed and on the order of the calls, never on the rest of the batch. Online, the
seeds are drawn afresh for every batch from the run's seeded generator; offline, each
stored copy keeps a fixed seed, so the copy is re-derived identically whenever it is
drawn, without ever storing its pixels.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from collections.abc import Sequence

import torch

Augment = Callable[..., tuple[torch.Tensor, torch.Tensor]]
_MASK = 0xFFFFFFFF


def _mix32(x: torch.Tensor) -> torch.Tensor:
    """An avalanching 32-bit integer hash of int64 tensors holding values in [0, 2**32)."""
    # Multipliers below 2**31 keep every product inside int64: no overflow on any device.
    x = x ^ (x >> 16)
    x = (x * 0x7FEB352D) & _MASK
    x = x ^ (x >> 15)
    x = (x * 0x46CA68B5) & _MASK
    return x ^ (x >> 16)


class SampleRandom:
    """Per-sample random numbers for a batch of ``len(seeds)`` images.

    Every method returns a tensor whose first dimension is the batch: row ``i`` comes from
    sample ``i``'s seed alone. ``partners()`` gives each sample a partner image to mix
    with (cutmix, mixup): another image of the batch online, a fixed image of the
    training set for an offline copy.
    """

    def __init__(self, seeds: torch.Tensor, partners: Callable[[], tuple] | None = None):
        self.seeds = _mix32(seeds.long() & _MASK)
        self.device = seeds.device
        self._partners = partners
        self._counter = 0

    def __len__(self) -> int:
        return len(self.seeds)

    def bits(self, *shape: int) -> torch.Tensor:
        """Uniform 32-bit integers, shape ``(B, *shape)``, in int64."""
        count = 1
        for s in shape:
            count *= s
        draws = torch.arange(self._counter, self._counter + count, device=self.device)
        self._counter += count
        # Weyl sequence per sample, then hashed: the k-th draw of sample i.
        keys = (self.seeds[:, None] + draws[None, :] * 0x9E3779B9) & _MASK
        return _mix32(_mix32(keys) ^ self.seeds[:, None]).view(len(self), *shape)

    def uniform(self, *shape: int, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
        """Floats uniform in ``[low, high)``, shape ``(B, *shape)``."""
        unit = (self.bits(*shape) >> 8).float() * (1.0 / (1 << 24))
        return low + (high - low) * unit

    def randint(self, low: int, high, *shape: int) -> torch.Tensor:
        """Integers in ``[low, high)``; ``high`` may be a ``(B,)`` tensor (one bound each)."""
        if isinstance(high, torch.Tensor):
            span = (high.to(self.device) - low).view(-1, *([1] * len(shape)))
        else:  # a Python bound stays a Python number: no host-to-device copy per batch
            span = high - low
        return low + (self.uniform(*shape) * span).long().clamp_max(span - 1)

    def bernoulli(self, p: float) -> torch.Tensor:
        """A ``(B,)`` bool mask, each sample ``True`` with probability ``p``."""
        return (
            self.uniform() < p
            if p < 1
            else torch.ones(len(self), dtype=torch.bool, device=self.device)
        )

    def normal(self, *shape: int) -> torch.Tensor:
        """Standard normal floats (Box-Muller), shape ``(B, *shape)``."""
        u1 = self.uniform(*shape).clamp_min(1e-7)
        u2 = self.uniform(*shape)
        return torch.sqrt(-2 * torch.log(u1)) * torch.cos(2 * torch.pi * u2)

    def beta(self, alpha: float) -> torch.Tensor:
        """``(B,)`` draws from Beta(alpha, alpha), by inverse transform on a fine grid."""
        grid, cdf = _beta_table(float(alpha), self.device)
        return grid[torch.searchsorted(cdf, self.uniform()).clamp_(max=len(grid) - 1)]

    def partners(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Each sample's mixing partner: ``(images, targets)`` aligned with the batch."""
        if self._partners is None:
            raise RuntimeError("this batch has no mixing partners")
        return self._partners()


@functools.cache
def _beta_table(alpha: float, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    grid = (torch.arange(4096, dtype=torch.float64) + 0.5) / 4096
    density = (grid * (1 - grid)) ** (alpha - 1)
    cdf = torch.cumsum(density, 0) / density.sum()
    return grid.float().to(device), cdf.float().to(device)


def batch_random(
    images: torch.Tensor, targets: torch.Tensor, generator: torch.Generator
) -> SampleRandom:
    """Online randomness: fresh seeds from the run's generator; partners from the batch."""
    b, device = len(images), images.device
    seeds = torch.randint(0, 1 << 31, (b,), generator=generator, device=device)
    order = torch.randperm(b, generator=generator, device=device)
    return SampleRandom(seeds, partners=lambda: (images[order], targets[order]))


def soft_targets(targets: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Class probabilities ``(B, num_classes)`` from indices ``(B,)`` (or unchanged)."""
    if targets.ndim == 2:
        return targets
    return torch.nn.functional.one_hot(targets, num_classes).float()


def compose(augments: Sequence[Augment]) -> Augment:
    """Apply ``augments`` in order, threading images and targets through."""

    def apply(images, targets, rng):
        for augment in augments:
            images, targets = augment(images, targets, rng)
        return images, targets

    return apply


def select(mask: torch.Tensor, changed: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Per-sample choice between two image batches: ``changed`` where ``mask``."""
    return torch.where(mask.view(-1, *([1] * (changed.ndim - 1))), changed, original)


def random_crops(
    padded: torch.Tensor, height: int, width: int, top: torch.Tensor, left: torch.Tensor
) -> torch.Tensor:
    """The ``height x width`` window at ``(top[i], left[i])`` of each image of ``padded``."""
    b = padded.shape[0]
    # Every window as a view (B, C, H'-H+1, W'-W+1, H, W); pick one per image, no copy before.
    windows = padded.unfold(2, height, 1).unfold(3, width, 1)
    return windows[torch.arange(b, device=padded.device), :, top, left]


def affine(images: torch.Tensor, theta: torch.Tensor, fill: float = 0.0) -> torch.Tensor:
    """Resample each image through its own 2x3 affine matrix (normalized coordinates)."""
    import torch.nn.functional as F

    grid = F.affine_grid(theta.to(images.dtype), list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if fill:
        inside = F.grid_sample(
            torch.ones_like(images[:, :1]),
            grid,
            mode="nearest",
            padding_mode="zeros",
            align_corners=False,
        )
        out = out + fill * (1 - inside)
    return out
