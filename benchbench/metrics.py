"""Metrics: what a run's summary holds, and the table of every metric by key.

The table is filled through ``benchbench_register_metrics`` alone: the built-ins
(:mod:`benchbench.plugins.builtin.run_metrics`) and third-party plugins register the same
way, when the plugins load (:func:`benchbench.plugins.manager.current`); reading the table
before that loads them. Also here: a run's summary, its test confusion matrix and the
per-class commission and omission errors.

Light to import: no numpy, torch or pandas at module level.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)


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


def contract_problem(entry) -> str | None:
    """Why a registered metric is unusable, or None: its factory must return a
    :class:`Metric` whose key is the name it is registered under."""
    metric = entry.create({})
    if not isinstance(metric, Metric):
        return f"its factory returned {type(metric).__name__}, not a benchbench.Metric"
    if metric.key != entry.name:
        return f"it is registered as {entry.name!r} but its key is {metric.key!r}"
    return None


class MetricTable(Mapping):
    """Every metric by key, in registration order: the built-ins, then the plugins'.

    It mirrors the metric registry of the plugins this process loaded last, rebuilt when
    they are loaded again."""

    def __init__(self):
        self._source = None  # the components the table was built from
        self._metrics: dict[str, Metric] = {}
        self._builtin: set[str] = set()

    def _table(self) -> dict[str, Metric]:
        from benchbench import DISTRIBUTION
        from benchbench.plugins.manager import current

        components = current()
        if components is not self._source:
            entries = list(components.metrics)
            self._metrics = {e.name: e.create({}) for e in entries}
            self._builtin = {e.name for e in entries if e.distribution == DISTRIBUTION}
            self._source = components
        return self._metrics

    def __getitem__(self, key: str) -> Metric:
        return self._table()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())

    def builtin(self, key: str) -> bool:
        return key in self._table() and key in self._builtin


METRICS = MetricTable()
"""Every metric by key: the built-ins, then those the loaded plugins add."""

DEFAULT_METRICS = ("test_acc", "train_seconds_per_epoch", "val_seconds_per_epoch")


def tunable() -> tuple[str, ...]:
    """The metrics a suite's ``[tune]`` may choose values by."""
    return tuple(k for k, m in METRICS.items() if m.tunable)


def known(key: str) -> bool:
    """Whether ``key`` is a metric: a built-in or one a loaded plugin adds."""
    return key in METRICS


def summarize(outcome, history: list[dict], matrix: np.ndarray) -> dict:
    """A run's summary: its status and every metric of :data:`METRICS`. A plugin's metric
    that fails is left out with a warning; it never costs the run."""
    evaluated = Evaluated(outcome, history, matrix)
    summary = {"status": outcome.status}
    for key, metric in METRICS.items():
        try:
            summary[key] = metric.compute(evaluated)
        except Exception as exc:
            if METRICS.builtin(key):
                raise
            log.warning(
                "metric %r failed (%s: %s); left out of this run", key, type(exc).__name__, exc
            )
    return summary


def confusion(true_labels, predicted, num_classes: int) -> np.ndarray:
    """Counts with rows = true class and columns = predicted class (scikit-learn's layout)."""
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(true_labels, predicted, labels=list(range(num_classes)))


def outcome_confusion(outcome) -> np.ndarray:
    """The outcome's test confusion matrix (rows: true class, columns: predicted)."""
    return confusion(
        outcome.test_labels.numpy(), outcome.test_logits.argmax(1).numpy(), len(outcome.classes)
    )


def commission_omission(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class errors as report 000 defines them, for ``matrix[true, predicted]``.

    commission_i: share of the images *assigned to* class i that belong elsewhere
    (1 - precision); omission_i: share of the images *of* class i assigned elsewhere
    (1 - recall). A class never predicted (or absent) has NaN.
    """
    import numpy as np

    matrix = np.asarray(matrix, dtype=np.float64)
    diagonal = np.diag(matrix)
    with np.errstate(invalid="ignore", divide="ignore"):
        predicted_as = matrix.sum(axis=0)
        actually = matrix.sum(axis=1)
        commission = np.where(predicted_as > 0, (predicted_as - diagonal) / predicted_as, np.nan)
        omission = np.where(actually > 0, (actually - diagonal) / actually, np.nan)
    return commission, omission
