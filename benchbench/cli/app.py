"""The ``bench`` application: commands wired together; errors mapped to exit codes.

Every import here is light: plugins and torch are loaded inside commands.
"""

from __future__ import annotations

import logging
import os
import sys

import typer

from benchbench import __version__
from benchbench.cli import analysis
from benchbench.cli import catalog
from benchbench.cli import data
from benchbench.cli import export
from benchbench.cli import plot
from benchbench.cli import report
from benchbench.cli import reproduce
from benchbench.cli import run
from benchbench.cli import runs
from benchbench.cli import summary
from benchbench.cli import sweep
from benchbench.cli import tune
from benchbench.cli.context import err
from benchbench.errors import BenchError

app = typer.Typer(
    name="bench",
    help="Seeded, timed benchmarks of image-classification training recipes, with "
    "paper-ready tables.",
    no_args_is_help=True,
    add_completion=True,  # bench --install-completion / --show-completion
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command()(run.run)
app.command()(sweep.sweep)
app.command()(tune.tune)
app.command()(report.report)
app.command()(report.show)
app.command()(reproduce.reproduce)
app.command()(runs.runs)
app.command()(export.export)
app.command("list")(catalog.list_components)
app.add_typer(catalog.plugins_app, name="plugins")
app.command()(summary.summary)
app.command()(analysis.compare)
app.command()(analysis.profile)
app.command()(analysis.ensemble)
app.command()(analysis.ood)
app.add_typer(plot.app, name="plot")
app.add_typer(data.app, name="data")


def _version(value: bool) -> None:
    if value:
        print(f"benchbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
    quiet: bool = typer.Option(
        False,
        "--quiet",
        "-q",
        help="No progress displays, epoch lines or status lines; warnings, errors and "
        "results only.",
    ),
) -> None:
    """Seeded, timed benchmarks of image-classification training recipes."""
    from benchbench.cli import context

    context.QUIET = quiet
    logging.getLogger("benchbench.status").setLevel(logging.WARNING if quiet else logging.INFO)


class _StderrHandler(logging.Handler):
    """Warnings from benchbench's modules, one line each, on whatever stderr is now."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "benchbench.status" and record.levelno == logging.INFO:
            print(f"{record.getMessage()}", file=sys.stderr)  # a status line, not a warning
            return
        print(f"{record.levelname.lower()}: {record.getMessage()}", file=sys.stderr)


def _with_plugin_commands() -> typer.Typer:
    """``bench`` with the subcommands plugins add (a copy: nothing accumulates)."""
    import copy

    from benchbench.cli.context import components
    from benchbench.plugins.manager import plugin_commands

    taken = {c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands}
    taken |= {g.name for g in app.registered_groups}
    extra = plugin_commands(components(), taken)
    figures = plot.plugin_figure_commands(components().figures)
    if not (extra.registered_commands or extra.registered_groups or figures):
        return app
    full = copy.copy(app)
    groups = list(app.registered_groups)
    if figures:  # `bench plot NAME` for the figure kinds plugins add
        plots = copy.copy(plot.app)
        plots.registered_commands = [*plot.app.registered_commands, *figures]
        groups = [
            copy.copy(g) if g.typer_instance is plot.app else g for g in app.registered_groups
        ]
        for g in groups:
            if g.typer_instance is plot.app:
                g.typer_instance = plots
    full.registered_commands = [*app.registered_commands, *extra.registered_commands]
    full.registered_groups = [*groups, *extra.registered_groups]
    return full


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``bench``: known errors become one paragraph and exit code 2."""
    debug = os.environ.get("BENCH_DEBUG") == "1"
    logger = logging.getLogger("benchbench")
    logger.setLevel(logging.DEBUG if debug else logging.WARNING)
    logging.getLogger("benchbench.status").setLevel(logging.INFO)
    from benchbench.cli import context

    context.QUIET = False
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        logger.addHandler(_StderrHandler())
    try:
        command = typer.main.get_command(_with_plugin_commands())
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    try:
        code = command.main(args=argv, prog_name="bench", standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.TyperException as exc:  # click's usage errors (typer vendors click)
        exc.show()
        code = exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        err.print("interrupted; results stored so far are intact.")
        code = 130
    except BenchError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        code = exc.exit_code
    except Exception as exc:
        if debug:
            raise
        print(
            f"error: unexpected {type(exc).__name__}: {exc}\nRe-run with BENCH_DEBUG=1 for "
            "the traceback, and report it if it looks like a bug in benchbench.",
            file=sys.stderr,
        )
        code = 1
    sys.exit(code if isinstance(code, int) else 0)
