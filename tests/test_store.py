import json
import sqlite3

import numpy as np
from conftest import FAST

from benchbench.results.store import Store


def test_a_run_is_stored_with_config_environment_history_and_artifacts(bench, isolated):
    result = bench("run", *FAST, "--name", "Model A", "--json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    store = Store(isolated / "results")
    record = store.get(summary["run_id"])
    assert record.status == "complete" and record.label == "Model A"
    assert record.config["arch"] == "resnet_skip" and record.config["device"] == "cpu"
    assert record.environment["torch"] and record.environment["benchbench"]
    history = store.history(record.id)
    assert [h["epoch"] for h in history] == [1, 2]
    folder = store.run_dir(record.id)
    with np.load(folder / "test_predictions.npz") as stored:  # the documented format
        logits, labels = stored["logits"], stored["labels"]
    assert (logits.argmax(1) == labels).mean() == summary["test_acc"]
    matrix = np.loadtxt(folder / "confusion.csv", delimiter=",")
    assert matrix.sum() == len(labels) and (folder / "model.pt").exists()


def test_predictions_stored_by_earlier_versions_still_read(bench, isolated):
    run_id = json.loads(bench("run", *FAST, "--json").out)["run_id"]
    store = Store(isolated / "results")
    logits, labels = store.predictions(run_id)
    folder = store.run_dir(run_id)
    (folder / "test_predictions.npz").unlink()  # as an earlier version left it: two .npy
    np.save(folder / "test_logits.npy", logits)
    np.save(folder / "test_labels.npy", labels)
    old_logits, old_labels = store.predictions(run_id)
    assert np.array_equal(old_logits, logits) and np.array_equal(old_labels, labels)


def test_an_identical_run_is_skipped_unless_forced(bench):
    first = json.loads(bench("run", *FAST, "--json").out)
    again = bench("run", *FAST, "--json")
    assert json.loads(again.out)["skipped"] is True and "already stored" in again.err
    assert json.loads(again.out)["test_acc"] == first["test_acc"]
    forced = json.loads(bench("run", *FAST, "--json", "--force").out)
    assert forced["skipped"] is False and forced["test_acc"] == first["test_acc"]


def test_seeds_run_once_each(bench, isolated):
    result = bench("run", *FAST, "--seeds", "0-2", "--json")
    runs = json.loads(result.out)
    assert [r["seed"] for r in runs] == [0, 1, 2]
    assert len({r["run_id"] for r in runs}) == 3
    assert len(Store(isolated / "results").runs()) == 3


# Killing a run mid-training: tests/test_faults.py (event-driven, never a deadline).


def test_a_corrupt_database_is_refused_and_left_alone(bench, isolated):
    results = isolated / "broken"
    results.mkdir()
    (results / "bench.db").write_bytes(b"this is not sqlite" * 100)
    result = bench("report", "--results", results)
    assert result.code == 2 and "not a readable benchbench database" in result.err
    assert (results / "bench.db").read_bytes() == b"this is not sqlite" * 100


def test_a_store_another_process_is_creating_reads_as_empty_not_foreign(bench, isolated):
    # A worker that looks while another has created bench.db but not yet its tables
    # sees no runs; a database with someone else's tables is still refused.
    results = isolated / "new"
    results.mkdir()
    sqlite3.connect(results / "bench.db").close()
    assert Store(results).runs(smoke=None) == []
    listed = bench("runs", "--results", results)
    assert "No runs stored" in listed.err and "not a readable" not in listed.err
    foreign = isolated / "foreign"
    foreign.mkdir()
    with sqlite3.connect(foreign / "bench.db") as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    result = bench("runs", "--results", foreign)
    assert result.code == 2 and "not a readable benchbench database" in result.err


def test_a_forced_rerun_that_fails_keeps_the_earlier_result(bench, isolated, monkeypatch):
    first = json.loads(bench("run", *FAST, "--json").out)
    store = Store(isolated / "results")
    before = store.get(first["run_id"])
    history = store.history(first["run_id"])

    import benchbench.metrics

    def crash(*args, **kwargs):
        raise RuntimeError("disk on fire")

    with monkeypatch.context() as patch:
        patch.setattr(benchbench.metrics, "summarize", crash)
        failed = bench("run", *FAST, "--force")
    assert failed.code == 1 and "disk on fire" in failed.err
    after = store.get(first["run_id"])
    assert after.status == "complete" and after.summary == before.summary
    assert store.history(first["run_id"]) == history
    assert (store.run_dir(first["run_id"]) / "model.pt").exists()
