"""Online backup of the database with SQLite's backup API, while the bot serves.

How a copy stays consistent without stopping the bot:
- The source connection holds one read transaction for the whole copy. The bot's database is
  always in WAL mode (storage/db.py), where a reader never blocks the bot's writes (they go to the
  -wal file; only its checkpoint waits), and every page comes from that one snapshot. Without it
  SQLite restarts a stepped backup whenever another connection commits, which on a busy bot means
  a backup that never finishes (tests/test_backup.py catches that).
- The copy goes PAGES_PER_STEP pages at a time, reporting progress after each step.
- It is written to a hidden temporary file in the target's folder, switched to a single file
  (journal_mode DELETE: no -wal beside it), checked (integrity_check, foreign_key_check), synced,
  and only then given its name. A failed backup leaves nothing under the final name.
- It opens the source read-only and never runs migrations: backing up never changes the database.

On PostgreSQL ([database] url), ``pg_backup`` runs pg_dump in its custom format (restore with
pg_restore) from one exported snapshot, whose row counts it reports: the counts are those of the
dump. It needs PostgreSQL's client programs (pg_dump, pg_restore) of the server's major version or
newer, and a direct connection (not through pgbouncer in transaction mode: a snapshot is exported
by one session and imported by another).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PAGES_PER_STEP = 1024  # 4 MiB at SQLite's default 4 KiB page


class BackupError(Exception):
    """One line for the operator, naming the file or folder at fault."""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    size: int  # bytes
    pages: int
    seconds: float
    tables: dict[str, int]  # rows per table, in the schema's order


def backup(source: Path | str, target: Path | str, *, force: bool = False, pages_per_step: int = PAGES_PER_STEP,
           progress: Callable[[int, int], None] | None = None) -> BackupReport:
    """Copy the database at ``source`` to ``target`` while other connections keep writing.

    ``progress(copied_pages, total_pages)`` is called after every step. Refuses an existing
    ``target`` unless ``force``; raises BackupError with a one-line reason.
    """
    source, target = Path(source), Path(target)
    started = time.monotonic()
    _check_paths(source, target, force)
    fd, name = _temp_file(target)
    temp = Path(name)
    os.close(fd)
    try:
        _copy(source, temp, pages_per_step, progress)
        pages, tables = _verify(temp, what=f"the copy of {source}", immutable=True)
        _fsync(temp)
        _put_in_place(temp, target, force)
    except BaseException:
        for leftover in (temp, temp.with_name(temp.name + "-journal")):
            with contextlib.suppress(OSError):
                leftover.unlink()
        raise
    return BackupReport(target, target.stat().st_size, pages, time.monotonic() - started, tables)


def check(path: Path | str) -> BackupReport:
    """Check an existing copy (integrity, foreign keys) and count its rows, without changing it."""
    path = Path(path)
    started = time.monotonic()
    if not path.is_file():
        raise BackupError(f"{path} not found")
    # A copy made by backup() has no -wal: read it as immutable, so checking creates no -shm or
    # -wal beside it. A file with a -wal (a live database) is read through its WAL as usual.
    immutable = not Path(f"{path}-wal").exists()
    pages, tables = _verify(path, what=str(path), immutable=immutable)
    return BackupReport(path, path.stat().st_size, pages, time.monotonic() - started, tables)


def _check_paths(source: Path, target: Path, force: bool) -> None:
    if not source.is_file():
        raise BackupError(f"database {source} not found (general.database in the config)")
    if target.is_dir():
        raise BackupError(f"{target} is a folder; give the backup's file name, e.g. {target / 'manshahrdaram.sqlite3'}")
    folder = target.parent
    if not folder.is_dir():
        raise BackupError(f"folder {folder} does not exist")
    if target.exists() and not force:
        raise BackupError(f"{target} already exists (use --force to replace it)")
    live = source.resolve()
    if target.resolve() in (live, live.with_name(live.name + "-wal"), live.with_name(live.name + "-shm")):
        raise BackupError(f"{target} is the database itself; back it up to another file")


def _temp_file(target: Path) -> tuple[int, str]:
    try:
        # In the target's folder, so the final rename stays on one file system (atomic).
        return tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    except OSError as exc:
        raise BackupError(f"cannot write in folder {target.parent}: {exc.strerror or exc}") from None


def _copy(source: Path, temp: Path, pages_per_step: int, progress: Callable[[int, int], None] | None) -> None:
    def step(status: int, remaining: int, total: int) -> None:
        if progress is not None:
            progress(total - remaining, total)

    try:
        # mode=ro: a wrong path must not create an empty database, and a backup changes nothing.
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise BackupError(f"database {source}: {exc}") from None
    try:
        dst = sqlite3.connect(temp, isolation_level=None)
        try:
            try:
                src.execute("PRAGMA busy_timeout = 5000")
                # The snapshot every step reads from (see the module's docstring).
                src.execute("BEGIN")
                src.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.Error as exc:
                raise BackupError(f"database {source}: {exc}") from None
            try:
                src.backup(dst, pages=max(1, pages_per_step), progress=step)
                # The copy carries the source's WAL flag; one self-contained file is easier to
                # move, check and restore (the bot switches it back to WAL when it opens it).
                dst.execute("PRAGMA journal_mode = DELETE").fetchone()
            except sqlite3.Error as exc:
                raise BackupError(f"writing {temp.parent}: {exc}") from None
            src.execute("COMMIT")
        finally:
            dst.close()
    finally:
        src.close()


def _verify(path: Path, what: str, immutable: bool = False) -> tuple[int, dict[str, int]]:
    """(pages, rows per table) of a database that passes both checks."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro{'&immutable=1' if immutable else ''}", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"{what}: {exc}") from None
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise BackupError(f"{what} failed its integrity check: {'; '.join(problems[:3])}")
        orphans = conn.execute("PRAGMA foreign_key_check").fetchall()
        if orphans:
            table, rowid, parent, _ = orphans[0]
            raise BackupError(f"{what} failed its foreign key check: {len(orphans)} row(s), "
                              f"e.g. {table} row {rowid} points to a missing {parent}")
        names = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]
        # Names come from the schema itself, quoted as identifiers.
        tables = {name: conn.execute(f'SELECT count(*) FROM "{name.replace(chr(34), chr(34) * 2)}"').fetchone()[0]
                  for name in names}
        return conn.execute("PRAGMA page_count").fetchone()[0], tables
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{what}: {exc}") from None
    finally:
        conn.close()


