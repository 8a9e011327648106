"""Batched, seeded, on-device augmentation: helpers for augmentation factories."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

Augment = Callable[[torch.Tensor, torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]]


def soft_targets(targets: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Class probabilities ``(B, num_classes)`` from indices ``(B,)`` (or unchanged)."""
    if targets.ndim == 2:
        return targets
    return torch.nn.functional.one_hot(targets, num_classes).float()


def per_sample(batch: int, p: float, generator: torch.Generator, device) -> torch.Tensor:
    """A ``(B,)`` bool mask, each sample ``True`` with probability ``p`` (its own draw)."""
    return torch.rand(batch, generator=generator, device=device) < p


def compose(augments: Sequence[Augment]) -> Augment:
    """Apply ``augments`` in order, threading images and targets through."""

    def apply(images, targets, generator):
        for augment in augments:
            images, targets = augment(images, targets, generator)
        return images, targets

    return apply


def random_crops(
    padded: torch.Tensor, height: int, width: int, generator: torch.Generator
) -> torch.Tensor:
    """One random ``height x width`` window per image of ``padded`` (B, C, H', W')."""
    b, _, ph, pw = padded.shape
    device = padded.device
    top = torch.randint(0, ph - height + 1, (b,), generator=generator, device=device)
    left = torch.randint(0, pw - width + 1, (b,), generator=generator, device=device)
    # Every window as a view (B, C, H'-H+1, W'-W+1, H, W); pick one per image, no copy before.
    windows = padded.unfold(2, height, 1).unfold(3, width, 1)
    return windows[torch.arange(b, device=device), :, top, left]
