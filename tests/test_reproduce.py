"""bench reproduce: a suite's whole report (verdicts, targets with the suite's prose,
tables, figures) from its stored runs, as the five seed reports in reports/ are made."""

import re
import shutil
import sqlite3

from test_data import make_folder

SUITE = """
name = "mine"
description = "Two learning rates on a tiny image folder"
seeds = [0, 1, 2]

[base]
dataset = "imagefolder"
arch = "mlp"
epochs = 1
batch_size = 4

[[variants]]
name = "Slow"
lr = 0.001

[[variants]]
name = "Fast"
lr = 0.01

[[tables]]
title = "Table 1 <of> mine"
group = "variants"

[[tables]]
title = "Against the targets"
kind = "targets"
targets = { "Slow" = 0.01, "Fast" = 1.0, "Never <b>|" = 0.5 }
baseline = "Slow"

[[figures]]
name = "1"
kind = "summary"
arch = "mlp"
input_shape = "3x12x10"
classes = 2
caption = "The MLP's layers"

[[figures]]
name = "2"
kind = "curves"
row = "Fast"
caption = "Curves of the fast one"

[[figures]]
name = "3"
kind = "folder"
row = "Slow"
show = "examples"
per_class = 2
caption = "Examples"

[[figures]]
name = "4"
kind = "box"
group = "variants"
by = "lr"
metric = "test_acc"
caption = "Test accuracy by learning rate"

[[figures]]
name = "5"
kind = "curves"
row = "Never"
caption = "Curves of the one never trained"
"""

NOTES = """# My reproduction

## Seed hardware

a borrowed GPU

## Data folder

DATA

a folder of cats and dogs

## Readings

- The first reading, written
  over two lines.
- The second reading.

## Untested

- Pretrained weights: not tested here; needs them.

## Comparison

Fast minus Slow is {delta[Fast]:+.3f} over {n[Fast]} seeds (mean {test[Fast]:.3f}).

Never trains to {test[Never <b>|]:.3f}: this paragraph waits for it.

## Why not met

Fast misses its target because the target is 1.
"""


def _suite(tmp_path):
    make_folder(tmp_path / "data", per_class=10, size=(12, 10))
    (tmp_path / "mine.toml").write_text(SUITE)
    (tmp_path / "mine.md").write_text(NOTES)
    return tmp_path / "mine.toml"


def test_a_suites_report_has_verdicts_prose_tables_and_figures(bench, tmp_path):
    suite = _suite(tmp_path)
    results, out = tmp_path / "results", tmp_path / "out"
    assert bench("sweep", suite, "--data-dir", tmp_path / "data", "--results", results).code == 0
    result = bench("reproduce", suite, "--results", results, "--output", out)
    assert result.code == 0, result.err
    text = (out / "mine.md").read_text()
    assert text.startswith("# My reproduction\n\nTwo learning rates on a tiny image folder.")
    assert "`bench reproduce mine --results results --output out`" in text
    verdicts = text[text.index("## Verdicts") : text.index("**Scale.**")]
    assert "- Slow: test accuracy ≥ 0.01 — **reproduced**:" in verdicts
    assert "over 3 seeds" in verdicts
    assert "- Fast: test accuracy ≥ 1.00 — **not reproduced**:" in verdicts
    never = "- Never \\<b>\\|: test accuracy ≥ 0.50 — not tested yet (not trained here)."
    assert never in verdicts  # a user's label is escaped: no raw HTML, no table break
    assert "- Pretrained weights: not tested here; needs them." in verdicts
    assert "6 of 6 runs complete" in text
    assert "Hardware behind the seed's own timings: a borrowed GPU." in text
    assert "- The first reading, written over two lines.\n- The second reading.\n" in text
    # prose quotes stored figures; a paragraph quoting a row not trained waits
    assert "Fast minus Slow is " in text and " over 3 seeds (mean 0." in text
    assert "this paragraph waits" not in text
    assert "Fast misses its target because the target is 1." in text  # not met
    assert "**Table 1 \\<of> mine**" in text  # the suite's tables, rendered by bench report
    figures = text[text.index("## Figures") :]
    assert "**Figure 1.** The MLP's layers, on 3x12x10 images, 2 classes" in figures
    assert "Total params:" in figures
    for name in ("2", "3", "4"):
        assert f"![Figure {name}](figures/mine-fig{name}.png)" in figures
        assert (out / "figures" / f"mine-fig{name}.png").stat().st_size > 1000
    assert "**Figure 5.** Curves of the one never trained — *not drawn: no complete run" in figures
    again = bench("reproduce", suite, "--results", results, "--output", out)
    assert again.code == 0 and (out / "mine.md").read_text() == text  # deterministic
    # runs started ten hours before they finished (stopped between sessions, then resumed):
    # the report's minutes are the stored epoch times, not the stop
    with sqlite3.connect(results / "bench.db") as db:
        db.execute("UPDATE runs SET started = started - 36000")
    assert bench("reproduce", suite, "--results", results, "--output", out).code == 0
    minutes = re.search(
        r"([\d.]+) minutes with each epoch's validation", (out / "mine.md").read_text()
    )
    assert minutes is not None and float(minutes.group(1)) < 60


def test_without_its_data_a_figure_keeps_what_the_report_had(bench, tmp_path):
    suite = _suite(tmp_path)
    results, out = tmp_path / "results", tmp_path / "out"
    bench("sweep", suite, "--data-dir", tmp_path / "data", "--results", results)
    bench("reproduce", suite, "--results", results, "--output", out)
    drawn = (out / "figures" / "mine-fig3.png").read_bytes()
    before = (out / "mine.md").read_text()
    shutil.rmtree(tmp_path / "data")  # a clone without the data folder
    assert bench("reproduce", suite, "--results", results, "--output", out).code == 0
    assert (out / "mine.md").read_text() == before
    assert (out / "figures" / "mine-fig3.png").read_bytes() == drawn
    fresh = tmp_path / "fresh"  # no earlier report to keep from: said why
    assert bench("reproduce", suite, "--results", results, "--output", fresh).code == 0
    text = (fresh / "mine.md").read_text()
    assert "**Figure 3.** Examples — *not drawn: the data folder" in text
    assert not (fresh / "figures" / "mine-fig3.png").exists()


def test_train_runs_what_is_missing_then_renders(bench, tmp_path):
    suite = _suite(tmp_path)
    results, out = tmp_path / "results", tmp_path / "out"
    first = bench("reproduce", suite, "--results", results, "--output", out)
    assert first.code == 0
    assert "*No runs stored yet: `bench reproduce mine --train" in (out / "mine.md").read_text()
    result = bench(
        "reproduce", suite, "--train", "--data-dir", tmp_path / "data", "--results", results,
        "--output", out,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "6 of 6 runs complete" in (out / "mine.md").read_text()


def test_a_figure_naming_an_unknown_table_is_refused(bench, tmp_path):
    suite = _suite(tmp_path)
    suite.write_text(SUITE.replace('show = "examples"', 'show = "examples"\ntable = "Table 9"'))
    result = bench("reproduce", suite, "--results", tmp_path / "r")
    assert (
        result.code == 2
        and "no table titled 'Table 9'" in result.err
        and "mine.toml:" in result.err
    )
