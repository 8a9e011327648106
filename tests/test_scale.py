"""--scale shortens a recipe's whole schedule, and the run records the recipe and the scale."""

import json

import pytest
from conftest import FAST

from benchbench.config import RunConfig
from benchbench.errors import BenchError


def test_scale_multiplies_epochs_steps_milestones_and_patience():
    recipe = RunConfig(
        epochs=20, scheduler="step", lr_step=16, early_stopping=3, scale=0.25
    ).validated()
    assert (recipe.epochs, recipe.lr_step, recipe.early_stopping) == (20, 16, 3)  # as given
    run = recipe.scaled()
    assert (run.epochs, run.lr_step, run.early_stopping, run.scale) == (5, 4, 1, 1.0)
    piecewise = RunConfig(epochs=40, scheduler="piecewise", lr_milestones=(2, 20, 30), scale=0.1)
    assert piecewise.validated().scaled().lr_milestones == (1, 2, 3)  # at least 1, in order
    assert RunConfig(epochs=3, scale=2).scaled().epochs == 6  # longer works too
    plain = RunConfig(epochs=7).validated()
    assert plain.scaled() is plain


def test_a_scaled_run_has_its_own_id_but_an_unscaled_one_keeps_the_old():
    base = RunConfig(epochs=20).validated()
    assert RunConfig(epochs=20, scale=1.0).validated().run_id == base.run_id
    assert RunConfig(epochs=20, scale=0.25).validated().run_id != base.run_id
    assert RunConfig(epochs=5).validated().run_id != RunConfig(epochs=20, scale=0.25).run_id


def test_bad_scale_is_a_clear_error():
    with pytest.raises(BenchError, match=r"--scale 0: give a factor above 0"):
        RunConfig(scale=0).validated()


def test_a_scaled_run_trains_the_scaled_epochs_and_records_the_recipe(bench):
    args = [*FAST, "--epochs", "4", "--scheduler", "step", "--lr-step", "2", "--lr", "0.1"]
    result = bench("run", *args, "--scale", "0.5", "--json")
    assert result.code == 0, result.err
    shown = json.loads(bench("show", json.loads(result.out)["run_id"], "--json").out)
    assert shown["config"]["epochs"] == 4 and shown["config"]["scale"] == 0.5
    history = shown["history"]
    assert [e["epoch"] for e in history] == [1, 2]
    # lr_step 2 scaled to 1: the learning rate decays after the first epoch already
    assert history[1]["lr"] == pytest.approx(history[0]["lr"] * 0.1)


def test_sweep_scale_scales_every_run_of_the_suite(bench, isolated):
    suite = isolated / "short.toml"
    suite.write_text(
        'seeds = [0]\n[base]\ndataset = "digits"\narch = "mlp"\nepochs = 4\n'
        '[[variants]]\nname = "A"\n[[variants]]\nname = "B"\nlr = 0.01\n'
    )
    result = bench("sweep", suite, "--scale", "0.25", "--json")
    assert result.code == 0, result.err
    runs = json.loads(bench("runs", "--json").out)
    assert len(runs) == 2
    for run in runs:
        shown = json.loads(bench("show", run["run_id"], "--json").out)
        assert shown["config"]["scale"] == 0.25
        assert len(shown["history"]) == 1
