"""Validation that costs what it should: it scales with --subset, can be capped with
--val-subset and thinned with --val-every, and the stored history says which epochs were
validated."""

import json

import pytest

from benchbench.config import RunConfig
from benchbench.plugins.manager import load_components
from benchbench.results.store import Store
from benchbench.training.loop import prepare


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


def test_validating_on_the_test_set_trains_on_all_of_train(bench, isolated):
    args = ["run", "--arch", "mlp", "--epochs", "2", "--val-fraction", "0"]
    result = bench(*args, "--validate-on", "test", "--early-stopping", "5", "--json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    record = Store(isolated / "results").get(summary["run_id"])
    history = Store(isolated / "results").history(summary["run_id"])
    # The last epoch's validation is the final model on the test set: the same numbers.
    assert history[-1]["val_acc"] == pytest.approx(summary["test_acc"], abs=1e-6)
    assert history[-1]["val_loss"] == pytest.approx(summary["test_loss"], rel=1e-5)
    assert record.config["validate_on"] == "test"
    config = RunConfig(dataset="digits", val_fraction=0, validate_on="test").validated()
    splits = prepare(config, load_components())
    whole = prepare(RunConfig(dataset="digits", val_fraction=0).validated(), load_components())
    assert len(splits.train[1]) == len(whole.train[1]), "nothing held out of train"
    assert splits.val is splits.test, "one copy of the test images, not two"
    assert splits.nbytes == whole.nbytes, "and counted once where memory is budgeted"


def test_validating_on_the_test_set_while_holding_images_out_is_refused(bench):
    result = bench("run", "--arch", "mlp", "--epochs", "1", "--validate-on", "test")
    assert result.code == 2
    assert "--validate-on 'test': validating on the test set holds nothing out" in result.err
    assert "set --val-fraction 0" in result.err
