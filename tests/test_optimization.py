"""How weights move: parameter groups (--bias-lr-scale, --weight-decay scopes), airbench's
triangle schedule, and lookahead; each checked on what a run stores or the optimizer holds."""

import math

import pytest
import torch

from benchbench.config import RunConfig
from benchbench.plugins.manager import load_components
from benchbench.training.loop import train
from benchbench.training.optimization import Lookahead
from benchbench.training.optimization import build_optimizer
from benchbench.training.optimization import triangle

COMPONENTS = load_components(use_entry_points=False)


def net() -> torch.nn.Module:
    model = torch.nn.Module()
    model.features = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.GroupNorm(2, 4)
    )
    model.head = torch.nn.Linear(4, 2)
    return model


def groups_by_name(optimizer, model) -> dict[str, tuple[float, float]]:
    names = {id(p): n for n, p in model.named_parameters()}
    return {
        names[id(p)]: (g["lr"], g["weight_decay"])
        for g in optimizer.param_groups
        for p in g["params"]
    }


def test_normalization_biases_take_the_scaled_step_and_the_same_decay_per_step():
    model = net()
    config = RunConfig(optimizer="sgd", lr=0.5, weight_decay=0.01, bias_lr_scale=64.0)
    optimizer, _ = build_optimizer(config.validated(), model, 1)
    got = groups_by_name(optimizer, model)
    for name in ("features.1.bias", "features.2.bias"):  # BatchNorm's, GroupNorm's
        lr, decay = got[name]
        assert lr == 32.0 and lr * decay == pytest.approx(0.5 * 0.01)
    for name in ("features.0.weight", "features.0.bias", "features.1.weight", "head.weight"):
        assert got[name] == (0.5, 0.01), name


def test_a_frozen_parameter_is_left_out_and_the_default_is_one_plain_group():
    model = net()
    model.features[1].weight.requires_grad_(False)
    optimizer, _ = build_optimizer(RunConfig(optimizer="sgd").validated(), model, 1)
    assert len(optimizer.param_groups) == 1
    assert "features.1.weight" not in groups_by_name(optimizer, model)


def test_the_triangle_rises_from_a_fifth_to_the_peak_then_falls_to_seven_hundredths():
    factor = triangle(100)
    assert factor(0) == pytest.approx(0.2)
    assert factor(23) == pytest.approx(1.0)
    assert factor(11) < factor(12) < factor(23) > factor(24) > factor(99)
    assert factor(100) == pytest.approx(0.07)


def test_the_triangle_steps_every_batch_and_each_group_keeps_its_ratio():
    model = net()
    config = RunConfig(optimizer="sgd", lr=1.0, scheduler="triangle", bias_lr_scale=4.0, epochs=2)
    optimizer, schedule = build_optimizer(config.validated(), model, 50)
    seen = []
    for _epoch in range(2):
        for _ in range(50):
            seen.append([g["lr"] for g in optimizer.param_groups])
            optimizer.step()
            schedule.after_batch()
        schedule.after_epoch()
    assert seen[0] == pytest.approx([0.2, 0.8])
    assert max(s[0] for s in seen) == pytest.approx(1.0)
    assert len({s[0] for s in seen}) == 100, "a new rate every batch, none at an epoch's end"
    assert all(s[1] == pytest.approx(4 * s[0]) for s in seen)


def test_an_epoch_schedule_steps_at_the_epoch_end_only():
    config = RunConfig(optimizer="sgd", lr=1.0, scheduler="step", lr_step=1, lr_gamma=0.5)
    optimizer, schedule = build_optimizer(config.validated(), net(), 10)
    for _ in range(10):
        optimizer.step()
        schedule.after_batch()
    assert optimizer.param_groups[0]["lr"] == 1.0
    schedule.after_epoch()
    assert optimizer.param_groups[0]["lr"] == 0.5


def test_lookahead_moves_the_slow_weights_toward_the_fast_and_restarts_from_them():
    w = torch.zeros(3)
    state = {"w": w, "count": torch.tensor(7)}
    ahead = Lookahead(every=2, total=16)
    for t in (1, 2, 3):  # before a quarter of the steps (and off the every-2 beat): nothing
        w.add_(1.0)
        ahead.step(lambda: state, t)
    assert ahead.slow is None
    w.add_(1.0)
    ahead.step(lambda: state, 4)  # the first beat copies the weights
    assert torch.equal(ahead.slow["w"], torch.full((3,), 4.0)) and "count" not in ahead.slow
    w.add_(10.0)  # the fast weights move on
    ahead.step(lambda: state, 6)
    decay = 0.95**2 * (6 / 16) ** 3
    expected = 4.0 + (1 - decay) * 10.0
    assert torch.allclose(w, torch.full((3,), expected)), "the model restarts from the slow copy"
    w.add_(1.0)
    ahead.settle(lambda: state)
    assert torch.allclose(w, torch.full((3,), expected)), "an epoch ends on the slow weights"


def test_lookahead_off_by_default_and_a_run_with_it_is_seeded_and_recorded():
    base = {"dataset": "digits", "arch": "mlp", "epochs": 2, "device": "cpu", "optimizer": "sgd"}
    plain = train(RunConfig(**base).validated(), COMPONENTS)
    ahead = RunConfig(**base, lookahead=3).validated()
    first, again = train(ahead, COMPONENTS), train(ahead, COMPONENTS)
    assert [h["train_loss"] for h in first.history] == [h["train_loss"] for h in again.history]
    assert first.history[-1]["train_loss"] != plain.history[-1]["train_loss"]
    assert ahead.run_id != RunConfig(**base).validated().run_id
    assert math.isfinite(first.history[-1]["val_acc"])


def test_bad_values_say_what_to_give(bench):
    scale = bench("run", "--bias-lr-scale", "0", "--dry-run")
    assert scale.code == 2 and "--bias-lr-scale" in scale.err and "above 0" in scale.err
    ahead = bench("run", "--lookahead", "-1", "--dry-run")
    assert ahead.code == 2 and "--lookahead" in ahead.err and "number of steps" in ahead.err
