"""``bench compare A B``: is recipe A better than recipe B, and how sure can one be?

Each side is a set of stored runs, named by a label, a run-id prefix, or ``KEY=VALUE``
filters (comma-separated). The numbers are :func:`benchbench.analysis.stats.compare`'s;
this module picks the runs, reads the metric, and lays the answer out as tables.
"""

from __future__ import annotations

import math

from benchbench.analysis.stats import MIN_REPEATS
from benchbench.analysis.stats import compare
from benchbench.analysis.stats import verdict
from benchbench.analysis.tables import Part
from benchbench.analysis.tables import provenance
from benchbench.errors import BenchError
from benchbench.metrics import METRICS
from benchbench.metrics import stored_value
from benchbench.results.query import matching
from benchbench.results.store import RunRecord


def select(records: list[RunRecord], spec: str) -> list[RunRecord]:
    """The complete runs ``spec`` names: ``KEY=VALUE[,KEY=VALUE]`` filters, else the runs
    labelled ``spec``, else the runs whose id starts with it."""
    done = [r for r in records if r.status == "complete"]
    if "=" in spec:
        chosen = matching(done, [f.strip() for f in spec.split(",") if f.strip()])
    else:
        chosen = [r for r in done if r.label == spec] or [r for r in done if r.id.startswith(spec)]
    if not chosen:
        labels = sorted({r.label for r in done})
        shown = ", ".join(repr(label) for label in labels[:8]) + (", …" if len(labels) > 8 else "")
        raise BenchError(
            f"No complete stored run matches {spec!r}: give a label ({shown or 'none stored'}), "
            "a run-id prefix, or KEY=VALUE filters such as arch=cnn_small,lr=0.01."
        )
    return chosen


def comparison(a: list[RunRecord], b: list[RunRecord], metric: str = "test_acc") -> dict:
    """The comparison of runs ``a`` and ``b`` on ``metric``, as :func:`compare` gives it,
    with the runs' ids and the sentence that says what it supports."""
    entry = METRICS.get(metric)
    if entry is None:
        raise BenchError(
            f"--metric {metric!r} is not a metric. Known: {', '.join(sorted(METRICS))}."
        )
    shared = sorted({r.id for r in a} & {r.id for r in b})
    if shared:
        raise BenchError(
            f"A and B share {len(shared)} run(s) ({', '.join(shared[:3])}): compare two "
            "disjoint sets of runs (narrow them with labels or KEY=VALUE filters)."
        )

    def values(records):
        found = [stored_value(r.summary, metric) for r in records]
        return [float(v) for v in found if v is not None and not math.isnan(float(v))]

    result = compare(values(a), values(b), entry.higher_is_better)
    result.update(
        metric=metric,
        title=entry.title,
        runs_a=[r.id for r in a],
        runs_b=[r.id for r in b],
    )
    return result


def parts(result: dict, a: str, b: str, records: list[RunRecord]) -> list[Part]:
    """``result`` (:func:`comparison`) as two tables: each side, then the difference."""
    import pandas as pd

    title, digits = result["title"], METRICS[result["metric"]].digits + 1

    def number(value, sign: str = "") -> str:
        return "–" if value is None or math.isnan(value) else f"{value:{sign}.{digits}f}"

    sides = pd.DataFrame(
        {
            "side": ["A", "B"],
            "runs": [a, b],
            "n": [result["n_a"], result["n_b"]],
            "mean": [result["mean_a"], result["mean_b"]],
            "std": [result["std_a"], result["std_b"]],
        }
    )
    shown = sides.assign(
        n=sides["n"].astype(str),
        mean=[number(v) for v in sides["mean"]],
        std=[number(v) for v in sides["std"]],
    )
    percent = f"{result['level']:.0%}"
    better = "higher" if result["higher_is_better"] else "lower"
    test = pd.DataFrame(
        [{k: result[k] for k in ("difference", "ci_low", "ci_high", "welch_p", "hedges_g")}]
    ).assign(
        p_improvement=result["p_improvement"],
        p_improvement_low=result["p_improvement_low"],
        p_improvement_high=result["p_improvement_high"],
    )
    interval = lambda pair, sign="": f"[{number(pair[0], sign)}, {number(pair[1], sign)}]"  # noqa: E731
    test_shown = pd.DataFrame(
        [
            {
                "difference (A − B)": number(result["difference"], "+"),
                f"{percent} interval": interval((result["ci_low"], result["ci_high"]), "+"),
                "Welch p": "–" if math.isnan(result["welch_p"]) else f"{result['welch_p']:.3g}",
                "Hedges g": "–" if math.isnan(result["hedges_g"]) else f"{result['hedges_g']:.2f}",
                "P(A better)": number(result["p_improvement"]),
                f"P {percent} interval": interval(
                    (result["p_improvement_low"], result["p_improvement_high"])
                ),
            }
        ]
    )
    notes = [
        verdict(result, a, b, title),
        f"{title}, {better} is better. Interval of the difference: Welch's; P(A better): "
        "how often a run of A beats a run of B over all pairs (ties half), with a "
        f"stratified bootstrap interval (each side resampled apart). No claim below n = "
        f"{MIN_REPEATS} a side.",
    ]
    hosts = {r.environment.get("host") for r in records}
    if METRICS[result["metric"]].timing and len(hosts) > 1:
        notes.append(
            f"{title} is a timing and these runs ran on {len(hosts)} different hosts: the "
            "difference may be the machines', not the recipes'."
        )
    source = provenance(records)
    return [
        Part(f"{title}: A against B", sides, shown, ["side", "runs"]),
        Part("Difference", test, test_shown, [], notes=notes, provenance=source),
    ]
