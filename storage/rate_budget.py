"""One send-rate budget per bot, shared by every process on a PostgreSQL database.

A row per bot holds ``next_at``: the moment (the database's clock, seconds since the epoch) of the
next free sending slot. Slots are ``1 / rate`` apart and every slot is handed out once, so all the
processes together never send two messages closer than that (the generic cell rate algorithm with
no burst allowance). A process takes a few slots at a time under the row lock, one transaction
for a batch of messages, and spends them locally (bot/messenger/shared_rate.py).

Replies come before broadcasts when the budget is short: a reply may book slots up to
``horizon`` seconds ahead (a second: it waits in line), a broadcast only while the next free slot
is a few milliseconds ahead, so citizens' replies that keep the line longer than that hold the
broadcast back. So that a broadcast is never stopped for good, it still gets one slot in line
every ``1 / (rate * min_share)`` seconds (``bulk_forced_at`` records the last).

PostgreSQL only (the table is storage/migrations_postgres.py's entry 2): on SQLite one process
sends, and paces itself in memory as it always has.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Grant:
    """Slots ``first_at + i * interval`` for i < ``count``, in the database's clock (epoch
    seconds), which read ``db_now`` when they were granted. With no slot (count 0) the caller
    asks again at ``retry_at``."""

    db_now: float
    first_at: float
    interval: float
    count: int
    retry_at: float


def _take(conn, name: str, rate: float, want: int, horizon: float, bulk: bool, min_share: float,
          lead: float) -> Grant:
    conn.execute("INSERT INTO rate_budgets (name, next_at, bulk_forced_at) VALUES (?, 0, 0) "
                 "ON CONFLICT (name) DO NOTHING", (name,))
    # The row lock makes the takers of one bot queue here, for a few statements each.
    row = conn.execute("SELECT next_at, bulk_forced_at, EXTRACT(EPOCH FROM clock_timestamp())::float8 AS now "
                       "FROM rate_budgets WHERE name = ? FOR UPDATE", (name,)).fetchone()
    next_at, forced_at, now = float(row["next_at"]), float(row["bulk_forced_at"]), float(row["now"])
    interval = 1.0 / rate
    # Time left unused is gone (no burst after a quiet spell); a slot is never sooner than the
    # grant can reach its process (``lead``).
    start = max(next_at, now + lead)
    if start > now + lead + horizon:
        if bulk and min_share > 0 and now - forced_at >= 1.0 / (rate * min_share):
            conn.execute("UPDATE rate_budgets SET next_at = ?, bulk_forced_at = ? WHERE name = ?",
                         (start + interval, now, name))
            return Grant(now, start, interval, 1, start)
        retry_at = start - lead - horizon
        if bulk and min_share > 0:
            retry_at = min(retry_at, forced_at + 1.0 / (rate * min_share))
        return Grant(now, start, interval, 0, retry_at)
    count = max(1, min(want, math.floor((now + lead + horizon - start) / interval) + 1))
    conn.execute("UPDATE rate_budgets SET next_at = ? WHERE name = ?", (start + count * interval, name))
    return Grant(now, start, interval, count, start + count * interval)


class RateBudgetRepository:
    def __init__(self, db: Any) -> None:
        """``db``: a storage.postgres.PgDatabase (the table exists on PostgreSQL only)."""
        self.db = db

    async def take(self, name: str, rate: float, want: int, *, horizon: float, bulk: bool = False,
                   min_share: float = 0.0, lead: float = 0.0) -> Grant:
        """Up to ``want`` slots (at least one unless the line is longer than ``horizon``) of the
        budget ``name``, at ``rate`` slots per second, none sooner than ``lead`` seconds from
        now; ``bulk``: a broadcast's, which gives way to replies (see the module's docstring)."""
        return await self.db.write(_take, name, rate, max(1, want), horizon, bulk, min_share, lead)

    async def clock(self) -> float:
        """The database's clock (epoch seconds): the one the slots are in."""
        row = await self.db.read(lambda conn: conn.execute(
            "SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8").fetchone())
        return float(row[0])

