"""The Slurm executor through submitit: the same code path tried with submitit's local
executor (no scheduler), failures stored like every executor's, and a restarted driver
re-attaching to jobs Slurm still holds."""

import json

import pytest
from test_faults import CULPRITS

submitit = pytest.importorskip("submitit", reason="the slurm extra is not installed")


def test_a_job_array_stores_every_run_and_the_culprit_as_failed(bench, blocker):
    suite = blocker / "culprits.toml"
    suite.write_text(CULPRITS.replace("{how}", "error"))
    args = ["sweep", suite, "--executor", "slurm", "--slurm-cluster", "local", "--json"]
    result = bench(*args)
    assert result.code == 1, result.err  # a failure: the exit code says so, the sweep went on
    summary = json.loads(result.out)  # stdout is the JSON document alone
    assert summary["completed"] == 2 and len(summary["failed"]) == 1
    assert "crasher: simulated bug" in summary["failed"][0]["error"]
    runs = {r["label"]: r for r in json.loads(bench("runs", "--json").out)}
    assert runs["culprit"]["status"] == "failed" and runs["healthy"]["status"] == "complete"
    shown = bench("show", runs["culprit"]["run_id"])
    assert "crasher: simulated bug" in shown.out
    again = json.loads(bench(*args).out)  # a rerun retries only what failed
    assert again["skipped"] == 2 and len(again["failed"]) == 1
    ledger = json.loads((blocker / "results" / "slurm" / "jobs.json").read_text())
    assert ledger == {}  # every run whose result came back has left it


class FakeSlurmJob:
    """A job Slurm still holds when the driver comes back: it finishes on the next poll."""

    results: dict = {}

    def __init__(self, folder, job_id):
        self.job_id, self.state = job_id, "RUNNING"

    def done(self):
        return True

    def result(self):
        return self.results[self.job_id]


def test_a_restarted_driver_reattaches_instead_of_resubmitting(isolated, monkeypatch):
    from benchbench.config import RunConfig
    from benchbench.execution.executors.slurm import SlurmExecutor
    from benchbench.execution.runner import train_detached
    from benchbench.plugins.manager import load_components
    from benchbench.results.store import Store

    store = Store(isolated / "results")
    config = RunConfig(dataset="digits", arch="mlp", epochs=1, device="cpu").validated()
    FakeSlurmJob.results = {"4242_0": train_detached(config.to_dict(), 1)}  # trained "remotely"
    executor = SlurmExecutor(load_components(), store, cluster="local")
    executor._write_ledger({config.run_id: {"job": "4242_0", "cluster": "slurm"}})
    monkeypatch.setattr(submitit, "SlurmJob", FakeSlurmJob)

    def no_new_jobs(*args, **kwargs):
        raise AssertionError("a run Slurm still holds was submitted again")

    monkeypatch.setattr(submitit.AutoExecutor, "submit", no_new_jobs)
    (outcome,) = list(
        executor.run([config], events=__import__("benchbench").execution.executors.Events())
    )
    assert outcome[0].run_id == config.run_id and outcome[1] == "complete"
    assert store.get(config.run_id).status == "complete"


def test_a_requeued_task_continues_from_its_resume_point(isolated, monkeypatch):
    """What Slurm's time limit does: SIGTERM stops the task after its step with a resume
    point; submitit's checkpoint requeues the same call, which continues from it and ends
    as the uninterrupted task ends."""
    import os
    import signal

    import torch

    submitit = pytest.importorskip("submitit")
    from benchbench.config import RunConfig
    from benchbench.execution.executors.slurm import ResumableTraining
    from benchbench.training import loop
    from benchbench.training.resume import Interrupted
    from benchbench.training.resume import ResumePolicy

    config = RunConfig(dataset="digits", arch="mlp", epochs=4, seed=1, device="cpu").validated()
    data, policy, task = config.to_dict(), ResumePolicy(every_epochs=1), ResumableTraining()
    whole, _, _ = task(data, None, str(isolated / "whole"), policy)
    original = loop.fit

    def time_limit_after_epoch_2(engine, lanes, *args, on_epoch=None, **kwargs):
        def epoch(k, record):
            on_epoch(k, record)
            if record["epoch"] == 2:
                os.kill(os.getpid(), signal.SIGTERM)  # what Slurm sends at the limit

        return original(engine, lanes, *args, on_epoch=epoch, **kwargs)

    monkeypatch.setattr(loop, "fit", time_limit_after_epoch_2)
    folder = str(isolated / "run")
    with pytest.raises(Interrupted):
        task(data, None, folder, policy)
    monkeypatch.setattr(loop, "fit", original)
    requeued = task.checkpoint(data, None, folder, policy)
    assert isinstance(requeued, submitit.helpers.DelayedSubmission)
    assert requeued.function is task
    outcome, history, environment = requeued.function(*requeued.args, **requeued.kwargs)
    assert environment["resumed_from_epoch"] >= 2
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    assert [h["train_loss"] for h in history] == [h["train_loss"] for h in whole.history]
    assert torch.equal(outcome.test_logits, whole.test_logits)
