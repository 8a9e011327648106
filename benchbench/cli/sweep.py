"""``bench sweep``: run a built-in suite or a suite file, resumably."""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from benchbench.cli.context import CheckpointEveryOption
from benchbench.cli.context import JsonOption
from benchbench.cli.context import KeepCheckpointOption
from benchbench.cli.context import ProfileOption
from benchbench.cli.context import ResultsOption
from benchbench.cli.context import ResumeAnywhereOption
from benchbench.cli.context import components
from benchbench.cli.context import err
from benchbench.cli.context import option
from benchbench.cli.context import optional
from benchbench.cli.context import out
from benchbench.cli.context import print_json
from benchbench.cli.context import resume_policy
from benchbench.cli.context import set_option
from benchbench.cli.context import setting_option
from benchbench.cli.context import stdout_to_stderr
from benchbench.cli.export import SinkOption
from benchbench.cli.export import sinks_attached
from benchbench.cli.progress import SweepProgress
from benchbench.execution.executors import live_epochs
from benchbench.execution.orchestrator import suite_key
from benchbench.plugins.builtin.executors import BUILTIN as BUILTIN_EXECUTORS
from benchbench.settings import parse_seeds


def sweep(
    suite: Annotated[
        str, typer.Argument(help="A built-in suite (`bench list suites`) or a suite TOML file.")
    ],
    set_: set_option(
        "Override any suite setting, e.g. --set epochs=5 or --set arch.bn=true."
    ) = None,
    data_dir: optional(Path, "Dataset folder for every run.") = None,
    smoke: option(
        bool,
        "Shrink everything: tiny fake data (digits stay "
        "digits), 1 epoch, two values per list, one seed.",
    ) = False,
    group: optional(
        list[str], "Run only this group (variants, base, tune, or a grid's name); repeatable."
    ) = None,
    seeds: optional(str, "Override the suite's seeds (and tuning repeats): 0,1,2 or 0-4.") = None,
    profile: ProfileOption = None,
    executor: option(
        str,
        "Where runs train: "
        + "; ".join(f"{name}: {about}" for name, (_, about) in BUILTIN_EXECUTORS.items())
        + "; or an executor a plugin adds.",
    ) = "local",
    workers: option(int, "Parallel workers (process, ray).") = 2,
    address: optional(str, "Ray cluster address.", show_default="a local Ray instance") = None,
    cpus_per_run: option(
        float, "ray, slurm: CPUs per run (its torch threads), on whichever node."
    ) = 1,
    gpus_per_run: option(
        float, "ray, slurm: GPUs per CUDA run; with Ray a fraction shares a card."
    ) = 1,
    slurm_partition: optional(str, "slurm: the partition to submit to.") = None,
    slurm_time: option(int, "slurm: time limit per run, in minutes.") = 60,
    slurm_cluster: optional(
        str,
        (
            "slurm: submitit's cluster: slurm, or local (the same path as local "
            "processes, to try a sweep without a scheduler)."
        ),
        show_default="slurm where sbatch is found",
    ) = None,
    retries: option(
        int,
        (
            "process, ray: run again after a lost worker or node (never after the run's "
            "own error), at most N times; the attempts are stored with the run."
        ),
    ) = 0,
    scale: setting_option("scale", panel=False) = 1.0,
    device: setting_option("device", panel=False) = "auto",
    force: option(bool, "Re-run runs that are already stored.") = False,
    sink: SinkOption = None,
    checkpoint_every: CheckpointEveryOption = None,
    keep_checkpoint: KeepCheckpointOption = False,
    resume_anywhere: ResumeAnywhereOption = False,
    dry_run: option(bool, "List the runs the sweep would train (checked, not trained).") = False,
    results: ResultsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run a whole table of runs; re-running runs only what is missing."""
    from benchbench import api

    parsed = api.find_suite(suite, parse_seeds(seeds) if seeds is not None else None, profile)
    # what is run: the same for a dry run's plan and the sweep
    runs = {
        "overrides": [*(set_ or []), *([f"scale={scale}"] if scale != 1 else [])],
        "data_dir": data_dir,
        "smoke": smoke,
        "groups": group or [],
        "device": device,
    }
    if dry_run:
        return _print_plan(parsed, *api.plan(parsed, **runs), as_json)
    store = api.open_store(results)
    policy = resume_policy(checkpoint_every, keep_checkpoint, resume_anywhere)
    started = time.perf_counter()
    progress = SweepProgress(err, parsed.name, live_epochs(executor))
    try:
        with stdout_to_stderr(as_json), progress, sinks_attached(sink):
            tally = api.sweep(
                parsed,
                **runs,
                results=store.root,
                executor=executor,
                workers=workers,
                address=address,
                force=force,
                policy=policy,
                components=components(),
                events=progress,
                **(
                    {"cpus_per_run": cpus_per_run, "gpus_per_run": gpus_per_run}
                    if executor in ("ray", "slurm")
                    else {}
                ),
                **(
                    {"partition": slurm_partition, "time_minutes": slurm_time}
                    | {"cluster": slurm_cluster}
                    if executor == "slurm"
                    else {}
                ),
                **({"retries": retries} if executor != "local" else {}),
            )
    except KeyboardInterrupt as exc:
        counts = progress.counts
        err.print(
            Text(
                f"interrupted: {counts['done']} run(s) finished and stored, "
                f"{counts['skipped']} already stored, {counts['failed']} failed; the run in "
                f"progress is stored as interrupted with its resume point. Run the same `bench "
                f"sweep` command again to resume: what is stored is skipped, the interrupted "
                f"run continues where it stopped. Results: {store.root}"
            )
        )
        raise typer.Exit(getattr(exc, "exit_code", 130)) from None
    seconds = time.perf_counter() - started
    key = suite_key(parsed, smoke)
    summary = {
        "suite": key,
        "seconds": round(seconds, 2),
        "completed": tally.completed,
        "skipped": tally.skipped,
        "diverged": tally.diverged,
        "failed": [{"run": run, "error": error} for run, error in tally.failed],
        "retried": [{"run": run, "attempts": n} for run, n in tally.retried],
        "best": tally.best,
        "results": str(store.root),
    }
    if as_json:
        print_json(summary)
    else:
        err.print(
            Text(
                f"{key}: {tally.completed} run, {tally.skipped} skipped (already "
                f"stored), {tally.diverged} diverged, {len(tally.failed)} failed in "
                f"{seconds:.1f}s"
            )
        )
        for name, best in tally.best.items():
            err.print(Text(f"best for {name}: " + ", ".join(f"{k}={v}" for k, v in best.items())))
        for run, attempts in tally.retried:
            err.print(Text(f"retried: {run}: {attempts} attempts (a worker or node was lost)"))
        for run, error in tally.failed:
            err.print(Text(f"failed: {run}: {error}", "red"))
        out.print(
            Text(
                f"bench report --suite {shlex.quote(suite)}"
                + (f" --profile {shlex.quote(profile)}" if profile else "")
                + (f" --results {shlex.quote(str(store.root))}" if results else "")
                + (" --smoke" if smoke else "")
                + " renders its tables"
            ),
            style="dim",
        )
    if tally.failed:
        raise typer.Exit(1)


def _print_plan(suite, planned: list, tuned: int, as_json: bool) -> None:
    """The runs of ``bench sweep --dry-run``, one line (or JSON object) each."""
    rows = [
        {
            "group": group,
            "label": config.label,
            "seed": config.seed,
            "run_id": config.run_id,
            "arch": config.arch,
            "epochs": config.scaled().epochs,
            "batch_size": config.batch_size,
            "training_images": config.subset or "all",
            "device": config.device,
        }
        for group, config in planned
    ]
    if as_json:
        return print_json({"suite": suite.name, "runs": rows, "tuning_runs": tuned})
    for r in rows:
        out.print(
            Text(
                f"[{r['group']}] {r['label']} seed {r['seed']}: {r['arch']} {r['epochs']} "
                f"epochs, batch {r['batch_size']}, {r['training_images']} training images, "
                f"{r['device']}"
            )
        )
    if tuned:
        out.print(
            Text(
                f"[tune] {tuned} runs, one step at a time (each step's runs wait for "
                "the step before)"
            )
        )
    err.print(Text(f"{suite.name}: {len(rows) + tuned} runs planned, none trained"))
