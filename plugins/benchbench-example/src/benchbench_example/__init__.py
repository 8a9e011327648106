"""An example benchbench plugin: one implementation of every hook benchbench has.

Note: no torch, pandas or matplotlib import at module level (``bench --help`` stays instant).
"""

from benchbench import hookimpl


@hookimpl
def benchbench_register_architectures(registry):
    registry.add("tiny_cnn", build_tiny_cnn, description="two conv layers (example plugin)")


@hookimpl
def benchbench_register_augmentations(registry):
    registry.add(
        "invert", build_invert, description="invert colours with probability p (example plugin)"
    )


@hookimpl
def benchbench_register_datasets(registry):
    registry.add(
        "stripes",
        build_stripes,
        description="horizontal vs vertical stripes, generated (example plugin)",
    )


@hookimpl
def benchbench_register_sinks(registry):
    registry.add(
        "csv_lines",
        build_csv_lines,
        description="a CSV line per epoch and per finished run; target: the file "
        "(example plugin: how a W&B or other tracker sink is written)",
    )


@hookimpl
def benchbench_register_metrics(registry):
    registry.add("top2_acc", build_top2, description="top-2 test accuracy (example plugin)")


def build_top2():
    from benchbench import Metric

    def compute(evaluated):
        logits, labels = evaluated.outcome.test_logits, evaluated.outcome.test_labels
        best_two = logits.topk(min(2, logits.shape[1]), dim=1).indices
        return float((best_two == labels[:, None]).any(1).float().mean())

    return Metric("top2_acc", "Top-2 acc", 4, compute, higher_is_better=True, tunable=True)


@hookimpl
def benchbench_register_commands(cli):
    @cli.command("stripes-preview")
    def stripes_preview(size: int = 8) -> None:
        """Print one image of each stripes class as text (example plugin command)."""
        data = build_stripes(size=size, train_size=2, test_size=2, seed=0)
        for name, label in zip(data.classes, range(2), strict=True):
            index = int((data.train_labels == label).argmax())
            print(name)
            for row in data.train_images[index, 0]:
                print("".join("#" if v > 100 else "." for v in row))


@hookimpl
def benchbench_register_formats(registry):
    registry.add("org", build_org, description="Org-mode tables for Emacs (example plugin)")


