"""``bench plot``: the figures of the seed reports, as PNG and PDF."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from benchbench.cli.context import ResultsOption, WhereOption, components, err, setting_option
from benchbench.errors import BenchError

app = typer.Typer(help="Figures from stored runs (PNG and PDF).", no_args_is_help=True)

OutputOption = Annotated[Path, typer.Option("--output", "-o", help="Folder for the figures.")]
FormatsOption = Annotated[str, typer.Option(help="Comma-separated: png, pdf, svg.")]


def _stem(output: Path, kind: str, record) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", record.label).strip("-")
    return output / f"{kind}-{slug}-{record.id}"


def _save(fig, stem: Path, formats: str) -> None:
    from benchbench.render.figures import save

    for path in save(fig, stem, tuple(f.strip() for f in formats.split(","))):
        err.print(Text(f"wrote {path}"))


def _records(runs: list[str], results):
    from benchbench.results.store import Store

    store = Store(results)
    return store, [store.find(run) for run in runs]


def _confusion(store, record):
    stored = store.confusion(record.id)
    if stored is None:
        raise BenchError(
            f"Run {record.id} ({record.label}) has no stored confusion matrix: "
            f"it is {record.status}."
        )
    return stored


def _each_run(kind: str, draw, runs, output: Path, formats: str, results) -> None:
    """Save ``draw(store, record)``'s figure for every run in ``runs``."""
    store, records = _records(runs, results)
    for record in records:
        _save(draw(store, record), _stem(output, kind, record), formats)


RunsArgument = Annotated[list[str], typer.Argument(help="Run ids, prefixes or labels.")]


@app.command()
def curves(
    runs: RunsArgument,
    output: OutputOption = Path("bench-figures"),
    formats: FormatsOption = "png,pdf",
    results: ResultsOption = None,
) -> None:
    """Loss and accuracy per epoch, train and validation. A label with several runs (its
    seeds) draws their mean with a band; several labels are drawn in one figure to compare."""
    from benchbench.render.figures import curves as figure
    from benchbench.render.figures import curves_compared
    from benchbench.results.store import Store

    store = Store(results)
    groups = {key: store.find_group(key) for key in runs}
    if len(groups) == 1 and len(next(iter(groups.values()))) == 1:
        (record,) = next(iter(groups.values()))
        fig = figure(store.history(record.id), f"{record.label} [{record.id}]", record.config)
        _save(fig, _stem(output, "curves", record), formats)
        return
    histories = {
        records[0].label: [store.history(r.id) for r in records] for records in groups.values()
    }
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", "-vs-".join(histories)).strip("-")[:80]
    fig = curves_compared(histories, " vs ".join(histories))
    _save(fig, output / f"curves-{slug}", formats)


@app.command()
def confusion(
    runs: RunsArgument,
    output: OutputOption = Path("bench-figures"),
    formats: FormatsOption = "png,pdf",
    results: ResultsOption = None,
) -> None:
    """The normalized confusion matrix (rows: true class)."""
    from benchbench.render.figures import confusion as figure

    def draw(store, record):
        matrix, classes = _confusion(store, record)
        return figure(matrix, classes, f"{record.label}: normalized confusion matrix")

    _each_run("confusion", draw, runs, output, formats, results)


@app.command()
def errors(
    runs: RunsArgument,
    output: OutputOption = Path("bench-figures"),
    formats: FormatsOption = "png,pdf",
    results: ResultsOption = None,
) -> None:
    """Per-class commission and omission errors."""
    from benchbench.render.figures import class_errors
    from benchbench.training.metrics import commission_omission

    def draw(store, record):
        matrix, classes = _confusion(store, record)
        commission, omission = commission_omission(matrix)
        title = f"{record.label}: commission and omission errors"
        return class_errors(classes, commission, omission, title)

    _each_run("errors", draw, runs, output, formats, results)


