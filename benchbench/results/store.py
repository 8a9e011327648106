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

import errno
import json
import logging
import math
import os
import shutil
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchbench.config import RunConfig
from benchbench.errors import BenchError
from benchbench.results import schema

log = logging.getLogger(__name__)

# A run's artifact files: the store alone writes and reads them.
WEIGHTS = "model.pt"
PREDICTIONS = "test_predictions.npz"  # logits and labels, compressed (lossless)
OLD_PREDICTIONS = ("test_logits.npy", "test_labels.npy")  # as stored by earlier versions
CONFUSION = "confusion.csv"
CLASSES = "classes.json"

DONE = ("complete", "diverged")


class Busy(BenchError):
    """Another live process holds the run (it is training it)."""

    def __init__(self, message: str, holder: int | None = None):
        super().__init__(message)
        self.holder = holder


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


def _nearly_full(folder: Path) -> bool:
    """Whether the disk holding ``folder`` has (almost) no room left: SQLite reports a
    write that found none as a disk I/O error."""
    try:
        return shutil.disk_usage(folder if folder.exists() else folder.parent).free < 2**20
    except OSError:
        return False


def _rollback(conn: sqlite3.Connection) -> None:
    # Only if a transaction is open: a failed ROLLBACK would hide the real error.
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _open_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection; ``immutable`` where WAL's shared-memory file cannot be made."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        return sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)


def _being_created(conn: sqlite3.Connection) -> bool:
    """Whether ``conn`` opens a database with nothing in it yet: the file another process
    has just made, its schema still to be committed (an empty store, not a foreign one)."""
    empty = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    return empty and schema.version(conn) == 0


