"""In-memory image data: what dataset factories return, and the splits carved from it.

Images stay uint8 ``(N, C, H, W)`` from disk to device (a quarter of float32's memory);
they become float only a batch at a time inside the training loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from benchbench.errors import BenchError


@dataclass
class ImageData:
    """A dataset as returned by a dataset factory.

    ``*_images`` are uint8 arrays ``(N, C, H, W)`` (numpy, torch, or a ``numpy.memmap``
    for data larger than memory), ``*_labels`` integer arrays ``(N,)`` with values in
    ``range(len(classes))``.
    """

    classes: list[str]
    train_images: Any
    train_labels: Any
    test_images: Any
    test_labels: Any

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.train_images.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def as_tensors(self, name: str = "dataset") -> ImageData:
        """The same data as torch tensors, checked: a plugin's mistake is named here.
        Memory-mapped images stay on disk as :class:`~benchbench.data.streaming.Rows`."""
        import numpy as np
        import torch

        from benchbench.data.streaming import Rows
        from benchbench.data.streaming import rows

        def images(x, split):
            lazy = isinstance(x, (np.memmap, Rows))  # from a file: read when used
            x = rows(x) if lazy else torch.as_tensor(x)
            base = x.base if lazy else x
            if base.dtype != torch.uint8 or base.ndim != 4:
                raise BenchError(
                    f"Dataset {name!r} returned {split} images of dtype {base.dtype} and shape "
                    f"{tuple(x.shape)}; expected uint8 (N, C, H, W). Fix the dataset factory."
                )
            return x.contiguous()

        def labels(y, x, split):
            y = torch.as_tensor(y).long()
            if y.shape != (x.shape[0],):
                raise BenchError(
                    f"Dataset {name!r}: {split} has {x.shape[0]} images but "
                    f"labels of shape {tuple(y.shape)}."
                )
            if len(y) and (int(y.min()) < 0 or int(y.max()) >= len(self.classes)):
                raise BenchError(
                    f"Dataset {name!r}: {split} labels must lie in "
                    f"0..{len(self.classes) - 1} (one per class name)."
                )
            return y

        train_x, test_x = images(self.train_images, "train"), images(self.test_images, "test")
        if len(train_x) == 0:
            raise BenchError(f"Dataset {name!r} has no training images.")
        if train_x.shape[1:] != test_x.shape[1:] and len(test_x):
            raise BenchError(
                f"Dataset {name!r}: train images are {tuple(train_x.shape[1:])} "
                f"but test images {tuple(test_x.shape[1:])}."
            )
        return ImageData(
            list(self.classes),
            train_x,
            labels(self.train_labels, train_x, "train"),
            test_x,
            labels(self.test_labels, test_x, "test"),
        )


def stratified_split(
    labels, fraction: float, seed: int, option: str = "--val-fraction", shown=None
):
    """Indices ``(keep, held_out)`` with ``fraction`` of every class held out.

    Deterministic for a given ``seed``. ``fraction == 0`` holds nothing out. ``option``
    names the setting to change in the error when the split is impossible, ``shown`` the
    value the user gave (the fraction itself by default).
    """
    import numpy as np
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
    everything = np.arange(len(labels))
    value = fraction if shown is None else shown
    if fraction <= 0:
        return everything, everything[:0]
    if fraction >= 1:
        raise BenchError(
            f"{option} {value:g}: a share of the images lies between 0 and 1 (0.2 holds "
            f"out a fifth); {value:g} would leave nothing on the other side. Give a value "
            "below 1."
        )
    counts = np.bincount(labels)
    try:
        keep, held = train_test_split(
            everything, test_size=fraction, random_state=seed, stratify=labels
        )
    except ValueError:
        held = math.ceil(fraction * len(labels))
        classes = int((counts > 0).sum())
        if classes <= held <= len(labels) - classes:  # enough on each side: a small class
            raise BenchError(
                f"{option} {value:g}: cannot split {len(labels)} images so that each of "
                f"the {classes} classes has images on both sides (this would set {held} "
                f"aside; the smallest class has {counts[counts > 0].min()} images). Change "
                f"{option}, or use more data."
            ) from None
        raise BenchError(
            f"{option} {value:g}: each side of the split needs at least one image of each "
            f"of the {classes} classes, but this sets {held} of {len(labels)} images aside. "
            f"Give a value that sets between {classes} and {len(labels) - classes} images "
            "aside."
        ) from None
    return np.sort(keep), np.sort(held)


def load_dataset(datasets, name: str, options: dict, data_dir=None) -> ImageData:
    """Dataset ``name`` from its plugin (``datasets``: the dataset registry), as checked
    tensors: the one way every command loads data."""
    from pathlib import Path

    if data_dir is not None:
        data_dir = Path(data_dir).expanduser()
        if not data_dir.exists():
            raise BenchError(
                f"--data-dir {data_dir} does not exist. Point it at the dataset folder."
            )
    data = datasets.get(name).create(options, data_dir=data_dir)
    if not isinstance(data, ImageData):
        raise BenchError(
            f"dataset {name!r} returned {type(data).__name__}, not benchbench.data.ImageData. "
            "Fix the dataset factory."
        )
    return data.as_tensors(name)
