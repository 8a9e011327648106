"""An example benchbench plugin. Note: no torch import at module level."""

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
