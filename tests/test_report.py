import io
import json
import shutil
import subprocess

import pandas as pd
import pytest

from benchbench.analysis.tables import Spec
from benchbench.analysis.tables import aggregate
from benchbench.api import render
from benchbench.errors import BenchError
from benchbench.results.query import matching as where
from benchbench.results.store import RunRecord


def record(
    run_id, label, seed, acc, train_s=2.0, val_s=0.5, status="complete", group=None, **config
):
    summary = {
        "test_acc": acc,
        "train_seconds_per_epoch": train_s,
        "val_seconds_per_epoch": val_s,
        "best_val_acc": acc,
    }
    return RunRecord(
        run_id,
        group or label,
        label,
        status,
        {"seed": seed, "arch": "cnn_small", "lr": 0.001, **config},
        {},
        summary,
        None,
        0.0,
        1.0,
    )


RECORDS = [
    record("a0", "Model A", 0, 0.80),
    record("a1", "Model A", 1, 0.84),
    record("a2", "Model A", 2, 0.82),
    record("b0", "relu_10 & co", 0, 0.70, 3.0, 1.0),
    record("x", "Model A", 3, 0.10, status="running"),
    record("d", "Model D", 0, 0.10, status="diverged"),
]


def test_repeats_aggregate_to_mean_std_and_n():
    table = aggregate(RECORDS, Spec())
    a = table[table.label == "Model A"].iloc[0]
    assert a.n == 3
    assert a.test_acc_mean == pytest.approx(0.82)
    assert a.test_acc_std == pytest.approx(0.02)  # sample standard deviation
    assert set(table.label) == {"Model A", "relu_10 & co"}  # running/diverged left out


def test_markdown_table_like_report_000():
    text = render(RECORDS, "markdown")
    lines = text.strip().splitlines()
    assert [c.strip() for c in lines[0].split("|")[1:-1]] == [
        "Model",
        "Accuracy",
        "Train s/epoch",
        "Val s/epoch",
        "n",
    ]
    assert "| Model A      | 0.8200 ± 0.0200 |" in text
    assert "no row is marked best" in text  # relu_10 has n=1: nothing is claimed best


def test_csv_and_json_carry_the_numbers():
    frame = pd.read_csv(io.StringIO(render(RECORDS, "csv")))
    assert frame.loc[frame.label == "Model A", "test_acc_mean"].item() == pytest.approx(0.82)
    data = json.loads(render(RECORDS, "json"))
    assert {row["label"]: row["n"] for row in data} == {"Model A": 3, "relu_10 & co": 1}


def test_latex_is_booktabs_and_escaped():
    text = render(RECORDS, "latex")
    assert "\\toprule" in text and "\\midrule" in text and "\\bottomrule" in text
    assert "relu\\_10 \\& co" in text
    assert "0.8200 $\\pm$ 0.0200" in text


def repeated(label, accs, group=None):
    return [record(f"{label}{i}", label, i, a, group=group) for i, a in enumerate(accs)]


def test_the_best_row_is_bold_only_when_a_test_separates_it():
    clear = repeated("good", [0.90, 0.91, 0.92]) + repeated("bad", [0.50, 0.51, 0.52])
    text = render(clear, "markdown", Spec(ci=True))
    assert "**0.9100 ± 0.0100 [0.8852, 0.9348]**" in text  # a Student-t interval
    assert "Welch's t-test" in text and "n ≥ 3" in text
    latex = render(clear, "latex", Spec(ci=True))
    assert "\\textbf{0.9100 $\\pm$ 0.0100 [0.8852, 0.9348]}" in latex
    close = repeated("good", [0.90, 0.80, 0.95]) + repeated("bad", [0.85, 0.88, 0.86])
    text = render(close, "markdown", Spec(ci=True))
    assert "**" not in text and text.count("(tied)") == 2 and "cannot tell" in text


def test_nothing_is_claimed_from_two_repeats():
    # A percentile bootstrap gives [0.9056, 0.9222] here and called it a clear winner.
    two = repeated("a", [0.9056, 0.9222]) + repeated("b", [0.80, 0.81])
    text = render(two, "markdown", Spec(ci=True))
    assert "**" not in text and "needs at least 3 runs per row" in text
    assert "[0.8084, 1.0194]" in text  # the honest t-interval at n=2


def test_a_run_is_one_sample_however_often_it_is_listed():
    runs = repeated("a", [0.90, 0.91, 0.92])
    table = aggregate(runs + runs[:1] + runs[:1], Spec())
    assert table.n.tolist() == [3]


def test_ablation_deltas_within_the_seed_noise_are_flagged():
    runs = (
        repeated("Improved", [0.66, 0.70, 0.62])
        + repeated("No L2", [0.65, 0.69, 0.61])
        + repeated("No BN", [0.50, 0.52, 0.51])
    )
    text = render(runs, "markdown", Spec(baseline="Improved"))
    assert "-0.0100 (within noise)" in text
    assert "| -0.1500 " in text and "-0.1500 (within" not in text  # far beyond the noise
    with pytest.raises(BenchError, match="--baseline 'Nope'"):
        render(runs, "markdown", Spec(baseline="Nope"))


def test_where_and_group_by():
    runs = [
        record("s1", "x", 0, 0.8, lr=0.1),
        record("s2", "y", 0, 0.6, lr=0.1),
        record("s3", "z", 0, 0.5, lr=0.01),
    ]
    assert [r.id for r in where(runs, ["lr=0.1"])] == ["s1", "s2"]
    table = aggregate(runs, Spec(group_by=("lr",)))
    row = table[table.label == "lr=0.1"].iloc[0]
    assert row.n == 2 and row.test_acc_mean == pytest.approx(0.7)
    with pytest.raises(BenchError, match="No setting 'nope'"):
        where(runs, ["nope=1"])


def test_html_is_one_self_contained_page():
    page = render(RECORDS, "html")
    assert page.startswith("<!DOCTYPE html>") and "<table" in page
    assert "relu_10 &amp; co" in page and "http" not in page.split("<body>")[1]


@pytest.mark.skipif(
    shutil.which("pdflatex") is None,
    reason="no TeX installation (pdflatex) to compile the LaTeX output",
)
def test_latex_compiles(tmp_path):
    clear = repeated("good", [0.90, 0.91, 0.92]) + repeated("ba_d & co", [0.5, 0.51, 0.52])
    body = render(clear, "latex", Spec(ci=True, baseline="good"))
    (tmp_path / "t.tex").write_text(
        "\\documentclass{article}\\usepackage{booktabs}"
        f"\\begin{{document}}{body}\\end{{document}}"
    )
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert (tmp_path / "t.pdf").exists()


def test_unknown_metric_and_format_are_named():
    with pytest.raises(BenchError, match="Unknown metric"):
        render(RECORDS, "markdown", Spec(metrics=("accuracy",)))
    with pytest.raises(BenchError, match="--format 'pdf'"):
        render(RECORDS, "pdf")
