"""The -wal is copied into the database by a thread of its own (storage.db._Checkpointer), never by a
commit on the shared connection, on which every citizen's update queues (issue 13)."""
from __future__ import annotations

import asyncio
import sqlite3
import threading

from storage import db as storage_db
from storage.db import Database

ROW = b"x" * 100_000  # 25 pages a write


def _insert(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO filler (x) VALUES (?)", (ROW,))


def _rewrite(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE filler SET x = ? WHERE rowid = 1", (ROW,))


def _checkpointers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("checkpoint ")]


async def _open(tmp_path, every: float) -> Database:
    db = Database(tmp_path / "bot.sqlite3")
    db.checkpoint_every = every
    await db.open()
    await db.write(lambda conn: conn.execute("CREATE TABLE filler (x BLOB)"))
    return db


async def test_the_shared_connection_never_checkpoints_in_a_commit(tmp_path):
    db = await _open(tmp_path, every=3600)  # the checkpointer does not look during the test
    main = tmp_path / "bot.sqlite3"
    try:
        assert await db.read(lambda conn: conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]) == 0
        size = main.stat().st_size
        for _ in range(80):  # 2,000 pages: SQLite's default would have checkpointed at 1,000
            await db.write(_insert)
        assert main.stat().st_size == size  # nothing copied into the database yet
        assert (tmp_path / "bot.sqlite3-wal").stat().st_size > 1000 * 4096
    finally:
        await db.close()


async def test_the_checkpointer_copies_the_wal_into_the_database(tmp_path):
    db = await _open(tmp_path, every=0.02)
    main = tmp_path / "bot.sqlite3"
    try:
        size = main.stat().st_size
        for _ in range(10):
            await db.write(_insert)
        # The shared connection does not checkpoint (above): only the checkpointer can have
        # copied the rows into the database file.
        for _ in range(250):  # up to 5 s on a busy machine
            if main.stat().st_size > size + 10 * len(ROW):
                break
            await asyncio.sleep(0.02)
        assert main.stat().st_size > size + 10 * len(ROW)
    finally:
        await db.close()


async def test_the_wal_stays_bounded_under_writes_that_never_pause(tmp_path):
    db = await _open(tmp_path, every=0.01)
    wal = tmp_path / "bot.sqlite3-wal"
    try:
        await db.write(_insert)
        largest = 0
        for _ in range(600):  # 60 MB through the -wal, back to back
            await db.write(_rewrite)
            largest = max(largest, wal.stat().st_size)
        # Started again from its beginning and cut back to journal_size_limit: not 60 MB.
        assert largest < 4 * storage_db.WAL_LIMIT_BYTES, largest
    finally:
        await db.close()


async def test_closing_stops_the_checkpointer_and_removes_the_wal(tmp_path):
    before = len(_checkpointers())
    db = await _open(tmp_path, every=0.01)
    assert len(_checkpointers()) == before + 1
    await db.write(_insert)
    await db.close()
    assert len(_checkpointers()) == before
    # The shared connection was the last one open: SQLite checkpointed and removed the -wal.
    assert not (tmp_path / "bot.sqlite3-wal").exists()


async def test_a_database_in_memory_has_no_checkpointer(tmp_path):
    before = len(_checkpointers())
    db = Database(":memory:")
    await db.open()
    try:
        assert len(_checkpointers()) == before
    finally:
        await db.close()
