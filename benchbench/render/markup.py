"""Computed tables rendered as Markdown, LaTeX, CSV, JSON or a self-contained HTML page.

A renderer takes :class:`benchbench.analysis.tables.Part` objects — display cells, raw
numbers, marks and notes — and only lays them out: it computes nothing and imports no
model code. Markdown through pandas' ``to_markdown``, LaTeX and HTML through its Styler.

Every string that reaches a table (labels, settings, titles, notes, column headers) may
be the user's, so each format escapes all of them: control characters and bidirectional
overrides are shown as escapes (``\x1b``, ``\u202e``) in every format and on the
terminal (:func:`visible`); HTML entities in cells and headers, ``|`` in Markdown cells,
LaTeX specials (and no line break can end a ``%`` comment, no cell can start with ``[``,
which LaTeX would read as an argument), and CSV cells that a spreadsheet would run as a
formula (``= + - @``) get a leading ``'``.

LaTeX compiles under pdflatex, xelatex and lualatex with the packages its first line
names (``% needs: booktabs``): the symbols benchbench writes become LaTeX commands, accented
Latin letters become accent commands, and any other character the fonts may lack (CJK,
emoji) becomes a visible placeholder ``[U+4E2D]``, listed in a comment.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from dataclasses import dataclass

BUILTIN_FORMATS = ("markdown", "latex", "csv", "json", "html")


@dataclass(frozen=True)
class Page:
    """What a format renders its tables into: a title, figures ((caption, base64 PNG)
    pairs, for formats that embed them) and whether a whole document is wanted."""

    title: str = "benchbench report"
    figures: tuple = ()
    standalone: bool = False


_TEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


# Symbols benchbench (or a user) writes, as commands every LaTeX engine has.
_TEX_SYMBOLS = {
    "±": r"$\pm$",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "×": r"$\times$",
    "≈": r"$\approx$",
    "→": r"$\rightarrow$",
    "−": r"$-$",
    "·": r"$\cdot$",
    "†": r"\dag{}",
    "‡": r"\ddag{}",
    "—": "---",
    "–": "--",
    "…": r"\ldots{}",
    "°": r"$^{\circ}$",
    "µ": r"$\mu$",
    "“": "``",
    "”": "''",
    "‘": "`",
    "’": "'",
    "«": r"$\ll$",
    "»": r"$\gg$",
    "ß": r"\ss{}",
    "æ": r"\ae{}",
    "Æ": r"\AE{}",
    "ø": r"\o{}",
    "Ø": r"\O{}",
    "å": r"\aa{}",
    "Å": r"\AA{}",
    "œ": r"\oe{}",
    "Œ": r"\OE{}",
    "ł": r"\l{}",
    "Ł": r"\L{}",
    "\u00a0": "~",
}
# Combining accents → LaTeX accent commands (é = e + U+0301 → \'{e}).
_TEX_ACCENTS = {
    "\u0300": "`",
    "\u0301": "'",
    "\u0302": "^",
    "\u0303": "~",
    "\u0304": "=",
    "\u0306": "u",
    "\u0307": ".",
    "\u0308": '"',
    "\u030a": "r",
    "\u030b": "H",
    "\u030c": "v",
    "\u0327": "c",
    "\u0328": "k",
}
PLACEHOLDER = "[U+{:04X}]"


def tex_escape(text: str, replaced: set[str] | None = None) -> str:
    """``text`` (a user's or benchbench's) as LaTeX any engine typesets with the packages
    :data:`LATEX_PACKAGES` names: specials escaped, symbols as commands, accented letters
    as accents, anything else outside ASCII as a visible placeholder (added to
    ``replaced``); a leading ``[`` is guarded, so no command reads it as an argument."""
    out = []
    for c in one_line(text):
        if c in _TEX_SPECIAL:
            out.append(_TEX_SPECIAL[c])
        elif c.isascii():
            out.append(c)
        elif c in _TEX_SYMBOLS:
            out.append(_TEX_SYMBOLS[c])
        elif c in GREEK:
            out.append(GREEK[c])
        else:
            out.append(_accented(c, replaced))
    escaped = "".join(out)
    return "{}" + escaped if escaped.startswith("[") else escaped


def _accented(c: str, replaced: set[str] | None) -> str:
    base, *marks = unicodedata.normalize("NFD", c)
    if base.isascii() and base.isalpha() and marks and all(m in _TEX_ACCENTS for m in marks):
        for mark in marks:
            base = f"\\{_TEX_ACCENTS[mark]}{{{base}}}"
        return base
    if replaced is not None:
        replaced.add(c)
    return PLACEHOLDER.format(ord(c))


def _greek() -> dict[str, str]:
    """Greek letters as math commands; capitals drawn like Latin letters (A, B, E...) have
    no command of their own and become those letters."""
    names = (
        "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi "
        "rho sigma tau upsilon phi chi psi omega"
    ).split()
    table = {}
    for name in names:
        lookup = "LAMDA" if name == "lambda" else name.upper()
        small = unicodedata.lookup(f"GREEK SMALL LETTER {lookup}")
        capital = unicodedata.lookup(f"GREEK CAPITAL LETTER {lookup}")
        table[small] = "o" if name == "omicron" else f"$\\{name}$"
        table[capital] = _LATIN_LOOK.get(name) or f"$\\{name.capitalize()}$"
    return table


_LATIN_LOOK = {  # Greek capitals drawn like Latin letters
    "alpha": "A", "beta": "B", "epsilon": "E", "zeta": "Z", "eta": "H", "iota": "I",
    "kappa": "K", "mu": "M", "nu": "N", "omicron": "O", "rho": "P", "tau": "T", "chi": "X",
}  # fmt: skip
GREEK = _greek()

# What any benchbench LaTeX needs, named in its first line.
LATEX_PACKAGES = ("booktabs",)


def latex_document(body: str, title: str = "benchbench report") -> str:
    """``body`` (tables) as a complete document that compiles as is (``--standalone``)."""
    packages = "".join(f"\\usepackage{{{p}}}\n" for p in LATEX_PACKAGES)
    return (
        "\\documentclass{article}\n" + packages + "\\begin{document}\n"
        f"\\section*{{{tex_escape(title)}}}\n" + body + "\\end{document}\n"
    )


# Shown as escapes wherever a user string is printed: C0/C1 controls (ESC starts terminal
# sequences; a bare CR splits a CSV row) and bidirectional overrides (text that reads
# backwards). Line breaks are left to each format (see :func:`one_line`).
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text) -> str:
    """``text`` with control characters and bidirectional overrides shown as escapes."""
    if text is None:
        return ""

    def shown(match: re.Match) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _INVISIBLE.sub(shown, str(text))


def one_line(text) -> str:
    """``text`` with line breaks as spaces and control characters visible: no user string
    may start a new line or reach a terminal or reader as a control sequence."""
    return " ".join(visible(text).splitlines()) if text is not None else ""


def md_escape(text) -> str:
    """A Markdown table cell or heading: one line, ``|`` and emphasis marks escaped, and no
    raw HTML (``<``) or inline link and image (``](``) that a renderer would act on."""
    text = one_line(text).replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*")
    return text.replace("<", "\\<").replace("](", "]\\(")


def _lines(part):
    """``part``'s display frame with every cell and header on one line."""
    shown = part.shown.copy()
    shown.columns = [one_line(c) for c in shown.columns]
    return shown.map(lambda v: one_line(v) if isinstance(v, str) else v)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value):
    """A spreadsheet must never run a cell as a formula (OWASP's CSV injection advice)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_text(frame) -> str:
    """``frame`` as CSV that no spreadsheet runs as formulas and no reader splits: control
    characters (a bare carriage return) are shown as escapes."""
    frame = frame.map(lambda v: _csv_cell(visible(v)) if isinstance(v, str) else v)
    frame.columns = [_csv_cell(visible(c)) if isinstance(c, str) else c for c in frame.columns]
    return frame.to_csv(index=False)


def _markdown(part) -> str:
    shown = part.shown.copy()
    shown.columns = [md_escape(c) for c in shown.columns]
    shown = shown.map(lambda v: md_escape(v) if isinstance(v, str) else v)
    for row, column in part.bold:
        column = md_escape(column)
        shown.loc[row, column] = f"**{shown.loc[row, column]}**"
    text = "" if shown.empty else shown.to_markdown(index=False, disable_numparse=True) + "\n"
    notes = [*part.notes, *([part.provenance] if part.provenance else [])]
    if notes:
        text += "\n" + "\n".join(f"*{md_escape(note)}*" for note in notes) + "\n"
    return f"**{md_escape(part.title)}**\n\n{text}" if part.title else text


def _styler(part, fmt: str, replaced: set[str] | None = None):
    import pandas as pd

    shown = _lines(part)
    bold = [(row, one_line(column)) for row, column in part.bold]
    styler = shown.style.hide(axis="index")
    style = "textbf: --rwrap;" if fmt == "latex" else "font-weight: bold;"
    for row, column in bold:
        styler = styler.map(lambda _: style, subset=pd.IndexSlice[[row], [column]])
    if fmt == "latex":  # every cell and header: numbers carry ±, marks and dashes too
        tex = lambda v: tex_escape(v, replaced) if isinstance(v, str) else v  # noqa: E731
        return styler.format(formatter=tex).format_index(formatter=tex, axis=1)
    styler = styler.format(escape="html")
    return styler.format_index(escape=fmt, axis=1)  # headers are user strings too


def _latex(part, replaced: set[str] | None = None) -> str:
    source = [f"% {one_line(part.provenance)}\n"] if part.provenance else []
    if part.shown.empty:
        lines = [part.title or "", *part.notes]
        return "".join(f"% {one_line(line)}\n" for line in lines) + "".join(source)
    caption = part.title
    if caption and part.notes:
        caption += " " + " ".join(part.notes)
    if part.provenance:
        caption = f"{caption} {part.provenance}" if caption else part.provenance
    columns = "l" * len(part.text_columns) + "r" * (part.shown.shape[1] - len(part.text_columns))
    text = _styler(part, "latex", replaced).to_latex(
        hrules=True,
        column_format=columns,
        caption=tex_escape(caption, replaced) if caption else None,
    )
    if part.notes and not part.title:
        text += "".join(f"% {one_line(note)}\n" for note in part.notes)
    return "".join(source) + text


def html_table(part) -> str:
    body = (
        ""
        if part.shown.empty
        else _styler(part, "html").set_table_attributes('class="bench"').to_html()
    )
    title = f"<h2>{html.escape(one_line(part.title))}</h2>\n" if part.title else ""
    notes = "".join(f'<p class="note">{html.escape(one_line(n))}</p>\n' for n in part.notes)
    if part.provenance:
        notes += f'<p class="provenance">{html.escape(one_line(part.provenance))}</p>\n'
    return title + body + notes


def latex_text(parts: list, standalone: bool = False, title: str = "benchbench report") -> str:
    """``parts`` as LaTeX: first the packages it needs and the characters it replaced, in
    comments; with ``standalone``, a complete document."""
    replaced: set[str] = set()
    body = "\n".join(_latex(p, replaced) for p in parts)
    head = f"% needs: {', '.join(LATEX_PACKAGES)}\n"
    if replaced:
        listed = ", ".join(f"U+{ord(c):04X}" for c in sorted(replaced))
        head += f"% characters no declared package can typeset, shown as [U+XXXX]: {listed}\n"
    return head + (latex_document(body, title) if standalone else body)


def render_csv(parts: list, page: Page) -> str:
    import pandas as pd

    frames = [p.raw.assign(table=p.title) if p.title else p.raw for p in parts]
    return csv_text(pd.concat(frames, ignore_index=True))


def render_json(parts: list, page: Page) -> str:
    if len(parts) == 1 and parts[0].title is None:
        return parts[0].raw.to_json(orient="records", indent=2) + "\n"
    data = [
        {
            "title": p.title,
            "rows": json.loads(p.raw.to_json(orient="records")),
            "notes": p.notes,
            "provenance": p.provenance,
        }
        for p in parts
    ]
    return json.dumps(data, indent=2) + "\n"


def render_markdown(parts: list, page: Page) -> str:
    return "\n".join(_markdown(p) for p in parts)


def render_latex(parts: list, page: Page) -> str:
    return latex_text(parts, page.standalone, page.title)


def render_html(parts: list, page: Page) -> str:
    return html_page(page.title, [html_table(p) for p in parts], page.figures)


def html_page(title: str, sections: list[str], figures) -> str:
    """One self-contained HTML page: tables and base64-embedded figures, no external files."""
    style = (
        "body{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;"
        "padding:0 1em;color:#222}table.bench{border-collapse:collapse;margin:1em 0}"
        "table.bench th,table.bench td{padding:.3em .8em;border-bottom:1px solid #ddd;"
        "text-align:right}table.bench td:first-child,table.bench th:first-child"
        "{text-align:left}.note,.provenance{color:#555;font-style:italic}"
        ".provenance{font-size:.85em}figure{margin:1.5em 0}"
        "img{max-width:100%}"
    )
    figs = "".join(
        f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(one_line(c))}">'
        f"<figcaption>{html.escape(one_line(c))}</figcaption></figure>\n"
        for c, data in figures
    )
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>'
        f"{html.escape(one_line(title))}</title><style>{style}</style></head><body>\n"
        f"<h1>{html.escape(one_line(title))}</h1>\n"
        + "\n".join(sections)
        + figs
        + "</body></html>\n"
    )
