"""One run against the store: skip it if done, else train, evaluate and store its outcome.

:class:`Recording` is the one path from a training run into the store, whichever executor
trained it: begin, each epoch, then the outcome or the failure. A forced re-run never
touches the earlier stored result until it has completed, so nothing stored is lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchbench.config import RunConfig
from benchbench.errors import BenchError
from benchbench.errors import PluginError
from benchbench.execution import sinks
from benchbench.plugins.manager import Components
from benchbench.results.store import DONE
from benchbench.results.store import RunRecord
from benchbench.results.store import Store
from benchbench.training.resume import Interrupted
from benchbench.training.resume import ResumePoints
from benchbench.training.resume import ResumePolicy
from benchbench.training.resume import StopRequest

log = logging.getLogger(__name__)
status = logging.getLogger("benchbench.status")

PINNED_GPU = "BENCH_PINNED_GPU"  # set in a process-executor worker that sees exactly one GPU


def _segment(environment: dict, started: float | None) -> dict:
    """One stretch of a resumed run's training, for the record: where, how loaded, when."""
    return {
        "hostname": environment.get("hostname"),
        "host": environment.get("host"),
        "load_start": environment.get("load_start"),
        "load_end": environment.get("load_end"),
        "started": started,
        "ended": None,
        "epochs": None,
    }


def _epochs_of(earlier: list[dict], point: dict | None, outcome=None) -> list[int]:
    """``[first, last]`` epoch a segment completed, after the ``earlier`` segments: up to
    the resume point it left, or to the end of ``outcome``."""
    first = 1 + max([s["epochs"][1] for s in earlier if s.get("epochs")] or [0])
    if point is not None:
        return [first, int(point["epoch"])]
    return [first, int(outcome.history[-1]["epoch"]) if outcome.history else first - 1]


class Pruned(Exception):
    """A tuner stopped the run after an epoch (:mod:`benchbench.execution.study`): it is
    stored as ``pruned``, with the epochs it ran."""


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


def wait_while_held(store: Store, run_id: str, poll: float = 1.0) -> None:
    """Wait until no other live process holds ``run_id`` (it stored or left the run)."""
    if store.held_elsewhere(run_id):
        status.info("run %s is being trained by another process: waiting for it", run_id)
    while store.held_elsewhere(run_id):
        time.sleep(poll)


def failure_text(exc: BaseException) -> str:
    if isinstance(exc, Interrupted):
        return f"interrupted ({exc})"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, SystemExit):
        return f"the process was asked to exit (sys.exit({exc.code}))"
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


