"""``bench reproduce SUITE``: a suite's whole report as Markdown, from its stored runs.

The report opens with the seed's claims and a verdict on each, says how to retrain it and
at what scale and cost its runs trained, sets each row against its target, then gives the
readings, the hardware, every table and every figure the suite declares. What is not
computed from the store is the suite's own prose: the Markdown file beside the suite
(``SUITE.md``), its sections by heading:

``# Title``; ``## Seed hardware`` (where the seed's own timings came from); ``## Data
folder`` (the ``--data-dir`` to retrain with, then what it is); ``## Readings`` (where the
seed leaves room: what was run); ``## Untested`` (claims no run here tests, and what
testing them needs); ``## Comparison`` (shown once every field it quotes is stored) and
``## Why not met`` (shown while a target is not met).

Prose quotes stored figures as fields, never typed in (see
:func:`benchbench.analysis.targets.row_facts`): ``{test[No BN]:.4f}`` (a row's mean test
accuracy), ``{delta[No BN]:+.3f}`` (minus the targets table's ``baseline`` row),
``{sds[No BN]:.1f}``, ``{train[Base]:.3f}``, ``{sd[Base]:.4f}``, ``{n[Base]}``,
``{seed[Model G][1]:.4f}``, ``{ref[Model C]:.4f}`` (the seed's number). A paragraph whose
figures are not all stored yet waits.
"""

from __future__ import annotations

import math
import os
import platform
import re
import string
from collections import Counter
from dataclasses import replace
from pathlib import Path

from benchbench import api
from benchbench.errors import BenchError
from benchbench.render.markup import md_escape


class _Quoted(string.Formatter):
    def format_field(self, value, format_spec):
        if isinstance(value, float) and math.isnan(value):
            raise KeyError("no figure yet")
        return super().format_field(value, format_spec)


def quoted(note: str, facts: dict) -> str | None:
    """``note`` with its fields filled from ``facts``, or None while one is not stored
    (a row not trained, or one seed where a spread is asked)."""
    try:
        return _Quoted().vformat(note, (), facts)
    except KeyError:
        return None


def verdicts(rows: list[dict], untested: list[str]) -> str:
    """The seed's claims, one line each: reproduced or not (at n >= 3), not established
    (fewer seeds, or seeds on both sides of the target), or not tested here and why."""
    lines = []
    for row in rows:
        claim = f"{md_escape(row['Row'])}: test accuracy {row['Target']}"
        if row["Seed"] != "–":
            claim += f" (the seed: {row['Seed']})"
        n, met = int(row["n"]), row["Met"]
        if met == "not trained":
            verdict = "not tested yet (not trained here)"
        elif met.startswith("split"):
            verdict = f"not established ({met}: the draws disagree)"
        elif n < 3:
            verdict = f"not established: {row['Ours (test)']} at n = {n} (a claim needs n >= 3)"
        elif met == "yes":
            verdict = f"**reproduced**: {row['Ours (test)']} over {n} seeds"
        else:
            verdict = f"**not reproduced**: {row['Ours (test)']} over {n} seeds"
        lines.append(f"- {claim} — {verdict}.")
    lines += [f"- {claim}" for claim in untested]
    return "## Verdicts\n\n" + "\n".join(lines) + "\n\n" if lines else ""


def _targets(suite, store, runs, retrain: str) -> tuple[str, list[dict]]:
    """The targets section (the suite's ``targets`` table with the prose that explains
    its rows) and its rows, for the verdicts."""
    from benchbench.analysis.targets import row_facts
    from benchbench.analysis.targets import seed_numbers
    from benchbench.analysis.targets import targets_part

    table = next((t for t in suite.tables if t.kind == "targets"), None)
    if table is None:
        return "", []
    o = table.options
    part = targets_part(runs, store, o["targets"], seed_numbers(suite), None, o["above_chance"])
    rows = part.shown.to_dict("records")
    facts = {**row_facts(runs, store, o["baseline"]), "ref": seed_numbers(suite)}
    notes = []
    if any(r["Met"] == "not trained" for r in rows):
        notes.append(f"Rows not trained yet: `{retrain}` trains what is missing.")
    if any(r["Met"] == "no" or r["Met"].startswith("split") for r in rows):
        notes += suite.notes.get("Why not met", [])
    notes += suite.notes.get("Comparison", [])
    notes = [filled for note in notes if (filled := quoted(note, facts))]
    shown = part.shown.map(lambda v: md_escape(v) if isinstance(v, str) else v)
    text = shown.to_markdown(index=False, disable_numparse=True)
    return f"## Against the targets\n\n{text}\n" + "".join(f"\n{n}\n" for n in notes) + "\n", rows


