"""Moving a campaign from its SQLite file into an empty PostgreSQL database, then checking the copy
(``manshahrdaram move-to-postgres --to URL``, with the bot stopped).

How:
- the SQLite file is first brought to this release's schema (as the bot would at start), and a
  write lock is held on it from the first row read to the last row checked, so nothing changes
  under the copy; a live lease (a bot still running on it) refuses the move;
- the PostgreSQL database must be empty (no table with a row in its schema): it gets this
  release's schema (storage/migrations_postgres.py), then every table is copied in ONE transaction,
  in the SQLite schema's order, streamed with COPY in batches of BATCH rows: a failure anywhere
  leaves the database as empty as it was, and the move can be run again;
- the copy keeps every id; each identity sequence is then set past the highest id copied, so
  the next proposal or broadcast gets the next number;
- the progress counters kept by triggers (delivery_counts) are copied as they are, with the
  triggers off during the copy (they would count every delivery a second time);
- the foreign keys and the indexes other than the primary and unique keys are dropped for the
  copy and made again from their own definitions at its end, in the same transaction: a foreign
  key is then checked by one query over the table, an index built once from sorted rows, not
  both kept up row by row (bench.move_scale, 100,000 citizens, 1.3 M rows: 95 s before);
- then the check, on a new connection: for every table, its row count and a checksum of all its
  rows, equal on both sides. The checksum is the sum modulo 2^256 of a SHA-256 per row over every
  column in the SQLite schema's order (so it does not depend on row order, which the two engines
  need not share): every vote, phone hash and audit entry, and every other row, are compared.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from storage.search import SQLITE_ONLY_PREFIX

BATCH = 5000
# The engine's own bookkeeping: present in an "empty" database once migrated, never copied.
PG_OWN_TABLES = {"schema_version"}
_MOD = 2 ** 256


class MoveError(Exception):
    """One line for the operator, naming the file or the database at fault."""


@dataclass(frozen=True)
class TableCheck:
    name: str
    source_rows: int
    target_rows: int
    source_sum: int
    target_sum: int

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and self.source_sum == self.target_sum


@dataclass(frozen=True)
class MoveReport:
    source: Path
    target: str  # the address, password hidden
    tables: list[TableCheck]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(table.ok for table in self.tables)

    def lines(self) -> list[str]:
        """The short report: per table its rows and the start of its checksum, equal or not."""
        width = max((len(t.name) for t in self.tables), default=5)
        out = [f"moved {self.source} to {self.target} in {self.seconds:.1f} s; per table, rows and the "
               "SHA-256 sum of all its rows on both sides:"]
        for t in self.tables:
            verdict = "equal" if t.ok else f"DIFFERENT: {t.target_rows:,} rows, sum {t.target_sum:064x}"[:40]
            out.append(f"  {t.name:<{width}}  {t.source_rows:>11,}  {t.source_sum:064x}"[:width + 32] + f"…  {verdict}")
        out.append("every table is equal: set [database] url to this address in the config and start the bot"
                   if self.ok else "the copy is NOT equal: keep the bot on SQLite, and report this output")
        return out


# -- rows and their checksum ----------------------------------------------------------------------

def _canonical(value) -> bytes:
    if value is None:
        return b"N"
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return b"i" + str(value).encode()
    if isinstance(value, float):
        return b"f" + repr(value).encode()
    if isinstance(value, bytes | bytearray | memoryview):
        return b"b" + bytes(value).hex().encode()
    return b"s" + str(value).encode("utf-8", "surrogatepass")


def row_digest(row: Iterable) -> int:
    h = hashlib.sha256()
    for value in row:
        part = _canonical(value)
        h.update(len(part).to_bytes(4, "big"))
        h.update(part)
    return int.from_bytes(h.digest(), "big")


def _converter(pg_type: str) -> Callable:
    """A SQLite value as PostgreSQL stores it in a column of ``pg_type`` (SQLite keeps whatever
    type it was given; a column's declared type is only a preference there)."""
    if pg_type in ("bigint", "integer", "smallint"):
        return lambda v: v if v is None or isinstance(v, int) else int(v)
    if pg_type in ("double precision", "real", "numeric"):
        return lambda v: v if v is None or isinstance(v, float) else float(v)
    if pg_type == "boolean":
        return lambda v: v if v is None else bool(v)
    if pg_type == "bytea":
        return lambda v: v if v is None or isinstance(v, bytes) else str(v).encode()
    return lambda v: v if v is None or isinstance(v, str) else (v.decode() if isinstance(v, bytes) else str(v))


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# -- the source -----------------------------------------------------------------------------------

async def _prepare_source(path: Path) -> None:
    """This release's schema, as the bot would apply at start."""
    from storage.db import Database

    if not path.is_file():
        raise MoveError(f"database {path} not found (general.database in the config)")
    await _migrated(Database(path))


def _open_source(path: Path, now: dt.datetime) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        try:
            # Held to the end of the check: nothing changes under the copy.
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise MoveError(f"database {path} is busy ({exc}): stop the bot first") from None
        for name, holder, expires in conn.execute("SELECT name, holder, expires_at FROM leases"):
            if dt.datetime.fromisoformat(expires) > now:
                raise MoveError(f"database {path}: the bot seems to be running (lease {name} held by {holder} "
                                f"until {expires}); stop it first, then move")
        return conn
    except BaseException:
        conn.close()
        raise


def _source_tables(conn: sqlite3.Connection) -> list[tuple[str, list[str]]]:
    names = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")
        if not row[0].startswith(SQLITE_ONLY_PREFIX)]  # FTS5's index: PostgreSQL has its own
    return [(name, [row[1] for row in conn.execute(f"PRAGMA table_info({_quoted(name)})")]) for name in names]


