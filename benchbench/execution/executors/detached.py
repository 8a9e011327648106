"""What the process and Ray executors share: training happens elsewhere, the driver stores
each result as it comes back, through the same :class:`~benchbench.execution.runner.Recording`
as a local run."""

from __future__ import annotations

import os
from collections.abc import Callable

from benchbench.config import RunConfig
from benchbench.execution.runner import Recording
from benchbench.execution.runner import failure_text
from benchbench.execution.runner import finished
from benchbench.execution.runner import reuse
from benchbench.training.resume import ResumePolicy


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
        policy: ResumePolicy | None = None,
        **_options,
    ):
        self.store, self.force, self.workers = store, force, max(1, workers)
        self.policy = policy or ResumePolicy()
        self.retries = max(0, retries)
        self.attempts: dict[str, int] = {}  # run id -> attempts so far

    def close(self) -> None:
        """Nothing to release (see RayExecutor.close)."""

    def submitted(self, config: RunConfig, events) -> None:
        """Count an attempt of ``config``'s run; the first one is announced."""
        if config.run_id not in self.attempts:
            events.started(config)
        self.attempts[config.run_id] = self.attempts.get(config.run_id, 0) + 1

    def collect(self, config: RunConfig, get: Callable) -> tuple[RunConfig, str, str] | None:
        """Store what ``get()`` returns (or raises) for ``config``, with its attempts; None
        when the run should be submitted again instead: after an infrastructure failure (a
        lost worker or node), at most ``retries`` times."""
        attempts = {"attempts": self.attempts.get(config.run_id, 1)}
        try:
            outcome, history, environment = get()  # fetched once: it carries the weights
        except Exception as exc:
            if infrastructure_failure(exc) and attempts["attempts"] <= self.retries:
                return None
            Recording(self.store, config, attempts).failed(exc)
            return config, "failed", failure_text(exc)
        if not self.force and finished(self.store, config) is not None:
            return config, "skipped", ""  # another process stored it meanwhile: it stays
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

    def resume_args(self, config: RunConfig) -> tuple[str, ResumePolicy]:
        """Where ``config``'s worker writes and finds resume points (the run's artifact
        folder: a shared file system on a cluster), and when it writes them. Under
        ``--force`` an old resume point is removed first: the run starts over."""
        folder = self.store.run_dir(config.run_id)
        if self.force:
            from benchbench.training.resume import discard
            from benchbench.training.resume import path_in

            discard(path_in(folder))
        return str(folder), self.policy

    def threads(self) -> int:
        return max(1, (os.cpu_count() or 1) // self.workers)


class ClusterExecutor(DetachedExecutor):
    """A detached executor whose runs are each granted ``cpus_per_run`` CPUs (their torch
    threads) and, for CUDA runs, ``gpus_per_run`` GPUs on a cluster's nodes."""

    def __init__(
        self, components, store, *, cpus_per_run: float = 1, gpus_per_run: float = 1, **options
    ):
        super().__init__(components, store, **options)
        self.cpus_per_run, self.gpus_per_run = cpus_per_run, gpus_per_run
