import json
import subprocess
import sys
import types

import pytest
from conftest import blocked_run
from conftest import kill

from benchbench import hookimpl
from benchbench.execution import suite as suites
from benchbench.execution.executors import make_executor
from benchbench.execution.orchestrator import run_suite
from benchbench.plugins.manager import load_components
from benchbench.results.store import Store

TINY = """
description = "tiny"
seeds = [0]

[base]
arch = "resnet_skip"
"arch.widths" = "8"
dataset = "digits"
epochs = 2
batch_size = 64
device = "cpu"
"""


@pytest.mark.parametrize("name", suites.builtin_names())
def test_every_builtin_suite_runs_end_to_end_in_smoke_mode(bench, isolated, name):
    result = bench("sweep", name, "--smoke", "--json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["failed"] == [] and summary["completed"] > 0
    report = bench("report", "--suite", name, "--smoke")
    assert report.code == 0, report.err
    for table in suites.find(name).tables:
        assert table.title in report.out
    again = json.loads(bench("sweep", name, "--smoke", "--json").out)
    assert (
        again["completed"] == 0
        and again["skipped"] == summary["completed"] + summary["skipped"] + summary["diverged"]
    )


def test_failures_are_isolated_and_listed(isolated):
    def broken(*, num_classes, input_shape):
        raise RuntimeError("CUDA out of memory (simulated)")

    plugin = types.SimpleNamespace(
        benchbench_register_architectures=hookimpl(lambda registry: registry.add("broken", broken))
    )
    components = load_components(use_entry_points=False, extra_plugins=[("b", plugin)])
    suite = suites.parse(
        """
[base]
arch = "resnet_skip"
dataset = "digits"
epochs = 2
device = "cpu"

[[variants]]
name = "fine"
"arch.widths" = "8"

[[variants]]
name = "crashes"
arch = "broken"

[[variants]]
name = "diverges"
arch = "cnn_small"
optimizer = "sgd"
momentum = 0.0
lr = 1e6
""",
        "t.toml",
        "t",
    )
    store = Store(isolated / "results")
    tally = run_suite(
        suite, components, store, make_executor("local", components, store), device="cpu"
    )
    assert tally.completed == 1 and tally.diverged == 1 and len(tally.failed) == 1
    assert "out of memory" in tally.failed[0][1]
    statuses = sorted(r.status for r in store.runs())
    assert statuses == ["complete", "diverged"]  # a crash before training stores nothing


def test_tuning_keeps_the_best_value(isolated):
    suite = suites.parse(
        TINY
        + """
[tune]
order = ["lr"]
lr = [1e-9, 3e-3]
""",
        "t.toml",
        "t",
    )
    components = load_components(use_entry_points=False)
    store = Store(isolated / "results")
    tally = run_suite(
        suite, components, store, make_executor("local", components, store), device="cpu"
    )
    assert tally.best == {"base": {"lr": 3e-3}}
    members = store.suite_members("t")
    assert [(m["setting"], m["value"]) for m in members] == [("lr", 1e-9), ("lr", 3e-3)]


def test_process_executor_trains_in_workers_and_the_driver_stores(isolated):
    suite = suites.parse(TINY + "\n[[grids]]\nname = 'g'\nlr = [1e-3, 2e-3, 3e-3]\n", "t.toml", "t")
    components = load_components(use_entry_points=False)
    store = Store(isolated / "results")
    executor = make_executor("process", components, store, workers=2)
    tally = run_suite(suite, components, store, executor, device="cpu")
    assert tally.completed == 3 and not tally.failed
    for record in store.runs():
        assert record.status == "complete" and len(store.history(record.id)) == 2
        assert (store.run_dir(record.id) / "test_predictions.npz").exists()


def test_ray_executor_on_a_local_instance(isolated):
    ray = pytest.importorskip(
        "ray", reason="Ray is optional: pip install 'benchbench-harness[ray]'"
    )
    suite = suites.parse(TINY + "\n[[grids]]\nname = 'g'\nlr = [1e-3, 3e-3]\n", "t.toml", "t")
    components = load_components(use_entry_points=False)
    store = Store(isolated / "results")
    try:
        executor = make_executor("ray", components, store, workers=2, cpus_per_run=2)
        tally = run_suite(suite, components, store, executor, device="cpu")
    finally:
        ray.shutdown()
    assert tally.completed == 2 and not tally.failed
    assert all(r.status == "complete" for r in store.runs())
    # Each task took the threads Ray granted it (2), not the driver's cores / workers (1).
    assert all(r.environment["threads"] == 2 for r in store.runs())


def test_a_killed_sweep_resumes_with_only_what_is_missing(blocker):
    suite_file = blocker / "kill.toml"
    suite_file.write_text("""
description = "killed mid-run"
seeds = [0]

[base]
arch = "blocker"
dataset = "digits"
epochs = 4
device = "cpu"

[[variants]]
name = "first"
set = ["arch.block=false"]

[[variants]]
name = "second"

[[variants]]
name = "third"
lr = 0.01
set = ["arch.block=false"]
""")
    results = blocker / "results"
    command = [suite_file, "--results", results, "--executor", "local"]
    kill(blocked_run(blocker, command, "sweep"))  # "first" done, "second" in epoch 2
    store = Store(results)
    before = {r.id: r for r in store.runs()}
    assert sorted((r.label, r.status) for r in before.values()) == [
        ("first", "complete"),
        ("second", "running"),
    ]
    resumed = subprocess.run(
        [sys.executable, "-m", "benchbench", "sweep", *map(str, command), "--json"],
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["skipped"] == 1 and summary["completed"] == 2
    after = store.runs()
    assert len(after) == 3 and all(r.status == "complete" for r in after)
    for run_id, record in before.items():  # what was complete is untouched
        if record.status == "complete":
            assert store.get(run_id).summary == record.summary
    for record in after:
        assert [h["epoch"] for h in store.history(record.id)] == [1, 2, 3, 4]


TWO_GRIDS = (
    TINY
    + """
[[grids]]
name = "lr"
lr = [1e-3, 3e-3]

[[grids]]
name = "batch"
batch_size = [32, 64]
"""
)


def test_groups_and_seeds_can_be_chosen_from_the_command_line(bench, tmp_path):
    suite_file = tmp_path / "two.toml"
    suite_file.write_text(TWO_GRIDS)
    result = bench("sweep", suite_file, "--group", "lr", "--seeds", "3-4", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["completed"] == 4  # two lrs x two seeds, no batch grid
    wrong = bench("sweep", suite_file, "--group", "lrr")
    assert wrong.code == 2 and "Did you mean 'lr'" in wrong.err


def test_sweeping_one_group_keeps_the_other_groups_in_the_report(bench, tmp_path):
    suite_file = tmp_path / "parts.toml"
    suite_file.write_text(
        TWO_GRIDS
        + """
[[tables]]
title = "by lr"
group = "lr"
rows = "lr"
metrics = ["test_acc"]

[[tables]]
title = "by batch"
group = "batch"
rows = "batch_size"
metrics = ["test_acc"]
"""
    )
    assert bench("sweep", suite_file, "--group", "lr").code == 0
    assert bench("sweep", suite_file, "--group", "batch").code == 0  # in a later sitting
    report = bench("report", "--suite", suite_file, "--format", "csv")
    assert report.code == 0, report.err
    for value in ("0.001", "0.003", "32", "64"):
        assert value in report.out


def test_a_group_the_edited_suite_no_longer_has_leaves_its_report(isolated):
    components = load_components(use_entry_points=False)
    store = Store(isolated / "results")
    executor = make_executor("local", components, store)
    before = suites.parse(TINY + 'name = "net"\n', "t.toml", "t")  # one row: the base group
    run_suite(before, components, store, executor, device="cpu")
    assert {m["group"] for m in store.suite_members("t")} == {"base"}
    after = suites.parse(
        TINY + '[[variants]]\nname = "net"\n[[variants]]\nname = "wide"\n"arch.widths" = "16"\n',
        "t.toml",
        "t",
    )
    tally = run_suite(after, components, store, executor, device="cpu")
    assert tally.skipped == 1 and tally.completed == 1  # "net" is the run stored before
    members = store.suite_members("t")
    assert [(m["group"], m["label"]) for m in members] == [
        ("variants", "net"),
        ("variants", "wide"),
    ]


def test_a_sweep_logs_every_epoch_when_not_on_a_terminal(bench, tmp_path):
    suite_file = tmp_path / "log.toml"
    suite_file.write_text(TINY)
    result = bench("sweep", suite_file)
    assert result.code == 0, result.err
    assert "epoch 1/2" in result.err and "epoch 2/2" in result.err  # CI logs are not silent


def test_a_table_shows_the_seed_reports_numbers_and_our_difference(bench, tmp_path):
    suite_file = tmp_path / "seeded.toml"
    suite_file.write_text(
        TINY
        + """
[[variants]]
name = "A"

[[tables]]
title = "with the seed's numbers"
metrics = ["test_acc", "epochs_run"]
[tables.reference]
test_acc = { "A" = 0.5 }
epochs_run = { "A" = 30 }
"""
    )
    assert bench("sweep", suite_file).code == 0
    ours = json.loads(bench("runs", "--json").out)[0]
    report = bench("report", "--suite", suite_file)
    assert report.code == 0, report.err
    header, _, row = report.out.splitlines()[2:5]
    cells = dict(zip(header.split("|"), row.split("|"), strict=True))
    cells = {k.strip(): v.strip() for k, v in cells.items()}
    assert cells["Accuracy (seed)"] == "0.5000" and cells["Epochs (seed)"] == "30"
    assert cells["Δ Accuracy"] == f"{ours['test_acc'] - 0.5:+.4f}"
    assert cells["Δ Epochs"] == "-28"  # two epochs here, thirty in the seed
    raw = json.loads(bench("report", "--suite", suite_file, "--format", "json").out)[0]
    assert raw["rows"][0]["epochs_run_seed"] == 30 and raw["rows"][0]["epochs_run_vs_seed"] == -28


def test_a_seed_row_we_did_not_train_stays_in_the_table_with_its_numbers(bench, tmp_path):
    suite_file = tmp_path / "partial.toml"
    suite_file.write_text(
        TINY
        + """
[[variants]]
name = "A"

[[tables]]
title = "one of the seed's two models trained"
metrics = ["test_acc"]
reference = { "Large" = 0.7, "A" = 0.5 }
"""
    )
    assert bench("sweep", suite_file).code == 0
    report = bench("report", "--suite", suite_file)
    assert report.code == 0, report.err
    lines = [line for line in report.out.splitlines() if line.startswith("|")]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    assert cells[0] == ["Model", "Accuracy", "Accuracy (seed)", "Δ Accuracy", "n"]
    assert cells[2][0] == "A" and cells[2][2] == "0.5000" and cells[2][4] == "1"
    assert cells[3] == ["Large", "–", "0.7000", "–", "0"]
    assert "not trained here" in report.out
    raw = json.loads(bench("report", "--suite", suite_file, "--format", "json").out)[0]
    large = [row for row in raw["rows"] if row["label"] == "Large"]
    assert large and large[0]["n"] == 0 and large[0]["test_acc_seed"] == 0.7


def test_a_reference_to_a_metric_the_table_lacks_is_a_clear_error(bench, tmp_path):
    suite_file = tmp_path / "bad.toml"
    suite_file.write_text(
        TINY
        + """
[[tables]]
metrics = ["test_acc"]
reference = { best_val_acc = { "A" = 0.5 } }
"""
    )
    result = bench("sweep", suite_file)
    assert result.code == 2
    assert "'best_val_acc': not one of the table's metrics (test_acc)" in result.err


def test_a_transposed_table_has_a_column_per_setting_as_report_002_lays_them_out(bench, tmp_path):
    suite_file = tmp_path / "transposed.toml"
    suite_file.write_text(
        TINY
        + """
[[grids]]
name = "batch"
batch_size = [32, 64]

[[tables]]
title = "batch sizes across"
group = "batch"
rows = "batch_size"
metrics = ["max_train_acc", "train_minutes_total"]
transpose = true
[tables.reference]
max_train_acc = { "32" = 0.9, "64" = 0.8 }
"""
    )
    assert bench("sweep", suite_file).code == 0
    report = bench("report", "--suite", suite_file)
    assert report.code == 0, report.err
    lines = [line for line in report.out.splitlines() if line.startswith("|")]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    assert cells[0] == ["batch_size", "32", "64"]
    first = [row[0] for row in cells[2:]]
    assert first == [
        "Max train acc",
        "Max train acc (seed)",
        "Δ Max train acc",
        "Train min",
        "n",
    ]
    assert cells[3][1:] == ["0.9000", "0.8000"]
    raw = json.loads(bench("report", "--suite", suite_file, "--format", "json").out)[0]
    assert [row["label"] for row in raw["rows"]] == [32, 64], "raw numbers: a row per run"
    for row in raw["rows"]:
        shown = json.loads(bench("show", row["run_ids"], "--json").out)["summary"]
        assert row["train_minutes_total_mean"] == pytest.approx(shown["train_seconds_total"] / 60)


def test_a_metric_added_later_is_derived_for_runs_stored_before_it():
    from benchbench.metrics import METRICS
    from benchbench.metrics import stored_value

    assert "train_minutes_total" in METRICS
    old_summary = {"train_seconds_total": 90.0}  # stored before minutes were a metric
    assert stored_value(old_summary, "train_minutes_total") == 1.5
    assert stored_value({"train_minutes_total": 2.0}, "train_minutes_total") == 2.0
    assert stored_value({}, "train_minutes_total") is None
    assert stored_value({}, "test_acc") is None


def test_a_variant_with_its_own_seeds_gets_a_run_per_seed_in_its_row(isolated):
    components = load_components(use_entry_points=False)
    store = Store(isolated / "results")
    executor = make_executor("local", components, store)
    suite = suites.parse(
        TINY + '[[variants]]\nname = "net"\n[[variants]]\nname = "again"\nseeds = [1, 2]\n',
        "s.toml",
        "s",
    )
    tally = run_suite(suite, components, store, executor, device="cpu")
    assert tally.completed == 3 and not tally.failed
    stored = [(m["label"], store.get(m["run_id"]).config["seed"]) for m in store.suite_members("s")]
    assert sorted(stored) == [("again", 1), ("again", 2), ("net", 0)]


def test_a_sweep_stopped_in_its_first_group_keeps_every_groups_rows(bench, blocker):
    suite_file = blocker / "groups.toml"
    suite_file.write_text(
        'description = "two groups"\nseeds = [0]\n[base]\narch = "blocker"\n'
        'dataset = "digits"\nepochs = 3\ndevice = "cpu"\n'
        '[[grids]]\nname = "first"\nlr = [0.01]\n[[grids]]\nname = "later"\nlr = [0.001]\n'
    )
    assert bench("sweep", suite_file, "--set", "arch.block=false").code == 0
    key = "groups"
    from benchbench.results.store import Store

    store = Store(blocker / "results")
    before = {m["group"] for m in store.suite_members(key)}
    kill(blocked_run(blocker, [suite_file, "--set", "arch.block=true"], command="sweep"))
    # the re-sweep planned both groups again; killed in the first, it lost neither
    assert before == {"first", "later"}
    assert {m["group"] for m in store.suite_members(key)} == {"first", "later"}


def test_dry_run_lists_each_run_it_would_train_and_trains_none(bench, tmp_path):
    suite = tmp_path / "two.toml"
    suite.write_text(TINY.replace("seeds = [0]", "seeds = [0, 1]") + '\n[[variants]]\nname = "A"\n'
                     '[[variants]]\nname = "B"\nlr = 0.1\n')  # fmt: skip
    result = bench("sweep", suite, "--dry-run", "--set", "epochs=3", "--results", tmp_path / "r")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert (
        lines[0] == "[variants] A seed 0: resnet_skip 3 epochs, batch 64, all training images, cpu"
    )
    assert len(lines) == 4 and lines[3].startswith("[variants] B seed 1: resnet_skip 3 epochs")
    assert "4 runs planned, none trained" in result.err
    planned = json.loads(bench("sweep", suite, "--dry-run", "--json").out)
    assert [r["label"] for r in planned["runs"]] == ["A", "A", "B", "B"]
    stored = bench("runs", "--json", "--results", tmp_path / "r")
    assert not (tmp_path / "r").exists() or json.loads(stored.out or "[]") == []
    wrong = bench("sweep", suite, "--dry-run", "--set", "arch=resnet_skipp")
    assert wrong.code == 2 and "resnet_skip" in wrong.err  # checked against the plugins
