"""A stored run brought back to life: its model with the final weights, and its data."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from benchbench.config import RunConfig
from benchbench.results.store import RunRecord
from benchbench.results.store import Store


@dataclass
class Reloaded:
    config: RunConfig
    model: torch.nn.Module
    splits: object  # benchbench.training.loop.Splits, on the CPU
    batcher: object  # benchbench.training.loop.Batcher: uint8 images -> normalized inputs
    device: torch.device


def reload(store: Store, record: RunRecord, components, device: str = "cpu") -> Reloaded:
    """Rebuild ``record``'s model from its config and stored weights, and reload its data.

    The data is loaded again through its plugin (``--data-dir`` must still point at it);
    the validation split and the normalization come out exactly as in training.
    """
    from benchbench.data.normalize import statistics
    from benchbench.training import device as devices
    from benchbench.training.loop import Batcher
    from benchbench.training.loop import build_model
    from benchbench.training.loop import prepare

    weights = store.weights(record)
    config = record.run_config
    target = devices.resolve(device)
    splits = prepare(config, components, lazy=True).materialize(("test",))  # train: statistics
    model = build_model(config, components, len(splits.classes), splits.input_shape)
    model.load_state_dict(weights)
    model.to(target).eval()
    mean, std = statistics(config.normalize, splits.train[0])
    return Reloaded(config, model, splits, Batcher(mean, std, target), target)


def predict(run: Reloaded, images: torch.Tensor) -> torch.Tensor:
    """Logits of ``images`` (uint8, any device) under the reloaded model, on the CPU."""
    from benchbench.training.loop import predict as model_predict

    images = images.to(run.device)
    return model_predict(run.model, images, run.batcher).cpu()
