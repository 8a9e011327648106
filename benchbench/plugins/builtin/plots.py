"""The built-in figure kinds drawn from one stored run (``bench plot KIND RUN``),
registered like a plugin's. Each factory takes the kind's options and returns
``draw(store, record) -> Figure``; the drawing itself is :mod:`benchbench.render.figures`'."""

from __future__ import annotations

from benchbench import hookimpl
from benchbench.errors import BenchError


def _confusion(store, record):
    stored = store.confusion(record.id)
    if stored is None:
        raise BenchError(
            f"Run {record.id} ({record.label}) has no stored confusion matrix: "
            f"it is {record.status}."
        )
    return stored


def curves():
    """Loss and accuracy per epoch, train and validation."""
    from benchbench.render.figures import curves as figure

    def draw(store, record):
        return figure(store.history(record.id), f"{record.label} [{record.id}]", record.config)

    return draw


def confusion():
    """The normalized confusion matrix (rows: true class)."""
    from benchbench.render.figures import confusion as figure

    def draw(store, record):
        matrix, classes = _confusion(store, record)
        return figure(matrix, classes, f"{record.label}: normalized confusion matrix")

    return draw


def errors():
    """Per-class commission and omission errors."""
    from benchbench.metrics import commission_omission
    from benchbench.render.figures import class_errors

    def draw(store, record):
        matrix, classes = _confusion(store, record)
        commission, omission = commission_omission(matrix)
        title = f"{record.label}: commission and omission errors"
        return class_errors(classes, commission, omission, title)

    return draw


def samples(*, wrong: bool = False, count: int = 16):
    """A grid of test images with predicted and true labels: misclassified ones with
    ``wrong``, else correct ones; the same ``count`` images on every call."""

    def draw(store, record):
        import numpy as np

        from benchbench.plugins.manager import current
        from benchbench.render.figures import samples as figure
        from benchbench.training.loop import prepare

        logits, labels = store.predictions(record.id)
        predicted = logits.argmax(1)
        candidates = np.flatnonzero((predicted != labels) if wrong else (predicted == labels))
        chosen = np.sort(np.random.default_rng(0).permutation(candidates)[:count])
        if len(chosen) == 0:
            raise BenchError(
                f"Run {record.id} has no {'wrong' if wrong else 'correct'} predictions to show."
            )
        splits = prepare(record.run_config, current(), lazy=True)
        images = splits.test[0].numpy()
        if len(images) != len(labels) or not (splits.test[1].numpy() == labels).all():
            raise BenchError(
                "The dataset's test split changed since the run: cannot match "
                "stored predictions to images."
            )
        kind = "wrong" if wrong else "correct"
        return figure(
            images[chosen],
            labels[chosen],
            predicted[chosen],
            splits.classes,
            f"{record.label}: {kind} predictions",
        )

    return draw


def gradcam(*, images: str = "0,1,2,3,4,5,6,7", layer: str | None = None, device: str = "cpu"):
    """Grad-CAM heat maps (captum) for chosen test images, over the images; ``layer``
    None takes the last convolution."""
    try:
        indices = [int(i) for i in str(images).split(",")]
    except ValueError:
        raise BenchError(f"--images {images!r}: give test image indices like 0,1,2.") from None

    def draw(store, record):
        import torch

        from benchbench.analysis.gradcam import heatmaps
        from benchbench.analysis.reload import predict, reload
        from benchbench.plugins.manager import current
        from benchbench.render.figures import heatmaps as figure

        loaded = reload(store, record, current(), device)
        test_x, test_y = loaded.splits.test
        if not indices or max(indices) >= len(test_x) or min(indices) < 0:
            raise BenchError(f"--images: indices must lie in 0..{len(test_x) - 1}.")
        chosen = torch.tensor(indices)
        predicted = predict(loaded, test_x[chosen]).argmax(1)
        inputs = loaded.batcher(test_x[chosen].to(loaded.device))
        maps = heatmaps(loaded.model, inputs, predicted.to(loaded.device), layer)
        return figure(
            test_x[chosen].numpy(),
            maps.numpy(),
            test_y[chosen].tolist(),
            predicted.tolist(),
            loaded.splits.classes,
            f"{record.label}: Grad-CAM",
        )

    return draw


@hookimpl
def benchbench_register_figures(registry):
    for factory in (curves, confusion, errors, samples, gradcam):
        registry.add(factory.__name__, factory, description=factory.__doc__.split("\n")[0])
