"""Aggregates for /stats and /export: counts grouped in SQL, never a row per citizen in Python.

Nothing here returns a user id, chat id, phone hash, citizen id or file id: what leaves this module
may be printed, charted or sent to a spreadsheet.

Cost at 500,000 citizens: a few passes over citizens and votes with GROUP BY (votes are read in
primary-key order, citizen_id first, so telling voters apart needs no sort), run on a read-only
connection of their own (see StatsRepository).
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from typing import TypeVar

from domain import APPROVED, FEASIBLE, PENDING, REJECTED, DayCounts, NeighbourhoodCounts, PlatformCounts, ProposalRow
from storage.db import Database
from storage.rows import _dt

T = TypeVar("T")


def _offset(tz_minutes: int) -> str:
    """SQLite's date() modifier that moves a UTC timestamp into the campaign's zone."""
    return f"{tz_minutes:+d} minutes"


def add(table: dict, key, **values: int) -> None:
    row = table.setdefault(key, {})
    for name, value in values.items():
        row[name] = row.get(name, 0) + (value or 0)


def _recount(conn: sqlite3.Connection, offset: str):
    """Every figure counted from the rows (for a zone other than the counted one; and what the tests
    check the counters against), in four passes: citizens (twice), votes per citizen, votes by day; the
    proposals table is small. Each query returns groups (neighbourhood × messenger × day at most),
    which are summed here: thousands of rows, never one per citizen."""
    hoods: dict[str | None, dict[str, int]] = {}
    platforms: dict[str, dict[str, int]] = {}
    days: dict[str, dict[str, int]] = {}

    for hood, platform, day, citizens, verified in conn.execute(
            "SELECT neighbourhood_id, platform, date(created_at, ?) AS day, COUNT(*), COUNT(phone_hash) "
            "FROM citizens GROUP BY neighbourhood_id, platform, day", (offset,)):
        add(hoods, hood, citizens=citizens, verified=verified)
        add(platforms, platform, citizens=citizens, verified=verified)
        add(days, day, citizens=citizens)
    for day, verified in conn.execute(
            "SELECT date(verified_at, ?) AS day, COUNT(*) FROM citizens WHERE verified_at IS NOT NULL GROUP BY day",
            (offset,)):
        add(days, day, verified=verified)
    # Votes counted where the voter is (a citizen votes only in their neighbourhood, locked from the
    # first vote on); a voter's day is that of their earliest vote still standing, so the days add
    # up to today's voters (citizens.first_vote_at stays set when someone withdraws every vote).
    for hood, platform, day, voters, votes in conn.execute(
            "SELECT c.neighbourhood_id, c.platform, date(v.first, ?) AS day, COUNT(*), CAST(SUM(v.n) AS BIGINT) "
            "FROM (SELECT citizen_id, COUNT(*) AS n, MIN(created_at) AS first FROM votes GROUP BY citizen_id) v "
            "JOIN citizens c ON c.id = v.citizen_id GROUP BY c.neighbourhood_id, c.platform, day", (offset,)):
        add(hoods, hood, voters=voters, votes=votes)
        add(platforms, platform, voters=voters, votes=votes)
        add(days, day, voters=voters)
    for day, votes in conn.execute("SELECT date(created_at, ?) AS day, COUNT(*) FROM votes GROUP BY day", (offset,)):
        add(days, day, votes=votes)
    _add_proposals(conn, offset, hoods, platforms, days)
    return _results(hoods, platforms, days)


# The zone the counters' days are in (storage/migrations.py, entry 14): Asia/Tehran, UTC+03:30, the
# default general.timezone. A campaign in another zone gets its figures recounted from the rows.
# None: the counters are not kept (their triggers serialized the workers' writes on PostgreSQL; migrations
# entry 17 / 18), so every snapshot is recounted from the rows.
COUNTED_TZ_MINUTES: int | None = None


def _snapshot(conn: sqlite3.Connection, offset: str):
    """Every figure from the counters the triggers keep (a few hundred rows whatever the city's
    size), grouped as _recount's."""
    if COUNTED_TZ_MINUTES is None or offset != _offset(COUNTED_TZ_MINUTES):
        return _recount(conn, offset)
    hoods: dict[str | None, dict[str, int]] = {}
    platforms: dict[str, dict[str, int]] = {}
    days: dict[str, dict[str, int]] = {}

    for hood, platform, citizens, verified, voters, votes, pending, approved, rejected, on_ballot in conn.execute(
            "SELECT neighbourhood_id, platform, citizens, verified, voters, votes, pending, approved, rejected, "
            "on_ballot FROM stats_places WHERE citizens != 0 OR verified != 0 OR voters != 0 OR votes != 0 "
            "OR pending != 0 OR approved != 0 OR rejected != 0"):
        # '' is "none chosen" (a key cannot be NULL); a group exists only for someone, as _recount's.
        if citizens or verified or voters or votes:
            add(hoods, hood or None, citizens=citizens, verified=verified, voters=voters, votes=votes)
            add(platforms, platform, citizens=citizens, verified=verified, voters=voters, votes=votes)
        if pending or approved or rejected:
            add(hoods, hood or None, pending=pending, approved=approved, rejected=rejected, on_ballot=on_ballot)
            add(platforms, platform, proposals=pending + approved + rejected)
    for day, citizens, verified, voters, votes, proposals in conn.execute(
            "SELECT day, citizens, verified, voters, votes, proposals FROM stats_days "
            "WHERE citizens != 0 OR verified != 0 OR voters != 0 OR votes != 0 OR proposals != 0"):
        add(days, day, citizens=citizens, verified=verified, voters=voters, votes=votes, proposals=proposals)
    return _results(hoods, platforms, days)


