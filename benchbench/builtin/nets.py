"""The built-in networks themselves (torch is imported here, never by architectures.py)."""

from __future__ import annotations

import torch
from torch import nn


def _pooled(size: int, pools: int) -> int:
    for _ in range(pools):
        size //= 2
    if size < 1:
        raise ValueError(f"input too small for {pools} 2x2 poolings")
    return size


def vgg_style(*, in_channels: int, blocks: list[list[int]], kernel: int, bn: bool) -> nn.Sequential:
    """Blocks of Conv-ReLU, optional BN after the block's last ReLU, then MaxPool2."""
    layers: list[nn.Module] = []
    channels = in_channels
    for block in blocks:
        for width in block:
            layers += [
                nn.Conv2d(channels, width, kernel, padding=kernel // 2),
                nn.ReLU(inplace=True),
            ]
            channels = width
        if bn:
            layers.append(nn.BatchNorm2d(channels))
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


def mlp_head(
    in_features: int, hidden: list[int], num_classes: int, dropout: float
) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Flatten()]
    for width in hidden:
        layers += [nn.Linear(in_features, width), nn.ReLU(inplace=True)]
        in_features = width
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(in_features, num_classes))
    return nn.Sequential(*layers)


class CNN(nn.Sequential):
    """Report 000's small and large CNNs: VGG-style blocks and a fully connected head."""

    def __init__(self, *, input_shape, num_classes, blocks, head, kernel, bn, dropout):
        c, h, w = input_shape
        features = vgg_style(in_channels=c, blocks=blocks, kernel=kernel, bn=bn)
        flat = blocks[-1][-1] * _pooled(h, len(blocks)) * _pooled(w, len(blocks))
        super().__init__(features, mlp_head(flat, head, num_classes, dropout))


class SkipStage(nn.Module):
    """conv1-BN-ReLU, conv2-BN-ReLU, conv3(stride)-BN, plus a 1x1 strided skip taken after BN1."""

    def __init__(self, in_channels: int, width: int, kernel: int, stride: int):
        super().__init__()
        pad = kernel // 2
        self.conv1 = nn.Sequential(
            nn.Conv2d(in_channels, width, kernel, padding=pad, bias=False), nn.BatchNorm2d(width)
        )
        self.body = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(width, width, kernel, padding=pad, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, kernel, stride=stride, padding=pad, bias=False),
            nn.BatchNorm2d(width),
        )
        self.skip = nn.Conv2d(width, width, 1, stride=stride, bias=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.conv1(x)
        return self.relu(self.body(a) + self.skip(a))


class ResNetSkip(nn.Module):
    """Report 003's CNN: skip stages, then global average pooling and a linear classifier."""

    def __init__(self, *, input_shape, num_classes, widths, kernel, stride, dropout):
        super().__init__()
        stages, channels = [], input_shape[0]
        for width in widths:
            stages.append(SkipStage(channels, width, kernel, stride))
            channels = width
        self.features = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)))
