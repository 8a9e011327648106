"""``bench tune``: a budgeted hyper-parameter study, every trial a stored run."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from benchbench.cli.context import CheckpointEveryOption
from benchbench.cli.context import JsonOption
from benchbench.cli.context import ResultsOption
from benchbench.cli.context import components
from benchbench.cli.context import err
from benchbench.cli.context import option
from benchbench.cli.context import optional
from benchbench.cli.context import out
from benchbench.cli.context import print_json
from benchbench.cli.context import resume_policy
from benchbench.cli.context import set_option
from benchbench.cli.context import stdout_to_stderr


def tune(
    suite: Annotated[
        str,
        typer.Argument(
            help="A built-in suite or a suite TOML file with \\[tune] and \\[tune.space]."
        ),
    ],
    study: optional(str, "The study's name.", show_default="the suite's name") = None,
    trials: optional(
        int, "Finished trials to reach (the budget).", show_default="[tune] trials"
    ) = None,
    time_budget: optional(str, "Training time the trials may spend in all: 90s, 30m, 2h.") = None,
    jobs: option(int, "Workers sharing the study.", "--jobs", "-j") = 1,
    executor: option(
        str,
        "Where the workers run: process (this machine) or ray (Ray tasks on a "
        "local instance, or on the cluster at --address; its nodes must see the "
        "results folder).",
    ) = "process",
    address: optional(
        str, "ray: the cluster's address.", show_default="a local Ray instance"
    ) = None,
    cpus_per_worker: option(float, "ray: CPUs per worker (its torch threads).") = 1,
    set_: set_option("Override a base setting of every trial, e.g. --set epochs=5.") = None,
    smoke: option(bool, "Tiny data and 1 epoch per trial: a wiring check.") = False,
    checkpoint_every: CheckpointEveryOption = None,
    results: ResultsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Search the suite's \\[tune.space] with Optuna (TPE, random, QMC, grid or CMA-ES), pruning
    hopeless trials epoch by epoch, to the budget; then train the best settings on fresh
    seeds. Killed, the same command continues exactly to the budget."""
    from benchbench import api
    from benchbench.cli import context

    def shown(trial) -> None:
        if context.QUIET:
            return
        params = " ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in trial.params.items()
        )
        value = "" if trial.value is None else f" {trial.value:.4f}"
        epochs = trial.user_attrs.get("epochs", 0)
        err.print(
            Text(
                f"trial {trial.number}: {trial.state.name.lower()}{value} ({params}), "
                f"{epochs} epochs"
            )
        )

    with stdout_to_stderr(as_json):
        outcome = api.tune(
            suite,
            results=results,
            study=study,
            trials=trials,
            time_budget=time_budget,
            workers=jobs,
            executor=executor,
            address=address,
            cpus_per_worker=cpus_per_worker,
            smoke=smoke,
            overrides=list(set_ or []),
            components=components(),
            policy=resume_policy(checkpoint_every, False, False),
            on_trial=shown,
        )
    if as_json:
        print_json(outcome)
        return
    table = Table(title=f"study {outcome['study']}", show_header=False)
    table.add_row("trials", ", ".join(f"{n} {s}" for s, n in outcome["trials"].items() if n))
    table.add_row("epochs trained", str(outcome["epochs"]))
    if outcome.get("best_value") is None:
        table.add_row("best", "no trial completed")
    else:
        table.add_row(
            f"best {outcome['metric']}",
            f"{outcome['best_value']:.4f} "
            f"(trial {outcome['best_trial']}, run {outcome['best_run_id']})",
        )
        table.add_row(
            "best settings", " ".join(f"{k}={v}" for k, v in outcome["best_params"].items())
        )
        table.add_row("run file", outcome["best_config"])
        final = outcome.get("final")
        if final and final.get("test_acc_mean") is not None:
            std = final["test_acc_std"]
            spread = f" ± {std:.4f}" if std is not None else ""
            table.add_row(
                "final seeds test acc",
                f"{final['test_acc_mean']:.4f}{spread} "
                f"(n = {len(final['test_acc'])}, seeds {final['seeds']})",
            )
    out.print(table)
