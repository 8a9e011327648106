"""Built-in datasets: digits, fake, imagefolder, cifar10."""

from __future__ import annotations

import pickle
from pathlib import Path

from benchbench import hookimpl
from benchbench.errors import BenchError
from benchbench.settings import parse_size


@hookimpl
def benchbench_register_datasets(registry):
    registry.add(
        "digits",
        digits,
        description="scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 "
        "classes); offline, for a first run and fast tests",
    )
    registry.add(
        "fake",
        fake,
        description="seeded synthetic images of any shape: class "
        "templates plus noise (options size, channels, classes, train_size, ...)",
    )
    registry.add(
        "imagefolder",
        imagefolder,
        description="report 002's fruit folder (or any): --data-dir with train/CLASS/* and "
        "test/CLASS/*, or one CLASS/* tree split by test_fraction; decoded once, cached",
    )
    registry.add(
        "torchvision",
        torchvision_dataset,
        description="a torchvision dataset as torchvision:NAME (bench list datasets --filter "
        "'torchvision:*'; MNIST, FashionMNIST, KMNIST, "
        "QMNIST, CIFAR10, CIFAR100, SVHN, STL10, USPS) through torchvision's own classes and "
        "checksums; --data-dir is its root; downloaded when online (option download)",
        variants=lambda: list(TORCHVISION_DATASETS),
    )
    registry.add(
        "hf",
        hf_dataset,
        description="a Hugging Face dataset as hf:NAME (the Hub, or hf:local with --data-dir "
        "holding a save_to_disk folder); options image_column, label_column, train_split, "
        "test_split, size (HxW) (extra: benchbench-harness[hf])",
    )
    registry.add(
        "cifar10",
        cifar10,
        description="reports 000, 001, 003, 004: torchvision:CIFAR10, its python archive "
        "under --data-dir (or the batches folder itself) or the cache dir; downloaded when "
        "online",
    )


def _split(images, labels, test_fraction: float, seed: int = 0):
    import numpy as np

    from benchbench.data.images import stratified_split
    from benchbench.data.streaming import Rows

    train, test = stratified_split(labels, test_fraction, seed, "dataset.test_fraction")
    if isinstance(images, np.memmap):  # the parts stay views: the cache file is not copied
        images = Rows(images)
        return images.take(train), labels[train], images.take(test), labels[test]
    return images[train], labels[train], images[test], labels[test]


def digits(*, data_dir: Path | None = None, test_fraction: float = 0.2):
    """The 8x8 digits of scikit-learn, scaled to 0..255, with a fixed stratified test split."""
    import numpy as np
    from sklearn.datasets import load_digits

    from benchbench.data import ImageData

    bunch = load_digits()
    images = np.round(bunch.images * (255 / 16)).astype(np.uint8)[:, None]
    labels = bunch.target.astype(np.int64)
    return ImageData([str(c) for c in bunch.target_names], *_split(images, labels, test_fraction))


def fake(
    *,
    data_dir: Path | None = None,
    size: int = 32,
    channels: int = 3,
    classes: int = 10,
    train_size: int = 1000,
    test_size: int = 200,
    noise: float = 0.35,
    seed: int = 0,
):
    """Each class is a random smooth template; samples add Gaussian noise. Learnable, seeded."""
    import torch
    import torch.nn.functional as F

    from benchbench.data import ImageData

    if min(size, channels, classes, train_size) < 1 or test_size < 0:
        raise BenchError("fake dataset: size, channels, classes and train_size must be >= 1.")
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(classes, channels, 4, 4, generator=g)
    templates = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)

    def draw(n):
        labels = torch.arange(n) % classes
        labels = labels[torch.randperm(n, generator=g)]
        images = templates[labels] + noise * torch.randn(n, channels, size, size, generator=g)
        return (images.clamp(0, 1) * 255).round().to(torch.uint8), labels

    return ImageData([f"class{i}" for i in range(classes)], *draw(train_size), *draw(test_size))


