"""A study's tables (``bench report --study NAME``): its trials, the best settings, and
the best settings' final seeds."""

from __future__ import annotations

import math

from benchbench.analysis.tables import Part, number, provenance
from benchbench.results import studies
from benchbench.results.query import matching
from benchbench.results.store import Store


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def study_parts(store: Store, name: str) -> list[Part]:
    """Three tables: every trial (parameters, value, state, epochs, seconds, run), the
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
                "epochs": t.user_attrs.get("epochs", 0),
                "seconds": t.user_attrs.get("seconds", 0.0),
                "run": t.user_attrs.get("run_id", ""),
            }
            for t in trials
        ],
        columns=["trial", *keys, metric, "state", "epochs", "seconds", "run"],
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
                "after the epochs shown."
            ],
            provenance=provenance(runs),
        )
    ]
    if not finite:
        return parts
    settings = pd.DataFrame(
        [{"setting": k, "value": _shown(v)} for k, v in best.params.items()]
        + [{"setting": metric, "value": number(best.value, 4)}],
    )
    parts.append(
        Part(
            f"Best trial ({best.number})",
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
