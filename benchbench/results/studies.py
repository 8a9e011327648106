"""Where studies live: ``studies/NAME.journal`` under the results folder, Optuna's
append-only journal, beside the runs its trials stored.

A journal is shared safely by any number of processes and survives ``kill -9`` at any
moment; :func:`lock` serializes the few steps that must see the study and change it at
once (counting the budget, asking for a trial, telling its value).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

from benchbench.errors import BenchError

FOLDER = "studies"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def optuna():
    """The optuna module, or a clear error naming the extra that installs it."""
    try:
        import optuna
    except ImportError:
        raise BenchError(
            "bench tune needs Optuna: pip install 'benchbench[tune]' (or pip install optuna)."
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise BenchError(
            f"--study {name!r}: a study name is letters, digits, '_', '.' and '-' (it names "
            "a file in the results folder)."
        )
    return name


def journal(root: Path, name: str) -> Path:
    return Path(root) / FOLDER / f"{check_name(name)}.journal"


def best_config_path(root: Path, name: str) -> Path:
    """The best trial's settings as a run file (``bench run --config`` reads it)."""
    return Path(root) / FOLDER / f"{check_name(name)}.best.toml"


def names(root: Path) -> list[str]:
    folder = Path(root) / FOLDER
    return sorted(p.name.removesuffix(".journal") for p in folder.glob("*.journal"))


def storage(root: Path, name: str):
    optuna()
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path = journal(root, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(path)))


def load(root: Path, name: str):
    """Stored study ``name`` (read it; to run it, see :mod:`benchbench.execution.study`)."""
    if not journal(root, name).exists():
        known = names(root)
        listed = f" Studies here: {', '.join(known)}." if known else " There is none yet."
        raise BenchError(
            f"No study {name!r} in {Path(root) / FOLDER}.{listed} `bench tune SUITE` runs one."
        )
    return optuna().load_study(study_name=name, storage=storage(root, name))


def summary(root: Path, name: str) -> tuple[dict, dict]:
    """Study ``name`` for a tracker: its settings (metric, direction, sampler, pruner,
    space, the best trial's parameters as ``best.KEY``) and its numbers (best value,
    trials by state, epochs spent)."""
    import math

    study = load(root, name)
    trials = study.get_trials(deepcopy=False)
    params = {
        "metric": study.user_attrs.get("metric", "value"),
        "direction": study.direction.name.lower(),
        **study.user_attrs.get("search", {}),
        "space": study.user_attrs.get("space", {}),
    }
    numbers = {
        f"trials_{state}": sum(t.state.name.lower() == state for t in trials)
        for state in ("complete", "pruned", "fail")
    }
    numbers["epochs"] = sum(t.user_attrs.get("epochs", 0) for t in trials)
    finite = [
        t
        for t in trials
        if t.state.name == "COMPLETE" and t.value is not None and math.isfinite(t.value)
    ]
    if finite:
        pick = max if study.direction.name == "MAXIMIZE" else min
        best = pick(finite, key=lambda t: t.value)
        numbers["best_value"] = best.value
        params.update({f"best.{k}": v for k, v in best.params.items()})
        params["best.trial"] = best.number
    return params, numbers


@contextmanager
def lock(root: Path, name: str):
    """Hold the study's lock: one process at a time counts, asks and tells."""
    from filelock import FileLock

    path = journal(root, name).with_suffix(".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path)):
        yield
