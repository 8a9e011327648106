import numpy as np
import pytest

from benchbench.metrics import commission_omission
from benchbench.render import figures as plots


def test_confusion_figure_is_row_normalized():
    matrix = np.array([[8, 2], [1, 3]])
    fig = plots.confusion(matrix, ["cat", "dog"])
    shown = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(shown, [[0.8, 0.2], [0.25, 0.75]])


def test_class_error_bars_are_commission_and_omission():
    matrix = np.array([[8, 2, 0], [1, 6, 3], [1, 0, 9]])
    commission, omission = commission_omission(matrix)
    fig = plots.class_errors(["a", "b", "c"], commission, omission)
    bars = fig.axes[0].patches
    np.testing.assert_allclose([b.get_height() for b in bars[:3]], commission)
    np.testing.assert_allclose([b.get_height() for b in bars[3:]], omission)


def test_curves_plot_every_epoch_of_train_and_validation():
    history = [
        {
            "epoch": e,
            "train_loss": 2 / e,
            "val_loss": 2.5 / e,
            "train_acc": 0.1 * e,
            "val_acc": 0.09 * e,
        }
        for e in (1, 2, 3)
    ]
    fig = plots.curves(history)
    loss_lines = fig.axes[0].get_lines()
    assert [list(line.get_ydata()) for line in loss_lines] == [[2, 1, 2 / 3], [2.5, 1.25, 2.5 / 3]]
    assert [line.get_label() for line in loss_lines] == ["train", "validation"]


def test_curves_say_when_validation_was_the_test_set_and_draw_per_epoch_tests():
    history = [
        {"epoch": e, "train_loss": 1.0, "val_loss": None, "train_acc": 0.5, "val_acc": None}
        | {"test_loss": 0.9, "test_acc": 0.6}
        for e in (1, 2)
    ]
    labels = [line.get_label() for line in plots.curves(history).axes[1].get_lines()]
    assert labels == ["train", "test"]  # a --target-on test run: tested every epoch
    history = [{**h, "val_loss": 0.9, "val_acc": 0.6} for h in history]
    on_test = plots.curves(history, config={"validate_on": "test"})
    labels = [line.get_label() for line in on_test.axes[0].get_lines()]
    assert labels == ["train", "validation (the test set)"]


def test_box_plot_has_a_box_per_value():
    fig = plots.box({"0.01": [0.8, 0.82, 0.81], "0.1": [0.5, 0.6, 0.55]}, "lr", "accuracy")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.01", "0.1"]
    medians = [
        line.get_ydata()[0]
        for line in ax.lines
        if line.get_linestyle() != "None"
        and len(line.get_xdata()) == 2
        and line.get_color() in ("C1", "#ff7f0e")
    ]
    assert sorted(medians) == [0.55, 0.81]


def test_samples_title_each_image_with_prediction_and_truth(tmp_path):
    images = np.zeros((3, 3, 8, 8), np.uint8)
    fig = plots.samples(images, [0, 1, 1], [0, 0, 1], ["cat", "dog"], columns=2)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["cat\n(cat)", "cat\n(dog)", "dog\n(dog)"]
    paths = plots.save(fig, tmp_path / "grid")
    assert [p.suffix for p in paths] == [".png", ".pdf"] and all(p.stat().st_size for p in paths)


def test_curves_of_a_label_with_seeds_and_of_several_labels(bench, tmp_path):
    assert (
        bench("run", "--arch", "mlp", "--epochs", "2", "--seeds", "0-1", "--name", "rs").code == 0
    )
    assert (
        bench("run", "--arch", "mlp", "--epochs", "2", "--lr", "0.01", "--name", "fast").code == 0
    )
    out = tmp_path / "figs"
    one = bench("plot", "curves", "rs", "-o", out, "--formats", "png")
    assert one.code == 0, one.err  # not "'rs' matches 2 runs"
    assert (out / "curves-rs.png").stat().st_size > 0
    both = bench("plot", "curves", "rs", "fast", "-o", out, "--formats", "png")
    assert both.code == 0 and (out / "curves-rs-vs-fast.png").exists()


