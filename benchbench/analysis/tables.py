"""Tables computed from stored runs: what each row and cell holds, before any format.

Runs that differ only in their seed are repeats of one configuration: a table row shows
their mean ± sample standard deviation and how many there are (n); ``ci`` adds Student-t
95% intervals. The best row of the first metric is bold only when Welch's t-test tells it
from the runner-up, with at least 3 runs per row (:mod:`benchbench.analysis.stats`);
rows the test cannot separate are marked tied. A run is counted once per row, however
many times it is listed.

A suite's ``[[tables]]`` are built by the *table kind* they name. Each kind is declared
once with :func:`table_kind`: its name, the suite keys it reads (with defaults) and the
function that builds it. Rendering (Markdown, LaTeX, HTML...) is
:mod:`benchbench.render.markup`' business. pandas is imported inside functions: the kind
declarations are read when a suite file is parsed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchbench.analysis import stats
from benchbench.errors import BenchError
from benchbench.errors import did_you_mean
from benchbench.metrics import DEFAULT_METRICS
from benchbench.metrics import METRICS
from benchbench.metrics import known
from benchbench.metrics import stored_value
from benchbench.results.query import setting
from benchbench.results.query import timing_key
from benchbench.results.store import RunRecord

PM = "±"  # renderers may spell it their own way (LaTeX: $\pm$)


@dataclass
class Spec:
    """How to turn runs into one table."""

    metrics: tuple[str, ...] = DEFAULT_METRICS
    rows: str = "label"  # what names a row: the run label or a setting
    group_by: tuple[str, ...] = ()  # aggregate over these settings instead of whole configs
    ci: bool = False
    baseline: str | None = None  # row to compare the others against (ablations)
    # the seed report's numbers: metric -> row label -> value
    reference: dict[str, dict[str, float]] = field(default_factory=dict)
    keep_order: bool = False
    title: str | None = None


@dataclass
class Part:
    """A computed table: raw numbers (CSV/JSON), display cells, marks, notes, and where
    its numbers came from (``provenance``)."""

    title: str | None
    raw: Any  # pandas.DataFrame
    shown: Any  # pandas.DataFrame of display strings
    text_columns: list[str]
    bold: list[tuple[int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    provenance: str = ""


SMOKE_MARK = " [smoke]"
LOADED_MARK = " †"
SUBSET_MARK = " ‡"


def subset_timed(metric) -> bool:
    """Whether ``metric`` is a training time, which a training subset shrinks."""
    return metric.timing and metric.key.startswith("train_")


def provenance(records: list[RunRecord]) -> str:
    """One line a reader can cite: the benchbench (and commit) and torch that produced
    ``records``, the hosts, the dates, and the scale where it is not the full data."""
    import datetime

    if not records:
        return ""

    def distinct(values) -> list[str]:
        return sorted({str(v) for v in values if v not in (None, "")})

    env = [r.environment for r in records]
    versions = []
    for e in env:
        version = f"benchbench {e.get('benchbench', '?')}"
        if e.get("commit"):
            version += f" (commit {e['commit']}{', dirty tree' if e.get('dirty') else ''})"
        versions.append(version)
    days = [
        datetime.datetime.fromtimestamp(r.started, datetime.UTC).strftime("%Y-%m-%d")
        for r in records
        if r.started
    ]
    scale = []
    for key, name in (("subset", "training subset"), ("test_subset", "test subset")):
        values = [r.config.get(key) for r in records]
        if sizes := distinct(values):
            whole = " (the other runs: all)" if None in values else ""  # rows differ in scale
            scale.append(f"{name} {'/'.join(sizes)}{whole}")
    if any(r.smoke for r in records):
        scale.append("smoke runs")
    # which data, named as the runs name it: a stand-in folder is not the seed's dataset
    data = " and ".join(
        distinct(
            r.config.get("dataset", "?")
            + (f" {Path(r.config['data_dir']).name}" if r.config.get("data_dir") else "")
            for r in records
        )
    )
    parts = [
        "; ".join(distinct(versions)),
        "torch " + ", ".join(distinct(e.get("torch") for e in env) or ["?"]),
        "on " + "; ".join(distinct(e.get("host") or e.get("device_name") for e in env) or ["?"]),
        f"runs of {min(days)}" + (f" to {max(days)}" if max(days) != min(days) else "")
        if days
        else "",
        ("scale: " + ", ".join(scale)) if scale else f"all of {data}",
    ]
    return "Produced by " + "; ".join(p for p in parts if p) + "."


def empty_part(title: str | None, note: str) -> Part:
    import pandas as pd

    return Part(title, pd.DataFrame(), pd.DataFrame(), [], notes=[note])


def _natural(label: str):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(label))]


def check_metrics(metrics) -> None:
    unknown = [m for m in metrics if not known(m)]
    if unknown:
        raise BenchError(
            f"Unknown metric(s) {', '.join(unknown)}: choose from {', '.join(METRICS)}."
        )


def metric_rows(records: list[RunRecord], spec: Spec):
    """One row per complete run: its row name, the key it aggregates under, metrics."""
    import pandas as pd

    rows, seen = [], set()
    for r in records:
        if r.status != "complete":
            continue
        if spec.group_by:
            values = [setting(r, k) for k in spec.group_by]
            key = json.dumps(values, default=str)
            label = ", ".join(f"{k}={v}" for k, v in zip(spec.group_by, values, strict=True))
        else:
            label = setting(r, spec.rows)
            key = json.dumps([r.group_id, str(label)])
        if (r.id, key) in seen:  # one run is one sample of its row, never two
            continue
        seen.add((r.id, key))
        rows.append(
            {
                "run_id": r.id,
                "key": key,
                "label": f"{label}{SMOKE_MARK}" if r.smoke else label,
                "seed": r.config.get("seed"),
                "timing": timing_key(r.environment, r.config),
                "loaded": bool(r.environment.get("loaded")),
                "subset": r.config.get("subset") or 0,  # 0: every training image
                **{m: stored_value(r.summary, m) for m in spec.metrics},
            }
        )
    columns = ["run_id", "key", "label", "seed", "timing", "loaded", "subset", *spec.metrics]
    return pd.DataFrame(rows, columns=columns)


def aggregate(records: list[RunRecord], spec: Spec):
    """One row per configuration (or ``group_by`` value): label, n, mean, std [, ci]."""
    import pandas as pd

    check_metrics(spec.metrics)
    metrics = list(spec.metrics)
    frame = metric_rows(records, spec)
    columns = ["label", "n", *[f"{m}_{s}" for m in metrics for s in ("mean", "std")]]
    if frame.empty:
        return pd.DataFrame(columns=columns + ["run_ids"])
    frame[metrics] = frame[metrics].astype(float)
    grouped = frame.groupby("key", sort=False)
    table = grouped[metrics].agg(["mean", "std"])
    table.columns = [f"{metric}_{stat}" for metric, stat in table.columns]
    table.insert(0, "n", grouped.size())
    table.insert(0, "label", grouped["label"].first())
    for m in metrics if spec.ci else ():
        intervals = grouped[m].apply(lambda v: stats.t_interval(v.tolist()))
        table[f"{m}_ci_low"] = [lo for lo, _ in intervals]
        table[f"{m}_ci_high"] = [hi for _, hi in intervals]
    table[f"{metrics[0]}_values"] = grouped[metrics[0]].agg(list)  # for the best-row test
    table["run_ids"] = grouped["run_id"].agg(" ".join)
    # Seconds are averaged only over runs timed alike (same host, precision, layout).
    hosts = grouped["timing"].agg(lambda v: sorted(set(v)))
    table["timed_on"] = hosts.map(" | ".join)
    table["timed_loaded"] = grouped["loaded"].any()
    table["subset"] = grouped["subset"].max()
    mixed = hosts.map(len) > 1
    for m in metrics:
        if METRICS[m].timing:
            for column in [c for c in table.columns if c.startswith(f"{m}_")]:
                if column != f"{m}_values":
                    table.loc[mixed, column] = math.nan
    table = table.reset_index(drop=True)
    if not spec.keep_order:
        order = sorted(range(len(table)), key=lambda i: _natural(table.label[i]))
        table = table.iloc[order].reset_index(drop=True)
    return table


def number(value: float, digits: int) -> str:
    return f"{value:,.0f}" if digits == 0 else f"{value:.{digits}f}"


def cell(mean, std, n, digits: int, interval=None) -> str:
    """``mean ± std [low, high]`` as a report shows it; a dash for no value."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    text = number(mean, digits)
    if n > 1 and std == std:  # std is NaN for a single run
        text += f" {PM} {number(std, digits)}"
    if interval is not None and not math.isnan(interval[0]):
        text += f" [{number(interval[0], digits)}, {number(interval[1], digits)}]"
    return text


