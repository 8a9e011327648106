"""The one table of run settings: name, type, default, choices, help and layer of each.

Every setting of a run is declared here once. The table drives:

- :class:`benchbench.config.RunConfig`, whose fields it generates, and its validation;
- the ``bench run`` options (choices become real choices: ``--help`` and shell completion
  list them), and the shared options of ``bench sweep``;
- the keys a suite file's ``[base]``, variants, grids and tuning lists accept, and
  ``bench sweep --set KEY=VALUE``;
- the settings table in README (:func:`markdown_table`; a test keeps README in step).

Plugin options (``--set arch.bn=true``) are not settings: the plugin's factory signature
declares them. This module is light: no torch, no pandas.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchbench.errors import BenchError

# Layers a setting belongs to; also the panels of `bench run --help`.
DATA, TRAINING, EXECUTION, LABEL = "Data", "Training", "Execution", "Label"


@dataclass(frozen=True)
class Setting:
    """One run setting.

    ``kind`` is the Python type of the stored value (``int``, ``float``, ``str``, ``bool``,
    ``"strs"`` for a tuple of names, ``"ints"`` for a tuple of integers, ``"path"`` for a
    folder stored as an absolute path string). ``check`` returns why a value is bad, or
    None. ``layer`` LABEL marks settings that name a run without changing what it computes.
    """

    name: str
    kind: Any
    default: Any
    help: str
    layer: str
    choices: tuple[str, ...] = ()
    optional: bool = False  # None is a valid value (meaning: not set / derived)
    check: Callable[[Any], str | None] | None = None
    flags: tuple[str, ...] = ()  # CLI spellings, when not just --name-with-dashes
    metavar: str | None = None
    default_text: str | None = None  # what --help says the default is, when derived
    added: int = 1  # the release of the settings table that added it (see RunConfig.digest)
    same_numbers: bool = False  # every value computes the same numbers: not in the run id

    @property
    def flag(self) -> str:
        return self.flags[0] if self.flags else "--" + self.name.replace("_", "-")

    @property
    def annotation(self) -> Any:
        """The type of the RunConfig field."""
        base = {"strs": tuple[str, ...], "ints": tuple[int, ...], "path": str}.get(
            self.kind, self.kind
        )
        return base | None if self.optional else base

    def validate(self, value: Any) -> None:
        """Raise a BenchError naming the flag if ``value`` is not allowed."""
        if value is None and self.optional:
            return
        expected = _KIND_CHECKS[self.kind if isinstance(self.kind, str) else self.kind.__name__]
        if not expected[0](value):
            hint = ""
            if isinstance(value, str) and "," in value:
                hint = " A comma list is not a grid here: list the values in a suite's [[grids]]."
            self.fail(value, f"give {expected[1]}.{hint}")
        if self.choices and value not in self.choices:
            self.fail(value, f"choose one of {', '.join(self.choices)}.")
        if self.check is not None:
            why = self.check(value)
            if why:
                self.fail(value, why)

    def fail(self, value: Any, why: str):
        raise BenchError(f"{self.flag} {value!r}: {why}")

    def from_text(self, text: str) -> Any:
        """A command-line string → this setting's value (``--set``, ``--lr-milestones``)."""
        if self.kind == "ints":
            try:
                return tuple(int(m) for m in str(text).split(",") if m.strip())
            except ValueError:
                self.fail(text, "give integers like 10,20.")
        return parse_value(text)


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# kind → (is the value of that kind, what to ask for)
_KIND_CHECKS = {
    "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
    "float": (_number, "a number"),
    "str": (lambda v: isinstance(v, str), "a text value"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "path": (lambda v: isinstance(v, str), "a folder path"),
    "strs": (
        lambda v: isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v),
        "a list of names",
    ),
    "ints": (
        lambda v: (
            isinstance(v, (list, tuple))
            and all(isinstance(x, int) and not isinstance(x, bool) for x in v)
        ),
        "a list of whole numbers, e.g. 10,20",
    ),
}


def _at_least(low, why):
    return lambda v: None if v >= low else why


