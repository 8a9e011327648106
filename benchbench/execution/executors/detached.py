"""What the process and Ray executors share: training happens elsewhere, the driver stores
each result as it comes back, through the same :class:`~benchbench.execution.runner.Recording`
as a local run."""

from __future__ import annotations

import os
from collections.abc import Callable

from benchbench.config import RunConfig
from benchbench.execution.runner import Recording, reuse


class WorkerLost(RuntimeError):
    """The process or node running a run went away (killed, out of memory, crashed)."""


# Ray's names for a lost worker or node: infrastructure, not the run's own error.
RAY_LOST = {"WorkerCrashedError", "NodeDiedError", "LocalRayletDiedError", "OwnerDiedError"}


def infrastructure_failure(exc: BaseException) -> bool:
    return isinstance(exc, WorkerLost) or type(exc).__name__ in RAY_LOST


class DetachedExecutor:
    live_epochs = False

    def __init__(
        self,
        components,
        store,
        *,
        force: bool = False,
        workers: int = 1,
        retries: int = 0,
        **_options,
    ):
        self.store, self.force, self.workers = store, force, max(1, workers)
        self.retries = max(0, retries)
        self.attempts: dict[str, int] = {}  # run id -> attempts so far

    def close(self) -> None:
        """Nothing to release (see RayExecutor.close)."""

    def retry(self, config: RunConfig, get: Callable) -> bool:
        """Whether ``config``'s run should be submitted again: only after an
        infrastructure failure (a lost worker or node), at most ``retries`` times."""
        try:
            get()
        except Exception as exc:
            return infrastructure_failure(exc) and self.attempts[config.run_id] <= self.retries
        return False

    def collect(self, config: RunConfig, get: Callable) -> tuple[RunConfig, str, str]:
        """Store what ``get()`` returns (or raises) for ``config``, with its attempts."""
        from benchbench.execution.runner import failure_text

        attempts = {"attempts": self.attempts.get(config.run_id, 1)}
        try:
            outcome, history, environment = get()
        except Exception as exc:
            Recording(self.store, config, attempts).failed(exc)
            return config, "failed", failure_text(exc)
        recording = Recording(self.store, config, {**environment, **attempts})
        recording.begin()
        for epoch in history:
            recording.epoch(epoch)
        return config, recording.complete(outcome).status, ""

    def split(self, configs: list[RunConfig]) -> tuple[list[RunConfig], list[RunConfig]]:
        """``(already finished, to run)``."""
        done = {c.run_id for c in configs if not self.force and reuse(self.store, c)}
        return (
            [c for c in configs if c.run_id in done],
            [c for c in configs if c.run_id not in done],
        )

    def threads(self) -> int:
        return max(1, (os.cpu_count() or 1) // self.workers)
