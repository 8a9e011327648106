"""Suites: a whole table of runs described in TOML (variants, grids, tuning, repeats).

A suite file::

    description = "Report 000, Table 1"
    seeds = [0]                      # or: repeats = 5  (seeds 0..4)

    [base]                           # any `bench run` setting, by its RunConfig name
    arch = "cnn_small"
    dataset = "cifar10"
    epochs = 20
    set = ["arch.bn=false"]          # plugin options, as with `bench run --set`

    [[variants]]                     # named rows, each a change to the base
    name = "Model A"
    augs = ["standard"]
    set = ["arch.bn=true"]
    seeds = [0, 1]                   # this row's seeds, instead of the suite's (optional)

    [[grids]]                        # every combination of the listed values, on the base
    name = "learning rate"
    lr = [1e-4, 1e-3]

    [tune]                           # one at a time, in order, keeping the best value so far
                                     # (a [tune.space] makes it a study: bench tune)
    order = ["lr", "batch_size"]
    repeats = 5
    metric = "best_val_acc"
    lr = [0.01, 0.05]
    batch_size = [64, 128]

    [[workloads]]                    # time to target (bench profile): what is trained,
    name = "digits-mlp"              # to which accuracy, within how long
    dataset = "digits"
    arch = "mlp"
    target_acc = 0.95                # on validation (target_on = "test": on test)
    max_train_seconds = 60

    [[algorithms]]                   # how: optimizer, schedule, recipe; every workload
    name = "Adam"                    # runs every algorithm, on every seed
    optimizer = "adam"
    lr = 1e-3

    [profiles.cpu]                   # a scale to run at: bench sweep SUITE --profile cpu
    description = "5,000 training images, half the epochs"   # what it means, for readers
    set = ["subset=5000", "scale=0.5"]   # on every run, as --set
    groups = ["variants"]            # only these groups (default: every one)
    seeds = [0, 1, 2]                # replaces the suite's seeds and tuning repeats
    [profiles.cpu.variants."Model G"]    # one variant's changes; skip = true leaves it out
    seeds = [0, 1]
    [profiles.cpu.grids."learning rate"] # one grid's changes; drop = [...] removes keys
    epochs = 5

    [[figures]]                      # what `bench plot suite` draws, by figure kind
    name = "1"                       # (`bench list figures`) from a row's first seed's run
    kind = "curves"
    row = "Model A"
    caption = "Training and validation loss and accuracy of Model A"
    # any other key is an option of the kind, e.g. wrong = true for samples

    [[tables]]                       # what `bench report --suite` renders
    title = "Table 1"
    group = "variants"               # variants, base, tune, or a grid's name
    rows = "label"                   # or a setting, e.g. "lr"
    metrics = ["test_acc", "train_seconds_per_epoch", "val_seconds_per_epoch"]

Tuning applies to each variant (or to the base without variants); grids apply to the
base; workloads run each algorithm on the base, workload over base, algorithm over
workload, and stop at their target (``stop_at_target``). Without variants, grids, tuning
or workloads, the base is the one row.
"""

from __future__ import annotations

import copy
import itertools
import re
import tomllib
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from benchbench.analysis.tables import references
from benchbench.analysis.tables import table_kinds
from benchbench.config import RunConfig
from benchbench.errors import BenchError
from benchbench.errors import did_you_mean
from benchbench.execution.study import is_study
from benchbench.execution.study import parse as parse_study
from benchbench.metrics import known
from benchbench.metrics import tunable
from benchbench.settings import LABEL_KEYS
from benchbench.settings import SETTINGS as RUN_SETTINGS
from benchbench.settings import parse_value
from benchbench.settings import plugin_options