def _tables(suite, results: Path) -> str:
    """Every table but the targets, one at a time: one that cannot be computed here (its
    runs are not trained yet, or it needs weights not stored) says why."""
    out = []
    for table in suite.tables:
        if table.kind == "targets":
            continue  # its own section, at the top
        try:
            out.append(api.suite_report(replace(suite, tables=[table]), results=results))
        except (BenchError, FileNotFoundError) as exc:
            out.append(f"**{md_escape(table.title)}**\n\n*Not computed here: {md_escape(exc)}*\n")
    return "\n".join(out)


def _figures(suite, results: Path, output: Path) -> list[str]:
    """Each declared figure's block, drawn into ``output/figures``. A figure whose data
    are not here (a clone without the data folder) keeps its block and files as the
    report at ``output`` has them; figure files of the suite that no block shows go."""
    folder = output / "figures"
    report = output / f"{suite.name}.md"
    before = report.read_text() if report.exists() else ""
    blocks, written = [], set()
    for drawn in api.draw_figures(suite, folder, results=results, formats=("png",)):
        name, caption = drawn["name"], drawn["caption"]
        if drawn["missing"]:
            kept = _committed_block(before, name) if drawn.get("unavailable") else None
            drawn_before = kept and "— *not drawn:" not in kept
            if drawn_before and all((output / f).exists() for f in _files(kept)):
                blocks.append(kept)
                written.update(Path(f).name for f in _files(kept))
            else:
                why = md_escape(drawn["missing"])
                blocks.append(f"**Figure {name}.** {caption} — *not drawn: {why}.*\n")
            continue
        written.update(Path(p).name for p in drawn["paths"])
        run = f" (run `{drawn['run_id']}`)" if drawn["run_id"] else ""
        if drawn["text"] is not None:
            blocks.append(f"**Figure {name}.** {caption}{run}, {drawn['text']}\n")
        else:
            shown = Path(drawn["paths"][0]).name
            blocks.append(
                f"**Figure {name}.** {caption}{run}\n\n![Figure {name}](figures/{shown})\n"
            )
    for stale in folder.glob(f"{suite.name}-fig*"):
        if stale.name not in written:
            stale.unlink()  # none of an earlier layout lingers
    return blocks


def _committed_block(text: str, name: str) -> str | None:
    """Figure ``name``'s block in a rendered report ``text``, up to the next figure."""
    start = text.find(f"**Figure {name}.**")
    if start < 0:
        return None
    following = text.find("\n**Figure ", start + 1)
    return text[start : following if following >= 0 else len(text)].rstrip("\n") + "\n"


def _files(block: str) -> list[str]:
    return re.findall(r"\]\((figures/[^)]+)\)", block)


def _command(suite, *args: str, swept: str | None = None) -> str:
    """The `bench reproduce` command line of ``suite`` (at its profile, unless that is the
    profile ``swept``, which its stored rows record) with ``args``."""
    name = suite.profile.name if suite.profile else None
    profile = ["--profile", name] if name and name != swept else []
    return " ".join(["bench reproduce", suite.name, *profile, *args])


