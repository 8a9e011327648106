"""Where a run's images live while it trains: on its device, or streamed batch by batch.

The fast path moves every split to the device once. A dataset that does not fit (more
than half the memory free there) stays where its factory put it, usually the
memory-mapped cache (:mod:`benchbench.data.arraycache`), and each batch is read from it
when drawn: the same seeded batches in the same order, so a streamed run computes what a
device-resident one computes, only slower. ``--data-placement`` forces either path.

:class:`Rows` is the lazy split both paths start from: which rows of a base array a
split holds, without copying a pixel until asked.
"""

from __future__ import annotations

import logging
import math
import os

import numpy as np
import torch

status = logging.getLogger("benchbench.status")
FRACTION = 0.5  # of the free memory the images may take on the fast path


class Rows:
    """Rows ``index`` (all when None) of the uint8 image array ``base`` (N, C, H, W), read
    on demand. Indexing returns a real tensor on :attr:`device`, so the training loop
    treats it like the tensor it replaces: ``rows[i]`` for a batch, ``rows[a:b]`` for an
    evaluation chunk, ``len(rows)``, ``rows.shape``."""

    dtype = torch.uint8
    ndim = 4

    def __init__(self, base, index=None, device=None, mapped: bool | None = None):
        self.mapped = isinstance(base, np.memmap) if mapped is None else mapped  # from a file
        self.base = base if isinstance(base, torch.Tensor) else torch.as_tensor(base)
        self.index = None if index is None else torch.as_tensor(index, dtype=torch.long).cpu()
        self.device = torch.device(device or "cpu")

    def __len__(self) -> int:
        return len(self.base) if self.index is None else len(self.index)

    @property
    def shape(self) -> torch.Size:
        return torch.Size((len(self), *self.base.shape[1:]))

    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.numel()  # one byte a value

    def take(self, index) -> Rows:
        """The rows ``index`` of these rows, still unread."""
        index = torch.as_tensor(index, dtype=torch.long).cpu()
        index = index if self.index is None else self.index[index]
        return Rows(self.base, index, self.device, self.mapped)

    def __getitem__(self, key) -> torch.Tensor:
        if isinstance(key, slice):
            rows = self.base[key] if self.index is None else self.base[self.index[key]]
        else:
            key = torch.as_tensor(key).cpu()  # the host must know which rows to read
            rows = self.base[key if self.index is None else self.index[key]]
        return rows.to(self.device, non_blocking=True)

    def split(self, size: int):
        """Chunks of ``size`` rows, read one at a time (bounded memory)."""
        for start in range(0, len(self), size):
            yield self[start : start + size]

    def to(self, device, non_blocking: bool = False) -> Rows:
        """The same rows, delivered on ``device`` when read: nothing moves now."""
        return Rows(self.base, self.index, device, self.mapped)

    def contiguous(self) -> Rows:
        return self

    def materialize(self) -> torch.Tensor:
        """Every row, read into memory on the CPU."""
        if self.index is None:
            return self.base.clone() if self.mapped else self.base
        return self.base[self.index]

    def numpy(self) -> np.ndarray:
        return self.materialize().numpy()


def rows(images) -> Rows:
    """``images`` (a tensor, numpy array, memmap or :class:`Rows`) as :class:`Rows`."""
    return images if isinstance(images, Rows) else Rows(images)


def available_memory(device: torch.device) -> float:
    """Bytes free on ``device``: the CUDA allocator's free memory, or the host's
    available memory (``MemAvailable``); infinite when the platform will not say."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return float(free)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return math.inf


def choose(setting: str, device: torch.device, nbytes: int, mapped: bool) -> str:
    """``device`` or ``stream`` for a run whose splits take ``nbytes``, and say which."""
    free = available_memory(device)
    where = "in memory" if device.type == "cpu" else f"on {device}"
    if setting == "auto":
        setting = "device" if nbytes <= FRACTION * free else "stream"
        why = (
            f"they fit in half the {_size(free)} free"
            if setting == "device"
            else f"more than half the {_size(free)} free {where}"
        )
    else:
        why = f"--data-placement {setting}"
    if setting == "device":
        status.info("data: %s of images held %s (%s)", _size(nbytes), where, why)
    else:
        source = "the memory-mapped cache" if mapped else "host memory"
        status.info(
            "data: %s of images streamed batch by batch from %s (%s): the same batches, "
            "slower than holding them %s",
            _size(nbytes),
            source,
            why,
            where,
        )
    return setting


def _size(nbytes: float) -> str:
    if math.isinf(nbytes):
        return "unlimited memory"
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if nbytes < 1000 or unit == "TB":
            return f"{nbytes:,.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000
    raise AssertionError
