"""Repositories: the only place that writes SQL. Parameters are always bound, never formatted."""
from __future__ import annotations

import datetime as dt
from dataclasses import fields
from typing import Any, Callable, Iterable

import aiosqlite

from storage.db import Database
from storage.models import APPROVED, PENDING, REJECTED, BallotPage, Citizen, Draft, Proposal, StaffCard


def _ts(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(dt.timezone.utc).isoformat()


def _dt(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


def _citizen(row: aiosqlite.Row) -> Citizen:
    return Citizen(
        id=row["id"], platform=row["platform"], user_id=row["user_id"], chat_id=row["chat_id"],
        neighbourhood_id=row["neighbourhood_id"], verified=row["phone_hash"] is not None,
        first_vote_at=_dt(row["first_vote_at"]), remind_me=bool(row["remind_me"]),
        created_at=_dt(row["created_at"]),
    )


def _proposal(row: aiosqlite.Row) -> Proposal:
    data = {f.name: row[f.name] for f in fields(Proposal)}
    for key in ("created_at", "decided_at"):
        data[key] = _dt(data[key])
    return Proposal(**data)


async def _one(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
    async with conn.execute(sql, tuple(params)) as cur:
        return await cur.fetchone()


async def _all(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
    async with conn.execute(sql, tuple(params)) as cur:
        return list(await cur.fetchall())


class CitizenRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_or_create(self, platform: str, user_id: int, chat_id: int, now: dt.datetime) -> tuple[Citizen, bool]:
        # Every update starts here: the common case is a plain read, no write lock.
        async with self.db.read() as conn:
            row = await _one(conn, "SELECT * FROM citizens WHERE platform = ? AND user_id = ?", (platform, user_id))
        if row is not None and row["chat_id"] == chat_id:
            return _citizen(row), False
        async with self.db.transaction() as conn:
            row = await _one(conn, "SELECT * FROM citizens WHERE platform = ? AND user_id = ?", (platform, user_id))
            if row is not None:
                if row["chat_id"] != chat_id:
                    await conn.execute("UPDATE citizens SET chat_id = ? WHERE id = ?", (chat_id, row["id"]))
                return _citizen(row), False
            cur = await conn.execute(
                "INSERT INTO citizens (platform, user_id, chat_id, created_at) VALUES (?, ?, ?, ?)",
                (platform, user_id, chat_id, _ts(now)),
            )
            row = await _one(conn, "SELECT * FROM citizens WHERE id = ?", (cur.lastrowid,))
            return _citizen(row), True

    async def find(self, platform: str, user_id: int) -> Citizen | None:
        async with self.db.read() as conn:
            row = await _one(conn, "SELECT * FROM citizens WHERE platform = ? AND user_id = ?", (platform, user_id))
        return None if row is None else _citizen(row)

    async def get(self, citizen_id: int) -> Citizen | None:
        async with self.db.read() as conn:
            row = await _one(conn, "SELECT * FROM citizens WHERE id = ?", (citizen_id,))
        return None if row is None else _citizen(row)

    async def set_neighbourhood(self, citizen_id: int, neighbourhood_id: str) -> bool:
        """False when the citizen has voted: the lock is checked in the same statement."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE citizens SET neighbourhood_id = ? WHERE id = ? AND first_vote_at IS NULL",
                (neighbourhood_id, citizen_id),
            )
            return cur.rowcount == 1

    async def set_remind_me(self, citizen_id: int, value: bool) -> None:
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE citizens SET remind_me = ? WHERE id = ?", (int(value), citizen_id))

    async def set_phone_hash(self, citizen_id: int, phone_hash: str, now: dt.datetime) -> bool:
        """False when another citizen (any platform) already holds this number."""
        async with self.db.transaction() as conn:
            owner = await _one(conn, "SELECT id FROM citizens WHERE phone_hash = ?", (phone_hash,))
            if owner is not None:
                return owner["id"] == citizen_id
            await conn.execute(
                "UPDATE citizens SET phone_hash = ?, verified_at = ? WHERE id = ?", (phone_hash, _ts(now), citizen_id)
            )
            return True


class DraftRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, citizen_id: int) -> Draft | None:
        async with self.db.read() as conn:
            row = await _one(conn, "SELECT * FROM drafts WHERE citizen_id = ?", (citizen_id,))
        if row is None:
            return None
        return Draft(**{f.name: row[f.name] for f in fields(Draft)})

    async def update(self, citizen_id: int, now: dt.datetime, **values: Any) -> Draft:
        allowed = {f.name for f in fields(Draft)} - {"citizen_id"}
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"unknown draft fields {unknown}")
        # Column names come from the dataclass, never from input; values are bound.
        columns = ", ".join(values)
        placeholders = ", ".join("?" for _ in values)
        updates = ", ".join(f"{c} = excluded.{c}" for c in [*values, "updated_at"])
        async with self.db.transaction() as conn:
            await conn.execute(
                f"INSERT INTO drafts (citizen_id, {columns}{', ' if values else ''}updated_at) "
                f"VALUES (?, {placeholders}{', ' if values else ''}?) "
                f"ON CONFLICT (citizen_id) DO UPDATE SET {updates}",
                (citizen_id, *values.values(), _ts(now)),
            )
        return await self.get(citizen_id)

    async def delete(self, citizen_id: int) -> None:
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM drafts WHERE citizen_id = ?", (citizen_id,))


class ProposalRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def count_active_by_citizen(self, citizen_id: int) -> int:
        async with self.db.read() as conn:
            row = await _one(
                conn, "SELECT count(*) FROM proposals WHERE citizen_id = ? AND status != ?", (citizen_id, REJECTED)
            )
        return row[0]

    async def submit_draft(self, citizen_id: int, neighbourhood_id: str, platform: str,
                           new_code: Callable[[], str], limit: int, now: dt.datetime) -> Proposal | None:
        """Turns the draft into a pending proposal, atomically with the per-citizen limit.

        Returns None when the limit is reached. Raises LookupError without a complete draft.
        """
        async with self.db.transaction() as conn:
            draft = await _one(conn, "SELECT * FROM drafts WHERE citizen_id = ?", (citizen_id,))
            if draft is None or not (draft["category_id"] and draft["title"] and draft["description"]):
                raise LookupError("no complete draft")
            count = await _one(
                conn, "SELECT count(*) FROM proposals WHERE citizen_id = ? AND status != ?", (citizen_id, REJECTED)
            )
            if count[0] >= limit:
                return None
            code = new_code()
            while await _one(conn, "SELECT 1 FROM proposals WHERE code = ?", (code,)):
                code = new_code()
            cur = await conn.execute(
                "INSERT INTO proposals (code, citizen_id, platform, neighbourhood_id, category_id, title, description,"
                " photo_file_id, latitude, longitude, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (code, citizen_id, platform, neighbourhood_id, draft["category_id"], draft["title"],
                 draft["description"], draft["photo_file_id"], draft["latitude"], draft["longitude"], PENDING, _ts(now)),
            )
            await conn.execute("DELETE FROM drafts WHERE citizen_id = ?", (citizen_id,))
            row = await _one(conn, "SELECT * FROM proposals WHERE id = ?", (cur.lastrowid,))
            return _proposal(row)

    async def get(self, proposal_id: int) -> Proposal | None:
        async with self.db.read() as conn:
            row = await _one(conn, "SELECT * FROM proposals WHERE id = ?", (proposal_id,))
        return None if row is None else _proposal(row)

    async def by_citizen(self, citizen_id: int) -> list[Proposal]:
        async with self.db.read() as conn:
            rows = await _all(conn, "SELECT * FROM proposals WHERE citizen_id = ? ORDER BY id", (citizen_id,))
        return [_proposal(r) for r in rows]

    async def decide(self, proposal_id: int, status: str, decided_by: str, now: dt.datetime,
                     reason: str | None = None) -> Proposal | None:
        """Moves a pending proposal to approved/rejected; None if someone decided it already."""
        if status not in (APPROVED, REJECTED):
            raise ValueError(status)
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE proposals SET status = ?, reject_reason = ?, decided_at = ?, decided_by = ? "
                "WHERE id = ? AND status = ?",
                (status, reason, _ts(now), decided_by, proposal_id, PENDING),
            )
            if cur.rowcount != 1:
                return None
            row = await _one(conn, "SELECT * FROM proposals WHERE id = ?", (proposal_id,))
            return _proposal(row)

    async def add_staff_card(self, card: StaffCard) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT OR REPLACE INTO staff_cards (proposal_id, platform, chat_id, message_id) VALUES (?, ?, ?, ?)",
                (card.proposal_id, card.platform, card.chat_id, card.message_id),
            )

    async def staff_cards(self, proposal_id: int) -> list[StaffCard]:
        async with self.db.read() as conn:
            rows = await _all(conn, "SELECT * FROM staff_cards WHERE proposal_id = ?", (proposal_id,))
        return [StaffCard(r["proposal_id"], r["platform"], r["chat_id"], r["message_id"]) for r in rows]


class VoteRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def ballot_page(self, citizen_id: int, neighbourhood_id: str, offset: int, size: int) -> BallotPage:
        async with self.db.read() as conn:
            total = (await _one(
                conn, "SELECT count(*) FROM proposals WHERE neighbourhood_id = ? AND status = ?",
                (neighbourhood_id, APPROVED),
            ))[0]
            rows = await _all(
                conn, "SELECT * FROM proposals WHERE neighbourhood_id = ? AND status = ? ORDER BY id LIMIT ? OFFSET ?",
                (neighbourhood_id, APPROVED, size, offset),
            )
            ids = [r["id"] for r in rows]
            marks = ", ".join("?" for _ in ids) or "NULL"
            counts = await _all(
                conn, f"SELECT proposal_id, count(*) FROM votes WHERE proposal_id IN ({marks}) GROUP BY proposal_id", ids
            )
            mine = await _all(conn, "SELECT proposal_id FROM votes WHERE citizen_id = ?", (citizen_id,))
        return BallotPage(
            proposals=[_proposal(r) for r in rows],
            vote_counts={r[0]: r[1] for r in counts},
            my_votes={r[0] for r in mine},
            total=total,
        )

    async def count_by_citizen(self, citizen_id: int) -> int:
        async with self.db.read() as conn:
            return (await _one(conn, "SELECT count(*) FROM votes WHERE citizen_id = ?", (citizen_id,)))[0]

    async def cast(self, citizen_id: int, proposal_id: int, neighbourhood_id: str, limit: int,
                   now: dt.datetime) -> str:
        """One transaction: proposal eligible, not voted yet, under the limit, then insert.

        Returns "voted", "already", "limit" or "ineligible".
        """
        async with self.db.transaction() as conn:
            eligible = await _one(
                conn, "SELECT 1 FROM proposals WHERE id = ? AND neighbourhood_id = ? AND status = ?",
                (proposal_id, neighbourhood_id, APPROVED),
            )
            if eligible is None:
                return "ineligible"
            if await _one(conn, "SELECT 1 FROM votes WHERE citizen_id = ? AND proposal_id = ?", (citizen_id, proposal_id)):
                return "already"
            # The limit is part of the INSERT itself, so no interleaving can exceed it.
            cur = await conn.execute(
                "INSERT INTO votes (citizen_id, proposal_id, created_at) SELECT ?, ?, ? "
                "WHERE (SELECT count(*) FROM votes WHERE citizen_id = ?) < ?",
                (citizen_id, proposal_id, _ts(now), citizen_id, limit),
            )
            if cur.rowcount != 1:
                return "limit"
            await conn.execute(
                "UPDATE citizens SET first_vote_at = ? WHERE id = ? AND first_vote_at IS NULL", (_ts(now), citizen_id)
            )
            return "voted"

    async def withdraw(self, citizen_id: int, proposal_id: int) -> bool:
        async with self.db.transaction() as conn:
            cur = await conn.execute("DELETE FROM votes WHERE citizen_id = ? AND proposal_id = ?", (citizen_id, proposal_id))
            return cur.rowcount == 1


class ConversationRepository:
    """Storage for bot/persistence.py: (handler name, key) → state."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def load(self, name: str) -> dict[str, str]:
        async with self.db.read() as conn:
            rows = await _all(conn, "SELECT key, state FROM conversations WHERE name = ?", (name,))
        return {r["key"]: r["state"] for r in rows}

    async def save(self, name: str, key: str, state: str | None) -> None:
        async with self.db.transaction() as conn:
            if state is None:
                await conn.execute("DELETE FROM conversations WHERE name = ? AND key = ?", (name, key))
            else:
                await conn.execute(
                    "INSERT INTO conversations (name, key, state) VALUES (?, ?, ?) "
                    "ON CONFLICT (name, key) DO UPDATE SET state = excluded.state",
                    (name, key, state),
                )


class Repositories:
    """Everything the services need, built on one Database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.citizens = CitizenRepository(db)
        self.drafts = DraftRepository(db)
        self.proposals = ProposalRepository(db)
        self.votes = VoteRepository(db)
        self.conversations = ConversationRepository(db)
