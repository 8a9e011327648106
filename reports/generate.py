"""Reproduce the five seed reports: `bench reproduce` for each, at this CPU's scale.

    python reports/generate.py                  # render from the committed results (no training)
    python reports/generate.py --train          # train every missing run first, then render
    python reports/generate.py --train --only 001 003
    python reports/generate.py --full --device cuda --results DIR   # the seeds' full scale
    python reports/generate.py --publish-from DIR   # copy finished runs into reports/results

Each report is its suite's (``benchbench/suites/reportNNN.toml`` with its prose beside it,
``reportNNN.md``) as `bench reproduce reportNNN --results reports/results
--output reports` renders it. This script adds only what is particular to this folder:
the CIFAR-10 image folder beside the project, report 002's stand-in built from it, and
publishing finished runs (weights only where a figure reloads them) for committing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DEFAULT_DATA = HERE.parent.parent / "shared" / "datasets" / "cifar10-jpg"
NUMBERS = ("000", "001", "002", "003", "004")
PROFILE = "cpu"  # each report suite's [profiles.cpu]: what this 2-core CPU trains of it
STANDIN_CLASSES = ("automobile", "ship", "truck")  # report 002's stand-in for its fruit
# Runs whose weights are committed: those a figure reloads (report 001's improved model,
# for Grad-CAM and OOD detection; 400 kB). (report, row label)
KEEP_WEIGHTS = {("001", "Improved")}


def suite(number: str, full: bool = False):
    from benchbench import api

    return api.find_suite(f"report{number}", profile=None if full else PROFILE)


def fruit_standin(cifar: Path) -> Path:
    """Report 002's stand-in folder, built once from the CIFAR-10 folder: three classes,
    1,380 training images each at 32x32 plus a few outliers at other sizes (crops and
    enlargements, as the fruit folder's odd sizes), and the classes' CIFAR-10 test images."""
    from PIL import Image

    from benchbench import api

    out = api.cache_dir() / "report002-standin"
    if (out / "done").exists():
        return out
    sizes = [(45, 45), (40, 28), (28, 40), (64, 64), (37, 30), (25, 25)]
    for split in ("train", "test"):
        for name in STANDIN_CLASSES:
            target = out / split / name
            target.mkdir(parents=True, exist_ok=True)
            files = sorted((cifar / split / name).iterdir())
            for f in files[:1380] if split == "train" else files:
                (target / f.name).write_bytes(f.read_bytes())
            if split == "train":
                for i, f in enumerate(files[1380 : 1380 + 3 * len(sizes)]):
                    size = sizes[i % len(sizes)]
                    Image.open(f).convert("RGB").resize(size).save(target / f"odd-{f.name}")
    (out / "done").write_text("built from " + str(cifar))
    return out


def publish(source: Path, target: Path = RESULTS) -> None:
    """Copy the reports' finished runs from the store ``source`` (where they trained,
    perhaps still training) into ``target``, as `bench runs --copy-to` does, without
    weights but KEEP_WEIGHTS'; runs no report uses leave ``target``."""
    from benchbench import api

    trained = api.open_store(source)
    keep, weights = {}, set()
    for number in NUMBERS:
        for member in trained.suite_members(f"report{number}"):
            record = trained.get(member["run_id"])
            if record and record.status in ("complete", "diverged", "failed"):  # finished
                keep[record.id] = record
                if (number, member["label"] or record.label) in KEEP_WEIGHTS:
                    weights.add(record.id)
    stale = [r for r in api.open_store(target).runs(statuses=None, smoke=None) if r.id not in keep]
    api.delete_runs(stale, target)
    api.copy_runs(list(keep.values()), target, source, weights)
    size = sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
    print(f"published {len(keep)} runs ({size / 1e6:.1f} MB) into {target}", flush=True)


def dry_run(number: str, full: bool, device: str, data: Path) -> None:
    """Print the runs report ``number`` would train on ``device`` from the folder ``data``
    (`bench sweep --dry-run`; nothing is read)."""
    from benchbench import api

    planned, tuned = api.plan(suite(number, full), device=device, data_dir=data)
    for group, c in planned:
        print(
            f"report {number} [{group}] {c.label} seed {c.seed}: {c.arch} {c.scaled().epochs} "
            f"epochs, batch {c.batch_size}, {c.subset or 'all'} training images, {c.device}"
        )
    if tuned:
        print(f"report {number} [tune] {tuned} runs, one step at a time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--only", nargs="*", default=list(NUMBERS))
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--train", action="store_true", help="train missing runs first")
    parser.add_argument("--full", action="store_true", help="the seeds' scale (a GPU's work)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dry-run", action="store_true", help="list the runs, train none")
    parser.add_argument("--standin", action="store_true", help="build 002's data, print it")
    parser.add_argument("--publish-from", type=Path, metavar="DIR", help="publish DIR's runs")
    args = parser.parse_args()
    if args.standin:
        return print(fruit_standin(args.data_dir.resolve()))
    if args.publish_from:
        publish(args.publish_from.resolve(), args.results)
    from contextlib import nullcontext

    from rich.console import Console

    from benchbench.cli.progress import SweepProgress
    from benchbench.reproduction import reproduce

    for number in args.only:
        if args.dry_run:
            dry_run(number, args.full, args.device, args.data_dir)
            continue
        train = args.train or args.full
        data = args.data_dir.resolve()
        progress = train and SweepProgress(Console(stderr=True), f"report{number}", True)
        with progress or nullcontext():
            path = reproduce(
                suite(number, args.full),
                results=args.results,
                output=HERE,
                train=train,
                data_dir=fruit_standin(data) if train and number == "002" else data,
                device=args.device,
                events=progress or None,
            )
        print(f"wrote {path}", flush=True)


if __name__ == "__main__":
    main()
