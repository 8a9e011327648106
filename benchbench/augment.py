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
    top = torch.randint(0, ph - height + 1, (b, 1), generator=generator, device=device)
    left = torch.randint(0, pw - width + 1, (b, 1), generator=generator, device=device)
    rows = (top + torch.arange(height, device=device))[:, None, :, None]  # (B, 1, H, 1)
    cols = (left + torch.arange(width, device=device))[:, None, None, :]  # (B, 1, 1, W)
    batch = torch.arange(b, device=device)[:, None, None, None]
    channel = torch.arange(padded.shape[1], device=device)[None, :, None, None]
    return padded[batch, channel, rows, cols]
