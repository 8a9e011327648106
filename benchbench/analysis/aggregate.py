"""``bench report --aggregate``: one score per recipe across the tasks of a benchmark (the
datasets, or whatever setting ``--task`` names), with a stratified bootstrap interval:
the interquartile mean, mean, median or optimality gap of every run of every task, as
rliable reports them. With a reference recipe each task's scores are first divided by
the reference's mean on that task, so tasks of different difficulty weigh alike."""

from __future__ import annotations

import math

from benchbench.analysis.stats import AGGREGATES
from benchbench.analysis.stats import aggregate
from benchbench.analysis.tables import Part
from benchbench.analysis.tables import provenance
from benchbench.errors import BenchError
from benchbench.metrics import METRICS
from benchbench.metrics import stored_value
from benchbench.results.query import setting
from benchbench.results.store import RunRecord


def aggregate_part(
    records: list[RunRecord],
    how: str,
    metric: str = "test_acc",
    task: str = "dataset",
    recipe: str = "label",
    reference: str | None = None,
) -> Part:
    """The table of ``how`` per recipe (``recipe``: ``label`` or a setting) across tasks."""
    import pandas as pd

    if how not in AGGREGATES:
        raise BenchError(f"--aggregate {how!r}: choose one of {', '.join(AGGREGATES)}.")
    entry = METRICS.get(metric)
    if entry is None:
        raise BenchError(f"--metric {metric!r} is not a metric. Known: {', '.join(METRICS)}.")
    scores: dict[str, dict[str, list[float]]] = {}  # recipe -> task -> values
    for r in records:
        value = stored_value(r.summary, metric) if r.status == "complete" else None
        if value is None or math.isnan(float(value)):
            continue
        keys = [k.strip() for k in recipe.split(",")]
        name = r.label if recipe == "label" else ", ".join(f"{k}={setting(r, k)}" for k in keys)
        name = name if len(keys) > 1 or recipe == "label" else str(setting(r, recipe))
        scores.setdefault(name, {}).setdefault(str(setting(r, task)), []).append(float(value))
    if not scores:
        raise BenchError(f"No complete run has a value of {metric!r} to aggregate.")
    tasks = sorted({t for by_task in scores.values() for t in by_task})
    notes = []
    if reference is not None:
        if reference not in scores:
            raise BenchError(
                f"--reference {reference!r} is not a recipe here: choose one of "
                f"{', '.join(repr(s) for s in sorted(scores))}."
            )
        base = {t: sum(v) / len(v) for t, v in scores[reference].items()}
        missing = [t for t in tasks if not base.get(t)]
        if missing:
            raise BenchError(
                f"--reference {reference!r} has no runs (or a zero mean) on {task} "
                f"{', '.join(missing)}: every task needs the reference to normalize by."
            )
        scores = {
            name: {t: [v / base[t] for v in values] for t, values in by_task.items()}
            for name, by_task in scores.items()
        }
        notes.append(f"Scores divided by {reference}'s mean on each {task} (1 = as good).")
    rows = []
    for name, by_task in scores.items():
        value, low, high = aggregate(list(by_task.values()), how)
        rows.append(
            {
                "recipe": name,
                "tasks": len(by_task),
                "runs": sum(len(v) for v in by_task.values()),
                how: value,
                "ci_low": low,
                "ci_high": high,
            }
        )
    raw = pd.DataFrame(rows)
    digits = entry.digits

    def shown_number(v):
        return "–" if math.isnan(v) else f"{v:.{digits}f}"

    shown = pd.DataFrame(
        {
            "recipe": raw["recipe"],
            "tasks": raw["tasks"].astype(str),
            "runs": raw["runs"].astype(str),
            how: [shown_number(v) for v in raw[how]],
            "95% interval": [
                "–" if math.isnan(lo) else f"[{shown_number(lo)}, {shown_number(hi)}]"
                for lo, hi in zip(raw["ci_low"], raw["ci_high"], strict=True)
            ],
        }
    )
    short = [name for name, by_task in scores.items() if len(by_task) < len(tasks)]
    if short:
        notes.append(
            f"Not on every {task} ({len(tasks)}): {', '.join(short)}; their scores are not "
            "comparable with the others'."
        )
    notes.append(
        f"{how} of {entry.title} over every run of every {task} ({', '.join(tasks)}); "
        "interval: stratified bootstrap (each task's runs resampled on their own; scipy, "
        "percentile, 10,000 resamples); none where a task has a single run."
        + (
            " Optimality gap: how far below 1 on average (lower is better)."
            if how == "optimality-gap"
            else ""
        )
    )
    return Part(
        f"{how} across {task}s: {entry.title}",
        raw,
        shown,
        ["recipe"],
        notes=notes,
        provenance=provenance(records),
    )
