"""Honest comparisons: bootstrap intervals, ties, and deltas within the seed noise."""

from __future__ import annotations

import math

import numpy as np

BOOTSTRAP_SAMPLES = 10_000


def bootstrap_ci(values, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values``; NaNs for fewer than 2."""
    values = np.asarray([v for v in values if v is not None and not math.isnan(v)], float)
    if len(values) < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (BOOTSTRAP_SAMPLES, len(values)))].mean(1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def rank_best(
    means: list[float], intervals: list[tuple[float, float]], higher_is_better: bool = True
) -> tuple[int | None, list[int], str]:
    """``(bold row, tied rows, note)`` for the best of ``means``.

    The best row is bold only when its interval does not overlap the runner-up's; when
    they overlap both are tied; without intervals (single runs) nothing is claimed.
    """
    finite = [i for i, m in enumerate(means) if m is not None and not math.isnan(m)]
    if len(finite) < 2:
        return None, [], ""
    sign = 1 if higher_is_better else -1
    order = sorted(finite, key=lambda i: -sign * means[i])
    best, runner_up = order[0], order[1]
    a, b = intervals[best], intervals[runner_up]
    if any(math.isnan(x) for x in (*a, *b)):
        return None, [], "single runs: no interval, so no row is marked best (use --seeds)"
    if overlap(a, b):
        tied = [i for i in order if overlap(intervals[i], a)]
        return None, tied, "tied: the best rows' 95% intervals overlap"
    return best, [], "bold: best, its 95% interval clear of the runner-up's"


def within_noise(delta: float, std_a: float, std_b: float) -> bool | None:
    """Whether a difference of means is smaller than the seed-to-seed spread (None: n=1)."""
    spreads = [s for s in (std_a, std_b) if s is not None and not math.isnan(s)]
    if not spreads or math.isnan(delta):
        return None
    return abs(delta) < max(spreads)
