"""Every number says where it came from: smoke runs kept apart, timings pooled only when
comparable, a provenance note on every format, the machine's load recorded, and a
distribution name of our own."""

import csv
import io
import json
import os
import tomllib
from pathlib import Path

import pytest
import torch

from benchbench import DISTRIBUTION
from benchbench.analysis.tables import Spec
from benchbench.analysis.tables import aggregate
from benchbench.api import render
from benchbench.results.store import RunRecord
from benchbench.results.store import Store

ROOT = Path(__file__).resolve().parent.parent

SMOKE_SUITE = """
[base]
arch = "mlp"
epochs = 3

[[variants]]
name = "row"
"""


def test_smoke_runs_never_mix_with_results(bench, tmp_path):
    suite = tmp_path / "s.toml"
    suite.write_text(SMOKE_SUITE)
    assert bench("sweep", suite, "--smoke").code == 0
    assert bench("run", "--arch", "mlp", "--epochs", "3", "--name", "row").code == 0
    real = list(csv.DictReader(io.StringIO(bench("report", "--format", "csv").out)))
    assert [r["label"] for r in real] == ["row"] and real[0]["n"] == "1"
    smoke = bench("report", "--smoke")
    assert smoke.code == 0 and "row [smoke]" in smoke.out and "not a result" in smoke.out
    rows = [line for line in smoke.out.splitlines() if line.startswith("| row")]
    assert len(rows) == 1
    store = Store(tmp_path / "results")
    (smoke_run,) = store.runs(smoke=True)
    (real_run,) = store.runs()
    assert smoke_run.id != real_run.id and smoke_run.config["epochs"] == 1
    shown = bench("show", smoke_run.id)
    assert "smoke run" in shown.out and "not a result" in shown.out


def _timed(run_id, seed, host, seconds, loaded=False):
    return RunRecord(
        run_id,
        "g",
        "Model",
        "complete",
        {"seed": seed, "precision": "fp32"},
        {"host": host, "precision": "fp32", "layout": "contiguous", "loaded": loaded},
        {"test_acc": 0.9, "train_seconds_per_epoch": seconds, "val_seconds_per_epoch": 1.0},
        None,
        1_800_000_000.0,
        1_800_000_100.0,
    )


def test_timings_of_different_hosts_are_never_pooled():
    runs = [_timed("a", 0, "Xeon (2 cores)", 10.0), _timed("b", 1, "EPYC (2 cores)", 30.0)]
    table = aggregate(runs, Spec())
    assert table.test_acc_mean[0] == 0.9 and table.n[0] == 2  # accuracy pools
    assert table.train_seconds_per_epoch_mean.isna()[0]  # seconds do not
    text = render(runs, "markdown")
    assert "20.00" not in text and "Xeon (2 cores)" in text and "EPYC (2 cores)" in text
    same = [_timed("a", 0, "Xeon (2 cores)", 10.0), _timed("b", 1, "Xeon (2 cores)", 30.0)]
    assert "20.00" in render(same, "markdown")


def test_timings_under_load_are_marked():
    text = render([_timed("a", 0, "Xeon (2 cores)", 10.0, loaded=True)], "markdown")
    assert "10.00 †" in text and "load exceeded" in text


def test_training_times_of_a_subset_are_marked_and_not_set_against_the_seeds():
    from dataclasses import replace

    from benchbench.analysis.tables import build

    full = replace(_timed("a", 0, "Xeon (2 cores)", 80.0), label="full")
    small = replace(_timed("b", 0, "Xeon (2 cores)", 14.0), label="small")
    small.config["subset"] = 5000
    metrics = ("test_acc", "train_seconds_per_epoch", "val_seconds_per_epoch")
    seed = {"train_seconds_per_epoch": {"full": 40.0, "small": 40.0}}
    part = build([full, small], Spec(metrics=metrics, reference=seed))
    rows = part.shown.set_index("Model")
    assert rows.loc["small", "Train s/epoch"] == "14.00 ‡"
    assert "Δ Train s/epoch" not in rows.columns  # other hardware, other data
    assert rows.loc["full", "Train s/epoch"] == "80.00"
    assert rows.loc["full", "Train s/epoch (seed)"] == "40.00"  # its number stays beside
    assert rows.loc["small", "Val s/epoch"] == "1.00"  # validation is not the subset's
    assert any("subset of 5,000 training images" in note for note in part.notes)


def test_a_run_started_under_load_is_flagged(bench, isolated, monkeypatch):
    monkeypatch.setattr(os, "getloadavg", lambda: (64.0, 64.0, 64.0))
    result = bench("run", "--arch", "mlp", "--epochs", "1", "--json")
    assert result.code == 0 and "timings will not be comparable" in result.err
    assert "in epoch(s)" not in result.err  # said once, as it started
    record = Store(isolated / "results").get(json.loads(result.out)["run_id"])
    assert record.environment["loaded"] is True and record.environment["load_start"] == 64.0
    assert "load_end" in record.environment
    assert "†" in bench("report").out
    smoke = bench("run", "--arch", "mlp", "--smoke")
    assert smoke.code == 0 and "comparable" not in smoke.err  # its seconds mean nothing


