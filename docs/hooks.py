"""MkDocs hooks: the pages' generated blocks are checked against the code they come from.

``settings.md`` holds the settings table (``benchbench.settings.markdown_table``) and
``architecture.md`` the module map (each module's first docstring paragraph). The build
fails if either is stale; ``python docs/hooks.py`` rewrites both.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
PACKAGE = DOCS.parent / "benchbench"


def settings_table() -> str:
    sys.path.insert(0, str(DOCS.parent))
    from benchbench.settings import markdown_table

    return markdown_table()


def module_map() -> str:
    """One row per module of the package, in folder order, with its docstring's first
    paragraph on one line."""
    rows = ["| module | what it holds |", "| --- | --- |"]
    for path in sorted(PACKAGE.rglob("*.py"), key=lambda p: (p.parent != PACKAGE, p)):
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        first = " ".join(doc.strip().split("\n\n")[0].split()).replace("|", "\\|")
        rows.append(f"| `{path.relative_to(PACKAGE.parent).as_posix()}` | {first} |")
    return "\n".join(rows) + "\n"


BLOCKS = {
    "settings.md": ("settings table", settings_table),
    "architecture.md": ("module map", module_map),
}


def _span(text: str, name: str) -> tuple[int, int]:
    start = text.index(f"<!-- {name}: generated, do not edit -->\n")
    start = text.index("\n", start) + 1
    return start, text.index(f"<!-- end of {name} -->")


def stale() -> list[str]:
    """The pages whose generated block differs from what the code generates."""
    found = []
    for page, (name, generate) in BLOCKS.items():
        text = (DOCS / page).read_text()
        start, end = _span(text, name)
        if text[start:end] != generate():
            found.append(page)
    return found


def on_pre_build(config, **kwargs) -> None:
    pages = stale()
    if pages:
        raise SystemExit(
            f"docs/{', docs/'.join(pages)}: stale generated block; run python docs/hooks.py"
        )


if __name__ == "__main__":
    for page, (name, generate) in BLOCKS.items():
        text = (DOCS / page).read_text()
        start, end = _span(text, name)
        (DOCS / page).write_text(text[:start] + generate() + text[end:])
        print(f"docs/{page}: {name} written")
