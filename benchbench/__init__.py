"""benchbench: seeded, timed benchmarks of image-classification training recipes.

Importing this package costs nothing: it holds the plugin marker and the version; the
data API (``load_runs``, ``load_history``) is imported on first use.
"""

import pluggy

__version__ = "0.1.0"
DISTRIBUTION = "benchbench-harness"
"""The name to ``pip install`` and to depend on (``benchbench`` on the package index is an
unrelated project); the import package, the entry-point group and ``bench`` keep theirs."""

hookimpl = pluggy.HookimplMarker("benchbench")
"""Marker for plugin hook implementations: ``@hookimpl def benchbench_register_...``."""

__all__ = ["DISTRIBUTION", "Metric", "__version__", "hookimpl", "load_history", "load_runs"]


def __getattr__(name: str):
    if name == "Metric":  # for plugins' benchbench_register_metrics
        from benchbench.metrics import Metric

        return Metric
    if name in ("load_runs", "load_history"):
        from benchbench import api

        return getattr(api, name)
    raise AttributeError(f"module 'benchbench' has no attribute {name!r}")