def alive(pid: int) -> bool:
    """Whether process ``pid`` on this host may still be running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's: it runs
        return True
    return True


def _holds(pid: int, host: str, this_host: str) -> bool:
    """Whether process ``pid`` on ``host`` may still be running (other hosts: assume so)."""
    return host != this_host or alive(pid)


def _run_row(
    config: RunConfig, environment: dict, status: str, started: float, summary: dict | None = None
) -> tuple[str, tuple]:
    """The statement that writes ``config``'s row of the runs table."""
    return (
        "INSERT OR REPLACE INTO runs (id, group_id, label, status, config, environment, "
        "summary, error, started, finished, smoke) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
        (
            config.run_id,
            config.group_id,
            config.label,
            status,
            _json(config.to_dict()),
            _json(environment),
            None if summary is None else _json(summary),
            started,
            None if summary is None else time.time(),
            int(config.smoke),
        ),
    )


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
    def smoke(self) -> bool:
        """A wiring check (``--smoke``), not a result."""
        return bool(self.config.get("smoke", False))

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

    def _connect(self, read_only: bool = False) -> sqlite3.Connection:
        """A connection, migrated to the current schema; ``read_only`` for commands that only
        read: they never write (a read-only results folder still reports), nor migrate."""
        read_only = read_only and self.db_path.exists()
        if not read_only:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                why = "the disk is full" if exc.errno == errno.ENOSPC else exc.strerror
                raise BenchError(
                    f"--results {self.root}: the results folder cannot be created ({why}). "
                    "Pass --results DIR (or set $BENCH_RESULTS) to a folder you can write."
                ) from None
        try:
            if read_only:
                conn = _open_read_only(self.db_path)
            else:
                conn = sqlite3.connect(self.db_path, timeout=60, isolation_level=None)
            try:
                schema.check_readable(conn, self.db_path)  # before anything is written
            except BenchError:
                conn.close()
                raise
            if not read_only:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA foreign_keys=ON")
                schema.migrate(conn, self.db_path)
        except sqlite3.DatabaseError as exc:
            raise self._database_error(exc) from None
        return conn

    def _database_error(self, exc: sqlite3.DatabaseError) -> BenchError:
        """What went wrong with the database, said plainly, with the way out."""
        text = str(exc)
        if "full" in text or ("disk I/O" in text and _nearly_full(self.root)):
            return BenchError(
                f"The disk holding {self.root} is full ({text}). Free some space and run "
                "again; results stored earlier are intact."
            )
        if "malformed" in text or "corrupt" in text:
            return BenchError(
                f"{self.db_path} is damaged ({text}); nothing was changed. Recover what it "
                f"holds with `sqlite3 {self.db_path} .recover | sqlite3 recovered.db`, then "
                "use a results folder whose bench.db is recovered.db."
            )
        if "readonly" in text or "unable to open" in text:
            return BenchError(
                f"{self.db_path} cannot be written ({text}): the results folder is read-only. "
                "Reading commands (report, show) still work; pass --results DIR to store "
                "new runs elsewhere."
            )
        return BenchError(
            f"{self.db_path} is not a readable benchbench database ({text}). "
            "Point --results at another directory; this file was left as is."
        )

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with ``BEGIN IMMEDIATE`` (so concurrent writers queue
        on SQLite's lock): committed if the block ends, rolled back if it raises."""
        with closing(self._connect()) as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                _rollback(conn)
                raise self._database_error(exc) from None
            except BaseException:
                _rollback(conn)
                raise

    def _write(self, *statements: tuple[str, tuple]) -> None:
        with self._transaction() as conn:
            for sql, params in statements:
                conn.execute(sql, params)

    def _query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        if not self.db_path.exists():
            return []
        with closing(self._connect(read_only=True)) as conn:
            conn.row_factory = sqlite3.Row
            try:
                if _being_created(conn):
                    return []  # another process is making this store right now: no runs yet
                return conn.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as exc:
                raise self._database_error(exc) from None

    def _members(self) -> str:
        """The membership table's name: a store not yet migrated (reading never migrates)
        has it under its old name."""
        rows = self._query("PRAGMA user_version")
        old = rows and rows[0][0] < schema.MEMBERS_RENAMED
        return "suite_runs" if old else "suite_members"

    @staticmethod
    def _record(row: sqlite3.Row) -> RunRecord | None:
        """The run of ``row``, or None (with a warning naming it) if its JSON is damaged."""
        try:
            config = json.loads(row["config"])
            if "smoke" in row.keys() and row["smoke"]:
                config["smoke"] = True  # marked by a migration: an older release's smoke run
            return RunRecord(
                row["id"],
                row["group_id"],
                row["label"],
                row["status"],
                config,
                json.loads(row["environment"]),
                json.loads(row["summary"] or "{}"),
                row["error"],
                row["started"],
                row["finished"],
            )
        except (TypeError, ValueError) as exc:
            log.warning("skipping run %s: its stored record is damaged (%s)", row["id"], exc)
            return None

    def run_dir(self, run_id: str) -> Path:
        return self.root / "runs" / run_id

    # -- claims: one process trains a given run at a time --------------------------------

    def claim(self, run_id: str, doing: str = "trained") -> None:
        """Claim ``run_id`` for this process, or raise :class:`Busy` naming the live
        process that holds it. A claim of a process that is gone is taken over (and the
        staging folders dead processes left behind are cleared up)."""
        self._remove_stale_staging()
        me, host = os.getpid(), socket.gethostname()
        with self._transaction() as conn:  # claimers are serialized by SQLite's lock
            row = conn.execute(
                "SELECT pid, host, started FROM claims WHERE run_id = ?", (run_id,)
            ).fetchone()
            if row is not None and row[0] != me and _holds(row[0], row[1], host):
                when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row[2]))
                raise Busy(
                    f"Run {run_id} is being {doing} right now by process {row[0]} on "
                    f"{row[1]} (since {when}). Wait for it to finish (then it is stored "
                    "and skipped), or stop that process and run again.",
                    holder=row[0],
                )
            conn.execute(
                "INSERT OR REPLACE INTO claims (run_id, pid, host, started) VALUES (?, ?, ?, ?)",
                (run_id, me, host, time.time()),
            )

    def held_elsewhere(self, run_id: str) -> bool:
        """Whether another live process holds a claim on ``run_id``."""
        rows = self._query("SELECT pid, host FROM claims WHERE run_id = ?", (run_id,))
        host = socket.gethostname()
        return bool(rows) and rows[0]["pid"] != os.getpid() and _holds(*rows[0], host)

    def release(self, run_id: str) -> None:
        """Drop this process's claim on ``run_id``."""
        self._write(
            ("DELETE FROM claims WHERE run_id = ? AND pid = ?", (run_id, os.getpid())),
        )

    def _remove_stale_staging(self) -> None:
        """Staging folders ``runs/.ID.PID.tmp`` of processes that are gone are removed; an
        earlier result moved aside as ``runs/.ID.PID.old`` by a process killed before it
        could move the new one in is put back, never deleted."""
        folder = self.root / "runs"
        if not folder.is_dir():
            return
        host = socket.gethostname()
        for path in folder.glob(".*.*.*"):
            run_id, pid, kind = (path.name[1:].rsplit(".", 2) + ["", ""])[:3]
            if not pid.isdigit() or _holds(int(pid), host, host):
                continue
            final = folder / run_id
            if kind == "old" and not final.exists():
                os.replace(path, final)
                log.warning(
                    "run %s: its artifacts had been moved aside by process %s, which was "
                    "killed before it finished replacing them; they are restored.",
                    run_id,
                    pid,
                )
            elif kind in ("old", "tmp"):
                shutil.rmtree(path, ignore_errors=True)

    def artifacts_missing(self, record: RunRecord) -> bool:
        """Whether a finished run's artifact folder is gone (a damaged store)."""
        return record.status in DONE and not (self.run_dir(record.id) / CLASSES).exists()

    # -- writing -----------------------------------------------------------------------

    def begin(self, config: RunConfig, environment: dict, started: float) -> None:
        """Insert (or reset) ``config``'s run as running, forgetting any partial history.

        Never called for a forced re-run of a finished run: that one's rows stay as they
        are until :meth:`finish` replaces them in one transaction."""
        self._write(
            ("DELETE FROM epochs WHERE run_id = ?", (config.run_id,)),
            _run_row(config, environment, "running", started),
        )

    def resume(
        self, config: RunConfig, environment: dict, history: list[dict], started: float
    ) -> None:
        """Mark ``config``'s run running again, its stored epochs exactly ``history`` (the
        resume point's): an epoch stored after the resume point was written is dropped, one
        missing is added, so the history never mixes two attempts."""
        self._write(
            ("DELETE FROM epochs WHERE run_id = ?", (config.run_id,)),
            _run_row(config, environment, "running", started),
            *[
                (
                    "INSERT INTO epochs (run_id, epoch, record) VALUES (?, ?, ?)",
                    (config.run_id, int(e["epoch"]), _json(e)),
                )
                for e in history
            ],
        )

    def interrupt(self, run_id: str, why: str, status: str = "interrupted") -> None:
        """Mark a run stopped before its end: ``interrupted`` by a signal (resumable from
        its resume point), or ``pruned`` by a tuner; its epochs so far stay stored."""
        self._write(
            (
                "UPDATE runs SET status = ?, error = ?, finished = ? WHERE id = ?",
                (status, why, time.time(), run_id),
            )
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
        config: RunConfig,
        environment: dict,
        status: str,
        summary: dict,
        history: list[dict],
        started: float,
        *,
        weights: dict | None,
        test_logits,
        test_labels,
        confusion,
        classes: list[str],
        keep: tuple[str, ...] = (),
    ) -> None:
        """Store a finished run: artifacts first (written aside, then swapped in), then its
        row and every epoch in one transaction, replacing whatever was stored before.

        ``weights`` is a state dict, ``test_logits``/``test_labels`` numpy arrays,
        ``confusion`` the test confusion matrix (rows: true class); files named in ``keep``
        move from the run's folder into the new one (a kept resume point).
        """
        import numpy as np
        import torch

        run_id = config.run_id
        final = self.run_dir(run_id)
        staging = final.with_name(f".{run_id}.{os.getpid()}.tmp")
        previous = final.with_name(f".{run_id}.{os.getpid()}.old")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            staging.mkdir(parents=True)
            torch.save(weights, staging / WEIGHTS)
            np.savez_compressed(staging / PREDICTIONS, logits=test_logits, labels=test_labels)
            np.savetxt(staging / CONFUSION, confusion, fmt="%d", delimiter=",")
            (staging / CLASSES).write_text(json.dumps(classes))
            for name in keep:
                if (final / name).exists():
                    shutil.copy2(final / name, staging / name)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if exc.errno == errno.ENOSPC:
                raise BenchError(
                    f"The disk holding {self.root} is full: the run's artifacts could not be "
                    "written. Free some space and run again; results stored earlier are "
                    "intact."
                ) from None
            raise
        if final.exists():
            os.replace(final, previous)
        os.replace(staging, final)
        row = _run_row(config, environment, status, started, summary=summary)
        self._write(
            ("DELETE FROM epochs WHERE run_id = ?", (run_id,)),
            row,
            *[
                (
                    "INSERT INTO epochs (run_id, epoch, record) VALUES (?, ?, ?)",
                    (run_id, int(e["epoch"]), _json(e)),
                )
                for e in history
            ],
        )
        shutil.rmtree(previous, ignore_errors=True)

    def fail(self, run_id: str, error: str) -> None:
        self._write(
            (
                "UPDATE runs SET status = 'failed', error = ?, finished = ? WHERE id = ?",
                (error, time.time(), run_id),
            )
        )

    def delete(self, run_ids: list[str]) -> None:
        """Remove runs: their rows, epochs and suite memberships in one transaction, then
        their artifact folders. Each run is claimed first, so a run another process is
        training (a re-run of the same config) is refused, never deleted under it."""
        claimed = []
        try:
            for run_id in run_ids:
                self.claim(run_id, doing="trained (it cannot be deleted meanwhile)")
                claimed.append(run_id)
            marks = ", ".join("?" * len(run_ids))
            self._write(
                (f"DELETE FROM epochs WHERE run_id IN ({marks})", tuple(run_ids)),
                (f"DELETE FROM suite_members WHERE run_id IN ({marks})", tuple(run_ids)),
                (f"DELETE FROM runs WHERE id IN ({marks})", tuple(run_ids)),
            )
            for run_id in run_ids:
                shutil.rmtree(self.run_dir(run_id), ignore_errors=True)
        finally:
            for run_id in claimed:
                self.release(run_id)

    def copy_to(self, target: Store, run_ids: list[str], weights: bool | set = True) -> int:
        """Copy runs ``run_ids`` into the store ``target`` (created if need be): their
        rows and epochs, their artifact folders (``model.pt`` only where ``weights`` is
        True or holds the run's id) and the membership of every suite they belong to (a
        suite's whole last sweep, so its report renders there as here). A run ``target``
        already holds is replaced; claims (which process trains what) stay behind. Files
        go first, rows last, in one transaction: a row never points at missing artifacts.
        Returns the number of runs copied."""
        if target.root.resolve() == self.root.resolve():
            raise BenchError(f"--copy-to {target.root}: that is the store the runs are in.")
        ids = sorted(set(run_ids))
        if not ids:
            return 0
        marks = ", ".join("?" * len(ids))
        runs = self._query(f"SELECT * FROM runs WHERE id IN ({marks})", tuple(ids))
        epochs = self._query(f"SELECT * FROM epochs WHERE run_id IN ({marks})", tuple(ids))
        table = self._members()
        members = self._query(  # every sweep a copied run belongs to, whole
            f"SELECT * FROM {table} WHERE suite IN "
            f"(SELECT suite FROM {table} WHERE run_id IN ({marks}))",
            tuple(ids),
        )
        suites = sorted({r["suite"] for r in members})
        for run_id in ids:
            source = self.run_dir(run_id)
            if not source.is_dir():
                continue
            staging = target.root / "runs" / f".copy-{run_id}-{os.getpid()}"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            for item in source.iterdir():
                keep = weights is True or (not isinstance(weights, bool) and run_id in weights)
                if item.is_file() and (item.name != "model.pt" or keep):
                    shutil.copy2(item, staging / item.name)
            shutil.rmtree(target.run_dir(run_id), ignore_errors=True)
            staging.rename(target.run_dir(run_id))

        def insert(table: str, rows: list[sqlite3.Row]) -> list[tuple[str, tuple]]:
            if not rows:
                return []
            columns = list(rows[0].keys())
            sql = (
                f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})"
            )
            return [(sql, tuple(r[c] for c in columns)) for r in rows]

        target._write(
            (f"DELETE FROM epochs WHERE run_id IN ({marks})", tuple(ids)),
            *[("DELETE FROM suite_members WHERE suite = ?", (suite,)) for suite in suites],
            *insert("runs", runs),
            *insert("epochs", epochs),
            *insert("suite_members", members),
        )
        return len(runs)

    def forget_suite(self, suite: str, groups: list[str] | None = None) -> None:
        """Drop ``suite``'s membership list, or that of its ``groups`` (never the runs): a
        new sweep of those groups rewrites it, and the other groups' rows stay."""
        if groups is None:
            self._write(("DELETE FROM suite_members WHERE suite = ?", (suite,)))
            return
        marks = ",".join("?" * len(groups))
        self._write(
            (f"DELETE FROM suite_members WHERE suite = ? AND grp IN ({marks})", (suite, *groups))
        )

    def add_to_suite(
        self, suite: str, group: str, members: list[tuple], profile: str | None = None
    ) -> None:
        """Record ``(run_id, tuned setting, value, row label)`` members of a suite's group,
        in order, swept at ``profile`` (None: the suite as written)."""
        rows = self._query(
            f"SELECT MAX(position) AS last FROM {self._members()} WHERE suite = ?", (suite,)
        )
        start = rows[0]["last"] + 1 if rows and rows[0]["last"] is not None else 0
        self._write(
            *[
                (
                    "INSERT OR IGNORE INTO suite_members "
                    "(suite, grp, run_id, setting, value, position, label, profile) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        suite,
                        group,
                        run_id,
                        setting or "",
                        json.dumps(value),
                        start + i,
                        label,
                        profile or "",
                    ),
                )
                for i, (run_id, setting, value, label) in enumerate(members)
            ]
        )

    def suite_members(self, suite: str) -> list[dict]:
        """``{group, run_id, setting, value, label, profile}`` for every member of
        ``suite``, in order (``label`` and ``profile`` are None where an older release
        stored none, ``profile`` also where the suite was swept as written)."""
        rows = self._query(
            f"SELECT * FROM {self._members()} WHERE suite = ? ORDER BY position", (suite,)
        )
        return [
            {
                "group": r["grp"],
                "run_id": r["run_id"],
                "setting": r["setting"] or None,
                "value": json.loads(r["value"]),
                "label": (r["label"] if "label" in r.keys() else "") or None,
                "profile": (r["profile"] if "profile" in r.keys() else "") or None,
            }
            for r in rows
        ]

    def relabel(self, config: RunConfig) -> None:
        """Give a stored run ``config``'s label (a label is not part of its identity)."""
        self._write(
            (
                "UPDATE runs SET label = ?, config = ? WHERE id = ?",
                (config.label, _json(config.to_dict()), config.run_id),
            )
        )

    def suites(self) -> list[str]:
        return [r["suite"] for r in self._query(f"SELECT DISTINCT suite FROM {self._members()}")]

    # -- reading -----------------------------------------------------------------------

    def get(self, run_id: str) -> RunRecord | None:
        rows = self._query("SELECT * FROM runs WHERE id = ?", (run_id,))
        records = self._checked([self._record(rows[0])] if rows else [])
        return records[0] if records else None

    def _checked(self, records: list[RunRecord | None]) -> list[RunRecord]:
        """``records`` (damaged rows dropped); a finished run whose artifact folder is gone
        reads as ``damaged``, never as complete: its weights, predictions and confusion
        matrix are lost. Folders a process killed mid-swap moved aside are put back first
        (see :meth:`finish`), once for all of them."""
        records = [r for r in records if r is not None]
        if any(self.artifacts_missing(r) for r in records):
            try:
                self._remove_stale_staging()
            except OSError:  # a read-only store: reported as it is
                pass
        for record in records:
            if self.artifacts_missing(record):
                record.error = (
                    f"its artifacts ({self.run_dir(record.id)}) are missing, so its weights, "
                    f"test predictions and confusion matrix are lost (it was {record.status}). "
                    "Run it again (the same command, or the sweep) to train it afresh."
                )
                record.status = "damaged"
        return records

    def runs(
        self, statuses: tuple[str, ...] | None = None, smoke: bool | None = False
    ) -> list[RunRecord]:
        """Stored runs, oldest first. Smoke runs (wiring checks) are not results: they are
        left out unless ``smoke`` is True (only them) or None (everything)."""
        rows = self._query("SELECT * FROM runs ORDER BY started")
        records = self._checked(list(map(self._record, rows)))
        return [
            r
            for r in records
            if (statuses is None or r.status in statuses) and (smoke is None or r.smoke == smoke)
        ]

    def epochs_stored(self) -> dict[str, int]:
        """How many epochs each run has stored, by run id."""
        rows = self._query("SELECT run_id, COUNT(*) AS n FROM epochs GROUP BY run_id")
        return {r["run_id"]: r["n"] for r in rows}

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
        return (folder / PREDICTIONS).exists() or all(
            (folder / name).exists() for name in OLD_PREDICTIONS
        )

    def predictions(self, run_id: str):
        """``(test logits, test labels)`` as numpy arrays; a BenchError if not stored."""
        import numpy as np

        if not self.has_predictions(run_id):
            raise BenchError(f"Run {run_id} has no stored test predictions: re-run it.")
        folder = self.run_dir(run_id)
        if (folder / PREDICTIONS).exists():
            with np.load(folder / PREDICTIONS) as stored:
                return stored["logits"], stored["labels"]
        return tuple(np.load(folder / name) for name in OLD_PREDICTIONS)

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

    def find_group(self, key: str) -> list[RunRecord]:
        """The run with id (or unique id prefix) ``key``, or every result labelled ``key``
        (its seeds), oldest first."""
        labelled = [r for r in self.runs() if r.label == key and r.status in DONE]
        if len(labelled) > 1:
            return labelled
        return [self.find(key)]

    def find(self, key: str) -> RunRecord:
        """A run by id, unique id prefix, or unique label (a real run's before a smoke
        run's)."""
        records = self.runs(smoke=None)
        matches = (
            [r for r in records if r.id == key]
            or [r for r in records if r.id.startswith(key)]
            or [r for r in records if r.label == key and not r.smoke]
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