def build(records: list[RunRecord], spec: Spec) -> Part:
    """Aggregate ``records`` into a table with its marks and notes."""
    import pandas as pd

    raw = aggregate(records, spec)
    row_title = (
        "Model"
        if spec.rows == "label" and not spec.group_by
        else (", ".join(spec.group_by) or spec.rows)
    )
    shown = pd.DataFrame({row_title: raw["label"].map(str)})
    for m in spec.metrics:
        metric = METRICS[m]
        intervals = (
            zip(raw[f"{m}_ci_low"], raw[f"{m}_ci_high"], strict=True)
            if spec.ci
            else [None] * len(raw)
        )
        shown[metric.title] = [
            cell(a, s, n, metric.digits, ci)
            for a, s, n, ci in zip(
                raw[f"{m}_mean"], raw[f"{m}_std"], raw["n"], intervals, strict=True
            )
        ]
    shown["n"] = raw["n"].astype(int)
    part = Part(spec.title, raw, shown, [row_title])
    if raw.empty:
        return part
    part.provenance = provenance(records)
    _mark_timings(part, raw, spec)
    if any(r.smoke for r in records if r.status == "complete"):
        part.notes.append(
            f"{SMOKE_MARK.strip()}: a smoke run, a wiring check at toy scale — not a result."
        )
    first = METRICS[spec.metrics[0]]
    samples = raw.pop(f"{first.key}_values").tolist()
    best, tied, note = stats.rank_best(samples, first.higher_is_better)
    if best is not None:
        part.bold.append((best, first.title))
    for i in tied:
        shown.loc[i, first.title] += " (tied)"
    if note:
        part.notes.append(f"{first.title}: {note}.")
    if spec.baseline is not None:
        _add_deltas(part, raw, spec, first.key, first.title)
    if spec.reference:
        _add_references(part, raw, spec)
    return part


