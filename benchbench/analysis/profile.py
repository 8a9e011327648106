"""Time to target across workloads, scored as MLCommons AlgoPerf scores training
algorithms (Dahl et al., 2023, "Benchmarking Neural Network Training Algorithms").

A suite's ``[[workloads]]`` (data, model, target accuracy, maximum runtime) times its
``[[algorithms]]`` (optimizer, schedule, recipe) over seeds. Per workload and algorithm:

- **time to target**: a run's training seconds until its target, plus its warm-up and
  compile seconds (AlgoPerf times everything but evaluation, compiling included); a run
  that misses the target, diverges, or needs more than the workload's maximum runtime
  takes infinitely long. The cell is the median over seeds.
- **performance ratio** r = time / the fastest algorithm's time on that workload (infinite
  where the algorithm misses; every ratio infinite where no algorithm reaches the target).
- **performance profile** ρ(τ): the fraction of workloads whose ratio is at most τ.
- **score**: the area under ρ from τ = 1 to ``tau_max`` (4, as AlgoPerf), divided by
  ``tau_max - 1``, so 1 means fastest everywhere and 0 never within ``tau_max`` times the
  fastest. ρ is a step function, so the area is exact: the mean over workloads of
  ``max(0, tau_max - r) / (tau_max - 1)``.
- **speedup** over a reference algorithm: the geometric mean of the reference's time over
  the algorithm's, over the workloads both reach.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from benchbench.analysis.tables import Part
from benchbench.analysis.tables import provenance
from benchbench.errors import BenchError
from benchbench.results.store import RunRecord

TAU_MAX = 4.0  # AlgoPerf's upper limit of the profile's integral


def time_to_target(record: RunRecord) -> float:
    """``record``'s seconds to its target, set-up counted; ``inf`` for a miss."""
    config, summary = record.config, record.summary
    reached = summary.get("seconds_to_target")
    if record.status != "complete" or reached is None or not math.isfinite(reached):
        return math.inf
    spent = reached + (summary.get("warmup_seconds") or 0.0)
    spent += summary.get("compile_seconds") or 0.0
    budget = config.get("max_train_seconds")
    return math.inf if budget is not None and spent > budget else spent