class Recording:
    """Stores one run as it happens: :meth:`begin`, :meth:`epoch`, then :meth:`complete`
    or :meth:`failed`.

    The run is claimed for this process first, so two processes never train it at once.
    A run that replaces a finished one (``--force``) leaves the stored result untouched
    until it has completed itself: its epochs are kept in memory and written with its
    outcome in one transaction. Killed at any moment, the earlier result stays.

    A run continued from a resume point (``points.loaded``) keeps its row and its first
    start; its stored epochs become the resume point's, and its environment lists the
    segments it ran in (host, load, start, end, epochs).
    """

    def __init__(
        self,
        store: Store,
        config: RunConfig,
        environment: dict,
        points: ResumePoints | None = None,
        lane: int = 0,
    ):
        self.store, self.config, self.environment = store, config, environment
        self.points, self.lane = points, lane
        self.history: list[dict] = []
        self.started = False
        self.started_at = time.time()
        self.replacing = finished(store, config) is not None

    @property
    def resuming(self) -> bool:
        return self.points is not None and self.points.loaded is not None

    def begin(self) -> None:
        self.store.claim(self.config.run_id)
        now = time.time()
        self.started_at = now
        if self.resuming:
            self._resume(now)
        elif not self.replacing:
            self.store.begin(self.config, self.environment, self.started_at)
        self.started = True
        sinks.run_started(
            self.config.run_id, self.config.label, self.config.to_dict(), self.environment
        )

    def _resume(self, now: float) -> None:
        point = self.points.loaded
        earlier = self.store.get(self.config.run_id)
        before = earlier.environment if earlier is not None else {}
        segments = list(before.get("segments") or [])
        if not segments:  # the first segment, as the interrupted run recorded it
            segments.append(_segment(before, earlier.started if earlier else None))
        segments[-1].update(ended=point["written"], epochs=_epochs_of(segments[:-1], point))
        segments.append(_segment(self.environment, now))
        self.environment["segments"] = segments
        if point.get("anywhere"):
            self.environment["resumed_anywhere"] = point["anywhere"]
        self.started_at = earlier.started if earlier is not None else now
        history = self.points.history(self.lane)
        self.history = list(history)
        self.store.resume(self.config, self.environment, history, self.started_at)
        within = point.get("within")
        where = f"epoch {self.points.epoch + 1} of {self.config.scaled().epochs}"
        if within:
            where += f", batch {within['batches'] + 1}"
        status.info("resuming %s at %s", self.config.run_id, where)

    def epoch(self, record: dict) -> None:
        self.history.append(record)
        if not self.replacing:
            self.store.add_epoch(self.config.run_id, record)
        sinks.epoch_ended(self.config.run_id, record)

    def complete(self, outcome) -> RunRecord:
        """Store a finished training outcome: summary, artifacts, history, status."""
        from benchbench.metrics import outcome_confusion
        from benchbench.metrics import summarize
        from benchbench.training.machine_load import load_average

        if not self.started:
            self.begin()
        matrix = outcome_confusion(outcome)
        self.environment.setdefault("load_end", load_average())
        self.environment.update(outcome.execution)  # what precision/layout auto chose
        flag_loaded_epochs(self.config, self.environment, outcome.history)
        if self.environment.get("segments"):
            last = self.environment["segments"][-1]
            last.update(ended=time.time(), load_end=self.environment["load_end"])
            last["epochs"] = _epochs_of(self.environment["segments"][:-1], None, outcome)
        # Vectorized seeds share one resume point, in the last replica's folder: the
        # recording of that run is the one that keeps or removes it.
        owns = self.points is not None and self.points.path.parent == self.store.run_dir(
            self.config.run_id
        )
        keep = (self.points.path.name,) if owns and self.points.policy.keep else ()
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
                keep=keep,
            )
            if owns:
                self.points.finished()  # keeps the file when the policy says so
        finally:
            self.store.release(self.config.run_id)
        stored = self.store.get(self.config.run_id)
        sinks.run_ended(self.store, stored)
        return stored

    def failed(self, exc: BaseException) -> None:
        """Record the failure; a replaced result is left exactly as it was."""
        try:
            if self.replacing:
                return
            if not self.started:
                self.store.claim(self.config.run_id)
                self.store.begin(self.config, self.environment, self.started_at)
            if isinstance(exc, Pruned):
                self.store.interrupt(self.config.run_id, f"pruned {exc}", status="pruned")
            elif isinstance(exc, Interrupted):
                resumable = self.points is not None and self.points.path.exists()
                self.store.interrupt(
                    self.config.run_id,
                    failure_text(exc)
                    + ("; run the same command again to resume" if resumable else ""),
                )
            else:
                self.store.fail(self.config.run_id, failure_text(exc))
            sinks.run_ended(self.store, self.store.get(self.config.run_id))
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
    policy: ResumePolicy | None = None,
    decided: dict | None = None,
) -> Result:
    """Run ``config`` (validated, device resolved) unless an identical run is already done;
    continue it from its resume point if it has one (``--force``: start over).

    The run is claimed before anything is loaded, and a run another process finished
    meanwhile is then skipped: a finished result is only ever replaced by ``--force``.
    """
    from benchbench.training.loop import train

    existing = reuse(store, config) if not force else None
    if existing is not None:
        return Result(existing, skipped=True)
    store.claim(config.run_id)
    try:
        existing = reuse(store, config) if not force else None  # finished while we waited
        if existing is not None:
            return Result(existing, skipped=True)
        points = ResumePoints.open(
            store.run_dir(config.run_id), config.run_id, policy or ResumePolicy(), fresh=force
        )
    except BaseException:
        store.release(config.run_id)
        raise
    recording = Recording(store, config, {**environment_of(config), **(decided or {})}, points)

    def record_epoch(epoch: dict) -> None:
        recording.epoch(epoch)
        if on_epoch is not None:
            on_epoch(epoch)

    try:
        with stop_signals() as stop:
            outcome = train(
                config,
                components,
                on_start=recording.begin,
                on_epoch=record_epoch,
                on_batch=on_batch,
                resume=points,
                stop=stop,
            )
        stored = recording.complete(outcome)
    except BaseException as exc:
        by_user = isinstance(exc, KeyboardInterrupt) and stop.by_user
        blamed = None if by_user else blame(exc, config, components)
        if recording.started:  # errors before training starts leave the store untouched
            recording.failed(blamed or exc)
        else:
            store.release(config.run_id)
        if blamed is not None:
            raise blamed from exc
        raise
    if stop.requested:  # the signal came as the run ended: it is stored; stop here
        raise Interrupted(stop.requested, f" after run {config.run_id} was stored")
    return Result(stored, skipped=False)


