import json
import re
import subprocess
import sys

import pytest
from conftest import FAST


def test_run_then_report_then_show(bench):
    assert bench("run", *FAST, "--aug", "hflip", "--aug", "crop", "--name", "Model A").code == 0
    report = bench("report", "--format", "latex")
    assert report.code == 0 and "Model A" in report.out and "\\toprule" in report.out
    show = bench("show", "Model A")
    assert show.code == 0
    for text in ("confusion matrix", "commission", "omission", "train loss", "arch"):
        assert text in show.out
    shown = json.loads(bench("show", "Model A", "--json").out)
    assert len(shown["confusion"]) == 10 and len(shown["history"]) == 2
    assert shown["config"]["augs"] == ["hflip", "crop"]


def test_the_commands_from_product_md_work_as_written(bench):
    result = bench(
        "run", "--arch", "resnet_skip", "--aug", "cutmix", "--epochs", "1", "--set", "arch.widths=8"
    )
    assert result.code == 0, result.err
    assert bench("report", "--format", "latex").code == 0


@pytest.mark.parametrize(
    "args,message",
    [
        (["run", "--arch", "resnet_skp"], "Did you mean 'resnet_skip'"),
        (["run", "--aug", "cutmx"], "Did you mean 'cutmix'"),
        (["run", "--dataset", "digit"], "Did you mean 'digits'"),
        (["run", "--batch-size", "0"], "--batch-size 0"),
        (["run", "--lr", "-1"], "--lr -1.0"),
        (["run", "--val-fraction", "1"], "--val-fraction 1.0"),
        (["run", "--dataset", "imagefolder", "--data-dir", "/no/such/dir"], "does not exist"),
        (["run", "--dataset", "imagefolder"], "needs --data-dir"),
        (["run", "--set", "arch.widht=3", "--arch", "resnet_skip"], "Did you mean 'widths'"),
        (["run", "--set", "oops"], "KEY=VALUE"),
        (["run", "--seeds", "3-1"], "runs backwards"),
        (["run", "--device", "cuda:7"], "--device cuda:7"),
        (["show", "nothing"], "No run 'nothing'"),
        (["list", "widgets"], "list archs, augs, datasets, suites, recipes, sinks, metrics"),
    ],
)
def test_bad_input_is_one_paragraph_and_exit_code_2(bench, args, message):
    result = bench(*args)
    assert result.code == 2
    assert message in result.err
    assert "Traceback" not in result.err


def test_bad_input_leaves_the_store_untouched(bench, isolated):
    assert bench("run", *FAST).code == 0
    before = (isolated / "results" / "bench.db").read_bytes()
    assert bench("run", *FAST, "--set", "arch.nope=1").code == 2
    assert bench("run", "--dataset", "imagefolder", "--data-dir", isolated).code == 2
    from benchbench.results.store import Store

    assert [r.status for r in Store(isolated / "results").runs()] == ["complete"]
    assert len(before) > 0


def test_traceback_only_with_bench_debug():
    cmd = [sys.executable, "-m", "benchbench", "run", "--arch", "nope"]
    quiet = subprocess.run(cmd, capture_output=True, text=True)
    assert quiet.returncode == 2 and "Traceback" not in quiet.stderr
    loud = subprocess.run(
        cmd, capture_output=True, text=True, env={**__import__("os").environ, "BENCH_DEBUG": "1"}
    )
    assert "Traceback" in loud.stderr


def test_list_and_plugins_json(bench):
    listing = json.loads(bench("list", "archs", "--filter", "cnn*", "--json").out)
    assert [a["name"] for a in listing["architectures"]] == ["cnn_5x5", "cnn_large", "cnn_small"]
    assert all(a["description"] for a in listing["architectures"])
    plugins = json.loads(bench("plugins", "--json").out)
    builtin = next(p for p in plugins if p["name"] == "builtin.architectures")
    assert builtin["distribution"] == "benchbench-harness" and builtin["errors"] == []
    assert builtin["hooks"] == ["benchbench_register_architectures"]


def test_every_command_has_help(bench):
    for command in ("run", "report", "show", "list", "plugins"):
        result = bench(command, "--help")
        assert result.code == 0 and "Usage" in result.out


def test_report_without_runs_says_how_to_get_some(bench):
    result = bench("report")
    assert result.code == 2 and "bench run" in result.err


@pytest.mark.parametrize(
    "command",
    [["run"], ["sweep"], ["report"], ["runs"], ["ood"], ["plot", "gradcam"], ["data", "inspect"]],
)
def test_help_texts_keep_their_defaults_visible(bench, monkeypatch, command):
    monkeypatch.setenv("COLUMNS", "300")
    text = bench(*command, "--help").out
    assert "$BENCH_RESULTS" in text or command in (["ood"], ["data", "inspect"])
    # rich reads "[default: ...]" inside a help string as markup and drops it, leaving " ."
    assert not re.search(r"\w \.(\s|$)", text), text


def test_no_help_text_loses_a_bracketed_word_to_rich_markup():
    """rich reads ``[tune.space]`` in a help text as a style tag and prints nothing for it
    ("the suite's  with Optuna"): every help text, of every command, escapes such words."""
    import typer

    from benchbench.cli.app import app

    tag = re.compile(r"(?<!\\)\[[a-z#/@][^\]]*\]")
    eaten = []

    def walk(command, path):
        texts = [command.help or ""] + [getattr(p, "help", None) or "" for p in command.params]
        eaten.extend((path, m.group()) for t in texts for m in tag.finditer(t))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(app), "bench")
    assert not eaten


def test_tune_help_names_the_tables_it_reads(bench, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    text = bench("tune", "--help").out
    assert "suite's [tune.space] with Optuna" in text and "[tune] and [tune.space]" in text


def test_quiet_runs_print_the_result_alone_and_decoding_says_so(bench, tmp_path):
    from test_data import make_folder

    folder = make_folder(tmp_path / "data", classes=["a", "b"], per_class=8, size=(8, 8))
    args = ["run", "--dataset", "imagefolder", "--data-dir", folder, "--arch", "mlp"]
    loud = bench(*args, "--epochs", "2")
    assert loud.code == 0, loud.err
    assert "decoding 16 images under" in loud.err and "(cached for next time)" in loud.err
    assert "epoch 2/2" in loud.err
    quiet = bench("--quiet", *args, "--epochs", "3", "--json")
    assert quiet.code == 0, quiet.err
    assert "epoch 1/3" not in quiet.err and "decoding" not in quiet.err  # cached, and quiet
    assert json.loads(quiet.out)["epochs_run"] == 3
