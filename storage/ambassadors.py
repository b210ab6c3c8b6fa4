"""Ambassadors: applications, invite links, attribution of new citizens, their figures."""
from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

from domain import (
    AMB_APPROVED,
    AMB_DRAFT,
    AMB_PENDING,
    AMB_REJECTED,
    AMB_REMOVED,
    Ambassador,
    AmbassadorCard,
    DayFigures,
    Figures,
)
from storage.db import Database
from storage.rows import _dt, _locked, _one, _ts

_SELECT = ("SELECT a.*, c.platform, c.user_id, c.chat_id FROM ambassadors a "
           "JOIN citizens c ON c.id = a.citizen_id")
_DRAFT_FIELDS = ("full_name", "neighbourhood_id", "groups", "phone", "phone_hash")
# Figures of the people who joined through one ambassador (c: those citizens).
# COUNT … FILTER, not SUM(condition): one text for both engines (PostgreSQL sums no booleans).
_FIGURES = ("COUNT(*), "
            "COUNT(c.phone_hash), "
            "COUNT(*) FILTER (WHERE EXISTS (SELECT 1 FROM proposals p WHERE p.citizen_id = c.id)), "
            "COUNT(*) FILTER (WHERE EXISTS (SELECT 1 FROM votes v WHERE v.citizen_id = c.id))")


def _ambassador(row: sqlite3.Row | None) -> Ambassador | None:
    if row is None:
        return None
    return Ambassador(
        citizen_id=row["citizen_id"], status=row["status"], full_name=row["full_name"],
        neighbourhood_id=row["neighbourhood_id"], groups=row["groups"], phone=row["phone"],
        phone_hash=row["phone_hash"], created_at=_dt(row["created_at"]), applied_at=_dt(row["applied_at"]),
        decided_at=_dt(row["decided_at"]), decided_by=row["decided_by"], flagged_at=_dt(row["flagged_at"]),
        told_at=_dt(row["told_at"]),
        platform=row["platform"], user_id=row["user_id"], chat_id=row["chat_id"],
    )


def _shared(conn: sqlite3.Connection) -> str:
    """On PostgreSQL the link and its ambassador are read FOR SHARE: a revocation or a suspension
    committing meanwhile waits for this attribution, or this one waits and sees it."""
    return "" if conn.dialect == "sqlite" else " FOR SHARE OF l, a"


def _offset(tz_minutes: int) -> str:
    """SQLite's date() modifier that moves a UTC timestamp into the campaign's zone."""
    return f"{tz_minutes:+d} minutes"


class AmbassadorRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, citizen_id: int) -> Ambassador | None:
        return _ambassador(await self.db.read(_one, f"{_SELECT} WHERE a.citizen_id = ?", (citizen_id,)))

    # -- the application ------------------------------------------------------------------------

    async def start_draft(self, citizen_id: int, now: dt.datetime) -> Ambassador:
        """A fresh form, unless they already applied or are an ambassador (returned as they are).
        Someone rejected or removed may apply again."""
        def start(conn: sqlite3.Connection) -> Ambassador:
            row = _one(conn, "SELECT status FROM ambassadors WHERE citizen_id = ?" + _locked(conn), (citizen_id,))
            if row is None:
                conn.execute("INSERT INTO ambassadors (citizen_id, status, created_at) VALUES (?, ?, ?) "
                             "ON CONFLICT (citizen_id) DO NOTHING", (citizen_id, AMB_DRAFT, _ts(now)))
            elif row["status"] in (AMB_REJECTED, AMB_REMOVED):
                conn.execute(
                    "UPDATE ambassadors SET status = ?, full_name = NULL, neighbourhood_id = NULL, groups = NULL, "
                    "phone = NULL, phone_hash = NULL, created_at = ?, applied_at = NULL, decided_at = NULL, "
                    "decided_by = NULL WHERE citizen_id = ?", (AMB_DRAFT, _ts(now), citizen_id))
            return _ambassador(_one(conn, f"{_SELECT} WHERE a.citizen_id = ?", (citizen_id,)))
        return await self.db.write(start)

    async def update_draft(self, citizen_id: int, **values: Any) -> Ambassador | None:
        unknown = set(values) - set(_DRAFT_FIELDS)
        if unknown:
            raise ValueError(f"not a field of the form: {sorted(unknown)}")
        columns = ", ".join(f"{name} = ?" for name in values)  # names from _DRAFT_FIELDS only

        def update(conn: sqlite3.Connection) -> Ambassador | None:
            conn.execute(f"UPDATE ambassadors SET {columns} WHERE citizen_id = ? AND status = ?",
                         (*values.values(), citizen_id, AMB_DRAFT))
            return _ambassador(_one(conn, f"{_SELECT} WHERE a.citizen_id = ?", (citizen_id,)))
        return await self.db.write(update)

    async def submit(self, citizen_id: int, now: dt.datetime) -> Ambassador | None:
        """draft → pending, when every field is there; None otherwise."""
        def submit(conn: sqlite3.Connection) -> Ambassador | None:
            changed = conn.execute(
                "UPDATE ambassadors SET status = ?, applied_at = ? WHERE citizen_id = ? AND status = ? "
                "AND full_name IS NOT NULL AND neighbourhood_id IS NOT NULL AND phone IS NOT NULL",
                (AMB_PENDING, _ts(now), citizen_id, AMB_DRAFT)).rowcount
            return _ambassador(_one(conn, f"{_SELECT} WHERE a.citizen_id = ?", (citizen_id,))) if changed else None
        return await self.db.write(submit)

    async def change_status(self, citizen_id: int, status: str, allowed_from: tuple[str, ...], by: str,
                            now: dt.datetime) -> Ambassador | None:
        """One decision by staff, taken once: None when the ambassador is not in ``allowed_from``
        any more (another staff member was quicker)."""
        marks = ", ".join("?" * len(allowed_from))

        def change(conn: sqlite3.Connection) -> Ambassador | None:
            if conn.execute(
                    f"UPDATE ambassadors SET status = ?, decided_at = ?, decided_by = ?, told_at = NULL "
                    f"WHERE citizen_id = ? AND status IN ({marks})",
                    (status, _ts(now), by, citizen_id, *allowed_from)).rowcount != 1:
                return None
            if status == AMB_REMOVED:
                # A removed ambassador's links open the bot without attributing. (A suspended
                # one's stay theirs, unattributing while suspended: posters already up in a
                # mosque count again once they are reinstated.)
                conn.execute("UPDATE invite_links SET revoked_at = ? WHERE ambassador_id = ? AND revoked_at IS NULL",
                             (_ts(now), citizen_id))
            return _ambassador(_one(conn, f"{_SELECT} WHERE a.citizen_id = ?", (citizen_id,)))
        return await self.db.write(change)

    async def mark_told(self, citizen_id: int, decided_at: dt.datetime | None, now: dt.datetime) -> None:
        """The applicant heard the decision taken at ``decided_at`` (a later one stays untold)."""
        await self.db.write(lambda conn: conn.execute(
            "UPDATE ambassadors SET told_at = ? WHERE citizen_id = ? AND decided_at = ?",
            (_ts(now), citizen_id, _ts(decided_at))))

    async def untold(self) -> list[Ambassador]:
        """Decisions the person has not heard (the bot stopped, or their messenger failed)."""
        rows = await self.db.read(lambda conn: conn.execute(
            f"{_SELECT} WHERE a.decided_at IS NOT NULL AND a.told_at IS NULL ORDER BY a.citizen_id").fetchall())
        return [_ambassador(row) for row in rows]

    async def pending_without_cards(self) -> list[Ambassador]:
        rows = await self.db.read(lambda conn: conn.execute(
            f"{_SELECT} WHERE a.status = ? AND NOT EXISTS "
            "(SELECT 1 FROM ambassador_cards k WHERE k.ambassador_id = a.citizen_id) ORDER BY a.citizen_id",
            (AMB_PENDING,)).fetchall())
        return [_ambassador(row) for row in rows]

    async def add_card(self, card: AmbassadorCard) -> None:
        await self.db.write(lambda conn: conn.execute(
            "INSERT INTO ambassador_cards (ambassador_id, platform, chat_id, message_id) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (ambassador_id, platform, chat_id) DO UPDATE SET message_id = excluded.message_id",
            (card.ambassador_id, card.platform, card.chat_id, card.message_id)))

    async def cards(self, ambassador_id: int) -> list[AmbassadorCard]:
        rows = await self.db.read(lambda conn: conn.execute(
            "SELECT * FROM ambassador_cards WHERE ambassador_id = ? ORDER BY platform, chat_id", (ambassador_id,)).fetchall())
        return [AmbassadorCard(r["ambassador_id"], r["platform"], r["chat_id"], r["message_id"]) for r in rows]

    async def in_status(self, *statuses: str) -> list[Ambassador]:
        marks = ", ".join("?" * len(statuses))
        rows = await self.db.read(lambda conn: conn.execute(
            f"{_SELECT} WHERE a.status IN ({marks}) ORDER BY a.neighbourhood_id, a.citizen_id", statuses).fetchall())
        return [_ambassador(row) for row in rows]

    # -- links --------------------------------------------------------------------------------------

    async def current_link(self, ambassador_id: int) -> str | None:
        row = await self.db.read(_one, "SELECT payload FROM invite_links WHERE ambassador_id = ? AND revoked_at IS NULL "
                                       "ORDER BY created_at DESC LIMIT 1", (ambassador_id,))
        return row["payload"] if row else None

    async def replace_link(self, ambassador_id: int, payload: str, now: dt.datetime) -> bool:
        """Revokes the current link and makes ``payload`` the new one (only for an approved ambassador)."""
        def replace(conn: sqlite3.Connection) -> bool:
            # Locked: two replacements at once leave one live link, not two.
            if _one(conn, "SELECT 1 FROM ambassadors WHERE citizen_id = ? AND status = ?" + _locked(conn),
                    (ambassador_id, AMB_APPROVED)) is None:
                return False
            conn.execute("UPDATE invite_links SET revoked_at = ? WHERE ambassador_id = ? AND revoked_at IS NULL",
                         (_ts(now), ambassador_id))
            conn.execute("INSERT INTO invite_links (payload, ambassador_id, created_at) VALUES (?, ?, ?)",
                         (payload, ambassador_id, _ts(now)))
            return True
        return await self.db.write(replace)

    # -- attribution --------------------------------------------------------------------------------

    async def attribute_by_link(self, citizen_id: int, payload: str, now: dt.datetime) -> Ambassador | None:
        """First touch only, in one transaction: the citizen is attributed to the approved
        ambassador whose live link this is — never to themselves, never twice, and not if the
        link was revoked or its ambassador suspended a moment ago. Returns that ambassador."""
        def attribute(conn: sqlite3.Connection) -> Ambassador | None:
            row = _one(conn, "SELECT l.ambassador_id FROM invite_links l JOIN ambassadors a ON a.citizen_id = l.ambassador_id "
                             "WHERE l.payload = ? AND l.revoked_at IS NULL AND a.status = ?" + _shared(conn), (payload, AMB_APPROVED))
            if row is None or row[0] == citizen_id:
                return None
            if conn.execute("UPDATE citizens SET referred_by = ?, referred_at = ? WHERE id = ? AND referred_by IS NULL",
                            (row[0], _ts(now), citizen_id)).rowcount != 1:
                return None
            return _ambassador(_one(conn, f"{_SELECT} WHERE a.citizen_id = ?", (row[0],)))
        return await self.db.write(attribute)

    async def drop_self_referral(self, citizen_id: int, phone_hash: str) -> bool:
        """A citizen whose phone is their ambassador's own (the form's, or the one the ambassador
        verified to vote): not a person they brought in."""
        def drop(conn: sqlite3.Connection) -> bool:
            return conn.execute(
                "UPDATE citizens SET referred_by = NULL, referred_at = NULL WHERE id = ? AND referred_by IN "
                "(SELECT citizen_id FROM ambassadors WHERE phone_hash = ? "
                " UNION SELECT id FROM citizens WHERE phone_hash = ?)",
                (citizen_id, phone_hash, phone_hash)).rowcount == 1
        return await self.db.write(drop)

    async def drop_referral(self, citizen_id: int) -> bool:
        """Their phone already belongs to an account that was there before (theirs on the other
        messenger, or the ambassador's): not someone new."""
        def drop(conn: sqlite3.Connection) -> bool:
            return conn.execute("UPDATE citizens SET referred_by = NULL, referred_at = NULL "
                                "WHERE id = ? AND referred_by IS NOT NULL", (citizen_id,)).rowcount == 1
        return await self.db.write(drop)

    # -- figures ------------------------------------------------------------------------------------

    async def figures(self, ambassador_id: int) -> Figures:
        row = await self.db.read(_one, f"SELECT {_FIGURES} FROM citizens c WHERE c.referred_by = ?", (ambassador_id,))
        return Figures(*row)

    async def daily(self, ambassador_id: int, tz_minutes: int) -> list[DayFigures]:
        rows = await self.db.read(lambda conn: conn.execute(
            f"SELECT date(c.referred_at, ?) AS day, {_FIGURES} FROM citizens c WHERE c.referred_by = ? "
            "GROUP BY day ORDER BY day", (_offset(tz_minutes), ambassador_id)).fetchall())
        return [DayFigures(dt.date.fromisoformat(row[0]), Figures(*row[1:])) for row in rows]

    async def all_figures(self) -> dict[int, Figures]:
        """Every ambassador's figures in one pass (for the staff overview and the leaderboard)."""
        rows = await self.db.read(lambda conn: conn.execute(
            f"SELECT c.referred_by, {_FIGURES} FROM citizens c WHERE c.referred_by IS NOT NULL "
            "GROUP BY c.referred_by").fetchall())
        return {row[0]: Figures(*row[1:]) for row in rows}

    async def recent_joins(self, since: dt.datetime, until: dt.datetime) -> list[tuple[int, dt.datetime, bool]]:
        """(ambassador, when, verified a phone) of joins through unflagged ambassadors, by time."""
        rows = await self.db.read(lambda conn: conn.execute(
            "SELECT c.referred_by, c.referred_at, c.phone_hash IS NOT NULL FROM citizens c "
            "JOIN ambassadors a ON a.citizen_id = c.referred_by "
            "WHERE c.referred_by IS NOT NULL AND a.flagged_at IS NULL AND c.referred_at >= ? AND c.referred_at < ? "
            "ORDER BY c.referred_by, c.referred_at, c.id", (_ts(since), _ts(until))).fetchall())
        return [(row[0], _dt(row[1]), bool(row[2])) for row in rows]

    async def flag(self, ambassador_id: int, now: dt.datetime) -> bool:
        """True the first time only."""
        def flag(conn: sqlite3.Connection) -> bool:
            return conn.execute("UPDATE ambassadors SET flagged_at = ? WHERE citizen_id = ? AND flagged_at IS NULL",
                                (_ts(now), ambassador_id)).rowcount == 1
        return await self.db.write(flag)
