"""``--sink`` on ``bench run`` and ``bench sweep``, and ``bench export``: runs out to
experiment trackers (MLflow, TensorBoard, or a plugin's sink)."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from benchbench.cli.context import JsonOption
from benchbench.cli.context import ResultsOption
from benchbench.cli.context import WhereOption
from benchbench.cli.context import components
from benchbench.cli.context import err
from benchbench.cli.context import option
from benchbench.cli.context import optional
from benchbench.cli.context import print_json
from benchbench.errors import BenchError

SinkOption = Annotated[
    list[str] | None,
    typer.Option(
        "--sink",
        metavar="NAME[=TARGET]",
        help="Also send each run to a result sink as it trains: mlflow[=TRACKING_URI], "
        "tensorboard[=FOLDER], or a plugin's (`bench list sinks`); repeatable.",
        show_default=False,
    ),
]


def make_sinks(specs: list[str]) -> list:
    """The sinks ``NAME[=TARGET]`` names, created through their plugins."""
    made = []
    for spec in specs:
        name, _, target = spec.partition("=")
        entry = components().sinks.get(name.strip())
        made.append(entry.create({"target": target.strip() or None}))
    return made


def figures_of(folder: Path):
    """An artifacts function drawing a run's curves and confusion matrix into ``folder``."""

    def draw(store, record) -> dict[str, Path]:
        from benchbench.render import figures

        if record.status != "complete":
            return {}
        out = {}
        history = store.history(record.id)
        stored = store.confusion(record.id)
        title = f"{record.label} [{record.id}]"
        drawn = [("curves", figures.curves(history, title, record.config))]
        if stored is not None:
            drawn.append(("confusion", figures.confusion(*stored, record.label)))
        for kind, fig in drawn:
            (path,) = figures.save(fig, folder / record.id / kind, ("png",))
            out[path.name] = path
        return out

    return draw


@contextlib.contextmanager
def sinks_attached(specs: list[str] | None):
    """Attach the ``--sink`` sinks (with figures) for the duration of a command."""
    from benchbench.execution import sinks

    if not specs:
        yield
        return
    made = make_sinks(specs)
    with tempfile.TemporaryDirectory(prefix="bench-sink-") as folder:
        with sinks.attached(made, figures_of(Path(folder))):
            yield


def export(
    sink: Annotated[
        str, typer.Argument(metavar="NAME[=TARGET]", help="mlflow[=URI], tensorboard[=DIR], ...")
    ],
    where: WhereOption = None,
    study: optional(
        str,
        "Export study NAME's trials (bench tune): in MLflow, as children of one "
        "parent run that holds the study's settings and best value.",
    ) = None,
    force: option(bool, "Export runs a tracker already holds again.") = False,
    results: ResultsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send stored runs to an experiment tracker: config, environment, every epoch,
    summary, confusion matrix and figures. Runs MLflow already holds are skipped."""
    from benchbench import api
    from benchbench.execution import sinks

    store = api.open_store(results)
    if study is not None:
        from benchbench.results import studies

        params, numbers = studies.summary(store.root, study)  # a clear error if none
        where = [*(where or []), f"study={study}"]
    every = None if study is not None else False  # a study's trials, smoke runs or not
    records = [
        r for r in api.stored_runs(results, where or [], smoke=every) if r.status != "running"
    ]
    (made,) = make_sinks([sink])
    sent, skipped = [], []
    nests = study is not None and hasattr(made, "study_started")
    if study is not None and not nests:
        err.print(Text(f"{sink} has no parent runs: the study's trials go as single runs."))
    with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
        with sinks.attached([made], figures_of(Path(folder))):
            if nests:
                made.study_started(study, params, numbers)
            for record in records:
                exported = getattr(made, "exported", None)
                if not force and exported is not None and exported(record.id):
                    skipped.append(record.id)
                    continue
                sinks.replay(store, record)
                if not sinks.is_attached(made):
                    raise BenchError(
                        f"{sink} failed while exporting run {record.id} (see the warning "
                        f"above); {len(sent)} run(s) were exported before it. Fix the "
                        "tracker and run the same command again: what it holds is skipped."
                    )
                sent.append(record.id)
            if nests:
                made.study_ended()
    if as_json:
        print_json({"exported": sent, "skipped": skipped})
    else:
        err.print(
            Text(
                f"exported {len(sent)} run(s) to {sink}"
                + (f"; {len(skipped)} already there (--force to send again)" if skipped else "")
            )
        )
