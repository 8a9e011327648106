"""The built-in output formats, registered like a plugin's: Markdown (pandas'
``to_markdown``), LaTeX and HTML (pandas' Styler), CSV and JSON of the raw numbers."""

from __future__ import annotations

from benchbench import hookimpl

ABOUT = {
    "markdown": "GitHub-flavoured Markdown tables, bold best, notes in italics",
    "latex": "booktabs tables that compile under pdflatex, xelatex and lualatex "
    "(--standalone: a whole document)",
    "csv": "the raw numbers, one row per table row, a 'table' column when there are several",
    "json": "the raw numbers with titles, notes and provenance",
    "html": "one self-contained page: tables and embedded figures",
}


def _renderer(name: str):
    def factory():
        from benchbench.render import markup

        return getattr(markup, f"render_{name}")

    return factory


@hookimpl
def benchbench_register_formats(registry):
    for name, about in ABOUT.items():
        registry.add(name, _renderer(name), description=about)
