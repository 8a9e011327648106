"""Registry: the named factories (architectures, augmentations, datasets) plugins add."""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import importlib
import inspect
import re
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import replace

from benchbench.errors import BenchError
from benchbench.errors import PluginError
from benchbench.errors import did_you_mean


@dataclass(frozen=True)
class Entry:
    """One registered component."""

    kind: str
    name: str
    target: Callable | str  # the factory, or "package.module:function" imported on first use
    description: str
    plugin: str
    distribution: str = ""
    # A family (``torchvision``, ``timm``): the variant names ``family:variant`` may take.
    variants: Callable[[], list[str]] | None = None

    @property
    def factory(self) -> Callable:
        """The factory itself, imported now if it was registered by reference."""
        if not isinstance(self.target, str):
            return self.target
        module, _, attribute = self.target.partition(":")
        try:
            return getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError) as exc:
            raise PluginError(
                f"{self.kind} {self.name!r} from {self.origin}: its factory "
                f"{self.target!r} cannot be imported ({type(exc).__name__}: {exc})."
            ) from exc

    @property
    def origin(self) -> str:
        """``plugin 'name' (distribution)``: where to report a problem with this entry."""
        return f"plugin {self.plugin!r}" + (f" ({self.distribution})" if self.distribution else "")

    def option_names(self) -> set[str] | None:
        """Keyword options the factory accepts, or None if it takes ``**options``."""
        params = inspect.signature(self.factory).parameters.values()
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            return None
        return {p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}

    def requires(self, name: str) -> bool:
        """Whether the factory takes a keyword ``name`` without a default (a value it
        cannot run without, such as a dataset's ``data_dir``)."""
        param = inspect.signature(self.factory).parameters.get(name)
        return param is not None and param.default is inspect.Parameter.empty

    def check_options(self, options: dict, required: tuple[str, ...] = ()) -> None:
        """Raise a BenchError naming an option the factory does not accept, or one of the
        wrong type, without calling the factory (nothing it imports is loaded)."""
        accepted = self.option_names()
        if accepted is not None:
            accepted -= set(required)
            unknown = sorted(set(options) - accepted)
            if unknown:
                hint = did_you_mean(unknown[0], accepted)
                raise BenchError(
                    f"{self.kind} {self.name!r} has no option {', '.join(map(repr, unknown))}."
                    f"{hint} It accepts: {', '.join(sorted(accepted)) or 'no options'}."
                )
        self._check_types(options)

    def create(self, options: dict, **required):
        """Call the factory with ``required`` arguments and the user's ``options``.

        An option the factory does not accept, or a factory that raises TypeError for its
        arguments, becomes a BenchError naming the option and what is accepted.
        """
        self.check_options(options, tuple(required))
        try:
            return self.factory(**required, **options)
        except BenchError:
            raise  # the plugin's own message for the user
        except TypeError as exc:
            raise BenchError(
                f"{self.kind} {self.name!r} rejected its options {options}: {exc}. Check "
                f"the --set values against `bench list` (its description names the options)."
            ) from exc
        except Exception as exc:
            raise PluginError(
                f"{self.kind} {self.name!r} from {self.origin} failed: "
                f"{type(exc).__name__}: {exc}. This is a problem of that plugin (or of the "
                "options given to it), not of benchbench."
            ) from exc

    def _check_types(self, options: dict) -> None:
        """A value whose type cannot be what the factory's default is (a table for a
        number, a word for a switch) is named with the flag that gave it."""
        try:
            parameters = inspect.signature(self.factory).parameters
        except (TypeError, ValueError):
            return
        prefix = {"architecture": "arch", "dataset": "dataset"}.get(self.kind, f"aug.{self.name}")
        for key, value in options.items():
            default = getattr(parameters.get(key), "default", inspect.Parameter.empty)
            if default is inspect.Parameter.empty or default is None:
                continue
            wanted, ok = _TYPE_WORDS.get(type(default), (None, None))
            if wanted is not None and not ok(value):
                raise BenchError(
                    f"--set {prefix}.{key}={_shown(value)}: {self.kind} {self.name!r} takes "
                    f"{wanted} for {key} (its default is {_shown(default)}). Give e.g. --set "
                    f"{prefix}.{key}={_shown(default)}."
                )


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# The default's type → (what to ask for, whether a value can be it).
_TYPE_WORDS = {
    bool: ("true or false", lambda v: isinstance(v, bool)),
    int: ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    float: ("a number", _number),
    # a text default is often a list written out ("32,64,128"): numbers and lists pass
    str: ("a text value", lambda v: not isinstance(v, (dict, bool))),
    tuple: ("a list", lambda v: not isinstance(v, (dict, bool))),
    list: ("a list", lambda v: not isinstance(v, (dict, bool))),
}


def _shown(value) -> str:
    """A value as the user would type it after ``--set KEY=``."""
    import json

    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except TypeError:
        return str(value)


def _known(entry: Entry) -> list[str]:
    """A family's variant names; none if listing them fails (a library not installed)."""
    try:
        return list(entry.variants())
    except Exception:
        return []


