"""The data layer: datasets in memory, image folders, splits, normalization, augmentation
and device batches.

The names plugin authors use are importable from here without importing torch:
``ImageData`` (what a dataset factory returns), ``SampleRandom`` and ``soft_targets``
(the augmentation contract).
"""

from benchbench.data.images import ImageData

__all__ = ["ImageData", "SampleRandom", "soft_targets"]


def __getattr__(name: str):
    # The augmentation helpers need torch: import them only when a plugin asks.
    if name in ("SampleRandom", "soft_targets"):
        from benchbench.data import augment

        return getattr(augment, name)
    raise AttributeError(f"module 'benchbench.data' has no attribute {name!r}")
