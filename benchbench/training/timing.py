"""Honest wall-clock timing: the device is synchronized before every clock read."""

from __future__ import annotations

import time

import torch

from benchbench.training.device import synchronize


class Stopwatch:
    """``with Stopwatch(device) as watch: ...`` then ``watch.seconds``."""

    def __init__(self, device: torch.device):
        self.device = device
        self.seconds = 0.0

    def __enter__(self) -> Stopwatch:
        synchronize(self.device)
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        synchronize(self.device)
        self.seconds = time.perf_counter() - self._start
