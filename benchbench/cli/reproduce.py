"""``bench reproduce``: a suite's whole report (verdicts, targets, tables, figures, the
suite's prose) from its stored runs, training what is missing first with ``--train``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from benchbench.cli.context import ResultsOption
from benchbench.cli.context import SweptProfileOption
from benchbench.cli.context import err
from benchbench.cli.context import option
from benchbench.cli.context import optional
from benchbench.cli.context import set_option
from benchbench.cli.context import setting_option
from benchbench.cli.progress import SweepProgress


def reproduce(
    suite: Annotated[
        str, typer.Argument(help="A built-in suite (`bench list suites`) or a suite TOML file.")
    ],
    output: option(Path, "Folder for SUITE.md and its figures/.", "--output", "-o") = Path("."),
    profile: SweptProfileOption = None,
    train: option(bool, "Train the suite's missing runs first (resumable).") = False,
    data_dir: optional(Path, "With --train: the dataset folder for every run.") = None,
    set_: set_option("With --train: override any suite setting, e.g. --set device=cuda.") = None,
    device: setting_option("device", panel=False) = "auto",
    results: ResultsOption = None,
) -> None:
    """Render a suite's report, as reports/ holds the seed reports' (`--train`: train
    what is missing first)."""
    from contextlib import nullcontext

    from benchbench import api
    from benchbench.reproduction import reproduce as write

    parsed = api.find_suite(suite, profile=profile, swept=True, results=results)
    progress = SweepProgress(err, parsed.name, show_epochs=True) if train else None
    try:
        with progress or nullcontext():
            path = write(
                parsed,
                results=results,
                output=output,
                train=train,
                overrides=list(set_ or []),
                data_dir=data_dir,
                device=device,
                events=progress,
            )
    except KeyboardInterrupt as exc:
        err.print(
            Text(
                "interrupted: finished runs are stored, the run in progress with its resume "
                "point; the same command resumes it."
            )
        )
        raise typer.Exit(getattr(exc, "exit_code", 130)) from None
    err.print(Text(f"wrote {path}"))