# -- the target -----------------------------------------------------------------------------------

def _connect(url: str):
    import psycopg
    return psycopg.connect(url, autocommit=True, prepare_threshold=None, connect_timeout=10)


def _tables_with_rows(raw) -> list[tuple[str, int]]:
    names = [row[0] for row in raw.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
        "AND table_type = 'BASE TABLE' ORDER BY table_name").fetchall()]
    found = []
    for name in names:
        if name in PG_OWN_TABLES:
            continue
        if raw.execute(f"SELECT EXISTS (SELECT 1 FROM {_quoted(name)})").fetchone()[0]:
            found.append((name, raw.execute(f"SELECT count(*) FROM {_quoted(name)}").fetchone()[0]))
    return found


def _refuse_unless_empty(url: str, shown: str) -> None:
    import psycopg
    try:
        with _connect(url) as raw:
            full = _tables_with_rows(raw)
    except psycopg.Error as exc:
        raise MoveError(f"database {shown}: {_first_line(exc)}") from None
    if full:
        name, rows = full[0]
        more = f" and {len(full) - 1} more table(s)" if len(full) > 1 else ""
        raise MoveError(f"database {shown} is not empty (table {name} has {rows:,} row(s){more}): "
                        "move-to-postgres copies into an empty database only; create a new one (createdb)")


async def _prepare_target(url: str) -> None:
    from storage.postgres import PgDatabase

    await _migrated(PgDatabase(url, pool_size=1))


async def _migrated(db) -> None:
    """Opening a database brings it to this release's schema; a fault is the operator's one line."""
    from storage.db import DatabaseUnusable

    try:
        await db.open()
    except DatabaseUnusable as exc:
        raise MoveError(str(exc)) from None
    finally:
        await db.close()


def _target_columns(raw) -> dict[str, dict[str, str]]:
    columns: dict[str, dict[str, str]] = {}
    for table, column, kind in raw.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"):
        columns.setdefault(table, {})[column] = kind
    return columns


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- the copy -------------------------------------------------------------------------------------

def _copy(source: sqlite3.Connection, url: str, tables: list[tuple[str, list[str]]], batch: int,
          progress: Callable[[str, int], None] | None) -> dict[str, tuple[int, int]]:
    """Every table in one transaction; returns (rows, checksum) per table, of the source."""
    sums: dict[str, tuple[int, int]] = {}
    with _connect(url) as raw:
        types = _target_columns(raw)
        for name, columns in tables:
            if name not in types:
                raise MoveError(f"table {name} has no counterpart in the PostgreSQL schema "
                                "(storage/migrations_postgres.py): this release cannot move it")
            missing = [c for c in columns if c not in types[name]]
            if missing:
                raise MoveError(f"column {name}.{missing[0]} has no counterpart in the PostgreSQL schema "
                                "(storage/migrations_postgres.py): this release cannot move it")
        with raw.transaction():
            remade = _drop_keys_and_indexes(raw, {name for name, _ in tables})
            triggered = [row[0] for row in raw.execute(
                "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace").fetchall()]
            for table in triggered:
                raw.execute(f"ALTER TABLE {_quoted(table)} DISABLE TRIGGER USER")
            for name, columns in tables:
                convert = [_converter(types[name][c]) for c in columns]
                count, total = 0, 0
                cursor = source.execute(f"SELECT {', '.join(map(_quoted, columns))} FROM {_quoted(name)}")
                with raw.cursor().copy(f"COPY {_quoted(name)} ({', '.join(map(_quoted, columns))}) FROM STDIN") as copy:
                    while rows := cursor.fetchmany(batch):
                        for row in rows:
                            row = [f(v) for f, v in zip(convert, row, strict=True)]
                            copy.write_row(row)
                            total += row_digest(row)
                        count += len(rows)
                        if progress is not None:
                            progress(name, count)
                sums[name] = (count, total % _MOD)
            for table in triggered:
                raw.execute(f"ALTER TABLE {_quoted(table)} ENABLE TRIGGER USER")
            _move_sequences(raw)
            for statement in remade:  # the indexes, then the foreign keys (checked here)
                raw.execute(statement)
    return sums


