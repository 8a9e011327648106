"""What a resume point costs: writing one for cnn_small (5.9 M parameters, Adam) against the
time of one CIFAR-10 epoch of it.

    python benchmarks/resume_point.py [--threads 2] [--writes 5] [--steps 10] [--folder DIR]

The resume point is what ``bench run`` writes after an epoch (weights, Adam's two moments,
schedule, scaler, random streams), through the same ``resume.save`` (temporary file, fsync,
rename), into ``--folder`` (default: a temporary folder on the disk the results use).
An epoch is timed as training steps of the report's batch (100 images of 3x32x32) on random
data, the median step times the 450 steps of 45,000 training images; writes and steps take
turns, so a change of load hits both alike. With ``--stored RESULTS`` the epoch time of the
stored runs of cnn_small there (real CIFAR-10 epochs, e.g. reports/results) is printed too.
Numbers are printed, never asserted: quote them with ``lscpu``'s model name and the load.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from benchbench.config import RunConfig
from benchbench.plugins.manager import load_components
from benchbench.training import resume
from benchbench.training.optimization import build_optimizer

STEPS_PER_EPOCH = 450  # 45,000 training images (5,000 validation held out), batch 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--writes", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--folder", type=Path, default=None)
    parser.add_argument("--stored", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = RunConfig(arch="cnn_small", optimizer="adam", lr=1e-3, batch_size=100)
    entry = load_components().architectures.get("cnn_small")
    model = entry.create({}, num_classes=10, input_shape=(3, 32, 32))
    model = model.to(memory_format=torch.channels_last)
    optimizer, schedule = build_optimizer(config, model, STEPS_PER_EPOCH)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    x = torch.randn(100, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (100,))

    def step():
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step()  # Adam's moments exist from here on, as after any epoch

    def state() -> dict:
        return {
            "fingerprint": {"run_id": "benchmark"},
            "epoch": 1,
            "within": None,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "schedule": schedule.state_dict(),
            "scaler": scaler.state_dict(),
            "random": resume.random_streams(),
        }

    folder = args.folder or Path(tempfile.mkdtemp(prefix="resume-point-", dir="."))
    path = folder / resume.FILE
    writes, steps = [], []
    for _ in range(args.writes):
        started = time.perf_counter()
        resume.save(path, state())
        writes.append(time.perf_counter() - started)
        for _ in range(args.steps):
            started = time.perf_counter()
            step()
            steps.append(time.perf_counter() - started)
    size = path.stat().st_size / 2**20
    resume.discard(path)
    if args.folder is None:
        folder.rmdir()
    write, one_step = statistics.median(writes), statistics.median(steps)
    epoch = one_step * STEPS_PER_EPOCH
    parameters = sum(p.numel() for p in model.parameters())
    print(f"host: {platform.processor() or platform.machine()}, {args.threads} threads, "
          f"load {os.getloadavg()[0]:.2f}; torch {torch.__version__}")  # fmt: skip
    print(f"cnn_small: {parameters:,} parameters, Adam; resume point {size:.1f} MB")
    print(
        f"write (median of {args.writes}): {write:.3f} s  [min {min(writes):.3f}, "
        f"max {max(writes):.3f}]"
    )
    print(
        f"epoch (median step {one_step * 1000:.1f} ms x {STEPS_PER_EPOCH}): {epoch:.1f} s  "
        f"-> a resume point costs {100 * write / epoch:.2f} % of an epoch"
    )
    if args.stored is not None:
        from benchbench.results.store import Store

        seconds = [
            r.summary["train_seconds_per_epoch"]
            for r in Store(args.stored).runs()
            if r.config.get("arch") == "cnn_small"
            and r.config.get("subset") is None
            and r.config.get("arch_options", {}).get("kernel", 3) == 3
            and r.summary.get("train_seconds_per_epoch")
        ]
        if seconds:
            real = statistics.median(seconds)
            print(
                f"stored cnn_small runs on the CIFAR-10 folder ({len(seconds)}): median "
                f"{real:.1f} s an epoch -> {100 * write / real:.2f} % of a real epoch"
            )


if __name__ == "__main__":
    main()