def _add_references(part: Part, raw, spec: Spec) -> None:
    """Beside each metric the seed report gives: its number and ours minus it. A time gets
    no difference: the seed's was measured on other hardware (a subset's on other data)."""
    labels = raw["label"].map(_unmarked)
    for key, values in spec.reference.items():
        metric = METRICS[key]
        at = list(part.shown.columns).index(metric.title) + 1
        seed = [values.get(label) for label in labels]
        part.raw[f"{key}_seed"] = [math.nan if v is None else v for v in seed]
        part.shown.insert(
            at,
            f"{metric.title} (seed)",
            ["–" if v is None else number(v, metric.digits) for v in seed],
        )
        if metric.timing:
            continue
        part.raw[f"{key}_vs_seed"] = part.raw[f"{key}_mean"] - part.raw[f"{key}_seed"]
        part.shown.insert(
            at + 1,
            f"Δ {metric.title}",
            [
                "–" if v is None or ours != ours else f"{ours - v:+.{metric.digits}f}"
                for ours, v in zip(raw[f"{key}_mean"], seed, strict=True)
            ],
        )
    part.notes.append(
        "(seed): the seed report's own number; Δ: ours minus the seed's, in the metric's units "
        "(none for times: the seed's hardware is not ours)."
    )


def references(given: dict, metrics: list[str]) -> dict[str, dict[str, float]]:
    """A suite table's ``reference``: ``{row: value}`` (of its first metric) or
    ``{metric: {row: value}}``, as metric -> row -> value."""
    if not (given and all(isinstance(v, dict) for v in given.values())):
        given = {metrics[0]: given} if given else {}
    for metric in given:
        if metric not in metrics:
            raise BenchError(
                f"table reference {metric!r}: not one of the table's metrics "
                f"({', '.join(metrics)}).{did_you_mean(metric, list(metrics))}"
            )
    return {m: {str(k): float(v) for k, v in rows.items()} for m, rows in given.items()}


def _unmarked(label) -> str:
    """A row's label without the smoke mark: what baselines and references name."""
    return str(label).removesuffix(SMOKE_MARK)


