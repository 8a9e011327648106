"""TPE with median pruning against one-at-a-time tuning, on report 004's custom CNN.

One-at-a-time is read from the committed store (report 004's tuning: lr, batch size,
dropout, L2 in turn, five repeats per value, each step keeping the best mean): the epochs
it trained, its best validation accuracy, and the epochs it had spent when it first
reached that. The study (`bench tune`) searches the same four settings over the same
ranges, on the same 10,000 images, with one-at-a-time's epochs as its budget; it prints
the study's best validation accuracy and the epochs it had spent when a trial first
reached one-at-a-time's best (or that it never did).

    python benchmarks/tune_vs_one_at_a_time.py --results DIR \
        --data-dir ../shared/datasets/cifar10-jpg

Resumable: run the same command again after a stop, and the study continues to its
budget (finished trials are never run twice). `--budget N` takes a smaller epoch budget
(a trial of the pipeline, say, with `--set subset=500`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from benchbench import api
from benchbench.settings import SETTINGS

HERE = Path(__file__).resolve().parent
COMMITTED = HERE.parent / "reports" / "results"
TUNED = ("lr", "batch_size", "dropout", "weight_decay")


def one_at_a_time(results: Path) -> dict:
    """Epochs, best validation accuracy and epochs to that best of report 004's tuning,
    in the order it trained, with the run behind the best."""
    store = api.open_store(results)
    spent, best, at, run = 0, -1.0, 0, None
    for member in store.suite_members("report004"):
        record = store.get(member["run_id"])
        if member["group"] != "tune" or record is None or record.status != "complete":
            continue
        spent += record.summary["epochs_run"]
        if record.summary["best_val_acc"] > best:
            best, at, run = record.summary["best_val_acc"], spent, record
    return {"epochs": spent, "best_val_acc": best, "epochs_to_best": at, "run": run}


def study_file(run, budget: int, folder: Path) -> Path:
    """The study: one-at-a-time's best run's settings as its base, the four tuned
    settings as its space (the suite's ranges), ``budget`` epochs."""
    config = run.run_config.to_dict()
    keep = {
        k: v
        for k, v in config.items()
        if k in SETTINGS
        and k not in (*TUNED, "seed", "name", "data_dir", "device", "smoke")
        and v is not None
        and v != []
    }
    base = "\n".join(f"{k} = {json.dumps(v)}" for k, v in sorted(keep.items()))
    options = "\n".join(
        f'"arch.{k}" = {json.dumps(v)}' for k, v in run.config["arch_options"].items()
    )
    path = folder / "tune004.toml"
    path.write_text(
        f"""description = "report 004's custom CNN: TPE with median pruning"
[base]
{base}
{options}

[tune]
metric = "best_val_acc"
direction = "maximize"
sampler = "tpe"
pruner = "median"
seed = 0
epochs_budget = {budget}

[tune.space]
lr = {{low = 0.01, high = 0.5, log = true}}
batch_size = [64, 96, 128]
dropout = {{low = 0.0, high = 0.8}}
weight_decay = {{low = 0.0, high = 1.0}}
"""
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, required=True, help="where the study trains")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--committed", type=Path, default=COMMITTED)
    parser.add_argument("--budget", type=int, help="epochs (default: one-at-a-time's)")
    parser.add_argument("--set", action="append", default=[], dest="sets")
    args = parser.parse_args()
    oat = one_at_a_time(args.committed)
    budget = args.budget or oat["epochs"]
    args.results.mkdir(parents=True, exist_ok=True)
    study = study_file(oat["run"], budget, args.results)
    command = ["tune", str(study), "--results", str(args.results), "--json"]
    command += [f"--set=data_dir={args.data_dir.resolve()}", *(f"--set={s}" for s in args.sets)]
    done = subprocess.run(
        [sys.executable, "-m", "benchbench", *command], capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(done.stderr)
    trials = sorted(
        api.stored_runs(args.results, where=["study=tune004"]),
        key=lambda r: r.environment.get("trial", 0),
    )
    spent, reached = 0, None
    for record in trials:
        spent += record.summary.get("epochs_run") or 0
        if reached is None and (record.summary.get("best_val_acc") or 0) >= oat["best_val_acc"]:
            reached = spent
    best = max((r.summary.get("best_val_acc") or 0) for r in trials)
    print(
        f"one-at-a-time: {oat['epochs']} epochs, best validation accuracy "
        f"{oat['best_val_acc']:.4f} (first reached after {oat['epochs_to_best']} epochs)\n"
        f"TPE + median pruning: {spent} epochs over {len(trials)} trials, best "
        f"{best:.4f}; one-at-a-time's best "
        + (f"reached after {reached} epochs" if reached else "never reached")
    )


if __name__ == "__main__":
    main()
