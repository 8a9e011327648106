"""``bench run``: one benchmark run, or one per seed."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from benchbench.cli.context import CheckpointEveryOption
from benchbench.cli.context import JsonOption
from benchbench.cli.context import KeepCheckpointOption
from benchbench.cli.context import ResultsOption
from benchbench.cli.context import ResumeAnywhereOption
from benchbench.cli.context import components
from benchbench.cli.context import err
from benchbench.cli.context import option
from benchbench.cli.context import optional
from benchbench.cli.context import print_json
from benchbench.cli.context import resume_policy
from benchbench.cli.context import set_option
from benchbench.cli.context import setting_values
from benchbench.cli.context import stdout_to_stderr
from benchbench.cli.context import stopped_by_signal
from benchbench.cli.context import with_settings
from benchbench.cli.export import SinkOption
from benchbench.cli.export import sinks_attached
from benchbench.config import RunConfig
from benchbench.errors import BenchError
from benchbench.render.markup import visible
from benchbench.settings import EXECUTION
from benchbench.settings import SETTINGS
from benchbench.settings import TRAINING
from benchbench.settings import parse_seeds
from benchbench.settings import parse_sets


@with_settings(SETTINGS)
def run(
    ctx: typer.Context,
    *,
    config: optional(
        Path,
        "A TOML file of settings (a suite's base keys); options given here win.",
        "--config",
        rich_help_panel=EXECUTION,
    ) = None,
    recipe: optional(
        str,
        "A built-in recipe's settings (`bench list recipes`), e.g. speedrun; "
        "options given here win.",
        "--recipe",
        rich_help_panel=EXECUTION,
    ) = None,
    print_config: option(
        bool,
        "Print the resolved config as TOML and exit.",
        "--print-config",
        rich_help_panel=EXECUTION,
    ) = False,
    dry_run: option(
        bool,
        "Check the config and the plugin names, train nothing.",
        "--dry-run",
        rich_help_panel=EXECUTION,
    ) = False,
    seeds: optional(str, "One run per seed: 0,1,2 or 0-4.", rich_help_panel=EXECUTION) = None,
    set_: set_option(
        "Plugin option: arch.OPT, aug.NAME.OPT or dataset.OPT, e.g. --set arch.bn=true.",
        TRAINING,
    ) = None,
    force: option(
        bool, "Re-run even if an identical run is stored.", rich_help_panel=EXECUTION
    ) = False,
    vectorize: option(
        bool,
        "With --seeds: train the seeds as one batched model (torch.func.vmap), each "
        "stored as its own run, where a short probe finds that faster than one after "
        "another (GPUs); else one after another, said so.",
        rich_help_panel=EXECUTION,
    ) = False,
    sink: SinkOption = None,
    checkpoint_every: CheckpointEveryOption = None,
    keep_checkpoint: KeepCheckpointOption = False,
    resume_anywhere: ResumeAnywhereOption = False,
    results: ResultsOption = None,
    as_json: JsonOption = False,
    **settings,
) -> None:
    """Train and evaluate one configuration, seeded and timed; store the result."""
    from benchbench import api

    values = setting_values(settings)
    policy = resume_policy(checkpoint_every, keep_checkpoint, resume_anywhere)
    if recipe is not None:
        from benchbench.execution.suite import recipe_file

        if config is not None:
            raise BenchError("--recipe and --config both name a run file: give one of them.")
        config = recipe_file(recipe)
    if config is not None:  # the file, then every option given on the command line
        given = {
            name: values[name]
            for name in values
            # by name: typer bundles its own click, with its own ParameterSource enum
            if getattr(ctx.get_parameter_source(name), "name", "DEFAULT") != "DEFAULT"
        }
        base = api.config_from_file(config, given, set_ or [])
    else:
        base = RunConfig(**values, **parse_sets(set_ or [], values["augs"]))
    if base.smoke:
        base = base.as_smoke()
    if print_config:
        print(base.validated().to_toml(), end="")
        return
    if dry_run:
        planned = api.plan_runs(base, parse_seeds(seeds) if seeds else None, components())
        for one in planned:
            err.print(f"valid: {_label(one)}", markup=False)
        if as_json:
            print_json([{"run_id": c.run_id, "config": c.to_dict()} for c in planned])
        return
    with stdout_to_stderr(as_json), sinks_attached(sink), stopped_by_signal():
        summaries = api.run(  # stdout: the JSON document alone
            base,
            seeds=parse_seeds(seeds) if seeds else None,
            results=results,
            force=force,
            components=components(),
            progress=_progress,
            on_result=_print_result,
            vectorize=vectorize,
            policy=policy,
        )
    if as_json:
        print_json(summaries if seeds else summaries[0])


def _label(config: RunConfig) -> str:
    return f"{visible(config.label)} seed {config.seed} [{config.run_id}]"


def _progress(config: RunConfig):
    """Live progress of one run on stderr."""
    from benchbench.cli.progress import RunProgress

    return RunProgress(err, _label(config), config.scaled().epochs)


def _print_result(config: RunConfig, result) -> None:
    """The run's result table, when it ends."""
    label = _label(config)
    record = result.record
    if result.skipped:
        err.print(
            f"{label}: already stored ({record.status}); skipped. Use --force to re-run.",
            markup=False,
        )
    s = record.summary
    table = Table(title=Text(f"{label} — {record.status}"), title_justify="left", show_edge=False)
    for column in ("test acc", "epochs", "train s/epoch", "val s/epoch", "warm-up s", "load s"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{s['test_acc']:.4f}",
        str(s["epochs_run"]),
        f"{s['train_seconds_per_epoch']:.3f}",
        f"{s['val_seconds_per_epoch']:.3f}",
        f"{s['warmup_seconds']:.2f}",
        f"{s['load_seconds']:.2f}",
    )
    err.print(table)
