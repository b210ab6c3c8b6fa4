"""AmbassadorService: the application form, staff decisions, invite links, attribution of the people
who join through them, and manufactured joins."""
from __future__ import annotations

import datetime as dt

from bot.campaign.roles import Actor
from bot.campaign.services.ambassadors import (
    BURST_JOINS,
    BURST_WINDOW,
    PAYLOAD_RE,
    Decision,
    FormCheck,
    suspicious_bursts,
)
from domain import AMB_APPROVED, AMB_PENDING, AMB_REJECTED, AMB_SUSPENDED
from tests.support.services import ADMIN, citizen, phone_of

CITIZEN = Actor.person("telegram", 5555)  # no right in config.toml


async def applied(services, user_id: int, hood: str = "darband"):
    """A citizen who filled in the whole form and sent it; their application as stored."""
    person = await citizen(services, user_id, hood=None)
    service = services.ambassadors
    await service.start_form(person)
    assert await service.set_name(person, "مریم احمدی") is FormCheck.OK
    assert await service.set_neighbourhood(person, hood) is FormCheck.OK
    assert await service.set_groups(person, "گروه محلهٔ دربند") is FormCheck.OK
    assert await service.set_phone(person, user_id, user_id, phone_of(user_id)) is FormCheck.OK
    return await service.submit(person)


async def test_the_form_checks_each_answer_and_submits_only_when_complete(services, repos):
    person = await citizen(services, 1, hood=None)
    service = services.ambassadors
    await service.start_form(person)
    assert await service.set_name(person, "م") is FormCheck.TOO_SHORT
    assert await service.set_name(person, "ن" * 81) is FormCheck.TOO_LONG
    assert await service.set_neighbourhood(person, "atlantis") is FormCheck.TOO_SHORT
    assert await service.set_phone(person, 1, 2, phone_of(1)) is FormCheck.NOT_YOURS
    assert await service.set_phone(person, 1, 1, "+14155550100") is FormCheck.NOT_IRANIAN
    assert await service.set_name(person, "  مریم   احمدی ") is FormCheck.OK
    assert await service.submit(person) is None  # no neighbourhood, no phone yet
    assert (await repos.ambassadors.get(person.id)).full_name == "مریم احمدی"

    application = await applied(services, 2)
    assert (application.status, application.neighbourhood_id, application.phone) == (
        AMB_PENDING, "darband", "+989120000002")
    # A sent application is no longer a form to edit.
    assert await service.set_name(await repos.citizens.get(2), "نام دیگر") is FormCheck.NOT_A_DRAFT


async def test_staff_decide_once_and_a_citizen_decides_nothing(services, repos):
    application = await applied(services, 1)
    assert await services.ambassadors.decide(CITIZEN, application.citizen_id, "approve") == (Decision.NOT_STAFF, None)
    decision, approved = await services.ambassadors.decide(ADMIN, application.citizen_id, "approve")
    assert decision is Decision.DONE and approved.status == AMB_APPROVED
    decision, still = await services.ambassadors.decide(ADMIN, application.citizen_id, "reject")
    assert decision is Decision.ALREADY and still.status == AMB_APPROVED
    assert (await services.ambassadors.decide(ADMIN, application.citizen_id, "suspend"))[0] is Decision.DONE
    assert (await repos.ambassadors.get(application.citizen_id)).status == AMB_SUSPENDED
    assert [e.action for e in await repos.audit.recent(10)] == ["ambassador", "ambassador"]
    assert (await services.ambassadors.decide(ADMIN, 999_999, "approve"))[0] is Decision.MISSING


async def test_a_link_only_for_an_approved_ambassador_and_a_new_one_retires_the_old(services):
    application = await applied(services, 1)
    assert await services.ambassadors.link(application) is None
    _, approved = await services.ambassadors.decide(ADMIN, application.citizen_id, "approve")
    payload = await services.ambassadors.link(approved)
    assert PAYLOAD_RE.match(payload) and await services.ambassadors.link(approved) == payload
    newer = await services.ambassadors.new_link(approved)
    assert newer != payload and await services.ambassadors.link(approved) == newer

    came_late, new = await services.citizens.enter("telegram", 50, 50)
    assert await services.ambassadors.join(came_late, new, payload) is None  # the retired link counts nobody


async def test_only_a_new_citizen_is_attributed_and_starts_in_the_ambassadors_neighbourhood(services, repos):
    _, ambassador = await services.ambassadors.decide(ADMIN, (await applied(services, 1)).citizen_id, "approve")
    payload = await services.ambassadors.link(ambassador)
    newcomer, new = await services.citizens.enter("telegram", 60, 60)
    assert (await services.ambassadors.join(newcomer, new, payload)).citizen_id == ambassador.citizen_id
    assert (await repos.citizens.get(newcomer.id)).neighbourhood_id == "darband"

    known = await citizen(services, 61)
    assert await services.ambassadors.join(known, False, payload) is None
    stranger, new = await services.citizens.enter("telegram", 62, 62)
    assert await services.ambassadors.join(stranger, new, "a" + "x" * 10) is None  # not a payload
    figures, _ = await services.ambassadors.figures(ambassador)
    assert (figures.joined, figures.verified) == (1, 0)


async def test_a_rejected_application_gets_no_link(services):
    application = await applied(services, 1)
    decision, rejected = await services.ambassadors.decide(ADMIN, application.citizen_id, "reject")
    assert decision is Decision.DONE and rejected.status == AMB_REJECTED
    assert await services.ambassadors.link(rejected) is None


def test_a_burst_of_unverified_joins_is_suspicious_and_a_verified_tenth_is_not():
    start = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
    step = BURST_WINDOW / (BURST_JOINS * 2)
    fakes = [(7, start + n * step, False) for n in range(BURST_JOINS)]
    assert suspicious_bursts(fakes) == [7]
    assert suspicious_bursts(fakes[:-1]) == []  # one short of a burst
    with_people = [(7, moment, n < BURST_JOINS // 10) for n, (_, moment, _) in enumerate(fakes)]
    assert suspicious_bursts(with_people) == []
    spread = [(7, start + n * BURST_WINDOW, False) for n in range(BURST_JOINS)]
    assert suspicious_bursts(spread) == []
