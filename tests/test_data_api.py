"""Per-run data out of the store: benchbench.load_runs / load_history as DataFrames,
bench runs to list, copy and delete, bench report --per-run."""

import csv
import io
import json

import benchbench


def test_load_runs_and_history_are_dataframes(bench, isolated):
    assert bench("run", "--arch", "mlp", "--epochs", "2", "--seeds", "0-1").code == 0
    runs = benchbench.load_runs(isolated / "results")
    assert len(runs) == 2 and {"run_id", "lr", "test_acc", "env.host"} <= set(runs.columns)
    assert runs["test_acc"].between(0, 1).all()
    history = benchbench.load_history(isolated / "results", where=["seed=0"])
    assert list(history["epoch"]) == [1, 2] and set(history["run_id"]) <= set(runs["run_id"])


def test_bench_runs_lists_and_deletes_only_what_is_asked(bench, isolated):
    out = json.loads(bench("run", "--arch", "mlp", "--epochs", "1", "--seeds", "0-2", "--json").out)
    listed = json.loads(bench("runs", "--json").out)
    assert {r["run_id"] for r in listed} == {r["run_id"] for r in out}
    refused = bench("runs", "--delete")
    assert refused.code == 2 and "--where" in refused.err
    asked = bench("runs", "--delete", "--where", "seed=1")
    assert asked.code == 1 and "add --yes" in asked.err
    assert len(json.loads(bench("runs", "--json").out)) == 3  # nothing deleted yet
    assert bench("runs", "--delete", "--where", "seed=1", "--yes").code == 0
    left = json.loads(bench("runs", "--json").out)
    assert sorted(r["run_id"] for r in left) == sorted(r["run_id"] for r in out if r["seed"] != 1)
    gone = next(r["run_id"] for r in out if r["seed"] == 1)
    assert not (isolated / "results" / "runs" / gone).exists()


COPY_SUITE = """
description = "two variants on digits"
seeds = [0, 1]
[base]
dataset = "digits"
arch = "mlp"
epochs = 2
[[variants]]
name = "Adam"
[[variants]]
name = "SGD"
optimizer = "sgd"
"""


def test_runs_copied_to_another_folder_report_there_as_here(bench, isolated):
    suite = isolated / "two.toml"
    suite.write_text(COPY_SUITE)
    assert bench("sweep", suite).code == 0
    assert bench("run", "--arch", "mlp", "--epochs", "1", "--name", "lonely").code == 0
    here = bench("report", "--suite", suite, "--format", "csv").out
    other = isolated / "published"
    copied = bench("runs", "--where", "epochs=2", "--copy-to", other, "--no-weights")
    assert copied.code == 0 and "copied 4 run(s)" in copied.err, copied.err
    listed = json.loads(bench("runs", "--results", other, "--json").out)
    assert sorted(r["label"] for r in listed) == ["Adam", "Adam", "SGD", "SGD"]
    assert bench("report", "--suite", suite, "--format", "csv", "--results", other).out == here
    run_id = listed[0]["run_id"]
    shown = json.loads(bench("show", run_id, "--json", "--results", other).out)
    assert len(shown["history"]) == 2 and len(shown["confusion"]) == 10
    assert not (other / "runs" / run_id / "model.pt").exists()
    assert (isolated / "results" / "runs" / run_id / "model.pt").exists()  # source intact
    # copied again, with weights: replaced, never doubled
    again = bench("runs", "--where", "epochs=2", "--copy-to", other)
    assert again.code == 0
    assert len(json.loads(bench("runs", "--results", other, "--json").out)) == 4
    assert (other / "runs" / run_id / "model.pt").exists()
    (isolated / "a-file").write_text("")
    onto_file = bench("runs", "--copy-to", isolated / "a-file")
    assert onto_file.code == 2 and "--copy-to" in onto_file.err and "is a file" in onto_file.err
    onto_itself = bench("runs", "--copy-to", isolated / "results")
    assert onto_itself.code == 2 and "the store the runs are in" in onto_itself.err
    both = bench("runs", "--copy-to", other, "--delete", "--where", "seed=0")
    assert both.code == 2 and "choose one" in both.err
    assert len(json.loads(bench("runs", "--json").out)) == 5  # nothing deleted


def test_report_per_run_csv(bench):
    assert (
        bench("run", "--arch", "mlp", "--epochs", "1", "--seeds", "0-1", "--name", "=x").code == 0
    )
    text = bench("report", "--format", "csv", "--per-run").out
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 2 and {r["seed"] for r in rows} == {"0", "1"}
    assert all(r["label"] == "'=x" for r in rows)  # never a spreadsheet formula
    assert bench("report", "--per-run").code == 2  # markdown has no per-run form
