"""Fault injection: kills, concurrent runs, stale staging, read-only and damaged stores,
a full disk. Nothing stored may be lost or corrupted, and every failure says what it is.

Runs that must be caught mid-training use the ``blocker`` architecture (registered through
``$BENCH_PLUGINS``): its second training epoch touches a signal file and blocks, so the
test acts on an event, never on how fast the machine is.
"""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time

import pytest
from conftest import SAFETY
from conftest import blocked_run
from conftest import kill

from benchbench.results.store import Store

RUN = ["--arch", "blocker", "--dataset", "digits", "--epochs", "3", "--name", "blocked"]


def test_a_killed_run_stays_incomplete_and_earlier_runs_are_untouched(bench, blocker):
    assert bench("run", "--arch", "mlp", "--epochs", "2", "--name", "kept").code == 0
    store = Store(blocker / "results")
    kept = store.runs()[0]
    kill(blocked_run(blocker, RUN))
    killed = next(r for r in store.runs() if r.label == "blocked")
    assert killed.status == "running" and [h["epoch"] for h in store.history(killed.id)] == [1]
    assert store.get(kept.id).summary == kept.summary
    report = bench("report", "--format", "csv")
    assert "kept" in report.out and "blocked" not in report.out and "1 incomplete" in report.err


def test_a_killed_forced_rerun_keeps_the_complete_result(bench, blocker):
    first = json.loads(bench("run", *RUN, "--json").out)
    store = Store(blocker / "results")
    before, history = store.get(first["run_id"]), store.history(first["run_id"])
    weights = (store.run_dir(first["run_id"]) / "model.pt").read_bytes()
    kill(blocked_run(blocker, [*RUN, "--force"]))
    after = store.get(first["run_id"])
    assert after.status == "complete" and after.summary == before.summary
    assert store.history(first["run_id"]) == history
    assert (store.run_dir(first["run_id"]) / "model.pt").read_bytes() == weights
    again = bench("run", *RUN)
    assert again.code == 0 and "already stored" in again.err
    forced = bench("run", *RUN, "--force", "--json")  # a forced re-run that completes
    assert forced.code == 0 and store.get(first["run_id"]).status == "complete"
    assert not list((blocker / "results" / "runs").glob(".*"))  # no staging left behind


def test_concurrent_identical_runs_are_serialized(bench, blocker):
    store = Store(blocker / "results")
    holder = blocked_run(blocker, RUN)
    try:
        second = bench("run", *RUN)
        assert second.code == 2
        assert f"being trained right now by process {holder.pid}" in second.err
        (run,) = store.runs()
        assert run.status == "running" and len(store.history(run.id)) == 1  # not reset
    finally:
        kill(holder)
    taken_over = bench("run", *RUN, "--json")  # the dead holder's claim is taken over
    assert taken_over.code == 0, taken_over.err
    assert store.get(json.loads(taken_over.out)["run_id"]).status == "complete"


def test_staging_folders_of_dead_processes_are_removed(bench, isolated):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], text=True, capture_output=True
    ).stdout.strip()
    runs = isolated / "results" / "runs"
    stale = runs / f".0123456789ab.{dead}.tmp"
    stale.mkdir(parents=True)
    (stale / "model.pt").write_bytes(b"partial")
    mine = runs / f".0123456789ab.{os.getpid()}.tmp"  # a live owner's folder stays
    mine.mkdir()
    assert bench("run", "--arch", "mlp", "--epochs", "1").code == 0
    assert not stale.exists() and mine.exists()


def test_a_run_with_a_damaged_record_is_skipped_with_a_warning(bench, isolated):
    assert bench("run", "--arch", "mlp", "--epochs", "1", "--name", "good").code == 0
    assert bench("run", "--arch", "mlp", "--epochs", "2", "--name", "bad").code == 0
    db = isolated / "results" / "bench.db"
    with sqlite3.connect(db) as conn:
        (bad_id,) = conn.execute("SELECT id FROM runs WHERE label = 'bad'").fetchone()
        conn.execute("UPDATE runs SET config = '{not json' WHERE id = ?", (bad_id,))
    report = bench("report")
    assert report.code == 0 and "good" in report.out and "bad" not in report.out
    assert bad_id in report.err and "damaged" in report.err
    assert bench("show", "good").code == 0


