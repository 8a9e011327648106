"""The built-in figure kinds drawn from one stored run (``bench plot KIND RUN``),
registered like a plugin's. Each factory takes the kind's options and returns
``draw(store, record)``, which returns a matplotlib Figure or Markdown text (a layer table);
a factory marked ``many`` gets every run its figure selects. The drawing itself is
:mod:`benchbench.render.figures`'."""

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


def _chosen(store, record, which: str, count: int, seed: int):
    """``count`` test images' indices (sorted; the same on every call): of the run's
    wrong predictions, its correct ones, or any."""
    import numpy as np

    logits, labels = store.predictions(record.id)
    predicted = logits.argmax(1)
    pool = {
        "wrong": np.flatnonzero(predicted != labels),
        "correct": np.flatnonzero(predicted == labels),
        "any": np.arange(len(labels)),
    }[which]
    chosen = np.sort(np.random.default_rng(seed).permutation(pool)[:count])
    if len(chosen) == 0:
        raise BenchError(f"Run {record.id} has no {which} predictions to show.")
    return chosen, labels, predicted


def _which(which: str, wrong: bool) -> str:
    which = which or ("wrong" if wrong else "correct")
    if which not in ("wrong", "correct", "any"):
        raise BenchError(f"which = {which!r}: give wrong, correct or any.")
    return which


def samples(*, wrong: bool = False, which: str = "", count: int = 16):
    """A grid of test images with predicted and true labels: ``which`` = wrong, correct
    (``wrong`` = true/false says the same) or any; the same ``count`` images every call."""
    which = _which(which, wrong)

    def draw(store, record):
        from benchbench.plugins.manager import current
        from benchbench.render.figures import samples as figure
        from benchbench.training.loop import prepare

        chosen, labels, predicted = _chosen(store, record, which, count, seed=0)
        splits = prepare(record.run_config, current(), lazy=True)
        images = splits.test[0].numpy()
        if len(images) != len(labels) or not (splits.test[1].numpy() == labels).all():
            raise BenchError(
                "The dataset's test split changed since the run: cannot match "
                "stored predictions to images."
            )
        shown = "test images, predicted (true)" if which == "any" else f"{which} predictions"
        title = f"{record.label}: {shown}"
        return figure(
            images[chosen],
            labels[chosen],
            predicted[chosen],
            splits.classes,
            title,
            columns=min(8, len(chosen)),
        )

    return draw


def gradcam(
    *,
    images: str = "0,1,2,3,4,5,6,7",
    which: str = "",
    count: int = 4,
    layer: str | None = None,
    device: str = "cpu",
):
    """Grad-CAM heat maps (captum) over test images: those of ``images`` (indices), or
    ``count`` of the run's ``which`` (wrong, correct or any) predictions; ``layer`` None
    takes the last convolution."""
    try:
        indices = [int(i) for i in str(images).split(",")]
    except ValueError:
        raise BenchError(f"--images {images!r}: give test image indices like 0,1,2.") from None
    if which:
        _which(which, False)

    def draw(store, record):
        import torch

        from benchbench.analysis.gradcam import heatmaps
        from benchbench.analysis.reload import predict
        from benchbench.analysis.reload import reload
        from benchbench.plugins.manager import current
        from benchbench.render.figures import heatmaps as figure

        loaded = reload(store, record, current(), device)
        test_x, test_y = loaded.splits.test
        chosen = _chosen(store, record, which, count, seed=1)[0] if which else indices
        if not len(chosen) or max(chosen) >= len(test_x) or min(chosen) < 0:
            raise BenchError(f"--images: indices must lie in 0..{len(test_x) - 1}.")
        chosen = torch.as_tensor(chosen)
        predicted = predict(loaded, test_x[chosen]).argmax(1)
        inputs = loaded.batcher(test_x[chosen].to(loaded.device))
        maps = heatmaps(loaded.model, inputs, predicted.to(loaded.device), layer)
        return figure(
            test_x[chosen].numpy(),
            maps.numpy(),
            test_y[chosen].tolist(),
            predicted.tolist(),
            loaded.splits.classes,
            f"{record.label}: Grad-CAM of the last convolution, predicted (true)",
        )

    return draw


def ood(
    *,
    show: str = "histogram",
    ood_dataset: str = "fake",
    ood_options: dict | None = None,
    layers: list | None = None,
    ood_when: str = "either",
):
    """Out-of-distribution detection by a layer's mean activation (the OOD table's probe,
    its last layer): ``show`` = histogram (in- and out-of-distribution, with the
    threshold) or samples (images detected as each)."""
    if show not in ("histogram", "samples"):
        raise BenchError(f"show = {show!r}: give histogram or samples.")

    def draw(store, record):
        from benchbench.analysis.ood import probe_run
        from benchbench.plugins.manager import current
        from benchbench.render import figures as plots

        probe = probe_run(
            store,
            record,
            current(),
            dataset=ood_dataset,
            options=dict(ood_options or {}),
            layers=list(layers or []) or None,
            ood_when=ood_when,
        )
        last = probe.results[-1]
        if show == "samples":
            return plots.samples(
                *probe.samples(last.layer),
                ["ID", "OOD"],
                f"{record.label}: detected by {last.layer}",
            )
        title = f"{record.label}: mean activation of {last.layer} (accuracy {last.accuracy:.3f})"
        return plots.histogram(
            probe.inside[last.layer], probe.outside[last.layer], last.threshold, title
        )

    return draw