def execute_vectorized(
    configs: list[RunConfig],
    components: Components,
    store: Store,
    *,
    force: bool = False,
    on_epoch: Callable[[RunConfig, dict], None] | None = None,
    decided: dict | None = None,
    policy: ResumePolicy | None = None,
) -> list[Result] | None:
    """Run the seeds ``configs`` of one configuration as one batched model, each stored as
    its own run; those already stored are skipped. None (nothing trained) when the probe
    finds batching slower here than one run after another: the caller runs them so, and
    ``decided`` (if given) receives the probe's outcome and both timings for their record.

    The group writes one resume point, in the last replica's folder, for exactly these
    seeds: the same command continues them together (``--force`` starts them over)."""
    from benchbench.training.vectorized import train_replicas

    done = {c.run_id: reuse(store, c) for c in configs} if not force else {}
    todo = [c for c in configs if done.get(c.run_id) is None]
    if len(todo) < 2:
        return None
    points = ResumePoints.open(
        store.run_dir(todo[-1].run_id),
        todo[-1].run_id,
        policy or ResumePolicy(),
        fresh=force,
        replicas=[c.run_id for c in todo],
    )
    recordings = [
        Recording(store, c, environment_of(c), points, lane=k) for k, c in enumerate(todo)
    ]

    def begin() -> None:
        for recording in recordings:
            recording.begin()

    def record_epoch(k: int, epoch: dict) -> None:
        recordings[k].epoch(epoch)
        if on_epoch is not None:
            on_epoch(todo[k], epoch)

    try:
        with stop_signals() as interrupts:
            outcomes, timed = train_replicas(
                todo, components, begin, record_epoch, resume=points, stop=interrupts
            )
        if outcomes is None:
            if decided is not None:
                decided["vectorize_probe"] = {
                    "outcome": "sequential",
                    "vectorized_step_s": round(timed[0], 4),
                    "sequential_step_s": round(timed[1], 4),
                    "seeds": len(todo),
                }
            log.warning(
                "--vectorize: %d seeds batched took %.3f s a step, one after another %.3f s "
                "(a probe on this machine): training them one after another.",
                len(todo),
                *timed,
            )
            return None
        stored = {
            c.run_id: r.complete(o) for c, r, o in zip(todo, recordings, outcomes, strict=True)
        }
    except BaseException as exc:
        by_user = isinstance(exc, KeyboardInterrupt) and interrupts.by_user
        blamed = None if by_user else blame(exc, todo[0], components)
        for recording in recordings:
            if recording.started:
                recording.failed(blamed or exc)
        if blamed is not None:
            raise blamed from exc
        raise
    if interrupts.requested:  # the signal came as the runs ended: they are stored
        raise Interrupted(interrupts.requested, f" after runs {todo[0].run_id}… were stored")
    return [
        Result(done[c.run_id], skipped=True)
        if done.get(c.run_id) is not None
        else Result(stored[c.run_id], skipped=False)
        for c in configs
    ]


