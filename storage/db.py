"""One SQLite connection, driven through aiosqlite, shared by every messenger's Application.

Each repository operation is one plain function run on aiosqlite's connection thread: a whole
transaction costs one hop between threads instead of one per statement, and since that thread
runs one function at a time no two operations can interleave — no asyncio lock is needed.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import stat
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
            _prepare_files(self.path)
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


# The database holds phone numbers and who voted: the bot's own user only, whatever the umask.
FOLDER_MODE = 0o700
FILE_MODE = 0o600


def _prepare_files(path: Path) -> None:
    """Create the folder 0700 and the database file 0600 before SQLite does (it would use the
    umask's 0644). SQLite gives the -wal and -shm it creates later the database file's mode, so
    the three stay private. An existing database keeps its modes: the operator may have chosen
    them; one warning names what other local users can read."""
    folder = path.parent
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
        return  # new: private from the start
    except FileExistsError:
        pass
    exposed = [f"{name} {stat.S_IMODE(mode):04o}" for name, mode in _modes(path)
               if mode & stat.S_IROTH]
    if exposed:
        log.warning("database %s is readable by other local users (%s): it holds phone numbers; "
                    "chmod 700 the folder and 600 the database files", path, ", ".join(exposed))


def _modes(path: Path) -> list[tuple[str, int]]:
    found = []
    for item in (path.parent, path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            found.append((item.name + ("/" if item == path.parent else ""), item.stat().st_mode))
        except FileNotFoundError:
            pass
    return found


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
