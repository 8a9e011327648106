"""``bench compare A B``: an honest A-against-B answer from stored runs — intervals, the
probability of improvement, and no claim below three runs a side."""

import json
import math

import numpy as np
import pytest

from benchbench.analysis.stats import compare
from benchbench.analysis.stats import hedges_g
from benchbench.analysis.stats import probability_of_improvement

RUN = ["run", "--dataset", "digits", "--arch", "mlp", "--epochs", "2", "--batch-size", "128"]


@pytest.fixture
def stored(bench):
    """A recipe that learns (lr 0.01) and one that barely moves (lr 1e-5), seeds 0-2."""
    for lr in ("0.01", "1e-5"):
        done = bench(*RUN, "--lr", lr, "--seeds", "0-2")
        assert done.code == 0, done.err
    return bench


def test_a_known_ordering_is_found_with_its_interval_on_the_right_side(stored):
    result = stored("compare", "lr=0.01", "lr=1e-05", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["n_a"] == data["n_b"] == 3
    assert data["mean_a"] > data["mean_b"] and data["difference"] > 0
    assert 0 < data["ci_low"] < data["ci_high"]  # the whole interval favours A
    assert data["p_improvement"] > 0.5 and data["p_improvement_low"] > 0.5
    assert data["claim"] is True and data["welch_p"] < 0.05
    assert data["verdict"].startswith("lr=0.01 is better than lr=1e-05 on Accuracy")
    # the other way round: the same evidence, the sign and the probability mirrored
    flipped = json.loads(stored("compare", "lr=1e-05", "lr=0.01", "--json").out)
    assert flipped["difference"] == pytest.approx(-data["difference"])
    assert flipped["p_improvement"] == pytest.approx(1 - data["p_improvement"])
    assert flipped["verdict"].startswith("lr=0.01 is better than lr=1e-05")


def test_lower_is_better_for_a_loss(stored):
    data = json.loads(
        stored("compare", "lr=0.01", "lr=1e-05", "--metric", "test_loss", "--json").out
    )
    assert data["difference"] < 0 and data["p_improvement"] > 0.5  # A's loss is lower: better
    assert data["verdict"].startswith("lr=0.01 is better")


def test_two_runs_a_side_refuse_any_claim_and_say_why(stored):
    result = stored("compare", "lr=0.01", "lr=1e-05", "--where", "seed=0", "--json")
    assert result.code == 2 or json.loads(result.out)["claim"] is False
    two = stored("compare", "lr=0.01,seed=0", "lr=1e-05", "--json")
    data = json.loads(two.out)
    assert data["n_a"] == 1 and data["claim"] is False
    assert data["ci_low"] is None  # no interval from one run
    assert "No claim: lr=0.01,seed=0 has n = 1" in data["verdict"]
    table = stored("compare", "lr=0.01", "lr=1e-05,seed=1,")  # n = 3 against n = 1
    assert table.code == 0 and "No claim" in table.err and "| A " in table.out


def test_every_format_renders_the_comparison(stored):
    for fmt, marker in [
        ("markdown", "P(A better)"),
        ("csv", "p_improvement"),
        ("json", "p_improvement"),
        ("html", "<table"),
        ("latex", r"\toprule"),
    ]:
        result = stored("compare", "lr=0.01", "lr=1e-05", "--format", fmt)
        assert result.code == 0, result.err
        assert marker in result.out, fmt
    latex = stored("compare", "lr=0.01", "lr=1e-05", "--format", "latex").out
    assert "−" not in latex and "–" not in latex  # symbols become LaTeX commands


def test_bad_input_is_a_usage_error(stored):
    missing = stored("compare", "nothing-like-this", "lr=0.01")
    assert missing.code == 2 and "No complete stored run matches 'nothing-like-this'" in missing.err
    overlap = stored("compare", "arch=mlp", "lr=0.01")
    assert overlap.code == 2 and "share 3 run(s)" in overlap.err
    metric = stored("compare", "lr=0.01", "lr=1e-05", "--metric", "accuracy")
    assert metric.code == 2 and "'accuracy' is not a metric" in metric.err


def test_the_statistics_match_a_hand_computation():
    a, b = [0.80, 0.82, 0.90], [0.81, 0.70, 0.75, 0.80]
    # P(A > B) over the 12 pairs: 0.80 beats 3 (ties 0.80 half), 0.82 and 0.90 beat 4
    assert probability_of_improvement(a, b) == pytest.approx((2.5 + 4 + 4) / 12)
    na, nb = len(a), len(b)
    pooled = math.sqrt(
        ((na - 1) * np.var(a, ddof=1) + (nb - 1) * np.var(b, ddof=1)) / (na + nb - 2)
    )
    g = (np.mean(a) - np.mean(b)) / pooled * (1 - 3 / (4 * (na + nb) - 9))
    assert hedges_g(a, b) == pytest.approx(g)
    result = compare(a, b)
    assert result["difference"] == pytest.approx(np.mean(a) - np.mean(b))
    assert result["ci_low"] < result["difference"] < result["ci_high"]
    assert (
        0
        <= result["p_improvement_low"]
        <= result["p_improvement"]
        <= result["p_improvement_high"]
        <= 1
    )
    assert compare(a, b) == result  # a fixed bootstrap seed: the same numbers every time
    identical = compare([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])
    assert identical["p_improvement"] == 0.5 and identical["claim"] is False


def test_iqm_and_the_other_aggregates_match_a_hand_computation():
    from benchbench.analysis.stats import aggregate

    tasks = [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]]
    value, low, high = aggregate(tasks, "iqm")
    assert value == pytest.approx((0.3 + 0.4 + 0.5 + 0.6) / 4)  # the middle half of all 8
    assert low < value < high
    assert aggregate(tasks, "mean")[0] == pytest.approx(0.45)
    assert aggregate(tasks, "median")[0] == pytest.approx(0.45)
    assert aggregate([[0.5, 1.2], [0.9, 0.7]], "optimality-gap")[0] == pytest.approx(
        1 - (0.5 + 1.0 + 0.9 + 0.7) / 4  # scores above the target count as the target
    )
    assert math.isnan(aggregate([[0.1], [0.5, 0.6]], "iqm")[1])  # one run: no interval