# Suite keys are the run settings; a row's label comes from its variant or grid point.
SETTINGS = set(RUN_SETTINGS) - set(LABEL_KEYS)
TOP_KEYS = {
    "name",
    "description",
    "seeds",
    "repeats",
    "base",
    "variants",
    "grids",
    "tune",
    "workloads",
    "algorithms",
    "profiles",
    "figures",
    "tables",
}
PROFILE_KEYS = {"description", "set", "groups", "seeds", "variants", "grids"}
# a figure's name, kind and caption, and which runs it draws from; any other key is an
# option of the kind
FIGURE_KEYS = {"name", "kind", "caption", "row", "group", "where", "step", "table"}
TABLE_KEYS = {"title", "group", "kind", "note"}  # every kind; each kind adds its own
TUNE_KEYS = {"order", "repeats", "metric"}
WORKLOAD_NEEDS = ("target_acc", "max_train_seconds")  # what makes a time to target
# What a workload is, which an algorithm (how it trains) may not change.
WORKLOAD_KEYS = {
    "dataset",
    "arch",
    "subset",
    "val_subset",
    "test_subset",
    "val_fraction",
    "validate_on",
    "split",
    "data_dir",
    "target_acc",
    "target_on",
    "stop_at_target",
    "max_train_seconds",
}


@dataclass
class Table:
    """One ``[[tables]]`` entry: what ``bench report --suite`` renders.

    ``options`` holds the keys its kind reads (see
    :func:`benchbench.analysis.tables.table_kinds`), defaults filled in.
    """

    title: str
    group: str
    kind: str = "runs"
    options: dict[str, Any] = field(default_factory=dict)
    note: str = ""  # the suite's own word under the table (what the seed gives, say)


@dataclass
class Tune:
    order: list[str]
    values: dict[str, list]
    repeats: int = 1
    metric: str = "best_val_acc"


@dataclass
class Figure:
    """One ``[[figures]]`` entry: figure kind ``kind`` (the registry ``bench plot``
    draws from) with the kind's ``options``, of the first seed's complete run among the
    runs it selects: row ``row``, members of group ``group`` (a tuning ``step``'s only),
    whose settings are ``where``. A kind that draws many runs gets them all; a kind that
    needs none (a model summary) selects none. ``table``: the suite table whose options
    the kind takes as its own defaults (an OOD table's probe, say)."""

    name: str
    kind: str
    row: str = ""
    caption: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    group: str = ""
    where: dict[str, Any] = field(default_factory=dict)
    step: str = ""
    table: str = ""

    @property
    def selects(self) -> bool:
        """Whether the figure draws from stored runs at all."""
        return bool(self.row or self.group)


@dataclass
class Profile:
    """One ``[profiles.NAME]`` table: a scale to run the suite at (a CPU's, say), every
    change it makes recorded in each run's settings."""

    name: str
    description: str = ""
    sets: list[str] = field(default_factory=list)  # `--set` on every run
    groups: list[str] = field(default_factory=list)  # only these (default: every one)
    seeds: list[int] | None = None  # replaces the suite's seeds and tuning repeats
    variants: dict[str, dict] = field(default_factory=dict)  # name -> changes (skip = true)
    grids: dict[str, dict] = field(default_factory=dict)  # name -> changes (drop = [...])


