"""``bench report`` and ``bench show``: tables from stored results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from benchbench.cli.context import JsonOption, ResultsOption, err, out, print_json
from benchbench.errors import BenchError


def report(
    format: Annotated[
        str, typer.Option("--format", help="markdown, latex, csv, json or html.")
    ] = "markdown",
    metrics: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated metric columns [default: test_acc,train_seconds_per_epoch,"
            "val_seconds_per_epoch].",
            show_default=False,
        ),
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(
            metavar="KEY=VALUE",
            help="Only runs with this setting, e.g. --where arch=cnn_small --where arch.bn=true.",
            show_default=False,
        ),
    ] = None,
    group_by: Annotated[
        str | None,
        typer.Option(
            help="Aggregate by these settings, e.g. lr or arch,batch_size.", show_default=False
        ),
    ] = None,
    ci: Annotated[bool, typer.Option(help="Add bootstrap 95% intervals.")] = False,
    baseline: Annotated[
        str | None,
        typer.Option(
            help="Compare every row with this one (an ablation's full model); "
            "differences within the seed noise are flagged.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[Path | None, typer.Option(help="Write the table to this file.")] = None,
    suite: Annotated[
        str | None,
        typer.Option(
            help="Render this suite's own tables (built-in name or TOML file).", show_default=False
        ),
    ] = None,
    smoke: Annotated[bool, typer.Option(help="With --suite: its --smoke sweep.")] = False,
    results: ResultsOption = None,
) -> None:
    """Render stored runs as a table; repeats over seeds become mean ± std with n."""
    from benchbench.analysis.tables import DEFAULT_METRICS, Spec, render, render_suite
    from benchbench.analysis.tables import where as filter_runs
    from benchbench.results.store import Store

    store = Store(results)
    records = store.runs()
    if not records:
        raise BenchError(
            f"No runs stored in {store.root}. Run `bench run` first, or pass "
            "--results DIR where your runs live."
        )
    if suite is not None:
        from benchbench.execution import suite as suites
        from benchbench.execution.sweep import suite_key

        parsed = suites.find(suite)
        figures = (
            _suite_figures(store, parsed, suite_key(parsed, smoke)) if format == "html" else []
        )
        text = render_suite(store, parsed, suite_key(parsed, smoke), format, ci=ci, figures=figures)
    else:
        records = filter_runs(records, where or [])
        if not records:
            raise BenchError(f"No stored run matches {' '.join(where or [])}.")
        chosen = tuple(m.strip() for m in metrics.split(",")) if metrics else DEFAULT_METRICS
        groups = tuple(g.strip() for g in group_by.split(",")) if group_by else ()
        text = render(records, format, Spec(chosen, group_by=groups, ci=ci, baseline=baseline))
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
        err.print(f"wrote {output}")
    else:
        print(text, end="")
    incomplete = [r for r in records if r.status not in ("complete", "diverged")]
    diverged = [r for r in records if r.status == "diverged"]
    if incomplete or diverged:
        err.print(
            f"left out: {len(incomplete)} incomplete or failed run(s), "
            f"{len(diverged)} diverged run(s)"
        )


def _suite_figures(store, suite, key: str) -> list[tuple[str, str]]:
    """For the HTML page: per table, a box plot over repeats and the best run's curves
    and confusion matrix."""

    from benchbench.analysis.tables import METRICS, setting
    from benchbench.render import figures as plots

    members = store.suite_members(key)
    records = {r.id: r for r in store.runs() if r.status == "complete"}
    figures = []
    for table in suite.tables:
        if table.kind != "runs":
            continue
        runs = [
            records[m["run_id"]]
            for m in members
            if table.group in ("all", m["group"]) and m["run_id"] in records
        ]
        runs = list({r.id: r for r in runs}.values())
        metric = table.metrics[0]
        if not runs or metric not in METRICS:
            continue
        groups: dict[str, list[float]] = {}
        for r in runs:
            groups.setdefault(str(setting(r, table.rows)), []).append(r.summary[metric])
        name = METRICS[metric][0]
        if any(len(v) > 1 for v in groups.values()):
            figures.append(
                (
                    f"{table.title}: {name} over repeats",
                    plots.to_base64(plots.box(groups, table.rows, name)),
                )
            )
        best = max(runs, key=lambda r: r.summary[metric])
        figures.append(
            (
                f"{table.title}: curves of {best.label} [{best.id}]",
                plots.to_base64(plots.curves(store.history(best.id))),
            )
        )
        stored = store.confusion(best.id)
        if stored is not None:
            matrix, classes = stored
            figures.append(
                (
                    f"{table.title}: normalized confusion matrix of {best.label}",
                    plots.to_base64(plots.confusion(matrix, classes)),
                )
            )
    return figures


def show(
    run: Annotated[str, typer.Argument(help="Run id (or a unique prefix, or a unique label).")],
    results: ResultsOption = None,
    as_json: JsonOption = False,
) -> None:
    """One run: config, per-epoch table, confusion matrix, per-class errors."""

    from benchbench.results.store import Store
    from benchbench.training.metrics import commission_omission

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

    out.print(f"[bold]{record.label}[/bold]  run {record.id}  status {record.status}")
    if record.error:
        out.print(f"error: {record.error}", markup=False)
    config = Table(title="config", title_justify="left", show_edge=False, show_header=False)
    for key, value in record.config.items():
        if value not in (None, {}, []):
            config.add_row(key, str(value))
    for key in ("device_name", "torch", "benchbench"):
        config.add_row(f"env.{key}", str(record.environment.get(key)))
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
    fmt = lambda v, d: "–" if v is None else f"{v:.{d}f}"  # noqa: E731
    for h in history:
        epochs.add_row(
            str(h["epoch"]),
            f"{h['lr']:.2g}",
            fmt(h["train_loss"], 4),
            fmt(h["train_acc"], 4),
            fmt(h["val_loss"], 4),
            fmt(h["val_acc"], 4),
            fmt(h["train_seconds"], 2),
            fmt(h["val_seconds"], 2),
        )
    out.print(epochs)
    if record.summary:
        s = record.summary
        out.print(
            f"test accuracy {s['test_acc']:.4f}   best epoch {s.get('best_epoch')}   "
            f"warm-up {s['warmup_seconds']:.2f}s   parameters {s['num_parameters']:,}"
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
