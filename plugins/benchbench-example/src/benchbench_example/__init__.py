"""An example benchbench plugin. Note: no torch import at module level."""

from benchbench import hookimpl


@hookimpl
def benchbench_register_architectures(registry):
    registry.add("tiny_cnn", build_tiny_cnn, description="two conv layers (example plugin)")


@hookimpl
def benchbench_register_augmentations(registry):
    registry.add(
        "invert", build_invert, description="invert colours with probability p (example plugin)"
    )


@hookimpl
def benchbench_register_datasets(registry):
    registry.add(
        "stripes",
        build_stripes,
        description="horizontal vs vertical stripes, generated (example plugin)",
    )


def build_tiny_cnn(
    *, num_classes: int, input_shape: tuple[int, int, int], width: int = 16, dropout: float = 0.0
):
    from torch import nn

    channels = input_shape[0]
    return nn.Sequential(
        nn.Conv2d(channels, width, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(width, width, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(width, num_classes),
    )


def build_invert(*, num_classes: int, input_shape: tuple[int, int, int], p: float = 0.5):
    import torch

    def invert(images, targets, rng):
        chosen = rng.bernoulli(p)  # one draw per image, from that image's own seed
        return torch.where(chosen[:, None, None, None], 1 - images, images), targets

    return invert


def build_stripes(
    *, data_dir=None, size: int = 16, train_size: int = 400, test_size: int = 100, seed: int = 0
):
    import numpy as np

    from benchbench.data import ImageData

    rng = np.random.default_rng(seed)

    def draw(n):
        labels = rng.integers(0, 2, n)
        phase = rng.integers(0, 4, n)
        line = (np.arange(size)[None, :] + phase[:, None]) % 4 < 2  # (n, size)
        images = np.where(labels[:, None, None] == 0, line[:, :, None], line[:, None, :])
        images = np.broadcast_to(images, (n, size, size)).astype(np.uint8) * 200
        noise = rng.integers(0, 55, (n, size, size), dtype=np.uint8)
        return (images + noise)[:, None], labels

    return ImageData(["horizontal", "vertical"], *draw(train_size), *draw(test_size))