@dataclass
class Suite:
    """A parsed, validated suite. ``expand``/``tune_step`` turn it into run configs."""

    name: str
    description: str
    source: str
    base: dict[str, Any]
    seeds: list[int]
    variants: list[dict[str, Any]] = field(default_factory=list)
    grids: list[dict[str, Any]] = field(default_factory=list)
    tune: Tune | None = None
    tables: list[Table] = field(default_factory=list)
    study: Any = None  # a [tune] with a search space: benchbench.execution.study.StudySpec
    workloads: list[dict[str, Any]] = field(default_factory=list)
    algorithms: list[dict[str, Any]] = field(default_factory=list)
    profiles: dict[str, Profile] = field(default_factory=dict)
    profile: Profile | None = None  # the one applied (with_profile)
    figures: list[Figure] = field(default_factory=list)
    # the prose beside the suite file (SUITE.md): section heading -> its paragraphs
    notes: dict[str, list[str]] = field(default_factory=dict)

    # -- expansion -----------------------------------------------------------------------

    def groups(self) -> list[tuple[str, list[dict]]]:
        """``(group, [settings, ...])`` for every group that needs no earlier results."""
        out = []
        if self.variants and self.tune is None:
            out.append(("variants", [{**self.base, **v} for v in self.variants]))
        for grid in self.grids:
            fixed = {k: v for k, v in grid.items() if k != "name" and not _varies(k, v)}
            keys = [k for k in grid if k != "name" and _varies(k, grid[k])]
            points = itertools.product(*(grid[k] for k in keys))
            out.append(
                (
                    grid["name"],
                    [
                        {
                            **self.base,
                            **fixed,
                            **dict(zip(keys, point, strict=True)),
                            "name": " ".join(
                                f"{k}={_show(v)}" for k, v in zip(keys, point, strict=True)
                            ),
                        }
                        for point in points
                    ],
                )
            )
        if self.workloads:
            out.append(("workloads", [row for _, _, row in self.cells()]))
        if not (self.variants or self.grids or self.tune or self.workloads):
            out.append(("base", [dict(self.base)]))
        return out

    def cells(self) -> list[tuple[str, str, dict]]:
        """``(workload, algorithm, settings)`` for every algorithm on every workload: the
        base, then the workload, then the algorithm, stopping at the target."""
        return [
            (
                workload["name"],
                algorithm["name"],
                {
                    **self.base,
                    "stop_at_target": True,
                    **_unnamed(workload),
                    **_unnamed(algorithm),
                    "set": [
                        *self.base.get("set", []),
                        *workload.get("set", []),
                        *algorithm.get("set", []),
                    ],
                    "name": f"{algorithm['name']} on {workload['name']}",
                },
            )
            for workload in self.workloads
            for algorithm in self.algorithms
        ]

    def with_seeds(self, seeds: list[int]) -> Suite:
        """Every row at ``seeds`` (variants' own seeds too), tuning at as many repeats."""
        tune = self.tune and replace(self.tune, repeats=len(seeds))
        variants = [{k: v for k, v in row.items() if k != "seeds"} for row in self.variants]
        return replace(self, seeds=list(seeds), variants=variants, tune=tune)

    def with_profile(self, name: str | None) -> Suite:
        """The suite as its profile ``name`` runs it (None: as written): its seeds, its
        variants' and grids' changes; its settings and groups apply when it is swept."""
        if name is None:
            return self
        if name not in self.profiles:
            known = ", ".join(self.profiles) or "none"
            raise BenchError(
                f"--profile {name!r}: suite {self.name} has no such profile (its profiles: "
                f"{known}).{did_you_mean(name, list(self.profiles))}"
            )
        profile = self.profiles[name]
        suite = self.with_seeds(profile.seeds) if profile.seeds is not None else self
        variants = []
        for variant in suite.variants:
            changes = profile.variants.get(variant["name"], {})
            if not changes.get("skip"):
                variants.append({**variant, **{k: v for k, v in changes.items() if k != "skip"}})
        grids = []
        for grid in suite.grids:
            changes = dict(profile.grids.get(grid["name"], {}))
            dropped = changes.pop("drop", [])
            grids.append({k: v for k, v in {**grid, **changes}.items() if k not in dropped})
        return replace(suite, variants=variants, grids=grids, profile=profile)

    def seeds_of(self, row: dict) -> list[int]:
        """The seeds ``row`` runs: its variant's own ``seeds``, else the suite's."""
        return row.get("seeds", self.seeds)

    def tuned_rows(self) -> list[dict]:
        """The starting settings tuning works on: each variant, or the base."""
        return [{**self.base, **v} for v in self.variants] or [dict(self.base)]

    def tune_step(self, row: dict, key: str, best: dict) -> list[dict]:
        """Settings of one tuning step: each value of ``key``, earlier keys at ``best``."""
        label = row.get("name") or "base"
        return [{**row, **best, key: value, "name": label} for value in self.tune.values[key]]


def _unnamed(row: dict) -> dict:
    """``row``'s settings without its name; ``set`` lists are kept for the row's merge."""
    return {k: v for k, v in row.items() if k != "name"}


def _varies(key: str, value) -> bool:
    """In a grid, a list is the values to try; ``augs`` varies as a list of lists."""
    if key == "augs":
        return isinstance(value, list) and all(isinstance(v, list) for v in value)
    return isinstance(value, list)


def _show(value) -> str:
    if isinstance(value, (list, tuple)):
        return "+".join(map(str, value)) or "none"
    return str(value)


