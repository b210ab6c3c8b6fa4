"""A service decides a staff action's right itself, from the acting person's role in the config of
now (bot/campaign/roles.py) — no caller vouches for anyone — and keeps the question a staff member's next
message answers. Built on a temporary database with no messenger."""
from __future__ import annotations

import dataclasses

import pytest

from bot.campaign.roles import Actor
from bot.campaign.services import Services
from bot.campaign.services.proposals import Decision
from bot.campaign.services.staff_questions import QUESTION_LIFETIME
from domain import APPROVED, FEASIBLE, PENDING
from tests.conftest import TELEGRAM_ADMIN
from tests.support.services import built

MODERATOR, REVIEWER, CITIZEN = 910, 920, 5555
ADMIN = Actor.person("telegram", TELEGRAM_ADMIN)


@pytest.fixture
async def services(config):
    telegram = dataclasses.replace(config.platforms["telegram"], moderators=frozenset({MODERATOR}),
                                   reviewers=frozenset({REVIEWER}))
    config = dataclasses.replace(config, platforms={**config.platforms, "telegram": telegram})
    async with built(config) as services:
        yield services


async def _pending(services: Services, user_id: int = 1001) -> int:
    author, _ = await services.citizens.enter("telegram", user_id, user_id)
    await services.citizens.choose_neighbourhood(author, "tajrish")
    author = await services.citizens.get(author.id)
    proposals = services.proposals
    await proposals.start(author)
    await proposals.set_category(author, services.config.categories[0].id)
    await proposals.set_title(author, "کاشت درخت در خیابان")
    await proposals.set_description(author, "در پیاده‌رو خیابان اصلی درخت کاشته شود تا سایه داشته باشیم.")
    return (await proposals.submit(author)).proposal.id


async def test_moderating_is_for_moderators_and_admins_only(services):
    proposal_id = await _pending(services)
    for who in (Actor.person("telegram", REVIEWER), Actor.person("telegram", CITIZEN),
                Actor.person("bale", MODERATOR)):  # the same id on the other messenger is nobody
        assert (await services.proposals.decide(who, proposal_id, True)).decision is Decision.NOT_STAFF
        assert (await services.proposals.fix_category(who, proposal_id, "sport")).decision is Decision.NOT_STAFF
    assert (await services.proposals.get(proposal_id)).status == PENDING
    assert await services.audit_entries(10) == []
    result = await services.proposals.decide(Actor.person("telegram", MODERATOR), proposal_id, True)
    assert result.decision is Decision.DONE and result.proposal.decided_by == f"telegram:{MODERATOR}"


async def test_judging_is_for_reviewers_and_admins_only(services):
    proposal_id = await _pending(services)
    await services.proposals.decide(ADMIN, proposal_id, True)
    moderator = Actor.person("telegram", MODERATOR)
    assert (await services.proposals.judge(moderator, proposal_id, True, "")).decision is Decision.NOT_STAFF
    assert (await services.proposals.set_cost(moderator, proposal_id, "1000")).decision is Decision.NOT_STAFF
    reviewer = Actor.person("telegram", REVIEWER)
    assert (await services.proposals.judge(reviewer, proposal_id, True, "اجراپذیر")).decision is Decision.DONE
    judged = await services.proposals.get(proposal_id)
    assert (judged.status, judged.feasibility) == (APPROVED, FEASIBLE)


async def test_a_role_taken_away_counts_at_once(services):
    proposal_id = await _pending(services)
    platforms = services.config.platforms
    platforms["telegram"] = dataclasses.replace(platforms["telegram"], moderators=frozenset())
    result = await services.proposals.decide(Actor.person("telegram", MODERATOR), proposal_id, True)
    assert result.decision is Decision.NOT_STAFF


async def test_the_operators_tool_acts_under_its_own_name(services):
    proposal_id = await _pending(services)
    result = await services.proposals.decide(Actor.tool("bench"), proposal_id, True)
    assert result.decision is Decision.DONE and result.proposal.decided_by == "bench"
    # A name alone is not a tool: only Actor.tool has its rights.
    assert (await services.proposals.judge(Actor("bench"), proposal_id, True, "")).decision is Decision.NOT_STAFF


async def test_revoking_an_ambassadors_link_is_for_admins(services):
    citizen, _ = await services.citizens.enter("telegram", 4444, 4444)
    service = services.ambassadors
    await service.start_form(citizen)
    await service.set_name(citizen, "مریم احمدی")
    await service.set_neighbourhood(citizen, "tajrish")
    await service.set_groups(citizen, "گروه محلهٔ تجریش")
    await service.set_phone(citizen, 4444, 4444, "+989120004444")
    await service.submit(citizen)
    assert (await service.decide(ADMIN, citizen.id, "approve"))[1].status == "approved"
    old = await services.ambassadors.link(await services.ambassadors.by_id(citizen.id))
    assert await services.ambassadors.revoke_link(Actor.person("telegram", MODERATOR), citizen.id) is None
    assert await services.ambassadors.link(await services.ambassadors.by_id(citizen.id)) == old
    assert (await services.ambassadors.revoke_link(ADMIN, citizen.id)).citizen_id == citizen.id
    assert await services.ambassadors.link(await services.ambassadors.by_id(citizen.id)) != old
    assert [(e.actor, e.after) for e in await services.audit_entries(1)] == [(ADMIN.ref, "new link")]
    assert await services.ambassadors.revoke_link(ADMIN, 999_999) is None


async def test_a_staff_question_is_one_per_person_until_answered_or_expired(services):
    questions, admin = services.questions, ADMIN
    assert await questions.open_question(admin) is None
    await questions.ask(admin, "cost", "12")
    await questions.ask(admin, "feasibility_note", "y:12:u")  # a new question replaces the old one
    assert await questions.open_question(admin) == ("feasibility_note", "y:12:u")
    assert await questions.open_question(Actor.person("bale", TELEGRAM_ADMIN)) is None  # per messenger
    services.clock.advance(seconds=QUESTION_LIFETIME.total_seconds() - 1)
    assert await questions.open_question(admin) is not None
    services.clock.advance(seconds=2)
    assert await questions.open_question(admin) is None
    await questions.ask(admin, "cost", "12")
    await questions.close(admin)
    assert await questions.open_question(admin) is None


def test_handlers_reach_no_repository_and_no_service_takes_a_permission_flag():
    """Handlers call services only (no ``.repos`` anywhere in handlers/), and a service decides a
    right itself: no method takes a flag its caller fills in (``allowed``, ``is_staff``)."""
    import ast
    import inspect
    from pathlib import Path

    import bot.campaign.services as services_package

    handlers = Path(__file__).resolve().parent.parent / "handlers"
    modules = sorted(handlers.glob("*.py"))
    reaching = [f"{path.name}:{node.lineno}" for path in modules
                for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                if isinstance(node, ast.Attribute) and node.attr == "repos"]
    assert len(modules) > 10 and reaching == []
    flags, checked = [], set()
    for field in dataclasses.fields(Services):
        service = field.type if isinstance(field.type, type) else getattr(services_package, field.type, None)
        for name, method in inspect.getmembers(service or object, inspect.isfunction):
            checked.add(f"{field.name}.{name}")
            flags += [f"{field.name}.{name}({p})" for p in inspect.signature(method).parameters
                      if p in ("allowed", "is_staff", "is_admin")]
    assert flags == []
    assert {"proposals.decide", "proposals.judge", "ambassadors.decide", "questions.ask"} <= checked
