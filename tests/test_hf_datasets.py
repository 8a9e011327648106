"""hf:NAME datasets through the datasets library, on a dataset the test builds and saves."""

import json

import numpy as np
import pytest

datasets = pytest.importorskip("datasets", reason="the hf extra is not installed")


def saved(tmp_path, sizes=((12, 12),)):
    from PIL import Image

    rng = np.random.default_rng(0)

    def split(n):
        labels = [i % 3 for i in range(n)]
        images = [
            Image.fromarray(
                rng.integers(0, 60, (*sizes[i % len(sizes)], 3), dtype=np.uint8) + 60 * label
            )
            for i, label in enumerate(labels)
        ]
        return {"img": images, "fine_label": labels}

    features = datasets.Features(
        {"img": datasets.Image(), "fine_label": datasets.ClassLabel(names=["a", "b", "c"])}
    )
    data = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict(split(60), features=features),
            "test": datasets.Dataset.from_dict(split(15), features=features),
        }
    )
    data.save_to_disk(str(tmp_path / "saved"))
    return tmp_path / "saved"


def test_a_saved_hugging_face_dataset_trains(bench, tmp_path):
    folder = saved(tmp_path)
    args = ["--dataset", "hf:local", "--data-dir", folder, "--arch", "mlp", "--epochs", "1"]
    result = bench("run", *args, "--set", "dataset.label_column=fine_label", "--json")
    assert result.code == 0, result.err
    shown = json.loads(bench("show", json.loads(result.out)["run_id"], "--json").out)
    assert shown["summary"]["status"] == "complete"
    assert shown["classes"] == ["a", "b", "c"]  # the ClassLabel's names


def test_columns_splits_and_sizes_are_checked_with_a_fix(bench, tmp_path):
    folder = saved(tmp_path, sizes=((12, 12), (10, 14)))
    base = ["--dataset", "hf:local", "--data-dir", folder, "--arch", "mlp", "--epochs", "1"]
    no_label = bench("run", *base)
    assert no_label.code == 2 and "no column 'label'" in no_label.err
    labelled = [*base, "--set", "dataset.label_column=fine_label"]
    mixed = bench("run", *labelled)
    assert mixed.code == 2 and "dataset.size=HxW" in mixed.err
    resized = bench("run", *labelled, "--set", "dataset.size=8x8", "--json")
    assert resized.code == 0, resized.err
    split = bench("run", *labelled, "--set", "dataset.test_split=validation")
    assert split.code == 2 and "no split 'validation' (it has train, test)" in split.err
