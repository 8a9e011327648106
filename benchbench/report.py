"""Tables from stored runs: pandas frames rendered as Markdown, LaTeX, CSV or JSON.

Runs that differ only in their seed are repeats of one configuration: a table row shows
their mean ± sample standard deviation and how many there are (n).
"""

from __future__ import annotations

import json
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
    "final_train_loss": ("Final train loss", 3),
    "final_val_loss": ("Final val loss", 3),
    "test_loss": ("Test loss", 3),
}
DEFAULT_METRICS = ("test_acc", "train_seconds_per_epoch", "val_seconds_per_epoch")


def _natural(label: str):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(label))]


def row_value(record: RunRecord, rows: str):
    """What names a run's row: its label, or a setting such as ``lr`` or ``arch.dropout``."""
    if rows == "label":
        return record.label
    scope, _, option = rows.partition(".")
    if option and scope in ("arch", "dataset"):
        return record.config.get(f"{scope}_options", {}).get(option, "default")
    value = record.config.get(rows)
    return "+".join(value) or "none" if isinstance(value, list) else value


def runs_frame(records: list[RunRecord], rows: str = "label") -> pd.DataFrame:
    """One row per stored run with its row name, group, seed, status and summary metrics."""
    frame = []
    for r in records:
        row = {
            "run_id": r.id,
            "group_id": r.group_id,
            "label": row_value(r, rows),
            "status": r.status,
            "seed": r.config.get("seed"),
        }
        row.update({k: r.summary.get(k) for k in METRICS})
        frame.append(row)
    columns = ["run_id", "group_id", "label", "status", "seed", *METRICS]
    return pd.DataFrame(frame, columns=columns)


def _check_metrics(metrics) -> None:
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise BenchError(
            f"Unknown metric(s) {', '.join(unknown)}: choose from {', '.join(METRICS)}."
        )


def aggregate(
    records: list[RunRecord], metrics=DEFAULT_METRICS, rows: str = "label", keep_order: bool = False
) -> pd.DataFrame:
    """One row per configuration: ``label``, ``n``, ``<metric>_mean`` and ``<metric>_std``.

    Rows come in natural order of their labels, or in the order of ``records`` with
    ``keep_order`` (a suite's own order).
    """
    _check_metrics(metrics)
    frame = runs_frame([r for r in records if r.status == "complete"], rows)
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
    if keep_order:
        return table
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


def display(
    table: pd.DataFrame, metrics=DEFAULT_METRICS, pm: str = "±", first: dict[str, str] | None = None
) -> pd.DataFrame:
    """Human-facing cells: the row names first (``first``: column → table column, default
    Model → label), then ``mean ± std`` per metric, n last."""
    first = first or {"Model": "label"}
    out = pd.DataFrame({title: table[column].map(str) for title, column in first.items()})
    for m in metrics:
        title, digits = METRICS[m]
        out[title] = [
            _cell(a, s, n, digits, pm)
            for a, s, n in zip(table[f"{m}_mean"], table[f"{m}_std"], table["n"], strict=True)
        ]
    out["n"] = table["n"].astype(int)
    return out


def _latex(frame: pd.DataFrame, text_columns: list[str], caption: str | None = None) -> str:
    styler = frame.style.hide(axis="index")
    styler = styler.format(escape="latex", subset=text_columns)
    styler = styler.format_index(escape="latex", axis=1)
    return styler.to_latex(
        hrules=True,
        caption=_tex_escape(caption) if caption else None,
        column_format="l" * len(text_columns) + "r" * (frame.shape[1] - len(text_columns)),
    )


_TEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _tex_escape(text: str) -> str:
    return "".join(_TEX_SPECIAL.get(c, c) for c in text)