def _within(low, high, why, include_low=True):
    return lambda v: None if (low <= v if include_low else low < v) and v < high else why


def _positive_finite(why):
    return lambda v: None if v > 0 and math.isfinite(v) else why


_SETTINGS = [
    # -- data ------------------------------------------------------------------------------
    Setting("dataset", str, "digits", "Dataset (see `bench list datasets`).", DATA),
    Setting("data_dir", "path", None, "Where the dataset lives.", DATA, optional=True),
    Setting(
        "val_fraction",
        float,
        0.1,
        "Stratified share of train held out for validation.",
        DATA,
        check=_within(0, 1, "hold out a fraction in [0, 1), e.g. 0.1."),
    ),
    Setting(
        "subset",
        int,
        None,
        "Train on a stratified subset of N images (validation and test untouched).",
        DATA,
        optional=True,
        check=_at_least(2, "keep at least 2 training images."),
    ),
    Setting(
        "test_subset",
        int,
        None,
        "Evaluate on a stratified subset of N test images (quick runs).",
        DATA,
        optional=True,
        check=_at_least(1, "keep at least 1 test image."),
    ),
    Setting(
        "val_subset",
        int,
        None,
        "Validate on a stratified subset of N held-out images.",
        DATA,
        optional=True,
        check=_at_least(1, "validate on at least 1 image."),
        default_text="all; with --subset, scaled with it",
        added=2,
    ),
    Setting(
        "val_every",
        int,
        1,
        "Validate every K epochs (and after the last).",
        DATA,
        check=_at_least(1, "validate every K >= 1 epochs."),
        added=2,
    ),
    Setting(
        "validate_on",
        str,
        "split",
        "What validation sees: split holds --val-fraction of train out; test validates on "
        "the test set after every epoch, as reports that trained on all of train did (their "
        "validation curves are test curves; early stopping then watches the test set). "
        "test needs --val-fraction 0.",
        DATA,
        added=2,
        choices=("split", "test"),
    ),
    Setting("split_seed", int, 0, "Seed of the validation split (fixed across --seeds).", DATA),
    Setting(
        "normalize",
        str,
        "dataset",
        "Input normalization: per-channel dataset statistics, ImageNet's, 0.5/0.5, "
        "the mean image, or none.",
        DATA,
        choices=("dataset", "imagenet", "half", "zero_center", "none"),
    ),
    # -- training --------------------------------------------------------------------------
    Setting("arch", str, "cnn_small", "Architecture (see `bench list archs`).", TRAINING),
    Setting(
        "augs",
        "strs",
        (),
        "Augmentation, repeatable; composes in order (see `bench list augs`).",
        TRAINING,
        flags=("--aug",),
        default_text="none",
    ),
    Setting(
        "aug_mode",
        str,
        "online",
        "online (every batch afresh), offline (augment --aug-fraction of the images once "
        "and append) or expand (report 002's 8x: flips plus augmented copies).",
        TRAINING,
        choices=("online", "offline", "expand"),
    ),
    Setting(
        "aug_fraction",
        float,
        0.5,
        "offline: share of the training images copied.",
        TRAINING,
        check=_within(0, 1.0000001, "augment a share in (0, 1] of the images.", False),
    ),
    Setting(
        "epochs",
        int,
        10,
        "Epochs (the most, with early stopping).",
        TRAINING,
        flags=("--epochs", "--max-epochs"),
        check=_at_least(1, "train for at least 1 epoch."),
    ),
    Setting(
        "batch_size",
        int,
        128,
        "Images per training step.",
        TRAINING,
        check=_at_least(1, "a batch holds at least 1 image."),
    ),
    Setting(
        "lr",
        float,
        1e-3,
        "Learning rate.",
        TRAINING,
        check=_positive_finite("the learning rate must be a positive number, e.g. 1e-3."),
    ),
    Setting("optimizer", str, "adam", "Optimizer.", TRAINING, choices=("sgd", "adam", "adamw")),
    Setting(
        "momentum",
        float,
        0.9,
        "Momentum (sgd).",
        TRAINING,
        check=_within(0, 1, "must lie in [0, 1)."),
    ),
    Setting("nesterov", bool, False, "Nesterov momentum (sgd).", TRAINING),
    Setting(
        "weight_decay",
        float,
        0.0,
        "L2 regularization by weight decay.",
        TRAINING,
        check=_at_least(0, "must be >= 0."),
    ),
    Setting(
        "l2_scope",
        str,
        "all",
        "Where weight decay applies: all parameters, or the architecture's head only.",
        TRAINING,
        choices=("all", "head"),
    ),
    Setting(
        "l2_style",
        str,
        "decay",
        "How --weight-decay is read: decay (PyTorch's: every parameter in scope decays by "
        "it) or keras (Keras' kernel_regularizer l2(λ): a penalty λ·Σw² on weight matrices "
        "and kernels only, so twice the decay and no biases or normalization parameters).",
        TRAINING,
        added=2,
        choices=("decay", "keras"),
    ),
    Setting(
        "scheduler",
        str,
        "none",
        "Learning-rate schedule. onecycle: PyTorch's OneCycleLR (cosine, momentum cycled); "
        "triangle: airbench's, stepped every batch: 0.2·lr rising linearly to lr at 23 % "
        "of the steps, then falling linearly to 0.07·lr, momentum held.",
        TRAINING,
        choices=("none", "step", "piecewise", "cosine", "onecycle", "triangle"),
    ),
    Setting(
        "bias_lr_scale",
        float,
        1.0,
        "Learning-rate factor of the normalization layers' biases (BatchNorm, GroupNorm, "
        "LayerNorm...); their weight decay is divided by it, so each step decays them as "
        "much as the other weights. airbench: 64.",
        TRAINING,
        added=2,
        check=lambda v: None if v > 0 else "give a factor above 0, e.g. 64.",
    ),
    Setting(
        "lookahead",
        int,
        0,
        "Lookahead with an EMA of the weights (hlb-CIFAR10/airbench): from a quarter of the "
        "training steps on, every K steps the slow weights move toward the trained ones by "
        "1 - 0.95^K·(t/T)^3 and training resumes from them; each epoch ends on the slow "
        "weights. 0: off.",
        TRAINING,
        added=2,
        metavar="K",
        check=_at_least(0, "give 0 (off) or a number of steps >= 1, e.g. 5."),
    ),
    Setting(
        "lr_step",
        int,
        None,
        "step: decay every N epochs.",
        TRAINING,
        optional=True,
        check=_at_least(1, "step every >= 1 epochs."),
        default_text="epochs/3",
    ),
    Setting(
        "lr_milestones",
        "ints",
        (),
        "piecewise: epochs to decay at, e.g. 10,20.",
        TRAINING,
        metavar="EPOCHS",
    ),
    Setting(
        "lr_gamma",
        float,
        0.1,
        "step/piecewise decay factor.",
        TRAINING,
        check=_within(0, 1.0000001, "the decay factor lies in (0, 1].", False),
    ),
    Setting(
        "dropout",
        float,
        None,
        "Dropout of the architecture's dropout layer(s).",
        TRAINING,
        optional=True,
        check=_within(0, 1, "must lie in [0, 1)."),
    ),
    Setting(
        "label_smoothing",
        float,
        0.0,
        "Label smoothing of the cross-entropy loss.",
        TRAINING,
        check=_within(0, 1, "must lie in [0, 1)."),
    ),
    Setting(
        "clip_grad",
        float,
        None,
        "Clip the gradient norm at this value.",
        TRAINING,
        optional=True,
        check=lambda v: None if v > 0 else "the maximum gradient norm must be > 0.",
    ),
    Setting(
        "max_batches",
        int,
        None,
        "Train on at most N batches per epoch (smoke runs: 2).",
        TRAINING,
        optional=True,
        check=_at_least(1, "train on at least 1 batch per epoch."),
        added=2,
    ),
    Setting(
        "early_stopping",
        int,
        None,
        "Stop after PATIENCE epochs without improvement of --monitor.",
        TRAINING,
        optional=True,
        metavar="PATIENCE",
        check=_at_least(1, "patience is >= 1 epochs."),
    ),
    Setting(
        "min_delta",
        float,
        0.0,
        "Smallest change that counts as improvement.",
        TRAINING,
        check=_at_least(0, "must be >= 0."),
    ),
    Setting(
        "monitor",
        str,
        "val_loss",
        "What early stopping and --restore-best watch.",
        TRAINING,
        choices=("val_loss", "val_acc"),
    ),
    Setting(
        "target_acc",
        float,
        None,
        "Time to accuracy (DAWNBench's metric): record the training seconds (synchronized, "
        "training only) and epochs after which --target-on accuracy first reaches this.",
        TRAINING,
        optional=True,
        added=2,
        check=lambda v: None if 0 < v <= 1 else "give an accuracy in (0, 1], e.g. 0.94.",
    ),
    Setting(
        "target_on",
        str,
        "val",
        "Which accuracy --target-acc watches: validation, or test (evaluated after every "
        "epoch, with --tta, outside the training time).",
        TRAINING,
        added=2,
        choices=("val", "test"),
    ),
    Setting(
        "stop_at_target",
        bool,
        False,
        "Stop training at the epoch --target-acc is first reached (time-to-target "
        "benchmarks, as AlgoPerf runs them: nothing after the target is timed).",
        TRAINING,
        flags=("--stop-at-target/--no-stop-at-target",),
        added=2,
    ),
    Setting(
        "max_train_seconds",
        float,
        None,
        "Stop training after the epoch that brings its training seconds (evaluation "
        "untimed) to this: a workload's maximum runtime. A run stopped here without "
        "reaching --target-acc missed its target.",
        TRAINING,
        optional=True,
        metavar="SECONDS",
        added=2,
        check=lambda v: None if v > 0 else "give a number of seconds > 0.",
    ),
    Setting(
        "tta",
        str,
        "none",
        "Test-time augmentation of test evaluations: the mean logits over the image and "
        "its mirror (flip), or also both shifted by a pixel either way (flip-translate).",
        TRAINING,
        added=2,
        choices=("none", "flip", "flip-translate"),
    ),
    Setting(
        "restore_best",
        bool,
        None,
        "Evaluate the best epoch's weights.",
        TRAINING,
        optional=True,
        flags=("--restore-best/--no-restore-best",),
        default_text="on with --early-stopping",
    ),
    Setting(
        "scale",
        float,
        1.0,
        "Shorten (or lengthen) the schedule as a whole: epochs, --lr-step, --lr-milestones "
        "and --early-stopping patience are multiplied by it (rounded, at least 1), so a "
        "recipe run at a quarter of its epochs still decays its learning rate and stops "
        "early in proportion. The run records the recipe's values and the scale.",
        TRAINING,
        added=2,
        check=lambda v: None if v > 0 else "give a factor above 0, e.g. 0.25.",
    ),
    # -- execution -------------------------------------------------------------------------
    Setting("seed", int, 0, "Seed of initialization, batch order and augmentation.", EXECUTION),
    Setting("device", str, "auto", "auto, cpu, cuda or cuda:INDEX.", EXECUTION),
    Setting(
        "deterministic",
        bool,
        False,
        "Deterministic algorithms (cuDNN autotuning off, deterministic kernels, the cuBLAS "
        "workspace set): bit-identical runs on a GPU, at some speed. CPU runs are always so.",
        EXECUTION,
        added=2,
    ),
    Setting(
        "tf32",
        str,
        "off",
        "TensorFloat-32 for fp32 matmuls and convolutions on Ampere+ GPUs: off keeps fp32 "
        "exactly fp32.",
        EXECUTION,
        added=2,
        choices=("off", "on"),
    ),
    Setting(
        "smoke",
        bool,
        False,
        "A wiring check, not a result: tiny fake data (digits stay digits), 1 epoch of 2 "
        "batches of at most 64. Stored apart and left out of reports unless asked for.",
        EXECUTION,
        added=2,
    ),
    Setting(
        "precision",
        str,
        "fp32",
        "Arithmetic precision (bf16 and fp16 by autocast); auto picks bf16 where the device "
        "runs it natively (CUDA compute capability 8.0+; a CPU with AMX or AVX512-BF16 where "
        "a few interleaved steps of the run's own model find it at least 10% faster), else "
        "fp32. The run records what was chosen.",
        EXECUTION,
        choices=("fp32", "bf16", "fp16", "auto"),
    ),
    Setting(
        "compile",
        bool,
        False,
        "torch.compile the model (inductor). Compiling happens in the warm-up and is timed "
        "apart (compile_seconds); refused where the backend cannot run (no C++ compiler on "
        "a CPU, no Triton on a GPU).",
        EXECUTION,
        added=2,
    ),
    Setting(
        "layout",
        str,
        "auto",
        "Memory layout of images and convolution weights: auto is channels_last for models "
        "with 2-D convolutions (faster on GPUs and CPUs alike), contiguous otherwise. The "
        "run records what was chosen.",
        EXECUTION,
        added=2,
        choices=("auto", "channels_last", "contiguous"),
    ),
    Setting(
        "data_placement",
        str,
        "auto",
        "Where the images live while training: device holds every split on the run's "
        "device (the fast path); stream reads each batch from the memory-mapped cache as it "
        "is drawn (the same batches, for data larger than memory); auto holds them when "
        "they fit in half the free memory. The run records which; it is not part of the "
        "run id, since every choice computes the same numbers.",
        EXECUTION,
        added=2,
        choices=("auto", "device", "stream"),
        same_numbers=True,
    ),
    # -- label -----------------------------------------------------------------------------
    Setting("name", str, None, "Row label in reports, e.g. 'Model A'.", LABEL, optional=True),
]

