"""Long runs survive: a run killed (SIGKILL) or stopped (SIGTERM, SIGINT) resumes from its
resume point and ends bit-identical to an uninterrupted run.

The run to interrupt is made to wait at a chosen moment by a test-only plugin module
(``pauser_plugin``, loaded through ``$BENCH_PLUGINS``) that wraps benchbench's own
functions: it touches a signal file and waits for a release file. Tests act on that event,
never on how fast the machine is.
"""

import json
import os
import signal
import textwrap
import time

import numpy as np
import pytest
import torch
from conftest import bench_waiting

from benchbench.errors import BenchError
from benchbench.results.store import Store
from benchbench.training.resume import FILE
from benchbench.training.resume import ResumePolicy

PAUSER = textwrap.dedent(
    """
    '''Test-only: waits at the moment $PAUSE_AT names (kind:epoch[:label]).

    epoch:K  -- after epoch K is stored, before its resume point is written
    write:K  -- half-way through writing the resume point after epoch K
    step:K   -- at the third training batch after epoch K is stored (mid-epoch K+1)
    '''
    import os
    import time

    from benchbench import hookimpl
    from benchbench.data import batches
    from benchbench.training import loop, resume, vectorized

    KIND, _, REST = os.environ.get("PAUSE_AT", "").partition(":")
    EPOCH, _, LABEL = REST.partition(":")
    state = {"armed": False, "batches": 0}


    def pause():
        signal_file = os.environ["PAUSE_SIGNAL"]
        open(signal_file, "w").close()
        while not os.path.exists(signal_file + ".release"):
            time.sleep(0.02)
        os.environ.pop("PAUSE_AT", None)  # once


    def ours(label):
        return os.environ.get("PAUSE_AT") and (not LABEL or label == LABEL)


    original_fit = loop.fit


    def fit(engine, lanes, *args, on_epoch=None, **kwargs):
        def epoch(k, record):  # after the run's own on_epoch: the epoch is stored (locally)
            if on_epoch is not None:
                on_epoch(k, record)
            last = k == len(lanes) - 1  # vectorized seeds: once every replica has it
            if last and ours(lanes[k].config.label) and record["epoch"] == int(EPOCH):
                if KIND == "epoch":
                    pause()
                state["armed"] = KIND in ("write", "step")

        return original_fit(engine, lanes, *args, on_epoch=epoch, **kwargs)


    original_save = resume.save


    def save(path, data):
        if KIND == "write" and state["armed"] and os.environ.get("PAUSE_AT"):
            part = path.with_name(f".{path.name}.{os.getpid()}.part")
            part.write_bytes(b"half a resume point")
            pause()
        original_save(path, data)


    original_batch = batches.BatchSource.batch


    def batch(self, index):
        if KIND == "step" and state["armed"] and os.environ.get("PAUSE_AT"):
            state["batches"] += 1
            if state["batches"] == 3:
                pause()
        return original_batch(self, index)


    loop.fit = vectorized.fit = fit
    if os.environ.get("BATCHING_PAYS"):  # --vectorize batches whatever the probe finds
        vectorized.pays = lambda *args: (1.0, 3.0)
    resume.save = save
    batches.BatchSource.batch = batch


    @hookimpl
    def benchbench_register_architectures(registry):
        pass  # a plugin module needs a hook; this one only waits
    """
)

# Each case exercises other state a resume point must carry.
CASES = {
    # SGD with momentum, a per-step schedule, augmentation streams, dropout, batch norm
    "sgd-onecycle-augs-dropout": [
        "--arch", "cnn_5x5", "--set", "arch.bn=true", "--dropout", "0.2",
        "--optimizer", "sgd", "--momentum", "0.9", "--lr", "0.05",
        "--scheduler", "onecycle", "--aug", "hflip", "--aug", "crop",
    ],
    # Adam with lookahead, early stopping with restored best weights, time to target
    "adam-lookahead-earlystop-target": [
        "--arch", "cnn_5x5", "--lookahead", "2", "--early-stopping", "20",
        "--restore-best", "--target-acc", "0.6",
    ],
    # precision and layout chosen by probing in the first segment
    "auto-precision-step-schedule": [
        "--arch", "cnn_5x5", "--precision", "auto", "--layout", "auto",
        "--scheduler", "step", "--lr-step", "2",
    ],
}  # fmt: skip
COMMON = ["--dataset", "digits", "--epochs", "5", "--seed", "3", "--checkpoint-every", "1"]


