"""One SQLite connection, driven through aiosqlite, shared by every messenger's Application.

Each repository operation is one plain function run on aiosqlite's connection thread: a whole
transaction costs one hop between threads instead of one per statement, and since that thread
runs one function at a time no two operations can interleave — no asyncio lock is needed.
"""
from __future__ import annotations

import asyncio
import logging
import math
import os
import shutil
import sqlite3
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from storage.migrations import MIGRATIONS

log = logging.getLogger(__name__)
T = TypeVar("T")


class DatabaseUnusable(Exception):
    """The database cannot be opened or used by this program; str() is one line for the operator,
    naming the file."""


# Free space the bot needs on the database's file system. SQLite appends every commit to the
# -wal and copies it into the database at a checkpoint (_Checkpointer's: every second), so the
# database grows by what the -wal holds while the -wal still takes its room; one
# transaction can be large on its own (a broadcast writes a row per recipient at once).
MIN_FREE_BYTES = 64 * 2**20
# After a checkpoint the -wal is cut back to this size (SQLite keeps its largest size otherwise).
WAL_LIMIT_BYTES = 4 * 2**20
# Seconds between the checkpointer's looks at the -wal (see _Checkpointer).
CHECKPOINT_EVERY = 1.0
# A checkpoint that ends with frames committed meanwhile is run again at once, at most this many
# times: the -wal starts again from its beginning only once it has been copied entirely.
CHECKPOINT_CATCH_UP = 20
# While the disk is full, a write first retries the checkpoint that gives the -wal's room back,
# at most this often: each try copies the -wal into the database until the disk refuses.
FULL_RETRY_SECONDS = 5.0


class Connection(sqlite3.Connection):
    """The connection a repository function gets on SQLite: sqlite3's, plus the two things the
    PostgreSQL engine's (storage/postgres.py) also has, so one function serves both engines."""

    dialect = "sqlite"

    def unless_duplicate(self, sql: str, params: Any = ()) -> int | None:
        """Runs a statement that may break a UNIQUE constraint: its rowcount, or None (nothing
        changed; SQLite undoes the statement only, the transaction goes on) if it did."""
        try:
            return self.execute(sql, params).rowcount
        except sqlite3.IntegrityError as exc:
            if exc.sqlite_errorcode in (sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY):
                return None
            raise


class Database:
    dialect = "sqlite"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path) if str(path) != ":memory:" else path
        self._conn: aiosqlite.Connection | None = None
        self.full_retry_seconds = FULL_RETRY_SECONDS
        self._full = False  # the last write failed with SQLITE_FULL
        self._retry_at = 0.0
        self.checkpoint_every = CHECKPOINT_EVERY
        self._checkpointer: _Checkpointer | None = None

    async def open(self) -> None:
        """Raises DatabaseUnusable when the file is not one this program can use."""
        try:
            if isinstance(self.path, Path):
                _prepare_files(self.path)
            # isolation_level=None: we issue BEGIN ourselves, so a read never opens a transaction.
            connecting = aiosqlite.connect(str(self.path), isolation_level=None, factory=Connection)
            try:
                self._conn = await connecting
            except BaseException:
                # After a failed connect aiosqlite stops its thread without waiting for it: wait,
                # or the thread may answer into an event loop that the failed start has closed
                # meanwhile (a traceback after the operator's one-line error).
                if connecting._thread.is_alive():
                    await asyncio.to_thread(connecting._thread.join, 5)
                raise
            self._conn.row_factory = sqlite3.Row
            await self.read(_configure)
            await self.read(_migrate)
            if isinstance(self.path, Path):
                self._checkpointer = _Checkpointer(self.path, self.checkpoint_every)
        except (OSError, sqlite3.Error, _NewerSchema) as exc:
            await self.close()
            raise DatabaseUnusable(_explain(self.path, exc)) from None
        if isinstance(self.path, Path) and (free := self._free_bytes()) is not None and free < MIN_FREE_BYTES:
            log.warning("database %s: %s MiB free on its file system; the bot needs at least %s MiB free there",
                        self.path, _mib(free), _mib(MIN_FREE_BYTES, up=True))

    async def close(self) -> None:
        if self._checkpointer is not None:
            # Before the shared connection: SQLite checkpoints and removes the -wal when the last
            # connection closes, which the checkpointer's must not be.
            await asyncio.to_thread(self._checkpointer.stop)
            self._checkpointer = None
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

    async def read_apart(self, fn: Callable[..., T], *args: Any) -> T:
        """Like read(), but in one read transaction on a read-only connection of its own, in a
        worker thread: a WAL snapshot that neither waits for nor holds up the shared connection,
        on which every citizen's update queues. For staff reads that scan many rows (audience
        counts, statistics, ballots). In memory (tests) there is no second connection."""
        if not isinstance(self.path, Path):
            return await self.read(fn, *args)
        return await asyncio.to_thread(_on_own_connection, self.path, fn, args)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Like read(), inside BEGIN IMMEDIATE … COMMIT: committed before the caller replies."""
        if self._full:
            await self._give_wal_room_back()
        try:
            result = await self.read(_in_transaction, fn, args)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_FULL:
                await self._disk_full()
            raise
        if self._full:
            self._full = False
            log.info("database %s: writes succeed again (%s MiB free on its file system)",
                     self.path, _mib(self._free_bytes()))
        return result

    async def _disk_full(self) -> None:
        """One ERROR line per episode (every update that fails meanwhile is logged by its handler),
        then the checkpoint that may give the -wal's room back."""
        if not self._full:
            self._full = True
            wal = self._wal_bytes()
            log.error("database %s: a write failed, the disk is full (%s MiB free on its file system); the bot "
                      "needs at least %s MiB free there, %s MiB of it to copy its -wal into the database. "
                      "Writes resume by themselves once there is room; reads go on meanwhile",
                      self.path, _mib(self._free_bytes()), _mib(MIN_FREE_BYTES + wal, up=True), _mib(wal, up=True))
            self._retry_at = 0.0
        await self._give_wal_room_back()

    async def _give_wal_room_back(self) -> None:
        now = time.monotonic()
        if now < self._retry_at:
            return
        self._retry_at = now + self.full_retry_seconds
        try:
            await self.read(_checkpoint)
        except sqlite3.Error:
            pass  # still no room: a later write tries again

    def _free_bytes(self) -> int | None:
        if not isinstance(self.path, Path):
            return None
        try:
            return shutil.disk_usage(self.path.parent).free
        except OSError:
            return None

    def _wal_bytes(self) -> int:
        try:
            return self.path.with_name(self.path.name + "-wal").stat().st_size
        except (AttributeError, OSError):
            return 0  # in memory, or no -wal yet


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
        if not path.is_file():
            return  # a folder or a device: opening it fails and says so
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
        conn.execute("COMMIT")
    except BaseException:
        # SQLite ends the transaction itself on some faults (SQLITE_FULL among them); a ROLLBACK
        # then would raise "no transaction is active" in place of the fault.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


class _Checkpointer:
    """Copies the -wal into the database in a thread and on a connection of its own.

    The shared connection does not checkpoint (PRAGMA wal_autocheckpoint = 0, in _configure): by
    SQLite's default, the commit that takes the -wal past 1,000 pages copies all of it into the
    database and syncs it first, 50–250 ms with a 100,000-recipient broadcast's rows, and every
    citizen's update and the broadcast's next marks queue behind that commit. Here a PASSIVE
    checkpoint runs every ``every`` seconds: it neither waits for the shared connection's
    transactions nor holds them up (it copies what readers no longer need and leaves the rest).
    The -wal starts again from its beginning at the first write after it was copied entirely
    (and is cut back to journal_size_limit then), so a checkpoint that ends with new frames
    behind it is run again at once, until it catches up: the -wal stays bounded."""

    def __init__(self, path: Path, every: float) -> None:
        self.path, self.every = path, every
        self._stopping = threading.Event()
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, factory=Connection)
        self._thread = threading.Thread(target=self._run, name=f"checkpoint {path.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stopping.wait(self.every):
                self.checkpoint()
        finally:
            self._conn.close()

    def checkpoint(self) -> None:
        for _ in range(CHECKPOINT_CATCH_UP):
            try:
                busy, frames, copied = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.Error:
                return  # a full disk: the shared connection's writes report it and retry
            if not busy and frames == copied:
                return
            if busy or self._stopping.is_set():
                return  # another connection is checkpointing (the disk-full retry): next time

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()


def _on_own_connection(path: Path, fn: Callable[..., T], args: tuple) -> T:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None, factory=Connection)
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("BEGIN")
        try:
            return fn(conn, *args)
        finally:
            conn.execute("COMMIT")
    finally:
        conn.close()


def _checkpoint(conn: sqlite3.Connection) -> None:
    """Copy the -wal into the database and truncate it to nothing: the room it took is free again."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()


def _mib(size: int | None, *, up: bool = False) -> str:
    """Free space rounded down, space needed rounded up."""
    if size is None:
        return "?"
    return str(math.ceil(size / 2**20) if up else size // 2**20)


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode = WAL")
    # NORMAL in WAL mode survives a crash of the process (what we guard against); only a power
    # cut can lose the last commits.
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT_BYTES}")
    if conn.execute("PRAGMA database_list").fetchone()[2]:
        conn.execute("PRAGMA wal_autocheckpoint = 0")  # _Checkpointer does it, away from this thread


class _NewerSchema(Exception):
    def __init__(self, version: int) -> None:
        super().__init__(version)
        self.version = version


def _migrate(conn: sqlite3.Connection) -> None:
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version > len(MIGRATIONS):
        raise _NewerSchema(version)
    for number in range(version, len(MIGRATIONS)):
        log.info("applying migration %d", number + 1)
        conn.executescript(f"BEGIN IMMEDIATE; {MIGRATIONS[number]}; PRAGMA user_version = {number + 1}; COMMIT;")


def check_path(path: Path | str) -> None:
    """What open() would refuse, found without creating or changing anything (check-config):
    raises DatabaseUnusable. A database that is not there yet is fine if it can be created."""
    path = Path(path)
    if path.exists():
        if path.is_dir():
            raise DatabaseUnusable(_explain(path, IsADirectoryError()))
        # The bot writes the file and, beside it, the -wal and -shm.
        if not os.access(path, os.R_OK | os.W_OK) or not os.access(path.parent, os.W_OK | os.X_OK):
            raise DatabaseUnusable(_read_only(path))
        try:
            # mode=ro: checking never creates, migrates or changes the file.
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                (version,) = conn.execute("PRAGMA user_version").fetchone()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise DatabaseUnusable(_explain(path, exc)) from None
        if version > len(MIGRATIONS):
            raise DatabaseUnusable(_explain(path, _NewerSchema(version)))
        return
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise DatabaseUnusable(f"database {path}: cannot create it: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DatabaseUnusable(f"database {path}: cannot create it: this user may not write in folder {folder}")


def _explain(path: Path | str, exc: BaseException) -> str:
    """One line naming the file and saying what is wrong with it, in the operator's terms."""
    if isinstance(path, Path) and path.is_dir():
        return (f"database {path} is a folder, not a file: general.database names the SQLite file, "
                f"e.g. {path / 'manshahrdaram.sqlite3'}")
    if isinstance(exc, _NewerSchema):
        return (f"database {path} has schema version {exc.version}, newer than this program's {len(MIGRATIONS)}: "
                "a newer release wrote it; run that release, or restore a backup taken before the upgrade")
    if isinstance(exc, OSError):
        where = "it" if exc.filename in (None, str(path)) else exc.filename
        return f"database {path}: cannot create {where}: {exc.strerror or exc}"
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code == sqlite3.SQLITE_NOTADB:
        return f"database {path} is not an SQLite database (general.database names another kind of file?)"
    if code == sqlite3.SQLITE_READONLY:
        return _read_only(path)
    if code == sqlite3.SQLITE_CANTOPEN:
        return f"database {path} cannot be opened: this user may not read and write it or its folder"
    return f"database {path}: {exc}"


def _read_only(path: Path | str) -> str:
    return (f"database {path} is read-only for this user: the bot writes to it and creates "
            f"{Path(path).name}-wal and -shm beside it (give the bot's user the file and its folder)")
