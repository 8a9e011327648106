"""Studies: budgeted hyper-parameter search on Optuna, every trial an ordinary stored run.

A suite's ``[tune]`` with a ``[tune.space]`` is a study (without one, ``[tune]`` is the
one-at-a-time tuning ``bench sweep`` runs)::

    [tune]
    metric = "best_val_acc"     # any stored metric, or an epoch's val_acc, val_loss, ...
    direction = "maximize"      # default: the metric's own (higher or lower is better)
    trials = 40                 # and/or time_budget = "30m", epochs_budget = 400
    sampler = "tpe"             # tpe | random | qmc | grid | cmaes
    pruner = "median"           # median | hyperband | successive-halving | none
    final_seeds = 3             # the best settings again on fresh seeds: test mean ± std
    [tune.space]
    lr = {low = 1e-4, high = 1e-1, log = true}
    batch_size = [64, 128, 256]
    "arch.dropout" = {low = 0.0, high = 0.5}

Each trial trains the suite's base (with ``--set`` overrides) at the sampled settings and
seed, stored like any run and marked with its study (``bench runs --where study=NAME``);
the pruner sees each epoch's validation and stops hopeless trials, stored as ``pruned``
with the epochs they ran. The study lives in the results folder
(:mod:`benchbench.results.studies`): killed at any moment, the same command continues to
exactly its budget of finished trials; a trial whose process died is taken over and
continues from its run's resume point.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import socket
import time
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchbench.config import RunConfig
from benchbench.errors import BenchError
from benchbench.errors import did_you_mean
from benchbench.execution.runner import Pruned
from benchbench.execution.runner import execute
from benchbench.execution.runner import finished
from benchbench.metrics import METRICS
from benchbench.metrics import known
from benchbench.metrics import stored_value
from benchbench.results import studies
from benchbench.results.store import Store
from benchbench.results.store import alive
from benchbench.settings import SETTINGS

log = logging.getLogger(__name__)
status = logging.getLogger("benchbench.status")

KEYS = {
    "space",
    "metric",
    "direction",
    "trials",
    "time_budget",
    "epochs_budget",
    "sampler",
    "pruner",
    "final_seeds",
    "seed",
    "startup_trials",
    "warmup_epochs",
    "mode",
    "repeats",
}
SEARCH, ONE_AT_A_TIME = "search", "one-at-a-time"
MODES = (SEARCH, ONE_AT_A_TIME)
SAMPLERS = ("tpe", "random", "qmc", "grid", "cmaes")
PRUNERS = ("median", "hyperband", "successive-halving", "none")
EPOCH_KEYS = ("val_acc", "val_loss", "train_acc", "train_loss")  # an epoch's own numbers
# A summary metric the pruner follows epoch by epoch through this epoch number.
FOLLOWS = {
    "best_val_acc": "val_acc",
    "max_train_acc": "train_acc",
    "final_val_loss": "val_loss",
    "final_train_loss": "train_loss",
}
NOT_SEARCHED = {"seed", "name", "results", "device"}


@dataclass(frozen=True)
class Dimension:
    """One searched setting: a list of ``choices``, or a range ``low``..``high``."""

    key: str
    choices: tuple = ()
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    integer: bool = False

    def distribution(self):
        from optuna.distributions import CategoricalDistribution
        from optuna.distributions import FloatDistribution
        from optuna.distributions import IntDistribution

        if self.choices:
            return CategoricalDistribution([_encode(c) for c in self.choices])
        if self.integer:
            return IntDistribution(int(self.low), int(self.high), log=self.log, step=self.step or 1)
        return FloatDistribution(self.low, self.high, log=self.log, step=self.step)

    def ends(self) -> list:
        """The values that must make valid runs for every sample to."""
        return list(self.choices) if self.choices else [self.low, self.high]

    def grid(self) -> list | None:
        """Every value, where the dimension is finite (choices, or a stepped range)."""
        if self.choices:
            return [_encode(c) for c in self.choices]
        if self.step is not None and not self.log:
            count = int(round((self.high - self.low) / self.step)) + 1
            kind = int if self.integer else float
            return [kind(self.low + i * self.step) for i in range(count)]
        return None


def _encode(value):
    """A choice as Optuna stores it: lists (``augs``) as JSON text."""
    return json.dumps(value) if isinstance(value, list) else value


def _decode(value):
    if isinstance(value, str) and value.startswith("["):
        return json.loads(value)
    return value


@dataclass(frozen=True)
class StudySpec:
    """A parsed ``[tune]`` study."""

    space: dict[str, Dimension]
    metric: str = "best_val_acc"
    direction: str = "maximize"
    trials: int | None = None
    time_budget: float | None = None  # seconds of training over the study's trials
    epochs_budget: int | None = None
    sampler: str = "tpe"
    pruner: str = "median"
    final_seeds: int = 0
    seed: int = 0  # the sampler's
    startup_trials: int = 5  # trials the pruner waits for before it prunes
    warmup_epochs: int = 0  # epochs of each trial it never prunes
    mode: str = SEARCH  # or one-at-a-time: each setting's values in order, the best kept
    repeats: int = 1  # one-at-a-time: seeds per value (seed, seed + 1, ...)

    def with_budget(self, trials: int | None = None, time_budget: str | None = None):
        spec = self
        if trials is not None:
            spec = replace(spec, trials=_positive("--trials", trials))
        if time_budget is not None:
            spec = replace(spec, time_budget=parse_duration("--time-budget", time_budget))
        if spec.trials is None and spec.mode == ONE_AT_A_TIME:
            steps = sum(len(d.grid()) for d in spec.space.values())
            spec = replace(spec, trials=steps * spec.repeats)
        elif spec.trials is None and spec.sampler == "grid":
            spec = replace(spec, trials=math.prod(len(d.grid()) for d in spec.space.values()))
        if spec.trials is None and spec.time_budget is None and spec.epochs_budget is None:
            raise BenchError(
                "The study has no budget: give [tune] trials, time_budget or epochs_budget, "
                "or --trials / --time-budget."
            )
        return spec

    @property
    def maximize(self) -> bool:
        return self.direction == "maximize"


def parse_duration(what: str, value) -> float:
    """``90``, ``"90s"``, ``"30m"``, ``"2h"`` → seconds."""
    import re

    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(value))
    if not match or float(match[1]) <= 0:
        raise BenchError(f"{what} {value!r}: give a duration such as 90s, 30m or 2h.")
    return float(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[match[2]]


def _positive(what: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise BenchError(f"{what} {value!r}: a whole number of at least 1.")
    return value


# -- parsing ---------------------------------------------------------------------------------


def is_study(raw: dict) -> bool:
    """Whether a suite's ``[tune]`` table is a study (it has a search space)."""
    return "space" in raw or "sampler" in raw or "trials" in raw


