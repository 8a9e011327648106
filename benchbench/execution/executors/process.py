"""The process executor: up to ``workers`` runs at a time, each in a fresh spawned process
with its own GPU (``cuda`` runs) or an equal share of the CPU threads.

Each run gets a process of its own, so a worker that dies (killed, out of memory, a
plugin's ``os._exit``) fails that run only: it is stored as failed with the cause, and
the runs on the other workers go on.
"""

from __future__ import annotations

import os

from benchbench.execution.executors.detached import DetachedExecutor
from benchbench.execution.runner import train_detached


class ProcessExecutor(DetachedExecutor):
    def run(self, configs, events):
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        done, todo = self.split(configs)
        yield from ((c, "skipped", "") for c in done)
        if not todo:
            return
        context = multiprocessing.get_context("spawn")
        gpus = _cuda_count() if any(c.device.startswith("cuda") for c in todo) else 0
        free_slots = list(range(self.workers))
        queue = list(todo)
        active = {}  # future -> (config, pool, slot)
        try:
            while queue or active:
                while queue and free_slots:
                    config, slot = queue.pop(0), free_slots.pop(0)
                    pool = ProcessPoolExecutor(
                        1, mp_context=context, initializer=_init_worker, initargs=(slot, gpus)
                    )
                    events.started(config)
                    future = pool.submit(train_detached, config.to_dict(), self.threads())
                    active[future] = (config, pool, slot)
                finished, _ = wait(active, return_when=FIRST_COMPLETED)
                for future in finished:
                    config, pool, slot = active.pop(future)
                    yield self.collect(config, lambda f=future: _result(f, BrokenProcessPool))
                    pool.shutdown(wait=False, cancel_futures=True)
                    free_slots.append(slot)
        finally:
            for _, pool, _ in active.values():
                pool.shutdown(wait=False, cancel_futures=True)


def _result(future, broken):
    try:
        return future.result()
    except broken:
        raise RuntimeError(
            "the worker process running this run died (killed, out of memory, or the "
            "process exited); the other runs were not affected"
        ) from None


def _cuda_count() -> int:
    import torch

    return torch.cuda.device_count()


def _init_worker(slot: int, gpus: int) -> None:
    """One GPU per worker process: it sees its own card as cuda:0."""
    if gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(slot % gpus)
