"""reports/generate.py: the reproductions' driver plans the seeds' full scale for a GPU
machine, and renders from whatever results are stored."""

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

GENERATE = Path(__file__).resolve().parent.parent / "reports" / "generate.py"


def generate(*args, cwd=None):
    return subprocess.run(
        [sys.executable, str(GENERATE), *args], capture_output=True, text=True, cwd=cwd
    )


def test_the_full_scale_plan_for_a_gpu_is_every_seed_run_unreduced():
    result = generate("--full", "--device", "cuda", "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    runs = [line for line in lines if "[tune]" not in line]
    assert runs and all(line.endswith("all training images, cuda") for line in runs)
    reports = {line.split()[1] for line in lines}
    assert reports == {"000", "001", "002", "003", "004"}
    assert any("Model C seed 0: cnn_large 30 epochs" in line for line in lines)
    assert any("resnet_skip seed 0: resnet_skip 70 epochs, batch 64" in line for line in lines)
    assert any("augs=cutmix seed 4: mobilenet_v3_small" in line for line in lines)
    assert any("[tune] 360 runs, one step at a time" in line for line in lines)
    assert any("EfficientNet-B2 (frozen) seed 2342: efficientnet_b2" in line for line in lines)


def test_the_reduced_plan_states_its_reductions_in_the_run_settings():
    result = generate("--dry-run", "--only", "000", "004")
    assert result.returncode == 0, result.stderr
    assert "Model C seed 0: cnn_large 15 epochs, batch 100, 5000 training images" in result.stdout
    assert "Model A seed 0: cnn_small 30 epochs, batch 100, all training images" in result.stdout
    assert "augs=cutmix seed 0: vgg_blocks" in result.stdout
    assert "Model G seed 1: cnn_small 5 epochs" in result.stdout  # its own second seed
    assert "augs=cutmix seed 4: vgg_blocks" in result.stdout  # five repeats, as the seed
    assert "Model A seed 2: cnn_small" in result.stdout  # n = 3 where a difference is read


@pytest.mark.parametrize(
    ("number", "planned", "waiting"),
    [("000", 16, None), ("001", 18, "against the seed's order"), ("003", 4, None)],
)
def test_a_report_renders_before_anything_is_trained(tmp_path, number, planned, waiting):
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "generate.py").write_text(GENERATE.read_text())
    result = subprocess.run(
        [sys.executable, str(reports / "generate.py"), "--only", number],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    text = (reports / f"report{number}.md").read_text()
    assert f"*No runs stored yet: `bench reproduce report{number} --profile cpu --train" in text
    assert f"0 of {planned} runs complete" in text  # report 000: Models A-G, G twice
    assert "not drawn: no complete run" in text
    targets = text[text.index("## Against the targets") : text.index("## Readings")]
    assert "| not trained |" in targets and "trains what is missing" in targets
    if waiting:  # prose quoting stored figures waits for them
        assert waiting not in text and "nan" not in targets


def test_prose_quotes_the_stored_figures_and_waits_for_missing_ones():
    from benchbench.analysis.targets import row_facts
    from benchbench.reproduction import quoted

    class Store:
        def history(self, run_id):
            return [{"train_acc": 0.5}, {"train_acc": 0.6 + run_id / 100}]

    def run(run_id, label, acc, status="complete"):
        summary = {"test_acc": acc}
        return SimpleNamespace(
            id=run_id, label=label, status=status, summary=summary, config={"seed": run_id % 2}
        )

    runs = [
        run(1, "Improved", 0.64),
        run(2, "Improved", 0.66),
        run(3, "No BN", 0.54),
        run(4, "No BN", 0.56),
        run(5, "Base", 0.70),
        run(6, "Base", 0.10, status="failed"),
    ]
    facts = row_facts(runs, Store(), baseline="Improved")
    note = "{test[No BN]:.3f} {delta[No BN]:+.3f} {sds[No BN]:.1f} {train[Improved]:.3f} {n[No BN]}"
    assert quoted(note, facts) == "0.550 -0.100 7.1 0.615 2"
    assert quoted("{test[Base]:.2f}", facts) == "0.70"  # the failed run is not counted
    assert quoted("{sds[Base]:.1f}", facts) is None  # one seed: no spread yet
    assert quoted("{test[No L2]:.3f}", facts) is None  # not trained yet
    assert quoted("{seed[No BN][1]:.2f} {seed[No BN][0]:.2f}", facts) == "0.54 0.56"
    assert quoted("{seed[Base][0]:.2f}", facts) is None  # seed 0 of Base failed


@pytest.mark.parametrize("number", ["000", "001", "002", "003", "004"])
def test_a_committed_report_renders_byte_identically_from_the_committed_store(number, tmp_path):
    # bench reproduce, as each report's header says, writes exactly what is committed
    import shutil

    source = GENERATE.parent
    reports = tmp_path / "reports"
    shutil.copytree(source, reports, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    # no --profile: the stored rows record the one they were swept at (cpu)
    command = f"reproduce report{number} --results reports/results --output reports"
    result = subprocess.run(
        [sys.executable, "-m", "benchbench", *command.split()],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    name = f"report{number}.md"
    assert f"`bench {command}`" in (source / name).read_text()
    assert (reports / name).read_text() == (source / name).read_text(), name
    drawn = sorted(p.name for p in (reports / "figures").glob(f"report{number}-*"))
    assert drawn == sorted(p.name for p in (source / "figures").glob(f"report{number}-*"))


@pytest.mark.parametrize("number", ["000", "001", "002", "003", "004"])
def test_each_suites_cpu_profile_plans_the_committed_runs(number):
    # `bench sweep reportNNN --profile cpu` trains exactly the runs the report rests on
    from dataclasses import replace

    from benchbench import api
    from benchbench.execution.suite import to_config

    suite = api.find_suite(f"report{number}", profile="cpu")
    groups = suite.profile.groups

    def anywhere(config):  # the id the run has wherever its data folder is
        return replace(config, data_dir=None).run_id

    planned = {
        anywhere(to_config(row, seed, [*suite.profile.sets, "device=cpu"]))
        for group, rows in suite.groups()
        if not groups or group in groups
        for row in rows
        for seed in suite.seeds_of(row)
    }
    store = api.open_store(GENERATE.parent / "results")
    stored = [store.get(m["run_id"]) for m in store.suite_members(f"report{number}")]
    committed = {
        anywhere(record.run_config)
        for record, m in zip(stored, store.suite_members(f"report{number}"), strict=True)
        if record is not None and m["group"] != "tune"
    }
    assert committed and committed <= planned
