"""The campaign's calendar: its phases, the calendar as it is now, and its announcements.

``phase_at`` says which phase a moment is in, from the boundaries alone.

config.toml gives the boundaries; admins may move one that has not passed yet, and the moves are
kept in the database, so phase gating, menus and announcements follow without a restart. Each
announcement is recorded in the database when it is made (or found missed), and the record is
what makes it happen once: across restarts, and across two processes on one database.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

import jdatetime

from bot.campaign.clock import Clock
from bot.campaign.config import Calendar, Config, ConfigError, parse_jalali
from bot.campaign.roles import Actor, may_act
from domain import EVERYONE, NON_VOTERS, Audience, Phase
from messages_fa import broadcasts as t
from messages_fa.dates import jalali_datetime
from messages_fa.normalize import typed_moment
from storage.interface import Repositories

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PhaseInfo:
    phase: Phase
    starts: dt.datetime | None
    ends: dt.datetime | None


def phase_at(calendar: Calendar, now: dt.datetime) -> PhaseInfo:
    """Each boundary belongs to the phase it opens: at 09:00 sharp registration is open."""
    c = calendar
    if now < c.proposals_opens:
        return PhaseInfo(Phase.BEFORE, None, c.proposals_opens)
    if now < c.proposals_closes:
        return PhaseInfo(Phase.PROPOSALS, c.proposals_opens, c.proposals_closes)
    if now < c.voting_opens:
        return PhaseInfo(Phase.REVIEW, c.proposals_closes, c.voting_opens)
    if now < c.voting_closes:
        return PhaseInfo(Phase.VOTING, c.voting_opens, c.voting_closes)
    return PhaseInfo(Phase.CLOSED, c.voting_closes, None)


def days_left(now: dt.datetime, moment: dt.datetime, tz: dt.tzinfo) -> int:
    """Calendar days in Tehran between today and the day of ``moment`` ("tomorrow" is 1)."""
    return (moment.astimezone(tz).date() - now.astimezone(tz).date()).days

# A full Jalali date with the word for "hour" and a time is 23 characters; anything much longer
# is not a time.
MAX_TIME_TYPED = 40

MOVABLE = ("proposals_opens", "proposals_closes", "voting_opens", "voting_closes", "results_announced")


@dataclass(frozen=True)
class Planned:
    key: str  # messages_fa.broadcasts.ANNOUNCEMENT_NAMES
    due: dt.datetime
    audience: Audience


class Fired(enum.Enum):
    SENT = "sent"  # recorded now, its broadcast is due
    MISSED = "missed"  # later than the grace period: recorded, staff to be told
    ALREADY = "already"  # an earlier run or another process made it
    NOT_DUE = "not_due"  # the boundary moved later; its job will come again


class MoveRefused(enum.Enum):
    UNKNOWN = "unknown"
    PASSED = "passed"
    PAST = "past"
    ORDER = "order"
    NOT_STAFF = "not_staff"  # the actor may not take "schedule" (the handler answers; move_refused has no text)


def _in_order(c: Calendar) -> bool:
    ends = c.results_announced or c.voting_closes
    return c.proposals_opens < c.proposals_closes <= c.voting_opens < c.voting_closes <= ends


class CampaignCalendar:
    def __init__(self, config: Config, clock: Clock, repos: Repositories) -> None:
        self.config, self.clock, self.repos = config, clock, repos
        self.current: Calendar = config.calendar
        self.on_change: list[Callable[[], None]] = []

    async def load(self) -> bool:
        """Applies the moves admins made, in earlier runs or in another process. True if the
        calendar changed."""
        moved = await self.repos.calendar.moved_boundaries()
        current = dataclasses.replace(self.config.calendar, **moved)
        if current == self.current:
            return False
        self.current = current
        log.info("calendar: %s moved by admins (see /schedule)", ", ".join(sorted(moved)))
        return True

    def phase(self) -> PhaseInfo:
        return phase_at(self.current, self.clock.now())

    def when(self, moment: dt.datetime) -> str:
        return jalali_datetime(moment, self.config.timezone)

    def parse_time(self, typed: str) -> dt.datetime | None:
        """A Jalali date and Tehran hour as staff type it ("1405/9/5 9:00"), Persian or ASCII digits."""
        if len(typed) > MAX_TIME_TYPED:
            return None
        try:
            return parse_jalali("time", typed_moment(typed), self.config.timezone)
        except ConfigError:
            return None

    def example_time(self) -> str:
        """An hour from now, in the form parse_time reads (ASCII digits; shown in Persian)."""
        local = (self.clock.now() + dt.timedelta(hours=1)).astimezone(self.config.timezone)
        j = jdatetime.datetime.fromgregorian(datetime=local)
        return f"{j.year}/{j.month:02d}/{j.day:02d} {j.hour:02d}:00"

    # -- moving a boundary --------------------------------------------------------------------

    async def move(self, boundary: str, new_at: dt.datetime, by: Actor) -> MoveRefused | None:
        """None when moved; otherwise why not, and nothing changed."""
        if not may_act(self.config, by, "schedule"):
            return MoveRefused.NOT_STAFF
        now = self.clock.now()
        if boundary not in MOVABLE:
            return MoveRefused.UNKNOWN
        old_at = getattr(self.current, boundary)
        if old_at is not None and old_at <= now:
            return MoveRefused.PASSED
        if new_at <= now:
            return MoveRefused.PAST
        moved = dataclasses.replace(self.current, **{boundary: new_at})
        if not _in_order(moved):
            return MoveRefused.ORDER
        await self.repos.calendar.move(boundary, old_at or new_at, new_at, by.ref, now)
        await self.repos.audit.record(by.ref, "calendar", boundary, old_at.isoformat() if old_at else None,
                                      new_at.isoformat(), now)
        self.current = moved
        log.info("calendar: %s moved from %s to %s by %s", boundary, old_at, new_at, by.ref)
        for listener in self.on_change:
            listener()
        return None

    # -- announcements ------------------------------------------------------------------------

    def planned(self) -> list[Planned]:
        c = self.current
        everyone = Audience(EVERYONE)
        # Registration opening goes to everyone; the "remind me" (b.REMIND_ME) subscribers are first in
        # line because deliveries are written subscribers first (storage.broadcasts.start).
        plan = [Planned("proposals_open", c.proposals_opens, everyone),
                Planned("proposals_close", c.proposals_closes, everyone),
                Planned("voting_open", c.voting_opens, everyone)]
        reminder = self.config.announcements.voting_reminder
        if reminder and c.voting_closes - reminder > c.voting_opens:
            plan.append(Planned("voting_reminder", c.voting_closes - reminder, Audience(NON_VOTERS)))
        plan.append(Planned("voting_close", c.voting_closes, everyone))
        return plan

    def text(self, key: str) -> str:
        c = self.current
        if key == "proposals_open":
            return t.announce_proposals_open(self.when(c.proposals_closes))
        if key == "proposals_close":
            return t.announce_proposals_close(self.when(c.voting_opens))
        if key == "voting_open":
            return t.announce_voting_open(self.when(c.voting_closes))
        if key == "voting_reminder":
            return t.announce_voting_reminder(self.when(c.voting_closes))
        if key == "voting_close":
            return t.announce_voting_close(self.when(c.results_announced) if c.results_announced else None)
        raise KeyError(key)

    async def fire(self, key: str, late_ok: bool = False) -> tuple[Fired, Planned | None]:
        """Makes the announcement if it is due and nobody has made it: sends it, or, if it is
        more than the grace period late, records it as missed (the caller tells staff).
        ``late_ok``: a move has just put it in the past; it is news now, not late."""
        await self.load()  # another process may have moved it
        planned = next((p for p in self.planned() if p.key == key), None)
        now = self.clock.now()
        if planned is None or planned.due > now:
            return Fired.NOT_DUE, planned
        if now - planned.due > self.config.announcements.grace and not late_ok:
            if await self.repos.calendar.record_missed(key, planned.due, now):
                log.warning("announcement %s was due %s and is past the grace period: not sent", key, planned.due)
                return Fired.MISSED, planned
            return Fired.ALREADY, planned
        broadcast_id = await self.repos.calendar.announce(key, planned.due, now, self.text(key), planned.audience)
        if broadcast_id is None:
            return Fired.ALREADY, planned
        log.info("announcement %s: broadcast %d", key, broadcast_id)
        return Fired.SENT, planned

    async def due_unrecorded(self) -> list[Planned]:
        """Announcements whose moment has come and that nobody has recorded (start-up catch-up)."""
        done = await self.repos.calendar.announcements()
        now = self.clock.now()
        return [p for p in self.planned() if p.due <= now and p.key not in done]

    async def upcoming(self) -> list[Planned]:
        done = await self.repos.calendar.announcements()
        now = self.clock.now()
        return [p for p in self.planned() if p.due > now and p.key not in done]