def parse(raw: dict, fail, valid) -> StudySpec:
    """A suite's ``[tune]`` study; ``fail(key, why, section)`` raises, ``valid(settings)``
    raises BenchError when ``settings`` (changes to the base) make no valid run."""
    for key in raw:
        if key not in KEYS:
            fail(
                key,
                f"unknown key of a study.{did_you_mean(key, KEYS)} Allowed: "
                f"{', '.join(sorted(KEYS))}.",
                "tune",
            )
    space = raw.get("space")
    if not isinstance(space, dict) or not space:
        fail(
            "space",
            "the settings to search, as [tune.space]: a range such as lr = {low = 1e-4, "
            "high = 0.1, log = true} or a list of choices such as batch_size = [64, 128].",
            "tune",
        )
    dimensions = {key: _dimension(key, value, fail) for key, value in space.items()}
    for dim in dimensions.values():
        for value in dim.ends():
            try:
                valid({dim.key: value})
            except BenchError as exc:
                fail(dim.key, f"{value!r} makes no valid run: {exc}", "tune.space")

    metric = raw.get("metric", "best_val_acc")
    if not isinstance(metric, str) or not (metric in EPOCH_KEYS or known(metric)):
        choices = [*EPOCH_KEYS, *METRICS]
        fail(
            "metric",
            f"not a stored metric.{did_you_mean(str(metric), choices)} Choose one of "
            f"{', '.join(choices)}.",
            "tune",
        )
    higher = "acc" in metric if metric in EPOCH_KEYS else METRICS[metric].higher_is_better
    direction = raw.get("direction", "maximize" if higher else "minimize")
    if direction not in ("maximize", "minimize"):
        fail("direction", "maximize or minimize.", "tune")

    def count(key: str, default=None):
        value = raw.get(key, default)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            fail(key, "a whole number (0 or more).", "tune")
        return value

    def choice(key: str, options, default: str) -> str:
        value = raw.get(key, default)
        if value not in options:
            fail(
                key,
                f"choose one of {', '.join(options)}.{did_you_mean(str(value), options)}",
                "tune",
            )
        return value

    trials = count("trials")
    if trials == 0:
        fail("trials", "a whole number of at least 1.", "tune")
    time_budget = None
    if "time_budget" in raw:
        try:
            time_budget = parse_duration("time_budget", raw["time_budget"])
        except BenchError as exc:
            fail("time_budget", str(exc).split(": ", 1)[1], "tune")
    mode = choice("mode", MODES, SEARCH)
    walks = mode == ONE_AT_A_TIME
    sampler = choice("sampler", SAMPLERS, "grid" if walks else "tpe")
    if walks and sampler != "grid":
        fail(
            "sampler",
            f"mode = {ONE_AT_A_TIME!r} walks each setting's values in order, a grid one "
            "setting at a time: leave sampler out (or give grid).",
            "tune",
        )
    if "repeats" in raw and not walks:
        fail(
            "repeats",
            f"seeds per value belong to mode = {ONE_AT_A_TIME!r}; a search trains each "
            "trial once (final_seeds repeats its best).",
            "tune",
        )
    repeats = count("repeats", 1)
    if repeats == 0:
        fail("repeats", "a whole number of at least 1.", "tune")
    if sampler == "grid":
        ranged = [d.key for d in dimensions.values() if d.grid() is None]
        if ranged:
            fail(
                "sampler" if not walks else "mode",
                f"the grid sampler needs every searched setting finite: {ranged[0]!r} is a "
                "continuous range (give a list of choices, or a step).",
                "tune",
            )
    spec = StudySpec(
        dimensions,
        metric,
        direction,
        trials,
        time_budget,
        count("epochs_budget"),
        sampler,
        choice("pruner", PRUNERS, "none" if walks else "median"),
        count("final_seeds", 0),
        count("seed", 0),
        count("startup_trials", 5),
        count("warmup_epochs", 0),
        mode,
        repeats,
    )
    return spec


