"""Model summaries through torchinfo: one row per layer with its output shape, parameters
and mult-adds, and the totals with memory estimates (the Keras-style summaries of report
002)."""

from __future__ import annotations

import torch


def _summary(model: torch.nn.Module, input_shape: tuple[int, int, int]):
    import torchinfo

    was_training = model.training
    try:  # one blank image, in eval mode (no batch-norm statistics change)
        return torchinfo.summary(
            model.eval(), input_size=(1, *input_shape), verbose=0, device="cpu", depth=100
        )
    finally:
        model.train(was_training)


def _path(layer) -> str:
    """``features.0``: a layer's dotted name from the root (the root itself has none)."""
    names = []
    while layer.parent_info is not None:
        names.append(layer.var_name)
        layer = layer.parent_info
    return ".".join(reversed(names))


def layer_table(model: torch.nn.Module, input_shape: tuple[int, int, int]) -> list[dict]:
    """Rows ``layer, type, output shape, parameters, trainable, mult_adds``, in the order
    the layers run: every layer without children, and any layer with parameters of its own."""
    rows = []
    for layer in _summary(model, input_shape).summary_list:
        own = layer.leftover_params()
        if layer.parent_info is None or not (layer.is_leaf_layer or own):
            continue
        trainable = layer.leftover_trainable_params() if not layer.is_leaf_layer else None
        rows.append(
            {
                "layer": _path(layer),
                "type": layer.class_name,
                "output_shape": [-1, *layer.output_size[1:]],
                "parameters": own if not layer.is_leaf_layer else layer.num_params,
                "trainable": trainable if trainable is not None else layer.trainable_params,
                "mult_adds": layer.macs if layer.is_leaf_layer else 0,
            }
        )
    return rows


def totals(model: torch.nn.Module, input_shape: tuple[int, int, int]) -> dict:
    """Parameter counts, mult-adds per image and torchinfo's memory estimates."""
    stats = _summary(model, input_shape)
    total, trainable = stats.total_params, stats.trainable_params
    return {
        "total_parameters": total,
        "trainable_parameters": trainable,
        "non_trainable_parameters": total - trainable,
        "mult_adds_per_image": stats.total_mult_adds,
        "parameters_mb": stats.total_param_bytes / 2**20,
        "forward_backward_mb_per_image": stats.total_output_bytes / 2**20,
        "input_mb_per_image": stats.total_input / 2**20,
    }
