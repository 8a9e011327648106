"""The LaTeX benchbench writes compiles, as a paper's author compiles it: pdflatex (arXiv's
and most journals' engine) and lualatex, with only the packages its first line names.

Every table kind (runs with the seed's numbers and Δ columns, tuning, ensembles, OOD) and
hostile run names (Δ, ≥, accents, CJK, emoji, ``\\input``, a leading ``[``). Skipped, with
the reason, where no TeX is installed (CI installs a minimal TeX Live from Debian's
packages); the five built-in suites' smoke reports in the slow session.
"""

import re
import shutil
import subprocess

import pytest

ENGINES = [e for e in ("pdflatex", "lualatex") if shutil.which(e)]
pytestmark = pytest.mark.skipif(
    not ENGINES, reason="no TeX installation (pdflatex, lualatex) to compile the LaTeX output"
)

HOSTILE_NAMES = [
    "Café ≥ 0.9",
    "Δ acc ± 1 — ok…",
    "中文 😀",
    "\\input{/etc/passwd}",
    "\\write18{touch pwned}",
    "[40pt]Evil",
    "[bold red]x & 100% $y$ #z_~^",
    "naïve Ærø straße",
]

TUNED_SUITE = """
description = "a tuned suite with every table kind: runs, tuning, ensemble"
seeds = [0]

[base]
dataset = "digits"
arch = "mlp"
epochs = 1

[[grids]]
name = "Δ ≥ batch [x]"
batch_size = [32, 64]

[tune]
order = ["lr"]
repeats = 1
metric = "best_val_acc"
lr = [0.01, 0.001]

[[tables]]
title = "Runs: Δ and ≥ in a title"
group = "Δ ≥ batch [x]"
metrics = ["test_acc"]

[tables.reference]
test_acc = { "batch_size=32" = 0.9 }

[[tables]]
title = "Tuning ± values"
group = "tune"
kind = "tuning"
metrics = ["best_val_acc", "test_acc"]

[[tables]]
title = "Ensembles — best k%"
group = "all"
kind = "ensemble"
percents = [50, 100]
"""


def compile_all(tex, folder):
    """Compile ``tex`` with every engine; assert each succeeds and nothing ran."""
    (folder / "t.tex").write_text(tex)
    for engine in ENGINES:
        done = subprocess.run(
            [engine, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "t.tex"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=120,  # a hang is a failure, not a wait (TeX on a bad input can loop)
        )
        errors = re.findall(r"^!.*$", done.stdout, re.M)
        assert done.returncode == 0, f"{engine}: {errors or done.stdout[-2000:]}"
    assert not (folder / "pwned").exists()


def test_hostile_names_compile_and_run_nothing(bench, tmp_path):
    for seed, name in enumerate(HOSTILE_NAMES):
        done = bench("run", "--arch", "mlp", "--epochs", "1", "--seed", seed, "--name", name)
        assert done.code == 0, done.err
    text = bench("report", "--format", "latex").out
    assert text.startswith("% needs: booktabs\n")
    assert "U+4E2D" in text.splitlines()[1] and "U+1F600" in text.splitlines()[1]
    assert "{}[40pt]Evil" in text and "\\textbackslash{}input" in text
    standalone = bench("report", "--format", "latex", "--standalone")
    assert standalone.out.startswith("\\documentclass{article}")
    compile_all(standalone.out, tmp_path)
    (tmp_path / "t.pdf").unlink()
    body = "\\documentclass{article}\\usepackage{booktabs}\\begin{document}\n"
    compile_all(body + text + "\\end{document}\n", tmp_path)  # with only what it names


def test_every_table_kind_compiles(bench, tmp_path):
    suite = tmp_path / "kinds.toml"
    suite.write_text(TUNED_SUITE)
    assert bench("sweep", suite).code == 0
    latex = bench("report", "--suite", suite, "--format", "latex", "--standalone")
    assert latex.code == 0, latex.err
    assert "\\Delta" in latex.out and "\\geq" in latex.out and "Δ" not in latex.out
    compile_all(latex.out, tmp_path)


@pytest.mark.parametrize(
    "suite", ["report001", "report003", *[pytest.param(s, marks=pytest.mark.slow) for s in (
        "report000", "report002", "report004")]]
)  # fmt: skip
def test_a_built_in_suites_smoke_report_compiles(bench, tmp_path, suite):
    assert bench("sweep", suite, "--smoke").code == 0
    latex = bench("report", "--suite", suite, "--smoke", "--format", "latex", "--standalone")
    assert latex.code == 0, latex.err
    compile_all(latex.out, tmp_path)
