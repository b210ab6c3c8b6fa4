"""The audit log: every staff action, who, what, when, before → after. Append-only."""
from __future__ import annotations

import datetime as dt

from domain import AuditEntry
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

    async def recent(self, limit: int, offset: int = 0) -> list[AuditEntry]:
        rows = await self.db.read(lambda conn: conn.execute(
            "SELECT * FROM audit ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset)).fetchall())
        return [AuditEntry(r["id"], _dt(r["at"]), r["actor"], r["action"], r["target"], r["before"], r["after"])
                for r in rows]
