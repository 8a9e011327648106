"""Where a run executes: device resolution, synchronization, honest stopwatches and a
description of the machine for the record."""

from __future__ import annotations

import functools
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

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


def describe(device: torch.device, precision: str = "fp32") -> dict:
    """What a stored run records about where and how it ran, so that its timings are only
    ever compared with timings of the same kind
    (:func:`benchbench.results.query.timing_key`)."""
    from benchbench import __version__

    cpu = cpu_model()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu
    cores = available_cores()
    load = load_average()
    commit, dirty = source_commit()
    return {
        "benchbench": __version__,
        "commit": commit,
        "dirty": dirty,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "device": str(device),
        "device_name": name,
        "cpu": cpu,
        "cores": cores,
        "threads": torch.get_num_threads(),
        "precision": precision,
        "layout": "channels_last" if device.type == "cuda" else "contiguous",
        "host": f"{name} ({cores} cores)" if device.type == "cpu" else name,
        "hostname": socket.gethostname(),
        "load_start": load,
        "loaded": load is not None and load > cores,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


@functools.cache
def cpu_model() -> str:
    """The CPU's model name as ``lscpu`` shows it (``platform.processor()`` is empty or
    just ``x86_64`` on Linux)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            out = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True
            )
            if out.stdout.strip():
                return out.stdout.strip()
        except OSError:
            pass
    return platform.processor() or platform.machine() or "unknown CPU"


def available_cores() -> int:
    """Cores this process may run on (its affinity), not the machine's total."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def load_average() -> float | None:
    """The machine's 1-minute load average, or None where the system has none."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


@functools.cache
def source_commit() -> tuple[str | None, bool | None]:
    """``(commit, dirty)`` of the git checkout benchbench runs from, or ``(None, None)``
    when it is installed from a package."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None, None
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit or None, bool(status.strip()) if commit else None


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
