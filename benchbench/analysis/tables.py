"""Tables from stored runs: pandas frames rendered as Markdown, LaTeX, CSV, JSON or HTML.

Runs that differ only in their seed are repeats of one configuration: a table row shows
their mean ± sample standard deviation and how many there are (n); ``ci`` adds bootstrap
95% intervals. The best row of the first metric is bold only when its interval is clear
of the runner-up's; otherwise the overlapping rows are marked tied.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

import pandas as pd

from benchbench.analysis import stats
from benchbench.config import parse_value
from benchbench.errors import BenchError
from benchbench.results.store import RunRecord

FORMATS = ("markdown", "latex", "csv", "json", "html")
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


@dataclass
class Spec:
    """How to turn runs into one table."""

    metrics: tuple[str, ...] = DEFAULT_METRICS
    rows: str = "label"  # what names a row: the run label or a setting
    group_by: tuple[str, ...] = ()  # aggregate over these settings instead of whole configs
    ci: bool = False
    baseline: str | None = None  # row to compare the others against (ablations)
    reference: dict[str, float] = field(default_factory=dict)  # the seed report's numbers
    keep_order: bool = False
    title: str | None = None


@dataclass
class Part:
    """A rendered table: raw numbers (CSV/JSON), display cells, and notes."""

    title: str | None
    raw: pd.DataFrame
    shown: pd.DataFrame
    text_columns: list[str]
    bold: list[tuple[int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _natural(label: str):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(label))]


def setting(record: RunRecord, key: str):
    """A run's setting by name: ``lr``, ``arch``, or a plugin option ``arch.bn``."""
    if key == "label":
        return record.label
    scope, _, option = key.partition(".")
    if option and scope in ("arch", "dataset"):
        return record.config.get(f"{scope}_options", {}).get(option, "default")
    if option and scope == "aug":
        name, _, opt = option.partition(".")
        return record.config.get("aug_options", {}).get(name, {}).get(opt, "default")
    if key not in record.config:
        raise BenchError(
            f"No setting {key!r} in the stored runs; settings are the `bench run` "
            "options by name (lr, batch_size, arch, ...) or arch.OPTION."
        )
    value = record.config.get(key)
    return "+".join(value) or "none" if isinstance(value, list) else value


def where(records: list[RunRecord], filters: list[str]) -> list[RunRecord]:
    """The runs whose settings match every ``KEY=VALUE`` of ``filters``."""
    for item in filters:
        key, sep, text = item.partition("=")
        if not sep:
            raise BenchError(f"--where {item!r}: write KEY=VALUE, e.g. --where arch=cnn_small.")
        wanted = parse_value(text)
        records = [
            r
            for r in records
            if setting(r, key.strip()) == wanted or str(setting(r, key.strip())) == text
        ]
    return records


def _check_metrics(metrics) -> None:
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise BenchError(
            f"Unknown metric(s) {', '.join(unknown)}: choose from {', '.join(METRICS)}."
        )


def runs_frame(records: list[RunRecord], spec: Spec) -> pd.DataFrame:
    """One row per complete run: its row name, the key it aggregates under, metrics."""
    rows = []
    for r in records:
        if r.status != "complete":
            continue
        if spec.group_by:
            values = [setting(r, k) for k in spec.group_by]
            key = json.dumps(values, default=str)
            label = ", ".join(f"{k}={v}" for k, v in zip(spec.group_by, values, strict=True))
        else:
            key, label = r.group_id, setting(r, spec.rows)
        rows.append(
            {
                "run_id": r.id,
                "key": key,
                "label": label,
                "seed": r.config.get("seed"),
                **{m: r.summary.get(m) for m in spec.metrics},
            }
        )
    return pd.DataFrame(rows, columns=["run_id", "key", "label", "seed", *spec.metrics])


