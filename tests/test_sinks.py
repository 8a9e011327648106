"""Result sinks: runs go to MLflow (a real SQLite tracking store) and TensorBoard as they
train, stored runs are exported once, and a failing sink never costs a stored result."""

import json

import pytest

from benchbench import hookimpl

FAST = ["--dataset", "digits", "--arch", "mlp", "--epochs", "2", "--json"]
mlflow = pytest.importorskip("mlflow", reason="the mlflow extra is not installed")


def search(uri):
    mlflow.set_tracking_uri(uri)
    return mlflow.search_runs(experiment_names=["benchbench"])


def test_a_run_is_tracked_in_mlflow_as_it_trains(bench, tmp_path, monkeypatch):
    started_in = tmp_path / "elsewhere"
    started_in.mkdir()
    monkeypatch.chdir(started_in)
    uri = f"sqlite:///{tmp_path / 'tracking' / 'mlflow.db'}"
    (tmp_path / "tracking").mkdir()
    result = bench("run", *FAST, "--name", "tracked", "--sink", f"mlflow={uri}")
    assert result.code == 0, result.err
    ours = json.loads(result.out)
    (row,) = search(uri).to_dict("records")
    assert row["tags.benchbench.run_id"] == ours["run_id"] and row["status"] == "FINISHED"
    assert row["tags.mlflow.runName"] == "tracked" and row["params.arch"] == "mlp"
    assert row["metrics.test_acc"] == pytest.approx(ours["test_acc"])
    assert row["tags.env.host"]
    client = mlflow.MlflowClient(uri)
    history = client.get_metric_history(row["run_id"], "val_acc")
    assert [m.step for m in history] == [1, 2]
    artifacts = {a.path for a in client.list_artifacts(row["run_id"])}
    assert {"confusion.csv", "classes.json", "curves.png", "confusion.png"} <= artifacts
    # artifacts beside the tracking database, not in the folder bench was started from
    assert list((tmp_path / "tracking" / "mlartifacts").rglob("confusion.csv"))
    assert not list(started_in.iterdir())


def test_stored_runs_are_exported_once(bench, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    for seed in ("0", "1"):
        assert bench("run", *FAST, "--seed", seed).code == 0
    assert bench("run", *FAST, "--lr", "0.01").code == 0
    first = bench("export", f"mlflow={uri}", "--where", "lr=0.001", "--json")
    assert first.code == 0, first.err
    assert len(json.loads(first.out)["exported"]) == 2
    again = json.loads(bench("export", f"mlflow={uri}", "--json").out)
    assert len(again["exported"]) == 1 and len(again["skipped"]) == 2
    assert len(search(uri)) == 3


def test_tensorboard_gets_per_epoch_scalars(bench, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = bench("run", *FAST, "--sink", f"tensorboard={tmp_path / 'tb'}")
    assert result.code == 0, result.err
    (folder,) = (tmp_path / "tb").iterdir()
    assert folder.name.endswith(json.loads(result.out)["run_id"])
    events = EventAccumulator(str(folder))
    events.Reload()
    assert [e.step for e in events.Scalars("val_acc")] == [1, 2]
    assert "curves" in events.Tags()["images"]


class Broken:
    def epoch_ended(self, run_id, record):
        raise ConnectionError("tracking server unreachable")


def broken(*, target=None):
    return Broken()


@hookimpl
def benchbench_register_sinks(registry):
    registry.add("broken", broken, description="always fails")


def test_a_failing_sink_never_costs_the_stored_run(bench, monkeypatch):
    monkeypatch.setenv("BENCH_PLUGINS", "test_sinks")
    result = bench("run", *FAST, "--sink", "broken")
    assert result.code == 0, result.err
    assert "result sink Broken failed (ConnectionError: tracking server unreachable)" in result.err
    shown = json.loads(bench("show", json.loads(result.out)["run_id"], "--json").out)
    assert shown["summary"]["status"] == "complete" and len(shown["history"]) == 2


def test_an_unknown_sink_is_a_clear_error(bench):
    result = bench("run", *FAST, "--sink", "mlflw")
    assert result.code == 2 and "Did you mean 'mlflow'?" in result.err


def test_an_export_that_fails_says_how_far_it_got(bench, monkeypatch):
    monkeypatch.setenv("BENCH_PLUGINS", "test_sinks")
    assert bench("run", *FAST).code == 0
    result = bench("export", "broken")
    assert result.code == 2
    assert "broken failed while exporting run" in result.err and "0 run(s)" in result.err
