"""The resolved run configuration: validated once, hashed into the run id."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from benchbench.errors import BenchError

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("none", "step", "piecewise", "cosine", "onecycle")
PRECISIONS = ("fp32", "bf16", "fp16")
MONITORS = ("val_loss", "val_acc")
NORMALIZATIONS = ("dataset", "imagenet", "half", "zero_center", "none")
AUG_MODES = ("online", "offline", "expand")
L2_SCOPES = ("all", "head")
# Keys that label or place a run without changing what it computes.
PRESENTATION_KEYS = ("name",)


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a run. Two runs with equal configs are the same run."""

    arch: str = "cnn_small"
    augs: tuple[str, ...] = ()
    aug_mode: str = "online"
    aug_fraction: float = 0.5
    dataset: str = "digits"
    data_dir: str | None = None
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    l2_scope: str = "all"
    scheduler: str = "none"
    lr_step: int | None = None
    lr_milestones: tuple[int, ...] = ()
    lr_gamma: float = 0.1
    dropout: float | None = None
    label_smoothing: float = 0.0
    clip_grad: float | None = None
    early_stopping: int | None = None
    min_delta: float = 0.0
    monitor: str = "val_loss"
    restore_best: bool | None = None
    val_fraction: float = 0.1
    subset: int | None = None
    test_subset: int | None = None
    split_seed: int = 0
    normalize: str = "dataset"
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"
    name: str | None = None
    arch_options: dict[str, Any] = field(default_factory=dict)
    aug_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    dataset_options: dict[str, Any] = field(default_factory=dict)

    def validated(self) -> RunConfig:
        """This config with defaults resolved, or a BenchError naming the bad value."""

        def bad(flag, value, why):
            raise BenchError(f"{flag} {value!r}: {why}")

        def choice(flag, value, allowed):
            if value not in allowed:
                bad(flag, value, f"choose one of {', '.join(allowed)}.")

        if self.epochs < 1:
            bad("--epochs", self.epochs, "train for at least 1 epoch.")
        if self.batch_size < 1:
            bad("--batch-size", self.batch_size, "a batch holds at least 1 image.")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            bad("--lr", self.lr, "the learning rate must be a positive number, e.g. 1e-3.")
        choice("--optimizer", self.optimizer, OPTIMIZERS)
        choice("--scheduler", self.scheduler, SCHEDULERS)
        choice("--precision", self.precision, PRECISIONS)
        choice("--monitor", self.monitor, MONITORS)
        choice("--normalize", self.normalize, NORMALIZATIONS)
        choice("--aug-mode", self.aug_mode, AUG_MODES)
        choice("--l2-scope", self.l2_scope, L2_SCOPES)
        if not 0 < self.aug_fraction <= 1:
            bad("--aug-fraction", self.aug_fraction, "augment a share in (0, 1] of the images.")
        aug_mode = self.aug_mode
        if aug_mode != "online" and not [a for a in self.augs if a != "none"]:
            if not self.augs:  # an explicit --aug none means no copies at all
                bad("--aug-mode", aug_mode, "offline copies need at least one --aug to apply.")
            aug_mode = "online"
        if not 0 <= self.momentum < 1:
            bad("--momentum", self.momentum, "must lie in [0, 1).")
        if self.weight_decay < 0:
            bad("--weight-decay", self.weight_decay, "must be >= 0.")
        if not 0 < self.lr_gamma <= 1:
            bad("--lr-gamma", self.lr_gamma, "the decay factor lies in (0, 1].")
        if self.lr_step is not None and self.lr_step < 1:
            bad("--lr-step", self.lr_step, "step every >= 1 epochs.")
        if self.scheduler == "piecewise" and not self.lr_milestones:
            bad(
                "--scheduler", "piecewise", "give the epochs to drop at with --lr-milestones 10,20."
            )
        if self.dropout is not None and not 0 <= self.dropout < 1:
            bad("--dropout", self.dropout, "must lie in [0, 1).")
        if not 0 <= self.label_smoothing < 1:
            bad("--label-smoothing", self.label_smoothing, "must lie in [0, 1).")
        if self.clip_grad is not None and self.clip_grad <= 0:
            bad("--clip-grad", self.clip_grad, "the maximum gradient norm must be > 0.")
        if not 0 <= self.val_fraction < 1:
            bad("--val-fraction", self.val_fraction, "hold out a fraction in [0, 1), e.g. 0.1.")
        if self.subset is not None and self.subset < 2:
            bad("--subset", self.subset, "keep at least 2 training images.")
        if self.test_subset is not None and self.test_subset < 1:
            bad("--test-subset", self.test_subset, "keep at least 1 test image.")
        if self.early_stopping is not None:
            if self.early_stopping < 1:
                bad("--early-stopping", self.early_stopping, "patience is >= 1 epochs.")
            if self.val_fraction == 0:
                bad(
                    "--early-stopping",
                    self.early_stopping,
                    "needs a validation split: set --val-fraction above 0.",
                )
        if self.min_delta < 0:
            bad("--min-delta", self.min_delta, "must be >= 0.")
        restore = self.restore_best
        if restore is None:
            restore = self.early_stopping is not None
        if restore and self.val_fraction == 0:
            bad("--restore-best", True, "needs a validation split: set --val-fraction above 0.")
        lr_step = self.lr_step
        if self.scheduler == "step" and lr_step is None:
            lr_step = max(1, self.epochs // 3)
        augs = tuple(a for a in self.augs if a != "none")
        return replace(
            self,
            aug_mode=aug_mode,
            restore_best=restore,
            lr_step=lr_step,
            augs=augs,
            lr_milestones=tuple(sorted(self.lr_milestones)),
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["augs"] = list(self.augs)
        data["lr_milestones"] = list(self.lr_milestones)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["augs"] = tuple(values.get("augs", ()))
        values["lr_milestones"] = tuple(values.get("lr_milestones", ()))
        return cls(**values)

    def digest(self, exclude: tuple[str, ...] = ()) -> str:
        data = {k: v for k, v in self.to_dict().items() if k not in exclude}
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def run_id(self) -> str:
        """Content address of the run: the hash of the whole resolved config."""
        return self.digest()

    @property
    def group_id(self) -> str:
        """Runs differing only in seed (or label) share a group: they are repeats."""
        return self.digest(exclude=("seed", *PRESENTATION_KEYS))

    @property
    def label(self) -> str:
        """A row label: ``--name`` if given, else architecture and augmentations."""
        if self.name:
            return self.name
        return "+".join([self.arch, *self.augs])


def parse_value(text: str) -> Any:
    """``--set`` values: JSON literals (1, 0.5, true, [1,2]), else the string itself."""
    lowered = text.strip()
    if lowered.lower() in ("true", "false"):
        return lowered.lower() == "true"
    try:
        return json.loads(lowered)
    except ValueError:
        return text


def parse_size(size, what: str = "size") -> tuple[int, int] | None:
    """``32``, ``"32"`` or ``"64x96"`` → ``(height, width)``; None stays None."""
    if size is None:
        return None
    if isinstance(size, (list, tuple)) and len(size) == 2:
        size = f"{size[0]}x{size[1]}"
    h, _, w = str(size).lower().partition("x")
    try:
        height, width = int(h), int(w or h)
    except ValueError:
        height = width = 0
    if height < 1 or width < 1:
        raise BenchError(f"{what} {size!r}: write HxW, e.g. 32x32, or one number.")
    return height, width


def parse_sets(items: list[str], augs: tuple[str, ...]) -> dict[str, Any]:
    """``--set`` items → ``{"arch_options": ..., "aug_options": ..., "dataset_options": ...}``."""
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise BenchError(
                f"--set {item!r}: write KEY=VALUE with KEY one of arch.OPTION, "
                "aug.NAME.OPTION or dataset.OPTION, e.g. --set arch.bn=true."
            )
        pairs.append((key.strip(), parse_value(value)))
    return plugin_options(pairs, augs)


def plugin_options(pairs, augs: tuple[str, ...]) -> dict[str, Any]:
    """``(dotted key, value)`` pairs → the three plugin option dicts of a RunConfig."""
    out: dict[str, Any] = {"arch_options": {}, "aug_options": {}, "dataset_options": {}}
    for key, value in pairs:
        parts = key.split(".")
        scope = parts[0]
        if scope == "arch" and len(parts) == 2 and parts[1]:
            out["arch_options"][parts[1]] = value
        elif scope == "dataset" and len(parts) == 2 and parts[1]:
            out["dataset_options"][parts[1]] = value
        elif scope == "aug" and len(parts) == 3 and all(parts):
            if parts[1] not in augs:
                raise BenchError(
                    f"--set {key}: augmentation {parts[1]!r} is not in this run's "
                    f"--aug list ({', '.join(augs) or 'none'})."
                )
            out["aug_options"].setdefault(parts[1], {})[parts[2]] = value
        else:
            raise BenchError(
                f"--set {key!r}: KEY must be arch.OPTION, aug.NAME.OPTION or dataset.OPTION, "
                "e.g. --set arch.bn=true."
            )
    return out