def _emit(parts: list[tuple[str | None, pd.DataFrame, pd.DataFrame, list[str]]], fmt: str) -> str:
    """Render ``(title, raw table, display frame, text columns)`` parts in ``fmt``."""
    if fmt not in FORMATS:
        raise BenchError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}.")
    if fmt == "csv":
        frames = [raw.assign(table=title) if title else raw for title, raw, _, _ in parts]
        return pd.concat(frames, ignore_index=True).to_csv(index=False)
    if fmt == "json":
        if len(parts) == 1 and parts[0][0] is None:
            return parts[0][1].to_json(orient="records", indent=2) + "\n"
        data = [
            {"title": title, "rows": json.loads(raw.to_json(orient="records"))}
            for title, raw, _, _ in parts
        ]
        return json.dumps(data, indent=2) + "\n"
    texts = []
    for title, _, frame, text_columns in parts:
        if fmt == "markdown":
            table = frame.to_markdown(index=False, disable_numparse=True)
            texts.append(f"**{title}**\n\n{table}\n" if title else table + "\n")
        else:
            texts.append(_latex(frame, text_columns, title))
    return "\n".join(texts)


def render(records: list[RunRecord], fmt: str, metrics=DEFAULT_METRICS) -> str:
    """The report table of ``records`` in ``fmt`` (markdown, latex, csv or json)."""
    if fmt not in FORMATS:
        raise BenchError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}.")
    table = aggregate(records, metrics)
    pm = r"$\pm$" if fmt == "latex" else "±"
    return _emit([(None, table, display(table, metrics, pm), ["Model"])], fmt)


# -- suites --------------------------------------------------------------------------------


def tuning_table(
    members: list[dict], records: dict[str, RunRecord], metrics, chosen_by: str
) -> pd.DataFrame:
    """One row per (model, tuned setting, value): mean ± std over repeats, the pick marked."""
    rows = []
    for m in members:
        record = records.get(m["run_id"])
        if record is None or record.status != "complete":
            continue
        rows.append(
            {
                "label": record.label,
                "setting": m["setting"],
                "value": str(m["value"]),
                **{k: record.summary.get(k) for k in metrics},
            }
        )
    frame = pd.DataFrame(rows, columns=["label", "setting", "value", *metrics])
    frame[list(metrics)] = frame[list(metrics)].astype(float)
    grouped = frame.groupby(["label", "setting", "value"], sort=False)
    table = grouped[list(metrics)].agg(["mean", "std"])
    table.columns = [f"{metric}_{stat}" for metric, stat in table.columns]
    table.insert(0, "n", grouped.size())
    table = table.reset_index()
    # The first best value of each step, as the sweep chose it.
    picks = table.groupby(["label", "setting"], sort=False)[f"{chosen_by}_mean"].idxmax()
    table["chosen"] = table.index.isin(picks.dropna().astype(int))
    return table


def render_suite(store, suite, key: str, fmt: str) -> str:
    """Every table a suite declares, from the runs its last sweep recorded."""
    members = store.suite_members(key)
    if not members:
        raise BenchError(
            f"No sweep of suite {key!r} is stored in {store.root}. Run `bench "
            f"sweep {suite.name}` first (with the same --smoke and --results)."
        )
    records = {r.id: r for r in store.runs()}
    pm = r"$\pm$" if fmt == "latex" else "±"
    parts = []
    for table in suite.tables:
        chosen = [m for m in members if table.group in ("all", m["group"])]
        if table.kind == "tuning":
            metric = suite.tune.metric if suite.tune else table.metrics[0]
            metrics = list(dict.fromkeys([metric, *table.metrics]))
            _check_metrics(metrics)
            raw = tuning_table(chosen, records, metrics, metric)
            shown = display(
                raw, metrics, pm, {"Model": "label", "Setting": "setting", "Value": "value"}
            )
            shown["Value"] = [
                f"{v} *" if c else v for v, c in zip(shown["Value"], raw["chosen"], strict=True)
            ]
            parts.append((f"{table.title} (* = chosen)", raw, shown, ["Model", "Setting", "Value"]))
            continue
        if table.kind != "runs":
            raise BenchError(
                f"Table {table.title!r} of kind {table.kind!r} is rendered by "
                "`bench report --ensemble` / `--ood` in a later version."
            )
        runs = list(
            {m["run_id"]: records[m["run_id"]] for m in chosen if m["run_id"] in records}.values()
        )
        raw = aggregate(runs, table.metrics, rows=table.rows, keep_order=True)
        title = "Model" if table.rows == "label" else table.rows
        parts.append((table.title, raw, display(raw, table.metrics, pm, {title: "label"}), [title]))
    return _emit(parts, fmt)