@contextlib.contextmanager
def stop_signals():
    """SIGINT (Ctrl-C) and SIGTERM (Slurm's time limit, ``docker stop``) while a run
    trains: once its epochs have begun (``stop.armed``), the loop finishes its current
    step, writes a resume point and raises :class:`Interrupted`; before that, or at a
    second signal, :class:`Interrupted` is raised at once. Also tells a signal from a
    KeyboardInterrupt that plugin code raises itself: only the first stops a sweep."""
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        stop.by_user = True  # no handler here: treat every interrupt as the user's
        yield stop
        return

    def on_signal(signum, frame):
        stop.by_user = True
        if stop.armed and stop.requested is None:
            stop.requested = signum
            status.info(
                "%s: stopping after the current step and writing a resume point (send it "
                "again to stop at once)",
                signal.Signals(signum).name,
            )
            return
        raise Interrupted(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def blame(exc: BaseException, config: RunConfig, components: Components) -> Exception | None:
    """A PluginError naming the plugin whose code raised ``exc`` during training (or that
    exited or interrupted the process), or None when benchbench's own code raised it: a
    usage error, or :class:`Interrupted`, a signal's orderly stop (Slurm's time limit)."""
    if isinstance(exc, (BenchError, Interrupted, Pruned)):
        return None
    entries = [
        components.architectures.get(config.arch),
        components.datasets.get(config.dataset),
        *[components.augmentations.get(a) for a in config.augs],
    ]
    modules = {}
    for entry in entries:
        module = getattr(entry.factory, "__module__", None) or ""
        if module and not module.startswith("benchbench."):
            modules[module.split(".")[0]] = entry
    culprit = None
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        package = str(frame.f_globals.get("__name__", "")).split(".")[0]
        culprit = modules.get(package, culprit)
    what = {
        SystemExit: f"exited the process (sys.exit({getattr(exc, 'code', '')}))",
        KeyboardInterrupt: "raised KeyboardInterrupt",
    }.get(type(exc), f"raised {type(exc).__name__}: {exc}")
    if culprit is not None:
        return PluginError(
            f"{culprit.kind} {culprit.name!r} from {culprit.origin} {what} while training "
            f"run {config.run_id}. This is a problem of that plugin, not of benchbench: "
            "report it to its authors. The run is stored as failed; the others are unharmed."
        )
    if isinstance(exc, (SystemExit, KeyboardInterrupt)):
        return PluginError(
            f"Code called during run {config.run_id} {what}; the run is stored as failed."
        )
    return None


def train_detached(
    config_data: dict,
    threads: int | None = None,
    folder: str | None = None,
    policy: ResumePolicy | None = None,
) -> tuple[Any, list[dict], dict]:
    """Train in a worker process (or on a Ray node, or a Slurm task) that never touches
    the store; with ``folder`` (the run's artifact folder), it writes resume points there
    and continues from one left by an earlier attempt (a killed worker, a requeued job).

    Returns ``(outcome, history, environment)`` for the driver to store with a
    :class:`Recording`.
    """
    import torch

    threads = threads or ray_granted_cpus()
    if not threads:
        return _train_detached(config_data, folder, policy)
    before = torch.get_num_threads()  # an in-process executor's host keeps its own
    torch.set_num_threads(threads)
    try:
        return _train_detached(config_data, folder, policy)
    finally:
        torch.set_num_threads(before)


def _train_detached(config_data: dict, folder: str | None, policy) -> tuple:
    from benchbench.plugins.manager import load_components
    from benchbench.training import loop
    from benchbench.training.machine_load import load_average

    config = RunConfig.from_dict(config_data)
    if config.device.startswith("cuda") and gpu_granted():
        # This worker sees only the card(s) granted to it, from cuda:0 on, whatever index
        # the driver chose; the stored config keeps the driver's spelling.
        config = replace(config, device="cuda:0")
    if config.data_dir and not Path(config.data_dir).exists():
        raise BenchError(
            f"--data-dir {config.data_dir} does not exist on node {socket.gethostname()}, "
            "where this run was sent: every node needs the data at the same path (a shared "
            "file system, or a copy on each node)."
        )
    environment = environment_of(config)
    components = load_components()
    points = None
    if folder is not None:
        points = ResumePoints.open(Path(folder), config.run_id, policy or ResumePolicy())
        if points.loaded is not None:
            environment["resumed_from_epoch"] = points.epoch
    loaded = points.loaded if points is not None else None
    history: list[dict] = points.history() if loaded else []
    try:
        with stop_signals() as stop:
            outcome = loop.train(
                config, components, on_epoch=history.append, resume=points, stop=stop
            )
    except BaseException as exc:
        blamed = blame(exc, config, components)
        if blamed is not None:
            raise blamed from None
        raise
    environment["load_end"] = load_average()
    return outcome, history, environment


def environment_of(config: RunConfig) -> dict:
    """Where and how ``config`` is about to run, for the record; warns when the machine is
    too busy for honest timings."""
    from benchbench.training import device as devices

    environment = devices.describe(
        devices.resolve(config.device),
        config.precision,
        config.deterministic,
        config.tf32,
        config.layout,
    )
    if not config.smoke:  # a smoke run's seconds mean nothing anyway
        warn_if_loaded(environment)
    return environment


def gpu_granted() -> bool:
    """Whether this process was granted its own GPU(s), which it sees from ``cuda:0``: a
    process-executor worker (pinned), a Ray task given GPUs, a Slurm task."""
    if os.environ.get(PINNED_GPU) or os.environ.get("SLURM_JOB_ID"):
        return True
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return False
    try:
        return bool(ray.get_runtime_context().get_accelerator_ids().get("GPU"))
    except Exception:  # not inside a task
        return False


def ray_granted_cpus() -> int | None:
    """The CPUs Ray granted the task running in this process, or None outside Ray."""
    ray = sys.modules.get("ray")  # a Ray task has it imported; never import it for this
    if ray is None or not ray.is_initialized():
        return None
    try:
        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU")
    except Exception:  # not inside a task
        return None
    return max(1, int(cpus)) if cpus else None


def flag_loaded_epochs(config: RunConfig, environment: dict, history: list[dict]) -> None:
    """Mark the run as loaded when another process crowded its cores in any epoch, not
    only at its start: each epoch's record samples the load as it ends. Said once: not
    for a run already said to be loaded as it started, nor for a smoke run."""
    from benchbench.training.machine_load import crowded_epoch

    cores = environment.get("cores") or 1
    busy = [int(h["epoch"]) for h in history if crowded_epoch(h, cores)]
    if not busy:
        return
    said = environment.get("loaded") or config.smoke
    environment.update(loaded=True, loaded_epochs=busy)
    if said:
        return
    log.warning(
        "run %s: other processes' load exceeded the %s cores available to it in epoch(s) "
        "%s: its timings are marked as not comparable in reports (accuracy is unaffected).",
        config.run_id,
        cores,
        ", ".join(map(str, busy)),
    )


def warn_if_loaded(environment: dict) -> None:
    """Say before training when the machine is busier than the cores this run may use:
    its seconds will not compare with a quiet machine's (accuracy is unaffected)."""
    if environment.get("loaded"):
        log.warning(
            "the machine's load (%s, less this process's own %s) exceeds the %s cores "
            "available to this run: its timings will not be comparable and are marked so in "
            "reports (accuracy is unaffected). Run on a quiet machine for timings.",
            environment.get("load_start"),
            environment.get("load_own", 0),
            environment.get("cores"),
        )
