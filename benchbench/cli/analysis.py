"""``bench ensemble`` and ``bench ood``: analyses of stored runs, no retraining."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from benchbench.cli.context import ResultsOption, components, err
from benchbench.errors import BenchError


def ensemble(
    where: Annotated[
        list[str] | None,
        typer.Option(metavar="KEY=VALUE", help="Only runs with this setting.", show_default=False),
    ] = None,
    suite: Annotated[
        str | None,
        typer.Option(help="Only the runs of this suite's last sweep.", show_default=False),
    ] = None,
    smoke: Annotated[bool, typer.Option(help="With --suite: its --smoke sweep.")] = False,
    k: Annotated[
        str, typer.Option(help="Best k% of the runs, comma-separated.")
    ] = "10,20,30,40,50,100",
    format: Annotated[
        str, typer.Option("--format", help="markdown, latex, csv, json, html.")
    ] = "markdown",
    results: ResultsOption = None,
) -> None:
    """Soft and hard voting over the best k% of stored runs, ranked by validation accuracy."""
    from benchbench.report import emit, ensemble_part
    from benchbench.report import where as filter_runs
    from benchbench.store import Store

    store = Store(results)
    records = filter_runs(store.runs(), where or [])
    if suite is not None:
        from benchbench import suite as suites
        from benchbench.sweep import suite_key

        members = {m["run_id"] for m in store.suite_members(suite_key(suites.find(suite), smoke))}
        records = [r for r in records if r.id in members]
    try:
        percents = tuple(float(v) for v in k.split(","))
    except ValueError:
        raise BenchError(f"--k {k!r}: give percentages like 10,20,50,100.") from None
    if any(not 0 < p <= 100 for p in percents):
        raise BenchError(f"--k {k!r}: percentages lie in (0, 100].")
    part = ensemble_part(records, store, percents, "Ensembles of the best k% of the runs", format)
    print(emit([part], format), end="")


def ood(
    run: Annotated[str, typer.Argument(help="Run id, prefix or label.")],
    ood_dataset: Annotated[str, typer.Option(help="Out-of-distribution data.")] = "fake",
    ood_data_dir: Annotated[Path | None, typer.Option(help="Where that dataset lives.")] = None,
    ood_set: Annotated[
        list[str] | None,
        typer.Option(metavar="KEY=VALUE", help="dataset.OPTION=VALUE for the OOD dataset."),
    ] = None,
    layers: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated layer names [default: every activation].", show_default=False
        ),
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write a histogram per layer here.", show_default=False)
    ] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda, auto.")] = "cpu",
    format: Annotated[
        str, typer.Option("--format", help="markdown, latex, csv, json.")
    ] = "markdown",
    results: ResultsOption = None,
) -> None:
    """OOD detection by per-image mean activation, per layer (report 001, Table 2)."""
    from benchbench.ood import default_layers, detect, mean_activations
    from benchbench.store import Store

    store = Store(results)
    record = store.find(run)
    loaded, inside = _inside(store, record, device)
    outside = _outside(ood_dataset, ood_data_dir, ood_set or [], loaded)
    names = [n.strip() for n in layers.split(",")] if layers else default_layers(loaded.model)
    if not names:
        raise BenchError("This model has no activation layers; name some with --layers.")

    def batches(images):
        for start in range(0, len(images), 256):
            yield loaded.batcher(images[start : start + 256].to(loaded.device))

    a = mean_activations(loaded.model, batches(inside), names)
    b = mean_activations(loaded.model, batches(outside), names)
    results_ = detect(a, b)
    print(_ood_table(results_, record, ood_dataset, format), end="")
    if plot is not None:
        from benchbench.plots import histogram, save

        for r in results_:
            title = f"{record.label}: {r.layer}, detection accuracy {r.accuracy:.3f}"
            for path in save(
                histogram(a[r.layer], b[r.layer], r.threshold, title),
                plot / f"ood-{record.id}-{r.layer.replace('.', '_')}",
            ):
                err.print(Text(f"wrote {path}"))


def _inside(store, record, device):
    from benchbench.reload import reload

    loaded = reload(store, record, components(), device)
    return loaded, loaded.splits.test[0]


def _outside(name, data_dir, sets, loaded):
    """The OOD images, shaped like the run's inputs (resized, channels matched)."""
    import torch
    import torch.nn.functional as F

    from benchbench.config import parse_sets
    from benchbench.data import ImageData

    channels, height, width = loaded.splits.input_shape
    options = parse_sets(sets, ())["dataset_options"]
    if name == "fake":  # noise-like images of the right shape unless told otherwise
        options = {
            "size": height,
            "channels": channels,
            "noise": 0.5,
            "classes": 1,
            "train_size": 1,
            "test_size": max(2, len(loaded.splits.test[0])),
            "seed": 12345,
            **options,
        }
    data = components().datasets.get(name).create(options, data_dir=data_dir)
    if not isinstance(data, ImageData):
        raise BenchError(f"dataset {name!r} did not return benchbench.data.ImageData.")
    images = data.as_tensors(name).test_images
    if not len(images):
        raise BenchError(f"The OOD dataset {name!r} has no test images.")
    if images.shape[1] != channels:
        images = images.float().mean(1, keepdim=True).expand(-1, channels, -1, -1)
    if tuple(images.shape[2:]) != (height, width):
        images = F.interpolate(
            images.float(), size=(height, width), mode="bilinear", align_corners=False
        )
    return images.round().clamp(0, 255).to(torch.uint8)


def _ood_table(results_, record, ood_name: str, fmt: str) -> str:
    import pandas as pd

    from benchbench.report import Part, emit

    raw = pd.DataFrame(
        [
            {
                "layer": r.layer,
                "inside_mean": r.inside_mean,
                "outside_mean": r.outside_mean,
                "threshold": r.threshold,
                "ood_below": r.ood_below,
                "accuracy": r.accuracy,
            }
            for r in results_
        ]
    )
    shown = pd.DataFrame(
        {
            "Layer": raw["layer"],
            "Mean (in)": raw["inside_mean"].map(lambda v: f"{v:.4f}"),
            "Mean (OOD)": raw["outside_mean"].map(lambda v: f"{v:.4f}"),
            "Threshold": raw["threshold"].map(lambda v: f"{v:.4f}"),
            "OOD when": raw["ood_below"].map(lambda v: "below" if v else "above"),
            "Detection accuracy": raw["accuracy"].map(lambda v: f"{v:.4f}"),
        }
    )
    title = f"OOD detection for {record.label} [{record.id}] against {ood_name}"
    notes = ["Threshold fitted on one half of the images, accuracy (balanced) on the other."]
    return emit([Part(title, raw, shown, ["Layer"], notes=notes)], fmt)
