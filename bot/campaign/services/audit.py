"""The audit log as /audit reads it: pages narrowed to one person, one action or one day (Tehran's),
and the staff's names, so that the log names people rather than ids."""
from __future__ import annotations

import datetime as dt

from bot.campaign.clock import Clock
from bot.campaign.config import Config
from bot.campaign.roles import actor, staff_of
from domain import AuditEntry, AuditFilter, StaffName
from storage.interface import Repositories

PEOPLE = 12  # the «by person» choice: the most recent ones
DAYS = 14  # the «by day» choice: the latest days with entries


class AuditService:
    def __init__(self, config: Config, clock: Clock, repos: Repositories) -> None:
        self.config, self.clock, self.repos = config, clock, repos
        # What this process has written to staff_names already: one write per person and name change.
        self._remembered: dict[str, tuple[str, str | None]] = {}

    async def page(self, limit: int, offset: int = 0, only: AuditFilter | None = None) -> list[AuditEntry]:
        """Newest first."""
        return await self.repos.audit.recent(limit, offset, only)

    async def names(self, actors: list[str]) -> dict[str, StaffName]:
        return await self.repos.audit.names(sorted(set(actors)))

    async def people(self) -> list[str]:
        return await self.repos.audit.actors(PEOPLE)

    async def actions(self) -> list[str]:
        return await self.repos.audit.actions()

    async def days(self) -> list[dt.date]:
        """Days in the campaign's time zone (Tehran) on which something was logged, the latest first."""
        offset = self.clock.now().astimezone(self.config.timezone).utcoffset() or dt.timedelta()
        return await self.repos.audit.days(round(offset.total_seconds() / 60), DAYS)

    def day(self, day: dt.date) -> AuditFilter:
        """The entries of one day in the campaign's time zone."""
        start = dt.datetime.combine(day, dt.time(), tzinfo=self.config.timezone)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=self.config.timezone)
        return AuditFilter(since=start, until=end)

    async def remember(self, platform: str, user_id: int, first_name: str, username: str | None) -> None:
        """A staff member's name as their messenger shows it now (anyone else's is never kept)."""
        if user_id not in staff_of(self.config, platform):
            return
        ref = actor(platform, user_id)
        if self._remembered.get(ref) == (first_name, username):
            return
        await self.repos.audit.remember_name(ref, first_name, username, self.clock.now())
        self._remembered[ref] = (first_name, username)