def test_a_damaged_database_says_so_changes_nothing_and_says_how_to_recover(bench, isolated):
    for epochs in ("1", "2", "3"):
        assert bench("run", "--arch", "mlp", "--epochs", epochs).code == 0
    db = isolated / "results" / "bench.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    assert pages > 2
    data = bytearray(db.read_bytes())
    data[page : 2 * page] = b"\xff" * page  # the second page: a table's b-tree
    db.write_bytes(bytes(data))
    report = bench("report")
    assert report.code == 2 and "damaged" in report.err and ".recover" in report.err
    assert "unexpected" not in report.err and db.read_bytes() == bytes(data)


def _read_only_view(results, view):
    """``view``: ``results`` as a read-only folder, even for root (a read-only bind mount);
    False where that cannot be made here."""
    if os.geteuid() != 0:
        for path in [*results.rglob("*"), results]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        view.symlink_to(results)
        return True
    view.mkdir()
    if subprocess.run(["mount", "--bind", str(results), str(view)]).returncode != 0:
        return False
    if subprocess.run(["mount", "-o", "remount,bind,ro", str(view)]).returncode != 0:
        subprocess.run(["umount", str(view)])
        return False
    return True


def test_a_read_only_results_folder_can_still_be_reported(bench, tmp_path):
    results, view = tmp_path / "results", tmp_path / "read-only"
    assert bench("run", "--arch", "mlp", "--epochs", "1", "--name", "ro").code == 0
    if not _read_only_view(results, view):
        pytest.skip("cannot make a read-only folder here (no bind mounts)")
    try:
        before = {p.name: p.read_bytes() for p in view.iterdir() if p.is_file()}
        report = bench("report", "--results", view)
        assert report.code == 0, report.err
        assert "ro" in report.out
        assert bench("show", "ro", "--results", view).code == 0
        assert {p.name: p.read_bytes() for p in view.iterdir() if p.is_file()} == before
        write = bench("run", "--arch", "mlp", "--epochs", "2", "--results", view)
        assert write.code == 2 and "read-only" in write.err and "unexpected" not in write.err
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(view)])
        else:
            for path in [*results.rglob("*"), results]:
                path.chmod(0o755 if path.is_dir() else 0o644)


def test_a_full_disk_is_said_plainly_and_loses_nothing(bench, tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    if (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True
        ).returncode
        != 0
    ):
        pytest.skip("cannot mount a small tmpfs here (needs root and mount rights)")
    try:
        results = mount / "results"
        assert bench("run", "--arch", "mlp", "--epochs", "1", "--results", results).code == 0
        store = Store(results)
        (kept,) = store.runs()
        filler = mount / "filler"
        with open(filler, "wb") as f:  # leave almost nothing free
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        full = bench("run", "--arch", "cnn_small", "--epochs", "1", "--results", results)
        assert full.code == 2, full.err
        assert "full" in full.err and "unexpected" not in full.err
        assert "cannot rollback" not in full.err
        filler.unlink()
        assert store.get(kept.id).summary == kept.summary
        report = bench("report", "--results", results)
        assert report.code == 0 and "mlp" in report.out
        assert not list((results / "runs").glob(".*"))
    finally:
        subprocess.run(["umount", "-l", str(mount)])


CULPRITS = """
[base]
arch = "mlp"
epochs = 1

[[variants]]
name = "healthy"

[[variants]]
name = "culprit"
arch = "crasher"
set = ["arch.how={how}"]

[[variants]]
name = "also healthy"
lr = 0.01
"""


@pytest.mark.parametrize("how", ["exit", "interrupt", "error"])
def test_a_plugin_that_exits_or_raises_fails_only_its_run(bench, blocker, how):
    suite = blocker / "culprits.toml"
    suite.write_text(CULPRITS.replace("{how}", how))
    result = bench("sweep", suite, "--json")
    assert result.code == 1  # failures make the exit code 1, the sweep went on
    summary = json.loads(result.out)
    assert summary["completed"] == 2 and len(summary["failed"]) == 1
    error = summary["failed"][0]["error"]
    assert "blocker_plugin" in error and "not of benchbench" in error
    store = Store(blocker / "results")
    culprit = next(r for r in store.runs() if r.label == "culprit")
    assert culprit.status == "failed" and "blocker_plugin" in culprit.error


