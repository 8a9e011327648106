"""Plugins add metrics (benchbench_register_metrics): stored with every run, reportable and
tunable like the built-ins; a broken one never costs a run."""

import json

from benchbench import Metric
from benchbench import hookimpl


def top2(evaluated):
    logits, labels = evaluated.outcome.test_logits, evaluated.outcome.test_labels
    best_two = logits.topk(2, dim=1).indices
    return float((best_two == labels[:, None]).any(1).float().mean())


def macro_f1(evaluated):
    from sklearn.metrics import f1_score

    logits, labels = evaluated.outcome.test_logits, evaluated.outcome.test_labels
    return float(f1_score(labels.numpy(), logits.argmax(1).numpy(), average="macro"))


def broken(evaluated):
    raise ZeroDivisionError("oops")


@hookimpl
def benchbench_register_metrics(registry):
    registry.add(
        "top2_test",
        lambda: Metric("top2_test", "Top-2 acc", 4, top2, higher_is_better=True, tunable=True),
        description="top-2 test accuracy",
    )
    registry.add("macro_f1", lambda: Metric("macro_f1", "Macro F1", 3, macro_f1, True))
    registry.add("broken", lambda: Metric("broken", "Broken", 2, broken))
    registry.add("mislabelled", lambda: Metric("other_key", "Other", 2, broken))


FAST = ["--dataset", "digits", "--arch", "mlp", "--epochs", "1", "--json"]


def test_a_plugin_metric_is_stored_reported_and_tunable(bench, monkeypatch, tmp_path):
    monkeypatch.setenv("BENCH_PLUGINS", "test_plugin_metrics")
    result = bench("run", *FAST)
    assert result.code == 0, result.err
    summary = json.loads(bench("show", json.loads(result.out)["run_id"], "--json").out)["summary"]
    assert summary["test_acc"] <= summary["top2_test"] <= 1 and 0 < summary["macro_f1"] <= 1
    assert "broken" not in summary and "metric 'broken' failed (ZeroDivisionError" in result.err
    report = bench("report", "--metrics", "test_acc,top2_test,macro_f1")
    assert report.code == 0 and "Top-2 acc" in report.out and "Macro F1" in report.out
    suite = tmp_path / "tune.toml"
    suite.write_text(
        'seeds = [0]\n[base]\ndataset = "digits"\narch = "mlp"\nepochs = 1\n'
        '[tune]\norder = ["lr"]\nmetric = "top2_test"\nlr = [0.001, 0.01]\n'
    )
    assert bench("sweep", suite, "--json").code == 0
    plugins = json.loads(bench("plugins", "--json").out)
    (ours,) = [p for p in plugins if p["name"] == "test_plugin_metrics"]
    assert any(
        "registered as 'mislabelled' but its key is 'other_key'" in e for e in ours["errors"]
    )


def test_without_the_plugin_its_metric_is_unknown(bench):
    assert bench("run", *FAST).code == 0
    result = bench("report", "--metrics", "top2_test")  # this module is not loaded here
    assert result.code == 2 and "Unknown metric(s) top2_test" in result.err
