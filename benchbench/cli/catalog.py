"""``bench list`` and ``bench plugins``: what the loaded plugins offer."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from benchbench.cli.context import JsonOption
from benchbench.cli.context import components
from benchbench.cli.context import err
from benchbench.cli.context import option
from benchbench.cli.context import out
from benchbench.cli.context import print_json
from benchbench.errors import BenchError
from benchbench.errors import did_you_mean
from benchbench.plugins.manager import KINDS as REGISTRY_KINDS

KIND_ALIASES = {
    "archs": "architecture",
    "architectures": "architecture",
    "arch": "architecture",
    "augs": "augmentation",
    "augmentations": "augmentation",
    "aug": "augmentation",
    "datasets": "dataset",
    "dataset": "dataset",
    "suites": "suite",
    "suite": "suite",
    "recipes": "recipe",
    "recipe": "recipe",
    "sinks": "sink",
    "sink": "sink",
    "metrics": "metric",
    "metric": "metric",
    "formats": "format",
    "format": "format",
    "tables": "table_kind",
    "table-kinds": "table_kind",
    "executors": "executor",
    "executor": "executor",
    "figures": "figure",
    "figure": "figure",
}
# the plugins' kinds, with suites and recipes (data files, not plugins) after datasets
KINDS = (*REGISTRY_KINDS[:3], "suite", "recipe", *REGISTRY_KINDS[3:])
LISTED = (
    "archs, augs, datasets, suites, recipes, sinks, metrics, formats, tables, executors or figures"
)


def _entries(kind: str, pattern: str) -> list[dict]:
    if kind == "suite":
        import fnmatch

        from benchbench.execution import suite

        return [
            {"name": name, "description": suite.find(name).description, "plugin": "builtin.suites"}
            for name in suite.builtin_names()
            if fnmatch.fnmatchcase(name, pattern)
        ]
    if kind == "recipe":
        import fnmatch

        from benchbench.execution import suite

        return [
            {"name": name, "description": suite.recipe_about(name), "plugin": "builtin.recipes"}
            for name in suite.recipe_names()
            if fnmatch.fnmatchcase(name, pattern)
        ]
    return [
        {"name": e.name, "description": e.description, "plugin": e.plugin}
        for e in components().registry(kind).list(pattern)
    ]


def list_components(
    kind: Annotated[
        str | None,
        typer.Argument(
            help=f"{LISTED}; all if omitted.",
            show_default=False,
        ),
    ] = None,
    filter: option(str, "Shell-style wildcard on names, e.g. 'cnn*'.", "--filter", "-f") = "*",
    as_json: JsonOption = False,
) -> None:
    """List what the built-ins and plugins offer: architectures, augmentations, datasets,
    suites, recipes, sinks, metrics, output formats, table kinds, executors and figures."""
    if kind is not None and kind not in KIND_ALIASES:
        raise BenchError(f"`bench list {kind}`: list {LISTED}.{did_you_mean(kind, KIND_ALIASES)}")
    kinds = [KIND_ALIASES[kind]] if kind else list(KINDS)
    listing = {k: _entries(k, filter) for k in kinds}
    if as_json:
        print_json({f"{k}s": entries for k, entries in listing.items()})
        return
    for k, entries in listing.items():
        table = Table(title=f"{k.replace('_', ' ')}s", title_justify="left", show_edge=False)
        table.add_column("name", style="bold", no_wrap=True)
        table.add_column("description")
        table.add_column("plugin", style="dim")
        for e in entries:
            table.add_row(e["name"], e["description"], e["plugin"])
        if not entries:
            table.add_row("–", f"nothing matches {filter!r}", "")
        out.print(table)


plugins_app = typer.Typer(
    help="Loaded plugins: distribution, version, hooks implemented, and load errors "
    "(`bench plugins new NAME` starts a plugin of your own).",
    invoke_without_command=True,
)


@plugins_app.callback()
def plugins(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Loaded plugins: distribution, version, hooks implemented, and load errors."""
    if ctx.invoked_subcommand is not None:
        return
    infos = components().plugins
    if as_json:
        print_json([asdict(i) for i in infos])
        return
    table = Table(show_edge=False)
    for column in ("plugin", "distribution", "version", "hooks", "status"):
        table.add_column(column)
    for info in infos:
        hooks = ", ".join(h.removeprefix("benchbench_register_") for h in info.hooks)
        status = Text("\n".join(info.errors), "red") if info.errors else Text("ok", "green")
        table.add_row(info.name, info.distribution, info.version, hooks, status)
    out.print(table)


@plugins_app.command("new")
def new_plugin(
    name: Annotated[str, typer.Argument(help="Plugin name: a lower-case Python name.")],
    dir: option(Path, "Where to create the package.", "--dir") = Path("."),
) -> None:
    """Write a ready plugin package: pyproject with the entry point, one architecture, one
    augmentation, one dataset and a test."""
    from benchbench.plugins import scaffold

    for path in scaffold.create(name, dir):
        err.print(Text(f"wrote {path}"))
    err.print(Text(f"next: pip install {dir / ('benchbench-' + name.replace('_', '-'))}"))