def test_a_figure_name_with_a_dot_keeps_it(tmp_path):
    """``curves-lr=0.01`` (a label with a decimal point) must not become ``curves-lr=0.png``,
    overwriting the figure of another label."""
    import matplotlib.pyplot as plt

    from benchbench.render.figures import save

    written = []
    for name in ("curves-lr=0.01", "curves-lr=0.02", "fig4.2d"):
        written += save(plt.figure(), tmp_path / name, ("png", "pdf"))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(p.name for p in written) and len(names) == 6
    assert "curves-lr=0.01.png" in names and "fig4.2d.pdf" in names


def test_compared_curves_band_the_mean_with_its_95_percent_interval():
    """Curves over seeds: a line for the mean and a band of the mean's Student-t 95%
    interval, not the seeds' lines overlaid."""
    import pytest
    from matplotlib.collections import PolyCollection
    from scipy import stats

    from benchbench.render.figures import curves_compared

    accs = [[0.5, 0.7], [0.6, 0.8], [0.7, 0.9]]  # three seeds, two epochs
    runs = [
        [{"epoch": e + 1, "val_loss": 1.0 - a, "val_acc": a} for e, a in enumerate(seed)]
        for seed in accs
    ]
    fig = curves_compared({"A": runs}, "t")
    acc_axis = fig.axes[1]
    (band,) = [c for c in acc_axis.collections if isinstance(c, PolyCollection)]
    heights = band.get_paths()[0].vertices[:, 1]
    half = stats.t.ppf(0.975, 2) * np.std([0.5, 0.6, 0.7], ddof=1) / np.sqrt(3)
    assert heights.min() == pytest.approx(0.6 - half)
    assert heights.max() == pytest.approx(0.8 + half)
    assert len(acc_axis.lines) == 1  # the mean: one line per label
    assert "95% interval" in acc_axis.get_legend().get_texts()[0].get_text()


FIGURED = """
description = "figures a suite declares"
seeds = [0, 1]
[base]
dataset = "digits"
arch = "mlp"
epochs = 2
[[variants]]
name = "A"
[[variants]]
name = "B"
lr = 0.01

[[figures]]
name = "1"
kind = "curves"
row = "A"
caption = "A's curves"

[[figures]]
name = "2b"
kind = "samples"
row = "B"
wrong = true
count = 4

[[figures]]
name = "3"
kind = "confusion"
row = "Nobody"
"""


def test_a_suites_figures_are_drawn_by_the_figure_kinds_of_bench_plot(bench, tmp_path):
    import json

    suite = tmp_path / "figured.toml"
    suite.write_text(FIGURED)
    assert bench("sweep", suite).code == 0
    result = bench("plot", "suite", suite, "-o", tmp_path / "figs")
    assert result.code == 0, result.err
    drawn = sorted(p.name for p in (tmp_path / "figs").iterdir())
    assert drawn == [f"figured-fig{n}.{f}" for n in ("1", "2b") for f in ("pdf", "png")]
    assert "figure 3: not drawn: no complete run of Nobody yet" in result.err
    from benchbench import api

    (first,) = api.draw_figures(
        api.find_suite(str(suite)), tmp_path / "again", formats=("png",), only=["1"]
    )
    runs = json.loads(bench("runs", "--where", "lr=0.001", "--where", "seed=0", "--json").out)
    assert first["run_id"] == runs[0]["run_id"]  # the row's first seed


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('kind = "curves"', 'kind = "curvez"'), "Did you mean 'curves'"),
        (("wrong = true", "wrongly = true"), "has no option 'wrongly'"),
        (('row = "A"', "row = 3"), "row is text"),
    ],
)
def test_a_bad_figure_is_refused_with_its_line(bench, tmp_path, change, message):
    suite = tmp_path / "bad.toml"
    suite.write_text(FIGURED.replace(*change, 1))
    result = bench("sweep", suite)
    assert result.code == 2 and message in result.err and "bad.toml:" in result.err


def test_plot_suite_without_figures_says_so(bench):
    result = bench("plot", "suite", "algoperf-mini")
    assert result.code == 2 and "declares no figures" in result.err