def test_a_plugin_error_in_bench_run_names_the_plugin(bench, blocker):
    result = bench("run", "--arch", "crasher", "--set", "arch.how=exit", "--epochs", "1")
    assert result.code == 2
    assert "plugin 'blocker_plugin'" in result.err and "sys.exit(3)" in result.err
    assert "unexpected" not in result.err


def test_a_dead_worker_fails_only_its_run_under_the_process_executor(bench, blocker):
    suite = blocker / "killer.toml"
    suite.write_text(CULPRITS.replace("{how}", "kill"))
    result = bench("sweep", suite, "--executor", "process", "--workers", "2", "--json")
    summary = json.loads(result.out)
    assert summary["completed"] == 2 and len(summary["failed"]) == 1, result.err
    assert "worker process" in summary["failed"][0]["error"]
    store = Store(blocker / "results")
    statuses = {r.label: r.status for r in store.runs()}
    assert statuses == {"healthy": "complete", "also healthy": "complete", "culprit": "failed"}
    again = json.loads(bench("sweep", suite, "--executor", "process", "--json").out)
    assert again["skipped"] == 2 and len(again["failed"]) == 1  # only the failure re-runs


@pytest.mark.parametrize("executor", ["local", "process"])
def test_json_output_is_only_json_whatever_plugins_print(blocker, executor):
    suite = blocker / "noisy.toml"
    suite.write_text(CULPRITS.replace("{how}", "noise"))
    done = subprocess.run(
        [sys.executable, "-m", "benchbench", "sweep", str(suite), "--executor", executor, "--json"],
        capture_output=True,
        text=True,
    )
    summary = json.loads(done.stdout)  # parses: nothing else reached stdout
    assert summary["completed"] == 3 and done.returncode == 0, done.stderr
    assert "noise from a plugin" in done.stderr or executor == "process"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchbench",
            "run",
            "--arch",
            "crasher",
            "--set",
            "arch.how=noise",
            "--epochs",
            "1",
            "--force",
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    assert json.loads(run.stdout)["status"] == "complete" and "raw noise" in run.stderr


def test_retries_rerun_lost_workers_only_and_record_the_attempts(bench, blocker):
    killer = blocker / "killer.toml"
    killer.write_text(CULPRITS.replace("{how}", "kill"))
    result = bench(
        "sweep", killer, "--executor", "process", "--workers", "2", "--retries", "1", "--json"
    )
    summary = json.loads(result.out)
    assert summary["completed"] == 2 and len(summary["failed"]) == 1, result.err
    assert [r["attempts"] for r in summary["retried"]] == [2]  # the lost worker, once more
    store = Store(blocker / "results")
    culprit = next(r for r in store.runs() if r.label == "culprit")
    assert culprit.status == "failed" and culprit.environment["attempts"] == 2
    healthy = next(r for r in store.runs() if r.label == "healthy")
    assert healthy.environment["attempts"] == 1
    buggy = blocker / "buggy.toml"
    buggy.write_text(CULPRITS.replace("{how}", "error").replace("lr = 0.01", "lr = 0.02"))
    again = json.loads(
        bench("sweep", buggy, "--executor", "process", "--retries", "3", "--json").out
    )
    assert len(again["failed"]) == 1 and again["retried"] == []  # its own error: no retry


def test_a_ray_worker_killed_by_its_run_fails_that_run_only(blocker):
    pytest.importorskip("ray", reason="Ray is optional: benchbench-harness[ray]")
    suite = blocker / "ray-killer.toml"
    suite.write_text(CULPRITS.replace("{how}", "kill"))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchbench",
            "sweep",
            str(suite),
            "--executor",
            "ray",
            "--workers",
            "2",
            "--retries",
            "1",
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    summary = json.loads(done.stdout)  # only the JSON document, whatever Ray printed
    assert done.returncode == 1 and summary["completed"] == 2, done.stderr
    assert len(summary["failed"]) == 1 and summary["retried"][0]["attempts"] == 2
    culprit = next(r for r in Store(blocker / "results").runs() if r.label == "culprit")
    assert culprit.status == "failed" and "Worker" in culprit.error


# -- round two: three ways to lose a stored result ---------------------------------------


