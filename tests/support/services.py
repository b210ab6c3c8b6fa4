"""Builders for the service-level tests (tests/services/): people and proposals made through the
services themselves, on the manual clock, with no messenger anywhere."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from bot.campaign.clock import ManualClock
from bot.campaign.config import Config
from bot.campaign.roles import Actor
from bot.campaign.services import Services
from bot.campaign.services.citizens import ChooseResult, PhoneResult
from bot.campaign.services.proposals import Decision, Gate, TextCheck
from domain import Citizen, Proposal
from storage.engine import open_database
from storage.repositories import Repositories
from tests.conftest import TELEGRAM_ADMIN, phase_moments

DESCRIPTION = "در پیاده‌رو خیابان اصلی درخت کاشته شود تا سایه داشته باشیم."
# The admin of conftest's config: every staff right (bot/campaign/roles.py).
ADMIN = Actor.person("telegram", TELEGRAM_ADMIN)


@contextlib.asynccontextmanager
async def built(config: Config) -> AsyncIterator[Services]:
    """The services on the config's database, during registration, with no messenger."""
    database = open_database(config.database_url or config.database)
    await database.open()
    try:
        services = Services.build(config, ManualClock(phase_moments(config)["proposals"]), Repositories(database))
        await services.calendar.load()
        yield services
    finally:
        await database.close()


def at(services: Services, phase: str) -> None:
    """Move the clock into a phase of config.example.toml's calendar (tests/conftest.py)."""
    services.clock.set(phase_moments(services.config)[phase])


def phone_of(n: int) -> str:
    return f"+98912{n:07d}"


async def citizen(services: Services, user_id: int, hood: str | None = "tajrish", platform: str = "telegram",
                  phone: str | None = None) -> Citizen:
    """A citizen who started the bot, chose ``hood`` and, given ``phone``, verified it; as stored now."""
    person, _ = await services.citizens.enter(platform, user_id, user_id)
    if hood is not None:
        assert await services.citizens.choose_neighbourhood(person, hood) is ChooseResult.CHOSEN
        person = await services.repos.citizens.get(person.id)
    if phone is not None:
        assert await services.citizens.verify_phone(person, user_id, user_id, phone) is PhoneResult.VERIFIED
        person = await services.repos.citizens.get(person.id)
    return person


async def proposal(services: Services, author: Citizen, title: str = "کاشت درخت در خیابان",
                   category: str = "green") -> Proposal:
    """Written step by step and submitted (registration must be open)."""
    gate, _ = await services.proposals.start(author)
    assert gate is Gate.OK, gate
    assert await services.proposals.set_category(author, category)
    assert (await services.proposals.set_title(author, title)).check is TextCheck.OK
    assert (await services.proposals.set_description(author, DESCRIPTION)).check is TextCheck.OK
    result = await services.proposals.submit(author)
    assert result.gate is Gate.OK, result.gate
    return result.proposal


async def on_ballot(services: Services, submitted: Proposal, cost: str = "۱۲٬۵۰۰٬۰۰۰") -> Proposal:
    """Approved by the admin, found feasible and costed: what the ballot shows (before voting opens)."""
    proposals = services.proposals
    assert (await proposals.decide(by=ADMIN, proposal_id=submitted.id, approve=True)).decision is Decision.DONE
    assert (await proposals.judge(by=ADMIN, proposal_id=submitted.id, feasible=True, note="اجراپذیر")).proposal
    done = await proposals.set_cost(by=ADMIN, proposal_id=submitted.id, typed=cost)
    assert done.decision is Decision.DONE
    return done.proposal
