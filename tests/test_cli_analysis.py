import json

import numpy as np
import pytest
from conftest import FAST


@pytest.fixture
def runs(bench):
    for seed in (0, 1, 2):
        assert bench("run", *FAST, "--seed", seed, "--name", "tiny").code == 0
    assert bench("run", *FAST, "--lr", "3e-3", "--name", "faster").code == 0
    return bench


def test_every_figure_of_a_run(runs, tmp_path):
    out = tmp_path / "figs"
    for command in (
        ["curves"],
        ["confusion"],
        ["errors"],
        ["samples", "--wrong"],
        ["gradcam", "--images", "0,1,2"],
    ):
        result = runs("plot", *command, "faster", "-o", out)
        assert result.code == 0, result.err
    names = sorted(p.name.split("-faster")[0] for p in out.glob("*.png"))
    assert names == ["confusion", "curves", "errors", "gradcam", "samples-wrong"]
    assert len(list(out.glob("*.pdf"))) == 5
    box = runs("plot", "box", "--group-by", "lr", "-o", out, "--formats", "png")
    assert box.code == 0 and (out / "box-test_acc-by-lr.png").exists()


def test_ensemble_of_stored_runs(runs, isolated):
    result = runs("ensemble", "--k", "50,100", "--format", "json")
    assert result.code == 0, result.err
    rows = json.loads(result.out)[0]["rows"]
    assert [r["k"] for r in rows] == ["best single", "50%", "100%"]
    assert [r["models"] for r in rows] == [1, 2, 4]
    # Recompute soft voting over all four runs from the stored logits.
    folders = sorted((isolated / "results" / "runs").iterdir())
    logits = np.stack([np.load(f / "test_predictions.npz")["logits"] for f in folders])
    labels = np.load(folders[0] / "test_predictions.npz")["labels"]
    probabilities = np.exp(logits - logits.max(2, keepdims=True))
    probabilities /= probabilities.sum(2, keepdims=True)
    expected = (probabilities.mean(0).argmax(1) == labels).mean()
    assert rows[2]["soft_acc"] == pytest.approx(expected)


def test_ensemble_table_sets_the_seeds_numbers_beside_ours(runs, isolated):
    from benchbench.analysis.tables import ensemble_part
    from benchbench.errors import BenchError
    from benchbench.results.store import Store

    store = Store(isolated / "results")
    records = store.runs()
    seed = {"soft": {"100%": 0.9217, "best single": 0.9129}, "hard": {"100%": 0.9121}}
    part = ensemble_part(records, store, (50, 100), "Table 1", seed)
    rows = part.shown.set_index("Best k")
    assert list(part.shown.columns) == [
        "Best k",
        "Models",
        "Soft voting",
        "Soft voting (seed)",
        "Δ Soft voting",
        "Hard voting",
        "Hard voting (seed)",
        "Δ Hard voting",
    ]
    assert rows.loc["100%", "Soft voting (seed)"] == "0.9217"
    ours = part.raw.set_index("k").loc["100%", "soft_acc"]
    assert rows.loc["100%", "Δ Soft voting"] == f"{ours - 0.9217:+.4f}"
    assert rows.loc["50%", "Hard voting (seed)"] == "–"  # the seed gives no number there
    with pytest.raises(BenchError, match="not a voting kind"):
        ensemble_part(records, store, (100,), "Table 1", {"mean": {"100%": 0.9}})


def test_ood_table_and_histograms(runs, tmp_path):
    result = runs("ood", "faster", "--plot", tmp_path, "--format", "json")
    assert result.code == 0, result.err
    table = json.loads(result.out)[0]["rows"]
    assert table and all(0 <= row["accuracy"] <= 1 for row in table)
    grids = list(tmp_path.glob("ood-samples-*.png"))  # report 001 Fig. 9, one per layer
    assert len(grids) == len(table) and len(list(tmp_path.glob("ood-*.png"))) == 2 * len(table)
    assert runs("ood", "faster", "--layers", "nope").code == 2


def test_report_options_from_the_command_line(runs):
    ci = runs("report", "--ci", "--where", "name=tiny")
    assert ci.code == 0 and "tiny" in ci.out and "faster" not in ci.out and "[" in ci.out
    grouped = runs("report", "--group-by", "lr", "--format", "csv")
    assert "lr=0.001" in grouped.out and "lr=0.003" in grouped.out
    compared = runs("report", "--baseline", "tiny")
    assert "Diff. vs tiny" in compared.out


def test_html_page_of_a_suite(bench, tmp_path):
    suite = tmp_path / "mini.toml"
    suite.write_text("""
description = "mini"
repeats = 2
[base]
arch = "resnet_skip"
"arch.widths" = "8"
dataset = "digits"
epochs = 1
[[grids]]
name = "lr"
lr = [1e-3, 3e-3]
[[tables]]
title = "Learning rate"
group = "lr"
rows = "lr"
metrics = ["test_acc"]
""")
    assert bench("sweep", suite).code == 0
    page = tmp_path / "page.html"
    result = bench("report", "--suite", suite, "--format", "html", "--output", page)
    assert result.code == 0, result.err
    html = page.read_text()
    assert "<h2>Learning rate</h2>" in html and html.count("data:image/png;base64,") == 3