def aggregate(records: list[RunRecord], spec: Spec) -> pd.DataFrame:
    """One row per configuration (or ``group_by`` value): label, n, mean, std [, ci]."""
    _check_metrics(spec.metrics)
    metrics = list(spec.metrics)
    frame = runs_frame(records, spec)
    columns = ["label", "n", *[f"{m}_{s}" for m in metrics for s in ("mean", "std")]]
    if frame.empty:
        return pd.DataFrame(columns=columns + ["run_ids"])
    frame[metrics] = frame[metrics].astype(float)
    grouped = frame.groupby("key", sort=False)
    table = grouped[metrics].agg(["mean", "std"])
    table.columns = [f"{metric}_{stat}" for metric, stat in table.columns]
    table.insert(0, "n", grouped.size())
    table.insert(0, "label", grouped["label"].first())
    # The first metric always gets its interval: marking the best row depends on it.
    for m in metrics if spec.ci else metrics[:1]:
        intervals = grouped[m].apply(lambda v: stats.bootstrap_ci(v.tolist()))
        table[f"{m}_ci_low"] = [lo for lo, _ in intervals]
        table[f"{m}_ci_high"] = [hi for _, hi in intervals]
    table["run_ids"] = grouped["run_id"].agg(" ".join)
    table = table.reset_index(drop=True)
    if not spec.keep_order:
        order = sorted(range(len(table)), key=lambda i: _natural(table.label[i]))
        table = table.iloc[order].reset_index(drop=True)
    return table


def _number(value: float, digits: int) -> str:
    return f"{value:,.0f}" if digits == 0 else f"{value:.{digits}f}"


def _cell(mean, std, n, digits: int, pm: str, interval=None) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    text = _number(mean, digits)
    if n > 1 and std == std:  # std is NaN for a single run
        text += f" {pm} {_number(std, digits)}"
    if interval is not None and not math.isnan(interval[0]):
        text += f" [{_number(interval[0], digits)}, {_number(interval[1], digits)}]"
    return text


def build(records: list[RunRecord], spec: Spec, fmt: str) -> Part:
    """Aggregate ``records`` and lay the table out for ``fmt``, with its marks and notes."""
    raw = aggregate(records, spec)
    pm = r"$\pm$" if fmt == "latex" else "±"
    row_title = (
        "Model"
        if spec.rows == "label" and not spec.group_by
        else (", ".join(spec.group_by) or spec.rows)
    )
    shown = pd.DataFrame({row_title: raw["label"].map(str)})
    for m in spec.metrics:
        title, digits = METRICS[m]
        intervals = (
            zip(raw[f"{m}_ci_low"], raw[f"{m}_ci_high"], strict=True)
            if spec.ci
            else [None] * len(raw)
        )
        shown[title] = [
            _cell(a, s, n, digits, pm, ci)
            for a, s, n, ci in zip(
                raw[f"{m}_mean"], raw[f"{m}_std"], raw["n"], intervals, strict=True
            )
        ]
    shown["n"] = raw["n"].astype(int)
    part = Part(spec.title, raw, shown, [row_title])
    if raw.empty:
        return part
    first = spec.metrics[0]
    means = raw[f"{first}_mean"].tolist()
    intervals = list(zip(raw[f"{first}_ci_low"], raw[f"{first}_ci_high"], strict=True))
    best, tied, note = stats.rank_best(means, intervals, first)
    column = METRICS[first][0]
    if best is not None:
        part.bold.append((best, column))
    for i in tied:
        shown.loc[i, column] += " (tied)"
    if note:
        part.notes.append(f"{column}: {note}.")
    if spec.baseline is not None:
        _add_deltas(part, raw, spec, first, column)
    if spec.reference:
        shown["Report"] = [
            _number(spec.reference[label], METRICS[first][1]) if label in spec.reference else "–"
            for label in raw["label"]
        ]
        part.notes.append("Report: the seed report's own number, for comparison.")
    return part