def _dimension(key: str, value, fail) -> Dimension:
    section = "tune.space"
    scope = key.split(".")[0]
    plugin = "." in key and scope in ("arch", "dataset", "aug")
    if not plugin and (key not in SETTINGS or key in NOT_SEARCHED):
        searchable = sorted(set(SETTINGS) - NOT_SEARCHED)
        fail(
            key,
            f"not a setting a study can search.{did_you_mean(key, searchable)} Search run "
            'settings by name (lr, batch_size, ...) or plugin options ("arch.dropout").',
            section,
        )
    kind = None if plugin else SETTINGS[key].kind
    if isinstance(value, list):
        if not value:
            fail(key, "an empty list of choices: give at least one value.", section)
        if kind in ("strs", "ints"):
            if not all(isinstance(v, list) for v in value):
                fail(key, f"{key} takes a list, so give a list of lists: [[], ['hflip']].", section)
        else:
            expected = {int: (int,), float: (int, float), str: (str,), bool: (bool,)}.get(kind)
            if expected is None:  # a plugin option: one type throughout
                kinds = {type(v) for v in value}
                expected = (float, int) if kinds <= {int, float} else tuple(kinds)
                if len(expected) > 1 and not kinds <= {int, float}:
                    fail(key, "mixed types in the choices: give values of one type.", section)
            wrong = [
                v
                for v in value
                if not isinstance(v, expected) or (bool not in expected and isinstance(v, bool))
            ]
            if wrong:
                fail(
                    key,
                    f"{wrong[0]!r} is a {type(wrong[0]).__name__}; {key} takes "
                    f"{' or '.join(t.__name__ for t in expected)} values.",
                    section,
                )
        if len(set(map(_encode, value))) != len(value):
            fail(key, "a choice is listed twice.", section)
        return Dimension(key, tuple(value))
    if isinstance(value, dict):
        unknown = set(value) - {"low", "high", "log", "step"}
        if unknown:
            fail(
                key,
                f"unknown key {sorted(unknown)[0]!r}: a range has low, high, log, step.",
                section,
            )
        low, high = value.get("low"), value.get("high")
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
        if not numbers:
            fail(key, "a range needs numbers low and high: {low = 0.001, high = 0.1}.", section)
        if kind not in (None, int, float):
            fail(key, f"{key} is not a number: give a list of choices.", section)
        if not low < high:
            fail(key, f"an empty range: low ({low}) must be below high ({high}).", section)
        log_scale = value.get("log", False)
        if not isinstance(log_scale, bool):
            fail(key, "log is true or false.", section)
        if log_scale and low <= 0:
            fail(key, f"a log range needs low > 0 (it is {low}).", section)
        step = value.get("step")
        if step is not None and (
            not isinstance(step, (int, float)) or isinstance(step, bool) or step <= 0 or log_scale
        ):
            fail(key, "step is a positive number, and a log range takes none.", section)
        integer = kind is int or (kind is None and isinstance(low, int) and isinstance(high, int))
        if integer and not (isinstance(low, int) and isinstance(high, int)):
            fail(key, f"{key} is a whole number: give whole low and high.", section)
        return Dimension(key, (), low, high, log_scale, step, integer)
    fail(
        key,
        "give a range {low = …, high = …} (log = true for a log scale) or a list of choices.",
        section,
    )
    raise AssertionError  # fail raised


