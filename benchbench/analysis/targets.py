"""Claims as targets: each row's mean test accuracy over its seeds against the least
accuracy a claim needs (``[[tables]] kind = "targets"``), with its n, the seed report's
own number, and the last epoch's training accuracy, which tells underfitting (near the
test accuracy) from overfitting (far above it).

A verdict never rests on a mean of draws that differ in kind: where a row's seeds fall
on both sides of the target, it is ``split``, not met.
"""

from __future__ import annotations

import json
import math
import statistics

from benchbench.analysis.tables import Part
from benchbench.analysis.tables import references
from benchbench.results.store import RunRecord

BEST = "best row"  # a target for the row (runs alike but for their seed) with the best mean


def seed_numbers(suite) -> dict[str, float]:
    """The seed report's test accuracy per row, from the references of ``suite``'s runs
    tables (the first table that names a row wins)."""
    found: dict[str, float] = {}
    for table in getattr(suite, "tables", None) or []:
        if table.options.get("reference") and table.kind == "runs":
            given = references(table.options["reference"], table.options.get("metrics"))
            found = {**given.get("test_acc", {}), **found}
    return found


def _rows_alike(runs: list[RunRecord]) -> list[list[RunRecord]]:
    """The complete runs grouped by everything but their seed."""
    rows: dict[str, list[RunRecord]] = {}
    for r in runs:
        if r.status == "complete":
            alike = {k: v for k, v in r.config.items() if k != "seed"}
            rows.setdefault(json.dumps(alike, sort_keys=True), []).append(r)
    return list(rows.values())


def targets_part(
    runs: list[RunRecord],
    store,
    targets: dict[str, float],
    reference: dict[str, float],
    title: str | None = None,
    above_chance: float | None = None,
) -> Part:
    """One row per target: ``targets`` maps a row label (or :data:`BEST`) to the least
    test accuracy it claims; ``reference`` holds the seed report's numbers by label."""
    import pandas as pd

    rows, raw = [], []
    for label, least in targets.items():
        chosen = [r for r in runs if r.status == "complete" and r.label == label]
        shown_label = label
        if label == BEST:
            candidates = _rows_alike(runs)
            chosen = max(
                candidates,
                key=lambda rs: statistics.fmean(r.summary["test_acc"] for r in rs),
                default=[],
            )
            if chosen:  # that row's mean over its seeds, not one lucky draw
                shown_label = f"{BEST} ({chosen[0].label})"
                # a run two rows share is listed under each label: count it once
                chosen = [r for r in chosen if r.label == chosen[0].label]
        draws = [r.summary["test_acc"] for r in chosen]
        trains = [h[-1]["train_acc"] for r in chosen if (h := store.history(r.id))]
        mean = statistics.fmean(draws) if draws else None
        train = statistics.fmean(trains) if trains else math.nan
        met = "not trained" if mean is None else "yes" if mean >= least else "no"
        if len(draws) > 1 and min(draws) < least <= max(draws):
            met = f"split: {sum(d >= least for d in draws)} of {len(draws)} seeds"
        chance = " (above chance)" if above_chance is not None and least == above_chance else ""
        rows.append(
            {
                "Row": shown_label,
                "Target": f"≥ {least:.2f}{chance}",
                "Ours (test)": "–" if mean is None else f"{mean:.4f}",
                "n": len(draws),
                "Seed": f"{reference[shown_label]:.4f}" if shown_label in reference else "–",
                "Ours, train acc (last epoch)": "–" if math.isnan(train) else f"{train:.4f}",
                "Met": met,
            }
        )
        raw.append(
            {
                "row": shown_label,
                "target": least,
                "test_acc": math.nan if mean is None else mean,
                "n": len(draws),
                "seed": reference.get(shown_label, math.nan),
                "train_acc": train,
                "met": met,
            }
        )
    shown = pd.DataFrame(rows, columns=list(rows[0]) if rows else ["Row"])
    return Part(
        title,
        pd.DataFrame(raw),
        shown,
        ["Row", "Target", "Met"],
        notes=[
            "Ours (test): the row's mean test accuracy over its n seeds; split: its seeds "
            "fall on both sides of the target, so no verdict rests on their mean."
        ],
    )


def row_facts(runs: list[RunRecord], store, baseline: str | None = None) -> dict[str, dict]:
    """The figures a report's prose may quote, per row label, from its complete runs:
    ``test`` (mean test accuracy), ``train`` (mean last-epoch training accuracy), ``sd``
    (seed-to-seed standard deviation; NaN for one seed), ``n``, ``seed`` (test accuracy
    by seed), and against the ``baseline`` row: ``delta`` and ``sds`` (the difference
    over the two rows' pooled standard deviation)."""
    by_label: dict[str, list[RunRecord]] = {}
    for r in runs:
        if r.status == "complete":
            by_label.setdefault(r.label, []).append(r)
    facts: dict[str, dict] = {k: {} for k in ("test", "train", "sd", "n", "delta", "sds", "seed")}
    for label, chosen in by_label.items():
        tests = [r.summary["test_acc"] for r in chosen]
        trains = [h[-1]["train_acc"] for r in chosen if (h := store.history(r.id))]
        facts["seed"][label] = {r.config.get("seed"): r.summary["test_acc"] for r in chosen}
        facts["test"][label] = statistics.fmean(tests)
        facts["train"][label] = statistics.fmean(trains) if trains else math.nan
        facts["sd"][label] = statistics.stdev(tests) if len(tests) > 1 else math.nan
        facts["n"][label] = len(tests)
    for label in by_label if baseline in by_label else ():
        facts["delta"][label] = facts["test"][label] - facts["test"][baseline]
        pooled = math.sqrt((facts["sd"][label] ** 2 + facts["sd"][baseline] ** 2) / 2)
        facts["sds"][label] = abs(facts["delta"][label]) / pooled if pooled else math.nan
    return facts