def summary(*, arch: str = "", input_shape: str = "3x32x32", classes: int = 10, options=None):
    """The layers of architecture ``arch`` (with its ``options``) as a Markdown table with
    output shapes and parameters, and the totals (needs no run)."""
    if not arch:
        raise BenchError("A summary figure needs arch = NAME (bench list architectures).")
    try:
        shape = tuple(int(x) for x in str(input_shape).lower().split("x"))
    except ValueError:
        raise BenchError(f"input_shape = {input_shape!r}: give CxHxW, e.g. 3x32x32.") from None

    def draw(store, record):
        import pandas as pd

        from benchbench.analysis.layers import layer_table
        from benchbench.analysis.layers import totals
        from benchbench.config import RunConfig
        from benchbench.plugins.manager import current
        from benchbench.training.loop import build_model

        config = RunConfig(arch=arch, arch_options=dict(options or {})).validated()
        model = build_model(config, current(), classes, shape)
        table = pd.DataFrame(layer_table(model, shape))[
            ["layer", "type", "output_shape", "parameters"]
        ].to_markdown(index=False, floatfmt=",.0f", intfmt=",")
        sums = totals(model, shape)
        sets = "".join(f" --set arch.{k}={str(v).lower()}" for k, v in (options or {}).items())
        return (
            f"on {input_shape} images, {classes} classes (`bench summary --arch {arch} "
            f"--input-shape {input_shape} --classes {classes}{sets}`):\n\n{table}\n\n"
            f"Total params: {sums['total_parameters']:,}; params size (MB): "
            f"{sums['parameters_mb']:.2f}; forward/backward pass per image (MB): "
            f"{sums['forward_backward_mb_per_image']:.2f}."
        )

    return draw


def box(
    *,
    by: str = "value",
    metric: str = "best_val_acc",
    xlabel: str = "",
    ylabel: str = "",
    title: str = "",
    rename: dict | None = None,
):
    """A box per value over every seed's run (a tuning step's values, or a setting's):
    ``metric`` grouped ``by`` the tuned value (``value``) or a setting (``augs``),
    labels renamed by ``rename``."""

    def draw(store, runs):
        from benchbench.render.figures import box as figure
        from benchbench.results.query import setting

        groups: dict[str, list[float]] = {}
        for member, record in runs:
            value = member.get("value") if by == "value" else setting(record, by)
            name = str(value)
            groups.setdefault((rename or {}).get(name, name), []).append(record.summary[metric])
        if not groups:
            raise BenchError("no complete runs yet")
        shown = by if by != "value" else "value"
        return figure(groups, xlabel or shown, ylabel or metric, title or f"{metric} by {shown}")

    return draw


box.many = True  # draws every run the figure selects: draw(store, [(member, record), ...])


def folder(*, show: str = "examples", keep_size: list | None = None, per_class: int = 6):
    """The image folder a run trained on (its training images): ``show`` = examples (a
    row per class), sizes (how many images have each size: a Markdown table), or
    outliers (the sizes ``keep_size`` = [height, width] drops)."""
    if show not in ("examples", "sizes", "outliers"):
        raise BenchError(f"show = {show!r}: give examples, sizes or outliers.")

    def draw(store, record):
        from pathlib import Path

        import numpy as np
        from PIL import Image

        from benchbench.data import imagefolder
        from benchbench.render import figures as plots

        root = Path(record.config.get("data_dir") or "") / "train"
        if not root.is_dir():
            raise BenchError(f"the data folder {root} is not here")
        keep = tuple(keep_size) if keep_size else None
        classes, files = imagefolder.survey(root, imagefolder.size_filter(keep, None))

        def gallery(entries, names, columns):
            def pixels(entry):
                with Image.open(root / entry["path"]) as im:
                    return np.asarray(im.convert("RGB")).transpose(2, 0, 1)

            return plots.gallery([pixels(e) for e in entries], names, columns=columns)

        if show == "examples":
            kept = [f for f in files if f["kept"]]
            chosen = [f for c in classes for f in [x for x in kept if x["class"] == c][:per_class]]
            return gallery(chosen, [e["class"] for e in chosen], per_class)
        if show == "outliers":
            chosen = [
                f
                for c in classes
                for f in [x for x in files if x["class"] == c and not x["kept"] and x["size"]][:4]
            ]
            if not chosen:
                raise BenchError("the size filter drops no image")
            return gallery(chosen, [f"{e['size'][0]}x{e['size'][1]}" for e in chosen], 6)
        sizes: dict[str, int] = {}
        for entry in files:
            if entry["size"]:
                key = f"({entry['size'][0]},{entry['size'][1]})"
                sizes[key] = sizes.get(key, 0) + 1
        table = "| (height, width) | images |\n| --- | ---: |\n" + "".join(
            f"| {size} | {n:,} |\n" for size, n in sorted(sizes.items(), key=lambda kv: -kv[1])
        )
        counts = {
            state: ", ".join(
                f"{c} {sum(1 for f in files if f['class'] == c and f['kept'] == state)}"
                for c in classes
            )
            for state in (True, False)
        }
        return (
            f"`bench data inspect --data-dir {root.parent.name}`:\n\n{table}\n"
            f"Kept per class: {counts[True]}; excluded: {counts[False]}."
        )

    return draw


@hookimpl
def benchbench_register_figures(registry):
    for factory in (curves, confusion, errors, samples, gradcam, ood, summary, box, folder):
        registry.add(factory.__name__, factory, description=factory.__doc__.split("\n")[0])
