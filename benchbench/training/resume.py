"""Resume points: a run's whole training state, so a killed run continues where it was.

A resume point is one file per run (``resume.pt`` in the run's artifact folder), written at
the end of an epoch (:class:`ResumePolicy` says which) and when SIGINT or SIGTERM asks the
run to stop, mid-epoch. It holds everything the next epoch depends on: the weights, the
optimizer, the learning-rate schedule and lookahead, the gradient scaler, early stopping
and time-to-target, every random stream (torch CPU and CUDA, numpy, Python, batch order,
augmentation), the epochs so far, and the choices the first segment made by probing
(precision), so a resumed run computes exactly what an uninterrupted one computes.

The file is replaced atomically (a temporary file, fsync, rename): a kill during the write
leaves the previous resume point. A file that cannot be read, or that belongs to another
config, is reported in one line and ignored; the run starts over.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from benchbench.errors import BenchError

log = logging.getLogger(__name__)

FILE = "resume.pt"
FORMAT = 2  # 2: one state per replica ("lanes"), the engine's state apart
AUTO_SECONDS = 5.0  # default policy: a resume point once this much training has passed


@dataclass(frozen=True)
class ResumePolicy:
    """When a run writes resume points, and what a resumed run accepts.

    ``every_epochs`` (``--checkpoint-every 3``) or ``every_seconds``
    (``--checkpoint-every 10m``); neither: at every epoch's end once :data:`AUTO_SECONDS`
    of training passed since the last one (every epoch of a long run, rarely for a run of
    tiny epochs). ``every_epochs`` 0 writes none but the one a signal asks for.
    ``keep``: the last resume point stays beside the finished run. ``anywhere``: a resume
    point written on another host or torch version is accepted (marked in the run).
    """

    every_epochs: int | None = None
    every_seconds: float | None = None
    keep: bool = False
    anywhere: bool = False

    @classmethod
    def parse(cls, every: str | None, keep: bool = False, anywhere: bool = False):
        """``every`` as the command line gives it: ``N`` epochs, or ``30s``/``10m``/``2h``."""
        if every is None or str(every).strip() == "":
            return cls(keep=keep, anywhere=anywhere)
        text = str(every).strip().lower()
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smh])", text)
        if match:
            seconds = float(match[1]) * {"s": 1, "m": 60, "h": 3600}[match[2]]
            if seconds > 0:
                return cls(every_seconds=seconds, keep=keep, anywhere=anywhere)
        elif text.isdigit():
            return cls(every_epochs=int(text), keep=keep, anywhere=anywhere)
        raise BenchError(
            f"--checkpoint-every {every!r}: give a number of epochs (1 = every epoch, 0 = "
            "only when the run is stopped by a signal) or a time such as 90s, 10m or 1h."
        )

    def due(self, epoch: int, since_last: float) -> bool:
        """Whether to write a resume point after ``epoch``, ``since_last`` training
        seconds after the last one."""
        if self.every_epochs is not None:
            return self.every_epochs > 0 and epoch % self.every_epochs == 0
        if self.every_seconds is not None:
            return since_last >= self.every_seconds
        return since_last >= AUTO_SECONDS


def path_in(folder: Path) -> Path:
    return Path(folder) / FILE


def identity() -> dict:
    """Where a resume point is written: what decides whether another process may use it."""
    import torch

    return {"host": socket.gethostname(), "torch": torch.__version__}


def save(path: Path, state: dict) -> None:
    """Write ``state`` to ``path`` atomically: a temporary file beside it, flushed to disk,
    then renamed over the old one. A kill at any moment leaves the old file or the new."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with open(temporary, "wb") as handle:
            torch.save({**state, "format": FORMAT, **identity(), "written": time.time()}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    try:  # the rename itself, on disk
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError:
        pass


def discard(path: Path) -> None:
    """Remove a resume point and any half-written temporary beside it."""
    path = Path(path)
    path.unlink(missing_ok=True)
    for part in path.parent.glob(f".{path.name}.*.part") if path.parent.is_dir() else ():
        part.unlink(missing_ok=True)


def load(path: Path, fingerprint: dict, policy: ResumePolicy) -> dict | None:
    """The resume point at ``path`` if it belongs to the run ``fingerprint`` describes,
    else None (a damaged or foreign file is reported in one line and removed, so the run
    starts over cleanly). One written on another host or torch version raises a
    BenchError unless ``policy.anywhere``; accepted, it is marked ``anywhere``."""
    import torch

    path = Path(path)
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ValueError("not a resume point of this benchbench version")
        epoch = int(state["epoch"])
    except Exception as exc:  # truncated, corrupt, foreign: never fatal
        log.warning(
            "the resume point %s cannot be read (%s: %s); it is removed and the run starts "
            "over from epoch 1.",
            path,
            type(exc).__name__,
            str(exc).strip().splitlines()[0][:120] if str(exc).strip() else "",
        )
        discard(path)
        return None
    if state.get("fingerprint") != fingerprint:
        log.warning(
            "the resume point %s was written by a run of another config; it is removed and "
            "the run starts over from epoch 1.",
            path,
        )
        discard(path)
        return None
    here = identity()
    moved = {k: (state.get(k), here[k]) for k in here if state.get(k) != here[k]}
    if moved:
        what = "; ".join(f"{k} {was} there, {now} here" for k, (was, now) in moved.items())
        if not policy.anywhere:
            raise BenchError(
                f"Run {fingerprint.get('run_id')} has a resume point at epoch {epoch} written "
                f"elsewhere ({what}): continuing it here would not be bit-identical to an "
                "uninterrupted run. Pass --resume-anywhere to continue it anyway (the run is "
                "marked so), or --force to start it over."
            )
        state["anywhere"] = {k: {"was": was, "now": now} for k, (was, now) in moved.items()}
    return state


@dataclass
class ResumePoints:
    """One run's resume points: where they live, when to write them, what was loaded.

    ``fingerprint`` identifies the run (its id): a file with another is not this run's.
    ``loaded`` is the resume point the run continues from, or None for a fresh start.
    """

    path: Path
    policy: ResumePolicy
    fingerprint: dict
    loaded: dict | None = None

    @classmethod
    def open(
        cls,
        folder: Path,
        run_id: str,
        policy: ResumePolicy,
        fresh: bool = False,
        replicas: list[str] | None = None,
    ):
        """The resume points in ``folder``; ``fresh`` (``--force``) deletes any there.
        ``replicas``: the run ids of vectorized seeds that share this one."""
        fingerprint = {"run_id": run_id, **({"replicas": replicas} if replicas else {})}
        points = cls(path_in(folder), policy, fingerprint)
        if fresh:
            discard(points.path)
        else:
            points.loaded = load(points.path, points.fingerprint, policy)
        return points

    @property
    def epoch(self) -> int:
        """Epochs the loaded resume point had completed (0 for a fresh start)."""
        return 0 if self.loaded is None else int(self.loaded["epoch"])

    def history(self, lane: int = 0) -> list[dict]:
        """The epochs the loaded resume point holds of replica ``lane`` (0: the run)."""
        return list(self.loaded["lanes"][lane]["outcome"]["history"]) if self.loaded else []

    def write(self, state: dict) -> None:
        save(self.path, state)

    def finished(self) -> None:
        """The run is stored: its resume point goes, unless the policy keeps it."""
        if not self.policy.keep:
            discard(self.path)


@dataclass
class StopRequest:
    """Set by a signal handler: ``requested`` is the signal asking the run to stop;
    ``armed`` says whether the training loop will stop at its next step (else the handler
    raises at once)."""

    requested: int | None = None
    armed: bool = False
    by_user: bool = False


# -- random streams -----------------------------------------------------------------------


def random_streams() -> dict:
    """The process-wide random streams: torch (CPU and every CUDA device), numpy, Python."""
    import random

    import numpy as np
    import torch

    streams = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        streams["cuda"] = torch.cuda.get_rng_state_all()
    return streams


def restore_random_streams(streams: dict) -> None:
    import random

    import numpy as np
    import torch

    torch.set_rng_state(streams["torch"])
    np.random.set_state(streams["numpy"])
    random.setstate(streams["python"])
    if "cuda" in streams and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(streams["cuda"])


# -- signals ------------------------------------------------------------------------------


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped a run after its current step; its resume point is written
    (if it had begun training). The process exits with 128 + the signal's number."""

    def __init__(self, signum: int, where: str = ""):
        import signal as signals

        self.signum = signum
        self.name = signals.Signals(signum).name
        self.where = where
        super().__init__(f"stopped by {self.name}{where}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum
