"""PostgreSQL behind the same interface as storage/db.py's SQLite Database.

The shape is the SQLite engine's: a repository method hands one plain function to ``read`` or
``write``; here it runs on a thread of a small executor with a connection borrowed from a psycopg 3
pool (synchronous connections: "one function = one transaction on a thread" is exactly their
shape, and the driver spends no event-loop time). ``write`` runs the function in one transaction,
committed before it returns; ``read`` runs it in autocommit (each statement its own snapshot, as
SQLite's reads outside BEGIN); ``read_apart`` runs it in one read-only REPEATABLE READ
transaction (one snapshot, as SQLite's WAL snapshot on its own connection).

The function gets a _PgConnection: ``execute(sql, params)`` takes the SQLite text with ``?``
placeholders (translated once per text and cached), rows answer row["col"] and row[0], and
``conn.dialect`` is "postgresql" for the rare statement that must differ (``FOR UPDATE``).

Behind pgbouncer in transaction mode: no prepared statements (``prepare_threshold=None``), no
session state (no SET, no session advisory lock; migrations take ``pg_advisory_xact_lock`` inside
their transaction), every borrowed connection returned at the end of one transaction.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
import psycopg.errors
from psycopg_pool import ConnectionPool, PoolTimeout

from storage.db import DatabaseUnusable
from storage.migrations_postgres import MIGRATIONS

log = logging.getLogger(__name__)
T = TypeVar("T")

# Connections per process (and executor threads: one per connection, no thread ever waits for one).
POOL_SIZE = int(os.environ.get("MANSHAHRDARAM_PG_POOL", "8"))
# psycopg's prepare_threshold: None prepares nothing (works behind any pgbouncer in transaction mode).
# A number (e.g. 5: a statement run that often on a connection is prepared there) saves PostgreSQL
# the parse and plan of the hot statements; only for a direct connection or pgbouncer >= 1.21
# with max_prepared_statements set. Env MANSHAHRDARAM_PG_PREPARE.
PREPARE_THRESHOLD = int(os.environ["MANSHAHRDARAM_PG_PREPARE"]) if os.environ.get("MANSHAHRDARAM_PG_PREPARE") else None
# How long open() waits for the first connection, and a call for a free one.
CONNECT_TIMEOUT = 10.0
# close() waits this long for calls still running before it cancels them on the server.
CLOSE_WAIT = 10.0
# A write that PostgreSQL aborted because of a deadlock or a serialization failure is run again
# (from the start, in a new transaction: its effects were rolled back) at most this many times.
WRITE_RETRIES = 5
# The key of the advisory lock migrations are applied under (one process at a time).
MIGRATION_LOCK = 0x6D616E73  # "mans"


def display_url(url: str) -> str:
    """The address with its password hidden: what logs and errors may show."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "postgresql://…"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


# -- SQL text: SQLite's ``?`` placeholders as psycopg's ``%s`` ------------------------------------------

_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|\?|%")
_translated: dict[str, str] = {}
_TRANSLATED_MAX = 4096


def _replace(match: re.Match) -> str:
    token = match.group(0)
    if token == "?":
        return "%s"
    # psycopg reads % everywhere in a text sent with parameters, quotes and comments included.
    return token.replace("%", "%%")


def translate(sql: str) -> str:
    """``?`` → ``%s`` outside quotes and comments, and every literal ``%`` → ``%%``."""
    done = _translated.get(sql)
    if done is None:
        done = _TOKENS.sub(_replace, sql)
        if len(_translated) >= _TRANSLATED_MAX:
            _translated.clear()  # IN (?, ?, …) lists of every length: keep the cache bounded
        _translated[sql] = done
    return done


# -- rows: row["col"] and row[0], as sqlite3.Row --------------------------------------------------------

class Row(tuple):
    """A tuple that also answers by column name (the class of one result shape knows the names)."""

    __slots__ = ()
    _index: dict[str, int] = {}

    def __getitem__(self, key):
        if key.__class__ is str:
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


_row_classes: dict[tuple[bytes, ...], type[Row]] = {}


def _row_factory(cursor: psycopg.Cursor) -> Callable[[Any], Any]:
    # The result's field names straight from libpq: cursor.description builds a Column object per
    # column on every query (a fifth of a primary-key SELECT's client CPU).
    result = cursor.pgresult
    if result is None or not result.nfields:
        return tuple
    fname = result.fname
    names = tuple(fname(i) for i in range(result.nfields))
    cls = _row_classes.get(names)
    if cls is None:
        index: dict[str, int] = {}
        for i, name in enumerate(names):
            index.setdefault(name.decode(), i)  # sqlite3.Row answers the first of two equal names too
        cls = _row_classes[names] = type("Row", (Row,), {"__slots__": (), "_index": index})
    return cls


