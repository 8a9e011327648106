"""``bench run``: one benchmark run, or one per seed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from benchbench.cli.context import JsonOption, ResultsOption, components, err, print_json
from benchbench.config import RunConfig, parse_sets
from benchbench.errors import BenchError

TRAINING = "Training"
DATA = "Data"
RUNNING = "Execution"


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


def _milestones(text: str | None) -> tuple[int, ...]:
    if not text:
        return ()
    try:
        return tuple(int(m) for m in text.split(","))
    except ValueError:
        raise BenchError(f"--lr-milestones {text!r}: give epochs like 10,20.") from None


def run(
    arch: Annotated[
        str, typer.Option(help="Architecture (see `bench list archs`).", rich_help_panel=TRAINING)
    ] = "cnn_small",
    aug: Annotated[
        list[str] | None,
        typer.Option(
            "--aug",
            help="Augmentation, repeatable; composes in order.",
            rich_help_panel=TRAINING,
            show_default="none",
        ),
    ] = None,
    aug_mode: Annotated[
        str,
        typer.Option(
            help="online (every batch afresh), offline (augment --aug-fraction of the "
            "images once and append) or expand (report 002's 8x: flips plus augmented "
            "copies).",
            rich_help_panel=TRAINING,
        ),
    ] = "online",
    aug_fraction: Annotated[
        float,
        typer.Option(
            help="offline: share of the training images copied.", rich_help_panel=TRAINING
        ),
    ] = 0.5,
    dataset: Annotated[
        str, typer.Option(help="Dataset (see `bench list datasets`).", rich_help_panel=DATA)
    ] = "digits",
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the dataset lives.", rich_help_panel=DATA)
    ] = None,
    val_fraction: Annotated[
        float,
        typer.Option(
            help="Stratified share of train held out for validation.", rich_help_panel=DATA
        ),
    ] = 0.1,
    subset: Annotated[
        int | None,
        typer.Option(
            help="Train on a stratified subset of N images (validation and test untouched).",
            rich_help_panel=DATA,
            show_default=False,
        ),
    ] = None,
    test_subset: Annotated[
        int | None,
        typer.Option(
            help="Evaluate on a stratified subset of N test images (quick runs).",
            rich_help_panel=DATA,
            show_default=False,
        ),
    ] = None,
    split_seed: Annotated[
        int,
        typer.Option(
            help="Seed of the validation split (fixed across --seeds).", rich_help_panel=DATA
        ),
    ] = 0,
    normalize: Annotated[
        str,
        typer.Option(help="dataset, imagenet, half, zero_center or none.", rich_help_panel=DATA),
    ] = "dataset",
    epochs: Annotated[
        int,
        typer.Option(
            "--epochs",
            "--max-epochs",
            help="Epochs (the most, with early stopping).",
            rich_help_panel=TRAINING,
        ),
    ] = 10,
    batch_size: Annotated[int, typer.Option(rich_help_panel=TRAINING)] = 128,
    lr: Annotated[float, typer.Option(help="Learning rate.", rich_help_panel=TRAINING)] = 1e-3,
    optimizer: Annotated[
        str, typer.Option(help="sgd, adam or adamw.", rich_help_panel=TRAINING)
    ] = "adam",
    momentum: Annotated[float, typer.Option(rich_help_panel=TRAINING)] = 0.9,
    nesterov: Annotated[
        bool, typer.Option(help="Nesterov momentum (sgd).", rich_help_panel=TRAINING)
    ] = False,
    weight_decay: Annotated[
        float, typer.Option(help="L2 regularization by weight decay.", rich_help_panel=TRAINING)
    ] = 0.0,
    l2_scope: Annotated[
        str,
        typer.Option(
            help="all, or head: weight decay on the architecture's head only.",
            rich_help_panel=TRAINING,
        ),
    ] = "all",
    scheduler: Annotated[
        str,
        typer.Option(help="none, step, piecewise, cosine or onecycle.", rich_help_panel=TRAINING),
    ] = "none",
    lr_step: Annotated[
        int | None,
        typer.Option(
            help="step: decay every N epochs [default: epochs/3].",
            rich_help_panel=TRAINING,
            show_default=False,
        ),
    ] = None,
    lr_milestones: Annotated[
        str | None,
        typer.Option(help="piecewise: epochs to decay at, e.g. 10,20.", rich_help_panel=TRAINING),
    ] = None,
    lr_gamma: Annotated[
        float, typer.Option(help="step/piecewise decay factor.", rich_help_panel=TRAINING)
    ] = 0.1,
    dropout: Annotated[
        float | None,
        typer.Option(
            help="Dropout of the architecture's dropout layer(s).",
            rich_help_panel=TRAINING,
            show_default=False,
        ),
    ] = None,
    label_smoothing: Annotated[float, typer.Option(rich_help_panel=TRAINING)] = 0.0,
    clip_grad: Annotated[
        float | None,
        typer.Option(help="Clip the gradient norm at this value.", rich_help_panel=TRAINING),
    ] = None,
    early_stopping: Annotated[
        int | None,
        typer.Option(
            "--early-stopping",
            metavar="PATIENCE",
            help="Stop after PATIENCE epochs without improvement of --monitor.",
            rich_help_panel=TRAINING,
        ),
    ] = None,
    min_delta: Annotated[
        float,
        typer.Option(help="Smallest change that counts as improvement.", rich_help_panel=TRAINING),
    ] = 0.0,
    monitor: Annotated[
        str, typer.Option(help="val_loss or val_acc.", rich_help_panel=TRAINING)
    ] = "val_loss",
    restore_best: Annotated[
        bool | None,
        typer.Option(
            "--restore-best/--no-restore-best",
            help="Evaluate the best epoch's weights [default: on with --early-stopping].",
            rich_help_panel=TRAINING,
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int,
        typer.Option(
            help="Seed of initialization, batch order and augmentation.", rich_help_panel=RUNNING
        ),
    ] = 0,
    seeds: Annotated[
        str | None, typer.Option(help="One run per seed: 0,1,2 or 0-4.", rich_help_panel=RUNNING)
    ] = None,
    device: Annotated[
        str, typer.Option(help="auto, cpu, cuda or cuda:INDEX.", rich_help_panel=RUNNING)
    ] = "auto",
    precision: Annotated[
        str, typer.Option(help="fp32, bf16 or fp16 (autocast).", rich_help_panel=RUNNING)
    ] = "fp32",
    name: Annotated[
        str | None,
        typer.Option(help="Row label in reports, e.g. 'Model A'.", rich_help_panel=RUNNING),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="KEY=VALUE",
            help="Plugin option: arch.OPT, aug.NAME.OPT or dataset.OPT, e.g. --set arch.bn=true.",
            rich_help_panel=TRAINING,
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(help="Re-run even if an identical run is stored.", rich_help_panel=RUNNING),
    ] = False,
    results: ResultsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train and evaluate one configuration, seeded and timed; store the result."""
    from benchbench.execution.runner import execute
    from benchbench.results.store import Store
    from benchbench.training import device as devices

    augs = tuple(aug or ())
    base = RunConfig(
        arch=arch,
        augs=augs,
        aug_mode=aug_mode,
        aug_fraction=aug_fraction,
        dataset=dataset,
        data_dir=str(data_dir.expanduser().resolve()) if data_dir else None,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        optimizer=optimizer,
        momentum=momentum,
        nesterov=nesterov,
        weight_decay=weight_decay,
        l2_scope=l2_scope,
        scheduler=scheduler,
        lr_step=lr_step,
        lr_milestones=_milestones(lr_milestones),
        lr_gamma=lr_gamma,
        dropout=dropout,
        label_smoothing=label_smoothing,
        clip_grad=clip_grad,
        early_stopping=early_stopping,
        min_delta=min_delta,
        monitor=monitor,
        restore_best=restore_best,
        val_fraction=val_fraction,
        subset=subset,
        test_subset=test_subset,
        split_seed=split_seed,
        normalize=normalize,
        seed=seed,
        device=device,
        precision=precision,
        name=name,
        **parse_sets(set_ or [], augs),
    ).validated()
    loaded = components()  # unknown names fail here, before any data is loaded
    loaded.architectures.get(base.arch)
    loaded.datasets.get(base.dataset)
    for a in base.augs:
        loaded.augmentations.get(a)
    resolved = devices.resolve(base.device)
    base = RunConfig.from_dict({**base.to_dict(), "device": str(resolved)})
    store = Store(results)
    summaries = []
    for s in parse_seeds(seeds) if seeds else [base.seed]:
        config = RunConfig.from_dict({**base.to_dict(), "seed": s})
        summaries.append(_one(config, loaded, store, force, execute))
    if as_json:
        print_json(summaries if seeds else summaries[0])


def _one(config, loaded, store, force, execute) -> dict:
    from benchbench.cli.progress import RunProgress

    label = f"{config.label} seed {config.seed} [{config.run_id}]"
    with RunProgress(err, label, config.epochs) as progress:
        result = execute(
            config, loaded, store, force=force, on_epoch=progress.epoch, on_batch=progress.batch
        )
    record = result.record
    if result.skipped:
        err.print(
            f"{label}: already stored ({record.status}); skipped. Use --force to re-run.",
            markup=False,
        )
    s = record.summary
    table = Table(title=Text(f"{label} — {record.status}"), title_justify="left", show_edge=False)
    for column in ("test acc", "epochs", "train s/epoch", "val s/epoch", "warm-up s", "load s"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{s['test_acc']:.4f}",
        str(s["epochs_run"]),
        f"{s['train_seconds_per_epoch']:.3f}",
        f"{s['val_seconds_per_epoch']:.3f}",
        f"{s['warmup_seconds']:.2f}",
        f"{s['load_seconds']:.2f}",
    )
    err.print(table)
    return {
        "run_id": record.id,
        "label": record.label,
        "seed": config.seed,
        "status": record.status,
        "skipped": result.skipped,
        "results": str(store.root),
        **s,
    }
