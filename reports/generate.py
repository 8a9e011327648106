"""Regenerate the reproduction reports in this folder. Never edit the reports by hand.

    python reports/generate.py [--data-dir ../shared/datasets/cifar10-jpg] [--only 000 001]

For each seed report it runs the built-in suite at the reduced scale below (these
machines have no GPU), then writes ``reportNNN.md`` with the exact commands, the
hardware, the scale, the suite's tables (the seed report's own numbers beside ours where
the suite records them) and figures of the best runs. Results are kept under
``$BENCH_REPORT_RESULTS`` (default ``~/.cache/benchbench/report-results``), so a second
generation only renders.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "datasets" / "cifar10-jpg"

# Reduced scale per report: extra `bench sweep` arguments, and what the scale means.
SCALES = {
    "000": (
        ["--set", "subset=1000", "--set", "test_subset=1000", "--set", "epochs=2"],
        "1,000 training images, 1,000 test images, 2 epochs per model (the report: "
        "50,000 / 10,000, 20-40 epochs)",
    ),
    "001": (
        ["--set", "subset=5000", "--set", "test_subset=2000", "--set", "epochs=3"],
        "5,000 training images, 2,000 test images, 3 epochs (the report: 10-20)",
    ),
    "002": (
        [
            "--group",
            "batch size",
            "--group",
            "learning rate",
            "--group",
            "dropout",
            "--set",
            "dataset.keep_size=32x32",
            "--set",
            "subset=300",
            "--set",
            "test_subset=1000",
            "--set",
            "epochs=2",
        ],
        "CIFAR-10 stands in for the fruit folder, which is not on this machine: 300 "
        "originals expanded 8x, 1,000 test images, 2 epochs; the transfer-learning rows "
        "need pretrained ImageNet weights, which cannot be downloaded here, so only the "
        "batch-size, learning-rate and dropout tables are run",
    ),
    "003": (
        ["--set", "subset=5000", "--set", "test_subset=2000", "--set", "epochs=3"],
        "5,000 training images, 2,000 test images, 3 epochs (the report: 70)",
    ),
    "004": (
        [
            "--group",
            "augmentation",
            "--seeds",
            "0-1",
            "--set",
            "subset=1000",
            "--set",
            "test_subset=1000",
            "--set",
            "epochs=3",
            "--set",
            "arch.resize=32",
        ],
        "the augmentation experiment only (tuning four models 5 times over 18 values is "
        "360 runs), 2 repeats, 1,000 training images, 1,000 test images, at most 3 "
        "epochs, MobileNetV3-small at 32x32 instead of 128x128. At this scale the "
        "randomly initialised MobileNet does not leave chance level (0.1): the tables "
        "show the pipeline working (offline copies, repeats, ensembles), not the "
        "recipe's accuracy",
    ),
}


def bench(*args: str) -> list[str]:
    return [sys.executable, "-m", "benchbench", *args]


def run(command: list[str]) -> None:
    shown = shlex.join(["bench", *command[3:]])
    print(f"$ {shown}", flush=True)
    subprocess.run(command, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--only", nargs="*", default=sorted(SCALES))
    args = parser.parse_args()
    results = Path(
        os.environ.get("BENCH_REPORT_RESULTS")
        or Path.home() / ".cache" / "benchbench" / "report-results"
    )
    data = args.data_dir.resolve()
    for number in args.only:
        extra, scale = SCALES[number]
        suite = f"report{number}"
        sweep = [
            "sweep",
            suite,
            "--set",
            "dataset=imagefolder",
            "--data-dir",
            str(data),
            "--device",
            "cpu",
            "--results",
            str(results),
            *extra,
        ]
        started = time.perf_counter()
        run(bench(*sweep))
        seconds = time.perf_counter() - started
        write_report(number, suite, sweep, scale, results, seconds)


def _portable(arg: str) -> str:
    """Paths as a reader can type them: relative to the repository, or under ~."""
    path = Path(arg)
    if not path.is_absolute():
        return arg
    if path.is_relative_to(HERE.parent.parent):
        return os.path.relpath(path, HERE.parent)
    if path.is_relative_to(Path.home()):
        return "~/" + str(path.relative_to(Path.home()))
    return arg


def write_report(
    number: str, suite_name: str, sweep: list[str], scale: str, results: Path, seconds: float
) -> None:
    from benchbench import api
    from benchbench.render import figures as plots
    from benchbench.results.query import suite_runs
    from benchbench.training.metrics import commission_omission

    suite = api.find_suite(suite_name)
    store = api.open_store(results)
    runs = suite_runs(store, api.suite_key(suite))
    done = [r for r in runs if r.status == "complete"]
    environment = done[0].environment if done else {}
    tables = api.suite_report(suite, results=results, fmt="markdown")
    figures_dir = HERE / "figures"
    figure_lines = []
    if done:
        best = max(done, key=lambda r: r.summary["test_acc"])
        matrix, classes = store.confusion(best.id)
        commission, omission = commission_omission(matrix)
        for kind, fig in (
            (
                "curves",
                plots.curves(store.history(best.id), f"{best.label}: loss and accuracy per epoch"),
            ),
            (
                "confusion",
                plots.confusion(matrix, classes, f"{best.label}: normalized confusion matrix"),
            ),
            (
                "errors",
                plots.class_errors(
                    classes, commission, omission, f"{best.label}: commission and omission errors"
                ),
            ),
        ):
            path = figures_dir / f"{suite.name}-{kind}"
            plots.save(fig, path, ("png",))
            figure_lines.append(f"![{kind}](figures/{path.name}.png)")
        figure_lines.insert(
            0,
            f"Figures of the best run by test accuracy: **{best.label}** "
            f"(run `{best.id}`; `bench show {best.id}` for its details).\n",
        )
    show = shlex.join(["bench", *[_portable(a) for a in sweep]])
    text = f"""# Reproduction of report {number}

{suite.description}.

*Generated by `python reports/generate.py --only {number}`; do not edit by hand.*

**These are short CPU runs, not the report's full training.** Scale: {scale}. The
numbers measure that benchbench runs the report's recipes end to end; they are not
expected to reach the report's accuracies (shown beside ours in the "Report" column where
the suite records them).

## Commands

```bash
{show}
bench report --suite {suite.name} --results {_portable(str(results))}
```

The sweep took {seconds:.0f} s here ({len(done)} runs complete, {len(runs) - len(done)} not).

## Hardware and software

| | |
|:--|:--|
| device | {environment.get("device", "?")} ({environment.get("device_name", "?")}) |
| threads | {environment.get("threads", "?")} |
| torch | {environment.get("torch", "?")} |
| benchbench | {environment.get("benchbench", "?")} |
| Python | {environment.get("python", platform.python_version())} |
| platform | {environment.get("platform", platform.platform())} |

## Tables

{tables}
## Figures

{chr(10).join(figure_lines) or "No complete runs."}
"""
    (HERE / f"report{number}.md").write_text(text)
    print(f"wrote {HERE / f'report{number}.md'}", flush=True)


if __name__ == "__main__":
    main()
