"""Model summaries: one row per layer with its output shape and parameters (report 002)."""

from __future__ import annotations

import torch


def layer_table(model: torch.nn.Module, input_shape: tuple[int, int, int]) -> list[dict]:
    """Rows ``layer, type, output shape, parameters, trainable`` from one dry forward pass.

    A row per module that holds parameters itself or has no children (ReLU, pooling...),
    in the order they run; the pass uses two blank images in eval mode.
    """
    rows: list[dict] = []
    hooks = []
    for name, module in model.named_modules():
        own = list(module.parameters(recurse=False))
        if name and (own or not list(module.children())):

            def record(mod, inputs, output, name=name, own=own):
                out = output[0] if isinstance(output, (tuple, list)) else output
                shape = tuple(out.shape) if isinstance(out, torch.Tensor) else ()
                rows.append(
                    {
                        "layer": name,
                        "type": type(mod).__name__,
                        "output_shape": [-1, *shape[1:]],
                        "parameters": sum(p.numel() for p in own),
                        "trainable": sum(p.numel() for p in own if p.requires_grad),
                    }
                )

            hooks.append(module.register_forward_hook(record))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(2, *input_shape))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return rows


def totals(model: torch.nn.Module, input_shape: tuple[int, int, int]) -> dict:
    """Parameter counts and sizes, like the summaries in report 002."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    bytes_per = next((p.element_size() for p in model.parameters()), 4)
    channels, height, width = input_shape
    return {
        "total_parameters": total,
        "trainable_parameters": trainable,
        "non_trainable_parameters": total - trainable,
        "parameters_mb": total * bytes_per / 2**20,
        "input_mb_per_image": channels * height * width * 4 / 2**20,
    }
