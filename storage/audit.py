"""The audit log: every staff action, who, what, when, before → after. Append-only.

Beside it, the staff's names (staff_names): first name and @username as their messenger last showed
them, so the log can name people instead of ids.
"""
from __future__ import annotations

import datetime as dt

from domain import AuditEntry, AuditFilter, StaffName
from storage.db import Database
from storage.rows import _dt, _ts


class AuditRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, actor: str, action: str, target: str, before: str | None, after: str | None,
                     now: dt.datetime) -> None:
        await self.db.write(lambda conn: conn.execute(
            "INSERT INTO audit (at, actor, action, target, before, after) VALUES (?, ?, ?, ?, ?, ?)",
            (_ts(now), actor, action, target, before, after)))

    async def recent(self, limit: int, offset: int = 0, only: AuditFilter | None = None) -> list[AuditEntry]:
        where, params = _where(only or AuditFilter())
        rows = await self.db.read(lambda conn: conn.execute(
            f"SELECT * FROM audit{where} ORDER BY id DESC LIMIT ? OFFSET ?", (*params, limit, offset)).fetchall())
        return [AuditEntry(r["id"], _dt(r["at"]), r["actor"], r["action"], r["target"], r["before"], r["after"])
                for r in rows]

    async def actors(self, limit: int) -> list[str]:
        """Who appears in the log, the most recent first."""
        rows = await self.db.read(lambda conn: conn.execute(
            "SELECT actor, MAX(id) AS last FROM audit GROUP BY actor ORDER BY last DESC LIMIT ?", (limit,)).fetchall())
        return [r["actor"] for r in rows]

    async def actions(self) -> list[str]:
        """The kinds of action in the log, the most recent first."""
        rows = await self.db.read(lambda conn: conn.execute(
            "SELECT action, MAX(id) AS last FROM audit GROUP BY action ORDER BY last DESC").fetchall())
        return [r["action"] for r in rows]

    async def days(self, utc_offset_minutes: int, limit: int) -> list[dt.date]:
        """The local days (UTC moved by the offset) on which something was logged, the latest first."""
        shift = f"{utc_offset_minutes:+d} minutes"
        rows = await self.db.read(lambda conn: conn.execute(
            "SELECT DISTINCT date(at, ?) AS day FROM audit ORDER BY day DESC LIMIT ?", (shift, limit)).fetchall())
        return [dt.date.fromisoformat(r["day"]) for r in rows]

    # -- the staff's names --------------------------------------------------------------------------

    async def remember_name(self, actor: str, first_name: str, username: str | None, now: dt.datetime) -> None:
        await self.db.write(lambda conn: conn.execute(
            "INSERT INTO staff_names (actor, first_name, username, seen_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (actor) DO UPDATE SET first_name = excluded.first_name, username = excluded.username, "
            "seen_at = excluded.seen_at", (actor, first_name, username, _ts(now))))

    async def names(self, actors: list[str]) -> dict[str, StaffName]:
        if not actors:
            return {}
        marks = ", ".join("?" * len(actors))
        rows = await self.db.read(lambda conn: conn.execute(
            f"SELECT actor, first_name, username FROM staff_names WHERE actor IN ({marks})", tuple(actors)).fetchall())
        return {r["actor"]: StaffName(r["first_name"], r["username"]) for r in rows}


def _where(only: AuditFilter) -> tuple[str, tuple]:
    clauses, params = [], []
    if only.actor is not None:
        clauses.append("actor = ?")
        params.append(only.actor)
    if only.action is not None:
        clauses.append("action = ?")
        params.append(only.action)
    if only.since is not None:
        clauses.append("at >= ?")
        params.append(_ts(only.since))
    if only.until is not None:
        clauses.append("at < ?")
        params.append(_ts(only.until))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)