def _fsync(path: Path) -> None:
    with open(path, "rb+") as file:
        os.fsync(file.fileno())


def _put_in_place(temp: Path, target: Path, force: bool) -> None:
    try:
        if force:
            os.replace(temp, target)
        else:
            try:
                # A hard link never replaces an existing file: two backups racing for one name
                # cannot overwrite each other.
                os.link(temp, target)
            except FileExistsError:
                raise BackupError(f"{target} already exists (use --force to replace it)") from None
            except OSError:  # a file system without hard links
                if target.exists():
                    raise BackupError(f"{target} already exists (use --force to replace it)") from None
                os.replace(temp, target)
            else:
                temp.unlink()
        _fsync_folder(target.parent)
    except BackupError:
        raise
    except OSError as exc:
        raise BackupError(f"cannot write {target}: {exc.strerror or exc}") from None


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); not possible, and not needed, on Windows."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- PostgreSQL: pg_dump's custom format ----------------------------------------------------------

PG_DUMP_MAGIC = b"PGDMP"


def is_pg_dump(path: Path | str) -> bool:
    """Whether ``path`` is a pg_dump archive in the custom format (by its first bytes)."""
    try:
        with open(path, "rb") as file:
            return file.read(len(PG_DUMP_MAGIC)) == PG_DUMP_MAGIC
    except OSError:
        return False


