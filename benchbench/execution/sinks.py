"""Result sinks: where runs go besides the store (experiment trackers, exporters).

A sink is what a ``benchbench_register_sinks`` factory returns: an object with any of

- ``run_started(run_id, label, config: dict, environment: dict)``, when a run begins;
- ``epoch_ended(run_id, record: dict)``, after each epoch (the store's epoch record);
- ``run_ended(record, artifacts: dict[str, pathlib.Path])``, once the run is stored
  (``record`` is its :class:`~benchbench.results.store.RunRecord`: status, summary,
  config, environment; ``artifacts`` the files to attach: the confusion matrix, and the
  figures where the command draws them).

Sinks are attached for the duration of a command (:func:`attached`); every stored run of
that process passes through them. A sink that fails is reported and detached: it never
costs a stored result.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_ACTIVE: list[Any] = []
_ARTIFACTS: list[Callable[[Any, Any], dict[str, Path]]] = []  # (store, record) -> files


@contextlib.contextmanager
def attached(sinks: list[Any], artifacts: Callable | None = None) -> Iterator[None]:
    """Send every run stored inside the block to ``sinks`` too; ``artifacts(store,
    record)`` adds files (figures) to those each sink receives."""
    _ACTIVE.extend(sinks)
    if artifacts is not None:
        _ARTIFACTS.append(artifacts)
    try:
        yield
    finally:
        for sink in sinks:
            if sink in _ACTIVE:
                _ACTIVE.remove(sink)
            close = getattr(sink, "close", None)
            if close is not None:
                _call(sink, close)
        if artifacts is not None:
            _ARTIFACTS.remove(artifacts)


def is_attached(sink) -> bool:
    """Whether ``sink`` still receives runs (a failure detaches it)."""
    return sink in _ACTIVE


def _call(sink, method, *args) -> None:
    try:
        method(*args)
    except Exception as exc:  # a tracker's outage must not cost a stored result
        log.warning(
            "result sink %s failed (%s: %s); it is detached for the rest of this command. "
            "The run itself is stored.",
            type(sink).__name__,
            type(exc).__name__,
            exc,
        )
        if sink in _ACTIVE:
            _ACTIVE.remove(sink)


def _each(method: str, *args) -> None:
    for sink in list(_ACTIVE):
        function = getattr(sink, method, None)
        if function is not None:
            _call(sink, function, *args)


def run_started(run_id: str, label: str, config: dict, environment: dict) -> None:
    _each("run_started", run_id, label, config, environment)


def epoch_ended(run_id: str, record: dict) -> None:
    _each("epoch_ended", run_id, record)


def run_ended(store, record) -> None:
    """``record`` is stored: hand it to every sink with its artifact files."""
    if not _ACTIVE:
        return
    files = artifacts_of(store, record)
    for extra in _ARTIFACTS:
        try:
            files.update(extra(store, record))
        except Exception as exc:
            log.warning("could not draw the figures of run %s for the sinks: %s", record.id, exc)
    _each("run_ended", record, files)


def artifacts_of(store, record) -> dict[str, Path]:
    """The stored files of ``record`` a tracker keeps: confusion matrix and class names."""
    folder = store.run_dir(record.id)
    return {p.name: p for p in sorted(folder.glob("*")) if p.suffix in (".csv", ".json")}


def replay(store, record) -> None:
    """Send an already stored run through the attached sinks (``bench export``)."""
    run_started(record.id, record.label, record.config, record.environment)
    for epoch in store.history(record.id):
        epoch_ended(record.id, epoch)
    run_ended(store, record)