def render(suite, results: Path, output: Path) -> str:
    """The report of ``suite`` (as its profile runs it) from the runs stored in
    ``results``; its figures are drawn into ``output/figures``."""
    from benchbench.results.query import suite_runs
    from benchbench.results.query import swept_profile

    store = api.open_store(results)
    key = api.suite_key(suite)
    members = store.suite_members(key)
    swept = swept_profile(store, key, mixed_refused=False)  # the report need not name it
    runs = suite_runs(store, key) if members else []
    # a run serving several rows (a grid point that is also a variant) counts once
    done = list({r.id: r for r in runs if r.status == "complete"}.values())
    notes = suite.notes
    data = notes.get("Data folder", ["DATA", "the data folder its runs read"])
    retrain = _command(suite, "--train", "--results DIR", f"--data-dir {data[0]}")
    figures = _figures(suite, results, output)
    tables = (
        _tables(suite, results) if runs else f"*No runs stored yet: `{retrain}` trains them.*\n"
    )
    targets, rows = _targets(suite, store, runs, retrain)
    train = sum(r.summary.get("train_seconds_total", 0.0) or 0.0 for r in done)
    # the stored per-epoch times, not finished - started: a run resumed in a later session
    # would count the stop between sessions
    with_val = sum(
        e.get("train_seconds", 0.0) + e.get("val_seconds", 0.0) + e.get("test_seconds", 0.0)
        for r in done
        for e in store.history(r.id)
    )
    planned = len({m["run_id"] for m in members})
    groups = suite.profile.groups if suite.profile else []
    if not groups or "variants" in groups:  # rows not trained yet
        listed = Counter(m["label"] for m in members if m["group"] == "variants")
        planned += sum(
            max(0, len(suite.seeds_of(v)) - listed[v.get("name")]) for v in suite.variants
        )

    def every(*keys: str, short: int = 0) -> str:
        """The distinct values of an environment field over the runs, e.g. two hosts."""
        seen = {
            " ".join(str(r.environment.get(k, "?"))[: short or None] for k in keys) for r in done
        }
        return ", ".join(sorted(seen)) or "?"

    hosts = sorted({r.environment.get("host", "?") for r in done})
    scale = suite.profile.description if suite.profile else "the suite as written"
    chosen = sorted(
        {f"{r.environment.get('precision')} {r.environment.get('layout')}" for r in done}
    )
    where = os.path.relpath(results, output.parent)
    title = notes.get("", [f"Reproduction of {suite.name}"])[0]
    readings = "\n".join("- " + r for r in notes.get("Readings", [])) or "None."
    hardware = " ".join(notes.get("Seed hardware", ["not stated"]))
    return f"""# {title}

{suite.description}.

*Generated by `{_command(suite, f"--results {where}", f"--output {output.name}", swept=swept)}`
from the results stored in `{where}`; do not edit by hand. `--train` trains whatever is
missing first.*

**Retrain from scratch.** `{retrain}` ({" ".join(data[1:])}); about {train / 3600:.1f}
hours of training on the hardware below for the runs stored here. Runs resume where they
stopped.

{verdicts(rows, notes.get("Untested", []))}**Scale.** {scale}. Every run's stored config
records its settings (`bench show RUN --results {where}`).

**Compute.** {len(done)} of {planned} runs complete: {train / 60:.1f} minutes of training
(stored train time), {with_val / 60:.1f} minutes with each epoch's validation (stored
epoch times: a stop between sessions does not count), on {", ".join(hosts) or "?"}
with {", ".join(chosen) or "?"} (chosen per run
by `--precision auto --layout auto`). Hardware behind the seed's own timings: {hardware}.

{targets}## Readings

{readings}

## Hardware and software

| | |
|:--|:--|
| device | {every("device", "device_name")} |
| threads | {every("threads")} |
| torch | {every("torch")} |
| benchbench | {every("benchbench")}, commits {every("commit", short=12)} |
| Python | {every("python") if done else platform.python_version()} |

## Tables

{tables}
## Figures

{chr(10).join(figures) or "No figures."}
"""


def reproduce(
    suite,
    *,
    results: Path | str | None = None,
    output: Path | str = ".",
    profile: str | None = None,
    train: bool = False,
    **sweep,
) -> Path:
    """Write ``suite``'s report (``SUITE.md``) and its figures (``figures/``) into
    ``output`` from the runs stored in ``results``, at its ``profile``'s scale; with
    ``train``, train what is missing first (``sweep``: :func:`benchbench.api.sweep`'s
    options: data_dir, device, overrides, events). Returns the report's path."""
    if isinstance(suite, str):
        suite = api.find_suite(suite, profile=profile)
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise BenchError(f"--output {output}: a file is there; give a folder for the report.")
    store = api.open_store(results)
    if train:
        api.sweep(suite, results=store.root, **sweep)
    output.mkdir(parents=True, exist_ok=True)
    path = output / f"{suite.name}.md"
    text = render(suite, Path(store.root).resolve(), output.resolve())
    path.write_text(text)
    return path
