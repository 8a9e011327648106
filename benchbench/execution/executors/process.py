"""The process executor: up to ``workers`` runs at a time, each in a fresh spawned process
with its own GPU (``cuda`` runs) or an equal share of the CPU threads.

Each run gets a process of its own, so a worker that dies (killed, out of memory, a
plugin's ``os._exit``) fails that run only: it is stored as failed with the cause, and
the runs on the other workers go on.
"""

from __future__ import annotations

import logging
import os

from benchbench.execution.executors.detached import DetachedExecutor
from benchbench.execution.executors.detached import WorkerLost
from benchbench.execution.runner import PINNED_GPU
from benchbench.execution.runner import train_detached

log = logging.getLogger(__name__)


class ProcessExecutor(DetachedExecutor):
    def run(self, configs, events):
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures import wait
        from concurrent.futures.process import BrokenProcessPool

        done, todo = self.split(configs)
        yield from ((c, "skipped", "") for c in done)
        if not todo:
            return
        context = multiprocessing.get_context("spawn")
        gpus = _cuda_count() if any(c.device.startswith("cuda") for c in todo) else 0
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        free_slots = list(range(worker_count(self.workers, gpus)))
        queue = list(todo)
        active = {}  # future -> (config, pool, slot)
        try:
            while queue or active:
                while queue and free_slots:
                    config, slot = queue.pop(0), free_slots.pop(0)
                    pool = ProcessPoolExecutor(
                        1,
                        mp_context=context,
                        initializer=pin_gpu,
                        initargs=(slot, gpus, visible),
                    )
                    self.submitted(config, events)
                    future = pool.submit(
                        train_detached, config.to_dict(), self.threads(), *self.resume_args(config)
                    )
                    active[future] = (config, pool, slot)
                finished, _ = wait(active, return_when=FIRST_COMPLETED)
                for future in finished:
                    config, pool, slot = active.pop(future)
                    stored = self.collect(config, lambda f=future: _result(f, BrokenProcessPool))
                    if stored is None:
                        queue.append(config)  # a lost worker, not the run's own error
                    else:
                        yield stored
                    pool.shutdown(wait=False, cancel_futures=True)
                    free_slots.append(slot)
        finally:
            for _, pool, _ in active.values():
                pool.shutdown(wait=False, cancel_futures=True)


def _result(future, broken):
    try:
        return future.result()
    except broken:
        raise WorkerLost(
            "the worker process running this run died (killed, out of memory, or the "
            "process exited); the other runs were not affected"
        ) from None


def _cuda_count() -> int:
    import torch

    return torch.cuda.device_count()


def worker_count(workers: int, gpus: int) -> int:
    """Concurrent GPU runs never share a card (they would time each other): at most one
    worker per GPU, said when ``--workers`` asked for more."""
    if gpus and workers > gpus:
        log.warning(
            "--workers %d: %d GPU(s) here, so %d run(s) at a time, one per GPU", workers, gpus, gpus
        )
        return gpus
    return workers


def pin_gpu(slot: int, gpus: int, visible: str | None) -> None:
    """Give worker ``slot`` one GPU of those the driver may use (its own
    ``CUDA_VISIBLE_DEVICES``, if set, is indexed into, never replaced by a bare slot number);
    the worker then sees it as ``cuda:0`` (see ``runner.PINNED_GPU``)."""
    if not gpus:
        return
    choices = [d.strip() for d in visible.split(",") if d.strip()] if visible else None
    choices = choices or [str(i) for i in range(gpus)]
    os.environ["CUDA_VISIBLE_DEVICES"] = choices[slot % len(choices)]
    os.environ[PINNED_GPU] = "1"
