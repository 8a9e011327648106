"""The training loop: data on the device once, seeded batches, timed epochs, early stopping.

Read top to bottom: :func:`prepare` loads and splits the data, :func:`train` builds the
model and runs the epochs, :func:`predict` evaluates. Everything random comes from
generators seeded by ``config.seed``, so the same command gives the same numbers.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace

import torch
import torch.nn.functional as F

from benchbench.config import RunConfig
from benchbench.data import streaming
from benchbench.data.augment import compose
from benchbench.data.batches import BatchSource
from benchbench.data.images import load_dataset
from benchbench.data.images import stratified_split
from benchbench.data.normalize import statistics
from benchbench.errors import BenchError
from benchbench.plugins.manager import Components
from benchbench.training import device as devices
from benchbench.training.device import Stopwatch
from benchbench.training.machine_load import load_sample
from benchbench.training.optimization import build_optimizer
from benchbench.training.resume import Interrupted
from benchbench.training.resume import ResumePoints
from benchbench.training.resume import StopRequest
from benchbench.training.resume import random_streams
from benchbench.training.resume import restore_random_streams

WARMUP_STEPS = 2
PROBE_ROUNDS = 5  # timed steps per candidate precision under --precision auto
EVAL_BATCH = 1024  # images per evaluation chunk
INIT_VALUES = 20_000_000  # pixel values a data-dependent initialization sees (80 MB)


@dataclass
class Splits:
    """uint8 images and int64 labels for train, validation and test, on one device."""

    classes: list[str]
    train: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]
    placement: str = "device"  # or "stream": images read batch by batch (data.streaming)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.train[0].shape[1:])

    def to(self, device: torch.device) -> Splits:
        move = lambda pair: tuple(t.to(device, non_blocking=True) for t in pair)  # noqa: E731
        return self._each(("train", "val", "test"), move)

    def materialize(self, parts=("train", "val", "test")) -> Splits:
        """``parts`` read into memory (the others stay lazy :class:`Rows`)."""
        return self._each(parts, lambda pair: (pair[0].materialize(), pair[1]))

    def _each(self, parts, change) -> Splits:
        """``change`` applied to ``parts``, once per distinct pair: validation that is the
        test set (``--validate-on test``) stays one copy."""
        done: dict[int, tuple] = {}
        for part in parts:
            pair = getattr(self, part)
            if id(pair) not in done:
                done[id(pair)] = change(pair)
        return replace(self, **{part: done[id(getattr(self, part))] for part in parts})

    @property
    def nbytes(self) -> int:
        parts = {id(pair): pair for pair in (self.train, self.val, self.test)}  # each once
        return sum(images.nbytes for images, _ in parts.values())

    @property
    def mapped(self) -> bool:
        return any(images.mapped for images, _ in (self.train, self.val, self.test))


@dataclass
class Outcome:
    """What a finished run produced."""

    status: str  # "complete" or "diverged"
    history: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    test_logits: torch.Tensor | None = None
    test_labels: torch.Tensor | None = None
    classes: list[str] = field(default_factory=list)
    state_dict: dict | None = None
    num_parameters: int = 0
    load_seconds: float = 0.0
    warmup_seconds: float = 0.0
    compile_seconds: float = 0.0  # --compile: compiling the training and evaluation graphs
    peak_memory_mb: float = math.nan
    # --target-acc: the epoch and training seconds at which it was first reached
    epochs_to_target: int | None = None
    seconds_to_target: float = math.nan
    # How it ran, where the settings left a choice (precision and layout under auto):
    # stored in the run's environment.
    execution: dict = field(default_factory=dict)


def prepare(config: RunConfig, components: Components, lazy: bool = False) -> Splits:
    """Load the dataset through its plugin and carve a stratified validation split; with
    ``lazy``, the splits are :class:`~benchbench.data.streaming.Rows` of the dataset's
    arrays, nothing copied yet."""
    data = load_dataset(
        components.datasets, config.dataset, config.dataset_options, config.data_dir
    )
    if len(data.classes) < 2:
        raise BenchError(
            f"Dataset {config.dataset!r} has {len(data.classes)} class(es) "
            f"({', '.join(data.classes) or 'none'}): a classifier needs at least 2, or every "
            "accuracy is 1.0. Check the folder holds one sub-folder per class."
        )
    labels = data.train_labels.numpy()
    keep, held = stratified_split(labels, config.val_fraction, config.split_seed)
    _check_subset("--subset", config.subset, len(keep), "training images (after validation)")
    _check_subset("--val-subset", config.val_subset, len(held), "held-out validation images")
    if config.val_subset is not None and config.val_subset < len(held):
        held = held[_take_stratified(labels[held], config.val_subset, config.split_seed)]
    _check_subset("--test-subset", config.test_subset, len(data.test_labels), "test images")
    if config.subset is not None and config.subset < len(keep):
        _, chosen = stratified_split(
            labels[keep], config.subset / len(keep), config.split_seed, "--subset", config.subset
        )
        keep = keep[chosen]
    keep, held = torch.from_numpy(keep), torch.from_numpy(held)
    x, y = streaming.rows(data.train_images), data.train_labels
    test_x, test_y = streaming.rows(data.test_images), data.test_labels
    if config.test_subset is not None and config.test_subset < len(test_y):
        _, chosen = stratified_split(
            test_y.numpy(),
            config.test_subset / len(test_y),
            config.split_seed,
            "--test-subset",
            config.test_subset,
        )
        chosen = torch.from_numpy(chosen)
        test_x, test_y = test_x.take(chosen), test_y[chosen]
    train, test = (x.take(keep), y[keep]), (test_x, test_y)
    val = test if config.validate_on == "test" else (x.take(held), y[held])
    splits = Splits(data.classes, train, val, test)
    return splits if lazy else splits.materialize()


def _take_stratified(labels, count: int, seed: int):
    """Indices of ``count`` of ``labels``, every class in proportion where that is possible
    (each class needs a place on both sides), else a seeded random choice."""
    import numpy as np

    classes = len(np.unique(labels))
    if classes <= count <= len(labels) - classes:
        _, chosen = stratified_split(labels, count / len(labels), seed)
        return chosen
    return np.sort(np.random.default_rng(seed).permutation(len(labels))[:count])


def _check_subset(flag: str, wanted: int | None, available: int, what: str) -> None:
    if wanted is not None and wanted > available:
        raise BenchError(
            f"{flag} {wanted}: the dataset has only {available} {what}. Use {flag} "
            f"{available} or less, or leave it out for all of them."
        )


def build_model(
    config: RunConfig, components: Components, num_classes: int, input_shape: tuple[int, int, int]
) -> torch.nn.Module:
    """The architecture's model for ``num_classes`` classes of ``input_shape`` images,
    initialized from ``config.seed``."""
    options = dict(config.arch_options)
    entry = components.architectures.get(config.arch)
    if config.dropout is not None:
        accepted = entry.option_names()
        if accepted is not None and "dropout" not in accepted:
            raise BenchError(f"--dropout: architecture {config.arch!r} has no dropout option.")
        options["dropout"] = config.dropout
    torch.manual_seed(config.seed)
    model = entry.create(options, num_classes=num_classes, input_shape=input_shape)
    if not isinstance(model, torch.nn.Module):
        raise BenchError(
            f"architecture {config.arch!r} returned {type(model).__name__}, "
            "not a torch.nn.Module. Fix the architecture factory."
        )
    _check_output(model, config.arch, num_classes, input_shape)
    return model


def _check_output(model, arch: str, num_classes: int, input_shape) -> None:
    """One dummy batch, once: the logits' shape is checked, and lazy modules
    (``nn.LazyLinear``...) are materialized before anything counts, copies or moves them."""
    was_training = model.training
    model.eval()  # no batch-norm statistics updated, no dropout drawn
    try:
        with torch.no_grad():
            out = model(torch.zeros(2, *input_shape))
    except Exception as exc:
        raise BenchError(
            f"architecture {arch!r} fails on a batch of {tuple(input_shape)} images: "
            f"{type(exc).__name__}: {exc}. Fix the architecture (or its options) for this "
            "input shape."
        ) from None
    finally:
        model.train(was_training)
    shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
    if shape != (2, num_classes):
        raise BenchError(
            f"architecture {arch!r} maps a batch of 2 images to {shape}, but this dataset "
            f"needs logits of shape (2, {num_classes}): one per class. Fix the width of its "
            "last layer (it receives num_classes)."
        )


def build_augment(config: RunConfig, components: Components, splits: Splits):
    augments = [
        components.augmentations.get(name).create(
            config.aug_options.get(name, {}),
            num_classes=len(splits.classes),
            input_shape=splits.input_shape,
        )
        for name in config.augs
    ]
    return compose(augments)


class Batcher:
    """Turns uint8 device batches into normalized float inputs in the run's memory layout,
    and runs the model in the run's precision (:meth:`autocast`)."""

    def __init__(
        self,
        mean: torch.Tensor,
        std: torch.Tensor,
        device: torch.device,
        precision: str = "fp32",
        layout: str = "contiguous",
    ):
        self.mean, self.std = mean.to(device), std.to(device)
        self.device, self.precision = device, precision
        self.channels_last = layout == "channels_last"

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return self.finish(images.float().div_(255))

    def finish(self, x: torch.Tensor) -> torch.Tensor:
        """Normalize ``x`` (float in [0, 1]) in place: several times faster than ``(x-m)/s``."""
        x = x.sub_(self.mean).div_(self.std)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def autocast(self, precision: str | None = None):
        """The autocast context of ``precision`` (default: the run's)."""
        dtype = AUTOCAST_DTYPES[precision or self.precision]
        return torch.autocast(
            self.device.type, dtype=dtype or torch.float32, enabled=dtype is not None
        )