def read_run_file(path: Path) -> dict[str, Any]:
    """A run file's settings: the keys of a suite's ``[base]`` at the top level (run
    settings by name, ``set = [...]`` and ``"arch.OPTION"`` keys, ``name``)."""
    if not path.is_file():
        raise BenchError(f"--config {path}: no such file.")
    text = path.read_text()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BenchError(f"{path}: not valid TOML: {exc}.") from None
    for key, value in data.items():
        plugin_key = "." in key and key.split(".")[0] in ("arch", "aug", "dataset")
        if key not in RUN_SETTINGS and key != "set" and not plugin_key:
            raise BenchError(
                f"{path}:{_line_of(text, key)}: {key!r}: not a run setting."
                f"{did_you_mean(key, RUN_SETTINGS)} Plugin options go in "
                'set = ["arch.OPTION=VALUE"] or as "arch.OPTION" keys.'
            )
        if isinstance(value, dict):
            raise BenchError(f"{path}:{_line_of(text, key)}: {key!r}: give a value, not a table.")
    return data


def expand_overrides(overrides: list[str]) -> list[tuple[list[str], str]]:
    """``--set`` items with comma lists → every combination, Hydra-multirun style:
    ``lr=0.1,0.01`` and ``batch_size=64,128`` give four ``(items, label suffix)``."""
    axes = []
    for item in overrides:
        key, sep, value = item.partition("=")
        key = key.strip()
        listed = key in SETTINGS and RUN_SETTINGS[key].kind not in ("strs", "ints")
        if sep and listed and "," in value and not value.strip().startswith("["):
            axes.append([(f"{key}={v.strip()}", f"{key}={v.strip()}") for v in value.split(",")])
        else:
            axes.append([(item, "")])
    combos = []
    for point in itertools.product(*axes):
        items = [item for item, _ in point]
        label = " ".join(suffix for _, suffix in point if suffix)
        combos.append((items, label))
    return combos


def to_config(
    settings: dict[str, Any], seed: int, overrides: list[str] = (), smoke: bool = False
) -> RunConfig:
    """A validated RunConfig from suite settings, a seed, ``--set`` overrides and smoke."""
    settings = dict(settings)
    settings.pop("seeds", None)  # a row's seeds are runs, not a setting (Suite.seeds_of)
    for item in overrides:
        key, _, value = item.partition("=")
        settings[key.strip()] = parse_value(value)
    pairs = []
    for item in settings.pop("set", []):
        key, _, value = item.partition("=")
        pairs.append((key.strip(), parse_value(value)))
    pairs += [(k, settings.pop(k)) for k in [k for k in settings if "." in k]]
    augs = settings.get("augs", ())
    settings["augs"] = (augs,) if isinstance(augs, str) else tuple(augs)
    if "lr_milestones" in settings:
        settings["lr_milestones"] = tuple(settings["lr_milestones"])
    options = plugin_options(pairs, settings["augs"])
    unknown = set(settings) - SETTINGS - {"name"}
    if unknown:
        raise BenchError(f"unknown setting(s) {', '.join(sorted(unknown))}")
    config = RunConfig(**settings, seed=seed, **options)
    return (config.as_smoke() if smoke else config).validated()


def smoke_suite(suite: Suite) -> Suite:
    """The same suite with at most two values per grid or tuning list and one seed."""
    grids = [
        {k: (v[:2] if k != "name" and _varies(k, v) else v) for k, v in g.items()}
        for g in suite.grids
    ]
    tune = None
    if suite.tune is not None:
        tune = Tune(
            suite.tune.order, {k: v[:2] for k, v in suite.tune.values.items()}, 1, suite.tune.metric
        )
    variants = [{**v, "seeds": v["seeds"][:1]} if "seeds" in v else v for v in suite.variants]
    return replace(suite, seeds=suite.seeds[:1], variants=variants, grids=grids, tune=tune)


# -- loading and validation -----------------------------------------------------------------


def recipe_names() -> list[str]:
    """The built-in recipes: run files shipped in ``benchbench/recipes``."""
    folder = resources.files("benchbench") / "recipes"
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def recipe_file(name: str) -> Path:
    """Built-in recipe ``name``'s run file (``bench run --recipe NAME``)."""
    names = recipe_names()
    if name not in names:
        raise BenchError(
            f"--recipe {name!r}: no such recipe.{did_you_mean(name, names)} Recipes: "
            f"{', '.join(names)} (`bench list recipes`); or give a run file with --config."
        )
    return Path(str(resources.files("benchbench") / "recipes" / f"{name}.toml"))


