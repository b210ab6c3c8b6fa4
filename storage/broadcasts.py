"""Broadcasts and their deliveries, the calendar's announcements and moves, and the sender lease.

A broadcast's recipients are written as rows when sending starts (INSERT … SELECT, never through
Python), so a 100,000-recipient broadcast costs the sender only the small batches it reads. Its
progress is read from counts that triggers keep beside those rows (migration 9), never by counting
them. Staff reads that scan every citizen run on a connection of their own (Database.read_apart):
the citizens' updates queue on the shared one.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable

from domain import (
    AMBASSADORS,
    CANCELLED,
    DONE,
    DRAFT,
    EVERYONE,
    NEIGHBOURHOODS,
    NON_VOTERS,
    SCHEDULED,
    SENDING,
    SUBSCRIBERS,
    UNCERTAIN,
    UNREACHABLE,
    Announcement,
    Audience,
    Broadcast,
    Delivery,
    DeliveryResult,
    Progress,
    Watcher,
)
from storage.db import Database
from storage.rows import _dt, _locked, _one, _ts

_PENDING, _SENDING = "pending", "sending"
# Citizen ids looked at per transaction when a broadcast starts: at most this many rows written,
# a few milliseconds, so a citizen's update queued behind one waits no longer (issue 13: at 10,000
# rows a transaction, 100 ms each). A span of ids, not a LIMIT: an audience few citizens are in
# (subscribers, one neighbourhood) would otherwise scan the whole table inside one transaction.
START_SPAN = 500


def _audience_json(audience: Audience) -> str:
    return json.dumps({"kind": audience.kind, "neighbourhoods": list(audience.neighbourhoods),
                       "platform": audience.platform})


def _audience(text: str | None) -> Audience | None:
    if text is None:
        return None
    data = json.loads(text)
    return Audience(data["kind"], tuple(data["neighbourhoods"]), data["platform"])


def _broadcast(row: sqlite3.Row | None) -> Broadcast | None:
    if row is None:
        return None
    return Broadcast(
        id=row["id"], status=row["status"], announcement=row["announcement"], created_by=row["created_by"],
        kind=row["kind"], text=row["text"], entities=row["entities"], source_platform=row["source_platform"],
        file_id=row["file_id"], audience=_audience(row["audience"]), send_at=_dt(row["send_at"]),
        created_at=_dt(row["created_at"]), started_at=_dt(row["started_at"]), finished_at=_dt(row["finished_at"]),
        cancelled_by=row["cancelled_by"], total=row["total"],
    )


def audience_filter(audience: Audience) -> tuple[str, list]:
    """The WHERE clause over ``citizens c`` for an audience; values are bound, never formatted."""
    clauses, params = ["c.unreachable_since IS NULL"], []
    if audience.platform is not None:
        clauses.append("c.platform = ?")
        params.append(audience.platform)
    if audience.kind == NEIGHBOURHOODS:
        clauses.append(f"c.neighbourhood_id IN ({', '.join('?' * len(audience.neighbourhoods)) or 'NULL'})")
        params += audience.neighbourhoods
    elif audience.kind == AMBASSADORS:
        clauses.append("c.id IN (SELECT citizen_id FROM ambassadors WHERE status = 'approved')")
    elif audience.kind == SUBSCRIBERS:
        clauses.append("c.remind_me = 1")
    elif audience.kind == NON_VOTERS:
        clauses.append("NOT EXISTS (SELECT 1 FROM votes v WHERE v.citizen_id = c.id)")
    elif audience.kind != EVERYONE:
        raise ValueError(f"unknown audience {audience.kind!r}")
    return " AND ".join(clauses), params


class BroadcastRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- the broadcast itself ---------------------------------------------------------------

    async def create(self, created_by: str, kind: str, text: str | None, now: dt.datetime, *,
                     entities: str | None = None, source_platform: str | None = None,
                     file_id: str | None = None) -> Broadcast:
        def create(conn: sqlite3.Connection) -> Broadcast:
            return _broadcast(_one(
                conn,
                "INSERT INTO broadcasts (status, created_by, kind, text, entities, source_platform, file_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
                (DRAFT, created_by, kind, text, entities, source_platform, file_id, _ts(now)),
            ))
        return await self.db.write(create)

    async def get(self, broadcast_id: int) -> Broadcast | None:
        return _broadcast(await self.db.read(_one, "SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,)))

    async def set_audience(self, broadcast_id: int, audience: Audience) -> bool:
        """Only a draft's audience can change."""
        def update(conn: sqlite3.Connection) -> bool:
            return conn.execute("UPDATE broadcasts SET audience = ? WHERE id = ? AND status = ?",
                                (_audience_json(audience), broadcast_id, DRAFT)).rowcount == 1
        return await self.db.write(update)

    async def count_audience(self, audience: Audience) -> dict[str, int]:
        """Recipients per platform, as they would be if sending started now."""
        where, params = audience_filter(audience)

        def count(conn: sqlite3.Connection) -> dict[str, int]:
            rows = conn.execute(f"SELECT c.platform, COUNT(*) FROM citizens c WHERE {where} GROUP BY c.platform", params)
            return {platform: n for platform, n in rows}
        return await self.db.read_apart(count)

    async def schedule(self, broadcast_id: int, send_at: dt.datetime, watcher: Watcher) -> bool:
        """draft → scheduled, with whom to show its progress; the worker starts it once
        ``send_at`` has come. False (and nothing written) if it is no longer a draft."""
        def update(conn: sqlite3.Connection) -> bool:
            if conn.execute(
                    "UPDATE broadcasts SET status = ?, send_at = ? WHERE id = ? AND status = ? AND audience IS NOT NULL",
                    (SCHEDULED, _ts(send_at), broadcast_id, DRAFT)).rowcount != 1:
                return False
            conn.execute("INSERT INTO broadcast_watchers (broadcast_id, platform, chat_id, message_id) "
                         "VALUES (?, ?, ?, NULL) ON CONFLICT DO NOTHING", (broadcast_id, watcher.platform, watcher.chat_id))
            return True
        return await self.db.write(update)

    async def cancel_drafts(self, created_by: str, keep: int, by: str, now: dt.datetime) -> int:
        """An admin's older drafts, superseded by a new one: their buttons stop working."""
        def update(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "UPDATE broadcasts SET status = ?, cancelled_by = ?, finished_at = ? "
                "WHERE created_by = ? AND status = ? AND id != ?",
                (CANCELLED, by, _ts(now), created_by, DRAFT, keep)).rowcount
        return await self.db.write(update)

    async def cancel(self, broadcast_id: int, by: str, now: dt.datetime) -> str | None:
        """Stops a draft, scheduled or running broadcast; returns the status it had, or None."""
        def update(conn: sqlite3.Connection) -> str | None:
            row = _one(conn, "SELECT status FROM broadcasts WHERE id = ?" + _locked(conn), (broadcast_id,))
            if row is None or row["status"] not in (DRAFT, SCHEDULED, SENDING):
                return None
            conn.execute("UPDATE broadcasts SET status = ?, cancelled_by = ?, finished_at = ? WHERE id = ?",
                         (CANCELLED, by, _ts(now), broadcast_id))
            return row["status"]
        return await self.db.write(update)

    async def due(self, now: dt.datetime) -> list[int]:
        rows = await self.db.read(lambda conn: conn.execute(
            "SELECT id FROM broadcasts WHERE status = ? AND send_at <= ? ORDER BY send_at, id",
            (SCHEDULED, _ts(now))).fetchall())
        return [row["id"] for row in rows]

    async def start(self, broadcast_id: int, now: dt.datetime, span: int = START_SPAN) -> int | None:
        """scheduled → sending, writing one delivery row per recipient, the "remind me"
        subscribers first. Rows are written a span of citizen ids at a time, each its own short
        transaction, so that citizens' own updates are not held up at 500,000 recipients; a crash
        half-way is resumed (ON CONFLICT DO NOTHING). Citizens who join meanwhile are not recipients.
        Returns how many, or None if it was not scheduled."""
        row = await self.db.read(_one, "SELECT status, audience, (SELECT MAX(id) FROM citizens) AS last "
                                       "FROM broadcasts WHERE id = ?", (broadcast_id,))
        if row is None or row["status"] != SCHEDULED:
            return None
        where, params = audience_filter(_audience(row["audience"]))
        # SQLite: NOT INDEXED walks the span by rowid; an index on the audience's column (a
        # neighbourhood) would read all of its citizens for every span. PostgreSQL's planner takes
        # the primary key's range by itself.
        add = (f"INSERT INTO deliveries (broadcast_id, citizen_id, platform, chat_id) "
               f"SELECT ?, c.id, c.platform, c.chat_id FROM citizens c{{hint}} "
               f"WHERE {where} AND c.remind_me = ? AND c.id > ? AND c.id <= ? ORDER BY c.id "
               f"ON CONFLICT DO NOTHING")
        adds = {"sqlite": add.format(hint=" NOT INDEXED"), "postgresql": add.format(hint="")}

        def add_span(conn: sqlite3.Connection, subscribers: int, after: int) -> bool:
            # Locked (PostgreSQL): a cancel waits for this span, and the next span finds it cancelled.
            if _one(conn, "SELECT 1 FROM broadcasts WHERE id = ? AND status = ?" + _locked(conn),
                    (broadcast_id, SCHEDULED)) is None:
                return False  # cancelled meanwhile
            conn.execute(adds[conn.dialect], [broadcast_id, *params, subscribers, after, after + span])
            return True

        for subscribers in (1, 0):
            for after in range(0, row["last"] or 0, span):
                if not await self.db.write(add_span, subscribers, after):
                    return None

        def finish(conn: sqlite3.Connection) -> int | None:
            total = conn.execute("SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM delivery_counts WHERE broadcast_id = ?",
                                 (broadcast_id,)).fetchone()[0]
            if conn.execute("UPDATE broadcasts SET status = ?, started_at = ?, total = ? WHERE id = ? AND status = ?",
                            (SENDING, _ts(now), total, broadcast_id, SCHEDULED)).rowcount != 1:
                return None
            return total
        return await self.db.write(finish)

    async def in_status(self, *statuses: str) -> list[Broadcast]:
        marks = ", ".join("?" * len(statuses))
        rows = await self.db.read(lambda conn: conn.execute(
            f"SELECT * FROM broadcasts WHERE status IN ({marks}) ORDER BY id", statuses).fetchall())
        return [_broadcast(row) for row in rows]

    async def count_by_neighbourhood(self, platform: str | None) -> dict[str, int]:
        where, params = audience_filter(Audience(EVERYONE, (), platform))
        rows = await self.db.read_apart(lambda conn: conn.execute(
            f"SELECT c.neighbourhood_id, COUNT(*) FROM citizens c WHERE {where} AND c.neighbourhood_id IS NOT NULL "
            "GROUP BY c.neighbourhood_id", params).fetchall())
        return {hood: n for hood, n in rows}

    async def recent(self, limit: int) -> list[Broadcast]:
        """Scheduled and running ones, then the newest finished ones."""
        rows = await self.db.read(lambda conn: conn.execute(
            "SELECT * FROM broadcasts WHERE status != ? "
            "ORDER BY status IN (?, ?) DESC, id DESC LIMIT ?", (DRAFT, SCHEDULED, SENDING, limit)).fetchall())
        return [_broadcast(row) for row in rows]

    async def finish(self, broadcast_id: int, now: dt.datetime) -> bool:
        def update(conn: sqlite3.Connection) -> bool:
            return conn.execute("UPDATE broadcasts SET status = ?, finished_at = ? WHERE id = ? AND status = ?",
                                (DONE, _ts(now), broadcast_id, SENDING)).rowcount == 1
        return await self.db.write(update)

    # -- deliveries -------------------------------------------------------------------------

    async def next_due(self, broadcast_id: int, platform: str, limit: int, now: dt.datetime) -> list[Delivery]:
        """The next recipients due, in order. Only read: nothing marks them, so a process that dies
        holding them leaves them pending, to be sent by the next one (see mark_sending)."""
        def read(conn: sqlite3.Connection) -> list[Delivery]:
            if _one(conn, "SELECT 1 FROM broadcasts WHERE id = ? AND status = ?", (broadcast_id, SENDING)) is None:
                return []
            rows = conn.execute(
                "SELECT id, chat_id, attempts FROM deliveries WHERE broadcast_id = ? AND platform = ? AND status = ? "
                "AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT ?",
                (broadcast_id, platform, _PENDING, _ts(now), limit)).fetchall()
            return [Delivery(row["id"], row["chat_id"], row["attempts"] + 1) for row in rows]
        return await self.db.read(read)

    async def mark_sending(self, broadcast_id: int, delivery_ids: list[int]) -> set[int] | None:
        """Marks recipients 'sending', committed right before their requests leave: a row a dead
        process left 'sending' may have arrived, and no other may. Returns the ids marked (those
        still pending); None once the broadcast is no longer sending (a stop: within one batch)."""
        def mark(conn: sqlite3.Connection) -> set[int] | None:
            if _one(conn, "SELECT 1 FROM broadcasts WHERE id = ? AND status = ?", (broadcast_id, SENDING)) is None:
                return None
            marks = ", ".join("?" * len(delivery_ids))
            return {row[0] for row in conn.execute(
                f"UPDATE deliveries SET status = ? WHERE id IN ({marks}) AND status = ? RETURNING id",
                (_SENDING, *delivery_ids, _PENDING))}
        if not delivery_ids:
            return set()
        return await self.db.write(mark)

    async def record(self, results: Iterable[DeliveryResult], now: dt.datetime) -> None:
        """Outcomes of sends, in one transaction; an unreachable recipient is skipped from now on."""
        results = list(results)

        def record(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "UPDATE deliveries SET status = ?, next_attempt_at = ?, attempts = attempts + ? WHERE id = ?",
                [(_PENDING if r.retry_at else r.status, _ts(r.retry_at), int(r.attempted), r.delivery_id)
                 for r in results])
            conn.executemany(
                "UPDATE citizens SET unreachable_since = ? WHERE id = (SELECT citizen_id FROM deliveries WHERE id = ?)",
                [(_ts(now), r.delivery_id) for r in results if r.status == UNREACHABLE])
        if results:
            await self.db.write(record)

    async def mark_in_flight_uncertain(self) -> int:
        """At the start of a sender: rows a dead process left 'sending' were requests that may or may
        not have arrived; they are reported, never sent again."""
        def update(conn: sqlite3.Connection) -> int:
            return conn.execute("UPDATE deliveries SET status = ? WHERE status = ?", (UNCERTAIN, _SENDING)).rowcount
        return await self.db.write(update)

    async def progress(self, broadcast_id: int) -> dict[str, Progress]:
        """Counts per platform and status: a dozen rows kept by triggers, whatever the audience."""
        def count(conn: sqlite3.Connection) -> dict[str, Progress]:
            counts: dict[str, dict[str, int]] = {}
            for platform, status, n in conn.execute(
                    "SELECT platform, status, n FROM delivery_counts WHERE broadcast_id = ? AND n > 0",
                    (broadcast_id,)):
                counts.setdefault(platform, {})[status] = n
            return {platform: Progress(total=sum(by_status.values()), **by_status) for platform, by_status in counts.items()}
        return await self.db.read(count)

    # -- content on the other messenger, progress messages -----------------------------------

    async def file_id(self, broadcast_id: int, platform: str) -> str | None:
        row = await self.db.read(_one, "SELECT file_id FROM broadcast_files WHERE broadcast_id = ? AND platform = ?",
                                 (broadcast_id, platform))
        return row["file_id"] if row else None

    async def set_file_id(self, broadcast_id: int, platform: str, file_id: str) -> None:
        await self.db.write(lambda conn: conn.execute(
            "INSERT INTO broadcast_files (broadcast_id, platform, file_id) VALUES (?, ?, ?) "
            "ON CONFLICT (broadcast_id, platform) DO UPDATE SET file_id = excluded.file_id",
            (broadcast_id, platform, file_id)))

    async def add_watcher(self, watcher: Watcher) -> None:
        await self.db.write(lambda conn: conn.execute(
            "INSERT INTO broadcast_watchers (broadcast_id, platform, chat_id, message_id) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (broadcast_id, platform, chat_id) DO UPDATE SET message_id = excluded.message_id",
            (watcher.broadcast_id, watcher.platform, watcher.chat_id, watcher.message_id)))

    async def watchers(self, broadcast_id: int) -> list[Watcher]:
        rows = await self.db.read(lambda conn: conn.execute(
            "SELECT * FROM broadcast_watchers WHERE broadcast_id = ? ORDER BY platform, chat_id", (broadcast_id,)).fetchall())
        return [Watcher(row["broadcast_id"], row["platform"], row["chat_id"], row["message_id"]) for row in rows]