def _natural_key(name: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


class Registry:
    """Factories of one kind, keyed by name.

    Plugins receive a registry in their ``benchbench_register_*`` hook and call
    :meth:`add`. A name can be registered once; a second plugin adding the same name is an
    error that ``bench plugins`` reports against that plugin.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry] = {}
        self._current_plugin = "<unknown>"
        self._current_distribution = ""

    @contextlib.contextmanager
    def adding_for(self, plugin: str, distribution: str = "") -> Iterator[Registry]:
        """Attribute what is added inside the block to ``plugin``: all of it, or none.

        If the block raises, every entry it added is removed again and the error
        propagates; entries of other plugins are never touched.
        """
        before = dict(self._entries)
        previous = self._current_plugin, self._current_distribution
        self._current_plugin, self._current_distribution = plugin, distribution
        try:
            yield self
        except BaseException:
            self._entries = before
            raise
        finally:
            self._current_plugin, self._current_distribution = previous

    def add(
        self,
        name: str,
        factory: Callable | str,
        *,
        description: str = "",
        variants: Callable[[], list[str]] | None = None,
    ) -> None:
        """Register ``factory`` under ``name`` with a one-line ``description``.

        ``factory`` may be a reference, ``"package.module:function"``: it is imported when
        the component is first built, so a module that imports torch costs nothing until
        then (``bench list``, ``bench --help``).

        A *family* takes a ``variant`` option and is used as ``name:VARIANT``;
        ``variants()`` lists the names it knows, for listing (``bench list archs
        --filter 'timm:resnet*'``) and for suggestions (``resnet18`` → ``timm:resnet18``).

        Raises :class:`~benchbench.errors.PluginError` if the name is taken, malformed, or
        the factory is not callable.
        """
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.:\-]*", name or ""):
            raise PluginError(f"invalid {self.kind} name {name!r}: use letters, digits, _ - . :")
        reference = isinstance(factory, str)
        if reference and not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", factory):
            raise PluginError(
                f"{self.kind} {name!r}: factory {factory!r} is not a reference like "
                "'package.module:function'"
            )
        if not reference and not callable(factory):
            raise PluginError(f"{self.kind} {name!r}: factory {factory!r} is not callable")
        if name in self._entries:
            owner = self._entries[name].plugin
            raise PluginError(f"{self.kind} {name!r} is already registered by plugin {owner!r}")
        self._entries[name] = Entry(
            self.kind,
            name,
            factory,
            description.strip(),
            self._current_plugin,
            self._current_distribution,
            variants,
        )

    def discard(self, name: str) -> None:
        """Remove ``name`` (an entry that broke its kind's contract); absent names pass."""
        self._entries.pop(name, None)

    def get(self, name: str) -> Entry:
        """The entry named ``name``; an unknown name raises a BenchError with suggestions.

        ``family:variant`` names the entry ``family`` called with ``variant="variant"``
        (``torchvision:convnext_tiny``), for factories that take a ``variant`` option.
        """
        family, sep, variant = name.partition(":")
        if sep and name not in self._entries and family in self._entries:
            entry = self._entries[family]
            known = _known(entry) if entry.variants is not None else []
            if known and variant not in known:
                raise BenchError(
                    f"Unknown {self.kind} {name!r}: {family} has no {variant!r}."
                    f"{did_you_mean(variant, known)} `bench list {self.kind}s --filter "
                    f"'{family}:*'` lists them."
                )
            if "variant" in (entry.option_names() or {"variant"}):
                return Entry(
                    self.kind,
                    name,
                    functools.partial(entry.factory, variant=variant),
                    entry.description,
                    entry.plugin,
                    entry.distribution,
                )
        try:
            return self._entries[name]
        except KeyError:
            in_families = [f"{e.name}:{name}" for e in self._families() if name in _known(e)]
            hint = (
                f" Did you mean {' or '.join(map(repr, in_families))}?"
                if in_families
                else did_you_mean(name, self._entries)
            )
            raise BenchError(
                f"Unknown {self.kind} {name!r}.{hint} "
                f"Run `bench list {self.kind}s` to see the {len(self._entries)} available."
            ) from None

    def _families(self) -> list[Entry]:
        return [e for e in self._entries.values() if e.variants is not None]

    def list(self, pattern: str = "*") -> list[Entry]:
        """Entries whose name matches the shell-style ``pattern``, in natural order; a
        pattern naming a family (``timm:resnet*``) lists that family's variants."""
        names = [n for n in self._entries if fnmatch.fnmatchcase(n, pattern)]
        found = [self._entries[n] for n in names]
        family, sep, _ = pattern.partition(":")
        for entry in self._families():
            if sep and fnmatch.fnmatchcase(entry.name, family):
                for variant in _known(entry):
                    full = f"{entry.name}:{variant}"
                    if fnmatch.fnmatchcase(full, pattern) and full not in self._entries:
                        what = "model" if self.kind == "architecture" else self.kind
                        about = f"{entry.name} {what} {variant!r}: {entry.description}"
                        found.append(replace(entry, name=full, description=about, variants=None))
        return sorted(found, key=lambda e: _natural_key(e.name))

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.list())

    def __len__(self) -> int:
        return len(self._entries)
