"""Where a run executes: device resolution, synchronization, honest stopwatches and a
description of the machine for the record."""

from __future__ import annotations

import functools
import logging
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

import torch

from benchbench.errors import BenchError
from benchbench.training.machine_load import crowded
from benchbench.training.machine_load import load_average
from benchbench.training.machine_load import own_load

log = logging.getLogger(__name__)


def resolve(name: str) -> torch.device:
    """``auto`` → the current CUDA device if there is one, else the CPU; ``cuda:i`` checked.

    A CUDA device always comes back with its index (``auto``, ``cuda`` and ``cuda:0``
    name one device, so they give one run id). The GPU's model is not part of a run's
    identity: it is recorded in the run's environment, where timings are split by it.
    """
    if name == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        name = f"cuda:{torch.cuda.current_device()}"
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


def spelled(name: str) -> str:
    """``name`` in the form a run id hashes (``cuda`` → ``cuda:0``), checked only for its
    spelling: for devices of other machines (a cluster's nodes), which this one may lack."""
    if name in ("cpu", "auto"):
        return name
    try:
        device = torch.device(name)
    except RuntimeError:
        device = None
    if device is None or device.type != "cuda":
        raise BenchError(f"--device {name!r}: use auto, cpu, cuda or cuda:INDEX.")
    return f"cuda:{device.index or 0}"


CUBLAS_WORKSPACE = ":4096:8"  # what torch's reproducibility notes ask for


def configure(device: torch.device, deterministic: bool, tf32: str) -> None:
    """Set the global switches that decide what a run computes, every run, both ways.

    ``deterministic``: cuDNN's autotuner off, deterministic kernels only (an op without one
    raises instead of silently racing), ``CUBLAS_WORKSPACE_CONFIG`` set before cuBLAS
    starts. Otherwise cuDNN picks the fastest kernels. ``tf32``: whether fp32 matmuls and
    convolutions may use TensorFloat-32 on Ampere and later (torch's defaults differ for
    the two; both are set here).
    """
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = device.type == "cuda" and not deterministic
    torch.backends.cuda.matmul.allow_tf32 = tf32 == "on"
    torch.backends.cudnn.allow_tf32 = tf32 == "on"


def check_precision(device: torch.device, precision: str) -> None:
    """Refuse bf16 on a GPU without bf16 units (compute capability < 8.0: V100, T4, where
    torch would emulate it); warn on a CPU without native bf16 (many times slower)."""
    if precision != "bf16":
        return
    if device.type == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        if (major, minor) < (8, 0):
            raise BenchError(
                f"--precision bf16: {torch.cuda.get_device_name(device)} ({device}, compute "
                f"capability {major}.{minor}) has no bf16 units; bf16 needs 8.0 or newer "
                "(A100, RTX 30xx and later). Use --precision fp16 or fp32."
            )
    elif not cpu_has_bf16():
        log.warning(
            "--precision bf16: this CPU (%s) has no native bf16 (AMX or AVX512-BF16): "
            "expect training many times slower than fp32.",
            cpu_model(),
        )


def precision_candidates(precision: str, device: torch.device) -> tuple[str, ...]:
    """What ``precision`` can resolve to on ``device``: itself unless ``auto``; under
    ``auto``, bf16 where the device runs it natively (CUDA compute capability 8.0+), fp32
    where not, and on a CPU with native bf16 both, for :func:`pick_precision` to choose
    from a probe of the run's own model."""
    if precision != "auto":
        return (precision,)
    if device.type == "cuda":
        return ("bf16",) if torch.cuda.get_device_capability(device) >= (8, 0) else ("fp32",)
    if device.type == "cpu" and cpu_has_bf16():
        return ("fp32", "bf16")
    return ("fp32",)


def pick_precision(step_seconds: dict[str, list[float]]) -> str:
    """The precision to train in, from interleaved step times of each candidate: bf16 only
    when its fastest step is at least 10% faster than fp32's (fp32 is the reference). The
    fastest, not the median: another process's burst only ever slows a step, so the
    minimum is what the hardware does (as timeit takes it)."""
    if len(step_seconds) == 1:
        return next(iter(step_seconds))
    fastest = {p: min(times) for p, times in step_seconds.items()}
    return "bf16" if fastest["bf16"] < 0.9 * fastest["fp32"] else "fp32"


