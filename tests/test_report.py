import json
import shutil
import subprocess

import pandas as pd
import pytest

from benchbench.report import aggregate, render
from benchbench.store import RunRecord


def record(run_id, label, seed, acc, train_s=2.0, val_s=0.5, status="complete", group=None):
    summary = {"test_acc": acc, "train_seconds_per_epoch": train_s, "val_seconds_per_epoch": val_s}
    return RunRecord(
        run_id, group or label, label, status, {"seed": seed}, {}, summary, None, 0.0, 1.0
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
    table = aggregate(RECORDS)
    a = table[table.label == "Model A"].iloc[0]
    assert a.n == 3
    assert a.test_acc_mean == pytest.approx(0.82)
    assert a.test_acc_std == pytest.approx(0.02)  # sample standard deviation
    assert set(table.label) == {"Model A", "relu_10 & co"}  # running/diverged left out


def test_markdown_table_like_report_000():
    text = render(RECORDS, "markdown")
    lines = text.strip().splitlines()
    assert lines[0].split("|")[1:-1] == [
        " Model        ",
        " Accuracy        ",
        " Train s/epoch   ",
        " Val s/epoch   ",
        " n   ",
    ]
    assert "| Model A      | 0.8200 ± 0.0200 | 2.00 ± 0.00     | 0.50 ± 0.00   | 3   |" in lines


def test_csv_and_json_carry_the_numbers():
    frame = pd.read_csv(__import__("io").StringIO(render(RECORDS, "csv")))
    assert frame.loc[frame.label == "Model A", "test_acc_mean"].item() == pytest.approx(0.82)
    data = json.loads(render(RECORDS, "json"))
    assert {row["label"]: row["n"] for row in data} == {"Model A": 3, "relu_10 & co": 1}


def test_latex_is_booktabs_and_escaped():
    text = render(RECORDS, "latex")
    assert "\\toprule" in text and "\\midrule" in text and "\\bottomrule" in text
    assert "relu\\_10 \\& co" in text
    assert "0.8200 $\\pm$ 0.0200" in text


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no TeX installation (pdflatex)")
def test_latex_compiles(tmp_path):
    body = render(RECORDS, "latex")
    (tmp_path / "t.tex").write_text(
        "\\documentclass{article}\\usepackage{booktabs}"
        f"\\begin{{document}}{body}\\end{{document}}"
    )
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "t.tex"], cwd=tmp_path, capture_output=True
    )
    assert done.returncode == 0, done.stdout[-2000:]


def test_unknown_metric_and_format_are_named():
    from benchbench.errors import BenchError

    with pytest.raises(BenchError, match="Unknown metric"):
        render(RECORDS, "markdown", ("accuracy",))
    with pytest.raises(BenchError, match="--format 'html'"):
        render(RECORDS, "html")
