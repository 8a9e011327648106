"""Claims as targets (``kind = "targets"``): a row's mean over its seeds against the least
accuracy its claim needs; seeds on both sides of it are a split, never a verdict."""

import json

from benchbench.analysis.targets import BEST
from benchbench.analysis.targets import targets_part
from benchbench.results.store import RunRecord


class History:
    def __init__(self, train):
        self.train = train

    def history(self, run_id):
        return [{"epoch": 1, "train_acc": self.train[run_id]}]


def run(run_id, label, seed, test, status="complete", **config):
    config = {"name": label, "seed": seed, "lr": 0.1, **config}
    return RunRecord(run_id, "g", label, status, config, {}, {"test_acc": test}, None, 0.0, 1.0)


RUNS = [
    run("a0", "A", 0, 0.90),
    run("a1", "A", 1, 0.88),
    run("b0", "B", 0, 0.10),  # a dead seed at chance ...
    run("b1", "B", 1, 0.60),  # ... and a live one: their mean is no estimate
    run("c0", "C", 0, 0.15),
    run("c1", "C", 1, 0.95, status="failed"),  # a failed run is not counted
    run("d0", "D", 0, 0.95, lr=0.01),  # the best single draw ...
    run("d1", "D", 1, 0.70, lr=0.01),  # ... of a row whose mean is not the best
]
TRAIN = {r.id: 0.5 for r in RUNS}


def test_targets_read_each_rows_mean_and_refuse_a_verdict_on_split_seeds():
    targets = {"A": 0.85, "B": 0.2, "C": 0.2, "E": 0.5, BEST: 0.8}
    part = targets_part(RUNS, History(TRAIN), targets, {"A": 0.91}, "Targets", above_chance=0.2)
    rows = {r["Row"]: r for r in part.shown.to_dict("records")}
    assert rows["A"]["Met"] == "yes" and rows["A"]["Ours (test)"] == "0.8900"
    assert rows["A"]["n"] == 2 and rows["A"]["Seed"] == "0.9100"
    assert rows["B"]["Met"] == "split: 1 of 2 seeds"  # mean 0.35 would have said "yes"
    assert rows["B"]["Target"] == "≥ 0.20 (above chance)"
    assert rows["C"]["Met"] == "no" and rows["C"]["n"] == 1
    assert rows["E"]["Met"] == "not trained" and rows["E"]["Ours (test)"] == "–"
    # the best row by its mean over seeds (A, 0.89), not the best single draw (D's 0.95)
    assert rows["best row (A)"]["Met"] == "yes" and rows["best row (A)"]["n"] == 2
    assert json.loads(part.raw.to_json(orient="records"))[0]["test_acc"] == 0.89


def test_the_report_suites_carry_their_targets_and_render_them(bench):
    assert bench("sweep", "report003", "--smoke").code == 0
    table = bench("report", "--suite", "report003", "--smoke", "--format", "markdown")
    assert table.code == 0, table.err
    assert "**Against the targets**" in table.out and "≥ 0.70" in table.out


def test_a_bad_targets_table_is_refused(bench, tmp_path):
    suite = tmp_path / "bad.toml"
    suite.write_text(
        '[base]\ndataset = "digits"\narch = "mlp"\n[[tables]]\nkind = "targets"\n'
        'targets = { "base" = 85 }\n'
    )
    result = bench("sweep", suite)
    assert result.code == 2 and "least test accuracies in (0, 1]" in result.err
