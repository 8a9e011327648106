"""Runs described in a file, overridden on the command line, printed back, checked without
training; and Hydra-style grids from `bench sweep --set KEY=A,B`."""

import json

from benchbench.execution.suite import expand_overrides
from benchbench.results.store import Store

RUN = """
arch = "resnet_skip"
epochs = 2
lr = 0.01
"arch.widths" = "8"
"""


def test_a_run_file_with_command_line_overrides(bench, tmp_path):
    (tmp_path / "run.toml").write_text(RUN)
    printed = bench("run", "--config", tmp_path / "run.toml", "--epochs", "1", "--print-config")
    assert printed.code == 0, printed.err
    assert 'arch = "resnet_skip"' in printed.out and "epochs = 1" in printed.out
    assert "lr = 0.01" in printed.out and '"arch.widths=8"' in printed.out
    (tmp_path / "back.toml").write_text(printed.out)  # what it prints, it reads back
    again = bench("run", "--config", tmp_path / "back.toml", "--print-config")
    assert again.out == printed.out
    narrower = bench(
        "run", "--config", tmp_path / "run.toml", "--set", "arch.widths=4", "--print-config"
    )
    assert '"arch.widths=4"' in narrower.out, "--set wins over the file's own option"
    result = bench("run", "--config", tmp_path / "back.toml", "--json")
    assert result.code == 0, result.err
    record = Store(tmp_path / "results").get(json.loads(result.out)["run_id"])
    assert record.config["epochs"] == 1 and record.config["arch_options"] == {"widths": 8}


def test_dry_run_checks_without_training(bench, tmp_path):
    (tmp_path / "run.toml").write_text(RUN)
    result = bench("run", "--config", tmp_path / "run.toml", "--seeds", "0-1", "--dry-run")
    assert result.code == 0 and result.err.count("valid:") == 2
    assert not (tmp_path / "results" / "bench.db").exists()
    (tmp_path / "bad.toml").write_text('arch = "resnet_skipp"\n')
    bad = bench("run", "--config", tmp_path / "bad.toml", "--dry-run")
    assert bad.code == 2 and "Did you mean 'resnet_skip'" in bad.err


def test_unknown_keys_in_a_run_file_are_named_with_their_line(bench, tmp_path):
    (tmp_path / "bad.toml").write_text("arch = 'mlp'\nepoch = 3\n")
    result = bench("run", "--config", tmp_path / "bad.toml")
    assert result.code == 2 and "bad.toml:2: 'epoch'" in result.err and "'epochs'" in result.err


def test_comma_lists_in_sweep_set_make_a_grid():
    combos = expand_overrides(["lr=0.01,0.001", "batch_size=64,128", "epochs=2"])
    assert [items for items, _ in combos] == [
        ["lr=0.01", "batch_size=64", "epochs=2"],
        ["lr=0.01", "batch_size=128", "epochs=2"],
        ["lr=0.001", "batch_size=64", "epochs=2"],
        ["lr=0.001", "batch_size=128", "epochs=2"],
    ]
    assert combos[0][1] == "lr=0.01 batch_size=64"
    assert expand_overrides(["lr_milestones=[2,4]"]) == [(["lr_milestones=[2,4]"], "")]


def test_a_multirun_sweep_stores_every_point_with_its_label(bench, tmp_path):
    suite = tmp_path / "s.toml"
    suite.write_text('[base]\narch = "mlp"\nepochs = 1\n')
    result = bench("sweep", suite, "--set", "lr=0.01,0.001", "--set", "batch_size=64,128", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["completed"] == 4
    labels = {r.label for r in Store(tmp_path / "results").runs()}
    assert "lr=0.001 batch_size=128" in labels and len(labels) == 4


def test_a_builtin_recipe_runs_and_command_line_options_win(bench):
    listed = json.loads(bench("list", "recipes", "--json").out)["recipes"]
    assert [r["name"] for r in listed] == ["speedrun", "speedrun-long"]
    assert all(r["description"] for r in listed)
    shown = bench("run", "--recipe", "speedrun", "--epochs", "3", "--print-config")
    assert shown.code == 0, shown.err
    assert 'arch = "speedrun"' in shown.out and "epochs = 3" in shown.out
    wider = bench("run", "--recipe", "speedrun", "--set", "arch.widths=8,16,16", "--print-config")
    assert '"arch.widths=8,16,16"' in wider.out and "64,256,256" not in wider.out
    assert 'tta = "flip-translate"' in shown.out
    result = bench("run", "--recipe", "speedrun", "--smoke", "--json")
    assert result.code == 0, result.err
    stored = json.loads(bench("show", json.loads(result.out)["run_id"], "--json").out)
    assert stored["config"]["arch"] == "speedrun" and stored["config"]["tta"] == "flip-translate"
    longer = bench("run", "--recipe", "speedrun-long", "--smoke", "--json")
    assert longer.code == 0, longer.err
    stored = json.loads(bench("show", json.loads(longer.out)["run_id"], "--json").out)["config"]
    assert stored["lookahead"] == 5 and stored["bias_lr_scale"] == 64.0
    assert stored["scheduler"] == "triangle" and stored["arch_options"]["bn_weights"] is False


def test_an_unknown_recipe_or_two_run_files_is_a_clear_error(bench, tmp_path):
    wrong = bench("run", "--recipe", "speedrn")
    assert wrong.code == 2 and "Did you mean 'speedrun'" in wrong.err
    run_file = tmp_path / "run.toml"
    run_file.write_text('arch = "mlp"\n')
    both = bench("run", "--recipe", "speedrun", "--config", run_file)
    assert both.code == 2 and "give one of them" in both.err
