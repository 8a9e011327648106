"""A study's tables (``bench report --study NAME``): its trials, the best settings, and
the best settings' final seeds."""

from __future__ import annotations

import json
import math

from benchbench.analysis.tables import Part
from benchbench.analysis.tables import cell
from benchbench.analysis.tables import number
from benchbench.analysis.tables import provenance
from benchbench.results import studies
from benchbench.results.query import matching
from benchbench.results.store import Store


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def study_parts(store: Store, name: str) -> list[Part]:
    """Three tables: every trial (parameters, value, state, epochs run, seconds, run), the
    best trial's settings, and the final seeds' test accuracy with mean ± std."""
    import pandas as pd

    study = studies.load(store.root, name)
    metric = study.user_attrs.get("metric", "value")
    trials = study.get_trials(deepcopy=False)
    keys = sorted({k for t in trials for k in t.params})
    raw = pd.DataFrame(
        [
            {
                "trial": t.number,
                **{k: t.params.get(k) for k in keys},
                metric: t.value,
                "state": t.state.name.lower(),
                "epochs run": t.user_attrs.get("epochs", 0),  # "epochs" may be searched
                "seconds": t.user_attrs.get("seconds", 0.0),
                "run": t.user_attrs.get("run_id", ""),
            }
            for t in trials
        ],
        columns=["trial", *keys, metric, "state", "epochs run", "seconds", "run"],
    )
    shown = raw.assign(
        **{k: [_shown(v) if v is not None else "–" for v in raw[k]] for k in keys},
        **{
            metric: [
                "–" if v is None or (isinstance(v, float) and math.isnan(v)) else number(v, 4)
                for v in raw[metric]
            ],
            "seconds": [f"{v:.1f}" for v in raw["seconds"]],
        },
    ).astype(str)
    runs = matching(store.runs(smoke=None), [f"study={name}"])
    complete = [t for t in trials if t.state.name == "COMPLETE" and t.value is not None]
    finite = [t for t in complete if math.isfinite(t.value)]
    maximize = study.direction.name == "MAXIMIZE"
    tally = ", ".join(
        f"{sum(t.state.name.lower() == s for t in trials)} {s}"
        for s in ("complete", "pruned", "fail", "running")
        if any(t.state.name.lower() == s for t in trials)
    )
    bold = []
    if finite:
        best = (max if maximize else min)(finite, key=lambda t: t.value)
        bold = [(best.number, metric)]
    parts = [
        Part(
            f"Study {name}: trials",
            raw,
            shown,
            ["state", "run"],
            bold=bold,
            notes=[
                f"{len(trials)} trials ({tally}); {metric}, "
                f"{'higher' if maximize else 'lower'} is better; a pruned trial stopped "
                "after the epochs it ran."
            ],
            provenance=provenance(runs),
        )
    ]
    if not finite:
        return parts
    walked = study.user_attrs.get("search", {}).get("mode") == "one-at-a-time"
    if walked:
        steps, kept, kept_value = _steps(study, trials, metric, maximize, runs)
        parts.append(steps)
    if walked:  # the settings kept: the last step's chosen value, at its mean
        best = next((t for t in finite if t.params == kept), best)
        value = kept_value
    else:
        value = best.value
    settings = pd.DataFrame(
        [{"setting": k, "value": _shown(v)} for k, v in best.params.items()]
        + [{"setting": metric, "value": number(value, 4)}],
    )
    parts.append(
        Part(
            "Values kept (the last step's best mean)" if walked else f"Best trial ({best.number})",
            settings,
            settings.astype(str),
            ["setting", "value"],
            notes=[
                f"Run file: {studies.best_config_path(store.root, name).name} in the results' "
                "studies folder (bench run --config FILE)."
            ],
        )
    )
    finals = [r for r in runs if r.environment.get("trial") == "final" and r.status == "complete"]
    if finals:
        values = [r.summary.get("test_acc") for r in finals]
        frame = pd.DataFrame(
            {
                "seed": [r.config.get("seed") for r in finals],
                "run": [r.id for r in finals],
                "test_acc": values,
            }
        )
        mean = sum(values) / len(values)
        spread = f" ± {number(pd.Series(values).std(), 4)}" if len(values) > 1 else " (one seed)"
        parts.append(
            Part(
                "Best settings on fresh seeds",
                frame,
                frame.assign(test_acc=[number(v, 4) for v in values]).astype(str),
                ["run"],
                notes=[f"Test accuracy {number(mean, 4)}{spread}, n = {len(values)}."],
                provenance=provenance(finals),
            )
        )
    return parts


def _step_of(params: dict, order: list[str]) -> str:
    """The setting a one-at-a-time trial varied: its last in the space's order."""
    return max(params, key=order.index)


def _steps(study, trials, metric: str, maximize: bool, runs) -> tuple[Part, dict, float]:
    """One-at-a-time: each setting's values at its step, the metric's mean ± std over the
    repeats (n), the kept value marked, as report 004's tuning table; and the parameters
    kept at the last step, with their mean."""
    import statistics

    import pandas as pd

    order = list(study.user_attrs.get("space", {}))
    rows: dict[tuple[str, str], dict] = {}
    for t in trials:
        if not t.params or t.value is None or math.isnan(t.value):
            continue
        key = _step_of(t.params, order)
        row = rows.setdefault(
            (key, json.dumps(t.params, sort_keys=True)),
            {"setting": key, "value": t.params[key], "values": [], "params": t.params},
        )
        row["values"].append(t.value)
    table = []
    for (key, _), row in rows.items():
        values = row["values"]
        table.append(
            {
                "setting": key,
                "value": row["value"],
                metric: statistics.fmean(values),
                "std": statistics.stdev(values) if len(values) > 1 else math.nan,
                "n": len(values),
                "params": json.dumps(row["params"], sort_keys=True),
            }
        )
    raw = pd.DataFrame(table, columns=["setting", "value", metric, "std", "n", "params"])
    pick = "idxmax" if maximize else "idxmin"
    chosen = {getattr(group[metric], pick)() for _, group in raw.groupby("setting", sort=False)}
    raw["kept"] = [i in chosen for i in raw.index]
    shown = pd.DataFrame(
        {
            "setting": raw["setting"],
            "value": [
                _shown(v) + (" *" if k else "")
                for v, k in zip(raw["value"], raw["kept"], strict=True)
            ],
            metric: [
                cell(m, sd, n, 4)
                for m, sd, n in zip(raw[metric], raw["std"], raw["n"], strict=True)
            ],
            "n": raw["n"].astype(str),
        }
    )
    last = raw[raw["kept"]].iloc[-1]
    part = Part(
        "One at a time: each setting's values, the earlier ones at their kept values",
        raw.drop(columns=["params"]),
        shown,
        ["setting", "value"],
        notes=["* the value kept (the best mean over its repeats; the first, on a tie)."],
        provenance=provenance(runs),
    )
    return part, json.loads(last["params"]), float(last[metric])
