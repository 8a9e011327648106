"""What the process and Ray executors share: training happens elsewhere, the driver stores
each result as it comes back, through the same :class:`~benchbench.execution.runner.Recording`
as a local run."""

from __future__ import annotations

import os
from collections.abc import Callable

from benchbench.config import RunConfig
from benchbench.execution.runner import Recording, reuse


class DetachedExecutor:
    live_epochs = False

    def __init__(self, components, store, *, force: bool = False, workers: int = 1, **_):
        self.store, self.force, self.workers = store, force, max(1, workers)

    def collect(self, config: RunConfig, get: Callable) -> tuple[RunConfig, str, str]:
        """Store what ``get()`` returns (or raises) for ``config``."""
        from benchbench.execution.runner import failure_text

        try:
            outcome, history, environment = get()
        except Exception as exc:
            Recording(self.store, config, {}).failed(exc)
            return config, "failed", failure_text(exc)
        recording = Recording(self.store, config, environment)
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