@pytest.fixture
def pauser(isolated, monkeypatch):
    (isolated / "pauser_plugin.py").write_text(PAUSER)
    monkeypatch.setenv("PYTHONPATH", f"{isolated}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    monkeypatch.setenv("BENCH_PLUGINS", "pauser_plugin")
    monkeypatch.syspath_prepend(str(isolated))
    return isolated


def paused(tmp_path, args, at, command="run"):
    """``bench COMMAND ARGS`` in a subprocess, returned once it waits at moment ``at``."""
    signal_file = tmp_path / f"pause-{time.monotonic_ns()}"
    env = {"PAUSE_AT": at, "PAUSE_SIGNAL": str(signal_file)}
    # its own session: kill_all reaches the worker processes it starts too
    process = bench_waiting(args, signal_file, env, command, start_new_session=True)
    process.signal_file = signal_file
    return process


def kill_all(process):
    """SIGKILL to the run's process and every worker it started (a lost machine)."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def release(process):
    (process.signal_file.parent / (process.signal_file.name + ".release")).touch()


def numbers(store: Store, run_id: str):
    """What must be bit-identical: every epoch's losses and accuracies, test logits (not
    its seconds, nor the machine's load it sampled)."""
    history = [
        {k: v for k, v in epoch.items() if not k.endswith("seconds") and "load" not in k}
        for epoch in store.history(run_id)
    ]
    logits, labels = store.predictions(run_id)
    return history, logits, labels


def assert_identical(a, b):
    assert a[0] == b[0]  # json-exact floats, epoch by epoch
    assert np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])


def reference(bench, tmp_path, args):
    """The uninterrupted run's numbers, in a results folder of its own."""
    folder = tmp_path / "reference"
    done = bench("run", *args, "--results", folder, "--json")
    assert done.code == 0, done.err
    run_id = json.loads(done.out)["run_id"]
    return run_id, numbers(Store(folder), run_id)


@pytest.mark.parametrize(
    ("case", "at"),
    [
        ("sgd-onecycle-augs-dropout", "step:2"),  # kill -9 mid-epoch
        ("adam-lookahead-earlystop-target", "write:2"),  # kill -9 writing the resume point
        ("auto-precision-step-schedule", "epoch:3"),  # history stored, resume point not yet
    ],
)
def test_a_killed_run_resumes_bit_identical(bench, pauser, case, at):
    args = [*COMMON, *CASES[case]]
    auto = "auto" in args  # the probe's choice depends on the machine's speed and load
    run_id = json.loads(bench("run", *args, "--dry-run", "--json").out)[0]["run_id"]
    if not auto:
        run_id, expected = reference(bench, pauser, args)
    process = paused(pauser, args, at)
    kill_all(process)
    store = Store(pauser / "results")
    killed = store.get(run_id)
    assert killed.status == "running"
    # a half-written resume point never replaces the last whole one
    assert (store.run_dir(run_id) / FILE).exists()
    resumed = bench("run", *args)
    assert resumed.code == 0, resumed.err
    if auto:  # what an uninterrupted run computes with the first segment's choice
        chose = Store(pauser / "results").get(run_id)
        fixed = [
            chose.environment["precision"] if i and args[i - 1] == "--precision" else
            chose.environment["layout"] if i and args[i - 1] == "--layout" else a
            for i, a in enumerate(args)
        ]  # fmt: skip
        _, expected = reference(bench, pauser, fixed)
    reached = {"step:2": 2, "write:2": 1, "epoch:3": 2}[at]
    assert f"resuming {run_id} at epoch {reached + 1} of 5" in resumed.err
    done = store.get(run_id)
    assert done.status == "complete"
    assert_identical(numbers(store, run_id), expected)
    assert [e["epoch"] for e in store.history(run_id)] == [1, 2, 3, 4, 5]  # no gap, no repeat
    segments = done.environment["segments"]
    assert [s["epochs"] for s in segments] == [[1, reached], [reached + 1, 5]]
    assert done.summary["train_seconds_total"] == pytest.approx(
        sum(e["train_seconds"] for e in store.history(run_id))
    )
    assert not (store.run_dir(run_id) / FILE).exists()  # removed once the run is stored
    assert not list(store.run_dir(run_id).glob(".*.part"))
    shown = bench("show", run_id)
    assert "resumed: trained in 2 segments" in shown.out


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_after_the_step_stores_interrupted_and_resumes(bench, pauser, signum):
    args = [*COMMON, *CASES["sgd-onecycle-augs-dropout"]]
    run_id, expected = reference(bench, pauser, args)
    process = paused(pauser, args, "step:1")
    process.send_signal(signum)
    release(process)  # the step in progress finishes; the loop sees the request after it
    _, stderr = process.communicate()
    assert process.returncode == 128 + signum, stderr
    assert "interrupted in epoch 2 of 5, after batch 3" in stderr
    store = Store(pauser / "results")
    stopped = store.get(run_id)
    assert stopped.status == "interrupted" and "run the same command again" in stopped.error
    listed = bench("runs")
    assert "interrupted" in listed.out and "1 of 5" in listed.out
    resumed = bench("runs", "--resume")
    assert resumed.code == 0, resumed.err
    assert f"resuming {run_id} at epoch 2 of 5, batch 4" in resumed.err
    assert store.get(run_id).status == "complete"
    assert_identical(numbers(store, run_id), expected)


