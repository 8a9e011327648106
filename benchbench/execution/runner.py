"""One run against the store: skip it if done, else train, evaluate and record it."""

from __future__ import annotations

import json
import math
import statistics as stats
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchbench.config import RunConfig
from benchbench.plugins.manager import Components
from benchbench.results.store import DONE, RunRecord, Store


@dataclass
class Result:
    record: RunRecord
    skipped: bool


def test_confusion(outcome):
    """The outcome's test confusion matrix (rows: true class, columns: predicted)."""
    from benchbench.training.metrics import confusion

    return confusion(
        outcome.test_labels.numpy(), outcome.test_logits.argmax(1).numpy(), len(outcome.classes)
    )


def summarize(outcome, history: list[dict], matrix) -> dict:
    """The numbers a report needs, derived once from the run's history and test logits."""
    import numpy as np
    import torch.nn.functional as F

    logits, labels = outcome.test_logits, outcome.test_labels
    finite = logits.numel() and bool(logits.isfinite().all())
    mean = lambda key: stats.fmean(h[key] for h in history) if history else math.nan  # noqa: E731
    return {
        "status": outcome.status,
        "test_acc": float(np.trace(matrix) / max(matrix.sum(), 1)),
        "test_loss": float(F.cross_entropy(logits, labels)) if finite else math.nan,
        "epochs_run": len(history),
        "best_epoch": outcome.best_epoch,
        "best_val_acc": max((h["val_acc"] for h in history), default=math.nan),
        "max_train_acc": max((h["train_acc"] for h in history), default=math.nan),
        "train_seconds_per_epoch": mean("train_seconds"),
        "val_seconds_per_epoch": mean("val_seconds"),
        "train_seconds_total": sum(h["train_seconds"] for h in history),
        "warmup_seconds": outcome.warmup_seconds,
        "load_seconds": outcome.load_seconds,
        "num_parameters": outcome.num_parameters,
        "final_train_loss": history[-1]["train_loss"] if history else math.nan,
        "final_val_loss": history[-1]["val_loss"] if history else math.nan,
    }


def _artifacts(outcome, matrix) -> dict[str, Callable]:
    import numpy as np
    import torch

    return {
        "model.pt": lambda p: torch.save(outcome.state_dict, p),
        "test_logits.npy": lambda p: np.save(p, outcome.test_logits.numpy()),
        "test_labels.npy": lambda p: np.save(p, outcome.test_labels.numpy()),
        "confusion.csv": lambda p: np.savetxt(p, matrix, fmt="%d", delimiter=","),
        "classes.json": lambda p: p.write_text(json.dumps(outcome.classes)),
    }


def finished(store: Store, config: RunConfig) -> RunRecord | None:
    """The stored run of ``config`` if it already ran to the end (complete or diverged)."""
    existing = store.get(config.run_id)
    return existing if existing is not None and existing.status in DONE else None


def record(store: Store, config: RunConfig, outcome, history: list[dict]) -> RunRecord:
    """Store a finished training outcome: summary, artifacts, status."""
    matrix = test_confusion(outcome)
    summary = summarize(outcome, history, matrix)
    store.finish(config.run_id, outcome.status, summary, _artifacts(outcome, matrix))
    return store.get(config.run_id)


def failure_text(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def execute(
    config: RunConfig,
    components: Components,
    store: Store,
    *,
    force: bool = False,
    on_epoch: Callable[[dict], None] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> Result:
    """Run ``config`` (validated, device resolved) unless an identical run is already done."""
    from benchbench.training import device as devices
    from benchbench.training.loop import train

    existing = finished(store, config)
    if existing is not None and not force:
        return Result(existing, skipped=True)
    # A forced re-run that fails puts the earlier result back: nothing stored is lost.
    previous = store.snapshot(config.run_id) if existing is not None else None
    environment = devices.describe(devices.resolve(config.device))
    history: list[dict] = []
    started = False

    def start() -> None:
        nonlocal started
        store.begin(config, environment)
        started = True

    def record_epoch(epoch: dict) -> None:
        history.append(epoch)
        store.add_epoch(config.run_id, epoch)
        if on_epoch is not None:
            on_epoch(epoch)

    try:
        outcome = train(
            config, components, on_start=start, on_epoch=record_epoch, on_batch=on_batch
        )
        stored = record(store, config, outcome, history)
    except BaseException as exc:
        if started and previous is not None:
            store.restore(previous)
        elif started:  # errors before training starts leave the store untouched
            store.fail(config.run_id, failure_text(exc))
        raise
    return Result(stored, skipped=False)


def train_detached(config_data: dict, threads: int | None = None) -> tuple[Any, list[dict], dict]:
    """Train in a worker process (or on a Ray node) that never touches the store.

    Returns ``(outcome, history, environment)`` for the driver to record.
    """
    import torch

    from benchbench.plugins.manager import load_components
    from benchbench.training import device as devices
    from benchbench.training.loop import train

    if threads:
        torch.set_num_threads(threads)
    config = RunConfig.from_dict(config_data)
    history: list[dict] = []
    outcome = train(config, load_components(), on_epoch=history.append)
    return outcome, history, devices.describe(devices.resolve(config.device))
