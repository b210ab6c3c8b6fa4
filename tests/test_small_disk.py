"""A full disk: one clear ERROR line, a connection that stays usable, and a -wal that shrinks
once there is room again.

The disk fills the way SQLite sees it (SQLITE_FULL) through PRAGMA max_page_count, which needs no
root and no small file system: the database may not grow by a single page, as on a full disk.
"""
from __future__ import annotations

import logging
import shutil
import sqlite3
from collections import namedtuple

import pytest

from storage import db as storage_db
from storage.db import Database

ROW = b"x" * 16_000  # four pages: each write makes the database grow


def _insert(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO filler (x) VALUES (?)", (ROW,))


async def _max_pages(db: Database, pages: int | None) -> None:
    def limit(conn: sqlite3.Connection) -> None:
        count = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {count if pages is None else pages}")
    await db.read(limit)


async def test_a_full_disk_is_one_clear_error_and_writes_resume_with_the_wal_truncated(tmp_path, caplog):
    path = tmp_path / "bot.sqlite3"
    wal = tmp_path / "bot.sqlite3-wal"
    db = Database(path)
    await db.open()
    db.full_retry_seconds = 0  # retry the checkpoint at every write: the test has no time to wait
    try:
        await db.write(lambda conn: conn.execute("CREATE TABLE filler (x BLOB)"))
        for _ in range(60):
            await db.write(_insert)
        assert wal.stat().st_size > 500_000  # the -wal holds what the database does not yet

        await _max_pages(db, None)  # the disk is full
        caplog.clear()
        for _ in range(3):
            with pytest.raises(sqlite3.OperationalError) as failed:
                await db.write(_insert)
            # The write's own fault, not a ROLLBACK of a transaction SQLite had already ended.
            assert failed.value.sqlite_errorcode & 0xFF == sqlite3.SQLITE_FULL, failed.value
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1, caplog.text  # once per episode, not per failed write
        line = errors[0].getMessage()
        assert str(path) in line and "disk is full" in line and "MiB free" in line, line
        assert "needs at least" in line, line
        assert errors[0].exc_info is None  # one line, no traceback
        # Reads go on while the disk is full.
        assert await db.read(lambda conn: conn.execute("SELECT count(*) FROM filler").fetchone()[0]) == 60

        await _max_pages(db, 2**30)  # room again
        caplog.clear()
        caplog.set_level(logging.INFO, logger="storage.db")
        await db.write(_insert)
        await db.write(_insert)
        assert await db.read(lambda conn: conn.execute("SELECT count(*) FROM filler").fetchone()[0]) == 62
        # Checkpointed into the database and truncated: only the two new writes are in the -wal.
        assert wal.stat().st_size < 100_000, wal.stat().st_size
        recovered = [r for r in caplog.records if "writes succeed again" in r.getMessage()]
        assert len(recovered) == 1 and str(path) in recovered[0].getMessage(), caplog.text
    finally:
        await db.close()


async def test_a_failed_write_leaves_no_transaction_open(tmp_path):
    db = Database(tmp_path / "bot.sqlite3")
    await db.open()
    try:
        await db.write(lambda conn: conn.execute("CREATE TABLE filler (x BLOB)"))
        await _max_pages(db, None)
        with pytest.raises(sqlite3.OperationalError):
            await db.write(_insert)
        assert not await db.read(lambda conn: conn.in_transaction)
        # A write that needs no new page still goes through on the same connection.
        await db.write(lambda conn: conn.execute("DELETE FROM filler"))
    finally:
        await db.close()


async def test_opening_on_a_nearly_full_disk_says_how_much_free_space_is_needed(tmp_path, caplog, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(4 * 2**20, 3 * 2**20, 2**20))
    db = Database(tmp_path / "bot.sqlite3")
    await db.open()
    await db.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, caplog.text
    assert str(tmp_path / "bot.sqlite3") in warnings[0] and "1 MiB free" in warnings[0] and \
           f"{storage_db.MIN_FREE_BYTES // 2**20} MiB" in warnings[0], warnings
