"""bench tune: a budgeted Optuna study whose trials are ordinary stored runs; hopeless
trials pruned; killed and continued to exactly its budget; bad spaces refused."""

import json
import math
import os
import textwrap

import pytest
from conftest import blocked_run
from conftest import kill

from benchbench.results import studies
from benchbench.results.store import Store

pytest.importorskip("optuna")

STUDY = """
description = "learning rate and batch size on digits"
[base]
dataset = "digits"
arch = "mlp"
epochs = 4
[tune]
metric = "best_val_acc"
trials = 7
sampler = "random"
seed = 7
pruner = "median"
startup_trials = 2
final_seeds = 2
[tune.space]
lr = {low = 1e-3, high = 3.0, log = true}
batch_size = [32, 64]
"""


def write(tmp_path, text, name="study.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_a_study_prunes_hopeless_trials_and_stores_every_trial_as_a_run(bench, tmp_path):
    suite = write(tmp_path, STUDY)
    done = bench("tune", suite, "--json")
    assert done.code == 0, done.err
    outcome = json.loads(done.out)
    study = studies.load(tmp_path / "results", "study")
    trials = study.trials
    assert len(trials) == 7 and all(t.state.is_finished() for t in trials)
    store = Store(tmp_path / "results")
    runs = {r.id: r for r in store.runs(smoke=None)}
    hopeless = [t for t in trials if t.params["lr"] >= 1.0]
    assert hopeless, "the sampler's seed should draw some learning rates above 1"
    for trial in trials:
        run = runs[trial.user_attrs["run_id"]]
        assert run.environment["study"] == "study" and run.environment["trial"] == trial.number
        assert run.label == f"study trial {trial.number}"
        if trial.state.name == "PRUNED":
            assert run.status == "pruned"
            assert trial.user_attrs["epochs"] == len(store.history(run.id)) < 4
        else:
            assert run.status == "complete" and trial.value == run.summary["best_val_acc"]
    # after the pruner's two startup trials, every hopeless trial is stopped early
    assert all(t.state.name == "PRUNED" for t in hopeless if t.number >= 2)
    best = max((t for t in trials if t.state.name == "COMPLETE"), key=lambda t: t.value)
    assert outcome["best_value"] == best.value and outcome["best_trial"] == best.number
    assert outcome["best_params"] == best.params
    assert outcome["trials"]["complete"] + outcome["trials"]["pruned"] == 7
    final = outcome["final"]
    assert final["seeds"] == [1, 2] and len(final["test_acc"]) == 2
    assert final["test_acc_mean"] == pytest.approx(sum(final["test_acc"]) / 2)

    listed = bench("runs", "--where", "study=study", "--json")
    assert len(json.loads(listed.out)) == 7 + 2  # the trials and the final seeds

    # the best settings as a run file that bench run takes: the best trial's own run
    run_file = outcome["best_config"]
    again = bench("run", "--config", run_file, "--json")
    assert again.code == 0, again.err
    summary = json.loads(again.out)
    assert summary["run_id"] == outcome["best_run_id"] and summary["skipped"]
    assert summary["label"] == f"study trial {best.number}"

    # a second command finds the budget spent: nothing trains again
    repeat = bench("tune", suite, "--json")
    assert repeat.code == 0, repeat.err
    assert len(studies.load(tmp_path / "results", "study").trials) == 7
    assert json.loads(repeat.out)["final"]["run_ids"] == final["run_ids"]

    # a larger budget continues the same study
    more = bench("tune", suite, "--trials", "8", "--json")
    assert more.code == 0, more.err
    assert len(studies.load(tmp_path / "results", "study").trials) == 8

    for fmt in ("markdown", "latex", "html", "csv", "json"):
        shown = bench("report", "--study", "study", "--format", fmt)
        assert shown.code == 0, shown.err
        assert "pruned" in shown.out
    table = bench("report", "--study", "study").out
    assert f"**{best.value:.4f}**" in table  # the best trial marked
    assert "Best settings on fresh seeds" in table

    drawn = bench("plot", "study", "study", "--output", tmp_path / "figs")
    assert drawn.code == 0, drawn.err
    for kind in ("history", "importances", "parallel"):
        for ext in ("png", "pdf"):
            assert (tmp_path / "figs" / f"study-study-{kind}.{ext}").stat().st_size > 0


BLOCKED = """
[base]
dataset = "digits"
arch = "blocker"
epochs = 3
[tune]
metric = "best_val_acc"
sampler = "random"
pruner = "none"
trials = 4
[tune.space]
lr = {low = 1e-3, high = 1e-1, log = true}
"""


def test_a_study_killed_mid_trial_continues_to_exactly_its_budget(bench, blocker, tmp_path):
    suite = write(tmp_path, BLOCKED)
    first = bench("tune", suite, "--trials", "2")
    assert first.code == 0, first.err
    # the third trial blocks in its second epoch; the process is killed there
    process = blocked_run(tmp_path, [suite, "--checkpoint-every", "1"], command="tune")
    kill(process)
    study = studies.load(tmp_path / "results", "study")
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE", "RUNNING"]
    killed = study.trials[2].user_attrs["run_id"]
    assert Store(tmp_path / "results").get(killed).status == "running"

    again = bench("tune", suite, "--checkpoint-every", "1")
    assert again.code == 0, again.err
    assert "trial 2's process is gone: continuing it" in again.err
    assert f"resuming {killed} at epoch 2 of 3" in again.err
    study = studies.load(tmp_path / "results", "study")
    assert len(study.trials) == 4  # exactly the budget: the killed trial finished, not redone
    assert all(t.state.name == "COMPLETE" for t in study.trials)
    run_ids = [t.user_attrs["run_id"] for t in study.trials]
    assert len(set(run_ids)) == 4 and run_ids[2] == killed
    store = Store(tmp_path / "results")
    assert [e["epoch"] for e in store.history(killed)] == [1, 2, 3]


def test_workers_share_one_study_to_exactly_its_budget(bench, tmp_path):
    suite = write(tmp_path, STUDY.replace("final_seeds = 2", "final_seeds = 0"))
    done = bench("tune", suite, "-j", "2", "--trials", "4", "--json")
    assert done.code == 0, done.err
    study = studies.load(tmp_path / "results", "study")
    assert len(study.trials) == 4 and all(t.state.is_finished() for t in study.trials)
    assert os.getpid() not in {t.user_attrs["pid"] for t in study.trials}  # the workers did
    assert len({t.user_attrs["run_id"] for t in study.trials}) == 4  # none drawn twice


def test_ray_workers_share_one_study_to_exactly_its_budget(bench, tmp_path):
    pytest.importorskip("ray", reason="Ray is optional: benchbench-harness[ray]")
    suite = write(tmp_path, STUDY.replace("final_seeds = 2", "final_seeds = 0"))
    done = bench("tune", suite, "-j", "2", "--trials", "3", "--executor", "ray", "--json")
    assert done.code == 0, done.err
    study = studies.load(tmp_path / "results", "study")
    assert len(study.trials) == 3 and all(t.state.is_finished() for t in study.trials)
    assert os.getpid() not in {t.user_attrs["pid"] for t in study.trials}  # Ray's workers
    assert len({t.user_attrs["run_id"] for t in study.trials}) == 3
    unknown = bench("tune", suite, "--executor", "slurm")
    assert unknown.code == 2 and "process or ray" in unknown.err


def test_a_study_made_otherwise_is_not_continued_silently(bench, tmp_path):
    suite = write(tmp_path, STUDY.replace("trials = 7", "trials = 1"))
    assert bench("tune", suite).code == 0
    changed = write(tmp_path, STUDY.replace("batch_size = [32, 64]", "batch_size = [16]"))
    refused = bench("tune", changed)
    assert refused.code == 2
    assert "was made from other settings" in refused.err and "--study" in refused.err
    renamed = bench("tune", changed, "--study", "other", "--trials", "1")
    assert renamed.code == 0, renamed.err


@pytest.mark.parametrize(
    "space, expected",
    [
        (
            "lrr = {low = 0.1, high = 1.0}",
            "'lrr': not a setting a study can search. Did you mean 'lr'",
        ),
        ("lr = {low = 0.1, high = 0.1}", "an empty range: low (0.1) must be below high (0.1)"),
        ("lr = {low = 0.0, high = 0.1, log = true}", "a log range needs low > 0"),
        ('batch_size = ["64", "128"]', "'64' is a str; batch_size takes int values"),
        ("batch_size = []", "an empty list of choices"),
        ('lr = "fast"', "give a range {low = …, high = …}"),
        ("optimizer = {low = 1, high = 2}", "optimizer is not a number"),
        ("lr = {low = -1.0, high = 0.1}", "makes no valid run"),
    ],
)
def test_bad_spaces_are_refused_before_anything_is_stored(bench, tmp_path, space, expected):
    text = STUDY.split("[tune.space]")[0] + "[tune.space]\n" + space + "\n"
    suite = write(tmp_path, text)
    refused = bench("tune", suite)
    assert refused.code == 2, refused.err
    assert expected in refused.err
    assert refused.err.count("\n") == 1  # one paragraph
    assert not (tmp_path / "results" / "studies").exists()
    assert not (tmp_path / "results" / "runs").exists()


@pytest.mark.parametrize(
    "change, expected",
    [
        (('sampler = "random"', 'sampler = "annealing"'), "choose one of tpe, random, qmc"),
        (('pruner = "median"', 'pruner = "patience"'), "choose one of median, hyperband"),
        (('metric = "best_val_acc"', 'metric = "best_val_accuracy"'), "Did you mean"),
        (("trials = 7", "trials = 0"), "at least 1"),
        (('sampler = "random"', 'sampler = "grid"'), "'lr' is a continuous range"),
        (("seed = 7", "patience = 3"), "unknown key of a study"),
    ],
)
def test_bad_study_settings_are_refused(bench, tmp_path, change, expected):
    suite = write(tmp_path, STUDY.replace(*change))
    refused = bench("tune", suite)
    assert refused.code == 2
    assert expected in refused.err
    assert not (tmp_path / "results" / "studies").exists()


def test_a_suite_without_a_study_says_what_bench_tune_needs(bench):
    refused = bench("tune", "report002")
    assert refused.code == 2
    assert "[tune.space]" in refused.err


def test_a_grid_study_tries_every_point_once(bench, tmp_path):
    text = STUDY.replace('sampler = "random"', 'sampler = "grid"').replace("trials = 7\n", "")
    text = text.replace("lr = {low = 1e-3, high = 3.0, log = true}", "lr = [0.01, 0.1]")
    suite = write(tmp_path, text.replace("final_seeds = 2", "final_seeds = 0"))
    done = bench("tune", suite, "--json")
    assert done.code == 0, done.err
    study = studies.load(tmp_path / "results", "study")
    points = sorted((t.params["lr"], t.params["batch_size"]) for t in study.trials)
    assert points == [(0.01, 32), (0.01, 64), (0.1, 32), (0.1, 64)]


def test_a_trial_that_misses_its_target_counts_as_infinite(bench, tmp_path):
    suite = write(
        tmp_path,
        """
        [base]
        dataset = "digits"
        arch = "mlp"
        epochs = 2
        target_acc = 0.9999
        [tune]
        metric = "seconds_to_target"
        sampler = "random"
        pruner = "none"
        trials = 2
        [tune.space]
        lr = [0.01, 0.02]
        """,
    )
    done = bench("tune", suite, "--json")
    assert done.code == 0, done.err
    study = studies.load(tmp_path / "results", "study")
    assert study.direction.name == "MINIMIZE"  # a time: lower is better
    assert [t.value for t in study.trials] == [math.inf, math.inf]
    assert json.loads(done.out)["best_value"] is None  # no trial reached the target


def test_a_study_goes_to_mlflow_as_a_parent_run_with_its_trials_as_children(bench, tmp_path):
    mlflow = pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    small = STUDY.replace("trials = 7", "trials = 3").replace("final_seeds = 2", "final_seeds = 0")
    assert bench("tune", write(tmp_path, small)).code == 0
    trials = studies.load(tmp_path / "results", "study").trials
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    alone = bench(
        "export", f"mlflow={uri}", "--where", "study=study", "--where", "trial=0", "--json"
    )
    assert len(json.loads(alone.out)["exported"]) == 1  # sent before, on its own
    first = bench("export", f"mlflow={uri}", "--study", "study", "--json")
    assert first.code == 0, first.err
    assert len(json.loads(first.out)["exported"]) == 2  # trial 0 is adopted, not doubled

    client = mlflow.MlflowClient(uri)
    (experiment,) = [e for e in client.search_experiments() if e.name == "benchbench"]
    every = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in every if r.data.tags.get("benchbench.study") == "study"]
    children = [r for r in every if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert sorted(r.data.tags["benchbench.run_id"] for r in children) == sorted(
        t.user_attrs["run_id"] for t in trials
    )
    finite = [t for t in trials if t.state.name == "COMPLETE"]
    best = max(finite, key=lambda t: t.value)
    assert parent.data.metrics["best_value"] == pytest.approx(best.value)
    assert parent.data.params["best.lr"] == str(best.params["lr"])
    assert parent.data.params["sampler"] == "random" and parent.info.status == "FINISHED"

    # again: nothing doubled, the same parent kept
    again = json.loads(bench("export", f"mlflow={uri}", "--study", "study", "--json").out)
    assert again["exported"] == [] and len(again["skipped"]) == 3
    assert len(client.search_runs([experiment.experiment_id])) == 4


def test_exporting_a_study_that_is_not_there_names_the_ones_that_are(bench, tmp_path):
    assert bench("tune", write(tmp_path, STUDY.replace("trials = 7", "trials = 1"))).code == 0
    result = bench("export", "tensorboard", "--study", "nope")
    assert result.code == 2 and "No study 'nope'" in result.err and "study" in result.err


ONE_AT_A_TIME = """
[base]
dataset = "digits"
arch = "mlp"
epochs = 2
[tune]
mode = "one-at-a-time"
repeats = 2
final_seeds = 1
[tune.space]
lr = [0.001, 0.1, 3.0]
batch_size = [32, 64]
"""

SWEPT = """
[base]
dataset = "digits"
arch = "mlp"
epochs = 2
[tune]
order = ["lr", "batch_size"]
repeats = 2
lr = [0.001, 0.1, 3.0]
batch_size = [32, 64]
"""


def test_one_at_a_time_as_a_study_trains_the_runs_the_suite_tuning_trains(bench, tmp_path):
    done = bench("tune", write(tmp_path, ONE_AT_A_TIME), "--json")
    assert done.code == 0, done.err
    outcome = json.loads(done.out)
    trials = studies.load(tmp_path / "results", "study").trials
    assert len(trials) == (3 + 2) * 2 and all(t.state.name == "COMPLETE" for t in trials)
    # lr first, two seeds a value, batch size at the base; then batch size at the kept lr
    assert [(t.params, t.user_attrs["repeat"]) for t in trials[:6]] == [
        ({"lr": lr}, r) for lr in (0.001, 0.1, 3.0) for r in (0, 1)
    ]
    means = {
        lr: sum(t.value for t in trials if t.params == {"lr": lr}) / 2 for lr in (0.001, 0.1, 3.0)
    }
    kept = max(means, key=means.get)
    assert all(t.params["lr"] == kept for t in trials[6:])
    kept_batch = outcome["best_params"]["batch_size"]
    batch_means = [
        sum(t.value for t in trials[6:] if t.params["batch_size"] == b) / 2 for b in (32, 64)
    ]
    assert outcome["best_value"] == pytest.approx(max(batch_means))
    assert kept_batch == (32, 64)[batch_means.index(max(batch_means))]
    assert outcome["final"]["seeds"] == [2]  # fresh: seeds 0 and 1 were the repeats

    # the suite's own one-at-a-time tuning asks for exactly these runs: all already stored
    swept = bench("sweep", write(tmp_path, SWEPT, "swept.toml"), "--json")
    assert swept.code == 0, swept.err
    sweep = json.loads(swept.out)
    assert sweep["completed"] == 0 and sweep["skipped"] == 10
    assert sweep["best"] == {"base": outcome["best_params"]}  # and it keeps the same values

    report = bench("report", "--study", "study", "--format", "csv")
    assert report.code == 0, report.err
    assert "One at a time" in report.out and "Values kept" in report.out
    shown = bench("report", "--study", "study").out
    kept_lr = f"| lr        | {kept} *"
    assert kept_lr in shown or f"{kept} \\*" in shown, shown
    ids = {t.user_attrs["run_id"] for t in trials}
    store = Store(tmp_path / "results")
    assert len(ids) == 10 and ids <= {r.id for r in store.runs(smoke=None)}


def test_one_at_a_time_refuses_what_it_cannot_walk(bench, tmp_path):
    ranged = ONE_AT_A_TIME.replace("lr = [0.001, 0.1, 3.0]", "lr = {low = 1e-3, high = 1.0}")
    tpe = ONE_AT_A_TIME.replace('mode = "one-at-a-time"', 'mode = "one-at-a-time"\nsampler = "tpe"')
    searched = ONE_AT_A_TIME.replace('mode = "one-at-a-time"\n', "")
    for text, said in [(ranged, "continuous range"), (tpe, "walks"), (searched, "repeats")]:
        result = bench("tune", write(tmp_path, text))
        assert result.code == 2 and said in result.err, result.err
        assert not (tmp_path / "results" / "studies").exists()


def test_a_study_that_searches_epochs_shows_them_beside_the_epochs_each_trial_ran(bench, tmp_path):
    searched = STUDY.replace("batch_size = [32, 64]", "epochs = [1, 2]").replace(
        "trials = 7", "trials = 3"
    )
    suite = write(tmp_path, searched.replace("final_seeds = 2", "final_seeds = 0"))
    assert bench("tune", suite).code == 0
    (table,) = json.loads(bench("report", "--study", "study", "--format", "json").out)[:1]
    rows, store = table["rows"], Store(tmp_path / "results")
    assert {"epochs", "epochs run"} <= set(rows[0])
    for row in rows:
        run = store.get(row["run"])
        assert row["epochs"] == run.config["epochs"] in (1, 2)
        assert row["epochs run"] == len(store.history(run.id)) <= row["epochs"]
