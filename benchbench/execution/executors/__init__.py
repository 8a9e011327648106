"""Executors decide where training happens; only the driver process writes the store.

An executor implements :class:`Executor`: ``run(configs, events)`` yields
``(config, status, error)`` for every config as it ends. Each one lives in a module of
this package and is listed in :data:`EXECUTORS` (name → ``module:class``); adding one,
a Slurm executor through submitit say, means adding its module and one line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Protocol

from benchbench.config import RunConfig
from benchbench.errors import BenchError
from benchbench.plugins.manager import Components
from benchbench.results.store import Store

EXECUTORS = {
    "local": ("benchbench.execution.executors.local:LocalExecutor", "one run after the other"),
    "process": (
        "benchbench.execution.executors.process:ProcessExecutor",
        "parallel worker processes on this machine",
    ),
    "ray": ("benchbench.execution.executors.ray:RayExecutor", "Ray tasks, local or a cluster"),
    "slurm": (
        "benchbench.execution.executors.slurm:SlurmExecutor",
        "a Slurm job array through submitit",
    ),
}


class Events:
    """Callbacks a progress display implements; all optional."""

    def planned(self, count: int) -> None: ...
    def started(self, config: RunConfig) -> None: ...
    def epoch(self, config: RunConfig, record: dict) -> None: ...
    def finished(self, config: RunConfig, status: str) -> None: ...


class Executor(Protocol):
    """Where a sweep's runs train."""

    live_epochs: bool
    """Whether :meth:`Events.epoch` is called as each epoch ends (else only at the end)."""

    def run(self, configs: list[RunConfig], events: Events) -> Iterator[tuple[RunConfig, str, str]]:
        """Train ``configs``; yield ``(config, status, error)`` per run as each ends.

        ``status`` is ``complete``, ``diverged``, ``failed`` or ``skipped`` (already
        stored). A run that fails is stored as failed and yielded; the others go on.
        """
        ...

    def close(self) -> None:
        """Release what the executor started (a Ray instance), once the sweep is done."""
        ...


def _load(name: str):
    if name not in EXECUTORS:
        raise BenchError(f"--executor {name!r}: choose one of {', '.join(EXECUTORS)}.")
    module, _, cls = EXECUTORS[name][0].partition(":")
    return getattr(importlib.import_module(module), cls)


def live_epochs(name: str) -> bool:
    """Whether executor ``name`` reports epochs as they end."""
    return _load(name).live_epochs


def make_executor(
    name: str,
    components: Components,
    store: Store,
    *,
    force: bool = False,
    workers: int = 1,
    address: str | None = None,
    **options,
) -> Executor:
    """The executor called ``name``, ready to run configs against ``store``; ``options``
    are the executor's own (Ray: ``cpus_per_run``, ``gpus_per_run``; Slurm: those and
    ``partition``, ``time_minutes``, ``cluster``)."""
    executor = _load(name)
    return executor(components, store, force=force, workers=workers, address=address, **options)
