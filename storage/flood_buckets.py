"""Each person's flood-control buckets, shared by every worker process (PostgreSQL only).

One process keeps its people's buckets in memory (bot/campaign/flood.py). Several workers each
kept their own, so N workers gave a person N times the allowance (and a restarted worker a fresh
one). Here a row per (platform, person) holds the buckets; the rule that refills and takes from
them stays bot/campaign/flood.py's (``decide``, called inside the transaction with the row locked).

A person's updates reach the workers one at a time (storage/inbox.py), so the row lock is hardly
ever waited for; it keeps the rule whole if the same person is checked from two places anyway.
``last_update`` makes an update handled again (taken over after a kill) cost nothing twice: it gets
the verdict its first attempt got.

The table: storage/migrations_postgres.py, entry 12. Rows untouched for longer than the flood
horizon hold full buckets, exactly what a missing row means: ``prune`` forgets them.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

# (messages, buttons, touched, last_excess) -> the same, updated, and the verdict's value.
Buckets = tuple[float, float, float, "float | None"]
Decide = Callable[["Buckets | None"], tuple[Buckets, str]]


def _take(conn: Any, platform: str, user_id: int, update_id: int, decide: Decide) -> str:
    row = conn.execute(
        "SELECT messages, buttons, touched, last_excess, last_update, last_verdict FROM flood_buckets "
        "WHERE platform = ? AND user_id = ? FOR UPDATE", (platform, user_id)).fetchone()
    if row is not None and row[4] == update_id:
        return row[5]
    buckets, verdict = decide(None if row is None else (row[0], row[1], row[2], row[3]))
    conn.execute(
        "INSERT INTO flood_buckets (platform, user_id, messages, buttons, touched, last_excess, last_update, "
        "last_verdict) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (platform, user_id) DO UPDATE SET "
        "messages = excluded.messages, buttons = excluded.buttons, touched = excluded.touched, "
        "last_excess = excluded.last_excess, last_update = excluded.last_update, last_verdict = excluded.last_verdict",
        (platform, user_id, *buckets, update_id, verdict))
    return verdict


class FloodBucketRepository:
    def __init__(self, db: Any) -> None:
        self.db = db

    async def take(self, platform: str, user_id: int, update_id: int, decide: Decide) -> str:
        """One update of this person against their buckets: ``decide`` (run with the row locked)
        gives the new buckets and the verdict; the same update again gets the same verdict."""
        return await self.db.write(_take, platform, user_id, update_id, decide)

    async def prune(self, before: float) -> int:
        """Forgets the buckets untouched since ``before`` (epoch seconds of the flood clock)."""
        return await self.db.write(lambda conn: conn.execute(
            "DELETE FROM flood_buckets WHERE touched < ?", (before,)).rowcount)
