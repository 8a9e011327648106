"""A store written by an earlier release reads as it is, migrates on its first write and
reads back intact; a store from a newer release is refused untouched."""

import json
import sqlite3

import pytest

from benchbench.errors import BenchError
from benchbench.results import schema
from benchbench.results.store import Store

# The tables exactly as the first release created them (no schema version).
FIRST_RELEASE = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, group_id TEXT NOT NULL, label TEXT NOT NULL, status TEXT NOT NULL,
    config TEXT NOT NULL, environment TEXT NOT NULL, summary TEXT, error TEXT,
    started REAL NOT NULL, finished REAL
);
CREATE TABLE IF NOT EXISTS suite_runs (
    suite TEXT NOT NULL, grp TEXT NOT NULL, run_id TEXT NOT NULL, setting TEXT NOT NULL,
    value TEXT, position INTEGER NOT NULL, PRIMARY KEY (suite, grp, run_id, setting)
);
CREATE TABLE IF NOT EXISTS epochs (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, epoch INTEGER NOT NULL,
    record TEXT NOT NULL, PRIMARY KEY (run_id, epoch)
);
"""


def _first_release_store(root):
    root.mkdir()
    conn = sqlite3.connect(root / "bench.db")
    conn.executescript(FIRST_RELEASE)
    conn.execute(
        "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            "abc123",
            "grp",
            "Model A",
            "complete",
            json.dumps({"arch": "mlp", "seed": 0}),
            json.dumps({"torch": "2.x"}),
            json.dumps({"test_acc": 0.9}),
            None,
            1.0,
            2.0,
        ),
    )
    conn.execute("INSERT INTO epochs VALUES ('abc123', 1, ?)", (json.dumps({"epoch": 1}),))
    conn.commit()
    conn.close()


def test_a_first_release_store_is_migrated_and_read_back(tmp_path):
    root = tmp_path / "old"
    _first_release_store(root)
    store = Store(root)
    record = store.get("abc123")
    assert record.label == "Model A" and record.summary == {"test_acc": 0.9}
    assert store.history("abc123") == [{"epoch": 1}]
    version = "PRAGMA user_version"
    assert sqlite3.connect(root / "bench.db").execute(version).fetchone()[0] == 0  # reads
    store.forget_suite("nothing")  # the first write migrates
    conn = sqlite3.connect(root / "bench.db")
    assert conn.execute(version).fetchone()[0] == schema.VERSION
    assert store.get("abc123").summary == {"test_acc": 0.9}
    indexes = {r[1] for r in conn.execute("PRAGMA index_list(runs)")}
    assert "runs_by_group" in indexes
    # Migrating is idempotent: a second write changes nothing.
    Store(root).forget_suite("nothing")
    assert sqlite3.connect(root / "bench.db").execute("PRAGMA user_version").fetchone()[0] == (
        schema.VERSION
    )


def test_a_new_store_starts_at_the_current_version(tmp_path):
    Store(tmp_path / "new").runs()  # reading an absent store creates nothing
    assert not (tmp_path / "new" / "bench.db").exists()
    Store(tmp_path / "new").forget_suite("x")
    conn = sqlite3.connect(tmp_path / "new" / "bench.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.VERSION


def test_a_store_from_a_newer_release_is_refused_untouched(tmp_path):
    root = tmp_path / "future"
    _first_release_store(root)
    conn = sqlite3.connect(root / "bench.db")
    conn.execute(f"PRAGMA user_version = {schema.VERSION + 1}")
    conn.commit()
    conn.close()
    before = (root / "bench.db").read_bytes()
    with pytest.raises(BenchError, match="newer benchbench"):
        Store(root).runs()
    assert (root / "bench.db").read_bytes() == before


def test_suite_memberships_of_an_old_store_read_before_and_after_the_rename(tmp_path):
    root = tmp_path / "old"
    _first_release_store(root)
    conn = sqlite3.connect(root / "bench.db")
    conn.execute("INSERT INTO suite_runs VALUES ('s', 'base', 'abc123', '', '0.1', 0)")
    conn.commit()
    conn.close()
    expected = [
        {
            "group": "base",
            "run_id": "abc123",
            "setting": None,
            "value": 0.1,
            "label": None,
            "profile": None,  # swept before profiles were recorded
        }
    ]
    store = Store(root)
    assert store.suite_members("s") == expected and store.suites() == ["s"]  # read as is
    store.forget_suite("nothing")  # the first write migrates
    conn = sqlite3.connect(root / "bench.db")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "suite_members" in tables and "suite_runs" not in tables
    assert Store(root).suite_members("s") == expected
    Store(root).add_to_suite("s", "more", [("abc123", None, None, "A")], profile="cpu")
    members = Store(root).suite_members("s")
    assert [(m["group"], m["profile"]) for m in members] == [("base", None), ("more", "cpu")]
