"""Validation that costs what it should: it scales with --subset, can be capped with
--val-subset and thinned with --val-every, and the stored history says which epochs were
validated."""

import json

from benchbench.config import RunConfig
from benchbench.results.store import Store


def test_validation_scales_with_the_training_subset():
    assert RunConfig(subset=900).validated().val_subset == 100  # 10% of 1,000 images
    assert RunConfig(subset=900, val_subset=40).validated().val_subset == 40
    assert RunConfig().validated().val_subset is None  # full runs validate on all of it
    assert RunConfig(subset=900, val_fraction=0).validated().val_subset is None


def test_a_reduced_run_validates_on_its_share(bench, isolated):
    result = bench("run", "--arch", "mlp", "--epochs", "1", "--subset", "300", "--json")
    assert result.code == 0, result.err
    record = Store(isolated / "results").get(json.loads(result.out)["run_id"])
    assert record.config["val_subset"] == 33


def test_val_subset_larger_than_the_held_out_images_is_refused(bench):
    result = bench("run", "--arch", "mlp", "--epochs", "1", "--val-subset", "5000")
    assert result.code == 2 and "--val-subset 5000: the dataset has only" in result.err


def test_val_every_validates_every_k_epochs_and_the_last(bench, isolated):
    args = ["run", "--arch", "mlp", "--epochs", "5", "--val-every", "2", "--json"]
    result = bench(*args)
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    history = Store(isolated / "results").history(summary["run_id"])
    validated = [h["epoch"] for h in history if h["val_loss"] is not None]
    assert validated == [2, 4, 5]
    assert summary["best_val_acc"] == max(h["val_acc"] for h in history if h["val_acc"])
    assert all(h["val_seconds"] == 0.0 for h in history if h["epoch"] in (1, 3))
