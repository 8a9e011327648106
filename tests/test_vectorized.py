"""--vectorize: the seeds of one configuration trained as one batched model, each replica
exactly the run its seed would give alone (up to the order of float sums), each stored as
its own run; on a machine where batching is slower, the seeds run one after another."""

import json

import pytest
import torch

from benchbench.config import RunConfig
from benchbench.plugins.manager import load_components
from benchbench.training import vectorized
from benchbench.training.loop import train

COMPONENTS = load_components(use_entry_points=False)


def configs(**changes):
    base = {
        "dataset": "digits",
        "arch": "cnn_5x5",
        "epochs": 2,
        "batch_size": 64,
        "augs": ("standard",),
        "clip_grad": 0.5,
        "device": "cpu",
        **changes,
    }
    return [RunConfig(**base, seed=seed).validated() for seed in (0, 1, 2)]


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"aug_mode": "offline", "optimizer": "sgd"},
        # airbench's optimization: BatchNorm biases at 8x the step, triangle, lookahead
        {
            "optimizer": "sgd",
            "momentum": 0.85,
            "nesterov": True,
            "weight_decay": 5e-3,
            "arch_options": {"bn": True},
            "bias_lr_scale": 8.0,
            "scheduler": "triangle",
            "lookahead": 2,
        },
    ],
)
def test_each_replica_trains_as_its_seed_would_alone(changes):
    runs = configs(**changes)
    outcomes, timed = vectorized.train_replicas(runs, COMPONENTS, probe=False)
    assert timed is None and len(outcomes) == 3
    for run, batched in zip(runs, outcomes, strict=True):
        alone = train(run, COMPONENTS)
        for a, b in zip(alone.history, batched.history, strict=True):
            assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
            assert a["val_acc"] == pytest.approx(b["val_acc"], abs=1e-3)
        assert torch.allclose(alone.test_logits, batched.test_logits, atol=1e-3)
        assert batched.execution["vectorized"] == 3
        assert set(batched.state_dict) == set(alone.state_dict)
    assert outcomes[0].history[0]["train_loss"] != outcomes[1].history[0]["train_loss"]


def test_dropout_replicas_draw_their_own_masks_the_same_way_every_time():
    runs = configs(dropout=0.5)
    first, _ = vectorized.train_replicas(runs, COMPONENTS, probe=False)
    again, _ = vectorized.train_replicas(runs, COMPONENTS, probe=False)
    for a, b in zip(first, again, strict=True):
        assert [h["train_loss"] for h in a.history] == [h["train_loss"] for h in b.history]
    assert first[0].history[-1]["train_loss"] != first[1].history[-1]["train_loss"]


def test_each_replica_stops_early_on_its_own():
    runs = configs(early_stopping=1, min_delta=0.5, epochs=4, restore_best=False)
    outcomes, _ = vectorized.train_replicas(runs, COMPONENTS, probe=False)
    for run, batched in zip(runs, outcomes, strict=True):
        alone = train(run, COMPONENTS)
        assert len(batched.history) == len(alone.history) == 2  # no 0.5 improvement
        assert torch.allclose(alone.test_logits, batched.test_logits, atol=1e-3)


def test_replicas_reach_the_target_as_their_seed_alone_would():
    """--target-acc under --vectorize: each replica's time to target is stored, at the first
    epoch its own test accuracy reaches the target (the seconds are the batched epochs')."""
    runs = configs(epochs=3, lr=0.01, clip_grad=None, augs=(), target_acc=0.5, target_on="test")
    outcomes, _ = vectorized.train_replicas(runs, COMPONENTS, probe=False)
    for batched in outcomes:
        reached = [h["epoch"] for h in batched.history if h.get("test_acc", 0) >= 0.5]
        assert reached, "every replica reaches 0.5 in 3 epochs at lr 0.01"
        assert batched.epochs_to_target == reached[0]
        assert batched.seconds_to_target == pytest.approx(
            sum(h["train_seconds"] for h in batched.history[: reached[0]])
        )
        # tested each epoch until then, as a sequential run is
        assert all("test_acc" in h for h in batched.history[: reached[0]])
        assert all("test_acc" not in h for h in batched.history[reached[0] :])
    alone = train(runs[0], COMPONENTS)
    assert alone.epochs_to_target == outcomes[0].epochs_to_target


def test_the_seeds_run_one_after_another_where_batching_is_slower(bench, monkeypatch):
    monkeypatch.setattr(vectorized, "pays", lambda *args: (3.0, 1.0))
    args = ["--dataset", "digits", "--arch", "mlp", "--epochs", "1", "--seeds", "0-1"]
    result = bench("run", *args, "--vectorize", "--json")
    assert result.code == 0, result.err
    assert "2 seeds batched took 3.000 s a step, one after another 1.000 s" in result.err
    for run in json.loads(result.out):
        shown = json.loads(bench("show", run["run_id"], "--json").out)
        assert "vectorized" not in shown["environment"]
        assert shown["environment"]["vectorize_probe"] == {  # the decision, on record
            "outcome": "sequential",
            "vectorized_step_s": 3.0,
            "sequential_step_s": 1.0,
            "seeds": 2,
        }
        assert isinstance(shown["environment"]["cpu_features"], list)  # what decided bf16


def test_batched_seeds_are_stored_as_their_own_runs(bench, monkeypatch):
    monkeypatch.setattr(vectorized, "pays", lambda *args: (1.0, 3.0))
    args = ["--dataset", "digits", "--arch", "mlp", "--epochs", "1", "--seeds", "0-2"]
    sequential_ids = {
        r["run_id"] for r in json.loads(bench("run", *args, "--dry-run", "--json").out)
    }
    result = bench("run", *args, "--vectorize", "--json")
    assert result.code == 0, result.err
    runs = json.loads(result.out)
    assert {r["run_id"] for r in runs} == sequential_ids  # the same experiments
    for run in runs:
        environment = json.loads(bench("show", run["run_id"], "--json").out)["environment"]
        assert environment["vectorized"] == 3 and environment["vectorized_probe_s"] == [1.0, 3.0]
    again = bench("run", *args, "--vectorize", "--json")
    assert all(r["skipped"] for r in json.loads(again.out))
    table = bench("report", "--format", "json")
    assert "3 seeds batched" in table.out


def test_fp16_and_compile_are_not_vectorized(bench):
    args = ["--dataset", "digits", "--arch", "mlp", "--seeds", "0-1", "--vectorize"]
    fp16 = bench("run", *args, "--precision", "fp16")
    assert fp16.code == 2 and "one loss scaler would skip every replica" in fp16.err
