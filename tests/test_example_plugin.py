"""The example plugin in plugins/benchbench-example, through its real entry point.

The nox test session installs it and sets BENCH_REQUIRE_EXAMPLE_PLUGIN=1, so there a
missing entry point fails instead of skipping.
"""

import importlib.metadata
import json
import os

import pytest
import torch

installed = any(ep.name == "example" for ep in importlib.metadata.entry_points(group="benchbench"))
if not installed and os.environ.get("BENCH_REQUIRE_EXAMPLE_PLUGIN") != "1":
    pytest.skip(
        "benchbench-example is not installed (pip install ./plugins/benchbench-example)",
        allow_module_level=True,
    )


def test_the_example_plugin_is_loaded_from_its_distribution(bench):
    plugins = json.loads(bench("plugins", "--json").out)
    example = next(p for p in plugins if p["name"] == "example")
    assert example["distribution"] == "benchbench-example" and example["errors"] == []
    assert example["hooks"] == sorted(
        f"benchbench_register_{kind}"
        for kind in (
            "architectures",
            "augmentations",
            "commands",
            "datasets",
            "executors",
            "figures",
            "formats",
            "metrics",
            "sinks",
            "table_kinds",
        )
    )
    from benchbench.plugins import hookspecs

    every_hook = sorted(name for name in dir(hookspecs) if name.startswith("benchbench_"))
    assert example["hooks"] == every_hook  # the example shows every hook there is


def test_bench_run_with_the_example_components(bench):
    result = bench(
        "run",
        "--arch",
        "tiny_cnn",
        "--aug",
        "invert",
        "--dataset",
        "stripes",
        "--epochs",
        "2",
        "--set",
        "aug.invert.p=0.3",
        "--json",
    )
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["status"] == "complete" and summary["epochs_run"] == 2


def test_a_third_party_sink_receives_every_epoch_and_the_stored_run(bench, tmp_path):
    lines = tmp_path / "lines.csv"
    args = ["--dataset", "stripes", "--arch", "tiny_cnn", "--epochs", "2", "--json"]
    result = bench("run", *args, "--sink", f"csv_lines={lines}")
    assert result.code == 0, result.err
    run_id = json.loads(result.out)["run_id"]
    rows = [line.split(",") for line in lines.read_text().splitlines()]
    assert [r[0] for r in rows] == ["start", "epoch", "epoch", "end"]
    assert rows[-1][:3] == ["end", run_id, "complete"]
    assert "confusion.csv" in rows[-1][4] and "curves.png" in rows[-1][4]


def test_the_example_plugins_metric_and_command(bench):
    args = ["--dataset", "stripes", "--arch", "tiny_cnn", "--epochs", "1", "--json"]
    run_id = json.loads(bench("run", *args).out)["run_id"]
    summary = json.loads(bench("show", run_id, "--json").out)["summary"]
    assert summary["top2_acc"] == 1.0  # two classes: the top two are always right
    preview = bench("stripes-preview", "--size", "4")
    assert preview.code == 0 and preview.out.splitlines()[0] == "horizontal"


SUITE = """
name = "stripes-speed"
seeds = [0]
[base]
dataset = "stripes"
arch = "tiny_cnn"
epochs = 1
[[variants]]
name = "narrow | *x*"
"arch.width" = 4
[[variants]]
name = "wide"
"arch.width" = 32
[[variants]]
name = "middle"
"arch.width" = 16
[[tables]]
title = "Fastest two"
kind = "fastest"
n = 2
"""


def test_a_plugins_executor_table_kind_and_format_serve_a_suite(bench, tmp_path):
    suite = tmp_path / "speed.toml"
    suite.write_text(SUITE)
    torch.set_num_threads(2)
    swept = bench("sweep", suite, "--executor", "reverse", "--json", "--workers", "2")
    assert swept.code == 0, swept.err
    # it trained in this process on one thread each, and left this process's threads be
    assert torch.get_num_threads() == 2
    assert json.loads(swept.out)["completed"] == 3
    runs = json.loads(bench("runs", "--json").out)
    assert sorted(r["label"] for r in runs) == ["middle", "narrow | *x*", "wide"]

    report = json.loads(bench("report", "--suite", suite, "--format", "json").out)
    (table,) = report
    assert table["title"] == "Fastest two" and len(table["rows"]) == 2
    seconds = [row["train_seconds_per_epoch_mean"] for row in table["rows"]]
    assert seconds == sorted(seconds)

    org = bench("report", "--suite", suite, "--format", "org")
    assert org.code == 0, org.err
    lines = org.out.splitlines()
    assert lines[0].startswith("#+TITLE: ") and "#+CAPTION: Fastest two" in lines
    header, *rows = [line for line in lines if line.startswith("| ")]
    assert header.startswith("| Model | Train s/epoch | Accuracy |")
    columns = header.count(" | ")
    assert len(rows) == 2 and all(line.count(" | ") == columns for line in rows)  # | escaped
    assert any(line.startswith("| narrow \\vert{} *x* |") for line in rows)
    assert "# The 2 fastest configurations." in lines


def test_an_unknown_format_names_the_plugins_one_too(bench):
    result = bench("report", "--format", "orgmode")
    assert result.code == 2
    assert "choose one of" in result.err and "org" in result.err


def test_a_plugins_figure_kind_is_a_bench_plot_command(bench, tmp_path):
    args = ["--dataset", "stripes", "--arch", "tiny_cnn", "--epochs", "2", "--json"]
    run_id = json.loads(bench("run", *args).out)["run_id"]
    drawn = bench("plot", "lr_curve", run_id, "--set", "log=true", "-o", tmp_path / "figs")
    assert drawn.code == 0, drawn.err
    assert sorted(p.suffix for p in (tmp_path / "figs").iterdir()) == [".pdf", ".png"]
    refused = bench("plot", "lr_curve", run_id, "--set", "colour=red", "-o", tmp_path)
    assert refused.code == 2 and "has no option 'colour'" in refused.err
