import pytest
import torch

from benchbench import hookimpl
from benchbench.config import RunConfig
from benchbench.data.augment import compose
from benchbench.data.batches import BatchSource
from benchbench.data.batches import plan
from benchbench.errors import BenchError
from benchbench.plugins.builtin import augmentations as augs
from benchbench.plugins.manager import load_components
from benchbench.training.loop import prepare

SHAPE = (1, 6, 6)


def unique_images(n):
    """Image i encodes i in its pixels: every image and every flip of it is distinct."""
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (n, *SHAPE), generator=g, dtype=torch.uint8)


def source(mode, n=40, fraction=0.5, augment=None, seed=0):
    images = unique_images(n)
    labels = torch.arange(n) % 4
    shape = dict(num_classes=4, input_shape=SHAPE)
    augment = augment or compose([augs.shift(**shape, max=0.4), augs.cutmix(**shape)])
    return BatchSource(
        images, labels, augment, mode=mode, fraction=fraction, seed=seed, num_classes=4
    )


def test_offline_appends_one_copy_of_a_fraction_and_expand_is_eightfold():
    assert len(source("online")) == 40
    assert len(source("offline", fraction=0.5)) == 60
    assert len(source("expand")) == 320
    copies = plan("offline", 40, 0.25, seed=0)
    assert len(copies) == 10 and len(set(copies.source.tolist())) == 10


def test_a_copy_is_rederived_identically_whatever_batch_it_lands_in():
    batches = source("offline")
    copies = torch.arange(40, 60)
    alone, alone_targets = batches.batch(copies[:5])
    mixed, mixed_targets = batches.batch(torch.cat([torch.arange(7), copies[:5]]))
    assert torch.equal(mixed[7:], alone)  # originals first, then the copies
    assert torch.equal(mixed_targets[7:], alone_targets)
    again, _ = batches.batch(copies[:5].flip(0))
    assert torch.equal(again.flip(0), alone)
    originals, _ = batches.batch(torch.arange(5))
    assert not torch.equal(alone, originals)


def test_expand_holds_the_exact_flips_of_every_original():
    batches = source("expand", n=10)
    images = batches.images.float() / 255
    vflips, _ = batches.batch(torch.arange(10, 20))
    hflips, _ = batches.batch(torch.arange(20, 30))
    both, _ = batches.batch(torch.arange(30, 40))
    assert torch.equal(vflips, images.flip(-2))
    assert torch.equal(hflips, images.flip(-1))
    assert torch.equal(both, images.flip(-1).flip(-2))


def test_every_training_image_of_an_epoch_comes_from_the_training_split():
    """Report 002's leakage warning: no original or copy of a validation image in training."""
    import types

    from benchbench.data import ImageData

    n = 200
    images, labels = unique_images(n), torch.arange(n) % 4

    def numbered(*, data_dir=None):
        return ImageData(list("abcd"), images, labels, images[:8], labels[:8])

    plugin = types.SimpleNamespace(
        benchbench_register_datasets=hookimpl(lambda registry: registry.add("numbered", numbered))
    )
    components = load_components(use_entry_points=False, extra_plugins=[("n", plugin)])
    config = RunConfig(
        dataset="numbered", val_fraction=0.2, augs=("vflip",), aug_mode="expand"
    ).validated()
    splits = prepare(config, components)
    train_x, val_x = splits.train[0], splits.val[0]
    assert len(val_x) == 40

    identity = augs.hflip(num_classes=4, input_shape=SHAPE, p=0.0)  # copies stay exact
    batches = BatchSource(
        train_x, splits.train[1], identity, mode="expand", fraction=0.5, seed=0, num_classes=4
    )
    seen = torch.cat([x for x, _ in batches.batches(64, torch.Generator().manual_seed(0))])
    assert len(seen) == 8 * len(train_x)

    def variants(x):
        x = x.float() / 255
        return {
            tuple(v.flatten().tolist())
            for image in x
            for v in (image, image.flip(-1), image.flip(-2), image.flip(-1).flip(-2))
        }

    trained = {tuple(v.flatten().tolist()) for v in seen}
    assert trained <= variants(train_x)
    assert not trained & variants(val_x)


def test_offline_training_runs_end_to_end_and_is_deterministic():
    from benchbench.training.loop import train

    components = load_components(use_entry_points=False)
    config = RunConfig(
        arch="resnet_skip",
        arch_options={"widths": "8"},
        augs=("cutmix",),
        aug_mode="offline",
        aug_fraction=0.5,
        epochs=2,
        device="cpu",
    ).validated()
    first, second = train(config, components), train(config, components)
    assert [h["train_loss"] for h in first.history] == [h["train_loss"] for h in second.history]


def test_offline_needs_an_augmentation():
    with pytest.raises(BenchError, match="--aug-mode"):
        RunConfig(aug_mode="offline").validated()
    with pytest.raises(BenchError, match="--aug-fraction"):
        RunConfig(augs=("hflip",), aug_mode="offline", aug_fraction=0).validated()