def _add_deltas(part: Part, raw: pd.DataFrame, spec: Spec, metric: str, column: str) -> None:
    matches = raw.index[raw["label"] == spec.baseline].tolist()
    if not matches:
        raise BenchError(
            f"--baseline {spec.baseline!r} is not a row of this table "
            f"({', '.join(map(str, raw['label']))})."
        )
    base = raw.loc[matches[0]]
    digits = METRICS[metric][1]
    cells, flagged = [], False
    for _, row in raw.iterrows():
        if row["label"] == spec.baseline:
            cells.append("baseline")
            continue
        delta = row[f"{metric}_mean"] - base[f"{metric}_mean"]
        noise = stats.within_noise(delta, row[f"{metric}_std"], base[f"{metric}_std"])
        text = f"{delta:+.{digits}f}"
        if noise:
            text += " (within noise)"
            flagged = True
        elif noise is None:
            text += " (n=1)"
        cells.append(text)
    part.shown[f"Diff. vs {spec.baseline}"] = cells
    if flagged:
        part.notes.append(
            f"within noise: the difference in {column.lower()} is smaller than "
            "the seed-to-seed standard deviation."
        )


# -- output ---------------------------------------------------------------------------------

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


def tex_escape(text: str) -> str:
    return "".join(_TEX_SPECIAL.get(c, c) for c in text)


def _markdown(part: Part) -> str:
    shown = part.shown.copy()
    for row, column in part.bold:
        shown.loc[row, column] = f"**{shown.loc[row, column]}**"
    text = "" if shown.empty else shown.to_markdown(index=False, disable_numparse=True) + "\n"
    if part.notes:
        text += "\n" + "\n".join(f"*{note}*" for note in part.notes) + "\n"
    return f"**{part.title}**\n\n{text}" if part.title else text


def _styler(part: Part, fmt: str):
    styler = part.shown.style.hide(axis="index")
    bold = "textbf: --rwrap;" if fmt == "latex" else "font-weight: bold;"
    for row, column in part.bold:
        styler = styler.map(lambda _: bold, subset=pd.IndexSlice[[row], [column]])
    if fmt == "latex":
        styler = styler.format(escape="latex", subset=part.text_columns)
        styler = styler.format_index(escape="latex", axis=1)
    else:
        styler = styler.format(escape="html")
    return styler


def _latex(part: Part) -> str:
    if part.shown.empty:
        return "".join(f"% {line}\n" for line in [part.title or "", *part.notes])
    caption = part.title
    if caption and part.notes:
        caption += " " + " ".join(part.notes)
    columns = "l" * len(part.text_columns) + "r" * (part.shown.shape[1] - len(part.text_columns))
    text = _styler(part, "latex").to_latex(
        hrules=True, column_format=columns, caption=tex_escape(caption) if caption else None
    )
    if part.notes and not part.title:
        text += "".join(f"% {note}\n" for note in part.notes)
    return text


def html_table(part: Part) -> str:
    body = (
        ""
        if part.shown.empty
        else _styler(part, "html").set_table_attributes('class="bench"').to_html()
    )
    title = f"<h2>{_html_escape(part.title)}</h2>\n" if part.title else ""
    notes = "".join(f'<p class="note">{_html_escape(n)}</p>\n' for n in part.notes)
    return title + body + notes


def _html_escape(text: str) -> str:
    import html

    return html.escape(text)


def emit(
    parts: list[Part],
    fmt: str,
    page_title: str = "benchbench report",
    figures: list[tuple[str, str]] = (),
) -> str:
    """Render ``parts`` in ``fmt``; ``figures`` (caption, base64 PNG) go into HTML pages."""
    if fmt not in FORMATS:
        raise BenchError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}.")
    if fmt == "csv":
        frames = [p.raw.assign(table=p.title) if p.title else p.raw for p in parts]
        return pd.concat(frames, ignore_index=True).to_csv(index=False)
    if fmt == "json":
        if len(parts) == 1 and parts[0].title is None:
            return parts[0].raw.to_json(orient="records", indent=2) + "\n"
        data = [
            {
                "title": p.title,
                "rows": json.loads(p.raw.to_json(orient="records")),
                "notes": p.notes,
            }
            for p in parts
        ]
        return json.dumps(data, indent=2) + "\n"
    if fmt == "markdown":
        return "\n".join(_markdown(p) for p in parts)
    if fmt == "latex":
        return "\n".join(_latex(p) for p in parts)
    return page(page_title, [html_table(p) for p in parts], figures)


