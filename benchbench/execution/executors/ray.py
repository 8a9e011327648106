"""The Ray executor: Ray tasks on a local instance or a cluster (``--address``);
``pip install 'benchbench-harness[ray]'``."""

from __future__ import annotations

from benchbench.errors import BenchError
from benchbench.execution.executors.detached import ClusterExecutor
from benchbench.execution.runner import train_detached


def start_ray(address: str | None, cpus: int) -> bool:
    """Connect to the Ray cluster at ``address``, or start a local instance with ``cpus``
    CPUs, unless Ray already runs in this process; whether this call started it (and so
    should shut it down)."""
    import ray

    if ray.is_initialized():
        return False
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    return True


class RayExecutor(ClusterExecutor):
    """``workers`` runs at a time across the cluster at ``address``, each granted
    ``cpus_per_run`` CPUs (its torch threads) and, for CUDA runs, ``gpus_per_run`` GPUs
    (a fraction lets small models share a card, and the run records it)."""

    def __init__(self, components, store, *, address: str | None = None, **options):
        super().__init__(components, store, **options)
        self.address = address
        self.started_ray = False

    def resolve_device(self, name: str) -> str:
        """The device runs ask for, resolved for the cluster rather than this driver:
        ``auto`` is ``cuda:0`` (each task's own card) when the cluster has GPUs, else the
        CPU; a CPU-only head does not turn a GPU cluster's runs into CPU runs."""
        from benchbench.training import device as devices

        name = devices.spelled(name)
        if name != "auto":
            return name
        self._start()
        import ray

        return "cuda:0" if ray.cluster_resources().get("GPU", 0) > 0 else "cpu"

    def _start(self) -> None:
        cpus = max(1, round(self.workers * self.cpus_per_run))
        self.started_ray = start_ray(self.address, cpus) or self.started_ray

    def close(self) -> None:
        """Shut down the Ray instance this executor started (once the whole sweep is done,
        so that Ray's last words — dead-worker notices — come while stdout is aside)."""
        if self.started_ray:
            import ray

            ray.shutdown()
            self.started_ray = False

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
        self._start()
        cuda = any(c.device.startswith("cuda") for c in todo)
        # No silent retries: a retried benchmark measures something other than was asked.
        remote = ray.remote(
            num_cpus=self.cpus_per_run,
            num_gpus=self.gpus_per_run if cuda else 0,
            max_retries=0,
            # A CUDA error can leave a process's GPU context unusable: every GPU run gets
            # a fresh worker process (CPU runs reuse workers: no such state, less start-up).
            max_calls=1 if cuda else 0,
        )(train_detached)
        futures = {}

        def submit(config):
            self.submitted(config, events)
            # threads=None: the task takes as many torch threads as Ray granted it CPUs,
            # on whichever node it lands (never the driver's count).
            futures[remote.remote(config.to_dict(), None, *self.resume_args(config))] = config

        for config in todo:
            submit(config)
        while futures:
            finished, _ = ray.wait(list(futures), num_returns=1)
            for ref in finished:
                config = futures.pop(ref)
                stored = self.collect(config, lambda r=ref: ray.get(r))
                if stored is None:
                    submit(config)  # a lost worker or node, not the run's own error
                else:
                    yield stored
