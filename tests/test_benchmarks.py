"""The benchmark script keeps working as the code changes (it is run, never timed, here)."""

import importlib.util
import types
from pathlib import Path

from test_data import make_folder


def load_script():
    path = Path(__file__).parents[1] / "benchmarks" / "training_speed.py"
    spec = importlib.util.spec_from_file_location("training_speed", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_speed_benchmark_runs_on_a_small_folder(tmp_path):
    script = load_script()
    folder = make_folder(
        tmp_path / "data", classes=[str(i) for i in range(10)], per_class=6, size=(32, 32)
    )
    for loader in (False, True):
        assert script.augmentation_seconds(folder, batch_size=16, workers=0, loader=loader) > 0
    args = types.SimpleNamespace(
        arch="resnet_skip", data_dir=folder, subset=30, epochs=1, batch_size=16, val_fraction=0.2
    )
    for layout, precision in (("channels_last", "fp32"), ("contiguous", "bf16")):
        assert len(script.bare_loop_epochs(args, layout, precision)) == 1


def run_script(name, *args):
    import subprocess
    import sys

    path = Path(__file__).parents[1] / "benchmarks" / name
    return subprocess.run([sys.executable, str(path), *args], capture_output=True, text=True)


def test_the_layout_and_seed_benchmarks_run():
    layouts = run_script("layout_precision.py", "--only", "mlp", "lenet", "--steps", "1")
    assert layouts.returncode == 0, layouts.stderr
    assert "| mlp | 64 |" in layouts.stdout and "auto picks" in layouts.stdout
    seeds = run_script("vectorized_seeds.py", "--arch", "mlp", "--seeds", "2", "--batch-size", "8")
    assert seeds.returncode == 0, seeds.stderr
    assert "| 2 seeds, batched (vmap) |" in seeds.stdout


def test_the_streaming_benchmark_runs_and_both_paths_agree(tmp_path):
    folder = make_folder(tmp_path / "data", classes=["a", "b"], per_class=12, size=(8, 8))
    args = ["--data-dir", str(folder), "--arch", "mlp", "--repeats", "1"]
    result = run_script("streaming.py", *args)
    assert result.returncode == 0, result.stderr
    rows = {line.split("|")[1].strip(): line for line in result.stdout.splitlines()[2:]}
    assert set(rows) == {"device", "stream"}
    assert rows["device"].split("|")[-2] == rows["stream"].split("|")[-2], "same test accuracy"


def test_the_tuning_benchmark_reads_one_at_a_time_and_writes_a_valid_study(tmp_path):
    from benchbench import api

    path = Path(__file__).parents[1] / "benchmarks" / "tune_vs_one_at_a_time.py"
    spec = importlib.util.spec_from_file_location("tune_vs_one_at_a_time", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    oat = script.one_at_a_time(script.COMMITTED)
    # report 004's committed tuning: 4 steps x 5 values x 5 repeats (batch size: 3 values)
    assert oat["run"].config["arch"] == "vgg_blocks"
    assert 0 < oat["epochs_to_best"] <= oat["epochs"]
    assert oat["best_val_acc"] == oat["run"].summary["best_val_acc"]
    study = api.find_suite(str(script.study_file(oat["run"], oat["epochs"], tmp_path)))
    assert study.study.epochs_budget == oat["epochs"]
    assert set(study.study.space) == {"lr", "batch_size", "dropout", "weight_decay"}
    assert study.base["subset"] == 10000 and "lr" not in study.base
