"""Running a suite: every run content-addressed, skipped when done, failures isolated.

Where the runs train is the executor's business (:mod:`benchbench.execution.executors`).
A run that diverges, runs out of memory or crashes is stored as failed (or diverged)
with its error, and the sweep carries on. Re-running a sweep after a crash, a kill or a
Ctrl-C runs only what is missing.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace

from benchbench.config import RunConfig
from benchbench.errors import BenchError
from benchbench.errors import did_you_mean
from benchbench.execution.executors import Events
from benchbench.execution.executors import Executor
from benchbench.execution.suite import Suite
from benchbench.execution.suite import expand_overrides
from benchbench.execution.suite import smoke_suite
from benchbench.execution.suite import to_config
from benchbench.metrics import stored_value
from benchbench.plugins.manager import Components
from benchbench.results.store import Store


@dataclass
class Tally:
    """What a sweep did, for the closing summary."""

    completed: int = 0
    skipped: int = 0
    diverged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    retried: list[tuple[str, int]] = field(default_factory=list)  # run -> attempts made
    best: dict[str, dict] = field(default_factory=dict)  # tuned row -> chosen values

    @property
    def total(self) -> int:
        return self.completed + self.skipped + self.diverged + len(self.failed)


# -- the driver ----------------------------------------------------------------------------


def suite_key(suite: Suite, smoke: bool) -> str:
    return f"{suite.name} [smoke]" if smoke else suite.name


def run_suite(
    suite: Suite,
    components: Components,
    store: Store,
    executor: Executor,
    *,
    overrides: list[str] = (),
    smoke: bool = False,
    device: str = "auto",
    only: list[str] = (),
    events: Events | None = None,
) -> Tally:
    """Run every group of ``suite`` (or those in ``only``); tuning steps wait for the
    results they depend on."""
    from benchbench.training import device as devices

    events = events or Events()
    _check_tables(suite)  # a table the report could not render fails before any training
    if smoke:
        suite = smoke_suite(suite)
    key = suite_key(suite, smoke)
    # Where the runs execute decides what `auto` means (a cluster's nodes, not this one).
    resolve = getattr(executor, "resolve_device", None)
    device = resolve(device) if resolve is not None else str(devices.resolve(device))

    plan = plan_suite(suite, components, overrides=overrides, smoke=smoke, device=device, only=only)
    suite, configs_of, available = plan.suite, plan.configs_of, plan.available
    groups = plan.groups
    tally = Tally()
    # Only the groups swept now are rewritten: `--group X` leaves the others' rows. A group
    # the suite no longer has (its file was edited since) goes: its rows would mislabel.
    gone = {m["group"] for m in store.suite_members(key)} - set(available)
    swept = [g for g, _ in groups] + (["tune"] if suite.tune else [])
    # Every planned group's members are written before anything trains: a sweep stopped in
    # its first group leaves the later groups' rows (and their stored runs) in the report.
    # Tuning's members depend on results: they are rewritten when tuning starts.
    store.forget_suite(key, [g for g in swept if g != "tune"] + sorted(gone))
    swept_at = suite.profile.name if suite.profile else None  # recorded with its rows
    for group, configs in groups:
        store.add_to_suite(key, group, [_member(suite, group, c) for c in configs], swept_at)
    events.planned(sum(len(c) for _, c in groups) + tune_size(suite))
    for _group, configs in groups:
        _run(executor, configs, events, tally)
    if suite.tune is not None:
        store.forget_suite(key, ["tune"])
        seeds = (
            suite.seeds
            if len(suite.seeds) == suite.tune.repeats
            else [suite.seeds[0] + i for i in range(suite.tune.repeats)]
        )
        for row in suite.tuned_rows():
            best: dict = {}
            for setting in suite.tune.order:
                steps = suite.tune_step(row, setting, best)
                configs = configs_of(steps, seeds, grid=False)
                values = suite.tune.values[setting]
                chunks = [
                    configs[i * len(seeds) : (i + 1) * len(seeds)] for i in range(len(values))
                ]
                store.add_to_suite(
                    key,
                    "tune",
                    [
                        (c.run_id, setting, value, c.label)
                        for value, chunk in zip(values, chunks, strict=True)
                        for c in chunk
                    ],
                    swept_at,
                )
                _run(executor, configs, events, tally)
                scores = [_score(store, chunk, suite.tune.metric) for chunk in chunks]
                if all(math.isnan(s) for s in scores):
                    raise BenchError(
                        f"suite {suite.name}: every run tuning {setting} for "
                        f"{row.get('name') or 'base'} failed; see the failures."
                    )
                chosen = max(
                    range(len(scores)),
                    key=lambda i: -math.inf if math.isnan(scores[i]) else scores[i],
                )
                best[setting] = suite.tune.values[setting][chosen]
            tally.best[row.get("name") or "base"] = best
    return tally


@dataclass
class SweepPlan:
    """What a sweep of a suite runs: its groups' configs (tuning's depend on results and
    are made by ``configs_of`` as it goes), the groups the suite has, and the suite as it
    runs (without tuning when it is not among the groups asked for)."""

    suite: Suite
    groups: list[tuple[str, list[RunConfig]]]
    configs_of: Callable
    available: list[str]


def plan_suite(
    suite: Suite,
    components: Components,
    *,
    overrides: list[str] = (),
    smoke: bool = False,
    device: str = "cpu",
    only: list[str] = (),
) -> SweepPlan:
    """The runs of ``suite``'s groups (or those in ``only``) with ``overrides`` on every
    run, each config checked against the installed plugins: no data, no training."""
    if suite.profile is not None:  # its settings come first: the command line's win
        overrides = [*suite.profile.sets, *overrides]
        only = list(only) or suite.profile.groups
    combos = expand_overrides(list(overrides))

    def configs_of(rows: list[dict], seeds=None, grid: bool = True) -> list[RunConfig]:
        """Each row's runs, one per seed: ``seeds``, else the row's own (or the suite's)."""
        out = []
        for row in rows:
            for items, suffix in combos if grid else combos[:1]:  # `--set KEY=A,B` grids
                named = row
                if suffix:
                    named = {**row, "name": " ".join(filter(None, [row.get("name"), suffix]))}
                for seed in seeds or suite.seeds_of(row):
                    try:
                        config = to_config(named, seed, items, smoke)
                    except BenchError as exc:
                        raise BenchError(f"suite {suite.name}: {exc}") from None
                    out.append(replace(config, device=str(device)))
        for config in out:  # each row's own options: checking is signatures, no data
            try:  # unknown names or options, a missing data folder: fail before any run
                components.check(config)
            except BenchError as exc:
                row = f", row {config.label!r}" if config.label else ""
                raise BenchError(f"suite {suite.name}{row}: {exc}") from None
        return [components.with_providers(c) for c in out]

    if len(combos) > 1 and suite.tune is not None and (not only or "tune" in only):
        raise BenchError(
            f"suite {suite.name}: --set with comma lists makes a grid of every row, but "
            "tuning steps take one value per setting. Run the groups without tuning "
            "(--group NAME), or put the values in the suite's [tune] table."
        )
    groups = suite.groups()
    available = [g for g, _ in groups] + (["tune"] if suite.tune else [])
    unknown = [g for g in only if g not in available]
    if unknown:
        raise BenchError(
            f"--group {unknown[0]!r}: suite {suite.name} has the groups "
            f"{', '.join(available)}.{did_you_mean(unknown[0], available)}"
        )
    if only:
        groups = [(g, rows) for g, rows in groups if g in only]
        if "tune" not in only:
            suite = replace(suite, tune=None)
    return SweepPlan(
        suite, [(group, configs_of(rows)) for group, rows in groups], configs_of, available
    )


def _member(suite: Suite, group: str, config: RunConfig) -> tuple:
    """``config``'s row of ``group``: its run id and label and, for a workload's run, the
    workload and algorithm it times (``bench profile`` reads them)."""
    if group == "workloads":  # its row's name, or that name and a `--set A,B` suffix
        named = [
            (row["name"], {"workload": workload, "algorithm": algorithm})
            for workload, algorithm, row in suite.cells()
            if config.label == row["name"] or config.label.startswith(row["name"] + " ")
        ]
        if named:  # the longest: "Adam on w x" is workload "w x", not "w" with a suffix
            _, cell = max(named, key=lambda n: len(n[0]))
            return (config.run_id, "workload", cell, config.label)
    return (config.run_id, None, None, config.label)


def _check_tables(suite: Suite) -> None:
    """Every metric a table of ``suite`` names exists (plugins' metrics included)."""
    from benchbench.metrics import METRICS
    from benchbench.metrics import known

    for table in suite.tables:
        unknown = [m for m in table.options.get("metrics") or [] if not known(m)]
        if unknown:
            raise BenchError(
                f"suite {suite.name}: table {table.title!r} names the unknown metric "
                f"{unknown[0]!r}.{did_you_mean(unknown[0], METRICS)} Fix the suite file "
                f"(metrics: {', '.join(METRICS)}); nothing was trained."
            )


def tune_size(suite: Suite) -> int:
    if suite.tune is None:
        return 0
    steps = sum(len(suite.tune.values[k]) for k in suite.tune.order)
    return steps * suite.tune.repeats * len(suite.tuned_rows())


def _run(executor: Executor, configs: list[RunConfig], events: Events, tally: Tally) -> None:
    for config, status, error in executor.run(configs, events):
        if status == "skipped":
            tally.skipped += 1
        elif status == "complete":
            tally.completed += 1
        elif status == "diverged":
            tally.diverged += 1
        else:
            tally.failed.append((f"{config.label} seed {config.seed} [{config.run_id}]", error))
        attempts = getattr(executor, "attempts", {}).get(config.run_id, 1)
        if attempts > 1:
            tally.retried.append((f"{config.label} seed {config.seed} [{config.run_id}]", attempts))
        events.finished(config, status)


def _score(store: Store, configs: list[RunConfig], metric: str) -> float:
    values = []
    for config in configs:
        stored = store.get(config.run_id)
        if stored is not None and stored.status == "complete":
            value = stored_value(stored.summary, metric)
            if value is not None and not math.isnan(value):
                values.append(value)
    return statistics.fmean(values) if values else math.nan