def build_org():
    """``bench report --format org``: each table as an Org-mode table, notes below it."""
    from benchbench.render.markup import one_line

    def cell(text) -> str:  # one line, and no | that would split the cell
        return one_line(text).replace("|", "\\vert{}")

    def table(part) -> str:
        lines = [f"#+CAPTION: {cell(part.title)}"] if part.title else []
        bold = set(part.bold)
        header = [cell(c) for c in part.shown.columns]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "+".join("-" * (len(h) + 2) for h in header) + "|")
        for row, values in part.shown.iterrows():
            cells = [
                f"*{cell(v)}*" if (row, column) in bold else cell(v)
                for column, v in zip(part.shown.columns, values, strict=True)
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines += [f"# {cell(note)}" for note in [*part.notes, part.provenance] if note]
        return "\n".join(lines) + "\n"

    def render(parts, page) -> str:
        return f"#+TITLE: {cell(page.title)}\n\n" + "\n".join(table(p) for p in parts)

    return render


@hookimpl
def benchbench_register_table_kinds(registry):
    registry.add(
        "fastest",
        build_fastest_kind,
        description="the n fastest configurations by training seconds per epoch (example plugin)",
    )


def build_fastest_kind():
    """A suite's ``[[tables]] kind = "fastest"`` (option ``n``): the ``runs`` table of
    its group, cut to the ``n`` rows that train fastest."""
    from benchbench.analysis.tables import Spec
    from benchbench.analysis.tables import TableKind
    from benchbench.analysis.tables import build

    def fastest(request):
        metrics = ("train_seconds_per_epoch", "test_acc")
        part = build(request.runs, Spec(metrics, title=request.title))
        order = (
            part.raw["train_seconds_per_epoch_mean"].argsort().to_numpy()[: request.options["n"]]
        )
        part.raw = part.raw.iloc[order].reset_index(drop=True)
        part.shown = part.shown.iloc[order].reset_index(drop=True)
        part.bold = []
        part.notes.append(f"The {request.options['n']} fastest configurations.")
        return part

    return TableKind("fastest", "the n fastest configurations", {"n": 3}, fastest)


@hookimpl
def benchbench_register_figures(registry):
    registry.add(
        "lr_curve",
        build_lr_curve,
        description="the learning rate per epoch (example plugin; option log)",
    )


def build_lr_curve(*, log: bool = False):
    """``bench plot lr_curve RUN [--set log=true]``: the learning rate each epoch used."""

    def draw(store, record):
        import matplotlib.pyplot as plt

        history = store.history(record.id)
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.plot([h["epoch"] for h in history], [h["lr"] for h in history], marker="o")
        ax.set(xlabel="epoch", ylabel="learning rate", title=f"{record.label}: learning rate")
        if log:
            ax.set_yscale("log")
        fig.tight_layout()
        return fig

    return draw


@hookimpl
def benchbench_register_executors(registry):
    registry.add(
        "reverse",
        build_reverse,
        description="runs one after the other, last first (example plugin: how an "
        "executor for a scheduler is written)",
    )


def build_reverse():
    from benchbench.execution.executors.detached import DetachedExecutor
    from benchbench.execution.runner import train_detached

    class ReverseExecutor(DetachedExecutor):
        """Trains each run in this process, last first, and stores it through the driver's
        ``collect``, as an executor for a cluster scheduler would."""

        def run(self, configs, events):
            done, todo = self.split(configs)
            yield from ((c, "skipped", "") for c in done)
            for config in reversed(todo):
                self.submitted(config, events)
                folder, policy = self.resume_args(config)
                result = train_detached(config.to_dict(), self.threads(), folder, policy)
                yield self.collect(config, lambda r=result: r)

    return ReverseExecutor


def build_csv_lines(*, target: str | None = None):
    from pathlib import Path

    return CsvLines(Path(target or "bench-lines.csv"))


class CsvLines:
    """A result sink: the methods benchbench calls as runs train and are stored."""

    def __init__(self, path):
        self.path = path

    def _write(self, *cells) -> None:
        import csv

        with self.path.open("a", newline="") as f:
            csv.writer(f).writerow(cells)

    def run_started(self, run_id, label, config, environment):
        self._write("start", run_id, label, config["arch"], environment.get("host", ""))

    def epoch_ended(self, run_id, record):
        self._write("epoch", run_id, record["epoch"], record["train_loss"], record["val_acc"])

    def run_ended(self, record, artifacts):
        accuracy = record.summary.get("test_acc", "")
        self._write("end", record.id, record.status, accuracy, " ".join(sorted(artifacts)))


def build_tiny_cnn(
    *, num_classes: int, input_shape: tuple[int, int, int], width: int = 16, dropout: float = 0.0
):
    from torch import nn

    channels = input_shape[0]
    return nn.Sequential(
        nn.Conv2d(channels, width, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(width, width, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(width, num_classes),
    )


def build_invert(*, num_classes: int, input_shape: tuple[int, int, int], p: float = 0.5):
    import torch

    def invert(images, targets, rng):
        chosen = rng.bernoulli(p)  # one draw per image, from that image's own seed
        return torch.where(chosen[:, None, None, None], 1 - images, images), targets

    return invert


def build_stripes(
    *, data_dir=None, size: int = 16, train_size: int = 400, test_size: int = 100, seed: int = 0
):
    import numpy as np

    from benchbench.data import ImageData

    rng = np.random.default_rng(seed)

    def draw(n):
        labels = rng.integers(0, 2, n)
        phase = rng.integers(0, 4, n)
        line = (np.arange(size)[None, :] + phase[:, None]) % 4 < 2  # (n, size)
        images = np.where(labels[:, None, None] == 0, line[:, :, None], line[:, None, :])
        images = np.broadcast_to(images, (n, size, size)).astype(np.uint8) * 200
        noise = rng.integers(0, 55, (n, size, size), dtype=np.uint8)
        return (images + noise)[:, None], labels

    return ImageData(["horizontal", "vertical"], *draw(train_size), *draw(test_size))
