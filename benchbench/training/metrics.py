"""The built-in metrics: every number a run's summary holds, how it is computed from the
run, its column title and digits in reports, and whether a suite may tune on it.

Light to import (numpy and torch are imported inside functions). Adding a metric means
adding one row here (a plugin adds one through ``benchbench_register_metrics``);
``bench report --metrics``, suite tables and ``[tune] metric`` pick it up from
:data:`benchbench.metrics.METRICS`. Also here: the test confusion matrix and report 000's
per-class commission and omission errors.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

from benchbench.metrics import METRICS, Evaluated, Metric, tunable

if TYPE_CHECKING:
    import numpy as np

__all__ = ["METRICS", "DEFAULT_METRICS", "Evaluated", "Metric", "summarize", "tunable"]
log = logging.getLogger(__name__)


def _test_loss(e: Evaluated) -> float:
    import torch.nn.functional as F

    logits, labels = e.outcome.test_logits, e.outcome.test_labels
    finite = logits.numel() and bool(logits.isfinite().all())
    return float(F.cross_entropy(logits, labels)) if finite else math.nan


METRICS.update(
    (m.key, m)
    for m in (
        Metric(
            "test_acc",
            "Accuracy",
            4,
            lambda e: float(e.matrix.trace() / max(e.matrix.sum(), 1)),
            higher_is_better=True,
            tunable=True,
        ),
        Metric(
            "train_seconds_per_epoch",
            "Train s/epoch",
            2,
            lambda e: e.mean("train_seconds"),
            timing=True,
        ),
        Metric(
            "val_seconds_per_epoch", "Val s/epoch", 2, lambda e: e.mean("val_seconds"), timing=True
        ),
        Metric(
            "train_seconds_per_epoch_median",
            "Train s/epoch (median)",
            2,
            lambda e: e.median("train_seconds"),
            timing=True,
        ),
        Metric(
            "best_val_acc",
            "Best val acc",
            4,
            lambda e: e.best("val_acc"),
            higher_is_better=True,
            tunable=True,
        ),
        Metric(
            "max_train_acc",
            "Max train acc",
            4,
            lambda e: e.best("train_acc"),
            higher_is_better=True,
            tunable=True,
        ),
        Metric(
            "train_seconds_total",
            "Train s",
            1,
            lambda e: e.total("train_seconds"),
            timing=True,
        ),
        Metric(  # the unit reports 002 and 004 quote
            "train_minutes_total",
            "Train min",
            2,
            lambda e: e.total("train_seconds") / 60,
            timing=True,
            from_summary=lambda summary: summary["train_seconds_total"] / 60,
        ),
        Metric("epochs_run", "Epochs", 0, lambda e: len(e.history)),
        Metric("best_epoch", "Best epoch", 0, lambda e: e.outcome.best_epoch, True),
        Metric("num_parameters", "Parameters", 0, lambda e: e.outcome.num_parameters),
        Metric("warmup_seconds", "Warm-up s", 2, lambda e: e.outcome.warmup_seconds, timing=True),
        Metric(
            "compile_seconds",
            "Compile s",
            2,
            lambda e: getattr(e.outcome, "compile_seconds", 0.0),
            timing=True,
        ),
        Metric("load_seconds", "Load s", 2, lambda e: e.outcome.load_seconds, timing=True),
        Metric("peak_memory_mb", "Peak MB", 0, lambda e: e.outcome.peak_memory_mb),
        Metric("final_train_loss", "Final train loss", 3, lambda e: e.last("train_loss")),
        Metric("final_val_loss", "Final val loss", 3, lambda e: e.last("val_loss")),
        Metric("test_loss", "Test loss", 3, _test_loss),
        Metric(
            "seconds_to_target",
            "Time to target s",
            1,
            lambda e: e.outcome.seconds_to_target,
            timing=True,
        ),
        Metric("epochs_to_target", "Epochs to target", 0, lambda e: e.outcome.epochs_to_target),
    )
)
DEFAULT_METRICS = ("test_acc", "train_seconds_per_epoch", "val_seconds_per_epoch")


def known(key: str) -> bool:
    """Whether ``key`` is a metric, loading the plugins first if it is not a built-in (a
    report or suite may name a metric a plugin adds)."""
    if key not in METRICS:
        from benchbench.plugins.manager import load_components

        load_components()
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
            from benchbench.metrics import builtin

            if builtin(key):
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