def recipe_about(name: str) -> str:
    """A recipe's description: the first line of its leading comment."""
    for line in recipe_file(name).read_text().splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def builtin_names() -> list[str]:
    folder = resources.files("benchbench") / "suites"
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def find(name_or_path: str) -> Suite:
    """A built-in suite by name, or a suite file by path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise BenchError(f"Suite file {path} does not exist.")
        beside = path.with_suffix(".md")
        suite = parse(path.read_text(), str(path), path.stem)
        return replace(suite, notes=notes(beside.read_text()) if beside.is_file() else {})
    names = builtin_names()
    if name_or_path not in names:
        raise BenchError(
            f"No built-in suite {name_or_path!r} and no such file."
            f"{did_you_mean(name_or_path, names)} `bench list suites` lists them."
        )
    folder = resources.files("benchbench") / "suites"
    suite = parse(
        (folder / f"{name_or_path}.toml").read_text(), f"builtin:{name_or_path}", name_or_path
    )
    beside = folder / f"{name_or_path}.md"
    return replace(suite, notes=notes(beside.read_text()) if beside.is_file() else {})


def notes(text: str) -> dict[str, list[str]]:
    """A suite's prose (the Markdown file beside it): each ``## Heading``'s paragraphs,
    a paragraph's lines joined into one (a list item's ``- `` dropped). ``bench
    reproduce`` fills ``{field}``s in them from the stored runs. Text before the first
    heading is left out, but for a ``# Title`` (under the heading ``""``)."""
    sections: dict[str, list[str]] = {}
    current = None
    for block in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in block.strip().splitlines()]
        if lines and lines[0].startswith("# ") and current is None:
            sections[""] = [lines[0][2:].strip()]  # the title
            lines = lines[1:]
        if lines and lines[0].startswith("## "):
            current = sections.setdefault(lines[0][3:].strip(), [])
            lines = lines[1:]
        items: list[str] = []
        for line in lines:  # a list item starts a paragraph of its own
            if line.startswith("- ") or not items:
                items.append(line.removeprefix("- "))
            else:
                items[-1] += " " + line
        if current is not None:
            current.extend(items)
    return sections


def _line_of(text: str, key: str, section: str | None = None) -> int:
    """Best-effort line number of ``key`` (after ``section``'s header) in TOML ``text``."""
    lines = text.splitlines()
    start = 0
    if section:
        for i, line in enumerate(lines):
            if re.match(rf"\s*\[+\s*{re.escape(section)}\s*\]+", line):
                start = i
                break
    pattern = re.compile(rf'\s*"?{re.escape(key)}"?\s*=')
    for i in range(start, len(lines)):
        if pattern.match(lines[i]):
            return i + 1
    return start + 1


