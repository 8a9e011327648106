"""How fast is benchbench? Measured on the CIFAR-10 image folder; prints a Markdown table.

    python benchmarks/training_speed.py [--data-dir ../shared/datasets/cifar10-jpg]

1. ``bench --help`` start-up time.
2. Image-folder load time: cold (empty cache: decode every JPEG) and cached.
3. ``bench run``'s train seconds per epoch against a minimal hand-written PyTorch loop
   training the same model on the same in-memory tensors, in the memory layout and
   precision the run chose (target: at most 1.03x).
4. benchbench's batched flip+crop against the usual torchvision DataLoader + PIL
   transforms, for one epoch of the training images (target: at least 8x faster).

3 and 4 run A and B interleaved (ABBA over ``--repeats``) and compare medians, so that a
burst of load elsewhere hits both. Numbers are printed, never asserted: quote them with
the machine's load (``uptime``) and ``lscpu``'s model name.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "cifar10-jpg"


def startup_seconds(repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "benchbench", "--help"], capture_output=True, check=True
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def load_seconds(data_dir: Path, cache: Path) -> tuple[float, float]:
    from benchbench.plugins.builtin.datasets import imagefolder

    os.environ["BENCH_CACHE_DIR"] = str(cache)
    start = time.perf_counter()
    imagefolder(data_dir=data_dir)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    imagefolder(data_dir=data_dir)
    return cold, time.perf_counter() - start


def bench_run_epochs(args, results: Path) -> tuple[list[float], dict]:
    command = [
        sys.executable,
        "-m",
        "benchbench",
        "run",
        "--arch",
        args.arch,
        "--dataset",
        "imagefolder",
        "--data-dir",
        str(args.data_dir),
        "--subset",
        str(args.subset),
        "--val-fraction",
        str(args.val_fraction),
        "--epochs",
        str(args.epochs),
        "--batch-size",
        str(args.batch_size),
        "--device",
        "cpu",
        "--precision",
        args.precision,
        "--force",
        "--results",
        str(results),
        "--json",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    summary = json.loads(done.stdout)
    from benchbench.results.store import Store

    store = Store(results)
    history = store.history(summary["run_id"])
    environment = store.get(summary["run_id"]).environment
    return [h["train_seconds"] for h in history], {**summary, "environment": environment}


def bare_loop_epochs(args, layout: str, precision: str) -> list[float]:
    """The shortest honest PyTorch loop over the same tensors: no harness at all, in the
    ``layout`` and ``precision`` the bench run chose."""
    from benchbench.config import RunConfig
    from benchbench.data.normalize import statistics as norm_stats
    from benchbench.plugins.manager import load_components
    from benchbench.training.loop import prepare

    config = RunConfig(
        arch=args.arch,
        dataset="imagefolder",
        data_dir=str(args.data_dir),
        subset=args.subset,
        val_fraction=args.val_fraction,
        device="cpu",
    ).validated()
    components = load_components()
    splits = prepare(config, components)
    x_all, y_all = splits.train
    mean, std = norm_stats("dataset", x_all)
    torch.manual_seed(0)
    model = components.architectures.get(args.arch).create(
        {}, num_classes=10, input_shape=tuple(x_all.shape[1:])
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    memory_format = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    model = model.to(memory_format=memory_format)

    def step(idx):
        x = x_all[idx].float().div_(255).sub_(mean).div_(std)
        x = x.contiguous(memory_format=memory_format)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = F.cross_entropy(model(x), y_all[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    model.train()
    for _ in range(2):  # warm-up, as bench run does (outside the timed epochs)
        step(torch.arange(args.batch_size))
    times = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        order = torch.randperm(len(x_all))
        for i in range(0, len(x_all), args.batch_size):
            step(order[i : i + args.batch_size])
        times.append(time.perf_counter() - start)
    return times


def augmentation_seconds(data_dir: Path, batch_size: int, workers: int, loader: bool) -> float:
    """One epoch of flip+crop: benchbench's batched pipeline, or (``loader``) a torchvision
    DataLoader with PIL transforms and ``workers`` processes."""
    from PIL import Image
    from torch.utils.data import DataLoader
    from torch.utils.data import Dataset
    from torchvision import transforms

    from benchbench.data.augment import compose
    from benchbench.data.batches import BatchSource
    from benchbench.plugins.builtin import augmentations as augs
    from benchbench.plugins.builtin.datasets import imagefolder

    data = imagefolder(data_dir=data_dir)
    images = torch.as_tensor(data.train_images)
    labels = torch.as_tensor(data.train_labels)
    mean = torch.tensor([0.49, 0.48, 0.45]).view(1, 3, 1, 1)
    std = torch.tensor([0.25, 0.24, 0.26]).view(1, 3, 1, 1)
    shape = tuple(images.shape[1:])
    pipeline = compose(
        [
            augs.hflip(num_classes=10, input_shape=shape),
            augs.crop(num_classes=10, input_shape=shape),
        ]
    )
    batches = BatchSource(
        images, labels, pipeline, mode="online", fraction=0.5, seed=0, num_classes=10
    )

    if not loader:
        start = time.perf_counter()  # exactly what a training epoch does before the model
        for x, _ in batches.batches(batch_size, torch.Generator().manual_seed(0)):
            x = x.sub_(mean).div_(std)
        return time.perf_counter() - start

    hwc = images.permute(0, 2, 3, 1).numpy()

    class InMemory(Dataset):  # what torchvision.datasets.CIFAR10 does per item
        transform = transforms.Compose(
            [
                transforms.RandomCrop(32, padding=4),
                transforms.RandomHorizontalFlip(),
                transforms.ToTensor(),
                transforms.Normalize((0.49, 0.48, 0.45), (0.25, 0.24, 0.26)),
            ]
        )

        def __len__(self):
            return len(hwc)

        def __getitem__(self, i):
            return self.transform(Image.fromarray(hwc[i])), int(labels[i])

    items = DataLoader(InMemory(), batch_size=batch_size, shuffle=True, num_workers=workers)
    start = time.perf_counter()
    for _ in items:
        pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--arch", default="cnn_small")
    parser.add_argument("--subset", type=int, default=5000, help="training images per epoch")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--val-fraction", type=float, default=0.02)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--precision", default="fp32", help="fp32, bf16 or auto")
    parser.add_argument("--repeats", type=int, default=2, help="A/B pairs, interleaved ABBA")
    args = parser.parse_args()
    if not args.data_dir.is_dir():
        sys.exit(f"no image folder at {args.data_dir}: pass --data-dir")

    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} cores, CPU only: {not torch.cuda.is_available()}, "
        f"load {os.getloadavg()[0]:.2f}\n"
    )
    rows = [("`bench --help` start-up", f"{startup_seconds():.2f} s", "")]
    with tempfile.TemporaryDirectory() as tmp:
        cold, cached = load_seconds(args.data_dir, Path(tmp) / "cache")
        rows.append(("image folder load, cold (60,000 JPEGs)", f"{cold:.1f} s", ""))
        rows.append(("image folder load, cached", f"{cached:.2f} s", ""))
        ours, bare, fast, slow = [], [], [], []
        for repeat in range(args.repeats):
            for which in ("ab", "ba")[repeat % 2]:
                if which == "a":
                    epochs, summary = bench_run_epochs(args, Path(tmp) / "results")
                    ours += epochs
                    fast.append(augmentation_seconds(args.data_dir, 128, args.workers, False))
                else:  # the first repeat runs A first: the run has chosen its layout
                    environment = summary["environment"]
                    bare += bare_loop_epochs(args, environment["layout"], environment["precision"])
                    slow.append(augmentation_seconds(args.data_dir, 128, args.workers, True))
        environment = summary["environment"]
        chosen = f"{environment.get('precision')} {environment.get('layout')}"
        ratio = statistics.median(ours) / statistics.median(bare)
        rows.append(
            (
                f"`bench run` train s/epoch ({args.arch}, {args.subset} images, "
                f"batch {args.batch_size}, {chosen})",
                " / ".join(f"{t:.2f}" for t in ours),
                f"median {statistics.median(ours):.2f} s",
            )
        )
        rows.append(
            (
                f"bare PyTorch loop, same tensors, model, {chosen}",
                " / ".join(f"{t:.2f}" for t in bare),
                f"median {statistics.median(bare):.2f} s",
            )
        )
        rows.append(("ratio bench run / bare loop", f"{ratio:.3f}", "target <= 1.03"))
        rows.append(
            (
                "flip+crop, one epoch (50,000 images): benchbench batched",
                " / ".join(f"{t:.2f}" for t in fast),
                f"median {statistics.median(fast):.2f} s",
            )
        )
        rows.append(
            (
                f"flip+crop, one epoch: DataLoader + PIL, {args.workers} workers",
                " / ".join(f"{t:.2f}" for t in slow),
                f"speed-up {statistics.median(slow) / statistics.median(fast):.1f}x (target >= 8x)",
            )
        )
    print("| measurement | value | note |\n| --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nbench run test accuracy after {args.epochs} epochs: {summary['test_acc']:.4f}")


if __name__ == "__main__":
    main()
