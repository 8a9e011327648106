"""``bench plot``: the figures of the seed reports, as PNG and PDF."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from benchbench.cli.context import ResultsOption
from benchbench.cli.context import SweptProfileOption
from benchbench.cli.context import WhereOption
from benchbench.cli.context import components
from benchbench.cli.context import err
from benchbench.cli.context import option
from benchbench.cli.context import optional
from benchbench.cli.context import setting_option
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


def _each_run(kind: str, runs, output: Path, formats: str, results, **options) -> None:
    """Save figure kind ``kind``'s figure (a built-in or a plugin's) of every run in
    ``runs``; ``options`` go to the kind's factory."""
    draw = components().figures.get(kind).create(options)
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
    from benchbench.render.figures import curves_compared
    from benchbench.results.store import Store

    store = Store(results)
    groups = {key: store.find_group(key) for key in runs}
    if len(groups) == 1 and len(next(iter(groups.values()))) == 1:
        (record,) = next(iter(groups.values()))
        _each_run("curves", [record.id], output, formats, results)
        return
    histories = {
        records[0].label: [store.history(r.id) for r in records] for records in groups.values()
    }
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", "-vs-".join(histories)).strip("-")[:80]
    fig = curves_compared(histories, " vs ".join(histories))
    _save(fig, output / f"curves-{slug}", formats)


@app.command("suite")
def suite_figures(
    suite: Annotated[str, typer.Argument(help="A built-in suite or a suite TOML file.")],
    output: OutputOption = Path("bench-figures"),
    formats: FormatsOption = "png,pdf",
    smoke: option(bool, "From its --smoke sweep.") = False,
    profile: SweptProfileOption = None,
    results: ResultsOption = None,
) -> None:
    """Every figure a suite declares in its figures section (a figure kind of a row's
    first seed's run, with a caption), from its last sweep, named SUITE-figNAME."""
    from benchbench import api

    parsed = api.find_suite(suite, profile=profile, swept=True, results=results, smoke=smoke)
    if not parsed.figures:
        raise BenchError(f"Suite {parsed.name} declares no figures (a [[figures]] section).")
    kinds = tuple(f.strip() for f in formats.split(","))
    for drawn in api.draw_figures(parsed, output, results=results, smoke=smoke, formats=kinds):
        for path in drawn["paths"]:
            err.print(Text(f"wrote {path}"))
        if drawn["missing"]:
            err.print(Text(f"figure {drawn['name']}: not drawn: {drawn['missing']}"))


@app.command()
def study(
    name: Annotated[str, typer.Argument(help="The study's name (bench tune --study).")],
    output: OutputOption = Path("bench-figures"),
    formats: FormatsOption = "png,pdf",
    results: ResultsOption = None,
) -> None:
    """A study's optimization history, parameter importances and parallel coordinates."""
    from benchbench.render.figures import study_figures
    from benchbench.results import studies
    from benchbench.results.store import Store

    drawn = study_figures(studies.load(Store(results).root, name))
    if not drawn:
        raise BenchError(f"Study {name!r} has no finished trial to plot yet.")
    for kind, fig in drawn:
        _save(fig, output / f"study-{name}-{kind}", formats)


def _per_run(kind: str, doc: str) -> None:
    """Register ``bench plot KIND RUN...``: figure ``kind`` of each run, described by
    ``doc``."""

    def command(
        runs: RunsArgument,
        output: OutputOption = Path("bench-figures"),
        formats: FormatsOption = "png,pdf",
        results: ResultsOption = None,
    ) -> None:
        _each_run(kind, runs, output, formats, results)

    command.__doc__ = doc
    app.command(kind)(command)


_per_run("confusion", "The normalized confusion matrix (rows: true class).")
_per_run("errors", "Per-class commission and omission errors.")


@app.command()
def samples(
    run: Annotated[str, typer.Argument(help="Run id, prefix or label.")],
    wrong: option(bool, "Misclassified or correct images.", "--wrong/--correct") = False,
    count: option(int, "How many images.") = 16,
    output: OutputOption = Path("bench-figures"),
    formats: FormatsOption = "png,pdf",
    results: ResultsOption = None,
) -> None:
    """A grid of test images with predicted and true labels."""
    kind = "wrong" if wrong else "correct"
    draw = components().figures.get("samples").create({"wrong": wrong, "count": count})
    store, (record,) = _records([run], results)
    _save(draw(store, record), _stem(output, f"samples-{kind}", record), formats)


@app.command()
def gradcam(
    run: Annotated[str, typer.Argument(help="Run id, prefix or label.")],
    images: option(str, "Test image indices, e.g. 0,1,2.") = "0,1,2,3,4,5,6,7",
    layer: optional(str, "Layer name.", show_default="the last convolution") = None,
    device: setting_option("device", panel=False) = "cpu",
    output: OutputOption = Path("bench-figures"),
    formats: FormatsOption = "png,pdf",
    results: ResultsOption = None,
) -> None:
    """Grad-CAM heat maps (captum) for chosen test images, over the images."""
    options = {"images": images, "layer": layer, "device": device}
    _each_run("gradcam", [run], output, formats, results, **options)


@app.command()
def box(
    group_by: option(str, "The setting on the x axis, e.g. lr."),
    metric: option(str, "The metric on the y axis.") = "test_acc",
    where: WhereOption = None,
    output: OutputOption = Path("bench-figures"),
    formats: FormatsOption = "png,pdf",
    results: ResultsOption = None,
) -> None:
    """Box plots of a metric over repeats, one box per value of a setting."""
    from benchbench.metrics import METRICS
    from benchbench.render.figures import box as figure
    from benchbench.results.query import matching
    from benchbench.results.query import values_by
    from benchbench.results.store import Store

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


def _options(items: list[str]) -> dict:
    from benchbench.settings import parse_value

    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BenchError(f"--set {item!r}: write KEY=VALUE, e.g. --set count=8.")
        options[key.strip()] = parse_value(value)
    return options


def plugin_figure_commands(figures) -> list:
    """``bench plot NAME RUN... [--set KEY=VALUE]`` for every figure kind a plugin adds
    (``benchbench_register_figures``) that no built-in command draws; a kind drawn over
    many runs (box plots) is drawn by `bench plot suite` only."""
    taken = {c.name or c.callback.__name__ for c in app.registered_commands}
    commands = []
    for entry in figures:
        if entry.name in taken or getattr(entry.target, "many", False):
            continue

        def command(
            runs: RunsArgument,
            set_: optional(
                list[str], "An option of this figure.", "--set", metavar="KEY=VALUE"
            ) = None,
            output: OutputOption = Path("bench-figures"),
            formats: FormatsOption = "png,pdf",
            results: ResultsOption = None,
            kind: Annotated[str, typer.Option(hidden=True)] = entry.name,
        ) -> None:
            _each_run(kind, runs, output, formats, results, **_options(set_ or []))

        command.__doc__ = f"{entry.description} (from {entry.origin})"
        commands.append(typer.models.CommandInfo(name=entry.name, callback=command))
    return commands