def dead_pid() -> str:
    return subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], text=True, capture_output=True
    ).stdout.strip()


def test_a_force_swap_killed_midway_restores_the_earlier_artifacts(bench, isolated):
    first = json.loads(bench("run", "--arch", "mlp", "--epochs", "1", "--json").out)
    store = Store(isolated / "results")
    final = store.run_dir(first["run_id"])
    files = {p.name: p.read_bytes() for p in final.iterdir()}
    # The state a kill leaves between moving the old folder aside and moving the new one in
    # (Store.finish): the old folder under its dead process's '.old' name, no new one.
    aside = final.with_name(f".{first['run_id']}.{dead_pid()}.old")
    final.rename(aside)
    shown = bench("show", first["run_id"])  # a reader already sees it whole again
    assert shown.code == 0 and "status complete" in shown.out and "confusion matrix" in shown.out
    assert bench("run", "--arch", "mlp", "--epochs", "2").code == 0  # another run: no harm
    assert {p.name: p.read_bytes() for p in final.iterdir()} == files and not aside.exists()


def test_a_run_whose_artifacts_are_gone_never_reads_as_complete(bench, isolated):
    for seed in ("0", "1"):
        assert bench("run", "--arch", "mlp", "--epochs", "1", "--seed", seed).code == 0
    store = Store(isolated / "results")
    lost, kept = store.runs()
    shutil.rmtree(store.run_dir(lost.id))
    assert store.get(lost.id).status == "damaged"
    assert "damaged" in bench("runs").out
    shown = bench("show", lost.id)
    assert "artifacts" in shown.out and "missing" in shown.out
    ensemble = bench("ensemble", "--k", "100")
    assert ensemble.code == 0 and "1 run" in ensemble.out.replace("runs", "run")  # not 2
    again = bench("run", "--arch", "mlp", "--epochs", "1", "--seed", "0")  # trained afresh
    assert again.code == 0 and "already stored" not in again.err
    assert store.get(lost.id).status == "complete"


def test_deleting_a_run_another_process_is_training_is_refused(bench, blocker):
    first = json.loads(bench("run", *RUN, "--json").out)
    store = Store(blocker / "results")
    holder = blocked_run(blocker, [*RUN, "--force"])
    try:
        deleted = bench("runs", "--delete", "--where", "arch=blocker", "--yes")
        assert deleted.code == 2 and f"process {holder.pid}" in deleted.err
        assert store.get(first["run_id"]).status == "complete"
        assert (store.run_dir(first["run_id"]) / "model.pt").exists()
    finally:
        kill(holder)
    assert bench("runs", "--delete", "--where", "arch=blocker", "--yes").code == 0
    assert store.get(first["run_id"]) is None


def test_two_sweeps_of_one_suite_wait_for_each_other(bench, blocker, tmp_path):
    suite = tmp_path / "pair.toml"
    suite.write_text(
        'description = "two sweeps"\nseeds = [0]\n[base]\narch = "blocker"\n'
        'dataset = "digits"\nepochs = 3\ndevice = "cpu"\n'
        '[[variants]]\nname = "first"\n[[variants]]\nname = "second"\nlr = 0.01\n'
    )
    first = blocked_run(blocker, [suite], command="sweep")  # blocks in its first run
    log = tmp_path / "second.log"
    env = {k: v for k, v in os.environ.items() if k != "BLOCKER_SIGNAL"}
    with open(log, "w") as stderr:
        second = subprocess.Popen(
            [sys.executable, "-m", "benchbench", "sweep", str(suite)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        while "waiting for it" not in log.read_text():  # it trains 'second', then waits
            assert second.poll() is None, log.read_text()
            time.sleep(0.05)
        release = next(blocker.glob("signal-*"))
        (release.parent / (release.name + ".release")).touch()  # the first sweep goes on
        assert second.wait(timeout=SAFETY) == 0, log.read_text()
    _, err = first.communicate(timeout=SAFETY)
    assert first.returncode == 0, err
    text = log.read_text()
    assert "failed" not in text.replace("0 failed", "") and "failed" not in err.replace(
        "0 failed", ""
    )
    store = Store(blocker / "results")
    assert sorted(r.status for r in store.runs()) == ["complete", "complete"]
    assert "1 run, 1 skipped" in text and "1 run, 1 skipped" in err  # each trained once
