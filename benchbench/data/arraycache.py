"""Decoded images on disk: one raw uint8 file per dataset part, read back memory-mapped.

A dataset is decoded once, image by image, straight into its cache folder, so decoding
never holds more than a chunk of images in memory; reading maps the file instead of
loading it, so a dataset larger than memory opens at once and its pages come from disk
only as batches touch them (:mod:`benchbench.data.streaming`).

A cache folder holds ``images.u8`` (the ``(N, C, H, W)`` pixels, row after row),
``labels.npy`` and ``meta.json`` (format and shape). It appears under its final name only
when complete, and one whose file sizes disagree with its shape is rebuilt, never trusted.
Processes that want the same folder at once (a sweep's workers) decode it once: the others
wait for the first and read what it published (:func:`cached`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
status = logging.getLogger("benchbench.status")  # what is happening now: `bench` shows it
FORMAT = 2


def cache_dir() -> Path:
    """``$BENCH_CACHE_DIR``, else ``~/.cache/benchbench``."""
    root = os.environ.get("BENCH_CACHE_DIR") or Path.home() / ".cache" / "benchbench"
    return Path(root)


def read(folder: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """``(images, labels)`` of a complete cache folder, images memory-mapped
    (copy-on-write: writing to them never reaches the file); None if it is missing or
    damaged."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
        shape = tuple(int(s) for s in meta["shape"])
        labels = np.load(folder / "labels.npy", allow_pickle=False)
        pixels = folder / "images.u8"
        if meta.get("format") != FORMAT or len(labels) != shape[0]:
            raise ValueError("format or length mismatch")
        if pixels.stat().st_size != int(np.prod(shape)):
            raise ValueError(f"{pixels} is {pixels.stat().st_size} bytes, not {np.prod(shape)}")
        if shape[0] == 0:  # an empty file cannot be mapped
            return np.zeros(shape, np.uint8), labels.astype(np.int64)
        images = np.memmap(pixels, dtype=np.uint8, mode="c", shape=shape)
        return images, labels.astype(np.int64)
    except FileNotFoundError:
        return None
    except Exception as exc:
        log.warning("ignoring damaged cache %s (%s): decoding again", folder, exc)
        return None


def cached(
    target: Path, build: Callable[[], tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """The cache folder ``target`` read back, built first by ``build`` (which writes it
    through a :class:`Writer`) if it is missing or damaged. While one process builds it,
    others asking for it wait and then read it, instead of decoding it again."""
    found = read(target)
    if found is not None:
        return found
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_name(f"{target.name}.lock"), "a") as lock:
        try:
            import fcntl
        except ImportError:  # Windows: no lock, at worst two processes decode
            return build()
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            status.info("another process is decoding into %s: waiting for it", target)
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return read(target) or build()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class Writer:
    """Appends images of one shape to a new cache folder; :meth:`finish` publishes it.

    Images of another shape than the first are counted (:attr:`shapes`) but not written:
    the caller decides what a mix of sizes means. Leaving the ``with`` block on an error
    removes the unfinished folder.
    """

    def __init__(self, target: Path):
        self.target = Path(target)
        self.partial = self.target.with_name(f"{self.target.name}.{os.getpid()}.partial")
        shutil.rmtree(self.partial, ignore_errors=True)
        self.partial.mkdir(parents=True)
        self.file = open(self.partial / "images.u8", "wb")
        self.shape: tuple[int, ...] | None = None
        self.shapes: Counter = Counter()
        self.labels: list[int] = []

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is not None or not self.file.closed:
            self.abort()

    def add(self, image: np.ndarray, label: int) -> None:
        """One ``(C, H, W)`` uint8 image and its label."""
        self.shapes[image.shape] += 1
        if self.shape is None:
            self.shape = image.shape
        if image.shape == self.shape:
            self.file.write(np.ascontiguousarray(image, dtype=np.uint8).tobytes())
            self.labels.append(int(label))

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """Publish the folder under its final name and read it back (memory-mapped)."""
        self.file.close()
        shape = (len(self.labels), *(self.shape or (3, 1, 1)))  # an empty part: any shape
        np.save(self.partial / "labels.npy", np.asarray(self.labels, dtype=np.int64))
        (self.partial / "meta.json").write_text(json.dumps({"format": FORMAT, "shape": shape}))
        shutil.rmtree(self.target, ignore_errors=True)  # a damaged one, if any
        try:
            os.replace(self.partial, self.target)
        except OSError:  # another process published the same folder first
            shutil.rmtree(self.partial, ignore_errors=True)
        result = read(self.target)
        if result is None:
            raise OSError(f"cannot read back the cache just written at {self.target}")
        return result

    def abort(self) -> None:
        self.file.close()
        shutil.rmtree(self.partial, ignore_errors=True)
