"""The local executor: one run after the other, in this process; epochs stored live."""

from __future__ import annotations

from benchbench.execution.executors import Events
from benchbench.execution.runner import execute, failure_text


class LocalExecutor:
    live_epochs = True

    def __init__(self, components, store, *, force: bool = False, **_options):
        self.components, self.store, self.force = components, store, force

    def close(self) -> None:
        """Nothing to release."""

    def run(self, configs, events: Events):
        for config in configs:
            events.started(config)
            try:
                result = execute(
                    config,
                    self.components,
                    self.store,
                    force=self.force,
                    on_epoch=lambda r, c=config: events.epoch(c, r),
                )
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # isolate: record, report, carry on
                yield config, "failed", failure_text(exc)
                continue
            yield config, "skipped" if result.skipped else result.record.status, ""
