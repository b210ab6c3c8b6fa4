"""The staff services decide who may act themselves (bot/campaign/roles.py): broadcasts, results and
moving a calendar boundary refuse an actor without the right with a value, not an exception, and
change nothing — whatever the caller checked before. The operator's tools act with every right."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bot.campaign.calendar import MoveRefused
from bot.campaign.roles import NOT_STAFF, Actor
from bot.campaign.services.broadcasts import ScheduleResult
from bot.campaign.services.results import ANNOUNCEMENT, Publish
from domain import CANCELLED, DRAFT, EVERYONE, SCHEDULED, SUBSCRIBERS, Audience
from tests.conftest import BALE_ADMIN, TELEGRAM_ADMIN
from tests.support.services import ADMIN, at

MODERATOR, REVIEWER = 910, 920
NOTICE = "آب منطقه فردا از ساعت ۸ تا ۱۲ قطع است."

# Staff of another role, a citizen, and an admin's id on the messenger where it is not an admin's.
WITHOUT_THE_RIGHT = [
    pytest.param(Actor.person("telegram", MODERATOR), id="moderator"),
    pytest.param(Actor.person("telegram", REVIEWER), id="reviewer"),
    pytest.param(Actor.person("telegram", 4321), id="citizen"),
    pytest.param(Actor.person("bale", TELEGRAM_ADMIN), id="admin-id-on-the-other-messenger"),
]


@pytest.fixture
def config(config):
    """conftest's config with a moderator and a reviewer on Telegram: staff, but not admins."""
    telegram = dataclasses.replace(config.platforms["telegram"], moderators=frozenset({MODERATOR}),
                                   reviewers=frozenset({REVIEWER}))
    return dataclasses.replace(config, platforms={**config.platforms, "telegram": telegram})


def test_a_refusal_reads_as_nothing_changed():
    """Falsy: a caller's ``if not done`` takes the refusal for what it is."""
    assert not NOT_STAFF


# -- broadcasts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("who", WITHOUT_THE_RIGHT)
async def test_no_draft_without_the_broadcast_right(services, repos, who):
    assert await services.broadcasts.draft(who, "text", NOTICE, None, None) is NOT_STAFF
    assert await repos.broadcasts.recent(10) == []


@pytest.mark.parametrize("who", WITHOUT_THE_RIGHT)
async def test_an_admins_draft_is_not_shaped_sent_or_cancelled_by_who_may_not_broadcast(services, repos, who):
    broadcasts = services.broadcasts
    draft = await broadcasts.draft(ADMIN, "text", NOTICE, None, None)
    assert await broadcasts.choose(ADMIN, draft.id, Audience(SUBSCRIBERS))
    typed = services.calendar.example_time()  # a valid time: only the right is missing

    assert await broadcasts.choose(who, draft.id, Audience(EVERYONE)) is NOT_STAFF
    assert await broadcasts.send_now(who, draft.id, "telegram", 4321) is NOT_STAFF
    assert await broadcasts.schedule(who, draft.id, typed, "telegram", 4321) == (ScheduleResult.NOT_STAFF, None)
    assert await broadcasts.cancel(who, draft.id) is NOT_STAFF
    stored = await repos.broadcasts.get(draft.id)
    assert (stored.status, stored.audience, stored.send_at) == (DRAFT, Audience(SUBSCRIBERS), None)

    # Once scheduled by its admin, it is not cancelled by them either.
    assert await broadcasts.send_now(ADMIN, draft.id, "telegram", TELEGRAM_ADMIN)
    assert await broadcasts.cancel(who, draft.id) is NOT_STAFF
    stored = await repos.broadcasts.get(draft.id)
    assert (stored.status, stored.cancelled_by) == (SCHEDULED, None)
    [entry] = await repos.audit.recent(10)  # the admin's scheduling only
    assert entry.actor == ADMIN.ref


async def test_a_tool_broadcasts_under_its_own_name(services, repos):
    tool = Actor.tool("bench")
    broadcasts = services.broadcasts
    draft = await broadcasts.draft(tool, "text", NOTICE, None, None)
    assert (draft.status, draft.created_by) == (DRAFT, "bench")
    assert await broadcasts.choose(tool, draft.id, Audience(EVERYONE))
    assert await broadcasts.send_now(tool, draft.id, "telegram", TELEGRAM_ADMIN)
    assert await broadcasts.cancel(tool, draft.id) == SCHEDULED
    stored = await repos.broadcasts.get(draft.id)
    assert (stored.status, stored.cancelled_by) == (CANCELLED, "bench")
    assert [e.actor for e in await repos.audit.recent(10)] == ["bench", "bench"]


# -- results ------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", WITHOUT_THE_RIGHT)
async def test_results_are_neither_computed_nor_published_without_the_right(services, repos, who):
    at(services, "closed")
    assert await services.results.compute(who) is NOT_STAFF
    assert await services.results.compute(who, save=False) is NOT_STAFF
    assert await repos.results.get(1) is None and await repos.audit.recent(10) == []

    run = await services.results.compute(ADMIN)
    assert await services.results.publish(who, run.id) is Publish.NOT_STAFF
    assert await services.results.published() is None
    assert ANNOUNCEMENT not in await repos.calendar.announcements()
    assert [(e.actor, e.after) for e in await repos.audit.recent(10)] == [(ADMIN.ref, run.rule)]  # its compute only


async def test_the_operators_count_is_named_as_before(services, repos):
    """``python -m bot results`` acts as the tool "operator" (bot/__main__.py)."""
    at(services, "closed")
    run = await services.results.compute(Actor.tool("operator"), save=False)
    assert (run.id, run.computed_by) == (0, "operator")
    saved = await services.results.compute(Actor.tool("operator"))
    assert await services.results.publish(Actor.tool("operator"), saved.id) is Publish.DONE
    assert (await services.results.published()).id == saved.id
    assert [(e.actor, e.after) for e in await repos.audit.recent(10)] == [("operator", "published"),
                                                                          ("operator", saved.rule)]


# -- moving a calendar boundary -------------------------------------------------------------------

@pytest.mark.parametrize("who", WITHOUT_THE_RIGHT)
async def test_no_boundary_moves_without_the_schedule_right(services, repos, who):
    calendar = services.calendar
    before = calendar.current
    earlier = before.voting_closes - dt.timedelta(hours=1)  # a move the admin could make
    assert await calendar.move("voting_closes", earlier, who) is MoveRefused.NOT_STAFF
    assert calendar.current == before
    assert await repos.calendar.moved_boundaries() == {} and await repos.audit.recent(10) == []


async def test_a_tool_and_an_admin_move_boundaries_under_their_names(services, repos):
    calendar = services.calendar
    first = calendar.current.voting_closes - dt.timedelta(hours=1)
    assert await calendar.move("voting_closes", first, Actor.tool("playground")) is None
    second = first - dt.timedelta(hours=1)
    assert await calendar.move("voting_closes", second, Actor.person("bale", BALE_ADMIN)) is None
    assert calendar.current.voting_closes == second
    assert await repos.calendar.moved_boundaries() == {"voting_closes": second}
    assert [e.actor for e in await repos.audit.recent(10)] == [f"bale:{BALE_ADMIN}", "playground"]
