"""Grad-CAM heat maps (report 001, Figs. 6-7), computed with captum."""

from __future__ import annotations

import torch

from benchbench.errors import BenchError


def last_conv(model: torch.nn.Module) -> str:
    """The name of the model's last Conv2d: Grad-CAM's usual layer."""
    names = [name for name, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)]
    if not names:
        raise BenchError("Grad-CAM needs a convolution layer; this model has none.")
    return names[-1]


def heatmaps(
    model: torch.nn.Module, inputs: torch.Tensor, targets: torch.Tensor, layer: str | None = None
) -> torch.Tensor:
    """Maps ``(N, H, W)`` in [0, 1] of where ``layer`` saw evidence for ``targets``."""
    from captum.attr import LayerAttribution
    from captum.attr import LayerGradCam

    modules = dict(model.named_modules())
    name = layer or last_conv(model)
    if name not in modules:
        raise BenchError(
            f"No layer {name!r} in this model; the last convolution is {last_conv(model)!r}."
        )
    model.eval()
    cam = LayerGradCam(model, modules[name])
    attributions = cam.attribute(inputs, target=targets, relu_attributions=True)
    maps = LayerAttribution.interpolate(
        attributions, tuple(inputs.shape[-2:]), interpolate_mode="bilinear"
    )[:, 0].detach()
    peak = maps.flatten(1).amax(1).clamp_min(1e-12).view(-1, 1, 1)
    return (maps / peak).clamp(0, 1).cpu()
