"""Progress of a run: a rich live display on a terminal, one plain line per epoch elsewhere."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn
from rich.progress import MofNCompleteColumn
from rich.progress import Progress
from rich.progress import TextColumn
from rich.progress import TimeElapsedColumn
from rich.progress import TimeRemainingColumn
from rich.text import Text

from benchbench.render.markup import visible


def quiet() -> bool:
    """``bench --quiet`` was given."""
    from benchbench.cli import context

    return context.QUIET


def _live(console: Console, *extra) -> Progress:
    """A transient progress display: name, bar, n/total, status, elapsed (and extras)."""
    progress = Progress(
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}", markup=False),
        TimeElapsedColumn(),
        *extra,
        console=console,
        transient=True,
    )
    progress.start()
    return progress


def epoch_line(record: dict, epochs: int) -> str:
    text = (
        f"epoch {record['epoch']}/{epochs}  train loss {record['train_loss']:.4f} "
        f"acc {record['train_acc']:.4f}"
    )
    if record["val_loss"] == record["val_loss"]:  # not NaN
        text += f"  val loss {record['val_loss']:.4f} acc {record['val_acc']:.4f}"
    evaluated = record["val_seconds"]
    if record.get("test_acc") is not None:  # --target-on test watches the test set
        text += f"  test acc {record['test_acc']:.4f}"
        evaluated += record.get("test_seconds", 0.0)
    return text + f"  {record['train_seconds']:.2f}s + {evaluated:.2f}s"


class RunProgress:
    """``with RunProgress(console, label, epochs) as p:`` then ``p.epoch`` / ``p.batch``."""

    def __init__(self, console: Console, label: str, epochs: int):
        self.console, self.label, self.epochs = console, label, epochs
        self.live = console.is_terminal and not console.is_dumb_terminal and not quiet()
        self._progress: Progress | None = None

    def __enter__(self) -> RunProgress:
        if self.live:
            self._progress = _live(self.console, TimeRemainingColumn())
            self._epochs = self._progress.add_task(escape(self.label), total=self.epochs, status="")
            self._batches = self._progress.add_task("  batches", total=1, status="")
        return self

    def batch(self, done: int, total: int) -> None:
        if self._progress is not None:
            self._progress.update(self._batches, completed=done, total=total)

    def epoch(self, record: dict) -> None:
        if quiet():
            return
        line = epoch_line(record, self.epochs)
        if self._progress is not None:
            self._progress.update(
                self._epochs, completed=record["epoch"], status=f"val acc {record['val_acc']:.4f}"
            )
            self._progress.console.print(line, highlight=False, markup=False)
        else:
            if record["epoch"] == 1:  # the header once training really runs
                self.console.print(
                    f"{self.label}: training for up to {self.epochs} epochs",
                    highlight=False,
                    markup=False,
                )
            self.console.print(line, highlight=False, markup=False)

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()


class SweepProgress:
    """Overall progress (done / running / failed / skipped, ETA) and the current run."""

    def __init__(self, console: Console, name: str, show_epochs: bool):
        self.console, self.name = console, name
        self.show_epochs = show_epochs and not quiet()
        self.live = console.is_terminal and not console.is_dumb_terminal and not quiet()
        self.counts = {"done": 0, "skipped": 0, "failed": 0, "running": 0}
        self.total = 0
        self._running: set[str] = set()
        self._progress: Progress | None = None

    def __enter__(self) -> SweepProgress:
        if self.live:
            self._progress = _live(self.console, TimeRemainingColumn())
            self._task = self._progress.add_task(self.name, total=None, status="")
            self._run = self._progress.add_task("", total=None, status="", visible=False)
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()

    def _status(self) -> str:
        return " ".join(f"{k} {v}" for k, v in self.counts.items())

    def planned(self, count: int) -> None:
        self.total = count
        if self._progress is not None:
            self._progress.update(self._task, total=count)

    def started(self, config) -> None:
        self._running.add(config.run_id)
        self.counts["running"] = len(self._running)
        if self._progress is not None:
            self._progress.update(self._task, status=self._status())
            if self.show_epochs:  # a fresh clock, bar and status for each run
                self._progress.reset(
                    self._run,
                    description=escape(f"  {visible(config.label)} seed {config.seed}"),
                    total=config.scaled().epochs,
                    completed=0,
                    status="",
                    visible=True,
                )

    def epoch(self, config, record: dict) -> None:
        if self._progress is not None:
            self._progress.update(
                self._run, completed=record["epoch"], status=f"val acc {record['val_acc']:.4f}"
            )
        elif self.show_epochs:  # CI logs and pipes: a line per epoch, never silence
            epochs = epoch_line(record, config.scaled().epochs)
            line = f"  {visible(config.label)} seed {config.seed}: {epochs}"
            self.console.print(line, highlight=False, markup=False)

    def finished(self, config, status: str) -> None:
        self._running.discard(config.run_id)
        self.counts["running"] = len(self._running)
        key = {"complete": "done", "diverged": "done", "skipped": "skipped"}.get(status, "failed")
        self.counts[key] += 1
        finished = sum(self.counts[k] for k in ("done", "skipped", "failed"))
        line = Text(
            f"[{finished}/{self.total}] {visible(config.label)} seed {config.seed} "
            f"[{config.run_id}]: {status}"
        )
        if self._progress is not None:
            self._progress.update(self._task, completed=finished, status=self._status())
            if status != "skipped":
                self._progress.console.print(line)
        elif not quiet() or key == "failed":
            self.console.print(line)
