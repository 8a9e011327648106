"""Hostile and careless input: names that try to inject markup or code into every output
format, a crafted CIFAR pickle, relabelled runs. Nothing is injected, nothing is run,
nothing is counted twice."""

import csv
import io
import json
import os
import pickle

import pytest

from benchbench.errors import BenchError
from benchbench.plugins.builtin import datasets

HOSTILE = "<script>alert(1)</script> | =cmd [/x] [bold red]"
LATEX_ESCAPE = "Model\n\\input{/etc/passwd}"


@pytest.fixture
def hostile_runs(bench):
    for name, seed in ((HOSTILE, "0"), (LATEX_ESCAPE, "1"), ("=1+1", "2")):
        result = bench("run", "--arch", "mlp", "--epochs", "1", "--seed", seed, "--name", name)
        assert result.code == 0, result.err


def test_html_escapes_cells_and_headers(bench, hostile_runs):
    page = bench("report", "--format", "html", "--baseline", HOSTILE).out  # in a header
    assert "<script>" not in page and page.count("&lt;script&gt;") >= 2
    grouped = bench("report", "--format", "html", "--group-by", "arch.<img src=x onerror=a>")
    assert grouped.code == 0, grouped.err
    assert "<img src=x" not in grouped.out and "&lt;img src=x" in grouped.out


def test_markdown_cells_cannot_add_columns_or_lines(bench, hostile_runs):
    text = bench("report").out
    rows = [line for line in text.splitlines() if line.startswith("|")]
    widths = {len(line.replace("\\|", "").split("|")) for line in rows}
    assert len(widths) == 1  # every row has the header's columns
    assert not any(line.startswith("\\input") for line in text.splitlines())


def test_latex_comments_and_cells_cannot_run_commands(bench, hostile_runs):
    text = bench("report", "--format", "latex").out
    assert not any(line.lstrip().startswith("\\input") for line in text.splitlines())
    assert "\\textbackslash input\\{/etc/passwd\\}" in text


def test_csv_cells_are_never_formulas(bench, hostile_runs):
    text = bench("report", "--format", "csv").out
    for row in csv.DictReader(io.StringIO(text)):
        assert not row["label"].startswith(("=", "+", "-", "@"))
    assert "'=1+1" in text


def test_rich_markup_in_names_is_printed_as_text(bench, hostile_runs):
    shown = bench("show", HOSTILE)
    assert shown.code == 0, shown.err
    assert HOSTILE in shown.out


def test_a_crafted_cifar_pickle_runs_nothing(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(pickle.dumps({"data": Exploit(), "labels": [0]}))
    with pytest.raises(BenchError, match="not a CIFAR-10 python batch.*nothing in it was run"):
        datasets.cifar10(data_dir=tmp_path, download=False)
    assert not marker.exists()


def test_a_relabelled_run_is_not_trained_again(bench, isolated):
    first = json.loads(bench("run", "--arch", "mlp", "--epochs", "1", "--name", "A", "--json").out)
    again = bench("run", "--arch", "mlp", "--epochs", "1", "--name", "B", "--json")
    second = json.loads(again.out)
    assert second["run_id"] == first["run_id"] and second["skipped"] is True
    assert second["label"] == "B"
    csv_text = bench("report", "--format", "csv").out
    (row,) = list(csv.DictReader(io.StringIO(csv_text)))
    assert row["label"] == "B" and row["n"] == "1"


def test_identical_suite_variants_share_a_run_and_keep_their_rows(bench, tmp_path):
    suite = tmp_path / "same.toml"
    suite.write_text(
        """
[base]
arch = "mlp"
epochs = 1

[[variants]]
name = "Improved"

[[variants]]
name = "No Scheduler"   # identical settings: one run, two rows

[[tables]]
title = "Ablation"
"""
    )
    summary = json.loads(bench("sweep", suite, "--json").out)
    assert summary["completed"] == 1 and summary["skipped"] == 1
    text = bench("report", "--suite", suite).out
    rows = [line for line in text.splitlines() if "Improved" in line or "No Scheduler" in line]
    assert len(rows) == 2
    assert all(row.split("|")[-2].strip() == "1" for row in rows)  # n = 1 each, not 2