def test_report_aggregates_recipes_across_datasets(bench):
    for dataset in ("digits", "fake"):
        for lr in ("0.01", "1e-5"):
            args = ["--dataset", dataset, "--lr", lr, "--seeds", "0-1"]
            done = bench(*RUN[:1], *RUN[3:], *args)
            assert done.code == 0, done.err
    table = bench("report", "--aggregate", "iqm", "--group-by", "lr", "--format", "json")
    assert table.code == 0, table.err
    rows = {r["recipe"]: r for r in json.loads(table.out)[0]["rows"]}
    assert set(rows) == {"0.01", "1e-05"}
    assert rows["0.01"]["tasks"] == 2 and rows["0.01"]["runs"] == 4
    assert rows["0.01"]["iqm"] > rows["1e-05"]["iqm"]
    assert rows["0.01"]["ci_low"] <= rows["0.01"]["iqm"] <= rows["0.01"]["ci_high"]
    normalized = bench(
        "report", "--aggregate", "mean", "--group-by", "lr", "--reference", "1e-05",
        "--format", "json",
    )  # fmt: skip
    rows = {r["recipe"]: r for r in json.loads(normalized.out)[0]["rows"]}
    assert rows["1e-05"]["mean"] == pytest.approx(1.0)  # the reference, by itself
    bad = bench("report", "--aggregate", "geomean")
    assert bad.code == 2 and "choose one of iqm, mean, median, optimality-gap" in bad.err
    missing = bench("report", "--aggregate", "iqm", "--group-by", "lr", "--reference", "0.5")
    assert missing.code == 2 and "is not a recipe here" in missing.err
