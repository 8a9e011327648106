"""The built-in networks, each defined once: the public functions below take the user's
options (``--set arch.KEY=VALUE``), check them and build the network. They are registered
by reference from :mod:`benchbench.plugins.builtin.architectures`, so torch, imported here,
is loaded only when a network is built.

Every network has ``features`` and a ``head``: ``--l2-scope head`` regularizes the head
alone, and a frozen backbone leaves only the head trainable.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from benchbench.errors import BenchError
from benchbench.plugins.builtin.architectures import dropout_rate
from benchbench.plugins.builtin.architectures import kernel_size
from benchbench.plugins.builtin.architectures import positive_ints


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


def _vgg_features(input_shape, blocks: list[list[int]], kernel: int, bn: bool) -> nn.Sequential:
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


def _speedrun_net(
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


def _pooled_cnn_net(*, input_shape, num_classes, blocks, hidden, kernel, bn, dropout) -> Classifier:
    """Report 000's CNNs and report 004's VGG blocks: conv blocks, then a dense head."""
    features = _vgg_features(input_shape, blocks, kernel, bn)
    head = mlp_head(flat_size(features, input_shape), hidden, num_classes, dropout)
    return Classifier(features, head)


def _cnn_5x5_net(*, input_shape, num_classes, bn: bool, dropout: float) -> Classifier:
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


def _mlp_net(*, input_shape, num_classes, hidden: list[int], dropout: float) -> Classifier:
    """Report 002's baseline: Flatten-FC255-ReLU-FC(classes)."""
    c, h, w = input_shape
    return Classifier(nn.Identity(), mlp_head(c * h * w, hidden, num_classes, dropout))


def _lenet_net(
    *, input_shape, num_classes, dropout: tuple[float, float], padding: int
) -> Classifier:
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


