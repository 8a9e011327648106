"""Reproduce the five seed reports: train what is missing, then render ``reportNNN.md``.

    python reports/generate.py                  # render from the committed results (no training)
    python reports/generate.py --train          # train every missing run first, then render
    python reports/generate.py --train --only 001 003
    python reports/generate.py --full --device cuda --results DIR   # the seeds' full scale

The results behind the reports are kept in ``reports/results`` (a benchbench results store:
``bench show RUN --results reports/results`` shows any number; model weights are not
committed). ``--train`` resumes from it: runs already stored are skipped. Each report
says at what scale its runs were trained (``PLANS`` below: this 2-core CPU cannot train
every recipe at the seeds' scale in a sitting); ``--full`` drops every reduction.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DEFAULT_DATA = HERE.parent.parent / "shared" / "datasets" / "cifar10-jpg"


@dataclass
class Plan:
    """How one report is reproduced here: the suite's groups, settings on every run, and
    changes to single variants, all of them recorded in each run's stored config."""

    scale: str  # what the reduction means, for the reader
    sets: list[str] = field(default_factory=list)  # `--set` on every run
    variants: dict[str, dict] = field(default_factory=dict)  # variant name -> settings
    groups: list[str] = field(default_factory=list)  # only these (default: all)
    seeds: list[int] | None = None  # replaces the suite's seeds and tuning repeats
    data: str = "cifar10"  # or "fruit stand-in" (report 002)


# Every run: bf16 and channels-last where this CPU runs them faster (recorded per run).
EVERY_RUN = ["precision=auto"]

PLANS = {
    "000": Plan(
        "full CIFAR-10 (45,000 training / 5,000 validation / 10,000 test images) and the "
        "report's epochs for every small-CNN model; the large CNN (92 M parameters, about "
        "20 minutes an epoch here) on 5,000 training images at half its epochs",
        variants={
            "Model C": {"subset": 5000, "scale": 0.5},
            "Model E": {"subset": 5000, "scale": 0.5},
        },
    ),
    "001": Plan(
        "full CIFAR-10 (45,000 training / 5,000 validation / 10,000 test images) and the "
        "report's epochs"
    ),
    "002": Plan(
        "a 3-class stand-in for the fruit folder (not on this machine): 1,380 CIFAR-10 "
        "images per class at 32x32 plus mixed-size outliers that the size filter drops, "
        "expanded 8x; CIFAR-10's test images of those classes. The transfer-learning rows "
        "need pretrained ImageNet weights, which cannot be downloaded here",
        groups=["batch size", "learning rate", "dropout", "variants"],
        sets=["dataset.keep_size=32x32"],
        variants={
            name: {"skip": True}
            for name in ("VGG16 (frozen)", "ResNet50 (frozen)", "EfficientNet-B2 (fine-tuned)")
        },
        data="fruit stand-in",
    ),
    "003": Plan(
        "full CIFAR-10 (50,000 training / 10,000 test images, as the report trained) and "
        "the report's 70 epochs"
    ),
    "004": Plan(
        "the custom CNN only (the other three models need pretrained weights, or, "
        "randomly initialised at 128x128, about 10x its time), 2 repeats instead of 5, "
        "10,000 training images (20% validation held out of the full set, scaled with it), "
        "the full test set; the augmentation experiment on the custom CNN",
        groups=["tune", "augmentation"],
        seeds=[0, 1],
        sets=["subset=10000"],
        variants={
            name: {"skip": True}
            for name in (
                "EfficientNet-B0 (pretrained, frozen)",
                "MobileNetV3-small (pretrained, frozen)",
                "MobileNetV3-small (random init)",
            )
        },
    ),
}

# The seeds' own scale, for `--full` on a GPU: nothing reduced, every variant run.
FULL = {number: Plan("the seed report's full scale") for number in PLANS}