def imagefolder(
    *,
    data_dir: Path | None,  # no default: a sweep or run without --data-dir is refused first
    test_fraction: float = 0.2,
    size=None,
    keep_size=None,
    min_size: int | None = None,
    mode: str = "RGB",
    cache: bool = True,
):
    """``data_dir/train/CLASS/*`` + ``data_dir/test/CLASS/*``, or ``data_dir/CLASS/*`` split.

    ``size`` resizes every image (HxW or one number); ``keep_size`` keeps only images of
    that original size and ``min_size`` drops images with a shorter side below it (report
    002's outlier exclusion; ``bench data inspect`` shows the sizes).
    """
    from benchbench.data import ImageData
    from benchbench.data import imagefolder as folder

    if data_dir is None:
        raise BenchError(
            "The imagefolder dataset needs --data-dir DIR, a folder holding "
            "train/CLASS/* and test/CLASS/* (or just CLASS/*)."
        )
    data_dir = Path(data_dir)
    if mode not in ("RGB", "L"):
        raise BenchError(f"imagefolder mode {mode!r}: use RGB or L (grayscale).")
    options = dict(
        mode=mode,
        size=parse_size(size),
        keep_size=parse_size(keep_size),
        min_size=min_size,
        use_cache=bool(cache),
    )
    if (data_dir / "train").is_dir():
        classes, train_x, train_y = folder.load(data_dir / "train", **options)
        if not (data_dir / "test").is_dir():
            raise BenchError(
                f"{data_dir} has train/ but no test/ folder: add one, or point "
                "--data-dir at a CLASS/* tree to split it by test_fraction."
            )
        test_classes, test_x, test_y = folder.load(data_dir / "test", **options)
        if test_classes != classes:
            only_train = sorted(set(classes) - set(test_classes))
            only_test = sorted(set(test_classes) - set(classes))
            differ = "; ".join(
                part
                for part in (
                    f"only train/ has {', '.join(only_train)}" if only_train else "",
                    f"only test/ has {', '.join(only_test)}" if only_test else "",
                )
                if part
            )
            raise BenchError(
                f"{data_dir}: train/ and test/ hold different class folders ({differ}). "
                "Rename the folders so both splits name the same classes."
            )
        return ImageData(classes, train_x, train_y, test_x, test_y)
    classes, images, labels = folder.load(data_dir, **options)
    return ImageData(classes, *_split(images, labels, test_fraction))


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles what the CIFAR-10 python batches hold (dicts, lists, bytes, numpy arrays)
    and nothing else: a crafted file cannot make unpickling call arbitrary code."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _find_cifar10(data_dir: Path | None) -> Path | None:
    """The folder holding ``cifar-10-batches-py``: ``--data-dir``, its parent when it is the
    batches folder itself, else the cache dir's ``cifar10``."""
    from benchbench.data.arraycache import cache_dir

    roots = [data_dir] if data_dir is not None else []
    roots.append(cache_dir() / "cifar10")
    for root in roots:
        if root.name == "cifar-10-batches-py" and (root / "data_batch_1").is_file():
            return root.parent
        if (root / "cifar-10-batches-py" / "data_batch_1").is_file():
            return root
    return None


def cifar10(*, data_dir: Path | None = None, download: bool = True):
    """CIFAR-10: ``torchvision:CIFAR10`` (torchvision's class and checksums) under
    ``--data-dir``, which may also be the ``cifar-10-batches-py`` folder itself, or under
    the cache dir; downloaded when online."""
    from benchbench.data.arraycache import cache_dir

    data_dir = Path(data_dir) if data_dir else None
    root = _find_cifar10(data_dir) or data_dir or cache_dir() / "cifar10"
    return torchvision_dataset(data_dir=root, variant="CIFAR10", download=download)


# torchvision datasets served as arrays, and how each names its train/test parts
TORCHVISION_DATASETS = {
    "MNIST": "train",
    "FashionMNIST": "train",
    "KMNIST": "train",
    "QMNIST": "train",
    "CIFAR10": "train",
    "CIFAR100": "train",
    "SVHN": "split",
    "STL10": "split",
    "USPS": "train",
}


class _SafePickle:
    """What torchvision's dataset modules see as ``pickle``: loads go through the
    restricted CIFAR unpickler, so a crafted file never runs code."""

    def load(self, file, encoding="ASCII", **kwargs):
        return _CifarUnpickler(file, encoding=encoding).load()

    def __getattr__(self, name):
        return getattr(pickle, name)


def torchvision_dataset(
    *, data_dir: Path | None = None, variant: str | None = None, download: bool = True
):
    """A torchvision dataset class's train and test parts as arrays (``torchvision:NAME``)."""
    import contextlib
    import importlib

    import numpy as np
    import torchvision.datasets as datasets

    from benchbench.data import ImageData
    from benchbench.data.arraycache import cache_dir
    from benchbench.errors import did_you_mean

    if variant not in TORCHVISION_DATASETS:
        raise BenchError(
            f"--dataset torchvision:{variant}: not one of the array datasets benchbench "
            f"serves from torchvision.{did_you_mean(str(variant), list(TORCHVISION_DATASETS))} "
            f"Choose from {', '.join(TORCHVISION_DATASETS)}, or use --dataset imagefolder."
        )
    root = Path(data_dir) if data_dir else cache_dir() / "torchvision"
    cls = getattr(datasets, variant)
    module = importlib.import_module(cls.__module__)

    def part(train: bool):
        kind = TORCHVISION_DATASETS[variant]
        which = {"train": train} if kind == "train" else {"split": "train" if train else "test"}
        with contextlib.ExitStack() as stack:
            if hasattr(module, "pickle"):  # CIFAR: never unpickle arbitrary objects
                original = module.pickle
                module.pickle = _SafePickle()
                stack.callback(setattr, module, "pickle", original)
            try:
                return cls(root=str(root), download=bool(download), **which)
            except pickle.UnpicklingError as exc:
                raise BenchError(
                    f"torchvision:{variant} under {root} holds a file that is not what the "
                    f"dataset should hold ({exc}); nothing in it was run."
                ) from None
            except Exception as exc:
                raise BenchError(
                    f"torchvision:{variant} is not under {root} (or fails torchvision's "
                    f"checksum; nothing in its files was run) and could not be downloaded "
                    f"({type(exc).__name__}: {exc}). Put the dataset's files there (as "
                    "torchvision lays them out) and pass --data-dir, run where the download "
                    "works once, or try --dataset digits offline."
                ) from None

    def arrays(data):
        images = np.asarray(data.data)
        if images.ndim == 3:  # (N, H, W): grey
            images = images[:, None]
        elif images.shape[-1] in (1, 3) and images.shape[1] not in (1, 3):  # (N, H, W, C)
            images = images.transpose(0, 3, 1, 2)
        labels = getattr(data, "targets", None)
        if labels is None:
            labels = data.labels
        labels = np.asarray(labels, dtype=np.int64)
        if labels.ndim == 2:  # QMNIST's extended targets: the class is the first column
            labels = labels[:, 0]
        return np.ascontiguousarray(images, dtype=np.uint8), labels

    train, test = part(True), part(False)
    train_x, train_y = arrays(train)
    test_x, test_y = arrays(test)
    classes = list(getattr(train, "classes", None) or [])
    if len(classes) <= int(max(train_y.max(), test_y.max())):
        classes = [str(i) for i in range(int(max(train_y.max(), test_y.max())) + 1)]
    return ImageData([str(c) for c in classes], train_x, train_y, test_x, test_y)