@app.command()
def samples(
    run: Annotated[str, typer.Argument(help="Run id, prefix or label.")],
    wrong: Annotated[
        bool, typer.Option("--wrong/--correct", help="Misclassified or correct images.")
    ] = False,
    count: Annotated[int, typer.Option(help="How many images.")] = 16,
    output: OutputOption = Path("bench-figures"),
    formats: FormatsOption = "png,pdf",
    results: ResultsOption = None,
) -> None:
    """A grid of test images with predicted and true labels."""
    import numpy as np

    from benchbench.render.figures import samples as figure
    from benchbench.training.loop import prepare

    store, (record,) = _records([run], results)
    logits, labels = store.predictions(record.id)
    predicted = logits.argmax(1)
    candidates = np.flatnonzero((predicted != labels) if wrong else (predicted == labels))
    chosen = np.sort(np.random.default_rng(0).permutation(candidates)[:count])
    if len(chosen) == 0:
        raise BenchError(
            f"Run {record.id} has no {'wrong' if wrong else 'correct'} predictions to show."
        )
    splits = prepare(record.run_config, components(), lazy=True)
    images = splits.test[0].numpy()
    if len(images) != len(labels) or not (splits.test[1].numpy() == labels).all():
        raise BenchError(
            "The dataset's test split changed since the run: cannot match "
            "stored predictions to images."
        )
    kind = "wrong" if wrong else "correct"
    _save(
        figure(
            images[chosen],
            labels[chosen],
            predicted[chosen],
            splits.classes,
            f"{record.label}: {kind} predictions",
        ),
        _stem(output, f"samples-{kind}", record),
        formats,
    )


@app.command()
def gradcam(
    run: Annotated[str, typer.Argument(help="Run id, prefix or label.")],
    images: Annotated[
        str, typer.Option(help="Test image indices, e.g. 0,1,2.")
    ] = "0,1,2,3,4,5,6,7",
    layer: Annotated[
        str | None,
        typer.Option(help="Layer name.", show_default="the last convolution"),
    ] = None,
    device: setting_option("device", panel=False) = "cpu",
    output: OutputOption = Path("bench-figures"),
    formats: FormatsOption = "png,pdf",
    results: ResultsOption = None,
) -> None:
    """Grad-CAM heat maps (captum) for chosen test images, over the images."""
    import torch

    from benchbench.analysis.gradcam import heatmaps
    from benchbench.analysis.reload import predict, reload
    from benchbench.render.figures import heatmaps as figure

    store, (record,) = _records([run], results)
    try:
        indices = [int(i) for i in images.split(",")]
    except ValueError:
        raise BenchError(f"--images {images!r}: give test image indices like 0,1,2.") from None
    loaded = reload(store, record, components(), device)
    test_x, test_y = loaded.splits.test
    if not indices or max(indices) >= len(test_x) or min(indices) < 0:
        raise BenchError(f"--images: indices must lie in 0..{len(test_x) - 1}.")
    chosen = torch.tensor(indices)
    predicted = predict(loaded, test_x[chosen]).argmax(1)
    inputs = loaded.batcher(test_x[chosen].to(loaded.device))
    maps = heatmaps(loaded.model, inputs, predicted.to(loaded.device), layer)
    _save(
        figure(
            test_x[chosen].numpy(),
            maps.numpy(),
            test_y[chosen].tolist(),
            predicted.tolist(),
            loaded.splits.classes,
            f"{record.label}: Grad-CAM",
        ),
        _stem(output, "gradcam", record),
        formats,
    )


@app.command()
def box(
    group_by: Annotated[str, typer.Option(help="The setting on the x axis, e.g. lr.")],
    metric: Annotated[str, typer.Option(help="The metric on the y axis.")] = "test_acc",
    where: WhereOption = None,
    output: OutputOption = Path("bench-figures"),
    formats: FormatsOption = "png,pdf",
    results: ResultsOption = None,
) -> None:
    """Box plots of a metric over repeats, one box per value of a setting."""
    from benchbench.render.figures import box as figure
    from benchbench.results.query import matching, values_by
    from benchbench.results.store import Store
    from benchbench.training.metrics import METRICS

    if metric not in METRICS:
        raise BenchError(f"--metric {metric!r}: choose from {', '.join(METRICS)}.")
    store = Store(results)
    groups = values_by(matching(store.runs(), where or []), metric, group_by)
    if not groups:
        raise BenchError("No complete runs match: nothing to plot.")
    name = METRICS[metric].title
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", group_by)
    _save(
        figure(
            groups, group_by, name, f"{name} by {group_by} ({sum(map(len, groups.values()))} runs)"
        ),
        output / f"box-{metric}-by-{slug}",
        formats,
    )
