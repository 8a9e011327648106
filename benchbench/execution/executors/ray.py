"""The Ray executor: Ray tasks on a local instance or a cluster (``--address``);
``pip install 'benchbench-harness[ray]'``."""

from __future__ import annotations

from benchbench.errors import BenchError
from benchbench.execution.executors.detached import DetachedExecutor
from benchbench.execution.runner import train_detached


class RayExecutor(DetachedExecutor):
    def __init__(self, components, store, *, address: str | None = None, **options):
        super().__init__(components, store, **options)
        self.address = address

    def run(self, configs, events):
        try:
            import ray
        except ImportError:
            raise BenchError(
                "--executor ray needs Ray: pip install 'benchbench-harness[ray]'."
            ) from None
        done, todo = self.split(configs)
        yield from ((c, "skipped", "") for c in done)
        if not todo:
            return
        if not ray.is_initialized():
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:
                ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False)
        cuda = any(c.device.startswith("cuda") for c in todo)
        # No silent retries: a retried benchmark measures something other than was asked.
        remote = ray.remote(num_cpus=1, num_gpus=1 if cuda else 0, max_retries=0)(train_detached)
        futures = {}
        for config in todo:
            events.started(config)
            futures[remote.remote(config.to_dict(), self.threads())] = config
        while futures:
            finished, _ = ray.wait(list(futures), num_returns=1)
            for ref in finished:
                yield self.collect(futures.pop(ref), lambda r=ref: ray.get(r))
