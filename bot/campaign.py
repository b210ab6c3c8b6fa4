"""The campaign's phases: which one is current, and when the next one starts."""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from bot.config import Calendar


class Phase(enum.Enum):
    BEFORE = "before"  # registration not open yet (before 5 Azar)
    PROPOSALS = "proposals"
    REVIEW = "review"  # proposals closed, voting not open yet
    VOTING = "voting"
    CLOSED = "closed"


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
