"""The results store: an SQLite database plus one artifact folder per run.

Layout under the results directory::

    bench.db              runs (config, environment, status, summary) and per-epoch history
    runs/<run id>/        the artifacts below, written and read only by this module

The schema has a version and ordered migrations (:mod:`benchbench.results.schema`).

Every write is one transaction. A run is inserted as ``running`` before training starts
and turned ``complete`` (or ``diverged``/``failed``) only after its artifacts are in
place, so a run killed at any moment stays marked incomplete and nothing stored earlier
is touched.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchbench.config import RunConfig
from benchbench.errors import BenchError
from benchbench.results import schema

# A run's artifact files: the store alone writes and reads them.
WEIGHTS = "model.pt"
TEST_LOGITS = "test_logits.npy"
TEST_LABELS = "test_labels.npy"
CONFUSION = "confusion.csv"
CLASSES = "classes.json"
RUN_COLUMNS = (
    "id",
    "group_id",
    "label",
    "status",
    "config",
    "environment",
    "summary",
    "error",
    "started",
    "finished",
)

DONE = ("complete", "diverged")


def default_root() -> Path:
    return Path(os.environ.get("BENCH_RESULTS") or "bench-results")


def _json(value: Any) -> str:
    # NaN is not JSON: store it as null so every reader can parse the record.
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v

    return json.dumps(clean(value), sort_keys=True)


@dataclass
class RunRecord:
    """One stored run."""

    id: str
    group_id: str
    label: str
    status: str
    config: dict
    environment: dict
    summary: dict
    error: str | None
    started: float
    finished: float | None

    @property
    def run_config(self) -> RunConfig:
        return RunConfig.from_dict(self.config)


class Store:
    """Results under ``root`` (created on first write)."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else default_root()
        self.db_path = self.root / "bench.db"
        if self.root.exists() and not self.root.is_dir():
            raise BenchError(f"--results {self.root} is a file; give a directory.")

    # -- plumbing ----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(self.db_path, timeout=60, isolation_level=None)
            try:
                schema.check_readable(conn, self.db_path)  # before anything is written
            except BenchError:
                conn.close()
                raise
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            schema.migrate(conn, self.db_path)
        except sqlite3.DatabaseError as exc:
            raise BenchError(
                f"{self.db_path} is not a readable benchbench database ({exc}). "
                "Point --results at another directory; this file was left as is."
            ) from None
        return conn

    def _write(self, *statements: tuple[str, tuple]) -> None:
        with closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    conn.execute(sql, params)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        if not self.db_path.exists():
            return []
        with closing(self._connect()) as conn:
            conn.row_factory = sqlite3.Row
            return conn.execute(sql, params).fetchall()

    @staticmethod
    def _record(row: sqlite3.Row) -> RunRecord:
        return RunRecord(
            row["id"],
            row["group_id"],
            row["label"],
            row["status"],
            json.loads(row["config"]),
            json.loads(row["environment"]),
            json.loads(row["summary"] or "{}"),
            row["error"],
            row["started"],
            row["finished"],
        )

    def run_dir(self, run_id: str) -> Path:
        return self.root / "runs" / run_id

    # -- writing -----------------------------------------------------------------------

    def begin(self, config: RunConfig, environment: dict) -> None:
        """Insert (or reset) ``config``'s run as running, forgetting any partial history."""
        run_id = config.run_id
        self._write(
            ("DELETE FROM epochs WHERE run_id = ?", (run_id,)),
            (
                "INSERT OR REPLACE INTO runs (id, group_id, label, status, config, environment, "
                "started) VALUES (?, ?, ?, 'running', ?, ?, ?)",
                (
                    run_id,
                    config.group_id,
                    config.label,
                    _json(config.to_dict()),
                    _json(environment),
                    time.time(),
                ),
            ),
        )

    def snapshot(self, run_id: str) -> tuple[tuple, list[tuple]] | None:
        """The stored rows of a run, to put back with :meth:`restore` if a re-run fails."""
        columns = ", ".join(RUN_COLUMNS)
        with closing(self._connect()) as conn:
            row = conn.execute(f"SELECT {columns} FROM runs WHERE id = ?", (run_id,)).fetchone()
            epochs = conn.execute(
                "SELECT run_id, epoch, record FROM epochs WHERE run_id = ?", (run_id,)
            ).fetchall()
        return (tuple(row), [tuple(e) for e in epochs]) if row else None

    def restore(self, snapshot: tuple[tuple, list[tuple]]) -> None:
        """Put a :meth:`snapshot` back, replacing whatever the failed re-run wrote."""
        row, epochs = snapshot
        columns = ", ".join(RUN_COLUMNS)
        self._write(
            ("DELETE FROM epochs WHERE run_id = ?", (row[0],)),
            (
                f"INSERT OR REPLACE INTO runs ({columns}) VALUES "
                f"({', '.join('?' * len(RUN_COLUMNS))})",
                row,
            ),
            *[("INSERT INTO epochs (run_id, epoch, record) VALUES (?, ?, ?)", e) for e in epochs],
        )

    def add_epoch(self, run_id: str, epoch: dict) -> None:
        self._write(
            (
                "INSERT OR REPLACE INTO epochs (run_id, epoch, record) VALUES (?, ?, ?)",
                (run_id, int(epoch["epoch"]), _json(epoch)),
            )
        )

    def finish(
        self,
        run_id: str,
        status: str,
        summary: dict,
        *,
        weights: dict | None,
        test_logits,
        test_labels,
        confusion,
        classes: list[str],
    ) -> None:
        """Write a finished run's artifacts atomically, then mark the run ``status``.

        ``weights`` is a state dict, ``test_logits``/``test_labels`` numpy arrays,
        ``confusion`` the test confusion matrix (rows: true class).
        """
        import numpy as np
        import torch

        final = self.run_dir(run_id)
        staging = final.with_name(f".{run_id}.{os.getpid()}.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        torch.save(weights, staging / WEIGHTS)
        np.save(staging / TEST_LOGITS, test_logits)
        np.save(staging / TEST_LABELS, test_labels)
        np.savetxt(staging / CONFUSION, confusion, fmt="%d", delimiter=",")
        (staging / CLASSES).write_text(json.dumps(classes))
        shutil.rmtree(final, ignore_errors=True)
        os.replace(staging, final)
        self._write(
            (
                "UPDATE runs SET status = ?, summary = ?, finished = ?, error = NULL WHERE id = ?",
                (status, _json(summary), time.time(), run_id),
            )
        )

    def fail(self, run_id: str, error: str) -> None:
        self._write(
            (
                "UPDATE runs SET status = 'failed', error = ?, finished = ? WHERE id = ?",
                (error, time.time(), run_id),
            )
        )

    def forget_suite(self, suite: str) -> None:
        """Drop ``suite``'s membership list (never its runs): a new sweep rewrites it."""
        self._write(("DELETE FROM suite_runs WHERE suite = ?", (suite,)))

    def add_to_suite(self, suite: str, group: str, members: list[tuple]) -> None:
        """Record ``(run_id, tuned setting, value)`` members of a suite's group, in order."""
        rows = self._query("SELECT MAX(position) AS last FROM suite_runs WHERE suite = ?", (suite,))
        start = rows[0]["last"] + 1 if rows and rows[0]["last"] is not None else 0
        self._write(
            *[
                (
                    "INSERT OR IGNORE INTO suite_runs "
                    "(suite, grp, run_id, setting, value, position) VALUES (?, ?, ?, ?, ?, ?)",
                    (suite, group, run_id, setting or "", json.dumps(value), start + i),
                )
                for i, (run_id, setting, value) in enumerate(members)
            ]
        )

    def suite_members(self, suite: str) -> list[dict]:
        """``{group, run_id, setting, value}`` for every member of ``suite``, in order."""
        rows = self._query("SELECT * FROM suite_runs WHERE suite = ? ORDER BY position", (suite,))
        return [
            {
                "group": r["grp"],
                "run_id": r["run_id"],
                "setting": r["setting"] or None,
                "value": json.loads(r["value"]),
            }
            for r in rows
        ]

    def suites(self) -> list[str]:
        return [r["suite"] for r in self._query("SELECT DISTINCT suite FROM suite_runs")]

    # -- reading -----------------------------------------------------------------------

    def get(self, run_id: str) -> RunRecord | None:
        rows = self._query("SELECT * FROM runs WHERE id = ?", (run_id,))
        return self._record(rows[0]) if rows else None

    def runs(self, statuses: tuple[str, ...] | None = None) -> list[RunRecord]:
        rows = self._query("SELECT * FROM runs ORDER BY started")
        records = [self._record(r) for r in rows]
        return [r for r in records if statuses is None or r.status in statuses]

    def history(self, run_id: str) -> list[dict]:
        rows = self._query("SELECT record FROM epochs WHERE run_id = ? ORDER BY epoch", (run_id,))
        return [json.loads(r["record"]) for r in rows]

    def confusion(self, run_id: str):
        """``(matrix, classes)`` stored for a run (rows: true class), or None."""
        import numpy as np

        folder = self.run_dir(run_id)
        if not (folder / CONFUSION).exists():
            return None
        matrix = np.loadtxt(folder / CONFUSION, delimiter=",", dtype=np.int64, ndmin=2)
        return matrix, json.loads((folder / CLASSES).read_text())

    def has_predictions(self, run_id: str) -> bool:
        """Whether the run's test logits and labels are stored."""
        folder = self.run_dir(run_id)
        return (folder / TEST_LOGITS).exists() and (folder / TEST_LABELS).exists()

    def predictions(self, run_id: str):
        """``(test logits, test labels)`` as numpy arrays; a BenchError if not stored."""
        import numpy as np

        if not self.has_predictions(run_id):
            raise BenchError(f"Run {run_id} has no stored test predictions: re-run it.")
        folder = self.run_dir(run_id)
        return np.load(folder / TEST_LOGITS), np.load(folder / TEST_LABELS)

    def weights(self, record: RunRecord) -> dict:
        """The run's final (or restored best) weights as a state dict, loaded on the CPU."""
        import torch

        path = self.run_dir(record.id) / WEIGHTS
        if record.status not in DONE or not path.exists():
            raise BenchError(
                f"Run {record.id} ({record.label}) has no stored model: it is "
                f"{record.status}. Re-run it with `bench run` or `bench sweep`."
            )
        return torch.load(path, map_location="cpu", weights_only=True)

    def find(self, key: str) -> RunRecord:
        """A run by id, unique id prefix, or unique label."""
        records = self.runs()
        matches = (
            [r for r in records if r.id == key]
            or [r for r in records if r.id.startswith(key)]
            or [r for r in records if r.label == key]
        )
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise BenchError(
                f"No run {key!r} in {self.root}. `bench report` lists the stored "
                "runs; pass --results if they live elsewhere."
            )
        ids = ", ".join(r.id for r in matches[:5])
        raise BenchError(f"{key!r} matches {len(matches)} runs ({ids}...): give more of the id.")
