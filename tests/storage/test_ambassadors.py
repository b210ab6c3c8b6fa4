"""AmbassadorRepository: the form, invite links, first-touch attribution, figures."""
from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from domain import AMB_APPROVED, AMB_DRAFT, AMB_PENDING, AMB_REJECTED, AMB_SUSPENDED, AmbassadorCard, Figures
from tests.storage import seed
from tests.storage.races import race_processes
from tests.storage.seed import NOW


def link(tag: str) -> str:
    return "a" + tag * (32 // len(tag))


async def test_first_touch_wins_in_ambassador_attribution(repos):
    first, second = await seed.ambassador(repos, link("f")), await seed.ambassador(repos, link("s"))
    newcomer = await seed.citizen(repos, neighbourhood=None)
    assert (await repos.ambassadors.attribute_by_link(newcomer.id, link("f"), NOW)).citizen_id == first.citizen_id
    assert await repos.ambassadors.attribute_by_link(newcomer.id, link("s"), NOW) is None
    assert await repos.ambassadors.attribute_by_link(newcomer.id, link("f"), NOW) is None
    assert (await repos.ambassadors.figures(first.citizen_id)).joined == 1
    assert (await repos.ambassadors.figures(second.citizen_id)).joined == 0


async def test_no_attribution_to_oneself_nor_through_a_dead_link_or_a_suspended_ambassador(repos):
    ambassador = await seed.ambassador(repos, link("o"))
    assert await repos.ambassadors.attribute_by_link(ambassador.citizen_id, link("o"), NOW) is None
    newcomer = await seed.citizen(repos)
    assert await repos.ambassadors.attribute_by_link(newcomer.id, link("x"), NOW) is None
    assert await repos.ambassadors.replace_link(ambassador.citizen_id, link("n"), NOW)
    assert await repos.ambassadors.current_link(ambassador.citizen_id) == link("n")
    assert await repos.ambassadors.attribute_by_link(newcomer.id, link("o"), NOW) is None  # revoked
    await repos.ambassadors.change_status(ambassador.citizen_id, AMB_SUSPENDED, (AMB_APPROVED,), "x", NOW)
    assert await repos.ambassadors.attribute_by_link(newcomer.id, link("n"), NOW) is None
    assert not await repos.ambassadors.replace_link(ambassador.citizen_id, link("z"), NOW)
    assert (await repos.ambassadors.figures(ambassador.citizen_id)) == Figures()


async def test_first_touch_wins_when_two_connections_attribute_together(repos, open_store):
    first, second = await seed.ambassador(repos, link("f")), await seed.ambassador(repos, link("s"))
    other = (await open_store()).repos
    for _ in range(5):
        newcomer = await seed.citizen(repos, neighbourhood=None)
        answers = await asyncio.gather(repos.ambassadors.attribute_by_link(newcomer.id, link("f"), NOW),
                                       other.ambassadors.attribute_by_link(newcomer.id, link("s"), NOW))
        assert sum(answer is not None for answer in answers) == 1
    figures = await repos.ambassadors.all_figures()
    assert sum(f.joined for f in figures.values()) == 5
    assert set(figures) <= {first.citizen_id, second.citizen_id}


async def test_first_touch_wins_when_two_processes_attribute_together(repos, backend, address):
    first, second = await seed.ambassador(repos, link("f")), await seed.ambassador(repos, link("s"))
    newcomer = await seed.citizen(repos, neighbourhood=None)
    answers = await race_processes(backend.name, address, "attribute", [(newcomer.id, link("f")),
                                                                         (newcomer.id, link("s"))])
    assert sum(answer is not None for answer in answers) == 1
    (winner,) = [answer for answer in answers if answer is not None]
    assert winner in {first.citizen_id, second.citizen_id}
    figures = await repos.ambassadors.all_figures()
    assert figures == {winner: Figures(joined=1)}


async def test_a_referral_is_dropped_for_the_ambassadors_own_phone_or_an_earlier_account(repos):
    ambassador = await seed.ambassador(repos, link("d"))
    own_phone, earlier = await seed.citizen(repos), await seed.citizen(repos)
    for person in (own_phone, earlier):
        await repos.ambassadors.attribute_by_link(person.id, link("d"), NOW)
    assert not await repos.ambassadors.drop_self_referral(own_phone.id, "someone-else")
    assert await repos.ambassadors.drop_self_referral(own_phone.id, ambassador.phone_hash)
    assert await repos.ambassadors.drop_referral(earlier.id)
    assert not await repos.ambassadors.drop_referral(earlier.id)
    assert (await repos.ambassadors.figures(ambassador.citizen_id)).joined == 0


async def test_figures_count_only_whether_people_went_on(repos):
    ambassador = await seed.ambassador(repos, link("g"))
    (pid,) = await seed.ballot(repos, 1)
    joined = [await seed.citizen(repos) for _ in range(3)]
    for person in joined:
        await repos.ambassadors.attribute_by_link(person.id, link("g"), NOW)
    await repos.citizens.set_phone_hash(joined[0].id, "h-joined-0", NOW)
    await repos.votes.cast(joined[0].id, pid, seed.HOOD, 3, NOW)
    await seed.pending(repos, await repos.citizens.get(joined[1].id))
    assert await repos.ambassadors.figures(ambassador.citizen_id) == Figures(joined=3, verified=1, proposed=1, voted=1)
    (day,) = await repos.ambassadors.daily(ambassador.citizen_id, 210)
    assert (day.day.isoformat(), day.figures.joined) == ("2026-11-26", 3)
    joins = await repos.ambassadors.recent_joins(NOW, NOW + dt.timedelta(seconds=1))
    assert sorted((a, when, verified) for a, when, verified in joins) == [
        (ambassador.citizen_id, NOW, False), (ambassador.citizen_id, NOW, False), (ambassador.citizen_id, NOW, True)]
    assert await repos.ambassadors.recent_joins(NOW + dt.timedelta(seconds=1), NOW + dt.timedelta(days=1)) == []


async def test_the_form_goes_draft_then_pending_and_a_rejected_applicant_may_apply_again(repos):
    person = await seed.citizen(repos)
    assert (await repos.ambassadors.start_draft(person.id, NOW)).status == AMB_DRAFT
    assert await repos.ambassadors.submit(person.id, NOW) is None  # nothing filled in
    with pytest.raises(ValueError):
        await repos.ambassadors.update_draft(person.id, status=AMB_APPROVED)
    await repos.ambassadors.update_draft(person.id, full_name="زهرا کریمی", neighbourhood_id=seed.HOOD,
                                         phone="09122222222")
    assert (await repos.ambassadors.submit(person.id, NOW)).status == AMB_PENDING
    assert (await repos.ambassadors.start_draft(person.id, NOW)).status == AMB_PENDING  # applied already
    assert (await repos.ambassadors.update_draft(person.id, full_name="دیگری")).full_name == "زهرا کریمی"
    assert [a.citizen_id for a in await repos.ambassadors.pending_without_cards()] == [person.id]
    card = AmbassadorCard(person.id, "telegram", -1000, 7)
    await repos.ambassadors.add_card(card)
    assert await repos.ambassadors.cards(person.id) == [card]
    assert await repos.ambassadors.pending_without_cards() == []
    rejected = await repos.ambassadors.change_status(person.id, AMB_REJECTED, (AMB_PENDING,), "x", NOW)
    assert [a.citizen_id for a in await repos.ambassadors.untold()] == [person.id]
    await repos.ambassadors.mark_told(person.id, rejected.decided_at, NOW)
    assert await repos.ambassadors.untold() == []
    again = await repos.ambassadors.start_draft(person.id, NOW)
    assert (again.status, again.full_name) == (AMB_DRAFT, None)


async def test_an_ambassador_is_flagged_once(repos):
    ambassador = await seed.ambassador(repos, link("h"))
    assert await repos.ambassadors.flag(ambassador.citizen_id, NOW)
    assert not await repos.ambassadors.flag(ambassador.citizen_id, NOW)
    assert [a.citizen_id for a in await repos.ambassadors.in_status(AMB_APPROVED)] == [ambassador.citizen_id]


async def test_joins_at_one_moment_come_in_the_order_they_joined(repos):
    """The burst check walks joins in order: joins at one moment must not come shuffled (on
    PostgreSQL a sort of equal times is not stable; the verified few could land last)."""
    ambassador = await seed.ambassador(repos, link("o"))
    joined = []
    for n in range(40):
        person = await seed.citizen(repos, neighbourhood=None)
        assert await repos.ambassadors.attribute_by_link(person.id, link("o"), NOW)
        if n % 7 == 0:
            assert await repos.citizens.set_phone_hash(person.id, f"order-{person.id}", NOW)
        joined.append(n % 7 == 0)
    joins = await repos.ambassadors.recent_joins(NOW, NOW + dt.timedelta(seconds=1))
    assert [(who, verified) for who, _, verified in joins] == [(ambassador.citizen_id, v) for v in joined]
