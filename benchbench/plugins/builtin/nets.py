"""The built-in networks themselves (torch is imported here, never by architectures.py).

Every network has ``features`` and a ``head``: ``--l2-scope head`` regularizes the head
alone, and a frozen backbone leaves only the head trainable.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_out(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    return (size + 2 * padding - kernel) // stride + 1


class Classifier(nn.Module):
    """``head(features(x))``: the shape every built-in network shares."""

    def __init__(self, features: nn.Module, head: nn.Module):
        super().__init__()
        self.features, self.head = features, head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def init_from_data(self, inputs: torch.Tensor) -> None:
        """Data-dependent initialization (the loop calls it once, with normalized training
        images, before training): the first layer's, when it has one (a whitening stem)."""
        first = self.features[0] if isinstance(self.features, nn.Sequential) else None
        if hasattr(first, "init_from_data"):
            first.init_from_data(inputs)


def mlp_head(
    in_features: int, hidden: list[int], num_classes: int, dropout: float = 0.0
) -> nn.Sequential:
    """Flatten, then Linear-ReLU(-Dropout) per hidden width, then the class layer."""
    layers: list[nn.Module] = [nn.Flatten()]
    for width in hidden:
        layers += [nn.Linear(in_features, width), nn.ReLU(inplace=True)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        in_features = width
    layers.append(nn.Linear(in_features, num_classes))
    return nn.Sequential(*layers)


def dense_head(in_features: int, num_classes: int, dropout: float) -> nn.Sequential:
    """Report 004's shared head: Dense64-ReLU-Dense32-ReLU-Dense(classes), dropout after
    each hidden layer (the placement is a reading of the report)."""
    return mlp_head(in_features, [64, 32], num_classes, dropout)


def vgg_blocks(input_shape, blocks: list[list[int]], kernel: int, bn: bool) -> nn.Sequential:
    """Blocks of Conv-ReLU (same padding), optional BN after the block's last ReLU, then
    MaxPool2 -- skipped once the map is down to one pixel, so tiny images fit too."""
    layers: list[nn.Module] = []
    channels, size = input_shape[0], min(input_shape[1:])
    for block in blocks:
        for width in block:
            layers += [
                nn.Conv2d(channels, width, kernel, padding=kernel // 2),
                nn.ReLU(inplace=True),
            ]
            channels = width
        if bn:
            layers.append(nn.BatchNorm2d(channels))
        layers.append(nn.MaxPool2d(2) if size >= 2 else nn.Identity())
        size //= 2 if size >= 2 else 1
    return nn.Sequential(*layers)


def flat_size(features: nn.Module, input_shape) -> int:
    """Features per image after ``features``, by a dry run on one blank image."""
    features.eval()  # no dropout draw, no batch-norm update
    with torch.no_grad():
        size = int(features(torch.zeros(1, *input_shape)).numel())
    features.train()
    return size


class ConvGroup(nn.Module):
    """Conv3x3 -> MaxPool2 -> BN -> GELU -> Conv3x3 -> BN -> GELU (the fast CIFAR-10 nets'
    block: pooling before normalizing halves the work of the first normalization)."""

    def __init__(self, in_channels: int, out_channels: int, bn_weights=True, dirac=False):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.MaxPool2d(2),
            nn.BatchNorm2d(out_channels, momentum=0.4, eps=1e-12),
            nn.GELU(),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels, momentum=0.4, eps=1e-12),
            nn.GELU(),
        )
        for module in self.body:
            if isinstance(module, nn.BatchNorm2d):
                module.weight.requires_grad_(bn_weights)  # False: the scale stays 1
            if isinstance(module, nn.Conv2d) and dirac:
                # identity filters for the first in_channels outputs: an implicit residual
                nn.init.dirac_(module.weight.data[: module.in_channels])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Whitening(nn.Conv2d):
    """A 2x2 stem convolution whose filters come from the data (airbench's whitening): the
    eigenvectors of the training images' 2x2-patch covariance, each scaled to unit variance,
    and their negatives; frozen once set. Until :meth:`init_from_data`, a plain convolution."""

    def __init__(self, in_channels: int, out_channels: int, eps: float = 5e-4):
        super().__init__(in_channels, out_channels, 2, padding=0, bias=True)
        self.eps = eps

    @torch.no_grad()
    def init_from_data(self, inputs: torch.Tensor) -> None:
        c = self.in_channels
        patches = inputs.float().unfold(2, 2, 1).unfold(3, 2, 1)  # N, C, H-1, W-1, 2, 2
        patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, c * 4).double()
        covariance = patches.T @ patches / len(patches)
        values, vectors = torch.linalg.eigh(covariance)  # ascending
        filters = (vectors.T / (values.clamp_min(0) + self.eps).sqrt()[:, None]).flip(0)
        n = min(self.out_channels // 2, c * 4)
        filters = filters[:n].reshape(n, c, 2, 2).to(self.weight)
        self.weight[: 2 * n] = torch.cat([filters, -filters])
        self.weight.requires_grad_(False)


class Scaled(nn.Module):
    """Multiply by a constant (the speedrun head's temperature)."""

    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


def speedrun(
    *, input_shape, num_classes, widths, stem, scale, whiten, bn_weights=True, dirac=False
) -> Classifier:
    """The fast CIFAR-10 recipe's net, after the public airbench/hlb-CIFAR10 designs: a
    2x2 stem convolution (whitening, set from the data, when ``whiten``), then ConvGroups,
    global max pooling and a scaled linear head. ``bn_weights`` False freezes BatchNorm's
    scales at 1; ``dirac`` starts each convolution as an identity on its inputs."""
    channels = input_shape[0]
    first = Whitening(channels, stem) if whiten else nn.Conv2d(channels, stem, 2, bias=True)
    layers: list[nn.Module] = [first, nn.GELU()]
    channels = stem
    for width in widths:
        layers.append(ConvGroup(channels, width, bn_weights, dirac))
        channels = width
    layers += [nn.AdaptiveMaxPool2d(1), nn.Flatten()]
    head = nn.Sequential(nn.Linear(channels, num_classes, bias=False), Scaled(scale))
    return Classifier(nn.Sequential(*layers), head)


def pooled_cnn(*, input_shape, num_classes, blocks, hidden, kernel, bn, dropout) -> Classifier:
    """Report 000's CNNs and report 004's VGG blocks: conv blocks, then a dense head."""
    features = vgg_blocks(input_shape, blocks, kernel, bn)
    head = mlp_head(flat_size(features, input_shape), hidden, num_classes, dropout)
    return Classifier(features, head)


def cnn_5x5(*, input_shape, num_classes, bn: bool, dropout: float) -> Classifier:
    """Report 001: three Conv5x5-ReLU-MaxPool(3, stride 2) stages, then FC64-FC(classes).

    BN after the first ReLU and dropout after the second pool, when enabled. A pool pads
    by 1 only where the map is smaller than its window (8x8 digits), so CIFAR's shapes
    are exactly the report's: 32 -> 15 -> 7 -> 3.
    """
    layers: list[nn.Module] = []
    channels, size = input_shape[0], min(input_shape[1:])
    for i, width in enumerate((32, 32, 64)):
        layers += [nn.Conv2d(channels, width, 5, padding=2), nn.ReLU(inplace=True)]
        if i == 0 and bn:
            layers.append(nn.BatchNorm2d(width))
        padding = 1 if size < 3 else 0
        layers.append(nn.MaxPool2d(3, stride=2, padding=padding))
        size = conv_out(size, 3, 2, padding)
        if i == 1 and dropout:
            layers.append(nn.Dropout(dropout))
        channels = width
    features = nn.Sequential(*layers)
    return Classifier(features, mlp_head(flat_size(features, input_shape), [64], num_classes))


def mlp(*, input_shape, num_classes, hidden: list[int], dropout: float) -> Classifier:
    """Report 002's baseline: Flatten-FC255-ReLU-FC(classes)."""
    c, h, w = input_shape
    return Classifier(nn.Identity(), mlp_head(c * h * w, hidden, num_classes, dropout))


def lenet(*, input_shape, num_classes, dropout: tuple[float, float], padding: int) -> Classifier:
    """The PyTorch tutorial CNN of report 002, with its two dropout layers."""
    features = nn.Sequential(
        nn.Conv2d(input_shape[0], 6, 5, padding=padding),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, padding=padding),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Dropout(dropout[0]),
    )
    flat = flat_size(features, input_shape)
    head = nn.Sequential(
        nn.Flatten(),
        nn.Linear(flat, 120),
        nn.ReLU(inplace=True),
        nn.Linear(120, 84),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout[1]),
        nn.Linear(84, num_classes),
    )
    return Classifier(features, head)


