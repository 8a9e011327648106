"""Metrics: what a run's summary holds. The table is filled by the built-in metrics
(:mod:`benchbench.training.metrics`) and by plugins (``benchbench_register_metrics``);
it lives here, below the plugin machinery, so that loading plugins can add to it.

Light to import: no numpy, torch or pandas at module level.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Evaluated:
    """What metrics are computed from: the outcome, its epoch history, its test matrix."""

    outcome: Any  # benchbench.training.loop.Outcome
    history: list[dict]
    matrix: np.ndarray

    def mean(self, key: str) -> float:
        return statistics.fmean(h[key] for h in self.history) if self.history else math.nan

    def median(self, key: str) -> float:
        return statistics.median(h[key] for h in self.history) if self.history else math.nan

    def best(self, key: str) -> float:
        """The largest value of ``key``; epochs without it (not validated) are skipped."""
        return max((h[key] for h in self.history if not math.isnan(h[key])), default=math.nan)

    def total(self, key: str) -> float:
        return sum(h[key] for h in self.history)

    def last(self, key: str) -> float:
        return self.history[-1][key] if self.history else math.nan


@dataclass(frozen=True)
class Metric:
    """One summary number of a run."""

    key: str
    title: str  # column title in reports
    digits: int  # decimals shown
    compute: Callable[[Evaluated], Any]
    higher_is_better: bool = False  # which row a report marks best
    tunable: bool = False  # a suite's [tune] may choose values by it (higher is better)
    timing: bool = False  # seconds: pooled only over runs on the same host and settings
    # the value for a run stored before the metric existed, from that run's summary
    from_summary: Callable[[dict], Any] | None = None


def stored_value(summary: dict, key: str) -> Any:
    """Metric ``key`` of a stored run's ``summary`` (derived through the metric's
    ``from_summary`` when the run predates it); None when unknown."""
    if key in summary:
        return summary[key]
    metric = METRICS.get(key)
    if metric is None or metric.from_summary is None:
        return None
    try:
        return metric.from_summary(summary)
    except (KeyError, TypeError, ValueError):
        return None


METRICS: dict[str, Metric] = {}
"""Every metric by key: the built-ins, then those the loaded plugins add."""

_FROM_PLUGINS: set[str] = set()


def install_plugin_metrics(metrics: dict[str, Metric]) -> None:
    """Make ``metrics`` (key -> Metric, from the plugins just loaded) the plugin metrics,
    replacing those an earlier load added."""
    for key in _FROM_PLUGINS:
        METRICS.pop(key, None)
    _FROM_PLUGINS.clear()
    for key, metric in metrics.items():
        METRICS[key] = metric
        _FROM_PLUGINS.add(key)


def builtin(key: str) -> bool:
    return key in METRICS and key not in _FROM_PLUGINS


def tunable() -> tuple[str, ...]:
    """The metrics a suite's ``[tune]`` may choose values by."""
    return tuple(k for k, m in METRICS.items() if m.tunable)
