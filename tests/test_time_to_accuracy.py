"""--target-acc records when a run first reaches an accuracy; --tta averages test views."""

import json
import math

import pytest
import torch
from conftest import FAST

from benchbench.settings import choices
from benchbench.training.loop import Batcher
from benchbench.training.loop import predict
from benchbench.training.loop import tta_views


def test_every_tta_choice_has_its_views():
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(2, 3, 4, 4)
    counts = {tta: len(tta_views(x, tta)) for tta in choices("tta")}
    assert counts == {"none": 1, "flip": 2, "flip-translate": 6}
    views = tta_views(x, "flip-translate")
    assert torch.equal(views[1], x.flip(3))
    assert torch.equal(views[2][:, :, :-1, :-1], x[:, :, 1:, 1:])  # shifted up-left
    assert torch.equal(views[3][:, :, 1:, 1:], x[:, :, :-1, :-1])  # shifted down-right
    assert all(v.shape == x.shape for v in views)


def test_tta_averages_the_logits_of_the_views():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 2))
    images = torch.randint(0, 256, (5, 3, 4, 4), dtype=torch.uint8)
    batcher = Batcher(torch.zeros(1, 3, 1, 1), torch.ones(1, 3, 1, 1), torch.device("cpu"))
    plain = predict(model, images, batcher)
    mirrored = predict(model, images.flip(3), batcher)
    assert torch.allclose(predict(model, images, batcher, tta="flip"), (plain + mirrored) / 2)


def test_time_to_target_counts_training_seconds_until_the_first_hit(bench):
    result = bench("run", *FAST, "--epochs", "3", "--target-acc", "0.2", "--json")
    assert result.code == 0, result.err
    run_id = json.loads(result.out)["run_id"]
    shown = json.loads(bench("show", run_id, "--json").out)
    summary, history = shown["summary"], shown["history"]
    hit = next(h["epoch"] for h in history if h["val_acc"] >= 0.2)
    assert summary["epochs_to_target"] == hit
    expected = sum(h["train_seconds"] for h in history if h["epoch"] <= hit)
    assert summary["seconds_to_target"] == pytest.approx(expected)
    table = bench("report", "--metrics", "test_acc,seconds_to_target,epochs_to_target")
    assert table.code == 0 and "Time to target s" in table.out


def test_an_unreached_target_is_no_time_and_test_targets_evaluate_each_epoch(bench):
    args = [*FAST, "--target-acc", "1.0", "--target-on", "test", "--tta", "flip", "--json"]
    result = bench("run", *args)
    assert result.code == 0, result.err
    shown = json.loads(bench("show", json.loads(result.out)["run_id"], "--json").out)
    assert shown["summary"]["epochs_to_target"] is None
    seconds = shown["summary"]["seconds_to_target"]
    assert seconds is None or math.isnan(seconds)
    assert all("test_acc" in h and h["test_seconds"] > 0 for h in shown["history"])
    for record in shown["history"]:  # the epoch lines show what the target watches
        assert f"epoch {record['epoch']}/2" in result.err
        assert f"test acc {record['test_acc']:.4f}" in result.err


def test_a_target_outside_zero_to_one_is_refused(bench):
    result = bench("run", *FAST, "--target-acc", "94")
    assert result.code == 2 and "--target-acc 94.0: give an accuracy in (0, 1]" in result.err