# One per choice of the `precision` setting but auto (a test checks): the autocast dtype.
AUTOCAST_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


@torch.inference_mode()
def predict(model, images, batcher, batch_size=EVAL_BATCH, tta: str = "none") -> torch.Tensor:
    """Float32 logits for ``images`` (uint8, on the batcher's device), in eval mode; with
    ``tta``, the mean logits over the test-time views of each image (:func:`tta_views`)."""
    model.eval()
    outputs = []
    for start in range(0, len(images), batch_size):
        x = batcher(images[start : start + batch_size])
        with batcher.autocast():
            views = [model(view).float() for view in tta_views(x, tta)]
        outputs.append(views[0] if len(views) == 1 else torch.stack(views).mean(0))
    return torch.cat(outputs) if outputs else torch.empty(0, 0, device=batcher.device)


def tta_views(x: torch.Tensor, tta: str) -> list[torch.Tensor]:
    """The images ``x`` (N, C, H, W) as test-time augmentation sees them: as they are;
    with ``flip`` also mirrored; with ``flip-translate`` also both shifted one pixel up-left
    and one down-right (reflected borders). One per choice of the ``tta`` setting."""
    views = [x]
    if tta in ("flip", "flip-translate"):
        views.append(x.flip(3))
    if tta == "flip-translate":
        height, width = x.shape[2:]
        for base in list(views):
            padded = F.pad(base, (1, 1, 1, 1), mode="reflect")
            views.append(padded[:, :, 2 : 2 + height, 2 : 2 + width])
            views.append(padded[:, :, :height, :width])
    return views


