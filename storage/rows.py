"""Small helpers every repository uses: timestamps as UTC ISO text, one row, one count."""
from __future__ import annotations

import datetime as dt
import sqlite3

# What is put to the vote: approved by a moderator, feasible and costed by a reviewer.
ON_BALLOT = "status = 'approved' AND feasibility = 'feasible' AND cost IS NOT NULL"


def _ts(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(dt.UTC).isoformat()


def _dt(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


def _one(conn: sqlite3.Connection, sql: str, params: tuple = ()) -> sqlite3.Row | None:
    return conn.execute(sql, params).fetchone()


def _count(conn: sqlite3.Connection, sql: str, params: tuple = ()) -> int:
    return conn.execute(sql, params).fetchone()[0]


def _locked(conn: sqlite3.Connection, of: str = "") -> str:
    """`` FOR UPDATE`` (of the given tables) on PostgreSQL, nothing on SQLite: a read that a write
    in the same transaction depends on. SQLite's write transaction (BEGIN IMMEDIATE) already holds
    the database's one write lock; PostgreSQL under READ COMMITTED needs the row lock, or two
    transactions read the same row, both decide, and both write."""
    if conn.dialect == "sqlite":
        return ""
    return f" FOR UPDATE OF {of}" if of else " FOR UPDATE"