@dataclass
class Profile:
    """Median seconds to target per workload (rows) and algorithm (columns)."""

    workloads: list[str]
    algorithms: list[str]
    times: np.ndarray  # workloads × algorithms, inf where missed
    seeds: np.ndarray  # workloads × algorithms: how many stored runs each median is over
    reference: str
    tau_max: float = TAU_MAX

    def ratios(self) -> np.ndarray:
        best = self.times.min(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratios = self.times / best
        return np.where(np.isfinite(best), ratios, np.inf)

    def rho(self, tau: np.ndarray) -> np.ndarray:
        """ρ(τ) per algorithm: ``len(algorithms)`` × ``len(tau)``."""
        ratios = self.ratios()
        return (ratios[:, :, None] <= np.asarray(tau)[None, None, :]).mean(axis=0)

    def scores(self) -> np.ndarray:
        """AlgoPerf's score per algorithm, in [0, 1]."""
        inside = np.clip(self.tau_max - self.ratios(), 0.0, None)
        inside = np.where(np.isfinite(inside), inside, 0.0)
        return inside.mean(axis=0) / (self.tau_max - 1)

    def speedups(self) -> tuple[np.ndarray, np.ndarray]:
        """The geometric-mean speedup of each algorithm over the reference, and how many
        workloads it rests on (those both reach); NaN where none."""
        ref = self.times[:, self.algorithms.index(self.reference)]
        out, counts = [], []
        for column in self.times.T:
            both = np.isfinite(ref) & np.isfinite(column)
            counts.append(int(both.sum()))
            out.append(
                float(np.exp(np.mean(np.log(ref[both] / column[both])))) if both.any() else math.nan
            )
        return np.array(out), np.array(counts)

    def as_dict(self) -> dict:
        def seconds(value: float) -> float | None:
            return None if not math.isfinite(value) else round(float(value), 3)

        speedups, over = self.speedups()
        return {
            "reference": self.reference,
            "tau_max": self.tau_max,
            "algorithms": [
                {
                    "algorithm": algorithm,
                    "score": round(float(self.scores()[j]), 4),
                    "speedup": None if math.isnan(speedups[j]) else round(float(speedups[j]), 4),
                    "speedup_workloads": int(over[j]),
                    "reached": int(np.isfinite(self.times[:, j]).sum()),
                    "seconds_to_target": {
                        w: seconds(self.times[i, j]) for i, w in enumerate(self.workloads)
                    },
                    "seeds": {w: int(self.seeds[i, j]) for i, w in enumerate(self.workloads)},
                }
                for j, algorithm in enumerate(self.algorithms)
            ],
            "workloads": self.workloads,
        }


def profile(
    cells: list[tuple[str, str, list[float]]],
    reference: str | None = None,
    tau_max: float = TAU_MAX,
) -> Profile:
    """The profile of ``(workload, algorithm, [seconds per seed])`` cells (``inf`` for a
    seed that missed), in the order they first appear; the reference algorithm defaults
    to the first."""
    workloads = list(dict.fromkeys(w for w, _, _ in cells))
    algorithms = list(dict.fromkeys(a for _, a, _ in cells))
    if reference is None:
        reference = algorithms[0]
    if reference not in algorithms:
        raise BenchError(
            f"--reference {reference!r} is not an algorithm of this suite "
            f"({', '.join(algorithms)})."
        )
    if not tau_max > 1:
        raise BenchError(f"--tau-max {tau_max}: the profile runs from τ = 1 to a τ above 1.")
    times = np.full((len(workloads), len(algorithms)), np.nan)
    seeds = np.zeros_like(times, dtype=int)
    for workload, algorithm, values in cells:
        i, j = workloads.index(workload), algorithms.index(algorithm)
        times[i, j] = float(np.median(values)) if values else math.nan
        seeds[i, j] = len(values)
    missing = [
        f"{algorithms[j]} on {workloads[i]}" for i, j in zip(*np.nonzero(seeds == 0), strict=True)
    ]
    if missing:
        raise BenchError(
            f"No stored run of {', '.join(missing[:4])}{' …' if len(missing) > 4 else ''}: "
            "a profile needs every algorithm on every workload. Run `bench sweep` on the "
            "suite first (it resumes where it stopped)."
        )
    return Profile(workloads, algorithms, times, seeds, reference, tau_max)


def from_members(members: list[dict], records: dict[str, RunRecord], **options) -> Profile:
    """The profile of a sweep's ``workloads`` group: its membership rows (whose value
    names the workload and algorithm) and their stored runs."""
    cells: dict[tuple[str, str], list[float]] = {}
    for member in members:
        cell = member.get("value") or {}
        if member.get("setting") != "workload" or not isinstance(cell, dict):
            continue
        key = (cell["workload"], cell["algorithm"])
        record = records.get(member["run_id"])
        times = cells.setdefault(key, [])
        if record is not None and record.status in ("complete", "diverged"):
            times.append(time_to_target(record))
    if not cells:
        raise BenchError(
            "This sweep has no workload runs: a profile needs a suite with [[workloads]] "
            "and [[algorithms]] (see `bench list suites`), swept with `bench sweep`."
        )
    return profile([(w, a, t) for (w, a), t in cells.items()], **options)


def _seconds(value: float) -> str:
    if not math.isfinite(value):
        return "miss"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def part(result: Profile, records: list[RunRecord], title: str | None = None) -> Part:
    """The profile as one table: per algorithm its score, its speedup over the reference,
    how many targets it reached, and its median seconds to target on each workload."""
    import pandas as pd

    speedups, over = result.speedups()
    scores = result.scores()
    reached = np.isfinite(result.times).sum(axis=0)
    score_column = f"Score (τ ≤ {result.tau_max:g})"
    raw = pd.DataFrame(
        {
            "algorithm": result.algorithms,
            "score": scores,
            "speedup": speedups,
            "speedup_workloads": over,
            "reached": reached,
            **{f"seconds_{w}": result.times[i] for i, w in enumerate(result.workloads)},
        }
    )
    shown = pd.DataFrame(
        {
            "Algorithm": result.algorithms,
            score_column: [f"{s:.3f}" for s in scores],
            f"Speedup vs {result.reference}": [
                "–" if math.isnan(s) else f"{s:.2f}× ({n})"
                for s, n in zip(speedups, over, strict=True)
            ],
            "Reached": [f"{r}/{len(result.workloads)}" for r in reached],
            **{
                f"{w} (s)": [
                    _seconds(t) + ("" if n >= 3 else f" (n={n})")
                    for t, n in zip(result.times[i], result.seeds[i], strict=True)
                ]
                for i, w in enumerate(result.workloads)
            },
        }
    )
    bold = [(int(np.argmax(scores)), score_column)] if scores.max() > 0 else []
    for i, w in enumerate(result.workloads):
        if np.isfinite(result.times[i]).any():
            bold.append((int(np.argmin(result.times[i])), f"{w} (s)"))
    tau = f"{result.tau_max:g}"
    notes = [
        f"Score: the area under the performance profile ρ(τ) from τ = 1 to {tau}, over "
        f"{result.tau_max - 1:g} (AlgoPerf's): 1 is fastest on every workload, 0 never within "
        f"{tau}× the fastest. Speedup: the geometric mean of {result.reference}'s time to "
        "target over the algorithm's, on the (n) workloads both reach.",
        "Seconds: training time until the target accuracy, warm-up and compiling counted, "
        "evaluation not; the median over seeds (n = 3 unless marked); miss: not reached "
        "within the workload's maximum runtime.",
    ]
    return Part(
        title or "Time to target",
        raw,
        shown,
        ["Algorithm"],
        bold=bold,
        notes=notes,
        provenance=provenance(records),
    )
