"""The built-in executors, registered like a plugin's: each factory imports its module
only when a sweep asks for it (Ray and submitit are optional extras)."""

from __future__ import annotations

import importlib

from benchbench import hookimpl

BUILTIN = {
    "local": ("local:LocalExecutor", "one run after the other"),
    "process": ("process:ProcessExecutor", "parallel worker processes on this machine"),
    "ray": ("ray:RayExecutor", "Ray tasks, local or a cluster"),
    "slurm": ("slurm:SlurmExecutor", "a Slurm job array through submitit"),
}


def _lazy(where: str):
    module, _, cls = where.partition(":")

    def factory():
        return getattr(importlib.import_module(f"benchbench.execution.executors.{module}"), cls)

    return factory


@hookimpl
def benchbench_register_executors(registry):
    for name, (where, about) in BUILTIN.items():
        registry.add(name, _lazy(where), description=about)
