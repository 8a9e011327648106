"""Time to target across workloads (bench profile): AlgoPerf's performance-profile score
and speedups computed exactly on known times, and end to end on a suite of digits
workloads whose runs stop at their target."""

import json
import math

import numpy as np
import pytest

from benchbench.analysis.profile import profile
from benchbench.errors import BenchError

INF = math.inf

# Seconds per seed. Medians: w1: A 10, B 20, C miss; w2: A 30, B 15, C 20; w3: all miss.
KNOWN = [
    ("w1", "A", [9.0, 10.0, 11.0]),
    ("w1", "B", [18.0, 20.0, INF]),
    ("w1", "C", [INF, INF, 5.0]),
    ("w2", "A", [30.0, 30.0, 30.0]),
    ("w2", "B", [15.0, 14.0, 16.0]),
    ("w2", "C", [20.0, 20.0, 21.0]),
    ("w3", "A", [INF, INF, INF]),
    ("w3", "B", [INF, INF, INF]),
    ("w3", "C", [INF, 1.0, INF]),
]


def test_a_profile_of_known_times_gives_the_known_scores_misses_included():
    result = profile(KNOWN, reference="A")
    assert result.workloads == ["w1", "w2", "w3"] and result.algorithms == ["A", "B", "C"]
    # ratios to the fastest per workload: w1 (1, 2, inf), w2 (2, 1, 4/3), w3 all inf
    np.testing.assert_allclose(result.ratios()[:2], [[1, 2, INF], [2, 1, 4 / 3]])
    assert np.isinf(result.ratios()[2]).all()
    # score = mean over the 3 workloads of max(0, 4 - r) / 3
    expected = [(3 + 2) / 9, (2 + 3) / 9, (4 - 4 / 3) / 9]
    np.testing.assert_allclose(result.scores(), expected)
    # the exact area equals a fine numerical integral of the step function rho
    tau = np.linspace(1, 4, 300_001)
    area = np.trapezoid(result.rho(tau), tau, axis=1) / 3
    np.testing.assert_allclose(area, expected, atol=1e-4)
    assert result.rho(np.array([1.0]))[:, 0].tolist() == [1 / 3, 1 / 3, 0.0]
    speedups, over = result.speedups()
    # B against A on w1 and w2: sqrt(10/20 * 30/15) = 1; C: only w2, 30/20
    np.testing.assert_allclose(speedups, [1.0, 1.0, 1.5])
    assert over.tolist() == [2, 2, 1]
    shown = result.as_dict()["algorithms"][2]
    assert shown["reached"] == 1 and shown["seconds_to_target"]["w1"] is None


def test_a_score_needs_every_cell_and_a_known_reference():
    with pytest.raises(BenchError, match="No stored run of B on w2"):
        profile([("w1", "A", [1.0]), ("w1", "B", [2.0]), ("w2", "A", [1.0]), ("w2", "B", [])])
    with pytest.raises(BenchError, match="--reference 'D' is not an algorithm"):
        profile(KNOWN, reference="D")


SUITE = """
description = "two digits workloads, two optimizers"
seeds = [0, 1]

[base]
batch_size = 64

[[workloads]]
name = "mlp"
dataset = "digits"
arch = "mlp"
epochs = 8
target_acc = 0.5
max_train_seconds = 10000

[[workloads]]
name = "unreachable"
dataset = "digits"
arch = "mlp"
epochs = 2
target_acc = 1.0
max_train_seconds = 10000

[[algorithms]]
name = "Adam"
optimizer = "adam"
lr = 1e-3

[[algorithms]]
name = "SGD 'fast' & <co>"
optimizer = "sgd"
nesterov = true
lr = 0.05
"""