class _PgConnection:
    """What a repository function gets: the part of sqlite3.Connection storage uses."""

    dialect = "postgresql"
    __slots__ = ("raw",)

    def __init__(self, raw: psycopg.Connection) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Any = None) -> psycopg.Cursor:
        if not params:
            # No parameters: the text goes as it is (a literal % needs no doubling then).
            return self.raw.execute(sql)
        return self.raw.execute(translate(sql), params)

    def executemany(self, sql: str, seq: Any) -> psycopg.Cursor:
        cur = self.raw.cursor()
        cur.executemany(translate(sql), list(seq))
        return cur

    def unless_duplicate(self, sql: str, params: Any = ()) -> int | None:
        """Runs a statement that may break a UNIQUE constraint another transaction has just
        claimed: its rowcount, or None (nothing changed, the transaction goes on) if it did."""
        try:
            with self.raw.transaction():  # a savepoint inside the write's transaction
                return self.execute(sql, params).rowcount
        except psycopg.errors.UniqueViolation:
            return None


_OPEN = (psycopg.pq.TransactionStatus.INTRANS, psycopg.pq.TransactionStatus.INERROR)


class PgDatabase:
    """storage.db.Database's API on PostgreSQL (see the module's docstring)."""

    dialect = "postgresql"

    def __init__(self, url: str, pool_size: int = POOL_SIZE) -> None:
        self.url = url
        self.path = display_url(url)  # what messages name (Database.path is the file)
        self.pool_size = pool_size
        self._pool: ConnectionPool | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._held: set[psycopg.Connection] = set()
        self._held_lock = threading.Lock()

    async def open(self) -> None:
        """Connects, applies pending migrations (one process at a time); raises
        DatabaseUnusable with one line naming the address (never its password)."""
        # One plain connection first: a server that is down, a database or role that does not exist
        # fails at once with libpq's reason, not after the pool's retries (each a logged warning).
        reason = await asyncio.to_thread(_why_not, self.url)
        if reason is not None:
            raise DatabaseUnusable(self._explain(reason))
        self._executor = concurrent.futures.ThreadPoolExecutor(self.pool_size, thread_name_prefix="pg")
        self._pool = ConnectionPool(
            self.url, min_size=self.pool_size, max_size=self.pool_size, open=False, timeout=CONNECT_TIMEOUT,
            # autocommit: a read costs no BEGIN/COMMIT round trips; writes open their transaction.
            # prepare_threshold=None (the default): nothing prepared, so pgbouncer in transaction mode works.
            kwargs={"autocommit": True, "prepare_threshold": PREPARE_THRESHOLD, "row_factory": _row_factory},
            name="manshahrdaram",
        )
        try:
            await self._run(self._pool.open, True, CONNECT_TIMEOUT)
            await self._run(self._with_connection, _migrate, (), False)
        except (psycopg.Error, PoolTimeout, _NewerSchema, OSError) as exc:
            await self.close()
            raise DatabaseUnusable(self._explain(exc)) from None

    def _explain(self, exc: BaseException) -> str:
        where = f"database {self.path} ([database] url)"
        if isinstance(exc, _NewerSchema):
            return (f"{where} has schema version {exc.version}, newer than this program's {len(MIGRATIONS)}: "
                    "a newer release wrote it; run that release, or restore a backup taken before the upgrade")
        if isinstance(exc, PoolTimeout):
            return f"{where}: no connection within {CONNECT_TIMEOUT:g} s (is PostgreSQL running and the address right?)"
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"{where}: {message.replace(self.url, self.path)}"

    async def close(self) -> None:
        if self._executor is not None:
            executor, self._executor = self._executor, None
            # Calls still running finish first (their connections go back after them); one stuck
            # on a lock is cancelled on the server after CLOSE_WAIT seconds, so closing never hangs.
            stopping = asyncio.ensure_future(asyncio.to_thread(executor.shutdown, True))
            done, _ = await asyncio.wait({stopping}, timeout=CLOSE_WAIT)
            if not done:
                with self._held_lock:
                    held = list(self._held)
                for raw in held:
                    try:
                        raw.cancel_safe(timeout=2.0)
                    except psycopg.Error:
                        pass
                await asyncio.wait({stopping}, timeout=CLOSE_WAIT)
        if self._pool is not None:
            pool = self._pool
            with self._held_lock:
                held, self._held = list(self._held), set()
            for raw in held:
                pool.putconn(raw)
            self._pool = None
            await asyncio.to_thread(pool.close, CLOSE_WAIT)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise RuntimeError("database is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _connection(self) -> psycopg.Connection:
        """The connection this executor thread holds. Each thread takes one from the pool the first
        time and keeps it (threads and connections are as many): a call costs no check-out and
        check-in (a third of a primary-key read's client CPU). A broken one goes back to the pool,
        which replaces it, and the thread takes another."""
        pool = self._pool
        if pool is None:
            raise RuntimeError("database is not open")
        raw = getattr(self._local, "raw", None)
        if raw is not None and (raw.broken or raw.closed):
            self._give_back(raw)
            raw = None
        if raw is None:
            raw = self._local.raw = pool.getconn()
            with self._held_lock:
                self._held.add(raw)
        return raw

    def _give_back(self, raw: psycopg.Connection) -> None:
        self._local.raw = None
        with self._held_lock:
            self._held.discard(raw)
        if self._pool is not None:
            self._pool.putconn(raw)

    def _with_connection(self, fn: Callable[..., T], args: tuple, transaction: str | bool) -> T:
        for attempt in range(WRITE_RETRIES + 1):
            raw = self._connection()
            conn = _PgConnection(raw)
            try:
                if not transaction:
                    return fn(conn, *args)
                raw.execute(transaction)
            except psycopg.OperationalError:
                # A connection the server or a proxy closed while it was idle (a restart, an idle
                # timeout): a read, or a write before its first statement, is run again once on a
                # new one. Nothing was changed.
                if not raw.broken or attempt > 0:
                    raise
                self._give_back(raw)
                continue
            try:
                result = fn(conn, *args)
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                raw.execute("ROLLBACK")
                if attempt == WRITE_RETRIES:
                    raise
                time.sleep(0.001 * (attempt + 1))
                continue
            except BaseException:
                # A lost connection (status UNKNOWN) is not rolled back: that would raise in place
                # of the fault; the next call replaces it.
                if raw.info.transaction_status in _OPEN:
                    raw.execute("ROLLBACK")
                raise
            raw.execute("COMMIT")
            return result
        raise AssertionError("unreachable")

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, *args)`` in autocommit: every statement sees what is committed when it starts."""
        return await self._run(self._with_connection, fn, args, False)

    async def read_apart(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, *args)`` in one read-only snapshot: the staff's scans add up."""
        return await self._run(self._with_connection, fn, args,
                               "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, *args)`` in one READ COMMITTED transaction, committed before this returns.
        Invariants hold by constraints and row locks (``FOR UPDATE`` where storage reads, then
        writes); a deadlock or serialization failure runs ``fn`` again from the start."""
        return await self._run(self._with_connection, fn, args, "BEGIN ISOLATION LEVEL READ COMMITTED")

    async def write_one(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, *args)`` for a write that is ONE statement (a data-modifying CTE, or a call of
        a function of the schema): atomic by itself, so it runs in autocommit, committed before this
        returns, without the BEGIN and COMMIT round trips ``write`` costs (two of a vote's three
        before). A deadlock or serialization failure runs it again (nothing of it was kept)."""
        return await self._run(self._one_statement, fn, args)

    def _one_statement(self, fn: Callable[..., T], args: tuple) -> T:
        for attempt in range(WRITE_RETRIES + 1):
            try:
                return self._with_connection(fn, args, False)
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                if attempt == WRITE_RETRIES:
                    raise
                time.sleep(0.001 * (attempt + 1))
        raise AssertionError("unreachable")


def _why_not(url: str) -> psycopg.Error | None:
    try:
        psycopg.connect(url, connect_timeout=int(CONNECT_TIMEOUT), prepare_threshold=None).close()
    except psycopg.Error as exc:
        return exc
    return None


class _NewerSchema(Exception):
    def __init__(self, version: int) -> None:
        super().__init__(version)
        self.version = version


def _migrate(conn: _PgConnection) -> None:
    """All pending migrations in one transaction, under a transaction-level advisory lock: two
    processes starting at once apply them once; the second finds them done."""
    raw = conn.raw
    with raw.transaction():
        raw.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        raw.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = raw.execute("SELECT version FROM schema_version").fetchone()
        if row is None:
            raw.execute("INSERT INTO schema_version (version) VALUES (0)")
            version = 0
        else:
            version = row[0]
        if version > len(MIGRATIONS):
            raise _NewerSchema(version)
        for number in range(version, len(MIGRATIONS)):
            log.info("applying PostgreSQL migration %d", number + 1)
            raw.execute(MIGRATIONS[number], prepare=False)  # several statements: never prepared
        if version != len(MIGRATIONS):
            raw.execute("UPDATE schema_version SET version = %s", (len(MIGRATIONS),))


def schema_version(url: str) -> int | None:
    """The version a database is at (None: never migrated), without changing it (check-config)."""
    with psycopg.connect(url, autocommit=True, prepare_threshold=None, connect_timeout=CONNECT_TIMEOUT) as raw:
        if raw.execute("SELECT to_regclass('schema_version')").fetchone()[0] is None:
            return None
        row = raw.execute("SELECT version FROM schema_version").fetchone()
        return None if row is None else row[0]
