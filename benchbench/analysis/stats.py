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
