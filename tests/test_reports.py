"""reports/generate.py: the reproductions' driver plans the seeds' full scale for a GPU
machine, and renders from whatever results are stored."""

import subprocess
import sys
from pathlib import Path

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
    assert any("[tune] 4 model(s) x 90 runs" in line for line in lines)
    assert any("EfficientNet-B2 (frozen) seed 2342: efficientnet_b2" in line for line in lines)


def test_the_reduced_plan_states_its_reductions_in_the_run_settings():
    result = generate("--dry-run", "--only", "000", "004")
    assert result.returncode == 0, result.stderr
    assert "Model C seed 0: cnn_large 15 epochs, batch 100, 5000 training images" in result.stdout
    assert "Model A seed 0: cnn_small 30 epochs, batch 100, all training images" in result.stdout
    assert "augs=cutmix seed 0: vgg_blocks" in result.stdout
    assert "seed 1:" not in result.stdout  # one repeat in 004, not five


@pytest.mark.parametrize(("number", "planned"), [("000", 7), ("003", 0)])
def test_a_report_renders_before_anything_is_trained(tmp_path, number, planned):
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
    assert "*No runs stored yet: `python reports/generate.py --train --only" in text
    assert f"0 of {planned} runs complete" in text  # Models A-G of report 000's Table 1
    assert "not drawn: no complete run" in text
    targets = text[text.index("## Against the targets") : text.index("## Readings")]
    assert "| not trained |" in targets and "trains what is missing" in targets
