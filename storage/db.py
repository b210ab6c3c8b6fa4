"""One SQLite connection, driven through aiosqlite, shared by every messenger's Application.

Each repository operation is one plain function run on aiosqlite's connection thread: a whole
transaction costs one hop between threads instead of one per statement, and since that thread
runs one function at a time no two operations can interleave — no asyncio lock is needed.
"""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from storage.migrations import MIGRATIONS

log = logging.getLogger(__name__)
T = TypeVar("T")


class Database:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path) if str(path) != ":memory:" else path
        self._conn: aiosqlite.Connection | None = None

    async def open(self) -> None:
        if isinstance(self.path, Path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN ourselves, so a read never opens a transaction.
        self._conn = await aiosqlite.connect(str(self.path), isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        await self.read(_configure)
        await self.read(_migrate)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    def _require(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(sqlite3_connection, *args)`` on the connection's thread."""
        conn = self._require()
        # aiosqlite has no public "run this on the connection thread"; _execute is what every
        # public method uses. The dependency range is pinned in pyproject.toml and tests cover it.
        return await conn._execute(fn, conn._conn, *args)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Like read(), inside BEGIN IMMEDIATE … COMMIT: committed before the caller replies."""
        return await self.read(_in_transaction, fn, args)


def _in_transaction(conn: sqlite3.Connection, fn: Callable[..., T], args: tuple) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn, *args)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode = WAL")
    # NORMAL in WAL mode survives a crash of the process (what we guard against); only a power
    # cut can lose the last commits.
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 5000")


def _migrate(conn: sqlite3.Connection) -> None:
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version > len(MIGRATIONS):
        raise RuntimeError(f"database schema version {version} is newer than this program ({len(MIGRATIONS)})")
    for number in range(version, len(MIGRATIONS)):
        log.info("applying migration %d", number + 1)
        conn.executescript(f"BEGIN IMMEDIATE; {MIGRATIONS[number]}; PRAGMA user_version = {number + 1}; COMMIT;")