def compile_unsupported(device: torch.device) -> str | None:
    """Why ``torch.compile`` cannot run on ``device`` here, or None if it can."""
    import shutil

    import torch._dynamo

    if not torch._dynamo.is_dynamo_supported():
        return f"TorchDynamo does not support Python {platform.python_version()}"
    if device.type == "cuda":
        from torch.utils._triton import has_triton

        return None if has_triton() else "Triton, which inductor needs on a GPU, is missing"
    compiler = os.environ.get("CXX") or "c++"
    if device.type == "cpu" and not (shutil.which(compiler) or shutil.which("g++")):
        return f"no C++ compiler ({compiler}), which inductor needs on a CPU"
    return None


def resolve_layout(layout: str, device: torch.device, model: torch.nn.Module) -> str:
    """``auto`` → channels_last for a model with 2-D convolutions on a CPU or GPU (faster
    on both: measured per architecture in ``benchmarks/layout_precision.py``), else
    contiguous; any other layout as given."""
    if layout != "auto":
        return layout
    convolves = any(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    return "channels_last" if convolves and device.type in ("cpu", "cuda") else "contiguous"


def cpu_has_bf16() -> bool:
    """Whether oneDNN runs bf16 natively on this CPU."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory of this run on a GPU (allocated by torch); on the CPU the process's
    peak resident memory so far (what the operating system had to give it)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes vs KiB
    except (ImportError, OSError):
        return float("nan")


def synchronize(device: torch.device) -> None:
    """Wait for queued work on ``device``, so that a clock read afterwards is honest."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def describe(
    device: torch.device,
    precision: str = "fp32",
    deterministic: bool = False,
    tf32: str = "off",
    layout: str = "auto",
) -> dict:
    """What a stored run records about where and how it ran, so that its timings are only
    ever compared with timings of the same kind
    (:func:`benchbench.results.query.timing_key`)."""
    from benchbench import __version__

    cpu = cpu_model()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu
    cores = available_cores()
    load, own = load_average(), own_load()
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
        "cpu_features": cpu_features(),  # what decided precision and layout under auto
        "bf16_native": cpu_has_bf16() if device.type == "cpu" else None,
        "cores": cores,
        "threads": torch.get_num_threads(),
        "precision": precision,
        "layout": layout,  # "auto" until the run has chosen (see Outcome.execution)
        "deterministic": deterministic,
        "tf32": tf32,
        **gpu_facts(device),
        "host": f"{name} ({cores} cores)" if device.type == "cpu" else name,
        "hostname": socket.gethostname(),
        "load_start": load,  # the machine's, this process's own share included
        "load_own": own,
        "loaded": crowded(load, own, cores),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def gpu_facts(device: torch.device) -> dict:
    """Compute capability, memory and library versions of a CUDA device (else nothing)."""
    if device.type != "cuda":
        return {}
    props = torch.cuda.get_device_properties(device)
    return {
        "compute_capability": f"{props.major}.{props.minor}",
        "gpu_memory_gb": round(props.total_memory / 2**30, 1),
        "cudnn": torch.backends.cudnn.version(),
        "gpu_count": torch.cuda.device_count(),
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


# The CPU features that decide precision and layout under auto (bf16 runs natively with
# AVX-512 BF16 or AMX; AVX2 alone emulates it, slowly).
DECIDING_FEATURES = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "asimd", "sve")


def cpu_features() -> list[str]:
    """Which of :data:`DECIDING_FEATURES` this CPU has (from /proc/cpuinfo's flags)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("flags", "features")):
                flags = set(line.split(":", 1)[1].split())
                return [f for f in DECIDING_FEATURES if f in flags]
    except OSError:
        pass
    return []


def available_cores() -> int:
    """Cores this process may run on (its affinity), not the machine's total."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


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
