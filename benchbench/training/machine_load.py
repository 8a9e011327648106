"""The machine's load while a run trains, this process's own share of it, and when other
processes crowd the run's cores (its seconds then do not compare with a quiet machine's).

Light: no torch, so that ``bench show`` can mark an epoch without importing it.
"""

from __future__ import annotations

import math
import os
import time


def load_average() -> float | None:
    """The machine's 1-minute load average, or None where the system has none."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _clocks() -> tuple[float, float]:
    """Wall seconds and this process's CPU seconds (every thread's)."""
    return time.monotonic(), time.process_time()


_OWN_CLOCK = list(_clocks())  # when own_load was last asked
_OWN_LOAD = [0.0]  # its answer then


def own_load() -> float:
    """This process's own share of the 1-minute load average, estimated from its CPU time
    (every thread's) the way the kernel averages the load: the share at the last call
    decays over the time since, and the CPU used since is weighted in (from zero at the
    import of benchbench). The runs of a sequential sweep start right after the previous
    run's training, and an epoch's sample follows the run's own earlier epochs: the load
    average still holds this process's own cores, which are not another process's load."""
    wall, cpu = _clocks()
    span, used = wall - _OWN_CLOCK[0], cpu - _OWN_CLOCK[1]
    _OWN_CLOCK[:] = [wall, cpu]
    if span > 0:
        decay = math.exp(-span / 60)
        _OWN_LOAD[0] = _OWN_LOAD[0] * decay + used / span * (1 - decay)
    return round(_OWN_LOAD[0], 2)


def crowded(load: float | None, own: float, cores: int) -> bool:
    """Whether other processes' load (the machine's ``load`` less this process's ``own``)
    exceeds the ``cores`` available to this run: its seconds then do not compare with a
    quiet machine's."""
    return load is not None and load - own > cores


def crowded_epoch(epoch: dict, cores: int) -> bool:
    """:func:`crowded` as an epoch's record sampled it (:func:`load_sample`); False for an
    epoch stored before epochs sampled the load."""
    return crowded(epoch.get("load"), epoch.get("load_own") or 0.0, cores)


def load_sample() -> dict:
    """The machine's load now and this process's own share of it, for an epoch's record."""
    return {"load": load_average(), "load_own": own_load()}
