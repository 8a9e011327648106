"""What every command shares: consoles, the results option, the loaded plugins."""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
import sys
from pathlib import Path
from typing import Annotated
from typing import Any
from typing import Literal

import typer
from rich.console import Console

from benchbench.plugins.manager import Components
from benchbench.plugins.manager import load_components
from benchbench.render.markup import BUILTIN_FORMATS
from benchbench.settings import SETTINGS
from benchbench.settings import Setting

# No console markup: labels, class names and paths are the user's, printed as written
# ("[bold]" in a run's name is text). Styling goes through rich.text.Text.
out = Console(highlight=False, soft_wrap=True, markup=False)  # tables and JSON: stdout
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)  # the rest: stderr

ResultsOption = Annotated[
    Path | None,
    typer.Option(
        "--results",
        help="Results directory.",
        show_default="$BENCH_RESULTS, else ./bench-results",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]

CheckpointEveryOption = Annotated[
    str | None,
    typer.Option(
        "--checkpoint-every",
        metavar="N|TIME",
        help="Write a resume point every N epochs (0: only when stopped by a signal) or "
        "every TIME of training (90s, 10m, 1h). Default: after each epoch once 5 s of "
        "training passed since the last one.",
        show_default=False,
        rich_help_panel="Long runs",
    ),
]
KeepCheckpointOption = Annotated[
    bool,
    typer.Option(
        "--keep-checkpoint",
        help="Keep the last resume point beside the finished run (it is removed by default).",
        rich_help_panel="Long runs",
    ),
]
ResumeAnywhereOption = Annotated[
    bool,
    typer.Option(
        "--resume-anywhere",
        help="Continue a resume point written on another host or torch version (marked in "
        "the run; refused by default, as it would not be bit-identical).",
        rich_help_panel="Long runs",
    ),
]


@contextlib.contextmanager
def stopped_by_signal():
    """A run stopped by SIGINT or SIGTERM: one line saying so, exit 130 or 143 (typer would
    turn every KeyboardInterrupt into 130, without a word)."""
    try:
        yield
    except KeyboardInterrupt as exc:
        where = getattr(exc, "where", "")
        err.print(
            f"interrupted{where}; results stored so far are intact"
            + ("; run the same command again to resume." if where else "."),
            markup=False,
        )
        raise typer.Exit(getattr(exc, "exit_code", 130)) from None


def resume_policy(every: str | None, keep: bool, anywhere: bool):
    """The resume policy the long-run options ask for."""
    from benchbench.training.resume import ResumePolicy

    return ResumePolicy.parse(every, keep=keep, anywhere=anywhere)


WhereOption = Annotated[
    list[str] | None,
    typer.Option(
        metavar="KEY=VALUE",
        help="Only runs with this setting, e.g. --where arch=cnn_small --where arch.bn=true.",
        show_default=False,
    ),
]


def _known_format(fmt: str) -> str:
    """A format no loaded plugin renders is refused before anything is read."""
    from benchbench.api import check_format

    components()  # the plugins of this invocation
    check_format(fmt)
    return fmt


FormatOption = Annotated[
    str,
    typer.Option(
        "--format",
        callback=_known_format,
        help=f"Output format of the table(s): {', '.join(BUILTIN_FORMATS)}, or one a plugin "
        "adds (`bench list formats`).",
    ),
]


@functools.cache
def components() -> Components:
    """The plugins, loaded once per process, on first use (never at import time)."""
    return load_components()


QUIET = False  # `bench --quiet`: no progress, epoch or status lines


@contextlib.contextmanager
def stdout_to_stderr(active: bool = True):
    """While active, everything written to file descriptor 1 — by Python, a plugin, Ray's
    raylet or C code — goes to stderr, so that stdout carries only what ``--json`` prints
    afterwards."""
    if not active:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def print_json(data: Any) -> None:
    out.print_json(json.dumps(data, default=str), indent=2) if out.is_terminal else print(
        json.dumps(data, indent=2, default=str)
    )


def _cli_type(setting: Setting) -> Any:
    """The type typer parses an option into: choices become ``Literal`` (real choices)."""
    if setting.choices:
        base = Literal[setting.choices]  # type: ignore[valid-type]
    else:
        base = {"strs": list[str], "ints": str, "path": Path}.get(setting.kind, setting.kind)
    return base | None if setting.optional or setting.kind in ("strs", "ints") else base


def setting_option(name: str, panel: bool = True) -> Any:
    """A typer option for run setting ``name``, declared by the settings table alone."""
    s = SETTINGS[name]
    default = s.default_text or (False if s.default in (None, ()) else True)
    option = typer.Option(
        *s.flags,
        help=s.help,
        metavar=s.metavar,
        show_default=default if isinstance(default, str) else default,
        rich_help_panel=s.layer if panel else None,
    )
    return Annotated[_cli_type(s), option]


def setting_parameter(name: str) -> inspect.Parameter:
    """``name`` as a keyword parameter of a command function (see :func:`with_settings`)."""
    s = SETTINGS[name]
    default = None if s.kind in ("strs", "ints") else s.default
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=setting_option(name)
    )


def with_settings(names):
    """Give a command ``def cmd(*, ..., **settings)`` one option per setting in ``names``.

    typer reads a function's signature: this writes the settings' options into it, so
    the command declares none of them itself.
    """

    def decorate(command):
        signature = inspect.signature(command, eval_str=True)
        own = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
        positional = [p for p in own if p.kind is p.POSITIONAL_OR_KEYWORD]  # e.g. ctx
        keyword = [p for p in own if p.kind is p.KEYWORD_ONLY]
        params = positional + [setting_parameter(n) for n in names] + keyword
        command.__signature__ = signature.replace(parameters=params)
        command.__annotations__ = {p.name: p.annotation for p in params}
        return command

    return decorate


def setting_values(values: dict[str, Any]) -> dict[str, Any]:
    """Command-line values of settings → RunConfig values (paths resolved, lists parsed)."""
    out = {}
    for name, value in values.items():
        s = SETTINGS[name]
        if s.kind == "strs":
            value = tuple(value or ())
        elif s.kind == "ints":
            value = s.from_text(value) if value else ()
        elif s.kind == "path" and value is not None:
            value = str(Path(value).expanduser().resolve())
        out[name] = value
    return out


def option(kind: Any, help: str, *flags: str, **more: Any) -> Any:
    """A typer option of type ``kind`` with ``help`` (``flags``: its names, where not the
    parameter's; ``more``: typer.Option's other arguments)."""
    return Annotated[kind, typer.Option(*flags, help=help, **more)]


def optional(kind: Any, help: str, *flags: str, **more: Any) -> Any:
    """A typer option of type ``kind`` that is None (showing no default unless ``more``
    says one) where not given."""
    return option(kind | None, help, *flags, **{"show_default": False, **more})


def profile_option(default: str = "the suite as written") -> Any:
    """``--profile NAME``: a suite at one of its scales; ``default`` says what none means."""
    return optional(
        str,
        "The suite at one of its scales: a profile its file declares (its seeds, groups, "
        "settings and per-row changes).",
        show_default=default,
    )


ProfileOption = profile_option()
# Commands that read a sweep render it at the scale it was swept at unless told otherwise.
SweptProfileOption = profile_option("the profile its stored rows were swept at")


def set_option(help: str, panel: str | None = None) -> Any:
    """A repeatable ``--set KEY=VALUE`` option with ``help``."""
    option = typer.Option("--set", metavar="KEY=VALUE", help=help, rich_help_panel=panel)
    return Annotated[list[str] | None, option]
