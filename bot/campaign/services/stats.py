"""The campaign's statistics for staff (/stats, /export, ``python -m bot stats``): the figures from
storage/stats.py put in the order of config.toml, with participation and a continuous day series.

Participation is voters ÷ citizens: the share of the people who started the bot (in that
neighbourhood, on that messenger, or by that day) who have at least one vote standing.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from bot.campaign.clock import Clock
from bot.campaign.config import Config
from domain import (
    AMB_APPROVED,
    AMB_REMOVED,
    AMB_SUSPENDED,
    DayCounts,
    Figures,
    NeighbourhoodCounts,
    PlatformCounts,
    ProposalRow,
)
from messages_fa import stats as t
from messages_fa.dates import jalali_datetime
from messages_fa.markup import Markup
from storage.interface import Repositories

RANKED = 3  # neighbourhoods named as best and worst in the short text
DAYS_IN_TEXT = 14  # days listed by the full (command line) text
# A day series longer than this is cut to its last MAX_DAYS days (a chart stays readable, and a
# stray timestamp from years ago cannot make a series of thousands of empty days).
MAX_DAYS = 120


def share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dataclass(frozen=True)
class HoodStats:
    id: str | None
    name: str
    counts: NeighbourhoodCounts

    @property
    def participation(self) -> float:
        return share(self.counts.voters, self.counts.citizens)


@dataclass(frozen=True)
class DayStats:
    counts: DayCounts
    citizens_so_far: int
    voters_so_far: int

    @property
    def day(self) -> dt.date:
        return self.counts.day

    @property
    def participation(self) -> float:
        return share(self.voters_so_far, self.citizens_so_far)


@dataclass(frozen=True)
class StatsReport:
    at: dt.datetime
    today: dt.date  # in the campaign's time zone
    neighbourhoods: tuple[HoodStats, ...]  # config order; ids no longer in config.toml after them
    unassigned: NeighbourhoodCounts  # citizens who have not chosen a neighbourhood
    total: NeighbourhoodCounts
    platforms: tuple[PlatformCounts, ...]
    days: tuple[DayStats, ...]  # continuous, first activity → today

    @property
    def participation(self) -> float:
        return share(self.total.voters, self.total.citizens)

    def day(self, day: dt.date) -> DayStats | None:
        return next((d for d in self.days if d.day == day), None)


@dataclass(frozen=True)
class AmbassadorRow:
    """An ambassador as exported: no phone, no account ids."""

    name: str
    neighbourhood: str
    status: str
    figures: Figures


@dataclass(frozen=True)
class ExportData:
    report: StatsReport
    proposals: tuple[ProposalRow, ...]  # config's neighbourhood order, then id
    ambassadors: tuple[AmbassadorRow, ...]


def _sum(rows, cls, **fixed):
    names = [f.name for f in dataclasses.fields(cls) if f.name not in fixed]
    return cls(**fixed, **{n: sum(getattr(r, n) for r in rows) for n in names})


def continuous_days(counts: list[DayCounts], today: dt.date, max_days: int = MAX_DAYS) -> tuple[DayStats, ...]:
    """Every day from the first with activity to ``today`` (zeros where nothing happened), with
    running totals; at most the last ``max_days`` days (the running totals still count from the start)."""
    if not counts:
        return ()
    by_day = {c.day: c for c in counts}
    first, last = counts[0].day, max(counts[-1].day, today)
    citizens = voters = 0
    out = []
    day = first
    while day <= last:
        c = by_day.get(day, DayCounts(day))
        citizens += c.citizens
        voters += c.voters
        out.append(DayStats(c, citizens, voters))
        day += dt.timedelta(days=1)
    return tuple(out[-max_days:])


class StatsService:
    def __init__(self, config: Config, clock: Clock, repos: Repositories) -> None:
        self.config, self.clock, self.repos = config, clock, repos
        # Stateless: built here so nothing else has to know about it.
        self.stats = repos.stats

    def _tz_minutes(self) -> int:
        offset = self.clock.now().astimezone(self.config.timezone).utcoffset()
        return int(offset.total_seconds() // 60)

    def when(self, moment: dt.datetime | None = None) -> str:
        return jalali_datetime(moment or self.clock.now(), self.config.timezone)

    async def report(self) -> StatsReport:
        now = self.clock.now()
        return self._report(now, *await self.stats.snapshot(self._tz_minutes()))

    def _report(self, now: dt.datetime, hoods: list[NeighbourhoodCounts], platforms: list[PlatformCounts],
                days: list[DayCounts]) -> StatsReport:
        by_id = {h.neighbourhood_id: h for h in hoods}
        known = [HoodStats(n.id, n.name, by_id.get(n.id, NeighbourhoodCounts(n.id))) for n in self.config.neighbourhoods]
        configured = {n.id for n in self.config.neighbourhoods}
        # An id removed from config.toml still has its people: shown under its id, never dropped.
        strays = [HoodStats(h.neighbourhood_id, h.neighbourhood_id, h) for h in
                  sorted((h for h in hoods if h.neighbourhood_id is not None and h.neighbourhood_id not in configured),
                         key=lambda h: h.neighbourhood_id)]
        today = now.astimezone(self.config.timezone).date()
        order = list(self.config.platforms)  # Telegram, then Bale, as in config.toml
        return StatsReport(
            at=now, today=today, neighbourhoods=tuple(known + strays),
            unassigned=by_id.get(None, NeighbourhoodCounts(None)),
            total=_sum(hoods, NeighbourhoodCounts, neighbourhood_id=None),
            platforms=tuple(sorted(platforms, key=lambda p: (order.index(p.platform) if p.platform in order
                                                             else len(order), p.platform))),
            days=continuous_days(days, today),
        )

    async def neighbourhood_days(self, neighbourhood_id: str) -> tuple[DayStats, ...]:
        """One neighbourhood's proposals and votes per day, every day from its first to today
        (/stats's chart of one neighbourhood)."""
        days = await self.stats.neighbourhood_days(neighbourhood_id, self._tz_minutes())
        return continuous_days(days, self.clock.now().astimezone(self.config.timezone).date())

    async def export_data(self) -> ExportData:
        """The report and every proposal from one moment; the ambassadors' figures just after."""
        now = self.clock.now()
        hoods, platforms, days, proposals = await self.stats.snapshot_with_proposals(self._tz_minutes())
        report = self._report(now, hoods, platforms, days)
        order = {n.id: i for i, n in enumerate(self.config.neighbourhoods)}
        proposals = sorted(proposals, key=lambda p: (order.get(p.neighbourhood_id, len(order)), p.neighbourhood_id,
                                                     p.id))
        figures = await self.repos.ambassadors.all_figures()
        people = await self.repos.ambassadors.in_status(AMB_APPROVED, AMB_SUSPENDED, AMB_REMOVED)
        ambassadors = tuple(
            AmbassadorRow(a.full_name or "", neighbourhood_name(self.config, a.neighbourhood_id), a.status,
                          figures.get(a.citizen_id, Figures()))
            for a in sorted(people, key=lambda a: (order.get(a.neighbourhood_id, len(order)), a.citizen_id)))
        return ExportData(report, tuple(proposals), ambassadors)


def neighbourhood_name(config: Config, neighbourhood_id: str | None) -> str:
    """As staff read it: the name in config.toml, the bare id of one removed from it, or
    t.NO_NEIGHBOURHOOD."""
    if neighbourhood_id is None:
        return t.NO_NEIGHBOURHOOD
    hood = config.neighbourhood(neighbourhood_id)
    return hood.name if hood else neighbourhood_id


def report_text(report: StatsReport, m: Markup, when: str, can_export: bool = False, full: bool = False) -> str:
    """The short text for /stats, which the charts follow; ``full`` is the command line's: every
    neighbourhood and the last days instead of the charts."""
    total = report.total
    with_people = [h for h in report.neighbourhoods if h.counts.citizens]
    ranked = sorted(with_people, key=lambda h: (-h.participation, -h.counts.citizens, h.name))
    best, worst = [], []
    if any(h.counts.voters for h in ranked):  # before anyone votes a ranking says nothing
        shown = min(RANKED, max(1, len(ranked) // 2))  # a neighbourhood is never both best and worst
        best, worst = ranked[:shown], ranked[shown:][-shown:][::-1]
    today = report.day(report.today)
    text = t.report(
        m, when, total.citizens, total.verified, report.unassigned.citizens,
        (total.pending, total.approved, total.rejected, total.on_ballot), total.votes, total.voters,
        report.participation, [(p.platform, p.citizens, p.voters) for p in report.platforms],
        None if today is None else (today.counts.citizens, today.counts.verified, today.counts.proposals,
                                    today.counts.votes),
        [(m.esc(h.name), h.participation) for h in best], [(m.esc(h.name), h.participation) for h in worst],
        can_export, charts_follow=not full,
    )
    if not full:
        return text
    lines = [text, "", t.neighbourhoods_heading()]
    lines += [t.neighbourhood_line(m.esc(h.name), h.counts.citizens, h.counts.verified, h.counts.proposals,
                                   h.counts.votes, h.counts.voters, h.participation) for h in report.neighbourhoods]
    recent = report.days[-DAYS_IN_TEXT:]
    if recent:
        lines += ["", t.days_heading(len(recent))]
        lines += [t.day_line(d.day, d.counts.citizens, d.counts.verified, d.counts.proposals, d.counts.votes)
                  for d in recent]
    return "\n".join(lines)
