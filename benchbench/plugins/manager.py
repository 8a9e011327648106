"""The plugin manager: built-in plugins plus third-party ones from entry points.

Built-ins are listed in :data:`BUILTIN_PLUGINS` and registered with the same
``pm.register`` as a third-party plugin found in the ``benchbench`` entry-point group.
A plugin that fails to import, names an unknown hook, or raises while registering (a
duplicate name, say) is recorded with its error; every other plugin keeps working.
Set ``BENCH_DISABLE_PLUGIN_AUTOLOAD=1`` to skip entry points; ``BENCH_PLUGINS=mod1,mod2``
registers importable modules as plugins without packaging them (as ``PYTEST_PLUGINS``).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import traceback
from dataclasses import dataclass
from dataclasses import field

import pluggy

from benchbench import DISTRIBUTION
from benchbench import __version__
from benchbench.errors import BenchError
from benchbench.plugins import hookspecs
from benchbench.plugins.registry import Registry

PROJECT = "benchbench"  # pluggy project name: hooks are benchbench_*
ENTRY_POINT_GROUP = "benchbench"
BUILTIN_PLUGINS = (
    "benchbench.plugins.builtin.architectures",
    "benchbench.plugins.builtin.augmentations",
    "benchbench.plugins.builtin.datasets",
    "benchbench.plugins.builtin.trackers",
    "benchbench.plugins.builtin.run_metrics",
    "benchbench.plugins.builtin.formats",
    "benchbench.plugins.builtin.table_kinds",
    "benchbench.plugins.builtin.executors",
    "benchbench.plugins.builtin.plots",
)
# What a kind's factory must return, checked when the plugins load: a reference to
# ``problem(entry) -> str | None`` in the module that declares the kind's contract.
CONTRACTS = {"metric": "benchbench.metrics:contract_problem"}
# Each kind has its hook, benchbench_register_<kind>s, and its registry.
KINDS = (
    "architecture",
    "augmentation",
    "dataset",
    "sink",
    "metric",
    "format",
    "table_kind",
    "executor",
    "figure",
)


@dataclass
class PluginInfo:
    """What ``bench plugins`` shows about one plugin."""

    name: str
    distribution: str
    version: str
    hooks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class Components:
    """Every registered component, by kind, and the plugins they came from."""

    registries: dict[str, Registry]  # kind -> its registry (see KINDS)
    plugins: list[PluginInfo]
    manager: pluggy.PluginManager | None = None  # for hooks called later (commands)

    def __getattr__(self, name: str) -> Registry:
        """Each kind's registry by its plural: ``architectures``, ``datasets``,
        ``table_kinds``, ``figures``, ..."""
        if name.endswith("s") and name[:-1] in KINDS:
            return self.registries[name[:-1]]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def check(self, config) -> None:
        """Raise a BenchError (with suggestions) if ``config`` names a component that no
        loaded plugin provides (its architecture, dataset or one of its augmentations),
        gives one an option it does not take, or lacks the data folder its dataset
        requires (a factory whose ``data_dir`` has no default): before any data is loaded
        or anything stored."""
        try:
            arch = self.architectures.get(config.arch)
            dataset = self.datasets.get(config.dataset)
            augs = {name: self.augmentations.get(name) for name in config.augs}
        except BenchError as exc:
            broken = [p for p in self.plugins if p.errors]
            if not broken or not str(exc).startswith("Unknown"):
                raise
            named = "; ".join(f"{p.name} ({p.distribution}): {p.errors[0]}" for p in broken)
            raise BenchError(
                f"{exc} It may come from a plugin that failed to load: {named}. Fix or "
                "reinstall that plugin (`bench plugins` shows its errors)."
            ) from None
        shaped = ("num_classes", "input_shape")  # what architectures and augmentations get
        arch.check_options(config.arch_options, shaped)
        dataset.check_options(config.dataset_options, ("data_dir",))
        for name, entry in augs.items():
            entry.check_options(config.aug_options.get(name, {}), shaped)
        if config.data_dir is None and dataset.requires("data_dir"):
            raise BenchError(
                f"The {config.dataset} dataset needs --data-dir DIR (or data_dir in a config "
                f"or suite file): {dataset.description}."
            )

    def with_providers(self, config):
        """``config`` with the third-party plugins that provide its components recorded
        (``providers``): a run of another plugin's ``dup_arch`` is another run."""
        from dataclasses import replace

        versions = {p.name: p.version for p in self.plugins}
        entries = [
            ("arch", self.architectures.get(config.arch)),
            ("dataset", self.datasets.get(config.dataset)),
            *[("aug", self.augmentations.get(a)) for a in config.augs],
        ]
        providers = {}
        for kind, entry in entries:
            if entry.distribution in (DISTRIBUTION, ""):
                continue  # built-in (or a test's in-process plugin)
            version = versions.get(entry.plugin, "")
            source = entry.distribution + (f" {version}" if version else "")
            providers[f"{kind}:{entry.name}"] = f"plugin {entry.plugin!r} from {source}"
        return replace(config, providers=providers)

    def registry(self, kind: str) -> Registry:
        return self.registries[kind]


def _short_error(exc: BaseException) -> str:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    if os.environ.get("BENCH_DEBUG") == "1":
        text = "".join(traceback.format_exception(exc)).strip()
    return text