def page(title: str, sections: list[str], figures: list[tuple[str, str]]) -> str:
    """One self-contained HTML page: tables and base64-embedded figures, no external files."""
    style = (
        "body{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;"
        "padding:0 1em;color:#222}table.bench{border-collapse:collapse;margin:1em 0}"
        "table.bench th,table.bench td{padding:.3em .8em;border-bottom:1px solid #ddd;"
        "text-align:right}table.bench td:first-child,table.bench th:first-child"
        "{text-align:left}.note{color:#555;font-style:italic}figure{margin:1.5em 0}"
        "img{max-width:100%}"
    )
    figs = "".join(
        f'<figure><img src="data:image/png;base64,{data}" alt="{_html_escape(c)}">'
        f"<figcaption>{_html_escape(c)}</figcaption></figure>\n"
        for c, data in figures
    )
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>'
        f"{_html_escape(title)}</title><style>{style}</style></head><body>\n"
        f"<h1>{_html_escape(title)}</h1>\n" + "\n".join(sections) + figs + "</body></html>\n"
    )


def render(records: list[RunRecord], fmt: str, spec: Spec | None = None) -> str:
    """The report table of ``records`` in ``fmt``."""
    if fmt not in FORMATS:
        raise BenchError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}.")
    return emit([build(records, spec or Spec(), fmt)], fmt)


# -- suites --------------------------------------------------------------------------------


def tuning_part(
    members: list[dict],
    records: dict[str, RunRecord],
    metrics,
    chosen_by: str,
    title: str,
    fmt: str,
) -> Part:
    """One row per (model, tuned setting, value): mean ± std over repeats, the pick marked."""
    _check_metrics(metrics)
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
    raw = grouped[list(metrics)].agg(["mean", "std"])
    raw.columns = [f"{metric}_{stat}" for metric, stat in raw.columns]
    raw.insert(0, "n", grouped.size())
    raw = raw.reset_index()
    # The first best value of each step, as the sweep chose it.
    picks = raw.groupby(["label", "setting"], sort=False)[f"{chosen_by}_mean"].idxmax()
    raw["chosen"] = raw.index.isin(picks.dropna().astype(int))
    pm = r"$\pm$" if fmt == "latex" else "±"
    shown = pd.DataFrame(
        {
            "Model": raw["label"],
            "Setting": raw["setting"],
            "Value": [
                f"{v} *" if c else v for v, c in zip(raw["value"], raw["chosen"], strict=True)
            ],
        }
    )
    for m in metrics:
        name, digits = METRICS[m]
        shown[name] = [
            _cell(a, s, n, digits, pm)
            for a, s, n in zip(raw[f"{m}_mean"], raw[f"{m}_std"], raw["n"], strict=True)
        ]
    shown["n"] = raw["n"].astype(int)
    return Part(
        title,
        raw,
        shown,
        ["Model", "Setting", "Value"],
        notes=["* the value tuning kept (best mean over repeats)."],
    )


def ensemble_part(records: list[RunRecord], store, percents, title: str, fmt: str) -> Part:
    """Report 004's Table 1: soft and hard voting over the best k% of the runs."""
    import numpy as np

    from benchbench.analysis import ensemble

    runs = [
        r
        for r in records
        if r.status == "complete" and (store.run_dir(r.id) / "test_logits.npy").exists()
    ]
    if not runs:
        raise BenchError("No complete runs with stored test logits to ensemble.")
    logits = [np.load(store.run_dir(r.id) / "test_logits.npy") for r in runs]
    labels = np.load(store.run_dir(runs[0].id) / "test_labels.npy")
    scores = [r.summary.get("best_val_acc") or 0.0 for r in runs]
    rows = ensemble.table(logits, labels, scores, percents)
    raw = pd.DataFrame(rows)
    shown = pd.DataFrame(
        {
            "Best k": raw["k"],
            "Models": raw["models"].astype(str),
            "Soft voting": raw["soft_acc"].map(lambda v: f"{v:.4f}"),
            "Hard voting": raw["hard_acc"].map(lambda v: f"{v:.4f}"),
        }
    )
    return Part(
        title,
        raw,
        shown,
        ["Best k"],
        notes=[f"{len(runs)} runs ranked by best validation accuracy."],
    )


