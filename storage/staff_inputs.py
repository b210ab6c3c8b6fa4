"""What a staff member's next message answers (a broadcast's content, a time, a cost…)."""
from __future__ import annotations

import datetime as dt

from storage.db import Database
from storage.rows import _dt, _one, _ts


class StaffInputRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def expect(self, platform: str, user_id: int, kind: str, target: str | None, now: dt.datetime) -> None:
        await self.db.write(lambda conn: conn.execute(
            "INSERT INTO staff_inputs (platform, user_id, kind, target, created_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (platform, user_id) DO UPDATE SET kind = excluded.kind, target = excluded.target, "
            "created_at = excluded.created_at",
            (platform, user_id, kind, target, _ts(now))))

    async def expected(self, platform: str, user_id: int, since: dt.datetime) -> tuple[str, str | None] | None:
        """The open question, if asked after ``since`` (older ones have expired)."""
        row = await self.db.read(_one, "SELECT kind, target, created_at FROM staff_inputs WHERE platform = ? AND user_id = ?",
                                 (platform, user_id))
        if row is None or _dt(row["created_at"]) < since:
            return None
        return row["kind"], row["target"]

    async def clear(self, platform: str, user_id: int) -> None:
        await self.db.write(lambda conn: conn.execute(
            "DELETE FROM staff_inputs WHERE platform = ? AND user_id = ?", (platform, user_id)))
