"""``bench run``: one benchmark run, or one per seed."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from benchbench.cli.context import (
    JsonOption,
    ResultsOption,
    components,
    err,
    print_json,
    set_option,
    setting_values,
    with_settings,
)
from benchbench.config import RunConfig
from benchbench.settings import EXECUTION, SETTINGS, TRAINING, parse_seeds, parse_sets


@with_settings(SETTINGS)
def run(
    *,
    seeds: Annotated[
        str | None,
        typer.Option(help="One run per seed: 0,1,2 or 0-4.", rich_help_panel=EXECUTION),
    ] = None,
    set_: set_option(
        "Plugin option: arch.OPT, aug.NAME.OPT or dataset.OPT, e.g. --set arch.bn=true.",
        TRAINING,
    ) = None,
    force: Annotated[
        bool,
        typer.Option(help="Re-run even if an identical run is stored.", rich_help_panel=EXECUTION),
    ] = False,
    results: ResultsOption = None,
    as_json: JsonOption = False,
    **settings,
) -> None:
    """Train and evaluate one configuration, seeded and timed; store the result."""
    from benchbench import api

    values = setting_values(settings)
    base = RunConfig(**values, **parse_sets(set_ or [], values["augs"]))
    if base.smoke:
        base = base.as_smoke()
    summaries = api.run(
        base,
        seeds=parse_seeds(seeds) if seeds else None,
        results=results,
        force=force,
        components=components(),
        progress=_progress,
        on_result=_print_result,
    )
    if as_json:
        print_json(summaries if seeds else summaries[0])


def _label(config: RunConfig) -> str:
    return f"{config.label} seed {config.seed} [{config.run_id}]"


def _progress(config: RunConfig):
    """Live progress of one run on stderr."""
    from benchbench.cli.progress import RunProgress

    return RunProgress(err, _label(config), config.epochs)


def _print_result(config: RunConfig, result) -> None:
    """The run's result table, when it ends."""
    label = _label(config)
    record = result.record
    if result.skipped:
        err.print(
            f"{label}: already stored ({record.status}); skipped. Use --force to re-run.",
            markup=False,
        )
    s = record.summary
    table = Table(title=Text(f"{label} — {record.status}"), title_justify="left", show_edge=False)
    for column in ("test acc", "epochs", "train s/epoch", "val s/epoch", "warm-up s", "load s"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{s['test_acc']:.4f}",
        str(s["epochs_run"]),
        f"{s['train_seconds_per_epoch']:.3f}",
        f"{s['val_seconds_per_epoch']:.3f}",
        f"{s['warmup_seconds']:.2f}",
        f"{s['load_seconds']:.2f}",
    )
    err.print(table)
