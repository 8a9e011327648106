"""Input normalization, applied per batch on the device after augmentation."""

from __future__ import annotations

import torch

from benchbench.errors import BenchError
from benchbench.settings import choices

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def statistics(mode: str, train_images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mean, std)`` broadcastable to ``(B, C, H, W)`` images in [0, 1].

    ``dataset``: per-channel statistics of the training images; ``imagenet``: ImageNet's
    constants (report 002); ``half``: 0.5 / 0.5 (report 000); ``zero_center``: subtract the
    per-pixel mean image (report 001); ``none``: identity.
    """
    channels = train_images.shape[1]
    if mode == "dataset":
        mean = torch.zeros(channels, dtype=torch.float64)
        square = torch.zeros(channels, dtype=torch.float64)
        for chunk in train_images.split(4096):  # bounded memory on large datasets
            x = chunk.double().div_(255)
            mean += x.sum(dim=(0, 2, 3))
            square += x.square().sum(dim=(0, 2, 3))
        count = train_images.numel() / channels
        mean /= count
        std = (square / count - mean.square()).clamp_min(1e-12).sqrt()
        return mean.float().view(1, -1, 1, 1), std.float().view(1, -1, 1, 1)
    if mode == "imagenet":
        if channels != 3:
            raise BenchError(
                f"--normalize imagenet needs RGB images; these have {channels} "
                "channel(s). Use --normalize dataset."
            )
        return (
            torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1),
            torch.tensor(IMAGENET_STD).view(1, 3, 1, 1),
        )
    if mode == "half":
        return torch.full((1, channels, 1, 1), 0.5), torch.full((1, channels, 1, 1), 0.5)
    if mode == "zero_center":
        total = torch.zeros(train_images.shape[1:], dtype=torch.float64)
        for chunk in train_images.split(4096):
            total += chunk.double().sum(0)
        return (total / len(train_images) / 255).float()[None], torch.ones(1, channels, 1, 1)
    if mode == "none":
        return torch.zeros(1, channels, 1, 1), torch.ones(1, channels, 1, 1)
    raise BenchError(f"--normalize {mode!r}: use one of {', '.join(choices('normalize'))}.")
