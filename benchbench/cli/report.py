"""``bench report`` and ``bench show``: tables from stored results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from benchbench.cli.context import FormatOption
from benchbench.cli.context import JsonOption
from benchbench.cli.context import ResultsOption
from benchbench.cli.context import SweptProfileOption
from benchbench.cli.context import WhereOption
from benchbench.cli.context import err
from benchbench.cli.context import option
from benchbench.cli.context import optional
from benchbench.cli.context import out
from benchbench.cli.context import print_json
from benchbench.errors import BenchError
from benchbench.render.markup import visible


def report(
    format: FormatOption = "markdown",
    metrics: optional(
        str,
        "Comma-separated metric columns (see Metrics in README).",
        show_default="test_acc,train_seconds_per_epoch,val_seconds_per_epoch",
    ) = None,
    where: WhereOption = None,
    group_by: optional(str, "Aggregate by these settings, e.g. lr or arch,batch_size.") = None,
    ci: option(bool, "Add Student-t 95% intervals.") = False,
    baseline: optional(
        str, "Compare each row with this one; gaps within seed noise flagged."
    ) = None,
    output: optional(Path, "Write the table to this file.") = None,
    suite: optional(str, "Render this suite's own tables (built-in name or TOML file).") = None,
    smoke: option(
        bool,
        "Smoke runs only (wiring checks, never mixed with results; marked); with "
        "--suite: its --smoke sweep.",
    ) = False,
    per_run: option(
        bool,
        "One row per run (every setting and metric), not aggregated: csv or json.",
        "--per-run",
    ) = False,
    standalone: option(
        bool,
        "With --format latex: a complete document (preamble, tables, provenance) "
        "that pdflatex, xelatex and lualatex compile as is.",
        "--standalone",
    ) = False,
    aggregate: optional(
        str,
        "One score per recipe (label, or --group-by's setting) across tasks: iqm, "
        "mean, median or optimality-gap, with a stratified bootstrap interval.",
    ) = None,
    task: option(str, "With --aggregate: the setting that names a task.") = "dataset",
    reference: optional(
        str, "With --aggregate: divide each task's scores by this recipe's mean there."
    ) = None,
    study: optional(
        str, "Render this study's trials, best settings and final seeds (bench tune)."
    ) = None,
    profile: SweptProfileOption = None,
    results: ResultsOption = None,
) -> None:
    """Render stored runs as a table; repeats over seeds become mean ± std with n."""
    from benchbench import api

    if profile is not None and suite is None:
        raise BenchError(f"--profile {profile}: a profile is a suite's scale; give --suite SUITE.")
    if standalone and format != "latex":
        raise BenchError(
            f"--standalone writes a LaTeX document: use it with --format latex, not {format}."
        )

    chosen = [f"study={study}"] if study is not None else where or []
    records = api.stored_runs(results, [] if suite is not None else chosen, smoke)
    if per_run:
        if format not in ("csv", "json") or suite is not None:
            raise BenchError("--per-run writes --format csv or json, without --suite.")
        frame = api.runs_frame(records)  # the runs just chosen, not a second query
        from benchbench.render.markup import csv_text

        text = (
            csv_text(frame)
            if format == "csv"
            else frame.to_json(orient="records", indent=2, date_format="iso") + "\n"
        )
    elif aggregate is not None:
        text = api.aggregate(
            records,
            aggregate,
            metric=(metrics or "test_acc").split(",")[0].strip(),
            task=task,
            recipe=group_by or "label",
            reference=reference,
            fmt=format,
        )
    elif study is not None:
        text = api.study_report(study, results=results, fmt=format)
    elif suite is not None:
        parsed = api.find_suite(suite, profile=profile, swept=True, results=results, smoke=smoke)
        text = api.suite_report(parsed, results=results, smoke=smoke, fmt=format, ci=ci)
    else:
        text = api.report(
            records,
            fmt=format,
            metrics=tuple(m.strip() for m in metrics.split(",")) if metrics else None,
            group_by=tuple(g.strip() for g in group_by.split(",")) if group_by else (),
            ci=ci,
            baseline=baseline,
        )
    if standalone:
        from benchbench.render.markup import latex_document

        text = latex_document(text, f"suite {suite}" if suite else "benchbench report")
    if output is not None:
        write_output(output, text)
        err.print(f"wrote {output}")
    else:
        print(text, end="")
    if format == "csv":  # a CSV file has no place for a note: it goes beside it
        source = api.provenance(records)
        if output is not None:
            sidecar = output.with_name(output.name + ".provenance.txt")
            sidecar.write_text(source + "\n")
            err.print(f"wrote {sidecar}")
        else:
            err.print(f"provenance: {source}")
    incomplete = [r for r in records if r.status not in ("complete", "diverged")]
    diverged = [r for r in records if r.status == "diverged"]
    if (incomplete or diverged) and study is None:  # a study's pruned trials are its own
        err.print(
            f"left out: {len(incomplete)} incomplete or failed run(s), "
            f"{len(diverged)} diverged run(s)"
        )


def show(
    run: Annotated[str, typer.Argument(help="Run id (or a unique prefix, or a unique label).")],
    results: ResultsOption = None,
    as_json: JsonOption = False,
) -> None:
    """One run: config, per-epoch table, confusion matrix, per-class errors."""

    from benchbench import api
    from benchbench.metrics import commission_omission
    from benchbench.results.store import Store

    store = Store(results)
    record = store.find(run)
    history = store.history(record.id)
    matrix, classes = store.confusion(record.id) or (None, None)
    if as_json:
        data = {
            "run_id": record.id,
            "label": record.label,
            "status": record.status,
            "error": record.error,
            "config": record.config,
            "environment": record.environment,
            "summary": record.summary,
            "history": history,
            "smoke": record.smoke,
            "provenance": api.provenance([record]),
        }
        if matrix is not None:
            commission, omission = commission_omission(matrix)
            data.update(
                classes=classes,
                confusion=matrix.tolist(),
                commission=[None if c != c else c for c in commission.tolist()],
                omission=[None if o != o else o for o in omission.tolist()],
            )
        print_json(data)
        return

    out.print(
        Text.assemble((visible(record.label), "bold"), f"  run {record.id}  status {record.status}")
    )
    if record.error:
        out.print(f"error: {record.error}", markup=False)
    config = Table(title="config", title_justify="left", show_edge=False, show_header=False)
    for key, value in record.config.items():
        if value not in (None, {}, []):
            config.add_row(key, Text(visible(value)))
    for key in ("host", "precision", "layout", "load_start", "torch", "benchbench", "commit"):
        config.add_row(f"env.{key}", Text(visible(record.environment.get(key))))
    out.print(config)

    epochs = Table(title="epochs", title_justify="left", show_edge=False)
    for column in (
        "epoch",
        "lr",
        "train loss",
        "train acc",
        "val loss",
        "val acc",
        "train s",
        "val s",
    ):
        epochs.add_column(column, justify="right")
    from benchbench.analysis.tables import LOADED_MARK
    from benchbench.training.machine_load import crowded_epoch

    fmt = lambda v, d: "–" if v is None else f"{v:.{d}f}"  # noqa: E731
    cores = record.environment.get("cores") or 1
    crowded = [h for h in history if crowded_epoch(h, cores)]
    for h in history:
        epochs.add_row(
            str(h["epoch"]),
            f"{h['lr']:.2g}",
            fmt(h["train_loss"], 4),
            fmt(h["train_acc"], 4),
            fmt(h["val_loss"], 4),
            fmt(h["val_acc"], 4),
            fmt(h["train_seconds"], 2) + (LOADED_MARK if h in crowded else ""),
            fmt(h["val_seconds"], 2),
        )
    out.print(epochs)
    if crowded:
        loads = "; ".join(
            f"epoch {h['epoch']}: {h['load']:.2f}, its own {h.get('load_own') or 0.0:.2f}"
            for h in crowded
        )
        out.print(
            f"{LOADED_MARK.strip()} other processes' load exceeded the {cores} cores the run "
            f"could use (the load as the epoch ended: {loads}): these seconds are not "
            "comparable with a quiet machine's."
        )
    segments = record.environment.get("segments") or []
    if segments:
        _print_segments(segments, record.environment.get("resumed_anywhere"))
    if record.smoke:
        out.print(Text("smoke run: a wiring check at toy scale, not a result", "yellow"))
    out.print(Text(api.provenance([record]), "dim"))
    if record.summary:
        s = record.summary
        out.print(
            f"test accuracy {s['test_acc']:.4f}   best epoch {s.get('best_epoch')}   "
            f"warm-up {s['warmup_seconds']:.2f}s   parameters {s['num_parameters']:,}   "
            f"peak memory {s.get('peak_memory_mb', float('nan')):.0f} MB"
        )
    if matrix is None:
        return
    cm = Table(
        title="confusion matrix (rows: true class, columns: predicted)",
        title_justify="left",
        show_edge=False,
    )
    cm.add_column("")
    for c in classes:
        cm.add_column(c[:8], justify="right")
    for c, row in zip(classes, matrix, strict=True):
        cm.add_row(c, *[str(v) for v in row])
    out.print(cm)
    commission, omission = commission_omission(matrix)
    errors = Table(title="per-class errors", title_justify="left", show_edge=False)
    for column in ("class", "commission", "omission", "support"):
        errors.add_column(column, justify="right")
    for c, com, om, n in zip(classes, commission, omission, matrix.sum(1), strict=True):
        errors.add_row(
            c, fmt(None if com != com else com, 4), fmt(None if om != om else om, 4), str(n)
        )
    out.print(errors)


def _print_segments(segments: list[dict], anywhere: dict | None) -> None:
    """A resumed run's segments: where, how loaded, when, which epochs."""
    import datetime

    when = lambda t: (  # noqa: E731
        "–" if t is None else datetime.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")
    )
    table = Table(
        title=f"resumed: trained in {len(segments)} segments",
        title_justify="left",
        show_edge=False,
    )
    for column in ("segment", "epochs", "host", "load", "start", "end"):
        table.add_column(column)
    for i, segment in enumerate(segments, 1):
        epochs = segment.get("epochs") or ["?", "?"]
        load = f"{segment.get('load_start')} → {segment.get('load_end') or '–'}"
        table.add_row(
            str(i),
            f"{epochs[0]}–{epochs[1]}",
            Text(f"{segment.get('hostname')}: {segment.get('host')}"),
            load,
            when(segment.get("started")),
            when(segment.get("ended")),
        )
    out.print(table)
    if anywhere:
        moved = "; ".join(f"{k}: {v['was']} → {v['now']}" for k, v in anywhere.items())
        out.print(Text(f"resumed on another machine or torch version ({moved})", "yellow"))


def write_output(output: Path, text: str) -> None:
    """Write ``text`` to ``output`` (its folders made), or say plainly why not."""
    blocking = next((p for p in [output, *output.parents] if p.is_file()), None)
    if blocking is not None and blocking != output:
        raise BenchError(
            f"--output {output}: {blocking} is a file, not a folder, so nothing can be "
            "written under it. Give a path whose folders are folders (or remove that file)."
        )
    if output.is_dir():
        raise BenchError(f"--output {output} is a folder: give a file name inside it.")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
    except OSError as exc:
        raise BenchError(
            f"--output {output}: cannot write there ({exc.strerror or exc}). Give a file "
            "path in a folder you can write."
        ) from None
