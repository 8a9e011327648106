"""Out-of-distribution detection by mean activation (report 001, Table 2).

For a layer, every image gets one number: the mean of that layer's activations. Images
whose number falls on the far side of a threshold are called out of distribution: below
it, as report 001 does (``ood_when="below"``), above it, or whichever side separates better
(``"either"``). The threshold (and, under ``either``, the side) is chosen on one half of the in- and
out-of-distribution images and scored on the other half, so the accuracy is not
flattered by fitting the threshold to the images it is judged on. Accuracy is balanced:
the mean of the in-distribution and out-of-distribution hit rates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import torch

from benchbench.errors import BenchError

ACTIVATIONS = (
    torch.nn.ReLU,
    torch.nn.ReLU6,
    torch.nn.LeakyReLU,
    torch.nn.GELU,
    torch.nn.SiLU,
    torch.nn.Hardswish,
    torch.nn.ELU,
)


@dataclass
class Detection:
    layer: str
    threshold: float
    ood_below: bool  # True: an image is OOD when its mean activation is below the threshold
    accuracy: float  # balanced accuracy on the held-out half
    inside_mean: float
    outside_mean: float


def default_layers(model: torch.nn.Module) -> list[str]:
    """Every activation module, in definition order (report 001 probed its ReLUs)."""
    return [name for name, m in model.named_modules() if isinstance(m, ACTIVATIONS) and name]


def mean_activations(model: torch.nn.Module, inputs, layers: list[str]) -> dict[str, np.ndarray]:
    """Per-image mean activation of each layer in ``layers`` over ``inputs``.

    ``inputs`` yields ready model inputs batch by batch. A module that runs several times
    in one forward pass gets one entry per call: ``name``, ``name#2``, ...
    """
    modules = dict(model.named_modules())
    missing = [name for name in layers if name not in modules]
    if missing:
        raise BenchError(
            f"No layer {missing[0]!r} in this model. Layers with activations: "
            f"{', '.join(default_layers(model)) or 'none'}."
        )
    values: dict[str, list] = {}
    calls: dict[str, int] = {}

    def hook(name):
        def record(module, args, output):
            calls[name] = calls.get(name, 0) + 1
            key = name if calls[name] == 1 else f"{name}#{calls[name]}"
            values.setdefault(key, []).append(output.detach().flatten(1).mean(1).float().cpu())

        return record

    handles = [modules[name].register_forward_hook(hook(name)) for name in layers]
    try:
        model.eval()
        with torch.no_grad():
            for batch in inputs:
                calls.clear()
                model(batch)
    finally:
        for handle in handles:
            handle.remove()
    return {k: torch.cat(v).numpy() for k, v in values.items()}


def halves(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return order[: n // 2], order[n // 2 :]


def _balanced(inside, outside, threshold: float, ood_below: bool) -> float:
    if ood_below:
        return ((inside >= threshold).mean() + (outside < threshold).mean()) / 2
    return ((inside <= threshold).mean() + (outside > threshold).mean()) / 2


SIDES = {"below": (True,), "above": (False,), "either": (True, False)}


def choose_threshold(
    inside: np.ndarray, outside: np.ndarray, ood_when: str = "either"
) -> tuple[float, bool]:
    """The threshold (and side, of those ``ood_when`` allows) that separates ``inside``
    from ``outside`` best."""
    if ood_when not in SIDES:
        raise BenchError(f"ood_when {ood_when!r}: choose one of {', '.join(SIDES)}.")
    values = np.unique(np.concatenate([inside, outside]))
    candidates = np.concatenate(
        [values[:1] - 1e-6, (values[1:] + values[:-1]) / 2, values[-1:] + 1e-6]
    )
    best = (-1.0, 0.0, True)
    for ood_below in SIDES[ood_when]:
        scores = [_balanced(inside, outside, t, ood_below) for t in candidates]
        i = int(np.argmax(scores))
        if scores[i] > best[0]:
            best = (scores[i], float(candidates[i]), ood_below)
    return best[1], best[2]


def detect(
    inside: dict[str, np.ndarray],
    outside: dict[str, np.ndarray],
    seed: int = 0,
    ood_when: str = "either",
) -> list[Detection]:
    """One detection result per layer: threshold from one half, accuracy on the other."""
    results = []
    for layer in inside:
        if layer not in outside:
            continue
        a, b = inside[layer], outside[layer]
        fit_a, test_a = halves(len(a), seed)
        fit_b, test_b = halves(len(b), seed + 1)
        threshold, ood_below = choose_threshold(a[fit_a], b[fit_b], ood_when)
        accuracy = _balanced(a[test_a], b[test_b], threshold, ood_below)
        results.append(
            Detection(
                layer, threshold, ood_below, float(accuracy), float(a.mean()), float(b.mean())
            )
        )
    return results


@dataclass
class Probe:
    """A stored run probed: detection per layer, each image's mean activation per layer,
    and the images themselves (uint8, the run's input shape)."""

    results: list[Detection]
    inside: dict[str, np.ndarray]
    outside: dict[str, np.ndarray]
    inside_images: torch.Tensor
    outside_images: torch.Tensor

    def samples(self, layer: str | None = None, count: int = 8, seed: int = 0):
        """``count`` images of each set and whether ``layer`` (default: the last probed)
        flags them: ``(images, true, detected)`` with 0 for in-distribution and 1 for
        OOD, in-distribution images first (report 001, Fig. 9)."""
        result = next((r for r in self.results if r.layer == layer), self.results[-1])
        rng = np.random.default_rng(seed)
        values, images = [], []
        for mine, pictures in (
            (self.inside, self.inside_images),
            (self.outside, self.outside_images),
        ):
            pick = rng.choice(len(pictures), min(count, len(pictures)), replace=False)
            values.append(mine[result.layer][pick])
            images.append(pictures[torch.from_numpy(pick)])
        true = [0] * len(values[0]) + [1] * len(values[1])
        values = np.concatenate(values)
        flagged = values < result.threshold if result.ood_below else values > result.threshold
        return torch.cat(images).numpy(), true, [int(f) for f in flagged]


PROBED: dict[tuple, tuple] = {}  # a process's last probes: report 001 reads one four ways
PROBES_KEPT = 2


def probe_run(
    store,
    record,
    components,
    *,
    dataset: str = "fake",
    data_dir=None,
    options: dict | None = None,
    layers: list[str] | None = None,
    device: str = "cpu",
    ood_when: str = "either",
    loaded=None,
) -> Probe:
    """Detection per layer for a stored run: its test images against ``dataset``'s.

    The OOD images are resized and their channels matched to the run's inputs; ``fake``
    defaults to noise-like images. ``loaded``: the run already reloaded
    (:func:`benchbench.analysis.reload.reload`), so it is not reloaded again. The
    activations do not depend on ``ood_when``: a run probed again in the same process
    with the same images and layers (a table, then its figures) is not run again.
    """
    from benchbench.analysis.reload import reload

    key = (
        str(store.root),
        record.id,
        record.finished,  # a run trained again (--force) keeps its id, not its weights
        dataset,
        str(data_dir),
        json.dumps(options or {}, sort_keys=True, default=str),
        tuple(layers or ()),
        device,
    )
    if key not in PROBED:
        loaded = loaded or reload(store, record, components, device)
        inside = loaded.splits.test[0]
        outside = _outside_images(components, dataset, data_dir, options or {}, loaded)
        names = layers or default_layers(loaded.model)
        if not names:
            raise BenchError("This model has no activation layers; name some with --layers.")

        def batches(images):
            for start in range(0, len(images), 256):
                yield loaded.batcher(images[start : start + 256].to(loaded.device))

        a = mean_activations(loaded.model, batches(inside), names)
        b = mean_activations(loaded.model, batches(outside), names)
        while len(PROBED) >= PROBES_KEPT:
            PROBED.pop(next(iter(PROBED)))
        PROBED[key] = (a, b, inside.cpu(), outside.cpu())
    a, b, inside, outside = PROBED[key]
    return Probe(detect(a, b, ood_when=ood_when), a, b, inside, outside)


def _outside_images(components, name: str, data_dir, options: dict, loaded) -> torch.Tensor:
    import torch.nn.functional as F

    from benchbench.data.images import load_dataset
    from benchbench.data.streaming import rows

    channels, height, width = loaded.splits.input_shape
    if name == "fake":  # noise-like images of the right shape unless told otherwise
        options = {
            "size": height,
            "channels": channels,
            "noise": 0.5,
            "classes": 1,
            "train_size": 1,
            "test_size": max(2, len(loaded.splits.test[0])),
            "seed": 12345,
            **options,
        }
    images = rows(load_dataset(components.datasets, name, options, data_dir).test_images)
    images = images.materialize()
    if not len(images):
        raise BenchError(f"The OOD dataset {name!r} has no test images.")
    if images.shape[1] != channels:
        images = images.float().mean(1, keepdim=True).expand(-1, channels, -1, -1)
    if tuple(images.shape[2:]) != (height, width):
        images = F.interpolate(
            images.float(), size=(height, width), mode="bilinear", align_corners=False
        )
    return images.round().clamp(0, 255).to(torch.uint8)