def _mark_timings(part: Part, raw, spec: Spec) -> None:
    """Footnotes for timings that are not one host's, or were measured under load."""
    timed = [METRICS[m] for m in spec.metrics if METRICS[m].timing]
    if not timed:
        return
    for i, row in raw.iterrows():
        hosts = row["timed_on"].split(" | ")
        if len(hosts) > 1:
            titles = ", ".join(m.title for m in timed)
            part.notes.append(
                f"{titles} of {row['label']}: not averaged, its runs were timed on "
                f"different hosts or settings ({'; '.join(hosts)}); report them apart "
                "with --where or --group-by."
            )
        elif row["timed_loaded"]:
            for m in timed:
                part.shown.loc[i, m.title] += LOADED_MARK
    if raw["timed_loaded"].any():
        part.notes.append(
            f"{LOADED_MARK.strip()} timed while the machine's load exceeded the cores the run "
            "could use: not comparable with a quiet machine's timings."
        )
    shrunk = [m for m in timed if subset_timed(m)]
    subsets = raw["subset"][raw["subset"] > 0]
    if shrunk and not subsets.empty:
        for i in subsets.index:
            for m in shrunk:
                part.shown.loc[i, m.title] += SUBSET_MARK
        sizes = " or ".join(f"{int(n):,}" for n in sorted(set(subsets)))
        part.notes.append(
            f"{SUBSET_MARK.strip()} trained on a subset of {sizes} training images: its "
            "training times are that subset's, not comparable with the full data's."
        )


def _add_deltas(part: Part, raw, spec: Spec, metric: str, column: str) -> None:
    matches = raw.index[raw["label"].map(_unmarked) == spec.baseline].tolist()
    if not matches:
        raise BenchError(
            f"--baseline {spec.baseline!r} is not a row of this table "
            f"({', '.join(map(str, raw['label']))})."
        )
    base = raw.loc[matches[0]]
    digits = METRICS[metric].digits
    cells, flagged = [], False
    for _, row in raw.iterrows():
        if _unmarked(row["label"]) == spec.baseline:
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