# -- running ---------------------------------------------------------------------------------


@dataclass
class Plan:
    """What a study's trials train: the suite's row, its seed, overrides, scale."""

    name: str
    row: dict[str, Any]
    seed: int
    overrides: tuple[str, ...] = ()
    smoke: bool = False
    results: Path = field(default_factory=Path)

    def config(
        self, params: dict, label: str, seed: int | None = None, components=None
    ) -> RunConfig:
        """The run of a trial's ``params``, device resolved (``components``: with the
        plugins that provide its parts, as it is trained and stored)."""
        from benchbench.execution.suite import to_config
        from benchbench.training import device as devices

        settings = {**self.row, **{k: _decode(v) for k, v in params.items()}, "name": label}
        seed = self.seed if seed is None else seed
        config = to_config(settings, seed, self.overrides, self.smoke)
        config = replace(config, device=str(devices.resolve(config.device)))
        return components.with_providers(config) if components is not None else config


def fingerprint(spec: StudySpec, plan: Plan) -> str:
    """What a study was made from: a second command with other settings is refused."""
    made_of = {
        "space": {k: asdict(d) for k, d in spec.space.items()},
        "metric": spec.metric,
        "direction": spec.direction,
        "sampler": spec.sampler,
        "pruner": spec.pruner,
        "row": plan.row,
        "seed": plan.seed,
        "overrides": list(plan.overrides),
        "smoke": plan.smoke,
    }
    if spec.mode != SEARCH:  # (a search's fingerprint as before the modes)
        made_of.update(mode=spec.mode, repeats=spec.repeats)
    text = json.dumps(made_of, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _sampler(spec: StudySpec):
    optuna = studies.optuna()
    samplers = optuna.samplers
    if spec.mode == ONE_AT_A_TIME:
        return samplers.RandomSampler(seed=spec.seed)  # never asked: every trial is enqueued
    if spec.sampler == "grid":

        class Grid(samplers.GridSampler):
            def after_trial(self, study, trial, state, values) -> None:
                pass  # it would stop the study: the budget (the grid's size) does here

        return Grid({k: d.grid() for k, d in spec.space.items()}, seed=spec.seed)
    if spec.sampler == "cmaes":
        try:
            import cmaes  # noqa: F401
        except ImportError:
            raise BenchError(
                "sampler = 'cmaes' needs the cmaes package: pip install 'benchbench[tune]'."
            ) from None
        return samplers.CmaEsSampler(seed=spec.seed, n_startup_trials=spec.startup_trials)
    if spec.sampler == "qmc":
        return samplers.QMCSampler(seed=spec.seed, warn_independent_sampling=False)
    if spec.sampler == "random":
        return samplers.RandomSampler(seed=spec.seed)
    return samplers.TPESampler(seed=spec.seed, n_startup_trials=spec.startup_trials)


def _pruner(spec: StudySpec, epochs: int):
    pruners = studies.optuna().pruners
    if spec.pruner == "median":
        return pruners.MedianPruner(
            n_startup_trials=spec.startup_trials, n_warmup_steps=spec.warmup_epochs
        )
    if spec.pruner == "hyperband":
        return pruners.HyperbandPruner(min_resource=1, max_resource=max(epochs, 1))
    if spec.pruner == "successive-halving":
        return pruners.SuccessiveHalvingPruner(min_resource=1)
    return pruners.NopPruner()


def open_study(spec: StudySpec, plan: Plan, epochs: int, worker: int = 0):
    """Create study ``plan.name`` or continue it; refused if it was made otherwise.

    The sampler's seed is ``seed`` for a new study in one process: a study is repeatable.
    Continued, or in worker ``worker`` of several, it moves on by the trials already made
    and the worker's number, so no process draws again what another drew."""
    optuna = studies.optuna()
    made_of = fingerprint(spec, plan)
    study = optuna.create_study(
        study_name=plan.name,
        storage=studies.storage(plan.results, plan.name),
        direction=spec.direction,
        sampler=_sampler(spec),
        pruner=_pruner(spec, epochs),
        load_if_exists=True,
    )
    with studies.lock(plan.results, plan.name):
        stored = study.user_attrs.get("made_of")
        if stored is None:
            study.set_user_attr("made_of", made_of)
            study.set_user_attr("metric", spec.metric)
            study.set_user_attr("space", {k: asdict(d) for k, d in spec.space.items()})
            study.set_user_attr(
                "search",
                {"sampler": spec.sampler, "pruner": spec.pruner, "mode": spec.mode}
                | ({"repeats": spec.repeats} if spec.mode != SEARCH else {}),
            )
        elif stored != made_of:
            raise BenchError(
                f"Study {plan.name!r} in {plan.results} was made from other settings (its "
                "[tune], base, --set or --smoke differ). Continue it as it was made, name a "
                f"new one with --study, or delete {studies.journal(plan.results, plan.name)} "
                "to start over."
            )
        seed = spec.seed + len(study.get_trials(deepcopy=False)) + 7919 * worker
    study.sampler = _sampler(replace(spec, seed=seed))
    return study


def _orphaned(trial, store: Store) -> bool:
    """A running trial whose process is gone (killed): another takes it over."""
    attrs = trial.user_attrs
    if attrs.get("host") == socket.gethostname():
        return attrs.get("pid") != os.getpid() and not alive(int(attrs.get("pid", 0)))
    return not store.held_elsewhere(attrs.get("run_id", ""))


def _spent(spec: StudySpec, trials: list) -> bool:
    done = [t for t in trials if t.state.is_finished()]
    running = [t for t in trials if not t.state.is_finished()]
    if spec.trials is not None and len(done) + len(running) >= spec.trials:
        return True
    if spec.epochs_budget is not None:
        if sum(t.user_attrs.get("epochs", 0) for t in done) >= spec.epochs_budget:
            return True
    if spec.time_budget is not None:
        if sum(t.user_attrs.get("seconds", 0.0) for t in done) >= spec.time_budget:
            return True
    return False


def _label(name: str, number: int) -> str:
    return f"{name} trial {number}"


def _next_trial(study, spec: StudySpec, plan: Plan, store: Store, components):
    """Under the study's lock: a trial whose process died, else a new one while the budget
    allows; None when the budget is spent."""
    optuna = studies.optuna()
    me = {"pid": os.getpid(), "host": socket.gethostname()}
    with studies.lock(plan.results, plan.name):
        trials = study.get_trials(deepcopy=False)
        for frozen in trials:
            if frozen.state == optuna.trial.TrialState.RUNNING and _orphaned(frozen, store):
                trial = optuna.trial.Trial(study, frozen._trial_id)
                for key, value in me.items():
                    trial.set_user_attr(key, value)
                status.info("trial %d's process is gone: continuing it", frozen.number)
                return trial
        if _spent(spec, trials):
            return None
        if spec.mode == ONE_AT_A_TIME:
            walk = _walk(spec, trials)
            if walk.step is None:
                return WAIT if walk.waiting else None
            params, repeat = walk.step
            study.enqueue_trial(params, user_attrs={"repeat": repeat})
            trial = study.ask({k: spec.space[k].distribution() for k in params})
        else:
            trial = study.ask({k: d.distribution() for k, d in spec.space.items()})
        config = _config(plan, trial, components)
        for key, value in {**me, "run_id": config.run_id}.items():
            trial.set_user_attr(key, value)
        return trial


WAIT = object()  # one-at-a-time: the next step waits for trials other workers still run


@dataclass
class Walk:
    """Where a one-at-a-time study stands: its next trial (``step``: parameters and
    repeat), whether that waits on running trials, the values kept so far and the kept
    value's mean score at the last step decided."""

    step: tuple[dict, int] | None = None
    waiting: bool = False
    kept: dict = field(default_factory=dict)
    score: float = math.nan


def _walk(spec: StudySpec, trials: list) -> Walk:
    """Each setting's values in the space's order, ``repeats`` seeds each, the settings
    before it at their kept values and those after it at the base's: the first value
    whose trial is missing is next; a setting decided keeps its best mean (the first, on a
    tie; a setting whose every trial failed keeps the base's value)."""
    import statistics

    walk = Walk()
    by_params = {
        (json.dumps(t.params, sort_keys=True), t.user_attrs.get("repeat", 0)): t for t in trials
    }
    for key, dim in spec.space.items():
        scores = []
        for value in dim.grid():
            params = {**walk.kept, key: value}
            told = []
            for repeat in range(spec.repeats):
                trial = by_params.get((json.dumps(params, sort_keys=True), repeat))
                if trial is None:
                    walk.step = (params, repeat)
                    return walk
                if not trial.state.is_finished():
                    walk.waiting = True
                elif trial.value is not None and not math.isnan(trial.value):
                    told.append(trial.value)
            scores.append(statistics.fmean(told) if told else math.nan)
        if walk.waiting:
            return walk
        scored = [(i, v) for i, v in enumerate(scores) if not math.isnan(v)]
        if scored:
            pick = max if spec.maximize else min
            chosen, walk.score = pick(scored, key=lambda iv: iv[1])
            walk.kept[key] = dim.grid()[chosen]
    return walk


def _config(plan: Plan, trial, components=None) -> RunConfig:
    """A trial's run: its parameters, on the plan's seed moved on by its repeat."""
    seed = plan.seed + int(trial.user_attrs.get("repeat", 0))
    return plan.config(trial.params, _label(plan.name, trial.number), seed, components)


def _value(spec: StudySpec, record) -> float | None:
    if spec.metric in EPOCH_KEYS:
        history = record.history if hasattr(record, "history") else []
        value = history[-1].get(spec.metric) if history else None
    else:
        value = stored_value(record.summary, spec.metric)
    return None if value is None or not math.isfinite(value) else float(value)


def _follows(spec: StudySpec) -> str:
    if spec.metric in EPOCH_KEYS:
        return spec.metric
    return FOLLOWS.get(spec.metric, "val_acc" if spec.maximize else "val_loss")


def _watch(study, trial, spec: StudySpec):
    """The epoch callback: report the followed number, raise :class:`Pruned` when the
    pruner says so (or, for a time to target, once the trial cannot beat the best)."""
    key, seconds = _follows(spec), [0.0]

    def on_epoch(record: dict) -> None:
        epoch = int(record["epoch"])
        seconds[0] += record.get("train_seconds", 0.0)
        if spec.metric == "seconds_to_target":
            best = [t.value for t in study.get_trials(deepcopy=False) if t.value is not None]
            finite = [v for v in best if math.isfinite(v)]
            if finite and seconds[0] > min(finite) and record.get("test_acc") is None:
                raise Pruned(f"past the best trial's {min(finite):.1f} s at epoch {epoch}")
            return
        value = record.get(key)
        if value is None or not math.isfinite(value):
            return
        trial.report(float(value), epoch)
        if trial.should_prune():
            raise Pruned(f"by the {spec.pruner} pruner at epoch {epoch} ({key} {value:.4f})")

    return on_epoch


def _tell(study, trial, store: Store, spec: StudySpec, plan: Plan, state=None, value=None):
    """Record a trial's end (once: a trial another process already told is left)."""
    run_id = trial.user_attrs.get("run_id") if hasattr(trial, "user_attrs") else None
    history = store.history(run_id) if run_id else []
    with studies.lock(plan.results, plan.name):
        if study.get_trials(deepcopy=False)[trial.number].state.is_finished():
            return
        trial.set_user_attr("epochs", len(history))
        trial.set_user_attr("seconds", sum(e.get("train_seconds", 0.0) for e in history))
        if state is not None:
            study.tell(trial, state=state)
        else:
            worst = -math.inf if spec.maximize else math.inf  # a miss counts as infinite
            study.tell(trial, worst if value is None else value)


def work(
    spec: StudySpec, plan: Plan, components, policy=None, on_trial=None, worker: int = 0
) -> int:
    """Train trials until the budget is spent; the number this process finished."""
    from benchbench.execution.runner import Interrupted

    optuna = studies.optuna()
    store = Store(plan.results)
    probe = plan.config({k: d.ends()[0] for k, d in spec.space.items()}, plan.name)
    study = open_study(spec, plan, probe.scaled().epochs, worker)
    count = 0
    while True:
        trial = _next_trial(study, spec, plan, store, components)
        if trial is None:
            return count
        if trial is WAIT:
            time.sleep(1.0)  # another worker finishes the step this one's next depends on
            continue
        config = _config(plan, trial, components)
        stored = finished(store, config)
        try:
            if stored is None:
                stored = execute(
                    config,
                    components,
                    store,
                    on_epoch=_watch(study, trial, spec),
                    policy=policy,
                    decided={"study": plan.name, "trial": trial.number},
                ).record
        except Pruned:
            _tell(study, trial, store, spec, plan, state=optuna.trial.TrialState.PRUNED)
        except (KeyboardInterrupt, Interrupted, SystemExit):
            raise  # the trial stays running: the same command continues it
        except BenchError as exc:
            log.warning("trial %d failed: %s", trial.number, exc)
            _tell(study, trial, store, spec, plan, state=optuna.trial.TrialState.FAIL)
        else:
            _tell(study, trial, store, spec, plan, value=_value(spec, stored))
        count += 1
        if on_trial is not None:
            on_trial(study.trials[trial.number])


def fresh_seeds(used, count: int) -> list[int]:
    """``count`` seeds other than the trials' own ``used`` (a seed, or several)."""
    used = {used} if isinstance(used, int) else set(used)
    return [s for s in range(count + len(used)) if s not in used][:count]


def final(spec: StudySpec, plan: Plan, components, policy=None) -> dict:
    """The study's outcome: the best trial, its run file, and (``final_seeds``) the best
    settings trained again on fresh seeds; those runs too are stored and skipped later."""
    optuna = studies.optuna()
    store = Store(plan.results)
    study = studies.load(plan.results, plan.name)
    trials = study.get_trials(deepcopy=False)
    states = optuna.trial.TrialState
    tally = {
        s.name.lower(): sum(t.state == s for t in trials)
        for s in (states.COMPLETE, states.PRUNED, states.FAIL, states.RUNNING)
    }
    out: dict[str, Any] = {
        "study": plan.name,
        "results": str(plan.results),
        "metric": spec.metric,
        "direction": spec.direction,
        "trials": tally,
        "epochs": sum(t.user_attrs.get("epochs", 0) for t in trials),
    }
    complete = [t for t in trials if t.state == states.COMPLETE and t.value is not None]
    finite = [t for t in complete if math.isfinite(t.value)]
    if not finite:
        out["best_value"] = None
        return out
    best = (max if spec.maximize else min)(finite, key=lambda t: t.value)
    value, what = best.value, f"The best trial ({best.number})"
    if spec.mode == ONE_AT_A_TIME:  # the values kept, at their mean over the repeats
        walk = _walk(spec, trials)
        kept = json.dumps(walk.kept, sort_keys=True)
        best = next((t for t in complete if json.dumps(t.params, sort_keys=True) == kept), best)
        value, what = walk.score, f"The values kept (trial {best.number}, mean of its repeats)"
    params = {k: _decode(v) for k, v in best.params.items()}
    config = plan.config(best.params, _label(plan.name, best.number))
    path = studies.best_config_path(plan.results, plan.name)
    path.write_text(
        f"# {what} of study {plan.name}: {spec.metric} "
        f"{value:.6g}.\n# bench run --config {path.name}\n" + config.to_toml()
    )
    out.update(
        best_value=value,
        best_params=params,
        best_trial=best.number,
        best_run_id=best.user_attrs.get("run_id"),
        best_config=str(path),
    )
    if tally["running"]:
        out["final"] = None  # another process still trains trials: it runs the final seeds
        return out
    finals = []
    used = range(plan.seed, plan.seed + (spec.repeats if spec.mode == ONE_AT_A_TIME else 1))
    for seed in fresh_seeds(used, spec.final_seeds):
        one = plan.config(best.params, f"{plan.name} best", seed, components)
        result = execute(
            one,
            components,
            store,
            policy=policy,
            decided={"study": plan.name, "trial": "final"},
        )
        finals.append(result.record)
    if finals:
        import statistics

        values = [r.summary.get("test_acc") for r in finals]
        values = [v for v in values if v is not None]
        out["final"] = {
            "seeds": [r.config["seed"] for r in finals],
            "run_ids": [r.id for r in finals],
            "test_acc": values,
            "test_acc_mean": statistics.fmean(values) if values else None,
            "test_acc_std": statistics.stdev(values) if len(values) > 1 else None,
        }
    return out


def _worker(spec: StudySpec, plan: Plan, policy, threads: int, worker: int) -> None:
    import torch

    from benchbench.plugins.manager import load_components

    torch.set_num_threads(threads)
    work(spec, plan, load_components(), policy, worker=worker)


def work_on_ray(
    spec: StudySpec,
    plan: Plan,
    workers: int,
    policy=None,
    address: str | None = None,
    cpus_per_worker: float = 1,
) -> None:
    """``workers`` Ray tasks share the study (a local instance, or the cluster at
    ``address``); each takes ``cpus_per_worker`` CPUs (its torch threads). The study and
    the runs live in the results folder, so the cluster's nodes must see it (a shared
    file system)."""
    try:
        import ray
    except ImportError:
        raise BenchError(
            "--executor ray: Ray is not installed. pip install 'benchbench-harness[ray]'."
        ) from None
    from benchbench.execution.executors.ray import start_ray

    started = start_ray(address, max(1, round(workers * cpus_per_worker)))
    threads = max(1, int(cpus_per_worker))
    task = ray.remote(num_cpus=cpus_per_worker, max_retries=0)(_worker)
    try:
        pending = [task.remote(spec, plan, policy, threads, i) for i in range(workers)]
        failed = []
        for ref in pending:
            try:
                ray.get(ref)
            except Exception as exc:  # a worker's error or a lost node: the rest is stored
                failed.append(str(exc).strip().splitlines()[-1][:300])
    finally:
        if started:
            ray.shutdown()
    if failed:
        raise BenchError(
            f"{len(failed)} of {workers} study workers on Ray stopped ({failed[0]}); what "
            "they finished is stored: the same command continues the study."
        )


def work_in_processes(spec: StudySpec, plan: Plan, workers: int, policy=None) -> None:
    """``workers`` processes share the study, the machine's cores split between them."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    threads = max(1, (os.cpu_count() or 1) // workers)
    processes = [
        context.Process(target=_worker, args=(spec, plan, policy, threads, i), daemon=False)
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    failed = [p.exitcode for p in processes if p.exitcode != 0]
    if failed:
        raise BenchError(
            f"{len(failed)} of {workers} study workers stopped (exit codes "
            f"{', '.join(map(str, failed))}); what they finished is stored: the same command "
            "continues the study."
        )