def hf_dataset(
    *,
    data_dir: Path | None = None,
    variant: str | None = None,
    image_column: str | None = None,
    label_column: str = "label",
    train_split: str = "train",
    test_split: str = "test",
    size=None,
):
    """A Hugging Face dataset's train and test splits as arrays: ``hf:NAME`` loads NAME
    from the Hub (``datasets.load_dataset``), ``hf:local`` the ``save_to_disk`` folder at
    ``--data-dir`` (``datasets.load_from_disk``). Images of one size, or ``size=HxW``."""
    try:
        import datasets
    except ImportError:
        raise BenchError(
            "--dataset hf:NAME needs the datasets library: pip install 'benchbench-harness[hf]'."
        ) from None
    import hashlib

    import numpy as np

    from benchbench.data import ImageData
    from benchbench.data import arraycache
    from benchbench.data.arraycache import cache_dir

    if not variant:
        raise BenchError("Name the dataset: --dataset hf:NAME, or hf:local --data-dir DIR.")
    try:
        if variant == "local":
            if data_dir is None:
                raise BenchError("--dataset hf:local needs --data-dir: a save_to_disk folder.")
            loaded = datasets.load_from_disk(str(data_dir))
        else:
            loaded = datasets.load_dataset(variant, cache_dir=str(data_dir) if data_dir else None)
    except BenchError:
        raise
    except Exception as exc:
        raise BenchError(
            f"--dataset hf:{variant}: could not load it ({type(exc).__name__}: {exc}). Offline, "
            "save it once with save_to_disk where the Hub is reachable and use hf:local "
            "--data-dir FOLDER."
        ) from None
    for split in (train_split, test_split):
        if split not in loaded:
            raise BenchError(
                f"hf:{variant} has no split {split!r} (it has {', '.join(loaded)}): set "
                "dataset.train_split / dataset.test_split."
            )
    train = loaded[train_split]
    columns = train.column_names
    image_column = image_column or next((c for c in ("image", "img") if c in columns), None)
    for what, column in (("image_column", image_column), ("label_column", label_column)):
        if column not in columns:
            raise BenchError(
                f"hf:{variant} has no column {column!r} ({', '.join(columns)}): set dataset.{what}."
            )
    shape = parse_size(size, what="dataset size")

    def arrays(part):
        """The part's images decoded once into the array cache (memory-mapped from there, so
        a dataset larger than memory never is in memory), keyed by the part's fingerprint."""
        key = hashlib.sha256(
            repr((part._fingerprint, image_column, label_column, shape)).encode()
        ).hexdigest()[:24]
        target = cache_dir() / "hf" / key
        return arraycache.cached(target, lambda: decode(part, target))

    def decode(part, target):
        labels = np.asarray(part[label_column], dtype=np.int64)
        with arraycache.Writer(target) as writer:
            for i, image in enumerate(part.select_columns([image_column])):
                image = image[image_column]
                image = image.convert("RGB") if image.mode not in ("L", "RGB") else image
                if shape is not None:
                    image = image.resize((shape[1], shape[0]))
                array = np.asarray(image, dtype=np.uint8)
                writer.add(array[None] if array.ndim == 2 else array.transpose(2, 0, 1), labels[i])
            if len(writer.shapes) > 1:
                raise BenchError(
                    f"hf:{variant}'s images come in {len(writer.shapes)} sizes: resize them on "
                    "load with --set dataset.size=HxW."
                )
            return writer.finish()

    train_x, train_y = arrays(train)
    test_x, test_y = arrays(loaded[test_split])
    feature = train.features.get(label_column)
    names = getattr(feature, "names", None)
    count = int(max(train_y.max(), test_y.max())) + 1
    classes = list(names) if names and len(names) >= count else [str(i) for i in range(count)]
    return ImageData(classes, train_x, train_y, test_x, test_y)
