"""The results database's schema: a version number and the ordered migrations to reach it.

``PRAGMA user_version`` holds the version a database is at. Opening a store applies, in
one transaction, every migration above that version, so a store written by any earlier
release is brought up to date on its first write and never rebuilt. A store written by a
newer release than this one is refused rather than misread. To change the schema, append
a migration: never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from benchbench.errors import BenchError

MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = []


def migration(function: Callable[[sqlite3.Connection], None]):
    """Append ``function`` to :data:`MIGRATIONS`; its position is its version number."""
    MIGRATIONS.append(function)
    return function


# A suite membership's columns, as versions 1 and 4 created them (4 adds its row label).
_MEMBER_COLUMNS = (
    "suite TEXT NOT NULL, grp TEXT NOT NULL, run_id TEXT NOT NULL, setting TEXT NOT NULL, "
    "value TEXT, position INTEGER NOT NULL"
)


@migration
def runs_epochs_and_suites(conn: sqlite3.Connection) -> None:
    """Version 1: the first release's tables (which it created without a version)."""
    for statement in (
        """CREATE TABLE IF NOT EXISTS runs (
            id TEXT PRIMARY KEY,
            group_id TEXT NOT NULL,
            label TEXT NOT NULL,
            status TEXT NOT NULL,
            config TEXT NOT NULL,
            environment TEXT NOT NULL,
            summary TEXT,
            error TEXT,
            started REAL NOT NULL,
            finished REAL
        )""",
        f"CREATE TABLE IF NOT EXISTS suite_runs ({_MEMBER_COLUMNS}, "
        "PRIMARY KEY (suite, grp, run_id, setting))",
        """CREATE TABLE IF NOT EXISTS epochs (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            epoch INTEGER NOT NULL,
            record TEXT NOT NULL,
            PRIMARY KEY (run_id, epoch)
        )""",
    ):
        conn.execute(statement)  # not executescript: it would commit mid-migration


@migration
def index_runs_by_group(conn: sqlite3.Connection) -> None:
    """Version 2: reports look runs up by group (repeats of one configuration)."""
    conn.execute("CREATE INDEX IF NOT EXISTS runs_by_group ON runs (group_id)")


@migration
def claims(conn: sqlite3.Connection) -> None:
    """Version 3: which process trains a run right now (one at a time per run)."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS claims (run_id TEXT PRIMARY KEY, pid INTEGER NOT NULL, "
        "host TEXT NOT NULL, started REAL NOT NULL)"
    )


@migration
def suite_rows_keep_their_labels(conn: sqlite3.Connection) -> None:
    """Version 4: a suite's row label is stored with its membership, not taken from the
    run, since a label is not part of a run's identity: two variants with identical
    settings share one run and still make two rows."""
    conn.execute(
        f"CREATE TABLE suite_members ({_MEMBER_COLUMNS}, label TEXT NOT NULL DEFAULT '', "
        "PRIMARY KEY (suite, grp, run_id, setting, label))"
    )
    conn.execute(
        "INSERT INTO suite_members (suite, grp, run_id, setting, value, position) "
        "SELECT suite, grp, run_id, setting, value, position FROM suite_runs"
    )
    conn.execute("DROP TABLE suite_runs")
    conn.execute("ALTER TABLE suite_members RENAME TO suite_runs")


@migration
def smoke_runs_are_marked(conn: sqlite3.Connection) -> None:
    """Version 5: a column saying a run is a ``--smoke`` wiring check, not a result."""
    conn.execute("ALTER TABLE runs ADD COLUMN smoke INTEGER NOT NULL DEFAULT 0")
    conn.execute(
        "UPDATE runs SET smoke = 1 WHERE json_extract(config, '$.smoke') = 1 "
        "OR id IN (SELECT run_id FROM suite_runs WHERE suite LIKE '% [smoke]')"
    )


@migration
def suite_members_named_so(conn: sqlite3.Connection) -> None:
    """Version 6: the table of which runs make each suite's rows is ``suite_members``
    (it was ``suite_runs``, a name that read like a table of runs)."""
    conn.execute("ALTER TABLE suite_runs RENAME TO suite_members")


@migration
def suite_members_record_their_profile(conn: sqlite3.Connection) -> None:
    """Version 7: the profile (``--profile``) a suite's rows were swept at, so that its
    report renders at that scale without being told ('' where swept as written)."""
    conn.execute("ALTER TABLE suite_members ADD COLUMN profile TEXT NOT NULL DEFAULT ''")


MEMBERS_RENAMED = 6  # from this version on, suite memberships are in suite_members
VERSION = len(MIGRATIONS)


def version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def check_readable(conn: sqlite3.Connection, path) -> int:
    """The database's version; a BenchError if a newer benchbench wrote it."""
    found = version(conn)
    if found > VERSION:
        raise BenchError(
            f"{path} was written by a newer benchbench (schema version {found}; this one "
            f"reads up to {VERSION}). Upgrade benchbench to read it; the file was left as is."
        )
    return found


def migrate(conn: sqlite3.Connection, path) -> None:
    """Apply every migration the database lacks, in order, in one transaction."""
    if check_readable(conn, path) == VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = version(conn)  # another process may have migrated while we waited
        for number, step in enumerate(MIGRATIONS[current:], start=current + 1):
            step(conn)
            conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
