"""The local executor: one run after the other, in this process; epochs stored live."""

from __future__ import annotations

from benchbench.errors import BenchError
from benchbench.execution.executors import Events
from benchbench.execution.runner import execute
from benchbench.execution.runner import failure_text
from benchbench.execution.runner import wait_while_held
from benchbench.results.store import Busy

# What CUDA says when it leaves a process's context unusable.
CUDA_FATAL = (
    "device-side assert",
    "illegal memory access",
    "an illegal instruction",
    "unspecified launch failure",
    "CUDA error: misaligned address",
)


def _cuda_fatal(text: str) -> bool:
    """Whether a run's error is a CUDA error after which the process's GPU context is
    unusable."""
    return any(marker in text for marker in CUDA_FATAL)


class LocalExecutor:
    live_epochs = True

    def __init__(self, components, store, *, force: bool = False, policy=None, **_options):
        self.components, self.store, self.force = components, store, force
        self.policy = policy

    def close(self) -> None:
        """Nothing to release."""

    def run(self, configs, events: Events):
        """Each config in turn; one that another process is training right now (a second
        sweep of the same suite) is put off to the end, then waited for: stored by that
        process, it is skipped here; left unfinished, it is resumed here."""
        held = []
        for config in configs:
            events.started(config)
            outcome = self._one(config, events)
            if outcome is None:
                held.append(config)
            else:
                yield from self._reported(config, outcome)
        for config in held:
            wait_while_held(self.store, config.run_id)
            outcome = self._one(config, events) or [(config, "failed", "still held")]
            yield from self._reported(config, outcome)

    @staticmethod
    def _reported(config, outcome):
        """``outcome`` yielded; after a CUDA error that breaks this process's GPU context,
        the sweep then stops rather than fail every later run."""
        yield from outcome
        (_, status, error), *_ = outcome
        if status == "failed" and config.device.startswith("cuda") and _cuda_fatal(error):
            raise BenchError(
                f"run {config.run_id} hit a CUDA error ({error[:200]}). "
                "It is stored as failed; after such an error this process cannot use "
                "the GPU again, so the sweep stops here rather than fail every later "
                "run. Run the same command again to go on with the rest, or use "
                "--executor process, where each run has a fresh process."
            )

    def _one(self, config, events: Events):
        """``[(config, status, error)]`` for one run, or None if another process holds it."""
        try:
            result = execute(
                config,
                self.components,
                self.store,
                force=self.force,
                on_epoch=lambda r, c=config: events.epoch(c, r),
                policy=self.policy,
            )
        except Busy:
            return None
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # isolate: record, report, carry on
            return [(config, "failed", failure_text(exc))]
        return [(config, "skipped" if result.skipped else result.record.status, "")]
