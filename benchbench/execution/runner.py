"""One run against the store: skip it if done, else train, evaluate and store its outcome.

:class:`Recording` is the one path from a training run into the store, whichever executor
trained it: begin, each epoch, then the outcome or the failure. A forced re-run never
touches the earlier stored result until it has completed, so nothing stored is lost.
"""

from __future__ import annotations

import time
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


def finished(store: Store, config: RunConfig) -> RunRecord | None:
    """The stored run of ``config`` if it already ran to the end (complete or diverged)."""
    existing = store.get(config.run_id)
    return existing if existing is not None and existing.status in DONE else None


def reuse(store: Store, config: RunConfig) -> RunRecord | None:
    """:func:`finished`, under ``config``'s label: a run asked for under a new name is not
    trained again, it is renamed."""
    existing = finished(store, config)
    if existing is not None and existing.label != config.label:
        store.relabel(config)
        existing = store.get(config.run_id)
    return existing


def failure_text(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


class Recording:
    """Stores one run as it happens: :meth:`begin`, :meth:`epoch`, then :meth:`complete`
    or :meth:`failed`.

    The run is claimed for this process first, so two processes never train it at once.
    A run that replaces a finished one (``--force``) leaves the stored result untouched
    until it has completed itself: its epochs are kept in memory and written with its
    outcome in one transaction. Killed at any moment, the earlier result stays.
    """

    def __init__(self, store: Store, config: RunConfig, environment: dict):
        self.store, self.config, self.environment = store, config, environment
        self.history: list[dict] = []
        self.started = False
        self.started_at = time.time()
        self.replacing = finished(store, config) is not None

    def begin(self) -> None:
        self.store.claim(self.config.run_id)
        self.started_at = time.time()
        if not self.replacing:
            self.store.begin(self.config, self.environment, self.started_at)
        self.started = True

    def epoch(self, record: dict) -> None:
        self.history.append(record)
        if not self.replacing:
            self.store.add_epoch(self.config.run_id, record)

    def complete(self, outcome) -> RunRecord:
        """Store a finished training outcome: summary, artifacts, history, status."""
        from benchbench.training.metrics import outcome_confusion, summarize

        if not self.started:
            self.begin()
        matrix = outcome_confusion(outcome)
        try:
            self.store.finish(
                self.config,
                self.environment,
                outcome.status,
                summarize(outcome, self.history, matrix),
                self.history,
                self.started_at,
                weights=outcome.state_dict,
                test_logits=outcome.test_logits.numpy(),
                test_labels=outcome.test_labels.numpy(),
                confusion=matrix,
                classes=outcome.classes,
            )
        finally:
            self.store.release(self.config.run_id)
        return self.store.get(self.config.run_id)

    def failed(self, exc: BaseException) -> None:
        """Record the failure; a replaced result is left exactly as it was."""
        try:
            if self.replacing:
                return
            if not self.started:
                self.store.claim(self.config.run_id)
                self.store.begin(self.config, self.environment, self.started_at)
            self.store.fail(self.config.run_id, failure_text(exc))
        finally:
            self.store.release(self.config.run_id)


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

    existing = reuse(store, config) if not force else None
    if existing is not None:
        return Result(existing, skipped=True)
    recording = Recording(store, config, devices.describe(devices.resolve(config.device)))

    def record_epoch(epoch: dict) -> None:
        recording.epoch(epoch)
        if on_epoch is not None:
            on_epoch(epoch)

    try:
        outcome = train(
            config, components, on_start=recording.begin, on_epoch=record_epoch, on_batch=on_batch
        )
        stored = recording.complete(outcome)
    except BaseException as exc:
        if recording.started:  # errors before training starts leave the store untouched
            recording.failed(exc)
        raise
    return Result(stored, skipped=False)


def train_detached(config_data: dict, threads: int | None = None) -> tuple[Any, list[dict], dict]:
    """Train in a worker process (or on a Ray node) that never touches the store.

    Returns ``(outcome, history, environment)`` for the driver to store with a
    :class:`Recording`.
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
