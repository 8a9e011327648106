"""Computed tables rendered as Markdown, LaTeX, CSV, JSON or a self-contained HTML page.

A renderer takes :class:`benchbench.analysis.tables.Part` objects — display cells, raw
numbers, marks and notes — and only lays them out: it computes nothing and imports no
model code. Markdown through pandas' ``to_markdown``, LaTeX and HTML through its Styler.

Every string that reaches a table (labels, settings, titles, notes, column headers) may
be the user's, so each format escapes all of them: HTML entities in cells and headers,
``|`` in Markdown cells, LaTeX specials (and no line break can end a ``%`` comment),
and CSV cells that a spreadsheet would run as a formula (``= + - @``) get a leading ``'``.
"""

from __future__ import annotations

import html
import json

FORMATS = ("markdown", "latex", "csv", "json", "html")

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


def check_format(fmt: str) -> None:
    from benchbench.errors import BenchError

    if fmt not in FORMATS:
        raise BenchError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}.")


def tex_escape(text: str) -> str:
    return "".join(_TEX_SPECIAL.get(c, c) for c in one_line(text))


def one_line(text) -> str:
    """``text`` with line breaks as spaces: no user string may start a new line."""
    return " ".join(str(text).splitlines()) if text is not None else ""


def _md(text) -> str:
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
    """``frame`` as CSV that no spreadsheet runs as formulas."""
    frame = frame.map(_csv_cell)
    frame.columns = [_csv_cell(c) for c in frame.columns]
    return frame.to_csv(index=False)


def _markdown(part) -> str:
    shown = part.shown.copy()
    shown.columns = [_md(c) for c in shown.columns]
    shown = shown.map(lambda v: _md(v) if isinstance(v, str) else v)
    for row, column in part.bold:
        column = _md(column)
        shown.loc[row, column] = f"**{shown.loc[row, column]}**"
    text = "" if shown.empty else shown.to_markdown(index=False, disable_numparse=True) + "\n"
    notes = [*part.notes, *([part.provenance] if part.provenance else [])]
    if notes:
        text += "\n" + "\n".join(f"*{_md(note)}*" for note in notes) + "\n"
    return f"**{_md(part.title)}**\n\n{text}" if part.title else text


def _styler(part, fmt: str):
    import pandas as pd

    shown = _lines(part)
    bold = [(row, one_line(column)) for row, column in part.bold]
    text_columns = [one_line(c) for c in part.text_columns]
    if fmt == "latex":  # numbers' ± in math mode; text columns are escaped below
        numbers = [c for c in shown.columns if c not in text_columns]
        for c in numbers:
            shown[c] = shown[c].map(lambda v: v.replace("±", r"$\pm$") if isinstance(v, str) else v)
    styler = shown.style.hide(axis="index")
    style = "textbf: --rwrap;" if fmt == "latex" else "font-weight: bold;"
    for row, column in bold:
        styler = styler.map(lambda _: style, subset=pd.IndexSlice[[row], [column]])
    if fmt == "latex":
        styler = styler.format(escape="latex", subset=text_columns)
    else:
        styler = styler.format(escape="html")
    return styler.format_index(escape=fmt, axis=1)  # headers are user strings too


def _latex(part) -> str:
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
    text = _styler(part, "latex").to_latex(
        hrules=True, column_format=columns, caption=tex_escape(caption) if caption else None
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
    title = f"<h2>{html.escape(part.title)}</h2>\n" if part.title else ""
    notes = "".join(f'<p class="note">{html.escape(n)}</p>\n' for n in part.notes)
    if part.provenance:
        notes += f'<p class="provenance">{html.escape(part.provenance)}</p>\n'
    return title + body + notes


def emit(
    parts: list,
    fmt: str,
    page_title: str = "benchbench report",
    figures: list[tuple[str, str]] = (),
) -> str:
    """Render ``parts`` in ``fmt``; ``figures`` (caption, base64 PNG) go into HTML pages."""
    import pandas as pd

    check_format(fmt)
    if fmt == "csv":
        frames = [p.raw.assign(table=p.title) if p.title else p.raw for p in parts]
        return csv_text(pd.concat(frames, ignore_index=True))
    if fmt == "json":
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
    if fmt == "markdown":
        return "\n".join(_markdown(p) for p in parts)
    if fmt == "latex":
        return "\n".join(_latex(p) for p in parts)
    return page(page_title, [html_table(p) for p in parts], figures)


def page(title: str, sections: list[str], figures: list[tuple[str, str]]) -> str:
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
        f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(c)}">'
        f"<figcaption>{html.escape(c)}</figcaption></figure>\n"
        for c, data in figures
    )
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>'
        f"{html.escape(title)}</title><style>{style}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n" + "\n".join(sections) + figs + "</body></html>\n"
    )
