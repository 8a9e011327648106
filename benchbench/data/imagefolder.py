"""Image folders (``CLASS/IMAGE`` trees) decoded once into uint8 arrays, cached on disk
and memory-mapped from there.

The cache key is the folder's file list with sizes and modification times plus the
decoding options, so editing, adding or removing any image invalidates it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from benchbench.data import arraycache
from benchbench.data.arraycache import cache_dir
from benchbench.errors import BenchError

log = logging.getLogger(__name__)
status = logging.getLogger("benchbench.status")  # what is happening now: `bench` shows it
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm"}
CACHE_FORMAT = 2  # the key's format: 2 = raw memory-mapped folders
DECODE_CHUNK = 512  # images decoded (and held) at a time


def scan(root: Path) -> tuple[list[str], list[tuple[str, int, int, int]]]:
    """Class names and ``(relative path, class index, size, mtime_ns)`` for every image.

    A class folder without images is left out (with a warning), as is a link that leads
    back into the data folder itself (a ``.`` link would make a class of the classes).
    """
    try:
        here = root.resolve(strict=True)
        candidates = sorted(
            p.name for p in os.scandir(root) if p.is_dir() and not p.name.startswith(".")
        )
        classes, files = [], []
        for name in candidates:
            folder = root / name
            target = folder.resolve(strict=True)
            if target == here or here.is_relative_to(target):
                log.warning("skipping %s: it links back to the data folder itself", folder)
                continue
            with os.scandir(folder) as it:
                entries = sorted((e for e in it if e.is_file()), key=lambda e: e.name)
            images = [e for e in entries if Path(e.name).suffix.lower() in IMAGE_SUFFIXES]
            if not images:
                log.warning("skipping class folder %s: it holds no images", folder)
                continue
            index = len(classes)
            classes.append(name)
            for e in images:
                st = e.stat()
                files.append((f"{name}/{e.name}", index, st.st_size, st.st_mtime_ns))
    except (OSError, RuntimeError) as exc:  # link loops, vanished files, permissions
        raise BenchError(
            f"Cannot read the image folder {root}: {exc}. Fix or remove that entry (a link "
            "that loops, or a file that cannot be read) and run again."
        ) from None
    return classes, files


def _open(path: Path, mode: str, size: tuple[int, int] | None, keep) -> tuple:
    """``(array or None, original (h, w) or None, error or None)`` for one file.

    ``keep(h, w)`` says whether an image of that original size is wanted; an unwanted one
    is not decoded further. ``size`` resizes what is kept.
    """
    from PIL import Image

    try:
        with Image.open(path) as im:
            original = (im.size[1], im.size[0])
            if keep is not None and not keep(*original):
                return None, original, None
            im = _as_8_bit(im).convert(mode)
            if size is not None and im.size != (size[1], size[0]):
                im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            array = np.asarray(im, dtype=np.uint8)
    except Exception as exc:  # corrupt, truncated, not an image
        return None, None, f"{path}: {exc}"
    return (array[None] if array.ndim == 2 else array.transpose(2, 0, 1)), original, None


def _as_8_bit(im):
    """16- and 32-bit greyscale images (``I;16``, ``I``) scaled to 8 bits: ``convert`` would
    clip every value above 255 to white."""
    if im.mode not in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        return im
    from PIL import Image

    values = np.asarray(im).astype(np.float64)
    top = 65535.0 if im.mode.startswith("I;16") or values.max(initial=0) <= 65535 else None
    top = top or float(values.max(initial=1))
    return Image.fromarray(np.clip(values / top * 255 + 0.5, 0, 255).astype(np.uint8), "L")


def size_filter(keep_size: tuple[int, int] | None, min_size: int | None):
    """A ``keep(h, w)`` predicate for :func:`load`, or None when everything is kept."""
    if keep_size is None and min_size is None:
        return None

    def keep(h: int, w: int) -> bool:
        if keep_size is not None and (h, w) != tuple(keep_size):
            return False
        return min_size is None or min(h, w) >= min_size

    return keep


def survey(root: Path, keep=None) -> tuple[list[str], list[dict]]:
    """Every file's class, original size, whether it is kept, and its error if unreadable.

    For ``bench data inspect``: decodes everything (that is how corrupt files show up) but
    keeps no pixels.
    """
    classes, files = _scan_checked(root)

    def probe(f):
        array, original, error = _open(root / f[0], "RGB", None, keep)
        return {
            "path": f[0],
            "class": classes[f[1]],
            "size": original,
            "error": error,
            "kept": array is not None,
        }

    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) + 1)) as pool:
        return classes, list(pool.map(probe, files))


def _scan_checked(root: Path):
    if not root.is_dir():
        raise BenchError(
            f"Image folder {root} does not exist or is not a directory. Pass "
            "--data-dir pointing at a folder of CLASS/IMAGE subfolders."
        )
    classes, files = scan(root)
    if not files:
        raise BenchError(
            f"No images found under {root}: expected {root}/CLASS/IMAGE.jpg files "
            f"(suffixes {', '.join(sorted(IMAGE_SUFFIXES))})."
        )
    return classes, files


def load(
    root: Path,
    *,
    mode: str = "RGB",
    size: tuple[int, int] | None = None,
    keep_size: tuple[int, int] | None = None,
    min_size: int | None = None,
    use_cache: bool = True,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``(classes, images uint8 (N, C, H, W), labels)`` for the tree under ``root``.

    ``keep_size`` keeps only images of exactly that original (height, width); ``min_size``
    drops images whose shorter side is below it (report 002's outliers). ``size`` resizes.
    The images come memory-mapped from the cache (:mod:`benchbench.data.arraycache`),
    decoded chunk by chunk into it the first time; ``use_cache=False`` decodes into memory.
    """
    classes, files = _scan_checked(root)
    options = (mode, size, keep_size, min_size)
    key = hashlib.sha256(
        repr((CACHE_FORMAT, str(root.resolve()), options, files)).encode()
    ).hexdigest()[:24]
    target = cache_dir() / "imagefolder" / key

    def decode():
        if use_cache:
            status.info("decoding %d images under %s (cached for next time)", len(files), root)
        return _decode_into(target, root, classes, files, mode, size, keep_size, min_size)

    if use_cache:
        return classes, *arraycache.cached(target, decode)
    target = Path(tempfile.mkdtemp(prefix="benchbench-decode-")) / key
    try:
        images, labels = decode()
        return classes, np.array(images), labels  # into memory: the folder is removed below
    finally:
        shutil.rmtree(target.parent, ignore_errors=True)