def tuning_part(
    members: list[dict], records: dict[str, RunRecord], metrics, chosen_by: str, title: str
) -> Part:
    """One row per (model, tuned setting, value): mean ± std over repeats, the pick marked."""
    import pandas as pd

    check_metrics(metrics)
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
        metric = METRICS[m]
        shown[metric.title] = [
            cell(a, s, n, metric.digits)
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


def ensemble_part(
    records: list[RunRecord], store, percents, title: str, reference: dict | None = None
) -> Part:
    """Report 004's Table 1: soft and hard voting over the best k% of the runs.

    ``reference``: the seed's accuracies, ``{"soft": {row: value}, "hard": {...}}`` with
    rows named as the table names them (``"10%"``, ``"best single"``), shown beside ours
    with the difference."""
    import pandas as pd

    from benchbench.analysis import ensemble

    runs = [r for r in records if r.status == "complete" and store.has_predictions(r.id)]
    if not runs:
        raise BenchError("No complete runs with stored test logits to ensemble.")
    predictions = [store.predictions(r.id) for r in runs]
    logits = [p[0] for p in predictions]
    labels = predictions[0][1]
    scores = [r.summary.get("best_val_acc") or 0.0 for r in runs]
    raw = pd.DataFrame(ensemble.table(logits, labels, scores, percents))
    shown = pd.DataFrame(
        {
            "Best k": raw["k"],
            "Models": raw["models"].astype(str),
            "Soft voting": raw["soft_acc"].map(lambda v: f"{v:.4f}"),
            "Hard voting": raw["hard_acc"].map(lambda v: f"{v:.4f}"),
        }
    )
    notes = [f"{len(runs)} runs ranked by best validation accuracy."]
    for vote, values in (reference or {}).items():
        if vote not in ("soft", "hard"):
            raise BenchError(
                f"Table {title!r}: reference {vote!r} is not a voting kind; give "
                'reference = { soft = { "10%" = 0.93 }, hard = { ... } }.'
            )
        ours = raw[f"{vote}_acc"]
        seed = [values.get(str(k)) for k in raw["k"]]
        raw[f"{vote}_acc_seed"] = [math.nan if v is None else float(v) for v in seed]
        column = f"{vote.title()} voting"
        at = list(shown.columns).index(column) + 1
        shown.insert(at, f"{column} (seed)", ["–" if v is None else f"{v:.4f}" for v in seed])
        shown.insert(
            at + 1,
            f"Δ {column}",
            ["–" if v is None else f"{o - v:+.4f}" for o, v in zip(ours, seed, strict=True)],
        )
    if reference:
        notes.append("(seed): the seed report's own number; Δ: ours minus the seed's.")
    return Part(title, raw, shown, ["Best k"], notes=notes, provenance=provenance(runs))


def ood_part(results, record: RunRecord, ood_name: str, title: str | None = None) -> Part:
    """Report 001's Table 2: detection accuracy per layer, with thresholds and means."""
    import pandas as pd

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
    return Part(title, raw, shown, ["Layer"], notes=notes, provenance=provenance([record]))


# -- table kinds: what a suite's [[tables]] can ask for ---------------------------------------


@dataclass
class Request:
    """What a table kind's builder gets: the table's options and the runs it covers."""

    title: str
    options: dict[str, Any]  # the kind's keys, defaults filled in
    members: list[dict]  # the sweep's membership rows for the table's group
    runs: list[RunRecord]  # their stored runs, each once
    store: Any  # benchbench.results.store.Store
    suite: Any  # benchbench.execution.suite.Suite
    ci: bool = False


@dataclass(frozen=True)
class TableKind:
    name: str
    about: str
    options: dict[str, Any]  # suite keys this kind reads, with their defaults
    build: Callable[[Request], Part]
    required: tuple[str, ...] = ()


def table_kinds() -> dict[str, TableKind]:
    """Every table kind by name: the built-ins
    (:mod:`benchbench.plugins.builtin.table_kinds`), then those plugins add."""
    from benchbench.plugins.manager import current

    return {e.name: e.create({}) for e in current().table_kinds}


def with_seed_only_rows(part: Part, spec: Spec, order: list[str]) -> Part:
    """``part`` with a row for every configuration the seed reports and we did not train:
    its numbers beside dashes, so the table keeps the seed's rows, in ``order`` (the
    suite's variants) where they are named there."""
    import pandas as pd

    present = set(part.raw["label"].map(_unmarked))
    missing = [
        label
        for label in dict.fromkeys(k for values in spec.reference.values() for k in values)
        if label not in present
    ]
    if not missing:
        return part
    corner = part.text_columns[0]
    shown_rows, raw_rows = [], []
    for label in missing:
        row = {column: "–" for column in part.shown.columns}
        row[corner], row["n"] = label, 0
        raw_row = {"label": label, "n": 0}
        for key, values in spec.reference.items():
            if label in values:
                row[f"{METRICS[key].title} (seed)"] = number(values[label], METRICS[key].digits)
                raw_row[f"{key}_seed"] = values[label]
        shown_rows.append(row)
        raw_rows.append(raw_row)
    shown = pd.concat([part.shown, pd.DataFrame(shown_rows)], ignore_index=True)
    raw = pd.concat([part.raw, pd.DataFrame(raw_rows)], ignore_index=True)
    labels = list(raw["label"].map(_unmarked))
    rank = [order.index(x) if x in order else len(order) + i for i, x in enumerate(labels)]
    rows = sorted(range(len(labels)), key=rank.__getitem__)
    at = {old: new for new, old in enumerate(rows)}
    return replace(
        part,
        shown=shown.iloc[rows].reset_index(drop=True),
        raw=raw.iloc[rows].reset_index(drop=True),
        bold=[(at[row], column) for row, column in part.bold],
        notes=[*part.notes, "n = 0: a row of the seed's not trained here, its numbers alone."],
    )


def transposed(part: Part) -> Part:
    """``part`` laid out as report 002's tables are: one column per configuration, one
    row per metric (with the seed's number and the difference below it). The raw numbers
    (CSV, JSON) keep one row per configuration."""
    corner = part.text_columns[0]
    shown = part.shown.astype(str).set_index(corner).T
    shown.columns = [str(c) for c in shown.columns]
    shown = shown.rename_axis(corner).reset_index()
    rows = {title: i for i, title in enumerate(shown[corner])}
    labels = list(part.shown[corner].astype(str))
    bold = [(rows[column], labels[row]) for row, column in part.bold]
    return replace(part, shown=shown, bold=bold, text_columns=[corner])


def suite_parts(store, suite, key: str, ci: bool = False) -> list[Part]:
    """Every table ``suite`` declares, from the runs its last sweep (``key``) recorded."""
    from benchbench.results.query import suite_members
    from benchbench.results.query import suite_runs

    if not store.suite_members(key):
        raise BenchError(
            f"No sweep of suite {key!r} is stored in {store.root}. Run `bench "
            f"sweep {suite.name}` first (with the same --smoke and --results)."
        )
    parts, kinds = [], table_kinds()
    for table in suite.tables:
        runs = suite_runs(store, key, table.group)
        if not runs:
            parts.append(
                empty_part(table.title, f"No runs of group {table.group!r} in this sweep.")
            )
            continue
        request = Request(
            table.title,
            table.options,
            suite_members(store, key, table.group),
            runs,
            store,
            suite,
            ci,
        )
        part = kinds[table.kind].build(request)
        if table.note:
            part.notes.append(table.note)
        part.provenance = part.provenance or provenance(runs)
        parts.append(part)
    return parts
