"""The built-in metrics: every number a run's summary holds, how it is computed from the
run, its column title and digits in reports, and whether a suite may tune on it.

Registered through ``benchbench_register_metrics`` like a plugin's; adding a built-in
metric means adding one row here. Light to import (torch inside functions).
"""

from __future__ import annotations

import math

from benchbench import hookimpl
from benchbench.metrics import Evaluated
from benchbench.metrics import Metric


def _test_loss(e: Evaluated) -> float:
    import torch.nn.functional as F

    logits, labels = e.outcome.test_logits, e.outcome.test_labels
    finite = logits.numel() and bool(logits.isfinite().all())
    return float(F.cross_entropy(logits, labels)) if finite else math.nan


def _timing(key: str, title: str, digits: int, compute, **more) -> Metric:
    """A duration: reported, never compared across machines as a score."""
    return Metric(key, title, digits, compute, timing=True, **more)


def _score(key: str, title: str, compute) -> Metric:
    """An accuracy a suite may tune on: higher is better, four digits."""
    return Metric(key, title, 4, compute, higher_is_better=True, tunable=True)


BUILTIN = (
    _score("test_acc", "Accuracy", lambda e: float(e.matrix.trace() / max(e.matrix.sum(), 1))),
    _timing("train_seconds_per_epoch", "Train s/epoch", 2, lambda e: e.mean("train_seconds")),
    _timing("val_seconds_per_epoch", "Val s/epoch", 2, lambda e: e.mean("val_seconds")),
    _timing(
        "train_seconds_per_epoch_median",
        "Train s/epoch (median)",
        2,
        lambda e: e.median("train_seconds"),
    ),
    _score("best_val_acc", "Best val acc", lambda e: e.best("val_acc")),
    _score("max_train_acc", "Max train acc", lambda e: e.best("train_acc")),
    _timing("train_seconds_total", "Train s", 1, lambda e: e.total("train_seconds")),
    _timing(  # the unit reports 002 and 004 quote
        "train_minutes_total",
        "Train min",
        2,
        lambda e: e.total("train_seconds") / 60,
        from_summary=lambda summary: summary["train_seconds_total"] / 60,
    ),
    Metric("epochs_run", "Epochs", 0, lambda e: len(e.history)),
    Metric("best_epoch", "Best epoch", 0, lambda e: e.outcome.best_epoch, True),
    Metric("num_parameters", "Parameters", 0, lambda e: e.outcome.num_parameters),
    _timing("warmup_seconds", "Warm-up s", 2, lambda e: e.outcome.warmup_seconds),
    _timing(
        "compile_seconds", "Compile s", 2, lambda e: getattr(e.outcome, "compile_seconds", 0.0)
    ),
    _timing("load_seconds", "Load s", 2, lambda e: e.outcome.load_seconds),
    Metric("peak_memory_mb", "Peak MB", 0, lambda e: e.outcome.peak_memory_mb),
    Metric("final_train_loss", "Final train loss", 3, lambda e: e.last("train_loss")),
    Metric("final_val_loss", "Final val loss", 3, lambda e: e.last("val_loss")),
    Metric("test_loss", "Test loss", 3, _test_loss),
    _timing("seconds_to_target", "Time to target s", 1, lambda e: e.outcome.seconds_to_target),
    Metric("epochs_to_target", "Epochs to target", 0, lambda e: e.outcome.epochs_to_target),
)


@hookimpl
def benchbench_register_metrics(registry):
    for metric in BUILTIN:
        registry.add(metric.key, lambda m=metric: m, description=metric.title)
