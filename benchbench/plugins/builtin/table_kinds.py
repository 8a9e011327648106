"""The built-in table kinds a suite's ``[[tables]]`` may name, registered like a
plugin's: ``runs``, ``tuning``, ``ensemble``, ``ood``, ``profile`` and ``targets``."""

from __future__ import annotations

import math
from collections.abc import Callable

from benchbench import hookimpl
from benchbench.analysis.tables import Part
from benchbench.analysis.tables import Request
from benchbench.analysis.tables import Spec
from benchbench.analysis.tables import TableKind
from benchbench.analysis.tables import build
from benchbench.analysis.tables import ensemble_part
from benchbench.analysis.tables import ood_part
from benchbench.analysis.tables import references
from benchbench.analysis.tables import transposed
from benchbench.analysis.tables import tuning_part
from benchbench.analysis.tables import with_seed_only_rows
from benchbench.errors import BenchError
from benchbench.metrics import DEFAULT_METRICS

KINDS: list[TableKind] = []


def table_kind(name: str, about: str, required: tuple[str, ...] = (), **options):
    """Declare the decorated ``build(request) -> Part`` as built-in table kind ``name``."""

    def declare(build: Callable[[Request], Part]) -> Callable[[Request], Part]:
        KINDS.append(TableKind(name, about, options, build, required))
        return build

    return declare


@table_kind(
    "runs",
    "one row per configuration: mean ± std over seeds, best marked, deltas vs a baseline",
    rows="label",
    metrics=list(DEFAULT_METRICS),
    baseline=None,
    reference={},
    transpose=False,
)
def _runs_table(request: Request) -> Part:
    o = request.options
    spec = Spec(
        tuple(o["metrics"]),
        rows=o["rows"],
        ci=request.ci,
        baseline=o["baseline"],
        reference=references(o["reference"], o["metrics"]),
        keep_order=True,
        title=request.title,
    )
    part = build(request.runs, spec)
    if spec.reference and not part.raw.empty:
        names = [v.get("name") for v in getattr(request.suite, "variants", None) or []]
        part = with_seed_only_rows(part, spec, names)
    return transposed(part) if o["transpose"] and not part.raw.empty else part


@table_kind(
    "tuning",
    "one row per tuned value: mean ± std over repeats, the kept value marked",
    metrics=list(DEFAULT_METRICS),
)
def _tuning_table(request: Request) -> Part:
    tune = request.suite.tune
    metric = tune.metric if tune else request.options["metrics"][0]
    metrics = list(dict.fromkeys([metric, *request.options["metrics"]]))
    records = {r.id: r for r in request.runs}
    return tuning_part(request.members, records, metrics, metric, request.title)


@table_kind(
    "ensemble",
    "soft and hard voting over the best k% of the runs",
    percents=[10, 20, 30, 40, 50, 100],
    reference={},
)
def _ensemble_table(request: Request) -> Part:
    o = request.options
    percents = tuple(float(p) for p in o["percents"])
    return ensemble_part(request.runs, request.store, percents, request.title, o["reference"])


@table_kind(
    "ood",
    "out-of-distribution detection by mean activation, per layer, for one row's model",
    required=("run",),
    run=None,
    ood_dataset="fake",
    ood_options={},
    layers=[],
    ood_when="either",
    reference={},
)
def _ood_table(request: Request) -> Part:
    from benchbench.analysis.ood import probe_run
    from benchbench.plugins.manager import load_components

    o = request.options
    named = sorted(  # of several seeds' runs, the first seed's is probed
        (r for r in request.runs if r.label == o["run"] and r.status == "complete"),
        key=lambda r: r.config.get("seed", 0),
    )
    if not named:
        raise BenchError(
            f"Table {request.title!r}: no complete run labelled {o['run']!r} in this sweep."
        )
    probe = probe_run(
        request.store,
        named[0],
        load_components(),
        dataset=o["ood_dataset"],
        options=dict(o["ood_options"]),
        layers=list(o["layers"]) or None,
        ood_when=o["ood_when"],
    )
    part = ood_part(probe.results, named[0], o["ood_dataset"], request.title)
    if o["reference"]:  # the seed's accuracy per layer: {our layer: value}
        seed = [o["reference"].get(layer) for layer in part.raw["layer"]]
        part.shown["Detection accuracy (seed)"] = [
            "–" if v is None else f"{float(v):.4f}" for v in seed
        ]
        part.raw["accuracy_seed"] = [math.nan if v is None else float(v) for v in seed]
        part.notes.append("(seed): the seed report's own number for that layer.")
    return part


@table_kind(
    "profile",
    "time to target across [[workloads]]: AlgoPerf's performance-profile score and the "
    "speedup over a reference algorithm per [[algorithms]] entry, and the median times",
    reference=None,
    tau_max=4.0,
)
def _profile_table(request: Request) -> Part:
    from benchbench.analysis import profile

    o = request.options
    result = profile.from_members(
        request.members,
        {r.id: r for r in request.runs},
        reference=o["reference"],
        tau_max=float(o["tau_max"]),
    )
    return profile.part(result, request.runs, request.title)


@table_kind(
    "targets",
    "each named row's mean test accuracy over its seeds against the least accuracy a "
    'claim needs ("best row": the best row\'s), met, not met or split between seeds',
    required=(),
    targets={},
    above_chance=None,
    baseline=None,  # the row a report's prose reads differences against (row_facts)
)
def _targets_table(request: Request) -> Part:
    from benchbench.analysis.targets import seed_numbers
    from benchbench.analysis.targets import targets_part

    o = request.options
    targets = {str(k): float(v) for k, v in o["targets"].items()}
    chance = None if o["above_chance"] is None else float(o["above_chance"])
    return targets_part(
        request.runs, request.store, targets, seed_numbers(request.suite), request.title, chance
    )


@hookimpl
def benchbench_register_table_kinds(registry):
    for kind in KINDS:
        registry.add(kind.name, lambda k=kind: k, description=kind.about)
