"""Where a run executes: device resolution, synchronization, honest stopwatches and a
description of the machine for the record."""

from __future__ import annotations

import platform
import time

import torch

from benchbench.errors import BenchError


def resolve(name: str) -> torch.device:
    """``auto`` → the first CUDA device if there is one, else the CPU; ``cuda:i`` checked."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise BenchError(f"--device {name!r}: use auto, cpu, cuda or cuda:INDEX.") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise BenchError(
                f"--device {name}: no CUDA device is available here. Use --device cpu (or auto)."
            )
        index = device.index or 0
        if index >= torch.cuda.device_count():
            raise BenchError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s).")
        return torch.device("cuda", index)
    if device.type != "cpu":
        raise BenchError(f"--device {name!r}: use auto, cpu, cuda or cuda:INDEX.")
    return device


def synchronize(device: torch.device) -> None:
    """Wait for queued work on ``device``, so that a clock read afterwards is honest."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def describe(device: torch.device) -> dict:
    """What a stored run records about its environment."""
    from benchbench import __version__

    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = platform.processor() or platform.machine()
    return {
        "benchbench": __version__,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "device": str(device),
        "device_name": name,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


class Stopwatch:
    """Honest wall-clock timing: ``with Stopwatch(device) as watch: ...`` then
    ``watch.seconds``; the device is synchronized before every clock read."""

    def __init__(self, device: torch.device):
        self.device = device
        self.seconds = 0.0

    def __enter__(self) -> Stopwatch:
        synchronize(self.device)
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        synchronize(self.device)
        self.seconds = time.perf_counter() - self._start