def _add_proposals(conn: sqlite3.Connection, offset: str, hoods: dict, platforms: dict, days: dict) -> None:
    for hood, platform, day, pending, approved, rejected, on_ballot in conn.execute(
            "SELECT neighbourhood_id, platform, date(created_at, ?) AS day, COUNT(*) FILTER (WHERE status = ?), "
            "COUNT(*) FILTER (WHERE status = ?), COUNT(*) FILTER (WHERE status = ?), "
            "COUNT(*) FILTER (WHERE status = ? AND feasibility = ? AND cost IS NOT NULL) FROM proposals "
            "GROUP BY neighbourhood_id, platform, day", (offset, PENDING, APPROVED, REJECTED, APPROVED, FEASIBLE)):
        add(hoods, hood, pending=pending, approved=approved, rejected=rejected, on_ballot=on_ballot)
        add(platforms, platform, proposals=pending + approved + rejected)
        add(days, day, proposals=pending + approved + rejected)


def _results(hoods: dict, platforms: dict, days: dict):
    return ([NeighbourhoodCounts(hood, **values) for hood, values in hoods.items()],
            [PlatformCounts(platform, **values) for platform, values in sorted(platforms.items())],
            [DayCounts(dt.date.fromisoformat(day), **values) for day, values in sorted(days.items())])


def _proposals(conn: sqlite3.Connection) -> list[ProposalRow]:
    rows = conn.execute(
        "SELECT p.id, p.code, p.neighbourhood_id, p.category_id, p.title, p.status, p.reject_reason, "
        "p.feasibility, p.feasibility_note, p.cost, "
        "(SELECT COUNT(*) FROM votes v WHERE v.proposal_id = p.id) AS votes, "
        "d.code AS duplicate_of, p.created_at "
        "FROM proposals p LEFT JOIN proposals d ON d.id = p.duplicate_of "
        "ORDER BY p.neighbourhood_id, p.id").fetchall()
    return [ProposalRow(*row[:-1], created_at=_dt(row[-1])) for row in rows]


def _neighbourhood_days(conn: sqlite3.Connection, offset: str, neighbourhood_id: str) -> list[DayCounts]:
    """Proposals sent and votes cast in one neighbourhood, per day (two small GROUP BYs: the
    neighbourhood's proposals, and their votes through votes_by_proposal)."""
    days: dict[str, dict[str, int]] = {}
    for day, n in conn.execute("SELECT date(created_at, ?) AS day, COUNT(*) FROM proposals "
                               "WHERE neighbourhood_id = ? GROUP BY day", (offset, neighbourhood_id)):
        days.setdefault(day, {})["proposals"] = n
    for day, n in conn.execute("SELECT date(v.created_at, ?) AS day, COUNT(*) FROM proposals p "
                               "JOIN votes v ON v.proposal_id = p.id WHERE p.neighbourhood_id = ? GROUP BY day",
                               (offset, neighbourhood_id)):
        days.setdefault(day, {})["votes"] = n
    return [DayCounts(dt.date.fromisoformat(day), **values) for day, values in sorted(days.items())]


class StatsRepository:
    """Reads only. At 500,000 citizens a snapshot takes about a second of SQLite's time: it runs on
    a connection of its own in a worker thread (Database.read_apart), so /stats never stalls the
    citizens' updates, which share the bot's one connection (storage/db.py)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _read(self, fn: Callable[..., T], *args) -> T:
        return await self.db.read_apart(fn, *args)

    async def snapshot(self, tz_minutes: int) -> tuple[list[NeighbourhoodCounts], list[PlatformCounts], list[DayCounts]]:
        """Per neighbourhood (every id found, unordered; None: citizens who have not chosen one),
        per messenger, and per day with any activity (oldest first; midnight to midnight at
        UTC+tz_minutes), all from one moment. From the counters at COUNTED_TZ_MINUTES (a few
        hundred rows at any size), else recounted."""
        return await self._read(_snapshot, _offset(tz_minutes))

    async def recount(self, tz_minutes: int) -> tuple[list[NeighbourhoodCounts], list[PlatformCounts], list[DayCounts]]:
        """snapshot()'s figures counted from the rows, not from the counters (a scan of every citizen
        and vote: 36 s at 2,000,000 citizens on PostgreSQL): what the counters are checked against."""
        return await self._read(_recount, _offset(tz_minutes))

    async def snapshot_with_proposals(self, tz_minutes: int) -> tuple[
            list[NeighbourhoodCounts], list[PlatformCounts], list[DayCounts], list[ProposalRow]]:
        """snapshot(), and every proposal (by neighbourhood id, then id) with its vote count and its
        original's code, from the same moment: the workbook's sheets add up."""
        return await self._read(lambda conn, offset: (*_snapshot(conn, offset), _proposals(conn)), _offset(tz_minutes))

    async def neighbourhood_days(self, neighbourhood_id: str, tz_minutes: int) -> list[DayCounts]:
        """One neighbourhood's proposals and votes per day with any (oldest first)."""
        return await self._read(_neighbourhood_days, _offset(tz_minutes), neighbourhood_id)