def parse(text: str, source: str, default_name: str) -> Suite:
    """Parse and validate suite TOML; errors name the file, the line and the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BenchError(f"{source}: not valid TOML: {exc}.") from None

    def fail(key: str, why: str, section: str | None = None):
        where = f"[{section}] " if section else ""
        raise BenchError(f"{source}:{_line_of(text, key, section)}: {where}{key!r}: {why}")

    for key in data:
        if key not in TOP_KEYS:
            fail(
                key,
                f"unknown key.{did_you_mean(key, TOP_KEYS)} Allowed: "
                f"{', '.join(sorted(TOP_KEYS))}.",
            )

    def table_of(key: str, section: str | None = None, value=None) -> dict:
        value = data.get(key, {}) if value is None else value
        if not isinstance(value, dict):
            fail(key, f"a table of settings ([{key}]), not {type(value).__name__}.", section)
        return dict(value)

    def tables_of(key: str) -> list[dict]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            fail(key, f"a list of tables ([[{key}]]).")
        return value

    def count(key: str, value, section: str | None = None) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            fail(key, "a whole number of at least 1.", section)
        return value

    def settings(table: dict, section: str, allow_lists: bool = False) -> dict:
        for key, value in table.items():
            if key in ("name", "set") or (key == "seeds" and section == "variants"):
                continue
            base_key = key.split(".")[0]
            if "." in key and base_key in ("arch", "aug", "dataset"):
                continue
            if key not in SETTINGS:
                fail(
                    key,
                    f"not a run setting.{did_you_mean(key, SETTINGS)} Plugin options "
                    'go in set = ["arch.OPTION=VALUE"] or as "arch.OPTION" keys.',
                    section,
                )
            if allow_lists and not isinstance(value, list):
                fail(key, "give a list of values.", section)
            if isinstance(value, list) and not value and key != "augs":
                fail(key, "an empty list: give at least one value.", section)
        if "set" in table and not (
            isinstance(table["set"], list) and all(isinstance(s, str) for s in table["set"])
        ):
            fail("set", 'a list of "KEY=VALUE" strings.', section)
        return table

    def seed_list(seeds, section: str | None = None) -> list[int]:
        if (
            not isinstance(seeds, list)
            or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
            or len(set(seeds)) != len(seeds)
        ):
            fail("seeds", "a non-empty list of distinct non-negative integers.", section)
        return list(seeds)

    base = settings(table_of("base"), "base")
    if "seeds" in data and "repeats" in data:
        fail("repeats", "give seeds or repeats, not both.")
    seeds = seed_list(data.get("seeds", list(range(count("repeats", data.get("repeats", 1))))))

    variants = []
    for i, variant in enumerate(tables_of("variants")):
        variant = dict(variant)
        if not isinstance(variant.get("name"), str):
            fail("variants", f"variant {i + 1} needs a name (the row label).")
        if "seeds" in variant:
            variant["seeds"] = seed_list(variant.pop("seeds"), "variants")
            if "tune" in data:
                fail(
                    "seeds",
                    "a variant's own seeds and [tune] do not mix: tuning runs every "
                    "row with the suite's seeds (or [tune] repeats).",
                    "variants",
                )
        variants.append(settings(variant, "variants"))
    names = [v["name"] for v in variants]
    if len(set(names)) != len(names):
        fail("variants", "variant names must be unique.")

    grids = []
    for i, grid in enumerate(tables_of("grids")):
        grid = dict(grid)
        grid.setdefault("name", f"grid{i + 1}")
        grids.append(settings(grid, "grids"))
        if not any(_varies(k, v) for k, v in grid.items() if k != "name"):
            fail(
                "grids",
                f"grid {grid['name']!r} varies nothing: give a setting a list of "
                "values (augs: a list of lists).",
            )

    def named_rows(key: str) -> list[dict]:
        rows = []
        for i, row in enumerate(tables_of(key)):
            row = dict(row)
            if not isinstance(row.get("name"), str) or not row["name"].strip():
                fail(key, f"entry {i + 1} needs a name (how tables and profiles call it).")
            rows.append(settings(row, key))
        names = [r["name"] for r in rows]
        if len(set(names)) != len(names):
            fail(key, f"{key} names must be unique.")
        return rows

    workloads, algorithms = named_rows("workloads"), named_rows("algorithms")
    if bool(workloads) != bool(algorithms):
        fail(
            "workloads" if workloads else "algorithms",
            "[[workloads]] and [[algorithms]] go together: every algorithm runs on every "
            "workload (bench profile compares their times to target).",
        )
    for workload in workloads:
        for key in WORKLOAD_NEEDS:
            if workload.get(key, base.get(key)) is None:
                fail(
                    "workloads",
                    f"workload {workload['name']!r} needs {key} (a time to target needs a "
                    "target accuracy and a maximum runtime in training seconds).",
                )
    for algorithm in algorithms:
        for key in algorithm:
            owner = key.split(".")[0] if "." in key else key
            if key in WORKLOAD_KEYS or owner in ("arch", "dataset"):
                fail(
                    key,
                    f"algorithm {algorithm['name']!r} sets {key}, which is part of what a "
                    "workload is (its data, model, target and runtime): an algorithm changes "
                    "how a workload trains. Move it to [[workloads]].",
                    "algorithms",
                )
        for item in algorithm.get("set", []):
            if item.split(".")[0] in ("arch", "dataset"):
                fail(
                    "set",
                    f"algorithm {algorithm['name']!r}: {item.split('=')[0]} belongs to the "
                    "workload's model or data: move it to [[workloads]].",
                    "algorithms",
                )

    tune = study = None
    if "tune" in data and is_study(table_of("tune")):
        study = parse_study(
            table_of("tune"), fail, lambda changes: to_config({**base, **changes}, seeds[0])
        )
    elif "tune" in data:
        raw = table_of("tune")
        order = raw.get("order")
        values = {k: v for k, v in raw.items() if k not in TUNE_KEYS}
        settings(values, "tune", allow_lists=True)
        if not order or not isinstance(order, list):
            fail("order", "the list of settings to tune, in order.", "tune")
        missing = [k for k in order if k not in values]
        if missing:
            fail(missing[0], "is in order but has no list of values.", "tune")
        metric = raw.get("metric", "best_val_acc")
        if not known(metric) or metric not in tunable():
            fail("metric", f"choose one of {', '.join(tunable())}.", "tune")
        tune = Tune(order, values, count("repeats", raw.get("repeats", 1), "tune"), metric)

    groups = {"variants", "base", "tune", "workloads", *[g["name"] for g in grids]}
    tables, kinds = [], table_kinds()
    for i, table in enumerate(tables_of("tables")):
        kind_name = table.get("kind", "runs")
        if kind_name not in kinds:
            fail(
                "kind",
                f"choose one of {', '.join(kinds)}.{did_you_mean(str(kind_name), kinds)}",
                "tables",
            )
        kind = kinds[kind_name]
        allowed = TABLE_KEYS | set(kind.options)
        for key in table:
            if key not in allowed:
                fail(
                    key,
                    f"unknown key for a {kind_name} table.{did_you_mean(key, allowed)} "
                    f"Allowed: {', '.join(sorted(allowed))}.",
                    "tables",
                )
        for key in kind.required:
            if not isinstance(table.get(key), str):
                fail(key, f"a {kind_name} table needs {key!r}: {kind.about}.", "tables")
        group = table.get("group", "variants" if variants else "base")
        if group not in groups and group != "all":
            fail(
                "group",
                f"{group!r} is not a group of this suite ({', '.join(sorted(groups))}, all).",
                "tables",
            )
        options = copy.deepcopy(kind.options)
        options.update({k: v for k, v in table.items() if k in kind.options})
        if options.get("reference") and kind_name == "runs":
            try:
                references(options["reference"], options.get("metrics") or ["test_acc"])
            except BenchError as exc:
                fail("reference", str(exc), "tables")
        if kind_name == "targets":
            given = options["targets"]
            numbers = isinstance(given, dict) and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 1
                for v in given.values()
            )
            if not given or not numbers:
                fail(
                    "targets",
                    "a table of row labels and least test accuracies in (0, 1], e.g. "
                    '{ "Model A" = 0.85, "best row" = 0.2 }.',
                    "tables",
                )
        note = table.get("note", "")
        if not isinstance(note, str):
            fail("note", "a text to print under the table.", "tables")
        tables.append(Table(table.get("title", f"Table {i + 1}"), group, kind_name, options, note))
    if not tables:  # none declared: one table of runs per group that has rows
        present = (["variants"] if variants else []) + [g["name"] for g in grids]
        for group in present or ([] if workloads else ["base"]):
            options = copy.deepcopy(kinds["runs"].options)
            tables.append(Table(group, group, "runs", options))
        if workloads:
            options = copy.deepcopy(kinds["profile"].options)
            tables.append(Table("Time to target", "workloads", "profile", options))
        if tune is not None:
            tables.append(Table("tune", "tune", "tuning", copy.deepcopy(kinds["tuning"].options)))

    def changes_to(
        raw: dict, section: str, kind: str, known: list[str], own: tuple[str, ...]
    ) -> dict[str, dict]:
        """The profile's changes to named rows of ``kind`` (variants or grids): each a
        table of settings, plus the keys ``own`` that only a profile gives."""
        out = {}
        for row, changes in table_of(kind, section, raw.get(kind, {})).items():
            if row not in known:
                fail(
                    kind,
                    f"{row!r} is not a {kind[:-1]} of this suite.{did_you_mean(row, known)}",
                    section,
                )
            changes = dict(table_of(row, section, changes))
            settings({k: v for k, v in changes.items() if k not in own}, section)
            out[row] = changes
        return out

    profiles = {}
    for name, raw in table_of("profiles").items():
        section = f"profiles.{name}"
        raw = table_of(name, "profiles", raw)
        for key in raw:
            if key not in PROFILE_KEYS:
                fail(
                    key,
                    f"unknown key for a profile.{did_you_mean(key, PROFILE_KEYS)} Allowed: "
                    f"{', '.join(sorted(PROFILE_KEYS))}.",
                    section,
                )
        sets = raw.get("set", [])
        if not isinstance(sets, list) or not all(isinstance(x, str) and "=" in x for x in sets):
            fail("set", 'a list of "KEY=VALUE" strings, as --set takes them.', section)
        chosen = raw.get("groups", [])
        if not isinstance(chosen, list) or any(g not in groups for g in chosen):
            fail("groups", f"a list of this suite's groups ({', '.join(sorted(groups))}).", section)

        changed_variants = changes_to(raw, section, "variants", names, ("skip", "seeds"))
        for changes in changed_variants.values():
            if "seeds" in changes:
                changes["seeds"] = seed_list(changes["seeds"], section)
        changed_grids = changes_to(raw, section, "grids", [g["name"] for g in grids], ("drop",))
        for changes in changed_grids.values():
            dropped = changes.get("drop", [])
            if not isinstance(dropped, list) or not all(isinstance(k, str) for k in dropped):
                fail("drop", "a list of the grid's keys to remove.", section)
        description = raw.get("description", "")
        if not isinstance(description, str):
            fail("description", "what the profile's scale means, as text.", section)
        profiles[name] = Profile(
            name,
            description,
            list(sets),
            list(chosen),
            seed_list(raw["seeds"], section) if "seeds" in raw else None,
            changed_variants,
            changed_grids,
        )

    figures = []
    titles = {t.title: t for t in tables}
    for i, entry in enumerate(tables_of("figures")):
        for key in ("name", "kind"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                fail("figures", f"figure {i + 1} needs {key!r} (text).")
        for key in ("row", "group", "step", "table", "caption"):
            if not isinstance(entry.get(key, ""), str):
                fail(key, f"figure {entry['name']!r}: {key} is text.", "figures")
        if not isinstance(entry.get("where", {}), dict):
            fail("where", "settings the figure's run has, as a table.", "figures")
        if entry.get("table") and entry["table"] not in titles:
            fail("table", f"figure {entry['name']!r}: no table titled {entry['table']!r}.")
        options = {k: v for k, v in entry.items() if k not in FIGURE_KEYS}
        try:
            _figure_kind(entry["kind"]).check_options(options)
        except BenchError as exc:
            fail("kind", str(exc), "figures")
        figures.append(
            Figure(
                entry["name"],
                entry["kind"],
                entry.get("row", ""),
                entry.get("caption", ""),
                options,
                entry.get("group", ""),
                dict(entry.get("where", {})),
                entry.get("step", ""),
                entry.get("table", ""),
            )
        )
    if len({f.name for f in figures}) != len(figures):
        fail("figures", "figure names must be unique.")

    suite = Suite(
        data.get("name", default_name),
        data.get("description", ""),
        source,
        base,
        list(seeds),
        variants,
        grids,
        tune,
        tables,
        study,
        workloads,
        algorithms,
        profiles,
        figures=figures,
    )
    _check_configs(suite, fail)
    for name in profiles:
        _check_configs(suite.with_profile(name), fail)
    return suite


def _figure_kind(name: str):
    """The figure kind ``name`` (a built-in or a plugin's), as ``bench plot`` draws it."""
    from benchbench.plugins.manager import current

    return current().figures.get(name)


def _check_configs(suite: Suite, fail) -> None:
    """Every run the suite (as its profile runs it) can produce must be a valid
    RunConfig: catch typos up front."""
    sets = suite.profile.sets if suite.profile else []
    rows = [("base", suite.base)] + [("variants", {**suite.base, **v}) for v in suite.variants]
    for grid in suite.grids:
        first = {k: (v[0] if _varies(k, v) else v) for k, v in grid.items() if k != "name"}
        rows.append((grid["name"], {**suite.base, **first}))
    if suite.tune:
        rows.append(("tune", {**suite.base, **{k: v[0] for k, v in suite.tune.values.items()}}))
    rows += [("workloads", settings) for _, _, settings in suite.cells()]
    for section, settings in rows:
        try:
            to_config(settings, suite.seeds[0], sets)
        except BenchError as exc:
            where = f"profile {suite.profile.name!r}: " if suite.profile else ""
            fail(section, where + str(exc))
