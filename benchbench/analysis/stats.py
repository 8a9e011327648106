"""Honest comparisons: Student-t intervals, a test before any "best", deltas within noise.

At the 2-5 repeats benchmarks have, a percentile bootstrap interval is [min, max] or
narrower and claims winners the data cannot support. Intervals here are Student-t
intervals of the mean; a row is marked best only when Welch's t-test separates it from
the runner-up at the 5% level, and only with at least :data:`MIN_REPEATS` runs per row.
"""

from __future__ import annotations

import math

import numpy as np

MIN_REPEATS = 3  # no claim of a best row below this many runs per row
ALPHA = 0.05


def _finite(values) -> np.ndarray:
    return np.asarray([v for v in values if v is not None and not math.isnan(v)], float)


def t_interval(values, level: float = 0.95) -> tuple[float, float]:
    """Student-t interval of the mean of ``values``; NaNs for fewer than 2."""
    from scipy import stats

    values = _finite(values)
    if len(values) < 2:
        return math.nan, math.nan
    mean, sem = values.mean(), values.std(ddof=1) / math.sqrt(len(values))
    if sem == 0:
        return float(mean), float(mean)
    low, high = stats.t.interval(level, len(values) - 1, loc=mean, scale=sem)
    return float(low), float(high)


def welch_p(a, b) -> float:
    """Two-sided p-value of Welch's t-test that ``a`` and ``b`` have equal means."""
    from scipy import stats

    a, b = _finite(a), _finite(b)
    if len(a) < 2 or len(b) < 2:
        return math.nan
    if a.std(ddof=1) == 0 and b.std(ddof=1) == 0:
        return 1.0 if a.mean() == b.mean() else 0.0
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def rank_best(
    samples: list[list[float]], higher_is_better: bool = True
) -> tuple[int | None, list[int], str]:
    """``(bold row, tied rows, note)`` for the row whose values are best.

    Bold only when every row has at least MIN_REPEATS values and Welch's t-test tells the
    best row from the runner-up (p < ALPHA); otherwise the rows the test cannot tell
    from the best are marked tied. Nothing is claimed below MIN_REPEATS.
    """
    means = [float(np.mean(_finite(s))) if len(_finite(s)) else math.nan for s in samples]
    finite = [i for i, m in enumerate(means) if not math.isnan(m)]
    if len(finite) < 2:
        return None, [], ""
    smallest = min(len(_finite(samples[i])) for i in finite)
    if smallest < MIN_REPEATS:
        return (
            None,
            [],
            f"no row is marked best: that needs at least {MIN_REPEATS} runs per row "
            f"(the fewest here: {smallest}; use --seeds 0-{MIN_REPEATS - 1})",
        )
    sign = 1 if higher_is_better else -1
    order = sorted(finite, key=lambda i: -sign * means[i])
    best, runner_up = order[0], order[1]
    p = welch_p(samples[best], samples[runner_up])
    if p < ALPHA:
        return (
            best,
            [],
            f"bold: best, Welch's t-test against the runner-up p = {p:.3g}, n ≥ {smallest}",
        )
    tied = [i for i in order if i == best or not welch_p(samples[best], samples[i]) < ALPHA]
    return (
        None,
        tied,
        f"tied: Welch's t-test cannot tell these rows apart (p = {p:.3g} for the top two)",
    )


def within_noise(delta: float, std_a: float, std_b: float) -> bool | None:
    """Whether a difference of means is smaller than the seed-to-seed spread (None: n=1)."""
    spreads = [s for s in (std_a, std_b) if s is not None and not math.isnan(s)]
    if not spreads or math.isnan(delta):
        return None
    return abs(delta) < max(spreads)


def probability_of_improvement(a, b) -> float:
    """P(A > B): how often a run of ``a`` beats a run of ``b``, over every pair (ties count
    half): the Mann-Whitney statistic over ``len(a) * len(b)``, as rliable reports it."""
    diff = np.subtract.outer(_finite(a), _finite(b))
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())


def hedges_g(a, b) -> float:
    """Hedges' g: the difference of means in pooled standard deviations, corrected for
    small samples; NaN when neither side varies."""
    a, b = _finite(a), _finite(b)
    n, m = len(a), len(b)
    if n < 2 or m < 2:
        return math.nan
    pooled = math.sqrt(((n - 1) * a.var(ddof=1) + (m - 1) * b.var(ddof=1)) / (n + m - 2))
    if pooled == 0:
        return math.nan
    return float((a.mean() - b.mean()) / pooled * (1 - 3 / (4 * (n + m) - 9)))


