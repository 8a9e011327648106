"""``bench runs``: list, filter, copy and delete stored runs."""

from __future__ import annotations

import datetime
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from benchbench.cli.context import CheckpointEveryOption
from benchbench.cli.context import JsonOption
from benchbench.cli.context import ResultsOption
from benchbench.cli.context import ResumeAnywhereOption
from benchbench.cli.context import WhereOption
from benchbench.cli.context import components
from benchbench.cli.context import err
from benchbench.cli.context import option
from benchbench.cli.context import optional
from benchbench.cli.context import out
from benchbench.cli.context import print_json
from benchbench.cli.context import resume_policy
from benchbench.cli.context import stopped_by_signal
from benchbench.render.markup import visible


def runs(
    where: WhereOption = None,
    smoke: option(bool, "The smoke runs instead of the results.") = False,
    delete: option(bool, "Delete the runs listed (with --yes): rows and artifacts.") = False,
    yes: option(bool, "Confirm --delete.", "--yes") = False,
    resume: option(
        bool,
        "Continue the listed runs that did not finish (interrupted, killed, failed) "
        "from their resume points.",
        "--resume",
    ) = False,
    copy_to: optional(
        Path,
        "Copy the runs listed into the results folder DIR (rows, epochs, "
        "artifacts, and the sweeps they belong to): to publish or merge results.",
        metavar="DIR",
    ) = None,
    weights: option(bool, "With --copy-to: copy the model weights (model.pt) too.") = True,
    checkpoint_every: CheckpointEveryOption = None,
    resume_anywhere: ResumeAnywhereOption = False,
    results: ResultsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stored runs, one line each (every status, and how far an unfinished one got);
    --delete removes the ones listed, --resume continues the unfinished ones, --copy-to
    copies the finished ones into another results folder."""
    from benchbench import api
    from benchbench.errors import BenchError

    records = api.stored_runs(results, where or [], smoke)
    if sum([resume, delete, copy_to is not None]) > 1:
        raise BenchError("--resume, --delete and --copy-to: choose one of them.")
    if copy_to is not None:
        if copy_to.exists() and not copy_to.is_dir():
            raise BenchError(f"--copy-to {copy_to} is a file; give a results folder.")
        finished = [r for r in records if r.status in ("complete", "diverged", "failed")]
        copied = api.copy_runs(finished, copy_to, results, weights)
        left = len(records) - len(finished)
        err.print(
            Text(
                f"copied {copied} run(s) into {copy_to}"
                + (f"; {left} unfinished run(s) left behind" if left else "")
            )
        )
        return
    if resume:
        _resume(records, results, resume_policy(checkpoint_every, False, resume_anywhere))
        return
    reached = api.open_store(results).epochs_stored()
    if as_json and not delete:
        print_json(
            [
                {
                    "run_id": r.id,
                    "label": r.label,
                    "status": r.status,
                    "smoke": r.smoke,
                    "test_acc": r.summary.get("test_acc"),
                    "epochs": reached.get(r.id, 0),
                    "of_epochs": r.config.get("epochs"),
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
            Text(visible(r.label)),
            r.status,
            "–" if acc is None else f"{acc:.4f}",
            str(r.summary["epochs_run"])
            if "epochs_run" in r.summary
            else f"{reached.get(r.id, 0)} of {r.config.get('epochs', '?')}",
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


def _resume(records, results, policy) -> None:
    from benchbench import api
    from benchbench.cli.run import _print_result
    from benchbench.cli.run import _progress

    with stopped_by_signal():
        done = api.resume_runs(
            records,
            results,
            components=components(),
            policy=policy,
            progress=_progress,
            on_result=_print_result,
        )
    err.print(Text(f"{len(done)} unfinished run(s) resumed and stored"))