def warmup_sizes(
    items: int, batch_size: int, steps: int = WARMUP_STEPS, max_batches: int | None = None
) -> list[int]:
    """Training batch sizes to warm up with: ``steps`` full batches, then the ragged last
    batch of an epoch if the run reaches it (not when ``max_batches`` stops it earlier)."""
    full = min(batch_size, items)
    ragged = items % batch_size if items > batch_size else 0
    if max_batches is not None and max_batches * batch_size < items:
        ragged = 0
    return [full] * steps + ([ragged] if ragged else [])


def eval_sizes(val: int, test: int, available: int) -> list[int]:
    """Every evaluation chunk size (:func:`predict` works in chunks of EVAL_BATCH) that
    validation and testing will use, at most ``available`` images each."""
    sizes = set()
    for n in (val, test):
        if n:
            sizes.add(min(EVAL_BATCH, n))
            if n > EVAL_BATCH and n % EVAL_BATCH:
                sizes.add(n % EVAL_BATCH)
    return sorted(s for s in sizes if s <= available)


def _check_target(config: RunConfig, record: dict, outcome: Outcome) -> None:
    """Note the first epoch at which the watched accuracy (``record``'s ``val_acc``, or its
    ``test_acc`` under ``--target-on test``) reaches ``--target-acc``, and the training
    seconds until then (evaluation time never counts)."""
    accuracy = record.get(f"{config.target_on}_acc", math.nan)
    if not math.isnan(accuracy) and accuracy >= config.target_acc:
        outcome.epochs_to_target = record["epoch"]
        outcome.seconds_to_target = record["train_seconds"] + sum(
            h["train_seconds"] for h in outcome.history
        )


