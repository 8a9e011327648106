"""Executors decide where training happens; only the driver process writes the store.

An executor implements :class:`Executor`: ``run(configs, events)`` yields
``(config, status, error)`` for every config as it ends. The built-ins live in modules of
this package; they and any plugin's are registered through
``benchbench_register_executors`` (:mod:`benchbench.plugins.builtin.executors`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from benchbench.config import RunConfig
from benchbench.errors import BenchError
from benchbench.plugins.manager import Components
from benchbench.results.store import Store


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


def executors(components: Components | None = None) -> dict[str, str]:
    """Every executor's name and what it is, as registered."""
    from benchbench.plugins.manager import current

    return {e.name: e.description for e in (components or current()).executors}


def _load(name: str, components: Components | None = None):
    from benchbench.plugins.manager import current

    registry = (components or current()).executors
    if name not in registry:
        raise BenchError(f"--executor {name!r}: choose one of {', '.join(executors())}.")
    return registry.get(name).create({})


def live_epochs(name: str, components: Components | None = None) -> bool:
    """Whether executor ``name`` reports epochs as they end."""
    return _load(name, components).live_epochs


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
    executor = _load(name, components)
    return executor(components, store, force=force, workers=workers, address=address, **options)
