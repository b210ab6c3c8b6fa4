"""Repositories: the only place that writes SQL. Parameters are always bound, never formatted.

Each public method runs one synchronous function on the database thread (see storage/db.py);
methods that change data run it inside one transaction.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from domain import (
    APPROVED,
    FEASIBLE,
    PENDING,
    REJECTED,
    BallotEntry,
    BallotPage,
    Citizen,
    Draft,
    Proposal,
    StaffCard,
)
from storage.ambassadors import AmbassadorRepository
from storage.audit import AuditRepository
from storage.broadcasts import BroadcastRepository, CalendarRepository, LeaseRepository
from storage.db import Database
from storage.processed_updates import ProcessedUpdateRepository, _write_states
from storage.results import ResultsRepository
from storage.rows import ON_BALLOT, _count, _dt, _locked, _one, _ts
from storage.search import SearchRepository, key_of
from storage.staff_inputs import StaffInputRepository
from storage.stats import StatsRepository


def _citizen(row: sqlite3.Row | None) -> Citizen | None:
    if row is None:
        return None
    return Citizen(
        id=row["id"], platform=row["platform"], user_id=row["user_id"], chat_id=row["chat_id"],
        neighbourhood_id=row["neighbourhood_id"], verified=row["phone_hash"] is not None,
        first_vote_at=_dt(row["first_vote_at"]), remind_me=bool(row["remind_me"]),
        created_at=_dt(row["created_at"]),
    )


_PROPOSAL_FIELDS = [f.name for f in fields(Proposal)]


def _proposal(row: sqlite3.Row | None) -> Proposal | None:
    if row is None:
        return None
    data = {name: row[name] for name in _PROPOSAL_FIELDS}
    data["created_at"], data["decided_at"] = _dt(data["created_at"]), _dt(data["decided_at"])
    data["reviewed_at"] = _dt(data["reviewed_at"])
    return Proposal(**data)


class CitizenRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_or_create(self, platform: str, user_id: int, chat_id: int, now: dt.datetime) -> tuple[Citizen, bool]:
        # Every update starts here: the common case is a plain read, no write transaction.
        row = await self.db.read(_one, "SELECT * FROM citizens WHERE platform = ? AND user_id = ?", (platform, user_id))
        if row is not None and row["chat_id"] == chat_id and row["unreachable_since"] is None:
            return _citizen(row), False
        return await self.db.write(self._get_or_create, platform, user_id, chat_id, _ts(now))

    @staticmethod
    def _get_or_create(conn: sqlite3.Connection, platform: str, user_id: int, chat_id: int, now: str):
        row = _one(conn, "SELECT * FROM citizens WHERE platform = ? AND user_id = ?", (platform, user_id))
        if row is not None:
            # Someone who writes to the bot can be reached again: broadcasts include them again.
            conn.execute("UPDATE citizens SET chat_id = ?, unreachable_since = NULL WHERE id = ?", (chat_id, row["id"]))
            return _citizen(_one(conn, "SELECT * FROM citizens WHERE id = ?", (row["id"],))), False
        created = _one(
            conn, "INSERT INTO citizens (platform, user_id, chat_id, created_at) VALUES (?, ?, ?, ?) "
                  "ON CONFLICT (platform, user_id) DO NOTHING RETURNING *",
            (platform, user_id, chat_id, now),
        )
        if created is None:
            # Another process created them since the SELECT above (PostgreSQL, READ COMMITTED: this
            # INSERT waited for its commit). SQLite's write lock makes this unreachable there.
            conn.execute("UPDATE citizens SET chat_id = ?, unreachable_since = NULL WHERE platform = ? AND user_id = ?",
                         (chat_id, platform, user_id))
            return _citizen(_one(conn, "SELECT * FROM citizens WHERE platform = ? AND user_id = ?",
                                 (platform, user_id))), False
        return _citizen(created), True

    async def find(self, platform: str, user_id: int) -> Citizen | None:
        return _citizen(await self.db.read(
            _one, "SELECT * FROM citizens WHERE platform = ? AND user_id = ?", (platform, user_id)))

    async def get(self, citizen_id: int) -> Citizen | None:
        return _citizen(await self.db.read(_one, "SELECT * FROM citizens WHERE id = ?", (citizen_id,)))

    async def set_neighbourhood(self, citizen_id: int, neighbourhood_id: str) -> bool:
        """False when the citizen has voted: the lock is checked in the same statement."""
        def update(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE citizens SET neighbourhood_id = ? WHERE id = ? AND first_vote_at IS NULL",
                (neighbourhood_id, citizen_id),
            )
            return cur.rowcount == 1
        return await self.db.write(update)

    async def set_remind_me(self, citizen_id: int, value: bool) -> None:
        await self.db.write(lambda conn: conn.execute(
            "UPDATE citizens SET remind_me = ? WHERE id = ?", (int(value), citizen_id)))

    async def set_phone_hash(self, citizen_id: int, phone_hash: str, now: dt.datetime) -> bool:
        """False when another citizen (any platform) already holds this number."""
        def update(conn: sqlite3.Connection) -> bool:
            owner = _one(conn, "SELECT id FROM citizens WHERE phone_hash = ?", (phone_hash,))
            if owner is not None:
                return owner["id"] == citizen_id
            # The UNIQUE constraint decides between two citizens verifying one number at once in
            # two processes: the later one's UPDATE breaks it and changes nothing.
            if conn.unless_duplicate("UPDATE citizens SET phone_hash = ?, verified_at = ? WHERE id = ?",
                                     (phone_hash, _ts(now), citizen_id)) is None:
                return False
            return True
        return await self.db.write(update)


_DRAFT_FIELDS = [f.name for f in fields(Draft)]


def _draft(row: sqlite3.Row | None) -> Draft | None:
    return None if row is None else Draft(**{name: row[name] for name in _DRAFT_FIELDS})


# One statement, so two starts at once (two processes) cannot both insert.
_START_DRAFT = ("INSERT INTO drafts (citizen_id, updated_at) VALUES (?, ?) ON CONFLICT (citizen_id) DO UPDATE SET "
                + ", ".join(f"{name} = NULL" for name in _DRAFT_FIELDS[1:] if name != "updated_at")
                + ", updated_at = excluded.updated_at")


class DraftRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, citizen_id: int) -> Draft | None:
        return _draft(await self.db.read(_one, "SELECT * FROM drafts WHERE citizen_id = ?", (citizen_id,)))

    async def update(self, citizen_id: int, now: dt.datetime, **values: Any) -> Draft:
        unknown = set(values) - set(_DRAFT_FIELDS[1:])
        if unknown:
            raise ValueError(f"unknown draft fields {unknown}")
        # Column names come from the dataclass, never from input; values are bound.
        columns = [*values, "updated_at"]
        sql = (
            f"INSERT INTO drafts (citizen_id, {', '.join(columns)}) VALUES (?, {', '.join('?' for _ in columns)}) "
            f"ON CONFLICT (citizen_id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in columns)}"
        )

        def upsert(conn: sqlite3.Connection) -> Draft:
            conn.execute(sql, (citizen_id, *values.values(), _ts(now)))
            return _draft(_one(conn, "SELECT * FROM drafts WHERE citizen_id = ?", (citizen_id,)))
        return await self.db.write(upsert)

    async def start(self, citizen_id: int, now: dt.datetime) -> None:
        """A fresh, empty draft (an abandoned one is discarded)."""
        await self.db.write(lambda conn: conn.execute(_START_DRAFT, (citizen_id, _ts(now))))

    async def delete(self, citizen_id: int) -> None:
        await self.db.write(lambda conn: conn.execute("DELETE FROM drafts WHERE citizen_id = ?", (citizen_id,)))


# A proposal's voice note or photo uploaded to the other messenger: its file id there, per kind.
_COPIES = {"voice": "voice_copies", "photo": "photo_copies"}

# created_at is UTC ISO text, so comparing the strings compares the moments.
_COUNT_SINCE = "SELECT count(*) FROM proposals WHERE citizen_id = ? AND created_at >= ?"


class ProposalRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def count_active_by_citizen(self, citizen_id: int) -> int:
        return await self.db.read(
            _count, "SELECT count(*) FROM proposals WHERE citizen_id = ? AND status != ?", (citizen_id, REJECTED))

    async def count_since(self, citizen_id: int, since: dt.datetime) -> int:
        """Proposals this citizen submitted from ``since`` on, whatever became of them."""
        return await self.db.read(_count, _COUNT_SINCE, (citizen_id, _ts(since)))

    async def submit_draft(self, citizen_id: int, neighbourhood_id: str, platform: str,
                           new_code: Callable[[], str], limit: int, now: dt.datetime,
                           per_day: tuple[int, dt.datetime] | None = None) -> Proposal | None:
        """Turns the draft into a pending proposal, atomically with the per-citizen limit and,
        given ``per_day`` = (limit, start of today), the daily one.

        Returns None when a limit is reached (the draft is kept). Raises LookupError without a
        complete draft.
        """
        def submit(conn: sqlite3.Connection) -> Proposal | None:
            # Locked: of two submissions at once only one finds the draft (and counts the limits).
            draft = _one(conn, "SELECT * FROM drafts WHERE citizen_id = ?" + _locked(conn), (citizen_id,))
            if draft is None or not (draft["category_id"] and draft["title"] and draft["description"]):
                raise LookupError("no complete draft")
            active = _count(conn, "SELECT count(*) FROM proposals WHERE citizen_id = ? AND status != ?",
                            (citizen_id, REJECTED))
            if active >= limit:
                return None
            if per_day is not None and _count(conn, _COUNT_SINCE, (citizen_id, _ts(per_day[1]))) >= per_day[0]:
                return None
            code = new_code()
            while _one(conn, "SELECT 1 FROM proposals WHERE code = ?", (code,)):
                code = new_code()
            created = _one(
                conn,
                "INSERT INTO proposals (code, citizen_id, platform, neighbourhood_id, category_id, title, description,"
                " photo_file_id, latitude, longitude, status, created_at, search_key,"
                " voice_file_id, voice_duration, voice_platform, title_by_staff)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
                (code, citizen_id, platform, neighbourhood_id, draft["category_id"], draft["title"],
                 draft["description"], draft["photo_file_id"], draft["latitude"], draft["longitude"], PENDING, _ts(now),
                 key_of(draft["title"], neighbourhood_id),  # indexed for similar proposals (storage/search.py)
                 draft["voice_file_id"], draft["voice_duration"], draft["voice_platform"], draft["title_by_staff"]),
            )
            conn.execute("DELETE FROM drafts WHERE citizen_id = ?", (citizen_id,))
            return _proposal(created)
        return await self.db.write(submit)

    async def get(self, proposal_id: int) -> Proposal | None:
        return _proposal(await self.db.read(_one, "SELECT * FROM proposals WHERE id = ?", (proposal_id,)))

    async def by_citizen(self, citizen_id: int) -> list[Proposal]:
        rows = await self.db.read(lambda conn: conn.execute(
            "SELECT * FROM proposals WHERE citizen_id = ? ORDER BY id", (citizen_id,)).fetchall())
        return [_proposal(r) for r in rows]

    async def decide(self, proposal_id: int, status: str, decided_by: str, now: dt.datetime,
                     reason: str | None = None) -> Proposal | None:
        """Moves a pending proposal to approved/rejected; None if someone decided it already."""
        if status not in (APPROVED, REJECTED):
            raise ValueError(status)

        def decide(conn: sqlite3.Connection) -> Proposal | None:
            cur = conn.execute(
                "UPDATE proposals SET status = ?, reject_reason = ?, decided_at = ?, decided_by = ? "
                "WHERE id = ? AND status = ?",
                (status, reason, _ts(now), decided_by, proposal_id, PENDING),
            )
            if cur.rowcount != 1:
                return None
            return _proposal(_one(conn, "SELECT * FROM proposals WHERE id = ?", (proposal_id,)))
        return await self.db.write(decide)

    async def add_staff_card(self, card: StaffCard) -> None:
        await self.db.write(lambda conn: conn.execute(
            "INSERT INTO staff_cards (proposal_id, platform, chat_id, message_id) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (proposal_id, platform, chat_id) DO UPDATE SET message_id = excluded.message_id",
            (card.proposal_id, card.platform, card.chat_id, card.message_id)))

    async def pending_without_staff_cards(self) -> list[Proposal]:
        """Pending proposals whose moderation card was never posted (a crash, or no staff yet)."""
        rows = await self.db.read(lambda conn: conn.execute(
            "SELECT * FROM proposals p WHERE status = ? AND NOT EXISTS "
            "(SELECT 1 FROM staff_cards c WHERE c.proposal_id = p.id) ORDER BY id", (PENDING,)).fetchall())
        return [_proposal(r) for r in rows]

    async def mark_author_told(self, proposal_id: int, now: dt.datetime) -> None:
        await self.db.write(lambda conn: conn.execute(
            "UPDATE proposals SET author_told_at = ? WHERE id = ?", (_ts(now), proposal_id)))

    async def decided_but_author_not_told(self) -> list[Proposal]:
        rows = await self.db.read(lambda conn: conn.execute(
            "SELECT * FROM proposals WHERE status != ? AND author_told_at IS NULL ORDER BY id", (PENDING,)).fetchall())
        return [_proposal(r) for r in rows]

    async def add_reason_prompt(self, platform: str, chat_id: int, message_id: int, proposal_id: int,
                                now: dt.datetime) -> None:
        await self.db.write(lambda conn: conn.execute(
            "INSERT INTO reason_prompts (platform, chat_id, message_id, proposal_id, created_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (platform, chat_id, message_id) DO UPDATE SET proposal_id = excluded.proposal_id, "
            "created_at = excluded.created_at", (platform, chat_id, message_id, proposal_id, _ts(now))))

    async def reason_prompt(self, platform: str, chat_id: int, message_id: int) -> int | None:
        """The proposal a reason question was about, or None if the message was no such question."""
        row = await self.db.read(_one, "SELECT proposal_id FROM reason_prompts WHERE platform = ? AND chat_id = ? "
                                 "AND message_id = ?", (platform, chat_id, message_id))
        return None if row is None else row[0]

    async def by_code(self, code: str) -> Proposal | None:
        return _proposal(await self.db.read(_one, "SELECT * FROM proposals WHERE code = ?", (code,)))

    async def next_pending(self, after_id: int) -> Proposal | None:
        """The review queue: the oldest pending proposal after ``after_id`` (0: the oldest)."""
        return _proposal(await self.db.read(
            _one, "SELECT * FROM proposals WHERE status = ? AND id > ? ORDER BY id LIMIT 1", (PENDING, after_id)))

    async def set_category(self, proposal_id: int, category_id: str) -> tuple[str, Proposal] | None:
        """Only while pending; returns the category it had and the proposal as it is now."""
        def update(conn: sqlite3.Connection):
            row = _one(conn, "SELECT category_id FROM proposals WHERE id = ? AND status = ?" + _locked(conn),
                       (proposal_id, PENDING))
            if row is None:
                return None
            conn.execute("UPDATE proposals SET category_id = ? WHERE id = ?", (category_id, proposal_id))
            return row["category_id"], _proposal(_one(conn, "SELECT * FROM proposals WHERE id = ?", (proposal_id,)))
        return await self.db.write(update)

    async def write_staff_title(self, proposal_id: int, title: str) -> tuple[str, Proposal] | None:
        """Staff write the title the author left to them (title_by_staff), before voting; returns
        the title it had and the proposal as it is now, or None for a title the author typed."""
        def update(conn: sqlite3.Connection):
            row = _one(conn, "SELECT title, neighbourhood_id FROM proposals WHERE id = ? AND title_by_staff = 1"
                       + _locked(conn), (proposal_id,))
            if row is None:
                return None
            after = _one(conn, "UPDATE proposals SET title = ?, search_key = ? WHERE id = ? RETURNING *",
                         (title, key_of(title, row["neighbourhood_id"]), proposal_id))
            return row["title"], _proposal(after)
        return await self.db.write(update)

    async def mark_duplicate(self, proposal_id: int, original_id: int, reason: str, decided_by: str,
                             now: dt.datetime) -> Proposal | None:
        """A pending proposal rejected as a duplicate of another, once."""
        def update(conn: sqlite3.Connection) -> Proposal | None:
            # The original must itself stand (pending or approved): never a chain of duplicates,
            # never two proposals marked as each other's copy. Both rows locked, in id order (two
            # staff marking A a copy of B and B of A at once: the second waits, then finds it taken).
            if conn.dialect != "sqlite":
                conn.execute("SELECT id FROM proposals WHERE id IN (?, ?) ORDER BY id FOR UPDATE",
                             (proposal_id, original_id)).fetchall()
            if _one(conn, "SELECT 1 FROM proposals WHERE id = ? AND status IN (?, ?)",
                    (original_id, PENDING, APPROVED)) is None:
                return None
            if conn.execute(
                    "UPDATE proposals SET status = ?, reject_reason = ?, duplicate_of = ?, decided_at = ?, "
                    "decided_by = ? WHERE id = ? AND status = ? AND id != ?",
                    (REJECTED, reason, original_id, _ts(now), decided_by, proposal_id, PENDING, original_id)
            ).rowcount != 1:
                return None
            return _proposal(_one(conn, "SELECT * FROM proposals WHERE id = ?", (proposal_id,)))
        return await self.db.write(update)

    async def set_feasibility(self, proposal_id: int, feasibility: str, note: str, by: str, now: dt.datetime,
                              seen: str | None = ...) -> tuple[Proposal, Proposal] | None:
        """On an approved proposal whose feasibility is still ``seen`` (what the reviewer's card
        showed: two reviewers never overwrite each other unknowingly; ``...`` skips that check).
        A changed verdict clears
        the cost. Returns (before, after)."""
        def update(conn: sqlite3.Connection):
            # Locked: two reviewers at once, the second sees the first's verdict (and ``seen`` differs).
            before = _proposal(_one(conn, "SELECT * FROM proposals WHERE id = ? AND status = ?" + _locked(conn),
                                    (proposal_id, APPROVED)))
            if before is not None and seen is not ... and before.feasibility != seen:
                return None  # ``...``: whatever it was (the operator's tools, seeding)
            if before is None:
                return None
            conn.execute("UPDATE proposals SET feasibility = ?, feasibility_note = ?, "
                         "cost = CASE WHEN feasibility IS NOT DISTINCT FROM ? THEN cost END, reviewed_by = ?, reviewed_at = ?, "
                         "review_told_at = NULL WHERE id = ?",
                         (feasibility, note, feasibility, by, _ts(now), proposal_id))
            return before, _proposal(_one(conn, "SELECT * FROM proposals WHERE id = ?", (proposal_id,)))
        return await self.db.write(update)

    async def set_cost(self, proposal_id: int, cost: int, by: str, now: dt.datetime) -> tuple[Proposal, Proposal] | None:
        """Only on a feasible proposal. Returns (before, after)."""
        def update(conn: sqlite3.Connection):
            before = _proposal(_one(conn, "SELECT * FROM proposals WHERE id = ? AND status = ? AND feasibility = ?"
                                    + _locked(conn), (proposal_id, APPROVED, FEASIBLE)))
            if before is None:
                return None
            conn.execute("UPDATE proposals SET cost = ?, reviewed_by = ?, reviewed_at = ?, review_told_at = NULL "
                         "WHERE id = ?", (cost, by, _ts(now), proposal_id))
            return before, _proposal(_one(conn, "SELECT * FROM proposals WHERE id = ?", (proposal_id,)))
        return await self.db.write(update)

    async def next_to_review(self, after_id: int) -> Proposal | None:
        """Approved proposals still waiting for feasibility, or for the cost of a feasible one."""
        return _proposal(await self.db.read(
            _one, "SELECT * FROM proposals WHERE status = ? AND id > ? AND "
                  "(feasibility IS NULL OR (feasibility = ? AND cost IS NULL)) ORDER BY id LIMIT 1",
            (APPROVED, after_id, FEASIBLE)))

    async def reviewed_but_not_told(self) -> list[Proposal]:
        """Feasibility decisions (with the cost, for a feasible one) their author has not heard."""
        rows = await self.db.read(lambda conn: conn.execute(
            "SELECT * FROM proposals WHERE status = ? AND review_told_at IS NULL AND "
            "(feasibility = 'not_feasible' OR (feasibility = ? AND cost IS NOT NULL)) ORDER BY id",
            (APPROVED, FEASIBLE)).fetchall())
        return [_proposal(row) for row in rows]

    async def mark_review_told(self, proposal_id: int, now: dt.datetime) -> None:
        await self.db.write(lambda conn: conn.execute(
            "UPDATE proposals SET review_told_at = ? WHERE id = ?", (_ts(now), proposal_id)))

    async def review_backlog(self) -> dict[str, int]:
        """Per neighbourhood: approved proposals still needing a feasibility or cost decision."""
        rows = await self.db.read(lambda conn: conn.execute(
            "SELECT neighbourhood_id, COUNT(*) FROM proposals WHERE status = ? AND "
            "(feasibility IS NULL OR (feasibility = ? AND cost IS NULL)) GROUP BY neighbourhood_id",
            (APPROVED, FEASIBLE)).fetchall())
        return {hood: n for hood, n in rows}

    async def media_copy(self, kind: str, proposal_id: int, platform: str) -> str | None:
        table = _COPIES[kind]  # a fixed table name, never input
        row = await self.db.read(_one, f"SELECT file_id FROM {table} WHERE proposal_id = ? AND platform = ?",
                                 (proposal_id, platform))
        return None if row is None else row[0]

    async def set_media_copy(self, kind: str, proposal_id: int, platform: str, file_id: str) -> None:
        table = _COPIES[kind]
        await self.db.write(lambda conn: conn.execute(
            f"INSERT INTO {table} (proposal_id, platform, file_id) VALUES (?, ?, ?) "
            "ON CONFLICT (proposal_id, platform) DO UPDATE SET file_id = excluded.file_id",
            (proposal_id, platform, file_id)))

    async def set_voice_transcript(self, proposal_id: int, text: str) -> Proposal | None:
        return _proposal(await self.db.write(lambda conn: _one(
            conn, "UPDATE proposals SET voice_transcript = ? WHERE id = ? RETURNING *", (text, proposal_id))))

    async def staff_cards(self, proposal_id: int) -> list[StaffCard]:
        rows = await self.db.read(lambda conn: conn.execute(
            "SELECT * FROM staff_cards WHERE proposal_id = ? ORDER BY platform, chat_id", (proposal_id,)).fetchall())
        return [StaffCard(r["proposal_id"], r["platform"], r["chat_id"], r["message_id"]) for r in rows]


# A ballot page in one statement on PostgreSQL (three round trips as SQLite's three queries): the
# total, the voter's votes and the page's proposals, each row with its vote count when asked. The
# page is LEFT JOINed, so a page past the end still answers the total and the votes (one row of NULLs).
_BALLOT_PAGE_PG = f"""
SELECT t.total, m.mine, p.*, CASE WHEN ? THEN (SELECT count(*) FROM votes v WHERE v.proposal_id = p.id) END AS n_votes
FROM (SELECT count(*) AS total FROM proposals WHERE neighbourhood_id = ? AND {ON_BALLOT}) t
CROSS JOIN (SELECT array_agg(proposal_id) AS mine FROM votes WHERE citizen_id = ?) m
LEFT JOIN LATERAL (SELECT * FROM proposals WHERE neighbourhood_id = ? AND {ON_BALLOT}
                   ORDER BY id LIMIT ? OFFSET ?) p ON true