def test_sweep_then_profile_times_every_algorithm_on_every_workload(bench, tmp_path):
    suite = tmp_path / "workloads.toml"
    suite.write_text(SUITE)
    swept = bench("sweep", suite)
    assert swept.code == 0, swept.err
    assert "8 run" in swept.err
    result = bench("profile", suite, "--json", "--plot", tmp_path / "fig")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["reference"] == "Adam" and data["workloads"] == ["mlp", "unreachable"]
    for algorithm in data["algorithms"]:
        assert algorithm["seeds"] == {"mlp": 2, "unreachable": 2}
        assert algorithm["seconds_to_target"]["unreachable"] is None  # missed: infinite
        assert algorithm["reached"] == 1 and algorithm["seconds_to_target"]["mlp"] > 0
    # the faster one scores 1 on the workload reached, 0 on the one nobody reaches
    assert max(a["score"] for a in data["algorithms"]) == 0.5
    assert (tmp_path / "fig" / "profile.png").stat().st_size > 0
    assert (tmp_path / "fig" / "profile.pdf").stat().st_size > 0
    # each reached run stopped at the epoch it reached the target
    shown = json.loads(bench("runs", "--where", "target_acc=0.5", "--json").out)
    assert len(shown) == 4
    for row in shown:
        run = json.loads(bench("show", row["run_id"], "--json").out)
        assert len(run["history"]) == run["summary"]["epochs_to_target"] < 8
    # the suite's report renders the profile table, user names escaped
    table = bench("report", "--suite", suite, "--format", "latex")
    assert table.code == 0, table.err
    assert "SGD 'fast' \\& <co>" in table.out and "Speedup vs Adam" in table.out
    page = bench("report", "--suite", suite, "--format", "html")
    assert page.code == 0 and "performance profiles" in page.out and "data:image/png" in page.out
    csv = bench("profile", suite, "--format", "csv", "--reference", "SGD 'fast' & <co>")
    assert csv.code == 0, csv.err
    assert csv.out.startswith("algorithm,score")


def test_stop_at_target_and_the_runtime_limit_stop_a_run(bench):
    fast = ["--dataset", "digits", "--arch", "mlp", "--epochs", "5", "--json"]
    refused = bench("run", *fast, "--stop-at-target")
    assert refused.code == 2 and "--target-acc" in refused.err
    limited = bench("run", *fast, "--max-train-seconds", "1e-9")
    assert limited.code == 0, limited.err
    run = json.loads(bench("show", json.loads(limited.out)["run_id"], "--json").out)
    assert len(run["history"]) == 1  # any epoch spends more than a nanosecond
    stopped = json.loads(bench("run", *fast, "--target-acc", "0.3", "--stop-at-target").out)
    run = json.loads(bench("show", stopped["run_id"], "--json").out)
    assert len(run["history"]) == stopped["epochs_to_target"] < 5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("[[algorithms]]\n", ""), "[[workloads]] and [[algorithms]] go together"),
        (("target_acc = 0.5\n", ""), "workload 'mlp' needs target_acc"),
        (("lr = 0.05\n", 'lr = 0.05\narch = "lenet"\n'), "part of what a workload is"),
        (("lr = 0.05\n", 'lr = 0.05\nset = ["arch.widths=8"]\n'), "move it to [[workloads]]"),
        (('name = "unreachable"', 'name = "mlp"'), "workloads names must be unique"),
    ],
)
def test_a_bad_workload_suite_is_refused_before_any_run(bench, tmp_path, change, message):
    text = SUITE
    if change[0] == "[[algorithms]]\n":  # drop the algorithms altogether
        text = SUITE.split("[[algorithms]]")[0]
    else:
        text = SUITE.replace(*change, 1)
    suite = tmp_path / "bad.toml"
    suite.write_text(text)
    result = bench("sweep", suite)
    assert result.code == 2 and message in result.err, result.err
    assert not (tmp_path / "results" / "bench.db").exists()


def test_profile_says_what_it_needs(bench, tmp_path):
    no_workloads = bench("profile", "report003")
    assert no_workloads.code == 2 and "declares no [[workloads]]" in no_workloads.err
    suite = tmp_path / "workloads.toml"
    suite.write_text(SUITE)
    unswept = bench("profile", suite)
    assert unswept.code == 2 and "bench sweep" in unswept.err


def test_the_builtin_workload_suite_sweeps_and_profiles_in_smoke(bench):
    assert bench("sweep", "algoperf-mini", "--smoke").code == 0
    result = bench("profile", "algoperf-mini", "--smoke", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert len(data["workloads"]) >= 4 and len(data["algorithms"]) >= 4
    assert {a["algorithm"] for a in data["algorithms"]} >= {"Adam", "AdamW", "SGD Nesterov"}


def test_a_run_is_credited_to_its_own_workload_when_one_name_extends_another(tmp_path):
    # "Adam on w x" is workload "w x", not workload "w" with a `--set` suffix
    from benchbench.execution import suite as suites
    from benchbench.execution.orchestrator import _member

    text = SUITE.replace('name = "unreachable"', 'name = "mlp x"')
    suite = suites.parse(text, "two.toml", "two")
    for workload, algorithm, row in suite.cells():
        config = suites.to_config(row, 0)
        assert _member(suite, "workloads", config)[2] == {
            "workload": workload,
            "algorithm": algorithm,
        }
    suffixed = suites.to_config({**suite.cells()[0][2], "name": "Adam on mlp lr=0.1"}, 0)
    assert _member(suite, "workloads", suffixed)[2]["workload"] == "mlp"
