"""The reply ledger: the Bot API calls a worker made for an update, with the messenger's answers
(PostgreSQL only; bot/cluster/reply_ledger.py writes and reads it).

A worker killed after an update's replies went out but before the update was marked done leaves the
update to another worker, which handles it again: the ledger lets that worker give PTB the recorded
answers instead of sending the same replies a second time.

Rows belong to an inbox row (platform, update_id): a foreign key with ON DELETE CASCADE, so they go
when the inbox forgets the update (storage/inbox.InboxRepository.prune), a day after it was done.
The table: storage/migrations_postgres.py, entry 6.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LedgerCall:
    platform: str
    update_id: int
    seq: int  # the call's place among the update's recorded calls, from 1
    method: str  # the Bot API method, as in the URL (sendMessage)
    chat_id: str  # the call's chat_id, else callback_query_id / inline_message_id, else ""
    status: int  # the HTTP status of the messenger's answer
    response: str  # the messenger's answer, the JSON body as received


def _record(conn: Any, rows: Sequence[tuple]) -> None:
    # ON CONFLICT: a call recorded already (a batch written again after a lost commit).
    conn.executemany(
        "INSERT INTO reply_ledger (platform, update_id, seq, method, chat_id, status, response) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", rows)


class ReplyLedgerRepository:
    """The reply ledger on a PostgreSQL database (storage.postgres.PgDatabase)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    async def record(self, calls: Sequence[LedgerCall]) -> None:
        """Stores calls (one transaction, committed when this returns)."""
        rows = [(c.platform, c.update_id, c.seq, c.method, c.chat_id, c.status, c.response) for c in calls]
        if rows:
            await self.db.write(_record, rows)

    async def calls_of(self, platform: str, update_id: int) -> list[LedgerCall]:
        """The calls recorded for one update, in their order."""
        rows = await self.db.read(lambda conn: conn.execute(
            "SELECT seq, method, chat_id, status, response FROM reply_ledger "
            "WHERE platform = ? AND update_id = ? ORDER BY seq", (platform, update_id)).fetchall())
        return [LedgerCall(platform, update_id, r[0], r[1], r[2], r[3], r[4]) for r in rows]
