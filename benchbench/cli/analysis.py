"""``bench compare``, ``bench profile``, ``bench ensemble`` and ``bench ood``: analyses of
stored runs, no retraining."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from typing import Literal

import typer
from rich.text import Text

from benchbench.cli.context import FormatOption
from benchbench.cli.context import JsonOption
from benchbench.cli.context import ResultsOption
from benchbench.cli.context import WhereOption
from benchbench.cli.context import components
from benchbench.cli.context import err
from benchbench.cli.context import option
from benchbench.cli.context import optional
from benchbench.cli.context import print_json
from benchbench.cli.context import setting_option
from benchbench.errors import BenchError


def compare(
    a: Annotated[str, typer.Argument(help="Runs A: a label, a run-id prefix, or KEY=VALUE,…")],
    b: Annotated[str, typer.Argument(help="Runs B, named the same ways.")],
    metric: option(str, "The stored metric to compare (higher or lower is better).") = "test_acc",
    where: WhereOption = None,
    smoke: option(bool, "Compare smoke runs.") = False,
    format: FormatOption = "markdown",
    as_json: JsonOption = False,
    results: ResultsOption = None,
) -> None:
    """Is A better than B? Each side's mean ± std (n), the difference with its 95% Welch
    interval and p, Hedges' g, the probability that a run of A beats a run of B with a
    stratified-bootstrap interval, and one sentence saying what the numbers support (no
    claim below 3 runs a side)."""
    from benchbench import api
    from benchbench.api import emit

    result, parts = api.compare(
        a, b, results=results, where=where or [], metric=metric, smoke=smoke
    )
    if as_json:  # NaN (no interval below 2 runs a side) is null in JSON
        print_json({k: None if v != v else v for k, v in result.items()})
        return
    print(emit(parts, format, page_title=f"{a} against {b}"), end="")
    err.print(Text(result["verdict"]))


def profile(
    suite: Annotated[
        str,
        typer.Argument(help="A suite that declares workloads and algorithms (built-in or file)."),
    ],
    reference: optional(
        str,
        "The algorithm speedups are measured against.",
        show_default="the suite's profile table's, else its first algorithm",
    ) = None,
    tau_max: optional(
        float, "Where the profile's integral stops.", show_default="4, as AlgoPerf"
    ) = None,
    plot: optional(
        Path, "Write the performance profiles here (profile.png and profile.pdf)."
    ) = None,
    smoke: option(bool, "Its --smoke sweep.") = False,
    format: FormatOption = "markdown",
    as_json: JsonOption = False,
    results: ResultsOption = None,
) -> None:
    """Time to target across a suite's workloads, as AlgoPerf scores training algorithms:
    each algorithm's median seconds to the target per workload (a miss counts as infinite),
    its performance-profile score (the area under ρ(τ) from 1 to 4, in [0, 1]) and its
    geometric-mean speedup over a reference algorithm; --plot draws ρ(τ)."""
    from benchbench import api
    from benchbench.analysis.profile import part
    from benchbench.api import emit

    result, runs = api.profile(
        suite, results=results, smoke=smoke, reference=reference, tau_max=tau_max
    )
    if plot is not None:
        from benchbench.render.figures import performance_profiles
        from benchbench.render.figures import save

        for path in save(performance_profiles(result), plot / "profile"):
            err.print(Text(f"wrote {path}"))
    if as_json:
        print_json(result.as_dict())
        return
    print(emit([part(result, runs)], format, page_title=f"{suite}: time to target"), end="")


def ensemble(
    where: WhereOption = None,
    suite: optional(str, "Only the runs of this suite's last sweep.") = None,
    smoke: option(bool, "With --suite: its --smoke sweep.") = False,
    k: option(str, "Best k% of the runs, comma-separated.") = "10,20,30,40,50,100",
    format: FormatOption = "markdown",
    results: ResultsOption = None,
) -> None:
    """Soft and hard voting over the best k% of stored runs, ranked by validation accuracy."""
    from benchbench import api
    from benchbench.results.query import suite_runs

    records = api.stored_runs(results, where or [], smoke)
    if suite is not None:
        key = api.suite_key(api.find_suite(suite), smoke)
        members = {r.id for r in suite_runs(api.open_store(results), key)}
        records = [r for r in records if r.id in members]
    try:
        percents = tuple(float(v) for v in k.split(","))
    except ValueError:
        raise BenchError(f"--k {k!r}: give percentages like 10,20,50,100.") from None
    if any(not 0 < p <= 100 for p in percents):
        raise BenchError(f"--k {k!r}: percentages lie in (0, 100].")
    print(api.ensemble(records, results=results, percents=percents, fmt=format), end="")


def ood(
    run: Annotated[str, typer.Argument(help="Run id, prefix or label.")],
    ood_dataset: option(str, "Out-of-distribution data.") = "fake",
    ood_data_dir: optional(Path, "Where that dataset lives.") = None,
    ood_set: optional(
        list[str], "dataset.OPTION=VALUE for the OOD dataset.", metavar="KEY=VALUE"
    ) = None,
    layers: optional(str, "Comma-separated layer names.", show_default="every activation") = None,
    ood_when: option(
        Literal["below", "above", "either"],
        "Which side of the threshold is out of distribution: below (report 001's "
        "rule), above, or whichever separates the fitting half better.",
    ) = "either",
    plot: optional(Path, "Write a histogram per layer here.") = None,
    device: setting_option("device", panel=False) = "cpu",
    format: FormatOption = "markdown",
    results: ResultsOption = None,
) -> None:
    """OOD detection by per-image mean activation, per layer (report 001, Table 2); with
    --plot, each layer's histogram and threshold and a grid of in- and out-of-distribution
    images titled by what the layer detects them as (report 001, Figs. 8-9)."""
    from benchbench.analysis.ood import probe_run
    from benchbench.analysis.tables import ood_part
    from benchbench.api import emit
    from benchbench.results.store import Store
    from benchbench.settings import parse_sets

    store = Store(results)
    record = store.find(run)
    names = [n.strip() for n in layers.split(",")] if layers else None
    options = parse_sets(ood_set or [], ())["dataset_options"]
    probe = probe_run(
        store,
        record,
        components(),
        dataset=ood_dataset,
        data_dir=ood_data_dir,
        options=options,
        layers=names,
        device=device,
        ood_when=ood_when,
    )
    print(emit([ood_part(probe.results, record, ood_dataset)], format), end="")
    if plot is not None:
        from benchbench.render.figures import histogram
        from benchbench.render.figures import samples
        from benchbench.render.figures import save

        for r in probe.results:
            title = f"{record.label}: {r.layer}, detection accuracy {r.accuracy:.3f}"
            layer = r.layer.replace(".", "_")
            values = (probe.inside[r.layer], probe.outside[r.layer])
            drawn = [
                (histogram(*values, r.threshold, title), "ood"),
                (samples(*probe.samples(r.layer), ["ID", "OOD"], title), "ood-samples"),
            ]
            for figure, kind in drawn:
                for path in save(figure, plot / f"{kind}-{record.id}-{layer}"):
                    err.print(Text(f"wrote {path}"))
