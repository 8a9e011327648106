"""The Slurm executor, through submitit: each run a task of a job array; the driver stores
each result as it comes back (``pip install 'benchbench-harness[slurm]'``).

Jobs, their logs and pickled results live under ``<results>/slurm``. Which job trains
which run is written to ``<results>/slurm/jobs.json`` as soon as the array is submitted,
so a driver that is stopped and started again re-attaches to its jobs instead of
submitting them again: those still queued or running are stored when they end, those that
ended meanwhile at once.
``cluster="local"`` (``--slurm-cluster local``) runs the same code path as local
processes, without a scheduler: how the tests exercise it.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from benchbench.errors import BenchError
from benchbench.execution.executors.detached import ClusterExecutor
from benchbench.execution.executors.detached import WorkerLost
from benchbench.execution.runner import train_detached

log = logging.getLogger(__name__)


class ResumableTraining:
    """What a Slurm task runs: :func:`train_detached`, which writes resume points in the
    run's folder. When the job nears its time limit, submitit calls :meth:`checkpoint`,
    which requeues the same call: the requeued task continues from the resume point."""

    def __call__(self, *args):
        return train_detached(*args)

    def checkpoint(self, *args):
        import submitit

        return submitit.helpers.DelayedSubmission(self, *args)


POLL_SECONDS = 2.0


class SlurmExecutor(ClusterExecutor):
    """``workers`` array tasks at a time (``slurm_array_parallelism``), each with
    ``cpus_per_run`` CPUs (its torch threads) and, for CUDA runs, ``gpus_per_run`` GPUs,
    on ``partition`` for at most ``time_minutes``."""

    def __init__(
        self,
        components,
        store,
        *,
        partition: str | None = None,
        time_minutes: int = 60,
        cluster: str | None = None,
        folder: str | Path | None = None,
        **options,
    ):
        super().__init__(components, store, **options)
        self.partition, self.time_minutes = partition, int(time_minutes)
        self.cpus_per_run = max(1, int(self.cpus_per_run))  # Slurm grants whole CPUs
        self.cluster = cluster
        self.folder = Path(folder) if folder else Path(store.root) / "slurm"

    def resolve_device(self, name: str) -> str:
        """``auto`` for the cluster's nodes, not the login node: ``cuda:0`` (each task's
        own card) when runs ask for GPUs (``--gpus-per-run``, default 1), else the CPU;
        ``--slurm-cluster local`` resolves it on this machine."""
        from benchbench.training import device as devices

        if self.cluster == "local":
            return str(devices.resolve(name))
        name = devices.spelled(name)
        if name != "auto":
            return name
        return "cuda:0" if self.gpus_per_run > 0 else "cpu"

    def _executor(self, cuda: bool):
        try:
            import submitit
        except ImportError:
            raise BenchError(
                "--executor slurm needs submitit: pip install 'benchbench-harness[slurm]'."
            ) from None
        executor = submitit.AutoExecutor(folder=self.folder / "%j", cluster=self.cluster)
        parameters = {
            "name": "bench",
            "timeout_min": self.time_minutes,
            "cpus_per_task": self.cpus_per_run,
            "slurm_array_parallelism": self.workers,
        }
        if cuda:
            parameters["gpus_per_node"] = max(1, round(self.gpus_per_run))
        if self.partition:
            parameters["slurm_partition"] = self.partition
        if executor.cluster == "local":  # no scheduler: keep only what it understands
            parameters = {k: v for k, v in parameters.items() if not k.startswith("slurm_")}
        executor.update_parameters(**parameters)
        return executor

    # -- jobs.json: which job trains which run, across driver restarts ---------------------

    def _ledger(self) -> dict[str, dict]:
        path = self.folder / "jobs.json"
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}

    def _write_ledger(self, ledger: dict[str, dict]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "jobs.json"
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(ledger, indent=1))
        os.replace(temporary, path)

    def _reattach(self, entry: dict):
        """The Slurm job ``entry`` names: queued, running, or ended while no driver was
        there to store its result (which submitit kept in the job's folder); None for a
        local job, which ended with its driver."""
        import submitit

        if entry.get("cluster") != "slurm":
            return None
        return submitit.SlurmJob(folder=self.folder / "%j", job_id=entry["job"])

    def run(self, configs, events):
        done, todo = self.split(configs)
        yield from ((c, "skipped", "") for c in done)
        if not todo:
            return
        cuda = any(c.device.startswith("cuda") for c in todo)
        executor = self._executor(cuda)
        ledger = self._ledger()
        by_id = {c.run_id: c for c in todo}
        active = {}  # run id -> job
        for run_id, entry in ledger.items():
            if run_id in by_id:
                job = self._reattach(entry)
                if job is not None:
                    log.warning("re-attached to job %s (run %s)", entry["job"], run_id)
                    self.submitted(by_id[run_id], events)
                    active[run_id] = job
        queue = [c for c in todo if c.run_id not in active]
        while queue or active:
            if queue:
                with executor.batch():  # one job array
                    jobs = [
                        executor.submit(
                            ResumableTraining(),
                            c.to_dict(),
                            self.cpus_per_run,
                            *self.resume_args(c),
                        )
                        for c in queue
                    ]
                for config, job in zip(queue, jobs, strict=True):
                    self.submitted(config, events)
                    active[config.run_id] = job
                    ledger[config.run_id] = {"job": job.job_id, "cluster": executor.cluster}
                self._write_ledger(ledger)
                queue = []
            ended = [run_id for run_id, job in active.items() if job.done()]
            if not ended:
                time.sleep(POLL_SECONDS)
                continue
            for run_id in ended:
                job = active.pop(run_id)
                stored = self.collect(by_id[run_id], lambda j=job: _result(j))
                if stored is None:
                    queue.append(by_id[run_id])  # a lost node or a preemption: again
                else:
                    ledger.pop(run_id, None)
                    self._write_ledger(ledger)
                    yield stored


def _result(job):
    """The job's return value; its run's own error as it was raised remotely; a job that
    never finished (killed, timed out, preempted, node lost) as :class:`WorkerLost`."""
    import submitit

    try:
        return job.result()
    except submitit.core.utils.FailedJobError as exc:  # the run's own error, raised remotely
        raise RuntimeError(_remote_error(str(exc))) from None
    except submitit.core.utils.UncompletedJobError as exc:
        raise WorkerLost(
            f"Slurm job {job.job_id} ended without a result ({str(exc).splitlines()[0]}); "
            f"its log: {job.paths.stderr}"
        ) from None


def _remote_error(message: str) -> str:
    """The last line of the traceback submitit quotes between its dashed rules (the
    exception as it was raised in the job), else its first line."""
    lines = message.strip().splitlines()
    rules = [i for i, line in enumerate(lines) if line.strip() and set(line.strip()) == {"-"}]
    if len(rules) >= 2:
        block = [line for line in lines[rules[0] + 1 : rules[1]] if line.strip()]
        if block:
            return block[-1].strip()
    return lines[0] if lines else "the job failed"
