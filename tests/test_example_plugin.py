"""The example plugin in plugins/benchbench-example, through its real entry point.

The nox test session installs it and sets BENCH_REQUIRE_EXAMPLE_PLUGIN=1, so there a
missing entry point fails instead of skipping.
"""

import importlib.metadata
import json
import os

import pytest

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
    assert len(example["hooks"]) == 6


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
