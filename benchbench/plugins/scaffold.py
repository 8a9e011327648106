"""``bench plugins new NAME``: a ready plugin package — pyproject with the entry point, one
architecture, one augmentation, one dataset, and a test — that installs and runs as
written. The files follow README's plugin-writing guide."""

from __future__ import annotations

import keyword
import re
from pathlib import Path

from benchbench import DISTRIBUTION
from benchbench.errors import BenchError

PYPROJECT = """[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "A benchbench plugin: {name}_cnn, {name}_noise and {name}_blobs."
requires-python = ">=3.11"
dependencies = ["{dependency}"]

[project.optional-dependencies]
test = ["pytest>=8"]

# The whole integration: benchbench loads every module in this entry-point group.
[project.entry-points.benchbench]
{name} = "{module}"
"""

MODULE = '''"""{dist}: a benchbench plugin. No torch import at module level: heavy imports live
inside the factories, so `bench --help` and `bench list` stay instant."""

from benchbench import hookimpl


@hookimpl
def benchbench_register_architectures(registry):
    registry.add("{name}_cnn", build_cnn, description="a small conv net ({dist})")


@hookimpl
def benchbench_register_augmentations(registry):
    registry.add("{name}_noise", build_noise, description="Gaussian pixel noise ({dist})")


@hookimpl
def benchbench_register_datasets(registry):
    registry.add("{name}_blobs", build_blobs, description="bright blob left or right ({dist})")


def build_cnn(*, num_classes: int, input_shape: tuple[int, int, int], width: int = 16,
              dropout: float = 0.0):
    """Float images (B, C, H, W) -> logits (B, num_classes); `--set arch.width=32`."""
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(input_shape[0], width, 3, padding=1),
        nn.BatchNorm2d(width),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(width, num_classes),
    )


def build_noise(*, num_classes: int, input_shape: tuple[int, int, int], std: float = 0.05):
    """`augment(images, targets, rng)`: every random number from `rng`, one row per image."""

    def augment(images, targets, rng):
        noise = rng.normal(*images.shape[1:]) * std  # (B, C, H, W), each image's own seed
        return (images + noise).clamp(0, 1), targets

    return augment


def build_blobs(*, data_dir=None, size: int = 16, train_size: int = 300, test_size: int = 100,
                seed: int = 0):
    """uint8 images (N, 1, size, size): a bright blob in the left or the right half."""
    import numpy as np

    from benchbench.data import ImageData

    rng = np.random.default_rng(seed)

    def draw(n):
        labels = rng.integers(0, 2, n)
        images = rng.integers(0, 60, (n, 1, size, size), dtype=np.uint8)
        for i, label in enumerate(labels):
            column = rng.integers(0, size // 2) + (size // 2 if label else 0)
            row = rng.integers(0, size - 3)
            images[i, 0, row : row + 3, max(column - 1, 0) : column + 2] = 250
        return images, labels

    return ImageData(["left", "right"], *draw(train_size), *draw(test_size))
'''

TEST = '''"""The plugin registers through benchbench's hooks and trains end to end."""

import {module}
from benchbench import api
from benchbench.config import RunConfig
from benchbench.plugins.manager import load_components


def test_the_plugin_registers_and_trains(tmp_path):
    components = load_components(use_entry_points=False, extra_plugins=[("{name}", {module})])
    info = next(p for p in components.plugins if p.name == "{name}")
    assert not info.errors, info.errors
    config = RunConfig(arch="{name}_cnn", augs=("{name}_noise",), dataset="{name}_blobs", epochs=2)
    (summary,) = api.run(config, results=tmp_path, components=components)
    assert summary["status"] == "complete" and 0 <= summary["test_acc"] <= 1
'''

README = """# {dist}

A benchbench plugin made by `bench plugins new {name}`.

    pip install .
    bench plugins                      # lists "{name}" from {dist}
    bench run --arch {name}_cnn --aug {name}_noise --dataset {name}_blobs --epochs 3
    pip install '.[test]' && pytest    # the plugin's own test

Edit `src/{module}/__init__.py`: the factories' keyword options become `--set` options
(`--set arch.width=32`, `--set aug.{name}_noise.std=0.1`, `--set dataset.size=32`).
"""


def create(name: str, folder: Path) -> list[Path]:
    """Write the plugin package ``benchbench-NAME`` under ``folder``; the files written."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or keyword.iskeyword(name):
        raise BenchError(
            f"bench plugins new {name!r}: use a lower-case Python name (letters, digits, _), "
            "e.g. myplugin; it prefixes what the plugin registers."
        )
    dist, module = f"benchbench-{name.replace('_', '-')}", f"benchbench_{name}"
    root = folder / dist
    if root.exists():
        raise BenchError(f"{root} exists already: choose another name or folder (--dir).")
    values = {"name": name, "dist": dist, "module": module, "dependency": DISTRIBUTION}
    files = {
        root / "pyproject.toml": PYPROJECT,
        root / "README.md": README,
        root / "src" / module / "__init__.py": MODULE,
        root / "tests" / f"test_{name}.py": TEST,
    }
    for path, template in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**values))
    return list(files)
