"""Figures like the seed reports', with matplotlib: every function returns a Figure.

``save`` writes PNG and PDF; ``to_base64`` embeds a PNG in an HTML page.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402


def curves(history: list[dict], title: str = "", config: dict | None = None):
    """Loss and accuracy per epoch, train and validation (report 000 Fig. 1, 003 Fig. 3),
    and test where it was evaluated every epoch. ``config``: the run's, to say when its
    validation was the test set (``validate_on = "test"``)."""
    on_test = (config or {}).get("validate_on") == "test"
    epochs = [h["epoch"] for h in history]
    fig, (loss, acc) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    for ax, key, name in ((loss, "loss", "loss"), (acc, "acc", "accuracy")):
        ax.plot(epochs, [h[f"train_{key}"] for h in history], "o-", label="train")
        lines = [("val", "validation (the test set)" if on_test else "validation", "s-")]
        if not on_test:
            lines.append(("test", "test", "^-"))
        for part, label, style in lines:
            values = [h.get(f"{part}_{key}") for h in history]
            if any(v is not None for v in values):
                ax.plot(epochs, [np.nan if v is None else v for v in values], style, label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return fig


def curves_compared(groups: dict[str, list[list[dict]]], title: str = ""):
    """Validation (else training) loss and accuracy per epoch, one line per label: the mean
    over its runs (seeds), with a band of the mean's 95% Student-t interval where an epoch
    has several runs."""
    from scipy import stats

    fig, (loss, acc) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    for label, histories in groups.items():
        for ax, key in ((loss, "loss"), (acc, "acc")):
            by_epoch: dict[int, list[float]] = {}
            has_val = any(h.get(f"val_{key}") is not None for run in histories for h in run)
            column = f"val_{key}" if has_val else f"train_{key}"
            for run in histories:
                for h in run:
                    if h.get(column) is not None:
                        by_epoch.setdefault(h["epoch"], []).append(h[column])
            epochs = sorted(by_epoch)
            mean = np.array([np.mean(by_epoch[e]) for e in epochs])
            half = np.array(  # half the width of the mean's 95% interval, epoch by epoch
                [
                    stats.t.ppf(0.975, len(v) - 1) * np.std(v, ddof=1) / np.sqrt(len(v))
                    if len(v) > 1
                    else 0.0
                    for v in (by_epoch[e] for e in epochs)
                ]
            )
            n = len(histories)
            band = ", mean and 95% interval" if n > 1 else ""
            (line,) = ax.plot(epochs, mean, "o-", label=f"{label} (n={n}{band})")
            if n > 1:
                ax.fill_between(epochs, mean - half, mean + half, color=line.get_color(), alpha=0.2)
    for ax, name in ((loss, "loss"), (acc, "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"validation {name}")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return fig


def confusion(matrix: np.ndarray, classes: list[str], title: str = ""):
    """Row-normalized confusion matrix, true classes down, predictions across (report 000
    Fig. 2)."""
    from sklearn.metrics import ConfusionMatrixDisplay

    matrix = np.asarray(matrix, dtype=float)
    totals = matrix.sum(axis=1, keepdims=True)
    normalized = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    size = max(5, 0.6 * len(classes) + 2)
    fig, ax = plt.subplots(figsize=(size, size), layout="constrained")
    ConfusionMatrixDisplay(normalized, display_labels=classes).plot(
        ax=ax, values_format=".2f", colorbar=False, cmap="Blues", xticks_rotation=45
    )
    ax.set_title(title)
    return fig


def class_errors(classes: list[str], commission, omission, title: str = ""):
    """Per-class commission and omission errors as grouped bars (report 000 Fig. 3)."""
    x = np.arange(len(classes))
    fig, ax = plt.subplots(figsize=(max(6, 0.7 * len(classes) + 2), 4), layout="constrained")
    ax.bar(x - 0.2, np.nan_to_num(commission), 0.4, label="commission")
    ax.bar(x + 0.2, np.nan_to_num(omission), 0.4, label="omission")
    ax.set_xticks(x, classes, rotation=45, ha="right")
    ax.set_ylabel("error")
    ax.set_title(title)
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    return fig


def box(groups: dict[str, list[float]], xlabel: str, ylabel: str, title: str = ""):
    """A box per value over its repeats (report 004 Figs. 1-5), each repeat a dot on it
    (with one or two repeats, the dots are what there is to see)."""
    fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(groups) + 2), 4), layout="constrained")
    ax.boxplot(list(groups.values()), tick_labels=list(groups.keys()))
    for i, values in enumerate(groups.values(), start=1):
        ax.plot([i] * len(values), values, "o", color="C0", alpha=0.7, markersize=5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return fig


def _show_image(ax, image: np.ndarray) -> None:
    image = np.asarray(image)
    if image.shape[0] == 1:
        ax.imshow(image[0], cmap="gray", vmin=0, vmax=255)
    else:
        ax.imshow(image.transpose(1, 2, 0))
    ax.set_xticks([])
    ax.set_yticks([])


def gallery(images, captions: list[str], title: str = "", columns: int = 8, colors=None):
    """A grid of images (uint8 ``(C, H, W)`` each, any sizes) with a caption under each."""
    count = len(images)
    rows = max(1, -(-count // columns))
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(1.6 * columns, 1.8 * rows + 0.6),
        squeeze=False,
        layout="constrained",
    )
    for i, ax in enumerate(axes.flat):
        if i >= count:
            ax.axis("off")
            continue
        _show_image(ax, images[i])
        ax.set_title(captions[i], fontsize=8, color=colors[i] if colors else "black")
    if title:
        fig.suptitle(title)
    return fig


def samples(images, true, predicted, classes: list[str], title: str = "", columns: int = 8):
    """A grid of test images titled "predicted / true" (report 001 Figs. 4-5, 003 Fig. 2)."""
    captions = [f"{classes[p]}\n({classes[t]})" for p, t in zip(predicted, true, strict=True)]
    colors = ["green" if p == t else "red" for p, t in zip(predicted, true, strict=True)]
    heading = f"{title}\npredicted (true)" if title else "predicted (true)"
    return gallery(images, captions, heading, columns, colors)


def heatmaps(images, maps, true, predicted, classes: list[str], title: str = ""):
    """Grad-CAM maps over their images (report 001 Figs. 6-7)."""
    count = len(images)
    fig, axes = plt.subplots(
        2, count, figsize=(1.9 * count + 0.5, 4.2), squeeze=False, layout="constrained"
    )
    for i in range(count):
        _show_image(axes[0, i], images[i])
        axes[0, i].set_title(f"{classes[predicted[i]]}\n({classes[true[i]]})", fontsize=8)
        _show_image(axes[1, i], images[i])
        axes[1, i].imshow(maps[i], cmap="jet", alpha=0.5, vmin=0, vmax=1)
    fig.suptitle(title or "Grad-CAM: predicted (true)")
    return fig


def histogram(inside, outside, threshold: float, title: str = "", bins: int = 50):
    """Per-image mean activations, in- and out-of-distribution, threshold marked (report 001)."""
    fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    edges = np.histogram_bin_edges(np.concatenate([inside, outside]), bins=bins)
    ax.hist(inside, bins=edges, alpha=0.6, label="in distribution")
    ax.hist(outside, bins=edges, alpha=0.6, label="out of distribution")
    ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3g}")
    ax.set_xlabel("mean activation")
    ax.set_ylabel("images")
    ax.set_title(title)
    ax.legend()
    return fig


def study_figures(study) -> list[tuple[str, object]]:
    """A study's optimization history, parameter importances and parallel coordinates
    (Optuna's matplotlib plots), as ``(name, figure)``; a plot the trials cannot support
    yet (importances need two finished trials that differ) is left out."""
    import warnings

    from optuna.visualization import matplotlib as optuna_plots

    out = []
    for name, draw in (
        ("history", optuna_plots.plot_optimization_history),
        ("importances", optuna_plots.plot_param_importances),
        ("parallel", optuna_plots.plot_parallel_coordinate),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna marks these plots experimental
            try:
                axes = draw(study)
            except (ValueError, RuntimeError, ZeroDivisionError):
                continue
        figure = getattr(axes, "figure", None) or axes.flat[0].figure
        figure.set_size_inches(8, 5)
        figure.tight_layout()
        out.append((name, figure))
    return out


def performance_profiles(profile, title: str = ""):
    """AlgoPerf's performance profiles: for each algorithm, the fraction of workloads it
    trains to target within τ times the fastest algorithm's time, τ from 1 to the
    profile's ``tau_max`` (a :class:`benchbench.analysis.profile.Profile`)."""
    tau = np.linspace(1.0, profile.tau_max, 601)
    rho = profile.rho(tau)
    scores = profile.scores()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    for j, algorithm in enumerate(profile.algorithms):
        ax.step(tau, rho[j], where="post", label=f"{algorithm} ({scores[j]:.3f})")
    ax.set_xlim(1.0, profile.tau_max)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("τ: time to target over the fastest algorithm's")
    ax.set_ylabel(f"fraction of the {len(profile.workloads)} workloads")
    ax.grid(alpha=0.3)
    ax.legend(title="algorithm (score)")
    ax.set_title(title or "Performance profiles")
    return fig


def save(fig, stem: Path, formats=("png", "pdf")) -> list[Path]:
    """Write ``stem.png`` and ``stem.pdf`` (or ``formats``); returns the paths. The format
    is appended, never substituted: a stem with a dot (``curves-lr=0.01``) keeps it. A
    figure given as Markdown text (a layer table) is written as ``stem.md``."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(fig, str):
        path = stem.with_name(f"{stem.name}.md")
        path.write_text(fig + "\n")
        return [path]
    paths = []
    for fmt in formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        fig.savefig(path, dpi=150 if fmt == "png" else None)
        paths.append(path)
    plt.close(fig)
    return paths


def to_base64(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()