SETTINGS: dict[str, Setting] = {s.name: s for s in _SETTINGS}
"""Every run setting by name, in the order `bench run --help` shows them."""

LABEL_KEYS = tuple(s.name for s in _SETTINGS if s.layer == LABEL)
"""Settings that label a run without changing what it computes."""

SAME_NUMBERS_KEYS = tuple(s.name for s in _SETTINGS if s.same_numbers)
"""Settings that change how a run executes but not a digit of what it computes."""


def choices(name: str) -> tuple[str, ...]:
    """The allowed values of setting ``name``: what implementations must cover."""
    return SETTINGS[name].choices


# -- parsing user text -------------------------------------------------------------------


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


def parse_seeds(text: str) -> list[int]:
    """``0,1,2`` or ``0-4`` (inclusive) or a mix: ``0-2,7``."""
    seeds: list[int] = []
    for part in text.replace(" ", "").split(","):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise BenchError(f"--seeds {text!r}: write a list like 0,1,2 or a range like 0-4.")
        low, high = int(match[1]), int(match[2] or match[1])
        if high < low:
            raise BenchError(f"--seeds {text!r}: the range {part} runs backwards.")
        seeds.extend(range(low, high + 1))
    return list(dict.fromkeys(seeds))


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


# -- documentation -----------------------------------------------------------------------


def markdown_table() -> str:
    """The README's table of run settings, generated from :data:`SETTINGS`."""

    def default(s: Setting) -> str:
        if s.default_text:
            return s.default_text
        if s.default in (None, ()):
            return "–"
        return str(s.default).lower() if isinstance(s.default, bool) else str(s.default)

    lines = [
        "| option | suite key | default | layer | what it sets |",
        "| --- | --- | --- | --- | --- |",
    ]
    for s in _SETTINGS:
        flag = " / ".join(f"`{f}`" for f in (s.flags or (s.flag,)))
        what = s.help + (f" One of: {', '.join(s.choices)}." if s.choices else "")
        what = what.replace("|", "\\|")
        lines.append(f"| {flag} | `{s.name}` | {default(s)} | {s.layer.lower()} | {what} |")
    return "\n".join(lines) + "\n"
