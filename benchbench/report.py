"""Tables from stored runs: pandas frames rendered as Markdown, LaTeX, CSV or JSON.

Runs that differ only in their seed are repeats of one configuration: a table row shows
their mean ± sample standard deviation and how many there are (n).
"""

from __future__ import annotations

import math
import re

import pandas as pd

from benchbench.errors import BenchError
from benchbench.store import RunRecord

FORMATS = ("markdown", "latex", "csv", "json")
# metric key in a run's summary → (column title, digits)
METRICS = {
    "test_acc": ("Accuracy", 4),
    "train_seconds_per_epoch": ("Train s/epoch", 2),
    "val_seconds_per_epoch": ("Val s/epoch", 2),
    "best_val_acc": ("Best val acc", 4),
    "max_train_acc": ("Max train acc", 4),
    "train_seconds_total": ("Train s", 1),
    "epochs_run": ("Epochs", 0),
    "num_parameters": ("Parameters", 0),
    "warmup_seconds": ("Warm-up s", 2),
}
DEFAULT_METRICS = ("test_acc", "train_seconds_per_epoch", "val_seconds_per_epoch")


def _natural(label: str):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(label))]


def runs_frame(records: list[RunRecord]) -> pd.DataFrame:
    """One row per stored run with its label, group, seed, status and summary metrics."""
    rows = []
    for r in records:
        row = {
            "run_id": r.id,
            "group_id": r.group_id,
            "label": r.label,
            "status": r.status,
            "seed": r.config.get("seed"),
        }
        row.update({k: r.summary.get(k) for k in METRICS})
        rows.append(row)
    columns = ["run_id", "group_id", "label", "status", "seed", *METRICS]
    return pd.DataFrame(rows, columns=columns)


def aggregate(records: list[RunRecord], metrics=DEFAULT_METRICS) -> pd.DataFrame:
    """One row per configuration: ``label``, ``n``, ``<metric>_mean`` and ``<metric>_std``."""
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise BenchError(
            f"Unknown metric(s) {', '.join(unknown)}: choose from {', '.join(METRICS)}."
        )
    frame = runs_frame([r for r in records if r.status == "complete"])
    if frame.empty:
        return pd.DataFrame(
            columns=["label", "n", *[f"{m}_{s}" for m in metrics for s in ("mean", "std")]]
        )
    frame[list(metrics)] = frame[list(metrics)].astype(float)
    grouped = frame.groupby("group_id", sort=False)
    table = grouped[list(metrics)].agg(["mean", "std"])
    table.columns = [f"{metric}_{stat}" for metric, stat in table.columns]
    table.insert(0, "n", grouped.size())
    table.insert(0, "label", grouped["label"].first())
    table["run_ids"] = grouped["run_id"].agg(" ".join)
    table = table.reset_index(drop=True)
    return table.iloc[
        sorted(range(len(table)), key=lambda i: _natural(table.label[i]))
    ].reset_index(drop=True)


def _cell(mean: float, std: float, n: int, digits: int, pm: str) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    text = f"{mean:,.{digits}f}" if digits == 0 else f"{mean:.{digits}f}"
    if n > 1 and std == std:  # std is NaN for a single run
        text += f" {pm} {std:.{digits}f}" if digits else f" {pm} {std:,.0f}"
    return text


def display(table: pd.DataFrame, metrics=DEFAULT_METRICS, pm: str = "±") -> pd.DataFrame:
    """Human-facing cells: ``mean ± std`` per metric, the label first, n last."""
    out = pd.DataFrame({"Model": table["label"]})
    for m in metrics:
        title, digits = METRICS[m]
        out[title] = [
            _cell(a, s, n, digits, pm)
            for a, s, n in zip(table[f"{m}_mean"], table[f"{m}_std"], table["n"], strict=True)
        ]
    out["n"] = table["n"].astype(int)
    return out


def render(records: list[RunRecord], fmt: str, metrics=DEFAULT_METRICS) -> str:
    """The report table of ``records`` in ``fmt`` (markdown, latex, csv or json)."""
    if fmt not in FORMATS:
        raise BenchError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}.")
    table = aggregate(records, metrics)
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "json":
        return table.to_json(orient="records", indent=2) + "\n"
    if fmt == "markdown":
        return display(table, metrics).to_markdown(index=False, disable_numparse=True) + "\n"
    frame = display(table, metrics, pm=r"$\pm$")
    styler = frame.style.hide(axis="index")
    styler = styler.format(escape="latex", subset=["Model"])
    styler = styler.format_index(escape="latex", axis=1)
    return styler.to_latex(hrules=True, column_format="l" + "r" * (frame.shape[1] - 1))
