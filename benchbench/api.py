"""The application layer: what ``bench``'s commands, ``reports/generate.py`` and a
notebook all call. The CLI parses options and prints; everything it decides lives here.

    from benchbench import api
    from benchbench.config import RunConfig

    summaries = api.run(RunConfig(arch="mlp", epochs=3), seeds=[0, 1, 2])
    print(api.report(api.stored_runs(where=["arch=mlp"]), fmt="markdown"))
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchbench.config import RunConfig
from benchbench.errors import BenchError
from benchbench.plugins.manager import Components
from benchbench.plugins.manager import load_components
from benchbench.results.store import Store


def open_store(results: Path | str | None = None) -> Store:
    """The results store under ``results`` (default ``$BENCH_RESULTS`` or ./bench-results)."""
    return Store(results)


def cache_dir() -> Path:
    """Where benchbench keeps what it derives from datasets once (decoded arrays):
    ``$BENCH_CACHE_DIR``, else ``~/.cache/benchbench``."""
    from benchbench.data import arraycache

    return arraycache.cache_dir()


def plan_runs(
    config: RunConfig, seeds: list[int] | None = None, components: Components | None = None
) -> list[RunConfig]:
    """``config`` validated, its names checked against the plugins and its device resolved,
    once per seed (``seeds`` replaces ``config.seed``)."""
    from benchbench.training import device as devices

    components = components or load_components()
    config = config.validated()
    components.check(config)  # unknown names fail here, before any data is loaded
    config = components.with_providers(config)
    config = replace(config, device=str(devices.resolve(config.device)))
    return [replace(config, seed=s) for s in seeds] if seeds else [config]


def config_from_file(
    path: Path | str, given: dict[str, Any] | None = None, sets: list[str] = ()
) -> RunConfig:
    """The run described by TOML file ``path`` (a suite's ``[base]`` keys), with
    ``given`` settings and ``sets`` (``--set``) on top of it; validated."""
    import re

    from benchbench.execution.suite import read_run_file
    from benchbench.execution.suite import to_config

    settings = dict(read_run_file(Path(path)))
    from_file = dict(settings)
    for key, value in (given or {}).items():
        settings[key] = list(value) if isinstance(value, tuple) else value
    seed = settings.pop("seed", 0)
    try:
        return to_config(settings, seed, list(sets))  # the command line's --set wins
    except BenchError as exc:
        flag = re.match(r"--([a-z0-9-]+)", str(exc))
        key = flag[1].replace("-", "_") if flag else None
        if key in from_file and key not in (given or {}):
            raise BenchError(
                f"{path}: key {key} = {from_file[key]!r} is not valid: "
                f"{str(exc).split(': ', 1)[-1]} Fix it in that file (or override it on the "
                "command line)."
            ) from None
        raise


def run_summary(config: RunConfig, result, store: Store) -> dict:
    """The JSON summary ``bench run --json`` prints for one run."""
    record = result.record
    return {
        "run_id": record.id,
        "label": record.label,
        "seed": config.seed,
        "status": record.status,
        "skipped": result.skipped,
        "results": str(store.root),
        **record.summary,
    }


def run(
    config: RunConfig,
    *,
    seeds: list[int] | None = None,
    results: Path | str | None = None,
    force: bool = False,
    components: Components | None = None,
    progress: Callable[[RunConfig], Any] | None = None,
    on_result: Callable[[RunConfig, Any], None] | None = None,
    vectorize: bool = False,
    policy=None,
) -> list[dict]:
    """Run ``config`` (once per seed), skipping what is stored unless ``force``.

    ``progress(config)`` may return a context manager whose value has ``epoch(record)``
    and ``batch(done, total)`` methods (a live display); ``on_result(config, result)`` is
    called as each run ends. With ``vectorize``, the seeds train as one batched model
    where a probe finds that faster (:mod:`benchbench.training.vectorized`), else one
    after another. ``policy`` (a :class:`~benchbench.training.resume.ResumePolicy`) says
    when runs write resume points; a run with one continues from it. Returns one summary
    dict per run.
    """
    from benchbench.execution.runner import execute
    from benchbench.execution.runner import execute_vectorized

    components = components or load_components()
    store = open_store(results)
    planned = plan_runs(config, seeds, components)
    decided: dict = {}  # how --vectorize decided, recorded with runs trained one by one
    if vectorize and len(planned) > 1:
        first = planned[0]
        with progress(first) if progress else nullcontext() as display:
            shown = getattr(display, "epoch", None)
            batched = execute_vectorized(
                planned,
                components,
                store,
                force=force,
                on_epoch=lambda one, record: shown(record) if shown and one is first else None,
                decided=decided,
                policy=policy,
            )
        if batched is not None:
            for one, result in zip(planned, batched, strict=True):
                if on_result is not None:
                    on_result(one, result)
            return [run_summary(one, r, store) for one, r in zip(planned, batched, strict=True)]
    summaries = []
    for one in planned:
        with progress(one) if progress else nullcontext() as display:
            result = execute(
                one,
                components,
                store,
                force=force,
                on_epoch=getattr(display, "epoch", None),
                on_batch=getattr(display, "batch", None),
                policy=policy,
                decided=decided,
            )
        if on_result is not None:
            on_result(one, result)
        summaries.append(run_summary(one, result, store))
    return summaries


def find_suite(
    name_or_path: str,
    seeds: list[int] | None = None,
    profile: str | None = None,
    *,
    swept: bool = False,
    results: Path | str | None = None,
    smoke: bool = False,
):
    """A built-in suite by name or a suite file, as its ``profile`` runs it (if given);
    ``seeds`` replaces its seeds and repeats. With ``swept`` and no ``profile``: at the
    profile its (``smoke``) rows stored in ``results`` were swept at (`bench sweep
    --profile`), as written where they were swept so or are not there."""
    from benchbench.execution import suite as suites
    from benchbench.results.query import swept_profile

    parsed = suites.find(name_or_path)
    if profile is None and swept:
        profile = swept_profile(open_store(results), suite_key(parsed, smoke))
    parsed = parsed.with_profile(profile)
    return parsed if seeds is None else parsed.with_seeds(seeds)


def sweep(
    suite,
    *,
    results: Path | str | None = None,
    overrides: list[str] = (),
    data_dir: Path | str | None = None,
    smoke: bool = False,
    groups: list[str] = (),
    executor: str = "local",
    workers: int = 2,
    address: str | None = None,
    device: str = "auto",
    force: bool = False,
    components: Components | None = None,
    events=None,
    **executor_options,
):
    """Run every missing run of ``suite`` (a name, a path, or a parsed Suite); returns the
    sweep's :class:`~benchbench.execution.orchestrator.Tally`."""
    from benchbench.execution.executors import make_executor
    from benchbench.execution.orchestrator import run_suite

    if isinstance(suite, str):
        suite = find_suite(suite)
    overrides = list(overrides)
    if data_dir is not None:
        overrides.append(f"data_dir={Path(data_dir).expanduser().resolve()}")
    components = components or load_components()
    store = open_store(results)
    chosen = make_executor(
        executor,
        components,
        store,
        force=force,
        workers=workers,
        address=address,
        **executor_options,
    )
    try:
        return run_suite(
            suite,
            components,
            store,
            chosen,
            overrides=overrides,
            smoke=smoke,
            device=device,
            only=list(groups),
            events=events,
        )
    finally:
        chosen.close()


def plan(
    suite,
    *,
    overrides: list[str] = (),
    data_dir: Path | str | None = None,
    smoke: bool = False,
    groups: list[str] = (),
    device: str = "auto",
):
    """The runs a sweep of ``suite`` would train, without data or training: a list of
    ``(group, RunConfig)``, each config checked against the installed plugins, and the
    size of its tuning (runs made step by step, as results come in; 0 without)."""
    from benchbench.execution.orchestrator import plan_suite
    from benchbench.execution.orchestrator import tune_size
    from benchbench.execution.suite import smoke_suite
    from benchbench.training import device as devices

    if device == "auto":  # what a sweep here would train on; a named device as given
        device = str(devices.resolve(device))
    if isinstance(suite, str):
        suite = find_suite(suite)
    overrides = list(overrides)
    if data_dir is not None:
        overrides.append(f"data_dir={Path(data_dir).expanduser().resolve()}")
    planned = plan_suite(
        smoke_suite(suite) if smoke else suite,
        load_components(),
        overrides=overrides,
        smoke=smoke,
        device=device,
        only=list(groups),
    )
    runs = [(group, config) for group, configs in planned.groups for config in configs]
    return runs, tune_size(planned.suite)


def tune(
    suite,
    *,
    results: Path | str | None = None,
    study: str | None = None,
    trials: int | None = None,
    time_budget: str | None = None,
    workers: int = 1,
    smoke: bool = False,
    overrides: list[str] = (),
    components: Components | None = None,
    policy=None,
    on_trial: Callable[[Any], None] | None = None,
    executor: str = "process",
    address: str | None = None,
    cpus_per_worker: float = 1,
) -> dict:
    """Run the study of ``suite``'s ``[tune]`` (a name, path or Suite) to its budget (or
    ``trials``/``time_budget``), continuing what is stored, with ``workers`` processes (or
    Ray tasks: ``executor="ray"``, on the cluster at ``address``, ``cpus_per_worker``
    each); then the best settings on fresh seeds. Returns the outcome
    (:func:`benchbench.execution.study.final`): best value, parameters, run file, final
    seeds' test accuracy."""
    from benchbench.execution import study as studying
    from benchbench.results.studies import check_name

    if isinstance(suite, str):
        suite = find_suite(suite)
    if suite.study is None:
        hint = (
            " Its [tune] tunes one setting at a time: `bench sweep` runs that."
            if suite.tune is not None
            else ""
        )
        raise BenchError(
            f"Suite {suite.name!r} has no study: bench tune needs a [tune] table with a "
            f"[tune.space] of settings to search.{hint}"
        )
    if workers < 1:
        raise BenchError(f"-j {workers}: give at least 1 worker.")
    spec = suite.study.with_budget(trials, time_budget)
    components = components or load_components()
    name = check_name(study or (f"{suite.name}-smoke" if smoke else suite.name))
    plan = studying.Plan(
        name, dict(suite.base), suite.seeds[0], tuple(overrides), smoke, open_store(results).root
    )
    first = plan.config({k: d.ends()[0] for k, d in spec.space.items()}, name)
    components.check(first)  # unknown names fail before the study is made
    if executor == "ray":
        studying.work_on_ray(spec, plan, workers, policy, address, cpus_per_worker)
    elif executor != "process":
        raise BenchError(f"--executor {executor!r}: a study runs on process or ray workers.")
    elif workers > 1:
        studying.work_in_processes(spec, plan, workers, policy)
    else:
        studying.work(spec, plan, components, policy, on_trial)
    return studying.final(spec, plan, components, policy)


def stored_runs(
    results: Path | str | None = None, where: list[str] = (), smoke: bool = False
) -> list:
    """Stored runs (every status) matching ``where`` (``KEY=VALUE`` settings): results, or
    with ``smoke`` only the smoke runs (wiring checks)."""
    from benchbench.results.query import matching

    store = open_store(results)
    records = store.runs(smoke=smoke)
    if not records:
        kind = "smoke runs" if smoke else "runs"
        hint = "" if smoke or not store.runs(smoke=True) else " (only smoke runs: add --smoke)"
        raise BenchError(
            f"No {kind} stored in {store.root}{hint}. Run `bench run` first, or pass "
            "--results DIR where your runs live."
        )
    records = matching(records, list(where))
    if not records:
        raise BenchError(f"No stored run matches {' '.join(where)}.")
    return records


def load_runs(results: Path | str | None = None, where: list[str] = (), smoke: bool = False):
    """Stored runs as a pandas DataFrame, one row per run: ``run_id``, ``label``,
    ``status``, ``smoke``, ``started``/``finished`` (UTC timestamps), every setting by name
    (plugin options as ``arch.OPTION``, ``dataset.OPTION``, ``aug.NAME.OPTION``), every
    metric of the summary, and the environment as ``env.KEY`` columns."""
    from benchbench.results.query import matching

    return runs_frame(matching(open_store(results).runs(smoke=smoke), list(where)))


def runs_frame(records: list):
    """``records`` as :func:`load_runs` lays them out, one row per run."""
    import pandas as pd

    rows = []
    for r in records:
        row = {
            "run_id": r.id,
            "label": r.label,
            "status": r.status,
            "smoke": r.smoke,
            "started": pd.Timestamp(r.started, unit="s", tz="UTC"),
            "finished": pd.Timestamp(r.finished, unit="s", tz="UTC") if r.finished else pd.NaT,
            "error": r.error,
        }
        for key, value in r.config.items():
            if key in ("arch_options", "dataset_options"):
                row.update({f"{key.split('_')[0]}.{k}": v for k, v in value.items()})
            elif key == "aug_options":
                row.update(
                    {f"aug.{a}.{k}": v for a, options in value.items() for k, v in options.items()}
                )
            else:
                row[key] = "+".join(value) if key == "augs" else value
        row.update(r.summary)
        row.update({f"env.{k}": v for k, v in r.environment.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def load_history(results: Path | str | None = None, where: list[str] = (), smoke: bool = False):
    """Every stored epoch as a pandas DataFrame: ``run_id``, ``label`` and the epoch's
    record (``epoch``, ``lr``, losses, accuracies, seconds); joins :func:`load_runs`."""
    import pandas as pd

    from benchbench.results.query import matching

    store = open_store(results)
    rows = [
        {"run_id": r.id, "label": r.label, **epoch}
        for r in matching(store.runs(smoke=smoke), list(where))
        for epoch in store.history(r.id)
    ]
    return pd.DataFrame(rows)


RESUMABLE = ("interrupted", "running", "failed")


def resume_runs(
    records: list,
    results: Path | str | None = None,
    *,
    components: Components | None = None,
    policy=None,
    progress: Callable[[RunConfig], Any] | None = None,
    on_result: Callable[[RunConfig, Any], None] | None = None,
) -> list[dict]:
    """Continue every run of ``records`` that did not finish (interrupted, killed, failed)
    from its resume point, or from its start if it has none; finished runs and runs
    another process is training are left alone. Returns one summary per run resumed."""
    store = open_store(results)
    todo = [r for r in records if r.status in RESUMABLE and not store.held_elsewhere(r.id)]
    summaries = []
    for record in todo:
        summaries += run(
            record.run_config,
            results=store.root,
            components=components,
            policy=policy,
            progress=progress,
            on_result=on_result,
        )
    return summaries


def delete_runs(records: list, results: Path | str | None = None) -> None:
    """Remove ``records`` from the store: rows, epochs, suite memberships, artifacts."""
    open_store(results).delete([r.id for r in records])


def copy_runs(
    records: list,
    target: Path | str,
    results: Path | str | None = None,
    weights: bool | set = True,
) -> int:
    """Copy ``records`` (with their epochs, artifacts and suite memberships) from the
    store under ``results`` into the store under ``target``: to publish, share or merge
    results. ``weights``: copy every ``model.pt`` (True), none (False), or those of the
    run ids in a set. Returns how many runs were copied."""
    return open_store(results).copy_to(open_store(target), [r.id for r in records], weights)


def report(
    records: list,
    *,
    fmt: str = "markdown",
    metrics: tuple[str, ...] | None = None,
    group_by: tuple[str, ...] = (),
    ci: bool = False,
    baseline: str | None = None,
) -> str:
    """The report table of ``records`` (see :func:`stored_runs`) in ``fmt``."""
    from benchbench.analysis.tables import Spec
    from benchbench.metrics import DEFAULT_METRICS

    spec = Spec(metrics or DEFAULT_METRICS, group_by=group_by, ci=ci, baseline=baseline)
    return render(records, fmt, spec)


def provenance(records: list) -> str:
    """The line that says where ``records``' numbers came from (versions, commit, hosts,
    dates, scale); every rendered table ends with it."""
    from benchbench.analysis.tables import provenance as line

    return line([r for r in records if r.status in ("complete", "diverged")] or records)


def formats() -> list[str]:
    """Every output format: the built-ins, then those plugins add."""
    from benchbench.plugins.manager import current

    return [e.name for e in current().formats]


def check_format(fmt: str) -> None:
    """Refuse a format no loaded plugin renders, naming the known ones."""
    from benchbench.errors import did_you_mean

    known = formats()
    if fmt not in known:
        raise BenchError(
            f"--format {fmt!r}: choose one of {', '.join(known)}.{did_you_mean(fmt, known)}"
        )


def emit(
    parts: list,
    fmt: str,
    page_title: str = "benchbench report",
    figures: list[tuple[str, str]] = (),
    standalone: bool = False,
) -> str:
    """Render ``parts`` in format ``fmt`` (a built-in or a plugin's); ``figures``
    (caption, base64 PNG) go into HTML pages; ``standalone`` LaTeX is a whole document."""
    from benchbench.plugins.manager import current
    from benchbench.render.markup import Page

    check_format(fmt)
    render = current().formats.get(fmt).create({})
    return render(parts, Page(page_title, tuple(figures), standalone))


def render(records: list, fmt: str = "markdown", spec=None) -> str:
    """``records`` as one table laid out by ``spec`` (an analysis.tables.Spec), in ``fmt``."""
    from benchbench.analysis.tables import Spec
    from benchbench.analysis.tables import build

    check_format(fmt)
    return emit([build(records, spec or Spec())], fmt)


def suite_key(suite, smoke: bool = False) -> str:
    """Under which name a suite's sweep (or its ``--smoke`` sweep) is stored."""
    from benchbench.execution.orchestrator import suite_key as key

    return key(suite, smoke)


def suite_report(
    suite,
    *,
    results: Path | str | None = None,
    smoke: bool = False,
    fmt: str = "markdown",
    ci: bool = False,
) -> str:
    """Every table ``suite`` (a name, path or Suite) declares, from its last sweep; an HTML
    page also gets the figures of :func:`suite_figures`."""
    from benchbench.analysis.tables import suite_parts

    check_format(fmt)
    if isinstance(suite, str):
        suite = find_suite(suite)
    store = open_store(results)
    key = suite_key(suite, smoke)
    parts = suite_parts(store, suite, key, ci=ci)
    figures = suite_figures(store, suite, key) if fmt == "html" else []
    return emit(parts, fmt, f"{suite.name}: {suite.description}", figures)


def profile(
    suite,
    *,
    results: Path | str | None = None,
    smoke: bool = False,
    reference: str | None = None,
    tau_max: float | None = None,
):
    """Time to target across ``suite``'s ``[[workloads]]`` from its last sweep: the
    :class:`benchbench.analysis.profile.Profile` (scores, speedups, median times) and the
    stored runs it rests on. ``reference`` and ``tau_max`` default to the suite's profile
    table's, else its first algorithm and 4."""
    from benchbench.analysis import profile as profiles
    from benchbench.results.query import suite_members
    from benchbench.results.query import suite_runs

    if isinstance(suite, str):
        suite = find_suite(suite)
    if not suite.workloads:
        raise BenchError(
            f"Suite {suite.name} declares no [[workloads]] and [[algorithms]]: a profile "
            "times algorithms to a target on workloads (bench list suites: algoperf-mini)."
        )
    declared = next((t.options for t in suite.tables if t.kind == "profile"), {})
    store = open_store(results)
    key = suite_key(suite, smoke)
    members = suite_members(store, key, "workloads")
    if not members:
        raise BenchError(
            f"No sweep of suite {key!r} is stored in {store.root}. Run `bench sweep "
            f"{suite.name}{' --smoke' if smoke else ''}` first (with the same --results)."
        )
    runs = suite_runs(store, key, "workloads")
    result = profiles.from_members(
        members,
        {r.id: r for r in runs},
        reference=reference or declared.get("reference"),
        tau_max=float(tau_max or declared.get("tau_max") or profiles.TAU_MAX),
    )
    return result, runs


def study_report(name: str, *, results: Path | str | None = None, fmt: str = "markdown") -> str:
    """Study ``name``'s trials, best settings and final seeds, as tables in ``fmt``."""
    from benchbench.analysis.trials import study_parts

    check_format(fmt)
    return emit(study_parts(open_store(results), name), fmt, f"study {name}")


def draw_figures(
    suite,
    folder: Path | str,
    *,
    results: Path | str | None = None,
    smoke: bool = False,
    stem: str | None = None,
    formats: tuple[str, ...] = ("png", "pdf"),
    only: list[str] | None = None,
) -> list[dict]:
    """Draw ``suite``'s ``[[figures]]`` (or those named in ``only``) from its last sweep
    into ``folder`` as ``STEM-figNAME.FORMAT`` (``stem``: the suite's name; a figure
    given as text, ``.md``), each from the first seed's complete run of the runs it
    selects (a kind drawn over many runs: all of them), by the figure registry ``bench
    plot`` draws from. Returns per figure its name, kind, row, caption, run id (None if
    none is stored yet), paths, its text (a text figure's), and why it is not drawn
    (``missing``: no run yet, or data the figure needs are not here)."""
    from benchbench.render.figures import save
    from benchbench.results.query import selected

    if isinstance(suite, str):
        suite = find_suite(suite)
    store = open_store(results)
    key = suite_key(suite, smoke)
    kinds = load_components().figures
    tables = {t.title: t for t in suite.tables}
    out = []
    for figure in suite.figures:
        if only is not None and figure.name not in only:
            continue
        entry = kinds.get(figure.kind)
        runs = (
            selected(
                store,
                key,
                row=figure.row,
                group=figure.group,
                step=figure.step,
                where=figure.where,
            )
            if figure.selects
            else []
        )
        many = getattr(entry.factory, "many", False)
        drawn = {
            "name": figure.name,
            "kind": figure.kind,
            "row": figure.row,
            "caption": figure.caption,
            "run_id": runs[0][1].id if runs and not many else None,
            "paths": [],
            "text": None,
            "missing": None,
            "unavailable": False,  # runs are stored, but what drawing them needs is not
        }
        out.append(drawn)
        if figure.selects and not runs:
            drawn["missing"] = f"no complete run of {figure.row or figure.group} yet"
            continue
        options = dict(figure.options)
        if figure.table:  # the table's options are the kind's defaults
            accepted = entry.option_names() or set()
            given = tables[figure.table].options
            options = {**{k: v for k, v in given.items() if k in accepted}, **options}
        draw = entry.create(options)
        try:
            made = draw(store, runs if many else (runs[0][1] if runs else None))
        except (BenchError, FileNotFoundError) as exc:  # data not here, weights not stored
            drawn["missing"], drawn["unavailable"] = str(exc).rstrip("."), True
            continue
        if isinstance(made, str):
            drawn["text"] = made
        target = Path(folder) / f"{stem or suite.name}-fig{figure.name}"
        drawn["paths"] = [str(p) for p in save(made, target, formats)]
    return out


def suite_figures(store: Store, suite, key: str) -> list[tuple[str, str]]:
    """For an HTML page, per ``runs`` table: a box plot over repeats, and the best run's
    curves and confusion matrix; per ``profile`` table its performance profiles; as
    ``(caption, base64 PNG)``."""
    from benchbench.metrics import METRICS
    from benchbench.render import figures as plots
    from benchbench.results.query import suite_runs
    from benchbench.results.query import values_by

    out = []
    for table in suite.tables:
        if table.kind == "profile":
            o = table.options
            result, _ = profile(
                suite,
                results=store.root,
                smoke=key != suite.name,
                reference=o["reference"],
                tau_max=o["tau_max"],
            )
            figure = plots.performance_profiles(result, table.title)
            out.append((f"{table.title}: performance profiles", plots.to_base64(figure)))
        if table.kind != "runs":
            continue
        runs = [r for r in suite_runs(store, key, table.group) if r.status == "complete"]
        metric = table.options["metrics"][0]
        if not runs or metric not in METRICS:
            continue
        name = METRICS[metric].title
        groups = values_by(runs, metric, table.options["rows"])
        if any(len(v) > 1 for v in groups.values()):
            figure = plots.box(groups, table.options["rows"], name)
            out.append((f"{table.title}: {name} over repeats", plots.to_base64(figure)))
        best = max(runs, key=lambda r: r.summary[metric])
        curves = plots.curves(store.history(best.id), config=best.config)
        out.append((f"{table.title}: curves of {best.label} [{best.id}]", plots.to_base64(curves)))
        stored = store.confusion(best.id)
        if stored is not None:
            figure = plots.confusion(*stored)
            caption = f"{table.title}: normalized confusion matrix of {best.label}"
            out.append((caption, plots.to_base64(figure)))
    return out


def ensemble(
    records: list,
    *,
    results: Path | str | None = None,
    percents=(10, 20, 30, 40, 50, 100),
    fmt: str = "markdown",
) -> str:
    """Soft and hard voting over the best k% of ``records``, as a table in ``fmt``."""
    from benchbench.analysis.tables import ensemble_part

    part = ensemble_part(
        records, open_store(results), percents, "Ensembles of the best k% of the runs"
    )
    return emit([part], fmt)


def compare(
    a: str,
    b: str,
    *,
    results: Path | str | None = None,
    where: list[str] = (),
    metric: str = "test_acc",
    smoke: bool = False,
) -> tuple[dict, list]:
    """Runs ``a`` against runs ``b`` (each a label, a run-id prefix or ``KEY=VALUE``
    filters, among the runs ``where`` selects) on ``metric``: the numbers
    (:func:`benchbench.analysis.stats.compare`, with the sentence as ``verdict``) and the
    tables that show them."""
    from benchbench.analysis import compare as comparing
    from benchbench.analysis.stats import verdict
    from benchbench.metrics import known

    known(metric)  # a plugin's metric: load the plugins first
    records = stored_runs(results, list(where), smoke)
    side_a, side_b = comparing.select(records, a), comparing.select(records, b)
    result = comparing.comparison(side_a, side_b, metric)
    result["verdict"] = verdict(result, a, b, result["title"])
    return result, comparing.parts(result, a, b, side_a + side_b)


def aggregate(
    records: list,
    how: str = "iqm",
    *,
    metric: str = "test_acc",
    task: str = "dataset",
    recipe: str = "label",
    reference: str | None = None,
    fmt: str = "markdown",
) -> str:
    """``how`` (iqm, mean, median, optimality-gap) of ``metric`` per recipe across the
    tasks ``task`` names, with stratified bootstrap intervals, as a table in ``fmt``."""
    from benchbench.analysis.aggregate import aggregate_part
    from benchbench.metrics import known

    known(metric)
    return emit([aggregate_part(records, how, metric, task, recipe, reference)], fmt)