def _resnet_skip_net(
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


# -- the architectures, as users build them -----------------------------------------


def _report000_cnn(name: str, blocks: list[list[int]], hidden: list[int], doc: str):
    """One of report 000's CNNs: VGG-style blocks of ``blocks`` channels ([BN] before
    each pool) and a dense head of ``hidden`` units; the builder named ``name``."""

    def build(
        *,
        num_classes: int,
        input_shape: tuple[int, int, int],
        bn: bool = False,
        kernel: int = 3,
        dropout: float = 0.0,
    ):
        return _pooled_cnn_net(
            input_shape=input_shape,
            num_classes=num_classes,
            blocks=blocks,
            hidden=hidden,
            kernel=kernel_size(kernel),
            bn=bool(bn),
            dropout=dropout_rate(dropout),
        )

    build.__name__ = build.__qualname__ = name
    build.__doc__ = doc
    return build


cnn_small = _report000_cnn(
    "cnn_small",
    [[32, 64], [128, 128], [256, 256]],
    [1024, 512],
    "Report 000's small CNN; 5,851,338 parameters without BN on 3x32x32 with 10 classes.",
)
cnn_large = _report000_cnn(
    "cnn_large",
    [[32, 64], [128, 256, 256], [512, 1024, 1024], [2048, 2048]],
    [2048, 1024, 512],
    "Report 000's large CNN; 92,351,050 parameters without BN on 3x32x32 with 10 classes.",
)


# -- report 001, 002, 003, 004 --------------------------------------------------------------


def cnn_5x5(
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    bn: bool = False,
    dropout: float = 0.0,
    init: str = "torch",
):
    """Report 001's CNN; its "Improved" model is bn=true with dropout 0.2.

    ``init``: ``torch`` (PyTorch's default initialization) or ``glorot`` (MATLAB's, which
    report 001 trained with: Glorot-uniform weights, zero biases)."""
    model = _cnn_5x5_net(
        input_shape=input_shape, num_classes=num_classes, bn=bool(bn), dropout=dropout_rate(dropout)
    )
    return _initialized(model, init)


def _initialized(model, init: str):
    """``model`` with its convolution and linear layers initialized by scheme ``init``."""
    if init not in ("torch", "glorot"):
        raise BenchError(
            f"arch init={init!r}: use torch (PyTorch's default) or glorot (Glorot-uniform "
            "weights and zero biases, the default of Keras and MATLAB)."
        )
    if init == "glorot":
        for module in model.modules():
            if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
                torch.nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    torch.nn.init.zeros_(module.bias)
    return model


def speedrun(
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    widths="64,256,256",
    stem: int = 24,
    scale: float = 1 / 9,
    whiten: bool = False,
    bn_weights: bool = True,
    dirac: bool = False,
):
    """``bench run --recipe speedrun``'s network. ``widths``: one ConvGroup each (each
    halves the image); ``stem``: channels of the 2x2 stem; ``scale``: the logits' factor;
    ``whiten``: the stem's filters whiten 2x2 patches of the training images (set from
    the data before training, then frozen; the recipe turns it on); ``bn_weights``: train
    BatchNorm's scales (false: they stay 1, as in airbench); ``dirac``: each convolution
    starts as the identity on its input channels (airbench's implicit residual)."""
    if not 0 < float(scale):
        raise BenchError(f"arch scale={scale}: give a factor above 0, e.g. 0.111.")
    return _speedrun_net(
        input_shape=input_shape,
        num_classes=num_classes,
        widths=positive_ints("widths", widths),
        stem=positive_ints("stem", stem)[0],
        scale=float(scale),
        whiten=bool(whiten),
        bn_weights=bool(bn_weights),
        dirac=bool(dirac),
    )


def mlp(*, num_classes: int, input_shape: tuple[int, int, int], hidden="255", dropout: float = 0.0):
    """Report 002's baseline MLP (68,851,023 parameters on 3x300x300 with 3 classes)."""
    return _mlp_net(
        input_shape=input_shape,
        num_classes=num_classes,
        hidden=positive_ints("hidden", hidden),
        dropout=dropout_rate(dropout),
    )


def lenet(
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    dropout: float | str | None = None,
    padding: int | None = None,
):
    """Report 002's tutorial CNN (9,966,691 parameters on 3x300x300 with 3 classes).

    ``dropout`` None keeps the tutorial's 0.25 (after the convolutions) and 0.5 (before
    the last layer); one number sets both (0 turns them off); "a,b" sets each.
    ``padding`` None pads the convolutions only for images under 16 pixels.
    """
    if dropout is None:
        rates = (0.25, 0.5)
    elif isinstance(dropout, str) and "," in dropout:
        first, second = dropout.split(",", 1)
        try:
            rates = (dropout_rate(float(first)), dropout_rate(float(second)))
        except ValueError:
            raise BenchError(
                f"lenet dropout={dropout!r}: one rate or two, e.g. 0.25,0.5."
            ) from None
    else:
        rates = (dropout_rate(float(dropout)),) * 2
    if padding is None:
        padding = 0 if min(input_shape[1:]) >= 16 else 2
    return _lenet_net(
        input_shape=input_shape, num_classes=num_classes, dropout=rates, padding=padding
    )


def resnet_skip(
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    widths="32,64,128",
    kernel: int = 3,
    stride: int = 2,
    dropout: float = 0.0,
    merge: str = "concat",
):
    """Report 003's skip-connection CNN (the layout is a reading; widths are options).

    ``merge``: ``concat`` (the report's text: the skip is concatenated with conv3's
    ReLU output) or ``add`` (ResNet's sum, before the ReLU)."""
    if stride not in (1, 2):
        raise BenchError(f"arch stride={stride}: use 1 or 2.")
    if merge not in ("concat", "add"):
        raise BenchError(f"arch merge={merge!r}: use concat (the report's) or add (ResNet's).")
    return _resnet_skip_net(
        input_shape=input_shape,
        num_classes=num_classes,
        widths=positive_ints("widths", widths),
        kernel=kernel_size(kernel),
        stride=stride,
        dropout=dropout_rate(dropout),
        merge=merge,
    )


def vgg_blocks(
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    filters="32,64,128",
    dropout: float = 0.5,
    init: str = "torch",
):
    """Report 004's custom CNN: VGG blocks and the shared dense head (dropout 0.5 default).

    ``init``: ``torch`` or ``glorot`` (Keras' default, which report 004 trained with)."""
    blocks = [[f, f] for f in positive_ints("filters", filters)]
    model = _pooled_cnn_net(
        input_shape=input_shape,
        num_classes=num_classes,
        blocks=blocks,
        hidden=[64, 32],
        kernel=3,
        bn=False,
        dropout=dropout_rate(dropout),
    )
    return _initialized(model, init)