@pytest.mark.parametrize(("own_cpu_seconds", "loaded"), [(0.0, True), (1140.0, False)])
def test_the_previous_run_of_the_same_process_is_not_counted_as_load(
    monkeypatch, own_cpu_seconds, loaded
):
    # ten minutes after the previous run started; the load average, 2.07 on 2 cores, is
    # the previous run's own 1.9 cores (busy, not flagged) or another process's (flagged)
    from benchbench.training import device
    from benchbench.training import machine_load

    monkeypatch.setattr(machine_load, "_OWN_CLOCK", [0.0, 0.0])
    monkeypatch.setattr(machine_load, "_OWN_LOAD", [0.0])
    monkeypatch.setattr(machine_load, "_clocks", lambda: (600.0, own_cpu_seconds))
    monkeypatch.setattr(device, "available_cores", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (2.07, 2.0, 2.0))
    facts = device.describe(torch.device("cpu"))
    assert facts["load_start"] == 2.07 and facts["loaded"] is loaded
    assert facts["load_own"] == (1.9 if own_cpu_seconds else 0.0)


def test_a_run_crowded_in_one_epoch_is_flagged_though_quiet_at_its_start(
    bench, isolated, monkeypatch
):
    # quiet when it starts and ends; in epoch 2 another process fills 3 of the 2 cores
    from benchbench.training import loop

    samples = iter([0.3, 5.0, 0.4])
    monkeypatch.setattr(os, "getloadavg", lambda: (0.1, 0.1, 0.1))
    monkeypatch.setattr(loop, "load_sample", lambda: {"load": next(samples), "load_own": 1.9})
    monkeypatch.setattr("benchbench.training.device.available_cores", lambda: 2)
    result = bench("run", "--arch", "mlp", "--epochs", "3", "--json")
    assert result.code == 0 and "in epoch(s) 2:" in result.err
    record = Store(isolated / "results").get(json.loads(result.out)["run_id"])
    assert record.environment["load_start"] == 0.1 and record.environment["load_end"] == 0.1
    assert record.environment["loaded"] is True and record.environment["loaded_epochs"] == [2]
    assert [e["load"] for e in Store(isolated / "results").history(record.id)] == [0.3, 5.0, 0.4]
    assert "†" in bench("report").out
    shown = bench("show", record.id).out
    marked = [line.split()[0] for line in shown.splitlines() if line.count("†") == 1]
    assert marked == ["2", "†"]  # the epoch's train seconds, then the note
    assert "(the load as the epoch ended: epoch 2: 5.00, its own 1.90)" in " ".join(shown.split())


def test_a_quiet_run_is_not_flagged_by_its_own_earlier_epochs():
    # ten minutes on 1.9 cores, then one second more: the load average still holds this
    # process's 1.9 cores, so its own share is still about 1.9, not the last second's
    from benchbench.training import machine_load

    clock = iter([(0.0, 0.0), (600.0, 1140.0), (601.0, 1140.5)])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(machine_load, "_clocks", lambda: next(clock))
        patch.setattr(machine_load, "_OWN_LOAD", [0.0])
        patch.setattr(machine_load, "_OWN_CLOCK", [0.0, 0.0])
        machine_load.own_load()
        assert machine_load.own_load() == 1.9
        own = machine_load.own_load()
    assert own == pytest.approx(1.9 * 0.9835 + 0.5 * 0.0165, abs=0.01)
    assert not machine_load.crowded(2.0, own, 2) and machine_load.crowded(4.1, own, 2)


def test_every_format_ends_with_the_provenance(bench, tmp_path):
    assert bench("run", "--arch", "mlp", "--epochs", "1", "--subset", "500").code == 0
    record = Store(tmp_path / "results").runs()[0]
    host = record.environment["host"]
    assert host and host not in ("x86_64", "")  # a CPU model a reader recognizes
    for fmt in ("markdown", "latex", "html"):
        text = bench("report", "--format", fmt).out
        assert "Produced by benchbench" in text and host in text, fmt
        assert "training subset 500." in text
    assert bench("run", "--arch", "mlp", "--epochs", "1").code == 0  # a row on all the data
    assert "training subset 500 (the other runs: all)." in bench("report").out
    latex = bench("report", "--format", "latex").out
    assert "% Produced by benchbench" in latex and "\\caption{" in latex
    csv_run = bench("report", "--format", "csv")
    assert "Produced by benchbench" in csv_run.err and "Produced by" not in csv_run.out
    out = tmp_path / "t.csv"
    assert bench("report", "--format", "csv", "--output", out).code == 0
    assert "Produced by benchbench" in (tmp_path / "t.csv.provenance.txt").read_text()
    assert "Produced by benchbench" in bench("show", record.id).out


def test_the_distribution_has_a_name_of_its_own():
    ours = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
    plugin = tomllib.loads((ROOT / "plugins/benchbench-example/pyproject.toml").read_text())
    assert ours == DISTRIBUTION == "benchbench-harness"
    assert plugin["project"]["dependencies"] == [ours]
    assert plugin["build-system"]["build-backend"] == "setuptools.build_meta"
    guide = (ROOT / "docs" / "plugins.md").read_text()
    assert 'dependencies = ["benchbench-harness"]' in guide and "[build-system]" in guide
    assert 'dependencies = ["benchbench"]' not in guide
