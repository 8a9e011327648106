"""Running a suite: every run content-addressed, skipped when done, failures isolated.

Executors decide where training happens; only this driver process writes the store:

- ``local``: one run after the other, in this process (epochs are stored as they end);
- ``process``: ``workers`` spawned processes, each with its own GPU (``cuda`` runs) or an
  equal share of the CPU threads;
- ``ray``: Ray tasks on a local instance or a cluster (``address``); ``pip install
  benchbench[ray]``.

A run that diverges, runs out of memory or crashes is stored as failed (or diverged)
with its error, and the sweep carries on. Re-running a sweep after a crash, a kill or a
Ctrl-C runs only what is missing.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from benchbench.config import RunConfig
from benchbench.errors import BenchError, did_you_mean
from benchbench.execution.runner import execute, failure_text, finished, record, train_detached
from benchbench.execution.suite import Suite, smoke_suite, to_config
from benchbench.plugins.manager import Components
from benchbench.results.store import Store

EXECUTORS = ("local", "process", "ray")


@dataclass
class Tally:
    """What a sweep did, for the closing summary."""

    completed: int = 0
    skipped: int = 0
    diverged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    best: dict[str, dict] = field(default_factory=dict)  # tuned row -> chosen values

    @property
    def total(self) -> int:
        return self.completed + self.skipped + self.diverged + len(self.failed)


class Events:
    """Callbacks a progress display implements; all optional."""

    def planned(self, count: int) -> None: ...
    def started(self, config: RunConfig) -> None: ...
    def epoch(self, config: RunConfig, record: dict) -> None: ...
    def finished(self, config: RunConfig, status: str) -> None: ...


# -- executors -----------------------------------------------------------------------------


class LocalExecutor:
    def __init__(self, components: Components, store: Store, force: bool):
        self.components, self.store, self.force = components, store, force

    def run(self, configs: list[RunConfig], events: Events) -> Iterator[tuple[RunConfig, str, str]]:
        """Yield ``(config, status, error)`` per run, in order."""
        for config in configs:
            events.started(config)
            try:
                result = execute(
                    config,
                    self.components,
                    self.store,
                    force=self.force,
                    on_epoch=lambda r, c=config: events.epoch(c, r),
                )
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # isolate: record, report, carry on
                yield config, "failed", failure_text(exc)
                continue
            yield config, "skipped" if result.skipped else result.record.status, ""


class _DetachedExecutor:
    """Shared by the process and Ray executors: submit, then record results as they come."""

    def __init__(self, store: Store, force: bool, workers: int):
        self.store, self.force, self.workers = store, force, max(1, workers)

    def _collect(self, config: RunConfig, get: Callable) -> tuple[RunConfig, str, str]:
        try:
            outcome, history, environment = get()
        except Exception as exc:
            return config, "failed", failure_text(exc)
        self.store.begin(config, environment)
        for epoch in history:
            self.store.add_epoch(config.run_id, epoch)
        return config, record(self.store, config, outcome, history).status, ""

    def _split(self, configs: list[RunConfig]) -> tuple[list[RunConfig], list[RunConfig]]:
        """``(already finished, to run)``."""
        done = {c.run_id for c in configs if not self.force and finished(self.store, c)}
        return (
            [c for c in configs if c.run_id in done],
            [c for c in configs if c.run_id not in done],
        )

    def threads(self) -> int:
        return max(1, (os.cpu_count() or 1) // self.workers)


class ProcessExecutor(_DetachedExecutor):
    def run(self, configs: list[RunConfig], events: Events):
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        done, todo = self._split(configs)
        yield from ((c, "skipped", "") for c in done)
        if not todo:
            return
        context = multiprocessing.get_context("spawn")
        gpus = _cuda_count() if any(c.device.startswith("cuda") for c in todo) else 0
        slots = context.Queue()
        for i in range(self.workers):
            slots.put(i)
        with ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_init_worker, initargs=(slots, gpus)
        ) as pool:
            futures = {}
            for config in todo:
                events.started(config)
                futures[pool.submit(train_detached, config.to_dict(), self.threads())] = config
            while futures:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in done:
                    yield self._collect(futures.pop(future), future.result)


def _cuda_count() -> int:
    import torch

    return torch.cuda.device_count()


def _init_worker(slots, gpus: int) -> None:
    """One GPU per worker process: it sees its own card as cuda:0."""
    slot = slots.get()
    if gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(slot % gpus)


class RayExecutor(_DetachedExecutor):
    def __init__(self, store: Store, force: bool, workers: int, address: str | None):
        super().__init__(store, force, workers)
        self.address = address

    def run(self, configs: list[RunConfig], events: Events):
        try:
            import ray
        except ImportError:
            raise BenchError("--executor ray needs Ray: pip install 'benchbench[ray]'.") from None
        done, todo = self._split(configs)
        yield from ((c, "skipped", "") for c in done)
        if not todo:
            return
        if not ray.is_initialized():
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:
                ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False)
        cuda = any(c.device.startswith("cuda") for c in todo)
        remote = ray.remote(num_cpus=1, num_gpus=1 if cuda else 0)(train_detached)
        futures = {}
        for config in todo:
            events.started(config)
            futures[remote.remote(config.to_dict(), self.threads())] = config
        while futures:
            done, _ = ray.wait(list(futures), num_returns=1)
            for ref in done:
                yield self._collect(futures.pop(ref), lambda r=ref: ray.get(r))


def make_executor(
    name: str,
    components: Components,
    store: Store,
    *,
    force: bool = False,
    workers: int = 1,
    address: str | None = None,
):
    if name == "local":
        return LocalExecutor(components, store, force)
    if name == "process":
        return ProcessExecutor(store, force, workers)
    if name == "ray":
        return RayExecutor(store, force, workers, address)
    raise BenchError(f"--executor {name!r}: choose one of {', '.join(EXECUTORS)}.")


# -- the driver ----------------------------------------------------------------------------


def suite_key(suite: Suite, smoke: bool) -> str:
    return f"{suite.name} [smoke]" if smoke else suite.name


def run_suite(
    suite: Suite,
    components: Components,
    store: Store,
    executor,
    *,
    overrides: list[str] = (),
    smoke: bool = False,
    device: str = "auto",
    only: list[str] = (),
    events: Events | None = None,
) -> Tally:
    """Run every group of ``suite`` (or those in ``only``); tuning steps wait for the
    results they depend on."""
    from benchbench.training import device as devices

    events = events or Events()
    if smoke:
        suite = smoke_suite(suite)
    key = suite_key(suite, smoke)
    resolved = str(devices.resolve(device))

    def configs_of(rows: list[dict], seeds) -> list[RunConfig]:
        out = []
        for row in rows:
            for seed in seeds:
                try:
                    config = to_config(row, seed, overrides, smoke)
                except BenchError as exc:
                    raise BenchError(f"suite {suite.name}: {exc}") from None
                out.append(RunConfig.from_dict({**config.to_dict(), "device": resolved}))
        _check_names(out, components)
        return out

    groups = suite.groups()
    available = [g for g, _ in groups] + (["tune"] if suite.tune else [])
    unknown = [g for g in only if g not in available]
    if unknown:
        raise BenchError(
            f"--group {unknown[0]!r}: suite {suite.name} has the groups "
            f"{', '.join(available)}.{did_you_mean(unknown[0], available)}"
        )
    if only:
        groups = [(g, rows) for g, rows in groups if g in only]
        if "tune" not in only:
            suite = replace(suite, tune=None)
    tally = Tally()
    store.forget_suite(key)
    plan = [(group, configs_of(rows, suite.seeds)) for group, rows in groups]
    events.planned(sum(len(c) for _, c in plan) + _tune_size(suite))
    for group, configs in plan:
        store.add_to_suite(key, group, [(c.run_id, None, None) for c in configs])
        _run(executor, configs, events, tally)
    if suite.tune is not None:
        seeds = (
            suite.seeds
            if len(suite.seeds) == suite.tune.repeats
            else [suite.seeds[0] + i for i in range(suite.tune.repeats)]
        )
        for row in suite.tuned_rows():
            best: dict = {}
            for setting in suite.tune.order:
                steps = suite.tune_step(row, setting, best)
                configs = configs_of(steps, seeds)
                values = suite.tune.values[setting]
                chunks = [
                    configs[i * len(seeds) : (i + 1) * len(seeds)] for i in range(len(values))
                ]
                store.add_to_suite(
                    key,
                    "tune",
                    [
                        (c.run_id, setting, value)
                        for value, chunk in zip(values, chunks, strict=True)
                        for c in chunk
                    ],
                )
                _run(executor, configs, events, tally)
                scores = [_score(store, chunk, suite.tune.metric) for chunk in chunks]
                if all(math.isnan(s) for s in scores):
                    raise BenchError(
                        f"suite {suite.name}: every run tuning {setting} for "
                        f"{row.get('name') or 'base'} failed; see the failures."
                    )
                chosen = max(
                    range(len(scores)),
                    key=lambda i: -math.inf if math.isnan(scores[i]) else scores[i],
                )
                best[setting] = suite.tune.values[setting][chosen]
            tally.best[row.get("name") or "base"] = best
    return tally


def _tune_size(suite: Suite) -> int:
    if suite.tune is None:
        return 0
    steps = sum(len(suite.tune.values[k]) for k in suite.tune.order)
    return steps * suite.tune.repeats * len(suite.tuned_rows())


def _run(executor, configs: list[RunConfig], events: Events, tally: Tally) -> None:
    for config, status, error in executor.run(configs, events):
        if status == "skipped":
            tally.skipped += 1
        elif status == "complete":
            tally.completed += 1
        elif status == "diverged":
            tally.diverged += 1
        else:
            tally.failed.append((f"{config.label} seed {config.seed} [{config.run_id}]", error))
        events.finished(config, status)


def _score(store: Store, configs: list[RunConfig], metric: str) -> float:
    values = []
    for config in configs:
        stored = store.get(config.run_id)
        if stored is not None and stored.status == "complete":
            value = stored.summary.get(metric)
            if value is not None and not math.isnan(value):
                values.append(value)
    return statistics.fmean(values) if values else math.nan


def _check_names(configs: list[RunConfig], components: Components) -> None:
    """Unknown plugin names fail the sweep before any run, not one run at a time."""
    for config in {(c.arch, c.dataset, c.augs): c for c in configs}.values():
        components.architectures.get(config.arch)
        components.datasets.get(config.dataset)
        for aug in config.augs:
            components.augmentations.get(aug)
