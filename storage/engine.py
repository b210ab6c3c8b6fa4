"""Which engine a configured database names: a file path is SQLite (storage/db.py), a
``postgresql://`` (or ``postgres://``) URL is PostgreSQL (storage/postgres.py, imported only then:
the embedded default never loads psycopg)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from storage.db import Database

if TYPE_CHECKING:
    from storage.postgres import PgDatabase

URL_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(value: str | Path | None) -> bool:
    return isinstance(value, str) and value.startswith(URL_SCHEMES)


def shared_by_processes(db: object) -> bool:
    """Whether several processes may use this (opened) database at once: PostgreSQL. SQLite here
    serves one process, which then holds the whole send rate and every scheduled duty."""
    return getattr(db, "dialect", "sqlite") == "postgresql"


def open_database(value: str | Path) -> Database | PgDatabase:
    """The database for ``value`` (``[database] url`` when set, else ``general.database``), not yet
    opened: the caller awaits ``open()`` (which migrates) and later ``close()``. Both engines have
    the same API (read / write / read_apart)."""
    if is_postgres(value):
        from storage.postgres import PgDatabase
        return PgDatabase(str(value))
    return Database(value if str(value) == ":memory:" else Path(value))
