"""Progress of a run: a rich live display on a terminal, one plain line per epoch elsewhere."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def epoch_line(record: dict, epochs: int) -> str:
    text = (
        f"epoch {record['epoch']}/{epochs}  train loss {record['train_loss']:.4f} "
        f"acc {record['train_acc']:.4f}"
    )
    if record["val_loss"] == record["val_loss"]:  # not NaN
        text += f"  val loss {record['val_loss']:.4f} acc {record['val_acc']:.4f}"
    return text + f"  {record['train_seconds']:.2f}s + {record['val_seconds']:.2f}s"


class RunProgress:
    """``with RunProgress(console, label, epochs) as p:`` then ``p.epoch`` / ``p.batch``."""

    def __init__(self, console: Console, label: str, epochs: int):
        self.console, self.label, self.epochs = console, label, epochs
        self.live = console.is_terminal and not console.is_dumb_terminal
        self._progress: Progress | None = None

    def __enter__(self) -> RunProgress:
        if self.live:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[status]}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._progress.start()
            self._epochs = self._progress.add_task(self.label, total=self.epochs, status="")
            self._batches = self._progress.add_task("  batches", total=1, status="")
        else:
            self.console.print(
                f"{self.label}: training for up to {self.epochs} epochs",
                highlight=False,
                markup=False,
            )
        return self

    def batch(self, done: int, total: int) -> None:
        if self._progress is not None:
            self._progress.update(self._batches, completed=done, total=total)

    def epoch(self, record: dict) -> None:
        line = epoch_line(record, self.epochs)
        if self._progress is not None:
            self._progress.update(
                self._epochs, completed=record["epoch"], status=f"val acc {record['val_acc']:.4f}"
            )
            self._progress.console.print(line, highlight=False, markup=False)
        else:
            self.console.print(line, highlight=False, markup=False)

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
