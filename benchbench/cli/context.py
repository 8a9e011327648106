"""What every command shares: consoles, the results option, the loaded plugins."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from benchbench.plugins.manager import Components, load_components

out = Console(highlight=False, soft_wrap=True)  # tables and JSON: stdout
err = Console(stderr=True, highlight=False, soft_wrap=True)  # progress, warnings, errors: stderr

ResultsOption = Annotated[
    Path | None,
    typer.Option(
        "--results",
        help="Results directory [default: $BENCH_RESULTS or ./bench-results]",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]


@functools.cache
def components() -> Components:
    """The plugins, loaded once per process, on first use (never at import time)."""
    return load_components()


def print_json(data: Any) -> None:
    out.print_json(json.dumps(data, default=str), indent=2) if out.is_terminal else print(
        json.dumps(data, indent=2, default=str)
    )