def _candidates(use_entry_points: bool):
    """(name, distribution, version, loader) for every plugin to try."""
    for module in BUILTIN_PLUGINS:
        name = module.removeprefix("benchbench.plugins.")
        yield name, DISTRIBUTION, __version__, lambda m=module: importlib.import_module(m)
    # Like PYTEST_PLUGINS: modules named in $BENCH_PLUGINS are registered without packaging.
    for module in filter(None, os.environ.get("BENCH_PLUGINS", "").split(",")):
        module = module.strip()
        yield module, "$BENCH_PLUGINS", "", lambda m=module: importlib.import_module(m)
    if not use_entry_points or os.environ.get("BENCH_DISABLE_PLUGIN_AUTOLOAD") == "1":
        return
    for ep in sorted(
        importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name
    ):
        dist = ep.dist.name if ep.dist else "?"
        version = ep.dist.version if ep.dist else "?"
        yield ep.name, dist, version, ep.load


def _hook_errors(pm: pluggy.PluginManager, plugin) -> tuple[list[str], list[str]]:
    """``(hooks it implements, problems)`` of a registered plugin, as pluggy sees it."""
    callers = pm.get_hookcallers(plugin) or []
    hooks = sorted(c.name for c in callers)
    errors = []
    unknown = [c.name for c in callers if not c.has_spec()]  # what check_pending() flags
    if unknown:
        errors.append(
            f"unknown hook(s) {', '.join(unknown)}: check the spelling against "
            "benchbench.plugins.hookspecs"
        )
    unmarked = sorted(
        name
        for name in dir(plugin)
        if name.startswith(f"{PROJECT}_") and name not in hooks and callable(getattr(plugin, name))
    )
    if unmarked:
        errors.append(
            f"{', '.join(unmarked)} not marked @benchbench.hookimpl, so not registered: "
            "add the decorator"
        )
    return hooks, errors


def load_components(use_entry_points: bool = True, extra_plugins=()) -> Components:
    """Build a fresh plugin manager and registries.

    ``extra_plugins`` are ``(name, module_or_object)`` pairs registered after the others,
    which is how tests exercise a plugin without installing it.
    """
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    registries = {kind: Registry(kind) for kind in KINDS}
    infos: dict[str, PluginInfo] = {}

    candidates = list(_candidates(use_entry_points))
    candidates += [(name, "<local>", "", lambda o=obj: o) for name, obj in extra_plugins]
    for name, dist, version, loader in candidates:
        info = infos[name] = PluginInfo(name, dist, version)
        try:
            plugin = loader()
            pm.register(plugin, name=name)  # pluggy validates each hookimpl's arguments
        except Exception as exc:  # a broken plugin must not take the others down
            info.errors.append(f"failed to load: {_short_error(exc)}")
            continue
        info.hooks, info.errors = _hook_errors(pm, plugin)

    # The implementations pluggy registered and validated for each hook are called one
    # plugin at a time, in registration order, so that what a plugin adds is attributed
    # to it and rolled back alone if its hook raises.
    for kind in KINDS:
        hook_name = f"benchbench_register_{kind}s"
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            try:
                info = infos[impl.plugin_name]
                with registries[kind].adding_for(impl.plugin_name, info.distribution):
                    impl.function(registry=registries[kind])
            except Exception as exc:
                infos[impl.plugin_name].errors.append(f"{hook_name}: {_short_error(exc)}")
    components = Components(registries, list(infos.values()), pm)
    _check_contracts(registries, infos)
    global _CURRENT
    _CURRENT = components
    return components


_CURRENT: Components | None = None


def current() -> Components:
    """The components this process loaded last; loaded now (entry points included) if
    none were. What the metric, format, table-kind and executor tables hold comes from
    here, so it never depends on which module was imported first."""
    return _CURRENT if _CURRENT is not None else load_components()


def _check_contracts(registries: dict[str, Registry], infos: dict[str, PluginInfo]) -> None:
    """Build each entry of a kind with a contract (:data:`CONTRACTS`) once and drop those
    that break it, reporting the problem against the plugin that registered it."""
    for kind, reference in CONTRACTS.items():
        module, _, function = reference.partition(":")
        problem_of = getattr(importlib.import_module(module), function)
        for entry in list(registries[kind]):
            try:
                problem = problem_of(entry)
            except Exception as exc:
                problem = _short_error(exc)
            if problem:
                infos[entry.plugin].errors.append(f"benchbench_register_{kind}s: {problem}")
                registries[kind].discard(entry.name)


def plugin_commands(components: Components, taken: set[str]):
    """A ``typer.Typer`` holding the commands plugins add (``benchbench_register_commands``);
    a plugin whose command name is ``taken`` (or that raises) gets the error, its
    commands are left out, and every other plugin's stay."""
    import typer

    commands = typer.Typer()
    if components.manager is None:
        return commands
    infos = {info.name: info for info in components.plugins}
    for impl in components.manager.hook.benchbench_register_commands.get_hookimpls():
        own = typer.Typer()
        try:
            impl.function(cli=own)
        except Exception as exc:
            infos[impl.plugin_name].errors.append(
                f"benchbench_register_commands: {_short_error(exc)}"
            )
            continue
        names = [c.name or c.callback.__name__.replace("_", "-") for c in own.registered_commands]
        names += [g.name for g in own.registered_groups]
        clash = sorted(set(names) & taken)
        if clash:
            infos[impl.plugin_name].errors.append(
                f"benchbench_register_commands: `bench {clash[0]}` exists already; "
                "rename the command"
            )
            continue
        taken |= set(names)
        commands.registered_commands += own.registered_commands
        commands.registered_groups += own.registered_groups
    return commands