class SkipStage(nn.Module):
    """conv1-BN-ReLU, conv2-BN-ReLU, conv3(stride)-BN, and a 1x1 strided skip taken after
    BN1. ``merge="concat"`` (report 003's text: "bn_conv1 is concatenated with conv3_relu"
    through the skip layer) stacks the skip's channels onto ReLU(conv3): ``2 * width``
    out; ``merge="add"`` (ResNet's way) adds them before the ReLU: ``width`` out."""

    def __init__(self, in_channels: int, width: int, kernel: int, stride: int, merge: str):
        super().__init__()
        self.merge = merge
        self.out_channels = 2 * width if merge == "concat" else width
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
        if self.merge == "concat":
            return torch.cat([self.relu(self.body(a)), self.skip(a)], dim=1)
        return self.relu(self.body(a) + self.skip(a))


def resnet_skip(
    *, input_shape, num_classes, widths, kernel, stride, dropout, merge="concat"
) -> Classifier:
    """Report 003: skip stages, global average pooling, a linear classifier."""
    stages, channels = [], input_shape[0]
    for width in widths:
        stages.append(SkipStage(channels, width, kernel, stride, merge))
        channels = stages[-1].out_channels
    features = nn.Sequential(*stages, nn.AdaptiveAvgPool2d(1))
    head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels, num_classes))
    return Classifier(features, head)


class Backbone(nn.Module):
    """A torchvision model as ``features`` (its classifier removed) plus a new ``head``.

    Inputs are resized on the device and grey images repeated to three channels first.
    A frozen backbone stays in eval mode, so its batch-norm statistics stay frozen too.
    """

    def __init__(
        self, features: nn.Module, head: nn.Module, *, resize, channels: int, frozen: bool
    ):
        super().__init__()
        self.features, self.head = features, head
        self.resize, self.grey, self.frozen = resize, channels == 1, frozen
        if frozen:
            self.features.requires_grad_(False)

    def train(self, mode: bool = True) -> Backbone:
        super().train(mode)
        if self.frozen:
            self.features.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.resize is not None and tuple(x.shape[-2:]) != self.resize:
            x = F.interpolate(x, size=self.resize, mode="bilinear", align_corners=False)
        if self.grey:
            x = x.expand(-1, 3, -1, -1)
        return self.head(self.features(x))
