"""Demo data: sample citizens and their proposals, seeded through the services (``--demo``)."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from bot.campaign.calendar import phase_at
from bot.campaign.clock import ManualClock
from bot.campaign.config import BALE, TELEGRAM, Config
from bot.campaign.roles import Actor
from bot.messenger import render
from domain import Phase
from messages_fa import samples
from messages_fa.samples import DEMO_PROPOSAL_TEXTS

from .constants import ADMIN_ID

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoProposal:
    user_id: int
    platform: str
    neighbourhood: str
    category: str
    title: str
    description: str
    reject_reason: str | None = None  # None: approved
    location: tuple[float, float] | None = None


DEMO_PROPOSALS = (
    DemoProposal(9001, TELEGRAM, "tajrish", "green", *DEMO_PROPOSAL_TEXTS[9001]),
    DemoProposal(9002, TELEGRAM, "tajrish", "urban-services", *DEMO_PROPOSAL_TEXTS[9002]),
    DemoProposal(9003, BALE, "tajrish", "transport", *DEMO_PROPOSAL_TEXTS[9003], location=(35.8046, 51.4336)),
    DemoProposal(9004, TELEGRAM, "tajrish", "civil", *DEMO_PROPOSAL_TEXTS[9004]),
    DemoProposal(9005, BALE, "darband", "civil", *DEMO_PROPOSAL_TEXTS[9005]),
    DemoProposal(9006, TELEGRAM, "darband", "urban-services", *DEMO_PROPOSAL_TEXTS[9006]),
    DemoProposal(9007, TELEGRAM, "niavaran", "culture", *DEMO_PROPOSAL_TEXTS[9007]),
    DemoProposal(9008, TELEGRAM, "niavaran", "sport", *DEMO_PROPOSAL_TEXTS[9008]),
)


@dataclass
class SeedReport:
    added: int = 0
    present: int = 0
    approved: int = 0
    rejected: int = 0
    neighbourhoods: tuple[str, ...] = ()


async def seed_demo(config: Config, db, now: dt.datetime) -> SeedReport:
    """Demo citizens and their proposals, through the services as a citizen and the admin would.

    Runs on its own clock inside the proposals phase (the services refuse proposals at any other
    time). Citizens that already have a proposal are left alone, so seeding twice adds nothing.
    """
    from bot.campaign.services import Services
    from storage.repositories import Repositories

    calendar = config.calendar
    inside = phase_at(calendar, now).phase is Phase.PROPOSALS
    clock = ManualClock(now if inside else calendar.proposals_opens + dt.timedelta(hours=2))
    services = Services.build(config, clock, Repositories(db))
    # The demo's decisions are the operator's tool acting, named as the playground's admin so the
    # audit log and the cards read as if that admin had moderated them.
    staff = Actor.tool(f"{TELEGRAM}:{ADMIN_ID}")
    report = SeedReport()
    hoods: list[str] = []
    for demo in DEMO_PROPOSALS:
        if config.neighbourhood(demo.neighbourhood) is None or config.category(demo.category) is None:
            continue  # a config without this neighbourhood or category
        name = render.neighbourhood_name(config, demo.neighbourhood)
        if name not in hoods:
            hoods.append(name)
        existing = await services.repos.citizens.find(demo.platform, demo.user_id)
        if existing is not None and await services.proposals.mine(existing):
            report.present += 1
            continue
        clock.advance(minutes=7)
        citizen, _ = await services.citizens.enter(demo.platform, demo.user_id, demo.user_id)
        await services.citizens.choose_neighbourhood(citizen, demo.neighbourhood)
        citizen, _ = await services.citizens.enter(demo.platform, demo.user_id, demo.user_id)
        await services.proposals.start(citizen)
        await services.proposals.set_category(citizen, demo.category)
        await services.proposals.set_title(citizen, demo.title)
        await services.proposals.set_description(citizen, demo.description)
        if demo.location:
            await services.proposals.set_location(citizen, *demo.location)
        submitted = await services.proposals.submit(citizen)
        if submitted.proposal is None:
            log.warning("demo proposal %r not submitted: %s", demo.title, submitted.gate.value)
            continue
        clock.advance(minutes=30)
        approve = demo.reject_reason is None
        await services.proposals.decide(staff, submitted.proposal.id, approve, demo.reject_reason)
        if approve:  # a reviewer's judgement too, so the demo's voting phase has a ballot
            await services.proposals.judge(staff, submitted.proposal.id, True, samples.DEMO_FEASIBILITY_NOTE)
            await services.proposals.set_cost(staff, submitted.proposal.id, samples.DEMO_COST)
        report.added += 1
        if approve:
            report.approved += 1
        else:
            report.rejected += 1
    report.neighbourhoods = tuple(hoods)
    return report


def demo_phone(user_id: int) -> str:
    """A valid Iranian mobile number of one's own, derived from the user id: +98912000NNNN."""
    return f"+98912{user_id % 10**7:07d}"