def compare(
    a, b, higher_is_better: bool = True, level: float = 0.95, resamples: int = 10_000
) -> dict:
    """Everything ``bench compare`` says of two sets of runs' values ``a`` and ``b``.

    Each side's mean, standard deviation and n; the difference of means (A - B) with its
    Welch interval and Welch's two-sided p; Hedges' g; and the probability that a run of
    A is better than one of B (higher or lower values, as the metric says), with a
    stratified bootstrap interval (each side resampled on its own, percentile method,
    a fixed seed: the same numbers every time). ``claim`` says whether the numbers support
    a claim at all: at least :data:`MIN_REPEATS` runs a side, and an interval of the
    difference that excludes zero."""
    from scipy import stats

    a, b = _finite(a), _finite(b)
    n, m = len(a), len(b)
    out = {
        "n_a": n,
        "n_b": m,
        "mean_a": float(a.mean()) if n else math.nan,
        "mean_b": float(b.mean()) if m else math.nan,
        "std_a": float(a.std(ddof=1)) if n > 1 else math.nan,
        "std_b": float(b.std(ddof=1)) if m > 1 else math.nan,
        "level": level,
        "higher_is_better": higher_is_better,
    }
    out["difference"] = out["mean_a"] - out["mean_b"]
    low = high = p = math.nan
    if n >= 2 and m >= 2:
        if a.std() == 0 and b.std() == 0:  # no spread: the difference is exact
            low = high = out["difference"]
            p = 1.0 if out["difference"] == 0 else 0.0
        else:
            test = stats.ttest_ind(a, b, equal_var=False)
            p = float(test.pvalue)
            low, high = (float(v) for v in test.confidence_interval(level))
    out.update(ci_low=low, ci_high=high, welch_p=p, hedges_g=hedges_g(a, b))
    sign = 1 if higher_is_better else -1
    out["p_improvement"] = probability_of_improvement(sign * a, sign * b) if n and m else math.nan
    pi_low = pi_high = math.nan
    if n >= 2 and m >= 2:

        def statistic(x, y, axis=-1):
            diff = np.expand_dims(x, -1) - np.expand_dims(y, -2)
            return ((diff > 0) + 0.5 * (diff == 0)).mean(axis=(-2, -1))

        pi_low, pi_high = stratified_bootstrap((sign * a, sign * b), statistic, level, resamples)
    out.update(p_improvement_low=pi_low, p_improvement_high=pi_high)
    out["claim"] = bool(
        n >= MIN_REPEATS and m >= MIN_REPEATS and not (low <= 0 <= high) and not math.isnan(low)
    )
    return out


def verdict(result: dict, a: str, b: str, what: str) -> str:
    """One sentence: what ``result`` (:func:`compare`) supports about ``a`` against ``b``
    on ``what`` (the metric's title)."""
    percent = f"{result['level']:.0%}"
    short = [(a, result["n_a"]), (b, result["n_b"])]
    few = [f"{side} has n = {k}" for side, k in short if k < MIN_REPEATS]
    if few:
        return (
            f"No claim: {' and '.join(few)}. Below {MIN_REPEATS} runs a side the spread "
            "between seeds is not known well enough to tell a recipe's effect from the draw "
            f"of seeds. Run more seeds (`--seeds 0-{MIN_REPEATS - 1}`) and compare again."
        )
    diff, low, high = result["difference"], result["ci_low"], result["ci_high"]
    numbers = (
        f"the difference of means (A - B) is {diff:+.4g}, {percent} interval "
        f"[{low:+.4g}, {high:+.4g}] (Welch p = {result['welch_p']:.3g})"
    )
    if not result["claim"]:
        return (
            f"The runs do not separate {a} from {b} on {what}: {numbers}; the interval includes 0."
        )
    a_better = (diff > 0) == result["higher_is_better"]
    better, worse = (a, b) if a_better else (b, a)
    chance = result["p_improvement"] if a_better else 1 - result["p_improvement"]
    return (
        f"{better} is better than {worse} on {what}: {numbers}; a run of {better} beats one "
        f"of {worse} with probability {chance:.2f}."
    )


def _optimality_gap(x, axis=-1, gamma: float = 1.0):
    return gamma - np.minimum(x, gamma).mean(axis=axis)


def _iqm(x, axis=-1):
    from scipy import stats

    return stats.trim_mean(x, 0.25, axis=axis)


AGGREGATES = {
    "iqm": _iqm,  # the interquartile mean: the middle half of all runs of all tasks
    "mean": np.mean,
    "median": np.median,
    "optimality-gap": _optimality_gap,  # how far below 1 (the target), on average
}


def aggregate(
    tasks: list[list[float]], how: str = "iqm", level: float = 0.95, resamples: int = 10_000
) -> tuple[float, float, float]:
    """``(value, low, high)``: ``how`` (one of :data:`AGGREGATES`) over the scores of every
    run of every task, with a stratified bootstrap interval, as rliable computes it: each
    task's runs are resampled on their own (scipy's ``bootstrap`` with one sample per task,
    percentile method, a fixed seed). No interval (NaN) when a task has a single run."""

    function = AGGREGATES[how]
    tasks = [_finite(t) for t in tasks if len(_finite(t))]
    if not tasks:
        return math.nan, math.nan, math.nan
    value = float(function(np.concatenate(tasks), axis=-1))
    if any(len(t) < 2 for t in tasks):
        return value, math.nan, math.nan

    def statistic(*samples, axis=-1):
        return function(np.concatenate(samples, axis=-1), axis=-1)

    return (value, *stratified_bootstrap(tuple(tasks), statistic, level, resamples))


def stratified_bootstrap(samples, statistic, level: float, resamples: int) -> tuple[float, float]:
    """The percentile interval of ``statistic(*samples, axis=-1)`` when each sample (a
    side, a task) is resampled on its own: scipy's ``bootstrap``, a fixed seed, so the same
    runs give the same interval every time."""
    from scipy import stats

    interval = stats.bootstrap(
        tuple(samples),
        statistic,
        n_resamples=resamples,
        confidence_level=level,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(0),
    ).confidence_interval
    return float(interval.low), float(interval.high)