def ood_part(results, record: RunRecord, ood_name: str, title: str | None = None) -> Part:
    """Report 001's Table 2: detection accuracy per layer, with thresholds and means."""
    raw = pd.DataFrame(
        [
            {
                "layer": r.layer,
                "inside_mean": r.inside_mean,
                "outside_mean": r.outside_mean,
                "threshold": r.threshold,
                "ood_below": r.ood_below,
                "accuracy": r.accuracy,
            }
            for r in results
        ]
    )
    shown = pd.DataFrame(
        {
            "Layer": raw["layer"],
            "Mean (in)": raw["inside_mean"].map(lambda v: f"{v:.4f}"),
            "Mean (OOD)": raw["outside_mean"].map(lambda v: f"{v:.4f}"),
            "Threshold": raw["threshold"].map(lambda v: f"{v:.4f}"),
            "OOD when": raw["ood_below"].map(lambda v: "below" if v else "above"),
            "Detection accuracy": raw["accuracy"].map(lambda v: f"{v:.4f}"),
        }
    )
    title = title or f"OOD detection for {record.label} [{record.id}] against {ood_name}"
    notes = ["Threshold fitted on one half of the images, accuracy (balanced) on the other."]
    return Part(title, raw, shown, ["Layer"], notes=notes)


def render_suite(
    store, suite, key: str, fmt: str, ci: bool = False, figures: list[tuple[str, str]] = ()
) -> str:
    """Every table a suite declares, from the runs its last sweep recorded."""
    members = store.suite_members(key)
    if not members:
        raise BenchError(
            f"No sweep of suite {key!r} is stored in {store.root}. Run `bench "
            f"sweep {suite.name}` first (with the same --smoke and --results)."
        )
    records = {r.id: r for r in store.runs()}
    parts = []
    for table in suite.tables:
        chosen = [m for m in members if table.group in ("all", m["group"])]
        runs = list(
            {m["run_id"]: records[m["run_id"]] for m in chosen if m["run_id"] in records}.values()
        )
        if not runs:
            empty = pd.DataFrame()
            parts.append(
                Part(
                    table.title,
                    empty,
                    empty,
                    [],
                    notes=[f"No runs of group {table.group!r} in this sweep."],
                )
            )
            continue
        if table.kind == "tuning":
            metric = suite.tune.metric if suite.tune else table.metrics[0]
            metrics = list(dict.fromkeys([metric, *table.metrics]))
            parts.append(tuning_part(chosen, records, metrics, metric, table.title, fmt))
        elif table.kind == "ensemble":
            parts.append(ensemble_part(runs, store, table.percents, table.title, fmt))
        elif table.kind == "runs":
            spec = Spec(
                table.metrics,
                rows=table.rows,
                ci=ci,
                baseline=table.baseline,
                reference=table.reference,
                keep_order=True,
                title=table.title,
            )
            parts.append(build(runs, spec, fmt))
        else:  # ood: probe the model of the named row
            from benchbench.analysis.ood import probe_run
            from benchbench.plugins.manager import load_components

            named = [r for r in runs if r.label == table.run and r.status == "complete"]
            if not named:
                raise BenchError(
                    f"Table {table.title!r}: no complete run labelled {table.run!r} in this sweep."
                )
            results, _, _ = probe_run(
                store,
                named[0],
                load_components(),
                dataset=table.ood_dataset,
                options=table.ood_options,
                layers=list(table.layers) or None,
            )
            parts.append(ood_part(results, named[0], table.ood_dataset, table.title))
    return emit(parts, fmt, f"{suite.name}: {suite.description}", figures)
