"""``bench runs``: list, filter and delete stored runs."""

from __future__ import annotations

import datetime
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from benchbench.cli.context import JsonOption, ResultsOption, WhereOption, err, out, print_json


def runs(
    where: WhereOption = None,
    smoke: Annotated[bool, typer.Option(help="The smoke runs instead of the results.")] = False,
    delete: Annotated[
        bool, typer.Option(help="Delete the runs listed (with --yes): rows and artifacts.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm --delete.")] = False,
    results: ResultsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stored runs, one line each (every status); --delete removes the ones listed."""
    from benchbench import api
    from benchbench.errors import BenchError

    records = api.stored_runs(results, where or [], smoke)
    if as_json and not delete:
        print_json(
            [
                {
                    "run_id": r.id,
                    "label": r.label,
                    "status": r.status,
                    "smoke": r.smoke,
                    "test_acc": r.summary.get("test_acc"),
                    "started": r.started,
                }
                for r in records
            ]
        )
        return
    table = Table(show_edge=False)
    for column in ("run", "label", "status", "test acc", "epochs", "started"):
        table.add_column(column, justify="right" if column in ("test acc", "epochs") else "left")
    for r in records:
        acc = r.summary.get("test_acc")
        table.add_row(
            r.id,
            r.label,
            r.status,
            "–" if acc is None else f"{acc:.4f}",
            str(r.summary.get("epochs_run", "–")),
            datetime.datetime.fromtimestamp(r.started).strftime("%Y-%m-%d %H:%M"),
        )
    (err if delete else out).print(table)
    if not delete:
        return
    if not where:
        raise BenchError(
            "bench runs --delete needs --where KEY=VALUE to choose the runs (to empty a "
            "results folder, delete the folder)."
        )
    if not yes:
        err.print(Text(f"{len(records)} run(s) would be deleted: add --yes to delete them."))
        raise typer.Exit(1)
    api.delete_runs(records, results)
    err.print(Text(f"deleted {len(records)} run(s)"))
