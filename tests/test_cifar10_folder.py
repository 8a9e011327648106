"""Slow tests on the real CIFAR-10 image folder (`nox -s slow`; deselected by default)."""

import json
import os
from pathlib import Path

import pytest

FOLDER = Path(
    os.environ.get(
        "BENCH_CIFAR10_DIR", Path(__file__).parents[2] / "shared" / "datasets" / "cifar10-jpg"
    )
)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not FOLDER.is_dir(), reason=f"no CIFAR-10 image folder at {FOLDER}"),
]


def test_the_folder_loads_as_50000_train_and_10000_test_images():
    from benchbench.plugins.builtin.datasets import imagefolder

    data = imagefolder(data_dir=FOLDER)
    assert data.train_images.shape == (50000, 3, 32, 32)
    assert data.test_images.shape == (10000, 3, 32, 32)
    assert data.classes[:3] == ["airplane", "automobile", "bird"]
    again = imagefolder(data_dir=FOLDER)  # from the cache
    assert (again.train_images[::997] == data.train_images[::997]).all()


def test_a_short_real_run_learns_cifar10(bench):
    result = bench(
        "run",
        "--arch",
        "resnet_skip",
        "--aug",
        "hflip",
        "--aug",
        "crop",
        "--dataset",
        "imagefolder",
        "--data-dir",
        FOLDER,
        "--subset",
        "5000",
        "--epochs",
        "2",
        "--json",
    )
    assert result.code == 0, result.err
    assert json.loads(result.out)["test_acc"] > 0.3
