"""The process executor: ``workers`` spawned processes on this machine, each with its own
GPU (``cuda`` runs) or an equal share of the CPU threads."""

from __future__ import annotations

import os

from benchbench.execution.executors.detached import DetachedExecutor
from benchbench.execution.runner import train_detached


class ProcessExecutor(DetachedExecutor):
    def run(self, configs, events):
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        done, todo = self.split(configs)
        yield from ((c, "skipped", "") for c in done)
        if not todo:
            return
        context = multiprocessing.get_context("spawn")
        gpus = _cuda_count() if any(c.device.startswith("cuda") for c in todo) else 0
        slots = context.Queue()
        for i in range(self.workers):
            slots.put(i)
        with ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_init_worker, initargs=(slots, gpus)
        ) as pool:
            futures = {}
            for config in todo:
                events.started(config)
                futures[pool.submit(train_detached, config.to_dict(), self.threads())] = config
            while futures:
                finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield self.collect(futures.pop(future), future.result)


def _cuda_count() -> int:
    import torch

    return torch.cuda.device_count()


def _init_worker(slots, gpus: int) -> None:
    """One GPU per worker process: it sees its own card as cuda:0."""
    slot = slots.get()
    if gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(slot % gpus)