def test_a_corrupt_resume_point_is_reported_and_the_run_starts_over(bench, pauser):
    args = [*COMMON, *CASES["adam-lookahead-earlystop-target"]]
    run_id, expected = reference(bench, pauser, args)
    process = paused(pauser, args, "epoch:3")
    kill_all(process)
    store = Store(pauser / "results")
    point = store.run_dir(run_id) / FILE
    point.write_bytes(point.read_bytes()[:1000])  # truncated
    again = bench("run", *args)
    assert again.code == 0, again.err
    assert "cannot be read" in again.err and "starts over from epoch 1" in again.err
    assert "Traceback" not in again.err and "resuming" not in again.err
    assert_identical(numbers(store, run_id), expected)
    assert "segments" not in store.get(run_id).environment


def test_a_resume_point_of_another_config_is_ignored(bench, pauser):
    args = [*COMMON, *CASES["adam-lookahead-earlystop-target"]]
    other = [*COMMON, *CASES["auto-precision-step-schedule"]]
    process = paused(pauser, other, "epoch:2")
    kill_all(process)
    store = Store(pauser / "results")
    (foreign,) = store.runs(statuses=("running",))
    run_id, expected = reference(bench, pauser, args)
    store.run_dir(run_id).mkdir(parents=True)
    (store.run_dir(foreign.id) / FILE).rename(store.run_dir(run_id) / FILE)
    again = bench("run", *args)
    assert again.code == 0 and "written by a run of another config" in again.err
    assert_identical(numbers(store, run_id), expected)


def test_a_resume_point_from_another_host_is_refused_unless_asked(bench, pauser):
    args = [*COMMON, *CASES["sgd-onecycle-augs-dropout"]]
    run_id, expected = reference(bench, pauser, args)
    process = paused(pauser, args, "epoch:2")
    kill_all(process)
    store = Store(pauser / "results")
    point = store.run_dir(run_id) / FILE
    state = torch.load(point, weights_only=False)
    state["host"] = "elsewhere"
    torch.save(state, point)
    refused = bench("run", *args)
    assert refused.code == 2 and "--resume-anywhere" in refused.err
    assert "host elsewhere there" in refused.err and "Traceback" not in refused.err
    assert store.get(run_id).status == "running" and point.exists()  # nothing changed
    accepted = bench("run", *args, "--resume-anywhere")
    assert accepted.code == 0, accepted.err
    done = store.get(run_id)
    assert done.environment["resumed_anywhere"]["host"]["was"] == "elsewhere"
    assert_identical(numbers(store, run_id), expected)  # same machine, in truth


def test_force_starts_over_and_deletes_the_resume_point(bench, pauser):
    args = [*COMMON, *CASES["sgd-onecycle-augs-dropout"]]
    process = paused(pauser, args, "epoch:2")
    kill_all(process)
    forced = bench("run", *args, "--force", "--keep-checkpoint")
    assert forced.code == 0, forced.err
    assert "resuming" not in forced.err
    store = Store(pauser / "results")
    (run,) = store.runs()
    assert "segments" not in run.environment
    assert [e["epoch"] for e in store.history(run.id)] == [1, 2, 3, 4, 5]
    kept = torch.load(store.run_dir(run.id) / FILE, weights_only=False)  # --keep-checkpoint
    assert kept["epoch"] == 4 and kept["fingerprint"] == {"run_id": run.id}


