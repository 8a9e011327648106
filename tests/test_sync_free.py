"""No host-device synchronization in the online hot path: one training batch through
every built-in augmentation makes no call that would stall a GPU (reading a tensor's value
on the host, data-dependent shapes, a tensor built from host data each batch). Counted on
the CPU with patched methods; on a GPU, benchmarks/gpu_check.py counts real syncs."""

import pytest
import torch

from benchbench.data.batches import BatchSource
from benchbench.plugins.manager import load_components

COMPONENTS = load_components(use_entry_points=False)
AUGMENTATIONS = [(e.name, {}) for e in COMPONENTS.augmentations] + [
    ("color_jitter", {"hue": 0.1}),  # the hue rotation path
]


@pytest.fixture
def sync_counter(monkeypatch):
    calls = []

    def counting(name, original):
        def wrapper(*args, **kwargs):
            calls.append(name)
            return original(*args, **kwargs)

        return wrapper

    for name in ("item", "__bool__", "nonzero", "tolist"):
        monkeypatch.setattr(torch.Tensor, name, counting(name, getattr(torch.Tensor, name)))
    for name in ("tensor", "as_tensor"):
        monkeypatch.setattr(torch, name, counting(f"torch.{name}", getattr(torch, name)))
    return calls


@pytest.mark.parametrize("name, options", AUGMENTATIONS)
def test_an_online_batch_makes_no_host_device_round_trip(name, options, sync_counter):
    entry = COMPONENTS.augmentations.get(name)
    augment = entry.create(options, num_classes=10, input_shape=(3, 16, 16))
    images = torch.randint(0, 256, (64, 3, 16, 16), dtype=torch.uint8)
    labels = torch.randint(0, 10, (64,))
    source = BatchSource(
        images, labels, augment, mode="online", fraction=0.5, seed=0, num_classes=10
    )
    source.batch(torch.arange(32))  # first call: constants are made once per device
    sync_counter.clear()
    out, targets = source.batch(torch.arange(32, 64))
    assert out.shape == (32, 3, 16, 16)
    assert sync_counter == [], f"{name}: {sync_counter}"


@pytest.mark.parametrize("mode", ["offline", "expand"])
@pytest.mark.parametrize("name, options", AUGMENTATIONS)
def test_an_offline_or_expanded_batch_makes_no_host_device_round_trip(
    name, options, mode, sync_counter
):
    entry = COMPONENTS.augmentations.get(name)
    augment = entry.create(options, num_classes=10, input_shape=(3, 16, 16))
    images = torch.randint(0, 256, (64, 3, 16, 16), dtype=torch.uint8)
    labels = torch.randint(0, 10, (64,))
    source = BatchSource(images, labels, augment, mode=mode, fraction=0.5, seed=0, num_classes=10)
    mixed = torch.randperm(len(source), generator=torch.Generator().manual_seed(0))[:32]
    source.batch(mixed)  # first call: constants are made once per device
    sync_counter.clear()
    out, targets = source.batch(mixed.flip(0))
    assert out.shape == (32, 3, 16, 16) and len(targets) == 32
    assert sync_counter == [], f"{name} ({mode}): {sync_counter}"
    originals = mixed[mixed < 64].flip(0)
    assert torch.equal(out[: len(originals)], images[originals].float() / 255)  # untouched