ORDER BY p.id"""


def _ballot_page_pg(conn: Any, citizen_id: int, neighbourhood_id: str, offset: int, size: int,
                    with_counts: bool) -> BallotPage:
    rows = conn.execute(_BALLOT_PAGE_PG, (with_counts, neighbourhood_id, citizen_id, neighbourhood_id, size,
                                          offset)).fetchall()
    shown = [row for row in rows if row["id"] is not None]
    # As SQLite's GROUP BY: only proposals with votes have a count.
    counts = {row["id"]: row["n_votes"] for row in shown if row["n_votes"]} if with_counts else {}
    return BallotPage(proposals=[_proposal(row) for row in shown], vote_counts=counts,
                      my_votes=set(rows[0]["mine"] or ()), total=rows[0]["total"])


class VoteRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def ballot_page(self, citizen_id: int, neighbourhood_id: str, offset: int, size: int,
                          with_counts: bool) -> BallotPage:
        if self.db.dialect == "postgresql":
            return await self.db.read(_ballot_page_pg, citizen_id, neighbourhood_id, offset, size, with_counts)

        def page(conn: sqlite3.Connection) -> BallotPage:
            total = _count(conn, f"SELECT count(*) FROM proposals WHERE neighbourhood_id = ? AND {ON_BALLOT}",
                           (neighbourhood_id,))
            rows = conn.execute(
                f"SELECT * FROM proposals WHERE neighbourhood_id = ? AND {ON_BALLOT} ORDER BY id LIMIT ? OFFSET ?",
                (neighbourhood_id, size, offset),
            ).fetchall()
            counts = {}
            if with_counts and rows:
                ids = tuple(r["id"] for r in rows)
                marks = ", ".join("?" for _ in ids)
                counts = dict(conn.execute(
                    f"SELECT proposal_id, count(*) FROM votes WHERE proposal_id IN ({marks}) GROUP BY proposal_id", ids
                ).fetchall())
            mine = {r[0] for r in conn.execute("SELECT proposal_id FROM votes WHERE citizen_id = ?", (citizen_id,))}
            return BallotPage(proposals=[_proposal(r) for r in rows], vote_counts=counts, my_votes=mine, total=total)
        return await self.db.read(page)

    async def ballot_entry(self, citizen_id: int, neighbourhood_id: str, proposal_id: int) -> BallotEntry | None:
        def entry(conn: sqlite3.Connection) -> BallotEntry | None:
            row = _one(conn, f"SELECT * FROM proposals WHERE id = ? AND neighbourhood_id = ? AND {ON_BALLOT}",
                       (proposal_id, neighbourhood_id))
            if row is None:
                return None
            position = _count(conn, f"SELECT count(*) FROM proposals WHERE neighbourhood_id = ? AND id <= ? "
                                    f"AND {ON_BALLOT}", (neighbourhood_id, proposal_id))
            votes = _count(conn, "SELECT count(*) FROM votes WHERE proposal_id = ?", (proposal_id,))
            mine = {r[0] for r in conn.execute("SELECT proposal_id FROM votes WHERE citizen_id = ?", (citizen_id,))}
            return BallotEntry(_proposal(row), position, votes, mine)
        return await self.db.read(entry)

    async def ballot_size(self, neighbourhood_id: str) -> int:
        return await self.db.read(_count, f"SELECT count(*) FROM proposals WHERE neighbourhood_id = ? AND {ON_BALLOT}",
                                  (neighbourhood_id,))

    async def count_by_citizen(self, citizen_id: int) -> int:
        return await self.db.read(_count, "SELECT count(*) FROM votes WHERE citizen_id = ?", (citizen_id,))

    async def cast(self, citizen_id: int, proposal_id: int, neighbourhood_id: str, limit: int,
                   now: dt.datetime) -> tuple[str, int]:
        """One transaction: proposal on the ballot of ``neighbourhood_id``, which is the
        citizen's, not voted yet, under the limit, then insert.

        Returns ("voted" | "already" | "limit" | "ineligible", the citizen's vote count after).
        """
        if self.db.dialect == "postgresql":
            # The same steps in one round trip (storage/migrations_postgres.py, entry 8: cast_vote).
            return tuple(await self.db.write_one(lambda conn: conn.execute(
                "SELECT outcome, used FROM cast_vote(?, ?, ?, ?, ?)",
                (citizen_id, proposal_id, neighbourhood_id, limit, _ts(now))).fetchone()))

        def cast(conn: sqlite3.Connection) -> tuple[str, int]:
            # The neighbourhood the citizen has now, not only the one the caller read with them:
            # another process may have changed it since (it locks only at the first vote).
            # On PostgreSQL the citizen's row is locked here: their votes are cast one at a time,
            # so the counts below, read after the lock, are theirs alone (the limit and "already"
            # hold across processes), and a change of neighbourhood waits for this vote (then
            # finds first_vote_at set). SQLite's write transaction is the lock there.
            eligible = _one(conn, f"SELECT c.first_vote_at FROM proposals JOIN citizens c ON c.id = ? "
                                  f"WHERE proposals.id = ? AND proposals.neighbourhood_id = ? "
                                  f"AND c.neighbourhood_id = ? AND {ON_BALLOT}" + _locked(conn, "c"),
                            (citizen_id, proposal_id, neighbourhood_id, neighbourhood_id))
            # A statement of its own, after the lock: on PostgreSQL a subquery of the locking
            # statement would count from before the wait.
            used, already = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE proposal_id = ?) FROM votes WHERE citizen_id = ?",
                (proposal_id, citizen_id)).fetchone()
            if eligible is None:
                return "ineligible", used
            if already:
                return "already", used
            if used >= limit:
                return "limit", used
            conn.execute("INSERT INTO votes (citizen_id, proposal_id, created_at) VALUES (?, ?, ?)",
                         (citizen_id, proposal_id, _ts(now)))
            if eligible[0] is None:
                conn.execute("UPDATE citizens SET first_vote_at = ? WHERE id = ? AND first_vote_at IS NULL",
                             (_ts(now), citizen_id))
            return "voted", used + 1
        return await self.db.write(cast)

    async def withdraw(self, citizen_id: int, proposal_id: int) -> int:
        """Removes the vote if there is one; returns the citizen's vote count after."""
        def withdraw(conn: sqlite3.Connection) -> int:
            conn.execute("DELETE FROM votes WHERE citizen_id = ? AND proposal_id = ?", (citizen_id, proposal_id))
            return _count(conn, "SELECT count(*) FROM votes WHERE citizen_id = ?", (citizen_id,))
        return await self.db.write(withdraw)


class ConversationRepository:
    """Storage for bot/messenger/persistence.py: (handler name, key) → state. The bot writes states together
    with the updates that changed them (storage/processed_updates.py)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def load(self, name: str) -> dict[str, str]:
        rows = await self.db.read(lambda conn: conn.execute(
            "SELECT key, state FROM conversations WHERE name = ?", (name,)).fetchall())
        return {r["key"]: r["state"] for r in rows}

    async def save(self, name: str, key: str, state: str | None) -> None:
        await self.db.write(_write_states, {(name, key): state})


class Repositories:
    """Everything the services need, built on one Database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.citizens = CitizenRepository(db)
        self.drafts = DraftRepository(db)
        self.proposals = ProposalRepository(db)
        self.votes = VoteRepository(db)
        self.conversations = ConversationRepository(db)
        self.processed_updates = ProcessedUpdateRepository(db)
        self.broadcasts = BroadcastRepository(db)
        self.leases = LeaseRepository(db)
        self.calendar = CalendarRepository(db)
        self.staff_inputs = StaffInputRepository(db)
        self.ambassadors = AmbassadorRepository(db)
        self.audit = AuditRepository(db)
        self.results = ResultsRepository(db)
        self.stats = StatsRepository(db)
        self.search = SearchRepository(db)
