"""The resolved run configuration: validated once, hashed into the run id.

Its fields are generated from :data:`benchbench.settings.SETTINGS` (one declaration per
setting), plus the three plugin-option dictionaries filled by ``--set``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from dataclasses import fields
from dataclasses import replace
from typing import Any

from benchbench.errors import BenchError
from benchbench.settings import LABEL_KEYS
from benchbench.settings import SAME_NUMBERS_KEYS
from benchbench.settings import SETTINGS

PLUGIN_OPTIONS = ("arch_options", "aug_options", "dataset_options")
# Which third-party plugin provides each component a run names ({"arch:tiny": "plugin
# 'mine' from my-dist 1.2"}): part of the run's identity, so the same name from another
# plugin (or another version of it) is another run. Built-ins are not listed.
PROVIDERS = "providers"
SMOKE_DATA = {"size": 32, "train_size": 256, "test_size": 64}  # fake dataset options
SMOKE_BATCHES = 2  # training batches per epoch of a smoke run: wiring, not learning


def _fields_from_settings(cls):
    """Declare one dataclass field per setting, in the table's order."""
    annotations = {}
    for s in SETTINGS.values():
        annotations[s.name] = s.annotation
        setattr(cls, s.name, s.default)
    for name in (*PLUGIN_OPTIONS, PROVIDERS):
        annotations[name] = dict[str, Any]
        setattr(cls, name, field(default_factory=dict))
    cls.__annotations__ = annotations
    return cls