def reproduction_suite(number: str, plan: Plan):
    """The built-in suite of report ``number`` as ``plan`` runs it."""
    from benchbench import api

    suite = api.find_suite(f"report{number}", plan.seeds)
    variants = []
    for variant in suite.variants:
        changes = plan.variants.get(variant.get("name"), {})
        if not changes.get("skip"):
            variants.append({**variant, **changes})
    grids = suite.grids
    if number == "004":  # the augmentation grid trains the custom CNN here (see PLANS)
        grids = [
            {k: v for k, v in g.items() if k not in ("arch", "arch.head", "arch.resize")}
            | {"arch": "vgg_blocks"}
            if g.get("name") == "augmentation"
            else g
            for g in grids
        ]
    return replace(suite, variants=variants, grids=grids)


def train(number: str, plan: Plan, data: Path, results: Path, device: str) -> None:
    """Run every missing run of report ``number`` under ``plan`` into ``results``."""
    from rich.console import Console

    from benchbench import api
    from benchbench.cli.progress import SweepProgress

    suite = reproduction_suite(number, plan)
    data_dir = data
    if plan.data == "fruit stand-in":
        data_dir = fruit_standin(data)
    overrides = [*EVERY_RUN, "dataset=imagefolder", *plan.sets]
    print(f"report {number}: training what is missing into {results}", flush=True)
    with SweepProgress(Console(stderr=True), suite.name, show_epochs=True) as progress:
        tally = api.sweep(
            suite,
            results=results,
            overrides=overrides,
            data_dir=data_dir,
            groups=plan.groups,
            device=device,
            events=progress,
        )
    print(
        f"report {number}: {tally.completed} trained, {tally.skipped} already stored, "
        f"{len(tally.failed)} failed",
        flush=True,
    )


def fruit_standin(cifar: Path) -> Path:
    """Report 002's stand-in folder, built once from the CIFAR-10 folder: three classes,
    1,380 training images each at 32x32 plus a few outliers at other sizes (crops and
    enlargements, as the fruit folder's odd sizes), and the classes' CIFAR-10 test images."""
    from PIL import Image

    root = Path(os.environ.get("BENCH_CACHE_DIR") or Path.home() / ".cache" / "benchbench")
    out = root / "report002-standin"
    if (out / "done").exists():
        return out
    sizes = [(45, 45), (40, 28), (28, 40), (64, 64), (37, 30), (25, 25)]
    for split in ("train", "test"):
        for name in STANDIN_CLASSES:
            target = out / split / name
            target.mkdir(parents=True, exist_ok=True)
            files = sorted((cifar / split / name).iterdir())
            keep = files[:1380] if split == "train" else files
            for f in keep:
                (target / f.name).write_bytes(f.read_bytes())
            if split == "train":
                for i, f in enumerate(files[1380 : 1380 + 3 * len(sizes)]):
                    size = sizes[i % len(sizes)]
                    Image.open(f).convert("RGB").resize(size).save(target / f"odd-{f.name}")
    (out / "done").write_text("built from " + str(cifar))
    return out


STANDIN_CLASSES = ("automobile", "ship", "truck")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--only", nargs="*", default=sorted(PLANS))
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--train", action="store_true", help="train missing runs first")
    parser.add_argument("--full", action="store_true", help="the seeds' scale (a GPU's work)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dry-run", action="store_true", help="list the runs, train none")
    args = parser.parse_args()
    plans = FULL if args.full else PLANS
    for number in args.only:
        if args.dry_run:
            dry_run(number, plans[number])
            continue
        if args.train or args.full:
            train(number, plans[number], args.data_dir.resolve(), args.results, args.device)
        write_report(number, plans[number], args.results)


def dry_run(number: str, plan: Plan) -> None:
    """Print the runs ``plan`` would train for report ``number``, without data."""
    from benchbench.execution.suite import to_config

    suite = reproduction_suite(number, plan)
    overrides = [*EVERY_RUN, *plan.sets]
    rows = [*suite.variants, *[g for g in suite.grids]] or [suite.base]
    for row in rows:
        settings = {**suite.base, **{k: v for k, v in row.items() if k != "name"}}
        print(f"report {number}: {row.get('name', 'base')}: {settings}")
    del to_config, overrides


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