class LeaseRepository:
    """A lease in the database: of two processes started on one database, only one sends."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def acquire(self, name: str, holder: str, now: dt.datetime, ttl: dt.timedelta,
                      take_over: str | None = None) -> bool:
        """Take or renew the lease; False while another holder's lease has not expired, unless
        that holder is ``take_over`` (the caller knows it is dead)."""
        # One statement: the check and the take are one step on both engines (on PostgreSQL two
        # processes' upserts of one name queue on its row, and the second's WHERE sees the first's).
        # expires_at is UTC ISO text: comparing the strings compares the moments.
        def acquire(conn: sqlite3.Connection) -> bool:
            return conn.execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE "
                "SET holder = excluded.holder, expires_at = excluded.expires_at "
                "WHERE leases.holder = ? OR leases.holder = ? OR leases.expires_at <= ?",
                (name, holder, _ts(now + ttl), holder, take_over, _ts(now))).rowcount == 1
        return await self.db.write(acquire)

    async def holder(self, name: str) -> tuple[str, dt.datetime] | None:
        row = await self.db.read(_one, "SELECT holder, expires_at FROM leases WHERE name = ?", (name,))
        return (row["holder"], _dt(row["expires_at"])) if row else None

    async def release(self, name: str, holder: str) -> None:
        await self.db.write(lambda conn: conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder)))


def _announcement(row: sqlite3.Row) -> Announcement:
    return Announcement(row["key"], _dt(row["due_at"]), row["outcome"], row["broadcast_id"], _dt(row["decided_at"]))


class CalendarRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def moved_boundaries(self) -> dict[str, dt.datetime]:
        """The newest move of each boundary."""
        rows = await self.db.read(lambda conn: conn.execute(
            "SELECT boundary, new_at FROM calendar_moves ORDER BY id").fetchall())
        return {row["boundary"]: _dt(row["new_at"]) for row in rows}

    async def move(self, boundary: str, old_at: dt.datetime, new_at: dt.datetime, by: str, now: dt.datetime) -> None:
        await self.db.write(lambda conn: conn.execute(
            "INSERT INTO calendar_moves (boundary, old_at, new_at, moved_by, moved_at) VALUES (?, ?, ?, ?, ?)",
            (boundary, _ts(old_at), _ts(new_at), by, _ts(now))))

    async def announcements(self) -> dict[str, Announcement]:
        rows = await self.db.read(lambda conn: conn.execute("SELECT * FROM announcements").fetchall())
        return {row["key"]: _announcement(row) for row in rows}

    async def announce(self, key: str, due_at: dt.datetime, now: dt.datetime, text: str, audience: Audience) -> int | None:
        """Records the announcement and creates its broadcast, due now, in one transaction.
        None when it was already recorded (by an earlier run or another process)."""
        def announce(conn: sqlite3.Connection) -> int | None:
            # The announcement's row first: its primary key decides between two processes (the
            # later one's insert waits for the first's commit on PostgreSQL, then does nothing).
            if conn.execute("INSERT INTO announcements (key, due_at, outcome, decided_at) VALUES (?, ?, 'sent', ?) "
                            "ON CONFLICT (key) DO NOTHING", (key, _ts(due_at), _ts(now))).rowcount != 1:
                return None
            broadcast_id = conn.execute(
                "INSERT INTO broadcasts (status, announcement, created_by, kind, text, audience, send_at, created_at) "
                "VALUES (?, ?, 'calendar', 'text', ?, ?, ?, ?) RETURNING id",
                (SCHEDULED, key, text, _audience_json(audience), _ts(now), _ts(now))).fetchone()[0]
            conn.execute("UPDATE announcements SET broadcast_id = ? WHERE key = ?", (broadcast_id, key))
            return broadcast_id
        return await self.db.write(announce)

    async def record_missed(self, key: str, due_at: dt.datetime, now: dt.datetime) -> bool:
        """True if this call recorded it (so the caller reports it to staff, once)."""
        def record(conn: sqlite3.Connection) -> bool:
            return conn.execute(
                "INSERT INTO announcements (key, due_at, outcome, decided_at) VALUES (?, ?, 'missed', ?) "
                "ON CONFLICT (key) DO NOTHING",
                (key, _ts(due_at), _ts(now))).rowcount == 1
        return await self.db.write(record)