@dataclass(frozen=True)
@_fields_from_settings
class RunConfig:
    """Everything that determines a run. Two runs with equal configs are the same run.

    Fields: every setting of :data:`benchbench.settings.SETTINGS`, plus ``arch_options``,
    ``aug_options`` (per augmentation name), ``dataset_options`` and ``providers`` (the
    third-party plugins behind its components, see :data:`PROVIDERS`).
    """

    def validated(self) -> RunConfig:
        """This config with defaults resolved, or a BenchError naming the bad value."""
        for s in SETTINGS.values():
            s.validate(getattr(self, s.name))
        augs = tuple(a for a in self.augs if a != "none")
        aug_mode = self.aug_mode
        if aug_mode != "online" and not augs:
            if not self.augs:  # an explicit --aug none means no copies at all
                SETTINGS["aug_mode"].fail(aug_mode, "offline copies need at least one --aug.")
            aug_mode = "online"
        if self.scheduler == "piecewise" and not self.lr_milestones:
            SETTINGS["scheduler"].fail(
                "piecewise", "give the epochs to drop at with --lr-milestones 10,20."
            )
        if self.validate_on == "test" and self.val_fraction != 0:
            SETTINGS["validate_on"].fail(
                "test",
                f"validating on the test set holds nothing out of train, but --val-fraction "
                f"is {self.val_fraction}: set --val-fraction 0.",
            )
        if self.validate_on == "test" and self.val_subset is not None:
            SETTINGS["validate_on"].fail(
                "test", "--val-subset picks held-out images; --test-subset shrinks the test set."
            )
        validates = self.val_fraction > 0 or self.validate_on == "test"
        if self.early_stopping is not None and not validates:
            SETTINGS["early_stopping"].fail(
                self.early_stopping,
                "needs validation: set --val-fraction above 0 (or --validate-on test).",
            )
        restore = self.restore_best
        if restore is None:
            restore = self.early_stopping is not None
        if restore and not validates:
            raise BenchError(
                "--restore-best True: needs validation: set --val-fraction above 0 (or "
                "--validate-on test)."
            )
        if self.stop_at_target and self.target_acc is None:
            raise BenchError("--stop-at-target: stop at what? Give the target with --target-acc.")
        lr_step = self.lr_step
        if self.scheduler == "step" and lr_step is None:
            lr_step = max(1, self.epochs // 3)
        val_subset = self.val_subset
        if val_subset is None and self.subset is not None and 0 < self.val_fraction < 1:
            # Validation keeps its share of a reduced run, instead of dominating its time.
            share = self.val_fraction / (1 - self.val_fraction)
            val_subset = max(1, int(self.subset * share))
        return replace(
            self,
            aug_mode=aug_mode,
            restore_best=restore,
            lr_step=lr_step,
            val_subset=val_subset,
            augs=augs,
            lr_milestones=tuple(sorted(self.lr_milestones)),
        )

    def scaled(self) -> RunConfig:
        """The schedule training follows: epochs, lr step, milestones and patience times
        ``scale`` (each rounded, at least 1), and ``scale`` 1. A validated config keeps the
        recipe's values and its scale; only the training loop (and displays of its
        progress) read the scaled ones."""
        if self.scale == 1:
            return self

        def times(n: int) -> int:
            return max(1, round(n * self.scale))

        return replace(
            self,
            epochs=times(self.epochs),
            lr_step=None if self.lr_step is None else times(self.lr_step),
            lr_milestones=tuple(sorted({times(m) for m in self.lr_milestones})),
            early_stopping=None if self.early_stopping is None else times(self.early_stopping),
            scale=1.0,
        )

    def as_smoke(self) -> RunConfig:
        """This run shrunk to a wiring check: tiny fake data (digits stay digits), one
        epoch, small batches, no downloads or resizing; marked ``smoke``, so it never shares
        a run id (or a report row) with a real run."""
        arch = {k: v for k, v in self.arch_options.items() if k not in ("weights", "resize")}
        if arch.get("pretrained"):
            arch["pretrained"] = False
        changes: dict[str, Any] = {
            "smoke": True,
            "epochs": 1,
            "subset": None,
            "val_subset": None,
            "test_subset": None,
            "batch_size": min(self.batch_size, 64),
            "max_batches": SMOKE_BATCHES,
            "arch_options": arch,
        }
        if self.dataset != "digits":
            changes.update(dataset="fake", data_dir=None, dataset_options=dict(SMOKE_DATA))
        if self.normalize == "imagenet":
            changes["normalize"] = "dataset"  # fake data may be grey
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["augs"] = list(self.augs)
        data["lr_milestones"] = list(self.lr_milestones)
        return data

    def to_toml(self) -> str:
        """The config as a run file: what ``bench run --config`` reads back."""
        import tomli_w

        data = {k: v for k, v in self.to_dict().items() if v is not None and v != {} and v != []}
        for key in ("arch_options", "dataset_options", "aug_options", PROVIDERS):
            data.pop(key, None)  # options go back as --set lines; providers are found anew

        def literal(value) -> str:
            return value if isinstance(value, str) else json.dumps(value)

        sets = [f"arch.{k}={literal(v)}" for k, v in self.arch_options.items()]
        sets += [f"dataset.{k}={literal(v)}" for k, v in self.dataset_options.items()]
        sets += [
            f"aug.{name}.{k}={literal(v)}"
            for name, options in self.aug_options.items()
            for k, v in options.items()
        ]
        if sets:
            data["set"] = sets
        return tomli_w.dumps(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["augs"] = tuple(values.get("augs", ()))
        values["lr_milestones"] = tuple(values.get("lr_milestones", ()))
        return cls(**values)

    def digest(self, exclude: tuple[str, ...] = ()) -> str:
        """Hash of the config without ``exclude``. A setting added after the first release
        is left out while it holds its default, so a run stored before it existed keeps
        its id (and is still found as done)."""
        data = {
            k: v
            for k, v in self.to_dict().items()
            if k not in exclude
            and not (k in SETTINGS and SETTINGS[k].added > 1 and v == SETTINGS[k].default)
            and not (k == PROVIDERS and not v)  # built-ins only: ids as before
        }
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def run_id(self) -> str:
        """Content address of the run: the hash of everything it computes from. A label
        (``--name``) is not part of it: relabelling a run never trains it again. (Labels are
        hashed as unset rather than left out, so unlabelled runs keep the ids earlier
        releases gave them.) Nor is a setting that computes the same numbers whatever its
        value (where the data lives): asking for another never trains the run again."""
        neutral = {k: SETTINGS[k].default for k in SAME_NUMBERS_KEYS}
        return replace(self, **dict.fromkeys(LABEL_KEYS), **neutral).digest()

    @property
    def group_id(self) -> str:
        """Runs differing only in seed (or label) share a group: they are repeats."""
        return self.digest(exclude=("seed", *LABEL_KEYS, *SAME_NUMBERS_KEYS))

    @property
    def label(self) -> str:
        """A row label: ``--name`` if given, else architecture and augmentations."""
        if self.name:
            return self.name
        return "+".join([self.arch, *self.augs])