def _decode_into(target: Path, root: Path, classes, files, mode, size, keep_size, min_size):
    """Decode ``files`` chunk by chunk into the cache folder ``target``: memory holds one
    chunk of images at a time, whatever the folder's size."""
    keep = size_filter(keep_size, min_size)
    excluded: dict[str, int] = {}
    workers = min(8, (os.cpu_count() or 1) + 1)
    with arraycache.Writer(target) as writer, ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, len(files), DECODE_CHUNK):
            chunk = files[start : start + DECODE_CHUNK]
            decoded = pool.map(lambda f: _open(root / f[0], mode, size, keep), chunk)
            for (array, _, error), f in zip(decoded, chunk, strict=True):
                if error:
                    log.warning("skipping unreadable image %s", error)
                elif array is None:
                    excluded[classes[f[1]]] = excluded.get(classes[f[1]], 0) + 1
                else:
                    writer.add(array, f[1])
        if excluded:
            counts = ", ".join(f"{name} {n}" for name, n in excluded.items())
            log.warning(
                "excluded %d images of other sizes under %s (%s)",
                sum(excluded.values()),
                root,
                counts,
            )
        if not writer.shapes:
            raise BenchError(
                f"None of the {len(files)} images under {root} could be decoded "
                "and kept. Check the folder, or the keep_size/min_size options."
            )
        if len(writer.shapes) > 1:
            common = writer.shapes.most_common(3)
            listing = ", ".join(f"{s[1]}x{s[2]} ({n} images)" for s, n in common)
            raise BenchError(
                f"Images under {root} have {len(writer.shapes)} different sizes ({listing}, "
                "...). Resize them on load with --set dataset.size=HxW, or keep one size with "
                "--set dataset.keep_size=HxW (`bench data inspect` shows the sizes)."
            )
        return writer.finish()
