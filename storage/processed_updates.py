"""The updates the bot has handled, per messenger, and the conversation states they left.

An update the messenger delivers again after a crash is looked up here and skipped (see
bot/messenger/update_journal.py). Both are written in one transaction, so an update never counts as handled
while the conversation step it moved to is unsaved.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Mapping

from storage.db import Database
from storage.rows import _one, _ts

# (ConversationHandler name, key as JSON) -> state as JSON, or None when the conversation ended.
States = Mapping[tuple[str, str], "str | None"]


def _write_states(conn: sqlite3.Connection, states: States) -> None:
    ended = [(name, key) for (name, key), state in states.items() if state is None]
    if ended:
        conn.executemany("DELETE FROM conversations WHERE name = ? AND key = ?", ended)
    going = [(name, key, state) for (name, key), state in states.items() if state is not None]
    if going:
        conn.executemany(
            "INSERT INTO conversations (name, key, state) VALUES (?, ?, ?) "
            "ON CONFLICT (name, key) DO UPDATE SET state = excluded.state",
            going,
        )


class ProcessedUpdateRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, platform: str, update_ids: Iterable[int], states: States, now: dt.datetime) -> None:
        """The states, then the updates as handled at ``now``, committed together."""
        markers = [(platform, update_id, _ts(now)) for update_id in update_ids]

        def record(conn: sqlite3.Connection) -> None:
            if markers:
                # DO NOTHING: an update handled again within the window the journal documents.
                conn.executemany(
                    "INSERT INTO processed_updates (platform, update_id, processed_at) VALUES (?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    markers,
                )
            _write_states(conn, states)
        await self.db.write(record)

    async def contains(self, platform: str, update_id: int) -> bool:
        return await self.db.read(
            _one, "SELECT 1 FROM processed_updates WHERE platform = ? AND update_id = ?", (platform, update_id),
        ) is not None

    async def newest(self, platform: str, since: dt.datetime) -> int | None:
        """The highest update id handled from ``since`` on (None: none)."""
        row = await self.db.read(
            _one, "SELECT max(update_id) FROM processed_updates WHERE platform = ? AND processed_at >= ?",
            (platform, _ts(since)),
        )
        return row[0]

    async def prune(self, platform: str, before: dt.datetime, keep_last: int) -> int:
        """Forgets updates handled before ``before``, except the newest ``keep_last`` (by time);
        returns how many were forgotten."""
        def prune(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "DELETE FROM processed_updates WHERE platform = ? AND processed_at < ? AND processed_at < "
                "coalesce((SELECT processed_at FROM processed_updates WHERE platform = ? "
                "ORDER BY processed_at DESC LIMIT 1 OFFSET ?), '')",
                (platform, _ts(before), platform, keep_last - 1),
            ).rowcount
        return await self.db.write(prune)

    async def among(self, platform: str, update_ids: Iterable[int]) -> set[int]:
        """Which of these updates are recorded as handled."""
        ids = list(update_ids)

        def among(conn: sqlite3.Connection) -> set[int]:
            found: set[int] = set()
            for start in range(0, len(ids), 500):  # under SQLite's bound-parameter limit
                chunk = ids[start:start + 500]
                marks = ", ".join("?" for _ in chunk)
                found.update(row[0] for row in conn.execute(
                    f"SELECT update_id FROM processed_updates WHERE platform = ? AND update_id IN ({marks})",
                    (platform, *chunk)))
            return found
        return await self.db.read(among)

    async def count(self, platform: str) -> int:
        row = await self.db.read(_one, "SELECT count(*) FROM processed_updates WHERE platform = ?", (platform,))
        return row[0]