SUITE = """
description = "two runs"
seeds = [0]

[base]
dataset = "digits"
arch = "cnn_5x5"
epochs = 4
[[variants]]
name = "first"
[[variants]]
name = "second"
lr = 0.003
"""


@pytest.mark.parametrize("executor", ["local", "process"])
def test_a_sweep_killed_in_its_second_run_resumes_that_run_midway(bench, pauser, executor):
    suite = pauser / "two.toml"
    suite.write_text(SUITE)
    # the same executor: a worker's thread count changes the last bits of reductions
    whole = bench("sweep", suite, "--results", pauser / "reference", "--executor", executor)
    assert whole.code == 0, whole.err
    process = paused(
        pauser,
        [suite, "--checkpoint-every", "1", "--executor", executor],
        "step:2:second",
        command="sweep",
    )
    kill_all(process)
    again = bench("sweep", suite, "--executor", executor)
    assert again.code == 0, again.err
    store, reference_store = Store(pauser / "results"), Store(pauser / "reference")
    second = next(r for r in store.runs() if r.label == "second")
    if executor == "local":
        assert f"resuming {second.id} at epoch 3 of 4" in again.err
    else:  # a worker process found the resume point in the run's folder
        assert second.environment["resumed_from_epoch"] == 2
    for run in reference_store.runs():
        assert_identical(numbers(store, run.id), numbers(reference_store, run.id))


def test_checkpoint_every_reads_epochs_and_times():
    assert ResumePolicy.parse("3").every_epochs == 3
    assert ResumePolicy.parse("10m").every_seconds == 600
    assert ResumePolicy.parse("90s").due(1, 91) and not ResumePolicy.parse("90s").due(1, 89)
    assert not ResumePolicy.parse("0").due(5, 1e9)  # only on a signal
    assert ResumePolicy.parse("2").due(4, 0) and not ResumePolicy.parse("2").due(3, 0)
    with pytest.raises(BenchError, match="--checkpoint-every 'soon'"):
        ResumePolicy.parse("soon")


def test_a_bad_checkpoint_every_is_a_usage_error(bench):
    bad = bench("run", "--epochs", "1", "--checkpoint-every", "-1m")
    assert bad.code == 2 and "--checkpoint-every" in bad.err and "Traceback" not in bad.err
    assert not Store(os.environ["BENCH_RESULTS"]).runs(smoke=None)


def test_vectorized_seeds_killed_mid_epoch_resume_bit_identical(bench, pauser, monkeypatch):
    """Seeds trained as one batched model share one resume point (per replica: weights,
    optimizer state, batch order, augmentation, early stopping): killed mid-epoch, the same
    command continues all of them, each identical to the uninterrupted batched run."""
    monkeypatch.setenv("BATCHING_PAYS", "1")
    monkeypatch.setattr("benchbench.training.vectorized.pays", lambda *args: (1.0, 3.0))
    args = [
        "--dataset", "digits", "--arch", "cnn_5x5", "--epochs", "4", "--seeds", "0-2",
        "--aug", "hflip", "--lookahead", "2", "--target-acc", "0.5", "--vectorize",
        "--checkpoint-every", "1",
    ]  # fmt: skip
    folder = pauser / "reference"
    done = bench("run", *args, "--results", folder, "--json")
    assert done.code == 0, done.err
    ids = [r["run_id"] for r in json.loads(done.out)]
    expected = [numbers(Store(folder), i) for i in ids]
    assert Store(folder).get(ids[0]).environment["vectorized"] == 3
    process = paused(pauser, args, "step:1")
    kill_all(process)
    store = Store(pauser / "results")
    assert {store.get(i).status for i in ids} == {"running"}
    assert (store.run_dir(ids[-1]) / FILE).exists()  # one for the group, in the last folder
    resumed = bench("run", *args)
    assert resumed.code == 0, resumed.err
    assert all(f"resuming {i} at epoch 2 of 4" in resumed.err for i in ids)
    for run_id, reference_numbers in zip(ids, expected, strict=True):
        stored = store.get(run_id)
        assert stored.status == "complete" and stored.environment["vectorized"] == 3
        assert_identical(numbers(store, run_id), reference_numbers)
        assert [s["epochs"] for s in stored.environment["segments"]] == [[1, 1], [2, 4]]
    assert not (store.run_dir(ids[-1]) / FILE).exists()