def _client_program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found on PATH: a PostgreSQL backup needs PostgreSQL's client programs "
                          "(Debian/Ubuntu: apt install postgresql-client), of the server's major version or newer")
    return found


def pg_backup(url: str, target: Path | str, *, force: bool = False) -> BackupReport:
    """pg_dump of the database at ``url`` into ``target`` (custom format), from one snapshot whose
    row counts are reported; written to a temporary file, read back with pg_restore --list, then
    given its name. Raises BackupError with one line."""
    import psycopg

    from storage.postgres import display_url

    target, shown = Path(target), display_url(url)
    started = time.monotonic()
    pg_dump, pg_restore = _client_program("pg_dump"), _client_program("pg_restore")
    _check_target(target, force)
    fd, name = _temp_file(target)
    os.close(fd)
    temp = Path(name)
    try:
        try:
            with psycopg.connect(url, autocommit=True, prepare_threshold=None, connect_timeout=10) as conn:
                # The dump reads the snapshot this transaction exported, while it stays open.
                conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
                schema = conn.execute("SELECT current_schema()").fetchone()[0]
                tables = _pg_counts(conn)
                command = [pg_dump, "--format=custom", f"--file={temp}", f"--snapshot={snapshot}", "--no-password"]
                if schema != "public":  # a deployment in a schema of its own (search_path in the URL)
                    command.append(f"--schema={schema}")
                done = subprocess.run([*command, url], capture_output=True, text=True)
                conn.execute("COMMIT")
        except psycopg.Error as exc:
            raise BackupError(f"database {shown}: {_first_line(str(exc), type(exc).__name__)}") from None
        if done.returncode != 0:
            raise BackupError(f"pg_dump of {shown} failed: {_first_line(done.stderr.replace(url, shown), 'no message')}")
        _pg_list(pg_restore, temp, f"the dump of {shown}")
        _fsync(temp)
        _put_in_place(temp, target, force)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return BackupReport(target, target.stat().st_size, 0, time.monotonic() - started, tables)


def pg_check(path: Path | str) -> BackupReport:
    """An existing pg_dump archive read through by pg_restore --list; its tables with data."""
    path = Path(path)
    started = time.monotonic()
    if not path.is_file():
        raise BackupError(f"{path} not found")
    listed = _pg_list(_client_program("pg_restore"), path, str(path))
    return BackupReport(path, path.stat().st_size, 0, time.monotonic() - started, {name: -1 for name in listed})


def _pg_list(pg_restore: str, path: Path, what: str) -> list[str]:
    """The tables whose data the archive holds; BackupError if pg_restore cannot read it."""
    done = subprocess.run([pg_restore, "--list", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{what} is not readable by pg_restore: {_first_line(done.stderr, 'no message')}")
    # Lines like "3401; 0 16390 TABLE DATA public votes postgres".
    return [line.split()[-2] for line in done.stdout.splitlines()
            if not line.startswith(";") and " TABLE DATA " in line]


def _pg_counts(conn) -> dict[str, int]:
    names = [row[0] for row in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
        "AND table_type = 'BASE TABLE' ORDER BY table_name").fetchall()]
    return {name: conn.execute(f'SELECT count(*) FROM "{name.replace(chr(34), chr(34) * 2)}"').fetchone()[0]
            for name in names}


def _check_target(target: Path, force: bool) -> None:
    if target.is_dir():
        raise BackupError(f"{target} is a folder; give the backup's file name, e.g. {target / 'manshahrdaram.dump'}")
    if not target.parent.is_dir():
        raise BackupError(f"folder {target.parent} does not exist")
    if target.exists() and not force:
        raise BackupError(f"{target} already exists (use --force to replace it)")


def _first_line(text: str, default: str) -> str:
    text = text.strip()
    return text.splitlines()[0] if text else default