def _drop_keys_and_indexes(raw, copied: set[str]) -> list[str]:
    """Drops the foreign keys of the copied tables and their indexes that no key owns; returns
    the statements that make them again, indexes first (as they were: their own definitions)."""
    keys = raw.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace ORDER BY c.oid").fetchall()
    indexes = raw.execute(
        "SELECT i.tablename, i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = to_regclass(quote_ident(i.indexname)) "
        "AND c.connamespace = current_schema()::regnamespace) ORDER BY i.indexname").fetchall()
    remade: list[str] = []
    for table, name, definition in keys:
        if table.strip('"') in copied:
            raw.execute(f"ALTER TABLE {table} DROP CONSTRAINT {_quoted(name)}")
            remade.append(f"ALTER TABLE {table} ADD CONSTRAINT {_quoted(name)} {definition}")
    for table, name, definition in indexes:
        if table in copied:
            raw.execute(f"DROP INDEX {_quoted(name)}")
            remade.insert(0, definition)
    return remade


def _move_sequences(raw) -> None:
    """Each identity's next value past the highest id copied."""
    for table, column in raw.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND is_identity = 'YES'").fetchall():
        highest = raw.execute(f"SELECT max({_quoted(column)}) FROM {_quoted(table)}").fetchone()[0]
        if highest is not None:
            raw.execute("SELECT setval(pg_get_serial_sequence(%s, %s), %s)",
                        (_quoted(table), column, highest))


# -- the check ------------------------------------------------------------------------------------

def _check(url: str, tables: list[tuple[str, list[str]]], sums: dict[str, tuple[int, int]]) -> list[TableCheck]:
    checks = []
    with _connect(url) as raw:
        raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        try:
            for name, columns in tables:
                count, total = 0, 0
                cursor = raw.cursor(name=f"check_{name}")  # server-side: streamed, not all in memory
                cursor.execute(f"SELECT {', '.join(map(_quoted, columns))} FROM {_quoted(name)}")
                while rows := cursor.fetchmany(BATCH):
                    count += len(rows)
                    for row in rows:
                        total += row_digest(row)
                cursor.close()
                rows, source_sum = sums[name]
                checks.append(TableCheck(name, rows, count, source_sum, total % _MOD))
        finally:
            raw.execute("COMMIT")
    return checks


def _source_check(source: sqlite3.Connection, tables: list[tuple[str, list[str]]],
                  sums: dict[str, tuple[int, int]]) -> None:
    """The source's own counts again, inside the same lock: what was copied is all there is."""
    for name, _ in tables:
        (count,) = source.execute(f"SELECT count(*) FROM {_quoted(name)}").fetchone()
        if count != sums[name][0]:
            raise MoveError(f"table {name} changed during the copy ({sums[name][0]:,} then {count:,} rows)")


# -- the whole move -------------------------------------------------------------------------------

async def move_to_postgres(sqlite_path: Path | str, url: str, *, batch: int = BATCH,
                           progress: Callable[[str, int], None] | None = None,
                           now: dt.datetime | None = None) -> MoveReport:
    """Copies the campaign at ``sqlite_path`` into the empty database at ``url`` and checks it.
    Raises MoveError (one line) when it cannot; a copy that differs is in the report (not ok)."""
    import psycopg

    from storage.postgres import display_url

    path, shown = Path(sqlite_path), display_url(url)
    started = time.monotonic()
    now = now or dt.datetime.now(dt.UTC)
    await _prepare_source(path)
    await asyncio.to_thread(_refuse_unless_empty, url, shown)
    await _prepare_target(url)
    await asyncio.to_thread(_refuse_unless_empty, url, shown)  # the schema's own rows, if any, count too

    def run() -> list[TableCheck]:
        source = _open_source(path, now)
        try:
            tables = _source_tables(source)
            sums = _copy(source, url, tables, batch, progress)
            _source_check(source, tables, sums)
            return _check(url, tables, sums)
        finally:
            if source.in_transaction:
                source.execute("ROLLBACK")  # nothing was written: the lock only
            source.close()

    try:
        checks = await asyncio.to_thread(run)
    except psycopg.Error as exc:
        raise MoveError(f"database {shown}: {_first_line(exc).replace(url, shown)}") from None
    except sqlite3.Error as exc:
        raise MoveError(f"database {path}: {exc}") from None
    return MoveReport(path, shown, checks, time.monotonic() - started)