def _compiled_step(step, model, optimizer, scaler, batches, index) -> None:
    """The first step of a compiled model, where compiling happens: a failure of the
    compiler becomes a usage error, not a crash."""
    try:
        step(model, optimizer, scaler, *batches.batch(index))
    except Exception as exc:
        if isinstance(exc, BenchError):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise BenchError(
            f"--compile: torch.compile failed on this model here ({type(exc).__name__}: "
            f"{first[:300]}). Run without --compile."
        ) from None


def _on(value, device: torch.device):
    """``value`` (a resume point's tensors, loaded on the CPU, in dicts) on ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {k: _on(v, device) for k, v in value.items()}
    return value


def _probe_ms(probe: dict[str, list[float]]) -> dict[str, float]:
    """The fastest probed step per precision, in milliseconds (what the choice compared)."""
    return {p: round(min(t) * 1000, 2) for p, t in probe.items() if t}


def _evaluate(model, split, batcher, tta: str = "none") -> tuple[float, float]:
    images, labels = split
    logits = predict(model, images, batcher, tta=tta)
    loss = F.cross_entropy(logits, labels).item()
    return loss, (logits.argmax(1) == labels).float().mean().item()


class EarlyStopping:
    """Tracks the best monitored value; says when patience has run out."""

    def __init__(self, monitor: str, patience: int | None, min_delta: float):
        self.sign = 1.0 if monitor == "val_loss" else -1.0  # lower loss, higher accuracy
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.best = math.inf
        self.best_epoch: int | None = None
        self.waited = 0

    def update(self, record: dict) -> bool:
        """Record one epoch; True if it is the new best."""
        value = self.sign * record[self.monitor]
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.waited = value, record["epoch"], 0
            return True
        self.waited += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.waited >= self.patience

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "waited": self.waited}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch = state["best"], state["best_epoch"]
        self.waited = state["waited"]


def init_from_data(model: torch.nn.Module, images, batcher: Batcher) -> None:
    """A model's data-dependent initialization: its ``init_from_data(inputs)``, if it has
    one, called with training images spread evenly over the split (so every class is
    there), normalized as training sees them: at most 5,000, and INIT_VALUES values."""
    init = getattr(model, "init_from_data", None)
    if callable(init) and len(images):
        count = max(1, min(5000, len(images), INIT_VALUES // math.prod(images.shape[1:])))
        spread = torch.linspace(0, len(images) - 1, count).round().long()
        with torch.no_grad():
            init(batcher(images[spread.to(batcher.device)]))


def set_up(config: RunConfig, components: Components):
    """The run's device, configured, and its data: ``(device, splits on the CPU, the same
    on the device, seconds to load)``. The whole dataset moves to the device once, or,
    when it does not fit, each batch is read as it is drawn (:mod:`~benchbench.data.streaming`)."""
    device = devices.resolve(config.device)
    devices.check_precision(device, config.precision)
    devices.configure(device, config.deterministic, config.tf32)
    devices.reset_peak_memory(device)
    started = time.perf_counter()
    lazy = prepare(config, components, lazy=True)
    placement = streaming.choose(config.data_placement, device, lazy.nbytes, lazy.mapped)
    cpu_splits = lazy.materialize() if placement == "device" else replace(lazy, placement=placement)
    splits = cpu_splits.to(device)
    devices.synchronize(device)
    return device, cpu_splits, splits, time.perf_counter() - started


def train(
    config: RunConfig,
    components: Components,
    on_start: Callable[[], None] | None = None,
    on_epoch: Callable[[dict], None] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    resume: ResumePoints | None = None,
    stop: StopRequest | None = None,
) -> Outcome:
    """Run ``config`` (validated) end to end.

    ``on_start`` is called once the data, model and augmentations are built (so a usage
    error never gets that far), ``on_epoch`` with each epoch's record, ``on_batch`` with
    ``(batch, batches)`` for progress displays. With ``resume``, the run continues from
    the resume point it loaded (``resume.loaded``) and writes new ones as its policy says;
    when ``stop.requested`` is set (a signal), the current step finishes, a resume point is
    written and :class:`~benchbench.training.resume.Interrupted` is raised.
    """
    config = config.scaled()  # --scale: the schedule this run follows
    point = resume.loaded if resume is not None else None
    device, cpu_splits, splits, load_seconds = set_up(config, components)
    train_x, train_y = splits.train
    mean, std = statistics(config.normalize, cpu_splits.train[0])
    model = build_model(config, components, len(splits.classes), splits.input_shape).to(device)
    layout = devices.resolve_layout(config.layout, device, model)
    if layout == "channels_last":
        model = model.to(memory_format=torch.channels_last)
    candidates = devices.precision_candidates(config.precision, device)
    if point is not None:  # what the first segment chose (by probing, under auto) stays
        candidates = (point["lanes"][0]["outcome"]["execution"]["precision"],)
    batcher = Batcher(mean, std, device, candidates[0], layout)
    init_from_data(model, train_x, batcher)
    augment = build_augment(config, components, splits)

    def batch_source(seed: int) -> BatchSource:
        return BatchSource(
            train_x,
            train_y,
            augment,
            mode=config.aug_mode,
            fraction=config.aug_fraction,
            seed=seed,
            num_classes=len(splits.classes),
        )

    runner = model  # what trains and predicts: the model, or its compiled form
    if config.compile:
        why = devices.compile_unsupported(device)
        if why:
            raise BenchError(f"--compile: {why}. Run without --compile.")
        runner = torch.compile(model)
    batches = batch_source(config.seed)
    steps = steps_per_epoch(config, len(batches))
    optimizer, schedule = build_optimizer(config, model, steps)
    if on_start is not None:
        on_start()

    def step(model, optimizer, scaler, images, targets, precision=None):
        with batcher.autocast(precision):
            logits = model(batcher.finish(images))
            loss = F.cross_entropy(logits.float(), targets, label_smoothing=config.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if config.clip_grad is not None:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_grad)
        scaler.step(optimizer)
        scaler.update()
        return loss.detach(), logits.detach()

    # Warm-up (kernel selection, allocator, lazy init) on throwaway copies, timed apart;
    # under --precision auto with a choice to make, each candidate precision takes turns
    # step by step and the faster is kept (devices.pick_precision). A compiled model warms
    # up itself (so its graphs are compiled once) and gets its initial weights back after.
    initial = copy.deepcopy(model.state_dict()) if config.compile else None
    compile_seconds = 0.0
    with Stopwatch(device) as warmup:
        spare_model = runner if config.compile else copy.deepcopy(model)
        spare_opt, _ = build_optimizer(config, spare_model, steps)
        spare_scaler = torch.amp.GradScaler(device.type, enabled=config.precision == "fp16")
        spare_batches = batch_source(config.seed)
        spare_model.train()
        # Every batch shape the run will see, so no kernel is autotuned inside epoch 1's
        # stopwatch: the full batch, the ragged last one, and the evaluation chunks.
        # A smoke run checks wiring and its timings mean nothing: it probes, never warms up.
        warm = not config.smoke
        sizes = warmup_sizes(
            len(spare_batches), config.batch_size, WARMUP_STEPS, config.max_batches
        )
        probe: dict[str, list[float]] = {p: [] for p in candidates}
        full = torch.arange(sizes[0], device=device)
        if config.compile:  # the first step compiles the training graph: timed apart
            with Stopwatch(device) as compiling:
                _compiled_step(step, spare_model, spare_opt, spare_scaler, spare_batches, full)
            compile_seconds += compiling.seconds
        for round_ in range(PROBE_ROUNDS + 1 if len(candidates) > 1 else 0):
            for precision in candidates:
                with Stopwatch(device) as watch:
                    batch = spare_batches.batch(full)
                    step(spare_model, spare_opt, spare_scaler, *batch, precision)
                if round_:  # the first round warms each candidate up
                    probe[precision].append(watch.seconds)
        batcher.precision = devices.pick_precision(probe) if len(candidates) > 1 else candidates[0]
        for size in sizes if warm else []:
            index = torch.arange(size, device=device)
            step(spare_model, spare_opt, spare_scaler, *spare_batches.batch(index))
        images = splits.val[0] if len(splits.val[0]) else splits.test[0]
        chunks = eval_sizes(len(splits.val[0]), len(splits.test[0]), len(images))
        for i, size in enumerate(chunks if warm else []):
            with Stopwatch(device) as evaluating:
                predict(spare_model, images[:size], batcher)
            if config.compile and i == 0:  # the evaluation graph compiles here
                compile_seconds += evaluating.seconds
        del spare_model, spare_opt, spare_scaler, spare_batches
        if initial is not None:
            model.load_state_dict(initial)  # the warm-up's steps leave no trace

    scaler = torch.amp.GradScaler(device.type, enabled=batcher.precision == "fp16")
    outcome = Outcome(
        "complete",
        classes=splits.classes,
        load_seconds=load_seconds,
        warmup_seconds=warmup.seconds - compile_seconds,
        compile_seconds=compile_seconds,
        execution={
            "precision": batcher.precision,
            "layout": layout,
            "data_placement": splits.placement,
            **({"precision_probe_ms": _probe_ms(probe)} if any(probe.values()) else {}),
        },
        num_parameters=sum(p.numel() for p in model.parameters()),
    )
    engine = Single(model, runner, optimizer, scaler, batcher, step)
    (outcome,) = fit(
        engine,
        [Lane(config, batches, outcome)],
        splits,
        schedule,
        steps,
        on_epoch=None if on_epoch is None else lambda _, record: on_epoch(record),
        on_batch=on_batch,
        resume=resume,
        stop=stop,
    )
    return outcome


def steps_per_epoch(config: RunConfig, items: int) -> int:
    """Optimizer steps an epoch takes: every batch, or ``--max-batches`` of them."""
    steps = max(1, math.ceil(items / config.batch_size))
    return steps if config.max_batches is None else min(steps, config.max_batches)


class Single:
    """How a sequential run steps: one model, one batch, the gradient scaler of its
    precision. :func:`fit` sees it as one replica (see ``vectorized.Stacked`` for several).

    ``step(drawn)`` takes one batch per replica and gives per replica the summed loss and
    the correct count of that batch, and the batch's size; ``evaluate`` and ``predict``
    give one result per replica; ``state(k)``/``load(k, state)`` copy replica ``k``'s
    weights out and in; ``state_dict`` is what a resume point keeps of the model, the
    optimizer and the scaler."""

    count = 1

    def __init__(self, model, runner, optimizer, scaler, batcher: Batcher, step: Callable):
        self.model, self.runner, self.optimizer = model, runner, optimizer
        self.scaler, self.batcher, self._step = scaler, batcher, step

    def train(self) -> None:
        self.model.train()

    def step(self, drawn):
        ((images, targets),) = drawn
        loss, logits = self._step(self.runner, self.optimizer, self.scaler, images, targets)
        hard = targets if targets.ndim == 1 else targets.argmax(1)
        correct = (logits.argmax(1) == hard).sum()
        return (loss * len(images)).view(1), correct.view(1), len(images)

    def evaluate(self, split, tta: str = "none") -> list[tuple[float, float]]:
        return [_evaluate(self.runner, split, self.batcher, tta)]

    def predict(self, images, tta: str = "none") -> torch.Tensor:
        return predict(self.runner, images, self.batcher, tta=tta).unsqueeze(0)

    def state(self, k: int = 0) -> dict:
        return {n: v.detach().clone() for n, v in self.model.state_dict().items()}

    def load(self, k: int, state: dict) -> None:
        self.model.load_state_dict(state)

    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])


@dataclass
class Lane:
    """One seed's run inside :func:`fit`: its batch stream and batch order, its early
    stopping, its outcome. ``best`` holds the weights ``--restore-best`` returns to;
    ``final`` the weights at which the lane stopped while other replicas trained on."""

    config: RunConfig
    source: BatchSource
    outcome: Outcome
    active: bool = True
    best: dict | None = None
    final: dict | None = None

    def __post_init__(self):
        self.order = torch.Generator().manual_seed(self.config.seed)
        c = self.config
        self.stopper = EarlyStopping(c.monitor, c.early_stopping, c.min_delta)

    def state_dict(self) -> dict:
        o = self.outcome
        return {
            "active": self.active,
            "best": self.best,
            "final": self.final,
            "stopper": self.stopper.state_dict(),
            "order": self.order.get_state(),
            "batches": self.source.generator.get_state(),
            "outcome": {
                "status": o.status,
                "history": o.history,
                "epochs_to_target": o.epochs_to_target,
                "seconds_to_target": o.seconds_to_target,
                "execution": o.execution,
                "warmup_seconds": o.warmup_seconds,
                "compile_seconds": o.compile_seconds,
                "load_seconds": o.load_seconds,
            },
        }

    def load_state_dict(self, state: dict, device: torch.device) -> None:
        self.active = state["active"]
        self.best, self.final = _on(state["best"], device), _on(state["final"], device)
        self.stopper.load_state_dict(state["stopper"])
        self.order.set_state(state["order"])
        self.source.generator.set_state(state["batches"])  # a CPU tensor, any device
        earlier, o = state["outcome"], self.outcome
        o.status, o.history = earlier["status"], list(earlier["history"])
        o.epochs_to_target = earlier["epochs_to_target"]
        o.seconds_to_target = earlier["seconds_to_target"]
        o.execution = earlier["execution"]
        # every segment's set-up is counted: the run paid for each
        for key in ("warmup_seconds", "compile_seconds", "load_seconds"):
            setattr(o, key, getattr(o, key) + earlier[key])

    def stop(self, engine, k: int) -> None:
        self.active = False
        if engine.count > 1:  # the others train on: keep this replica's weights as they are
            self.final = engine.state(k)


def fit(
    engine,
    lanes: list[Lane],
    splits: Splits,
    schedule,
    steps: int,
    *,
    on_epoch: Callable[[int, dict], None] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    resume: ResumePoints | None = None,
    stop: StopRequest | None = None,
) -> list[Outcome]:
    """The epochs of one run, or of the replicas of one configuration trained together:
    seeded batches, timed epochs, validation, time to target, early stopping, divergence,
    resume points and signals, then the test predictions. ``engine`` steps (a
    :class:`Single` model, or stacked replicas); ``lanes[k]`` is replica ``k``'s run, and
    ``on_epoch(k, record)`` receives its epochs. One :class:`Outcome` per lane."""
    config = lanes[0].config  # what replicas share: epochs, batches, evaluation
    device = engine.batcher.device
    count = len(lanes)
    torch.manual_seed(config.seed)  # dropout and other global draws
    has_val = len(splits.val[0]) > 0

    def capture(epoch: int, within: dict | None = None) -> dict:
        """Everything the next step depends on (see :mod:`~benchbench.training.resume`):
        after ``epoch`` epochs and, mid-epoch, ``within`` the next one."""
        return {
            "fingerprint": resume.fingerprint,
            "epoch": epoch,
            "within": within,
            "engine": engine.state_dict(),
            "schedule": schedule.state_dict(),
            "lanes": [lane.state_dict() for lane in lanes],
            "random": random_streams(),
        }

    point = resume.loaded if resume is not None else None
    first_epoch, within = 1, None
    if point is not None:
        first_epoch, within = point["epoch"] + 1, point["within"]
        engine.load_state_dict(point["engine"])
        schedule.load_state_dict(_on(point["schedule"], device))
        for lane, state in zip(lanes, point["lanes"], strict=True):
            lane.load_state_dict(state, device)
        restore_random_streams(point["random"])
    unsaved = 0.0  # training and validation seconds since the last resume point
    if stop is not None:
        stop.armed = True  # from here on a signal stops the run at its next step

    for epoch in range(first_epoch, config.epochs + 1):
        engine.train()
        partial = within if within is not None and within["epoch"] == epoch else None
        if partial is not None:  # the epoch a signal stopped: its order, its sums so far
            for lane, state in zip(lanes, partial["order"], strict=True):
                lane.order.set_state(state)
            loss_sum, correct = partial["loss_sum"].to(device), partial["correct"].to(device)
            seen, lr, done = partial["seen"], partial["lr"], partial["batches"]
            earlier_seconds = partial["seconds"]
        else:
            loss_sum = torch.zeros(count, device=device)
            correct = torch.zeros(count, device=device, dtype=torch.long)
            seen, lr, done, earlier_seconds = 0, engine.optimizer.param_groups[0]["lr"], 0, 0.0
        order_before = [lane.order.get_state() for lane in lanes]
        halted = None
        with Stopwatch(device) as train_watch:
            streams = [
                lane.source.batches(config.batch_size, lane.order, start=done) for lane in lanes
            ]
            drawn = zip(*streams, strict=True) if done < steps else ()
            for b, batch in enumerate(drawn, start=done):
                losses, right, size = engine.step(batch)
                loss_sum += losses
                correct += right
                seen += size
                schedule.after_batch()
                if on_batch is not None:
                    on_batch(b + 1, steps)
                if stop is not None and stop.requested:
                    halted = b + 1
                    break
                if b + 1 == steps:  # --max-batches
                    break
            if halted is None:
                schedule.after_epoch()
                train_loss = (loss_sum / max(seen, 1)).tolist()
                train_acc = (correct.double() / max(seen, 1)).tolist()
        if halted is not None:
            where = f" in epoch {epoch} of {config.epochs}, after batch {halted} of {steps}"
            if resume is not None:
                resume.write(
                    capture(
                        epoch - 1,
                        {
                            "epoch": epoch,
                            "batches": halted,
                            "order": order_before,
                            "loss_sum": loss_sum,
                            "correct": correct,
                            "seen": seen,
                            "lr": lr,
                            "seconds": earlier_seconds + train_watch.seconds,
                        },
                    )
                )
            raise Interrupted(stop.requested, where)
        val = [(math.nan, math.nan)] * count
        val_seconds = 0.0
        if has_val and (epoch % config.val_every == 0 or epoch == config.epochs):
            with Stopwatch(device) as val_watch:
                val = engine.evaluate(splits.val)
            val_seconds = val_watch.seconds
        test = None  # --target-acc on the test split: evaluated once for every replica
        if config.target_on == "test" and any(_seeks_target(lane) for lane in lanes):
            with Stopwatch(device) as test_watch:
                test = engine.evaluate(splits.test, config.tta)
        machine = load_sample()  # was another process on these cores meanwhile?
        for k, lane in enumerate(lanes):
            if not lane.active:
                continue
            record = {
                "epoch": epoch,
                "lr": lr,
                "train_loss": train_loss[k],
                "train_acc": train_acc[k],
                "val_loss": val[k][0],
                "val_acc": val[k][1],
                "train_seconds": earlier_seconds + train_watch.seconds,  # every replica's
                "val_seconds": val_seconds,
                **machine,
            }
            if _seeks_target(lane):
                if test is not None:
                    record["test_loss"], record["test_acc"] = test[k]
                    record["test_seconds"] = test_watch.seconds
                _check_target(lane.config, record, lane.outcome)
            lane.outcome.history.append(record)
            if on_epoch is not None:
                on_epoch(k, record)
            if not math.isfinite(train_loss[k]):
                lane.outcome.status = "diverged"
                lane.stop(engine, k)
                continue
            validated = not math.isnan(record["val_loss"])
            if validated and lane.stopper.update(record) and lane.config.restore_best:
                lane.best = engine.state(k)
            if lane.stopper.should_stop or _done(lane):
                lane.stop(engine, k)
        if not any(lane.active for lane in lanes):
            break
        unsaved += earlier_seconds + train_watch.seconds + val_seconds
        if resume is not None and epoch < config.epochs and resume.policy.due(epoch, unsaved):
            resume.write(capture(epoch))
            unsaved = 0.0
    if stop is not None:
        stop.armed = False

    for k, lane in enumerate(lanes):
        lane.outcome.best_epoch = lane.stopper.best_epoch
        kept = lane.best if lane.best is not None else lane.final
        if kept is not None:
            engine.load(k, kept)
    test_x, test_y = splits.test
    logits = engine.predict(test_x, config.tta)
    peak = devices.peak_memory_mb(device)
    for k, lane in enumerate(lanes):
        lane.outcome.test_logits = logits[k].cpu()
        lane.outcome.test_labels = test_y.cpu()
        lane.outcome.state_dict = {n: t.cpu() for n, t in engine.state(k).items()}
        lane.outcome.peak_memory_mb = peak
    return [lane.outcome for lane in lanes]


def _done(lane: Lane) -> bool:
    """Whether ``lane`` has reached its target under ``--stop-at-target``, or spent its
    ``--max-train-seconds`` of training (evaluation untimed)."""
    config, outcome = lane.config, lane.outcome
    if config.stop_at_target and outcome.epochs_to_target is not None:
        return True
    budget = config.max_train_seconds
    return budget is not None and sum(h["train_seconds"] for h in outcome.history) >= budget


def _seeks_target(lane: Lane) -> bool:
    """Whether ``lane`` still looks for its ``--target-acc``."""
    wanted = lane.config.target_acc is not None
    return lane.active and wanted and lane.outcome.epochs_to_target is None
