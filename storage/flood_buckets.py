"""Each person's flood-control buckets, shared by every worker process (PostgreSQL only).

One process keeps its people's buckets in memory (bot/campaign/flood.py). Several workers each
kept their own, so N workers gave a person N times the allowance (and a restarted worker a fresh
one). Here a row per (platform, person) holds the buckets; the rule that refills and takes from
them stays bot/campaign/flood.py's.

Costs one read per update and no transaction of its own: the buckets an update leaves are written
in the transaction that marks the update done (storage/inbox.InboxJournalRepository.record, one for
every update finished meanwhile). That is also when the person's next update becomes claimable
(storage/inbox.py), so it reads them; and an update whose worker died before that commit is handled
again from the buckets as they were, so it is counted once. A separate durable write per update cost
PostgreSQL ~0.4-0.7 ms of CPU (its own commit), against ~0.05 for the read.

The table: storage/migrations_postgres.py, entries 12 and 16. Rows untouched for longer than the
flood horizon hold full buckets, exactly what a missing row means: ``prune`` forgets them.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# (messages, buttons, touched, last_excess): as bot/campaign/flood.FloodControl.decide reads and leaves them.
Buckets = tuple[float, float, float, "float | None"]


def write_buckets(conn: Any, rows: Sequence[tuple]) -> None:
    """(platform, user_id, messages, buttons, touched, last_excess, update_id, verdict) rows, inside the
    caller's transaction."""
    conn.executemany(
        "INSERT INTO flood_buckets (platform, user_id, messages, buttons, touched, last_excess, last_update, "
        "last_verdict) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (platform, user_id) DO UPDATE SET "
        "messages = excluded.messages, buttons = excluded.buttons, touched = excluded.touched, "
        "last_excess = excluded.last_excess, last_update = excluded.last_update, last_verdict = excluded.last_verdict",
        rows)


class FloodBucketRepository:
    def __init__(self, db: Any) -> None:
        self.db = db

    async def buckets(self, platform: str, user_id: int) -> Buckets | None:
        """This person's buckets as the last update done left them (None: full)."""
        row = await self.db.read(lambda conn: conn.execute(
            "SELECT messages, buttons, touched, last_excess FROM flood_buckets WHERE platform = ? AND user_id = ?",
            (platform, user_id)).fetchone())
        return None if row is None else (row[0], row[1], row[2], row[3])

    async def write(self, rows: Sequence[tuple]) -> None:
        """write_buckets in a transaction of its own (tests; a worker writes them with the update done)."""
        await self.db.write(write_buckets, rows)

    async def prune(self, before: float) -> int:
        """Forgets the buckets untouched since ``before`` (epoch seconds of the flood clock)."""
        return await self.db.write(lambda conn: conn.execute(
            "DELETE FROM flood_buckets WHERE touched < ?", (before,)).rowcount)
