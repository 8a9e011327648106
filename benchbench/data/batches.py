"""Training batches: seeded order, online augmentation, or offline copies derived on the fly.

Online (the default), every batch goes through the augmentation pipeline afresh.
Offline, the training set is the originals plus *copies*, as if augmented once up
front: a copy is only its source index, a fixed seed (and a partner index for mixing
augmentations), so an 8x expansion costs a few integers per copy, never 8x the pixels.
A copy is re-derived from its source whenever it is drawn and comes out identical every
time. Copies are made from the training split only: an original and its copies can
never straddle the train/validation split.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from benchbench.data.augment import SampleRandom
from benchbench.data.augment import batch_random
from benchbench.data.augment import soft_targets


@dataclass
class Copies:
    """Offline copies: parallel int64 tensors, one entry per copy."""

    source: torch.Tensor  # index of the original in the training split
    flips: torch.Tensor  # bit 0: vertical flip, bit 1: horizontal flip (expand mode)
    augmented: torch.Tensor  # bool: whether the augmentation pipeline applies
    seed: torch.Tensor  # the copy's fixed seed
    partner: torch.Tensor  # the original it mixes with (cutmix, mixup)

    def __len__(self) -> int:
        return len(self.source)

    def to(self, device: torch.device) -> Copies:
        return Copies(
            *(
                t.to(device)
                for t in (self.source, self.flips, self.augmented, self.seed, self.partner)
            )
        )


def plan(mode: str, n: int, fraction: float, seed: int) -> Copies:
    """The copies of ``mode`` for ``n`` training originals, fixed by ``seed``.

    ``offline``: one augmented copy of a random ``fraction`` of the originals (report 004:
    50%, appended). ``expand``: report 002's 8x: the vertical, horizontal and double flips
    of every original, plus one augmented copy of each original and of each flip.
    """
    generator = torch.Generator().manual_seed(seed)
    if mode == "offline":
        source = torch.randperm(n, generator=generator)[: max(1, round(fraction * n))]
        source = source.sort().values
        flips = torch.zeros_like(source)
        augmented = torch.ones_like(source, dtype=torch.bool)
    elif mode == "expand":
        everyone = torch.arange(n)
        source = torch.cat([everyone.repeat(3), everyone.repeat(4)])
        flips = torch.cat(
            [torch.arange(1, 4).repeat_interleave(n), torch.arange(0, 4).repeat_interleave(n)]
        )
        augmented = torch.cat(
            [torch.zeros(3 * n, dtype=torch.bool), torch.ones(4 * n, dtype=torch.bool)]
        )
    else:
        raise ValueError(f"no copies in {mode!r} mode")
    m = len(source)
    seeds = torch.randint(0, 1 << 31, (m,), generator=generator)
    partner = torch.randint(0, n, (m,), generator=generator)
    return Copies(source, flips, augmented, seeds, partner)


def _with_originals(copies: Copies, n: int) -> Copies:
    """``copies`` preceded by ``n`` rows for the originals, indexed as training items are."""
    device = copies.source.device
    zeros = torch.zeros(n, dtype=torch.long, device=device)
    return Copies(
        torch.cat([torch.arange(n, device=device), copies.source]),
        torch.cat([zeros, copies.flips]),
        torch.cat([zeros.bool(), copies.augmented]),
        torch.cat([zeros, copies.seed]),
        torch.cat([zeros, copies.partner]),
    )


class BatchSource:
    """The training batches of one run, as float images in [0, 1] and targets."""

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        augment,
        *,
        mode: str,
        fraction: float,
        seed: int,
        num_classes: int,
    ):
        self.images, self.labels, self.augment = images, labels, augment
        self.mode, self.num_classes = mode, num_classes
        self.device = images.device
        self.copies = (
            plan(mode, len(images), fraction, seed).to(self.device) if mode != "online" else None
        )
        # originals and copies in one table (an original: itself, unflipped, unaugmented)
        self.table = None if self.copies is None else _with_originals(self.copies, len(images))
        self.generator = torch.Generator(self.device).manual_seed(seed + 1)

    def __len__(self) -> int:
        """Training items per epoch: originals plus copies."""
        return len(self.images) + (len(self.copies) if self.copies is not None else 0)

    def batches(
        self, batch_size: int, order_generator: torch.Generator, start: int = 0
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch of ``(images, targets)`` batches in a seeded random order, from batch
        ``start`` on (a run resumed mid-epoch). The order is drawn at once, whatever is
        taken of it.

        A last batch of a single image is dropped: batch norm cannot train on it.
        """
        order = torch.randperm(len(self), generator=order_generator).to(self.device)
        return self._drawn(order, batch_size, start)

    def _drawn(self, order: torch.Tensor, batch_size: int, start: int):
        total = len(order)
        for first in range(start * batch_size, total, batch_size):
            index = order[first : first + batch_size]
            if len(index) < 2 <= total:
                continue
            yield self.batch(index)

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The images and targets of training items ``index`` (originals below
        ``len(images)``, copies above), originals first. No step depends on the values in
        ``index`` on the host: every shape is the batch's, so a GPU never waits."""
        if self.copies is None:
            images = self.images[index].float().div_(255)
            return self.augment(
                images, self.labels[index], batch_random(images, self.labels[index], self.generator)
            )
        n = len(self.images)
        # originals first, each part in drawing order (a stable sort of a 0/1 key)
        index = index[torch.argsort((index >= n).to(torch.uint8), stable=True)]
        return self.derive(index)

    def derive(self, items: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Training items ``items`` rebuilt: originals as they are, copies from their
        sources, flipped and augmented with their fixed seeds. The whole batch goes through
        the pipeline and ``torch.where`` keeps what each item is, so shapes never depend
        on how many copies were drawn (each sample's randomness is its own seed's alone)."""
        t = self.table
        source = t.source[items]
        images = self.images[source].float().div_(255)
        targets = self.labels[source]
        flips = t.flips[items]
        images = torch.where((flips & 1).bool().view(-1, 1, 1, 1), images.flip(-2), images)
        images = torch.where((flips & 2).bool().view(-1, 1, 1, 1), images.flip(-1), images)
        partner = t.partner[items]
        rng = SampleRandom(
            t.seed[items],
            partners=lambda: (self.images[partner].float().div_(255), self.labels[partner]),
        )
        new_images, new_targets = self.augment(images, targets, rng)
        augmented = t.augmented[items]
        images = torch.where(augmented.view(-1, 1, 1, 1), new_images.to(images.dtype), images)
        if new_targets.ndim == 2:  # mixing augmentations give class probabilities
            targets = soft_targets(targets, self.num_classes)
            return images, torch.where(augmented.view(-1, 1), new_targets, targets)
        return images, torch.where(augmented, new_targets, targets)
