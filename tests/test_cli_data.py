import json

import numpy as np
from PIL import Image


def make_fruit(root):
    """Report 002's situation: mostly 30x30 images, a few outliers, one corrupt file."""
    rng = np.random.default_rng(0)
    for name, outliers in (("cherry", 1), ("tomato", 2)):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(6):
            Image.fromarray(rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)).save(
                folder / f"{i}.jpg"
            )
        for i in range(outliers):
            Image.fromarray(rng.integers(0, 256, (40, 20, 3), dtype=np.uint8)).save(
                folder / f"odd{i}.png"
            )
    (root / "tomato" / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    return root


def test_inspect_counts_sizes_and_lists_unreadable_files(bench, tmp_path):
    root = make_fruit(tmp_path / "fruit")
    result = bench("data", "inspect", "--data-dir", root, "--keep-size", "30x30", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)["all"]
    assert report["sizes"] == {"30x30": 12, "40x20": 3}
    assert report["classes"]["tomato"] == {"images": 9, "unreadable": 1, "excluded": 2}
    assert report["classes"]["cherry"] == {"images": 7, "unreadable": 0, "excluded": 1}
    assert report["unreadable"][0]["path"] == "tomato/broken.jpg"
    table = bench("data", "inspect", "--data-dir", root, "--keep-size", "30x30")
    assert "30x30" in table.out and "broken.jpg" in table.err


def test_training_with_the_same_filter_excludes_the_outliers(bench, tmp_path):
    root = make_fruit(tmp_path / "fruit")
    mixed = bench("run", "--dataset", "imagefolder", "--data-dir", root, "--epochs", "1")
    assert mixed.code == 2 and "dataset.keep_size" in mixed.err
    result = bench(
        "run",
        "--dataset",
        "imagefolder",
        "--data-dir",
        root,
        "--epochs",
        "1",
        "--arch",
        "mlp",
        "--set",
        "dataset.keep_size=30x30",
        "--set",
        "dataset.test_fraction=0.25",
        "--val-fraction",
        "0.2",
        "--json",
    )
    assert result.code == 0, result.err
    assert "excluded 3 images" in result.err and "broken.jpg" in result.err


def test_inspect_any_dataset(bench):
    result = bench(
        "data",
        "inspect",
        "--dataset",
        "fake",
        "--set",
        "dataset.classes=3",
        "--set",
        "dataset.train_size=30",
        "--json",
    )
    report = json.loads(result.out)
    assert report["input_shape"] == [3, 32, 32] and sum(report["train"].values()) == 30
