"""bot/campaign/services/stats.py's StatsService: the figures of a campaign made through the services, in the order of
config.toml, with participation, people of a neighbourhood no longer configured, and a continuous
day series."""
from __future__ import annotations

import datetime as dt

import pytest

from bot.campaign.services.stats import StatsService
from domain import AMB_APPROVED
from tests.support.services import ADMIN, at, citizen, on_ballot, phone_of, proposal


@pytest.fixture
def stats(services) -> StatsService:
    """As the assembly builds it (bot/campaign/services/__init__.py)."""
    return services.stats


async def campaign(services) -> None:
    """Tajrish: three citizens on Telegram, two verified, one of whom votes; Darband: one on Bale;
    one citizen without a neighbourhood; one whose neighbourhood was removed from config.toml."""
    on_the_ballot = await on_ballot(services, await proposal(services, await citizen(services, 1)))
    voter = await citizen(services, 2, phone=phone_of(2))
    await citizen(services, 3, phone=phone_of(3))
    await citizen(services, 4, "darband", platform="bale")
    await citizen(services, 5, hood=None)
    gone = await citizen(services, 6, hood=None)
    assert await services.repos.citizens.set_neighbourhood(gone.id, "old-hood")
    at(services, "voting")
    await services.voting.cast(voter, on_the_ballot.id)


async def test_figures_by_neighbourhood_in_config_order_with_participation(services, stats):
    await campaign(services)
    report = await stats.report()
    assert (report.total.citizens, report.total.verified, report.total.voters, report.total.votes) == (6, 2, 1, 1)
    assert report.participation == pytest.approx(1 / 6)
    configured = [n.id for n in services.config.neighbourhoods]
    assert [h.id for h in report.neighbourhoods] == configured + ["old-hood"]
    by_id = {h.id: h for h in report.neighbourhoods}
    tajrish = by_id["tajrish"]
    assert (tajrish.counts.citizens, tajrish.counts.verified, tajrish.counts.on_ballot) == (3, 2, 1)
    assert tajrish.participation == pytest.approx(1 / 3)
    assert by_id["old-hood"].name == "old-hood" and by_id["old-hood"].counts.citizens == 1
    assert by_id["araj"].counts.citizens == 0 and by_id["araj"].participation == 0
    assert report.unassigned.citizens == 1


async def test_messengers_in_config_order_and_a_day_series_without_gaps(services, stats):
    await campaign(services)
    report = await stats.report()
    assert [(p.platform, p.citizens, p.voters) for p in report.platforms] == [("telegram", 5, 1), ("bale", 1, 0)]
    days = [d.day for d in report.days]
    assert days[-1] == report.today and days == [days[0] + dt.timedelta(n) for n in range(len(days))]
    assert report.days[-1].voters_so_far == 1 and report.days[-1].citizens_so_far == 6


async def test_the_export_holds_proposals_and_ambassadors_without_their_phones(services, stats):
    await campaign(services)
    person = await citizen(services, 7, hood=None)
    await services.ambassadors.start_form(person)
    await services.ambassadors.set_name(person, "مریم احمدی")
    await services.ambassadors.set_neighbourhood(person, "darband")
    await services.ambassadors.set_phone(person, 7, 7, phone_of(7))
    await services.ambassadors.submit(person)
    await services.ambassadors.decide(ADMIN, person.id, "approve")
    data = await stats.export_data()
    assert [p.title for p in data.proposals] == ["کاشت درخت در خیابان"]
    [row] = data.ambassadors
    assert (row.name, row.status) == ("مریم احمدی", AMB_APPROVED)
    assert phone_of(7) not in repr(row) and row.neighbourhood == services.config.neighbourhood("darband").name
