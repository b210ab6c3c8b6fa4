"""The campaign's rules, each in one function a test can call without Telegram."""
from __future__ import annotations

from dataclasses import dataclass

from bot.campaign.calendar import CampaignCalendar, PhaseInfo
from bot.campaign.clock import Clock
from bot.campaign.config import Config
from bot.campaign.flood import FloodControl, Kind, Verdict
from bot.campaign.roles import may, staff_of
from bot.campaign.services.ambassadors import AmbassadorService
from bot.campaign.services.audit import AuditService
from bot.campaign.services.broadcasts import BroadcastService
from bot.campaign.services.citizens import CitizenService
from bot.campaign.services.proposals import ProposalService
from bot.campaign.services.results import ResultsService
from bot.campaign.services.similar import SimilarService
from bot.campaign.services.staff_questions import StaffQuestions
from bot.campaign.services.stats import StatsService
from bot.campaign.services.voting import VotingService
from domain import Announcement, AuditEntry
from storage.interface import Repositories


@dataclass
class Services:
    config: Config
    clock: Clock
    repos: Repositories
    citizens: CitizenService
    proposals: ProposalService
    voting: VotingService
    calendar: CampaignCalendar
    broadcasts: BroadcastService
    ambassadors: AmbassadorService
    results: ResultsService
    stats: StatsService
    questions: StaffQuestions
    # Similar proposals: at the title and description steps, and on the /review card.
    similar: SimilarService
    # Per-person flood control, one for all messengers (keyed by messenger and user id).
    flood: FloodControl
    # /audit: pages, filters and the staff's names.
    audit_log: AuditService

    @classmethod
    def build(cls, config: Config, clock: Clock, repos: Repositories) -> "Services":
        """Call ``await services.calendar.load()`` once the database is open."""
        calendar = CampaignCalendar(config, clock, repos)
        return cls(
            config=config,
            clock=clock,
            repos=repos,
            citizens=CitizenService(config, clock, repos, calendar),
            proposals=ProposalService(config, clock, repos, calendar),
            voting=VotingService(config, clock, repos, calendar),
            calendar=calendar,
            broadcasts=BroadcastService(config, clock, repos, calendar),
            ambassadors=AmbassadorService(config, clock, repos),
            results=ResultsService(config, clock, repos, calendar),
            stats=StatsService(config, clock, repos),
            questions=StaffQuestions(clock, repos),
            similar=SimilarService(config, clock, repos, calendar),
            flood=FloodControl.from_limits(clock, config.limits),
            audit_log=AuditService(config, clock, repos),
        )

    def phase(self) -> PhaseInfo:
        return self.calendar.phase()

    def flood_check(self, platform: str, user_id: int, kind: Kind, can_notify: bool) -> Verdict:
        """One update from this person against their flood allowance (bot/campaign/flood.py). Staff are a
        handful of configured, trusted people: a moderator working fast is never slowed."""
        if self.flood_exempt(platform, user_id):
            return Verdict.PASS
        return self.flood.check(platform, user_id, kind, can_notify)

    def flood_exempt(self, platform: str, user_id: int) -> bool:
        """Staff, never flood-limited (flood_check; the workers' shared buckets too)."""
        return user_id in staff_of(self.config, platform)

    def may(self, platform: str, user_id: int, action: str) -> bool:
        """Whether this person may take this staff action now (bot/campaign/roles.py)."""
        return may(self.config, platform, user_id, action)

    async def audit(self, actor: str, action: str, target: str, before: str | None, after: str | None) -> None:
        """Written for every staff action, after it is committed."""
        await self.repos.audit.record(actor, action, target, before, after, self.clock.now())

    async def audit_entries(self, limit: int, offset: int = 0) -> list[AuditEntry]:
        """The audit log, newest first (/audit)."""
        return await self.repos.audit.recent(limit, offset)

    async def announcements(self) -> dict[str, Announcement]:
        """What has become of each planned announcement, by its key (/schedule)."""
        return await self.repos.calendar.announcements()
