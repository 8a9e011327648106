"""Built-in architectures. Factories import torch lazily, so listing them costs nothing."""

from __future__ import annotations

from benchbench import hookimpl
from benchbench.errors import BenchError


@hookimpl
def benchbench_register_architectures(registry):
    registry.add(
        "cnn_small",
        cnn_small,
        description="report 000: three Conv-ReLU-Conv-ReLU-"
        "[BN]-Pool blocks (32-64/128/256) and FC 1024-512; options bn, kernel 3|7",
    )
    registry.add(
        "cnn_large",
        cnn_large,
        description="report 000: four pooled blocks up to 2048 "
        "channels, FC 2048-1024-512 (92M parameters); options bn, kernel 3|7",
    )
    registry.add(
        "resnet_skip",
        resnet_skip,
        description="report 003: conv-BN-ReLU stages with a "
        "strided 1x1 skip from after the first BN; options widths, kernel, stride",
    )


def _kernel(kernel: int) -> int:
    if kernel not in (3, 5, 7):
        raise BenchError(f"kernel={kernel}: use 3, 5 or 7 (padding keeps the size).")
    return kernel


def _dropout(dropout: float) -> float:
    if not 0 <= dropout < 1:
        raise BenchError(f"dropout={dropout}: must be in [0, 1).")
    return float(dropout)


def _widths(widths) -> list[int]:
    if isinstance(widths, str):
        widths = [w for w in widths.replace(",", " ").split() if w]
    try:
        out = [int(w) for w in (widths if isinstance(widths, (list, tuple)) else [widths])]
    except ValueError:
        out = []
    if not out or min(out) < 1:
        raise BenchError(f"widths={widths!r}: give positive channel counts, e.g. 32,64,128.")
    return out


def cnn_small(
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    bn: bool = False,
    kernel: int = 3,
    dropout: float = 0.0,
):
    """Report 000's small CNN; 5,851,338 parameters without BN on 3x32x32 with 10 classes."""
    from benchbench.builtin.nets import CNN

    return CNN(
        input_shape=input_shape,
        num_classes=num_classes,
        blocks=[[32, 64], [128, 128], [256, 256]],
        head=[1024, 512],
        kernel=_kernel(kernel),
        bn=bool(bn),
        dropout=_dropout(dropout),
    )


def cnn_large(
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    bn: bool = False,
    kernel: int = 3,
    dropout: float = 0.0,
):
    """Report 000's large CNN; 92,351,050 parameters without BN on 3x32x32 with 10 classes."""
    from benchbench.builtin.nets import CNN

    return CNN(
        input_shape=input_shape,
        num_classes=num_classes,
        blocks=[[32, 64], [128, 256, 256], [512, 1024, 1024], [2048, 2048]],
        head=[2048, 1024, 512],
        kernel=_kernel(kernel),
        bn=bool(bn),
        dropout=_dropout(dropout),
    )


def resnet_skip(
    *,
    num_classes: int,
    input_shape: tuple[int, int, int],
    widths="32,64,128",
    kernel: int = 3,
    stride: int = 2,
    dropout: float = 0.0,
):
    """Report 003's skip-connection CNN (the layout is a reading; widths are options)."""
    from benchbench.builtin.nets import ResNetSkip

    if stride not in (1, 2):
        raise BenchError(f"stride={stride}: use 1 or 2.")
    return ResNetSkip(
        input_shape=input_shape,
        num_classes=num_classes,
        widths=_widths(widths),
        kernel=_kernel(kernel),
        stride=stride,
        dropout=_dropout(dropout),
    )
