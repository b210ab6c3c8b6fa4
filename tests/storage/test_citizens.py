"""CitizenRepository: one citizen per account, one verified phone per voter across messengers."""
from __future__ import annotations

import asyncio

from tests.storage import seed
from tests.storage.races import race_processes
from tests.storage.seed import HOOD, NOW, OTHER_HOOD


async def test_get_or_create_creates_once_and_keeps_the_latest_chat(repos):
    first, created = await repos.citizens.get_or_create("bale", 42, 4200, NOW)
    again, created_again = await repos.citizens.get_or_create("bale", 42, 4201, NOW)
    assert (created, created_again) == (True, False)
    assert again.id == first.id and again.chat_id == 4201
    assert (await repos.citizens.find("bale", 42)).chat_id == 4201
    # The same user id on the other messenger is another account.
    assert (await repos.citizens.get_or_create("telegram", 42, 42, NOW))[1] is True
    assert await repos.citizens.find("telegram", 43) is None


async def test_one_citizen_when_two_connections_see_a_first_contact_together(repos, open_store):
    other = (await open_store()).repos
    answers = await asyncio.gather(*(r.citizens.get_or_create("telegram", 77, 77, NOW) for r in (repos, other) * 3))
    assert len({person.id for person, _ in answers}) == 1
    assert [created for _, created in answers].count(True) == 1


async def test_a_phone_is_held_by_one_citizen_across_messengers(repos):
    telegram = await seed.citizen(repos, "telegram")
    bale = await seed.citizen(repos, "bale")
    assert await repos.citizens.set_phone_hash(telegram.id, "h-0912", NOW)
    assert await repos.citizens.set_phone_hash(telegram.id, "h-0912", NOW)  # theirs already: still True
    assert not await repos.citizens.set_phone_hash(bale.id, "h-0912", NOW)
    assert (await repos.citizens.get(telegram.id)).verified
    assert not (await repos.citizens.get(bale.id)).verified


async def test_one_phone_per_voter_when_two_connections_verify_together(repos, open_store):
    people = [await seed.citizen(repos, platform) for platform in ("telegram", "bale", "telegram", "bale")]
    other = (await open_store()).repos
    answers = await asyncio.gather(*(r.citizens.set_phone_hash(p.id, "h-same", NOW)
                                     for p, r in zip(people, (repos, other) * 2, strict=True)))
    assert answers.count(True) == 1
    verified = [p for p in people if (await repos.citizens.get(p.id)).verified]
    assert [p.id for p in verified] == [people[answers.index(True)].id]


async def test_one_phone_per_voter_when_two_processes_verify_together(repos, backend, address):
    telegram = await seed.citizen(repos, "telegram")
    bale = await seed.citizen(repos, "bale")
    answers = await race_processes(backend.name, address, "set_phone", [(telegram.id, "h-race"), (bale.id, "h-race")])
    assert sorted(answers) == [False, True]
    holders = [p.id for p in (telegram, bale) if (await repos.citizens.get(p.id)).verified]
    assert holders == [(telegram, bale)[answers.index(True)].id]


async def test_set_neighbourhood_changes_until_the_first_vote(repos):
    me = await seed.citizen(repos, neighbourhood=None)
    assert await repos.citizens.set_neighbourhood(me.id, HOOD)
    assert await repos.citizens.set_neighbourhood(me.id, OTHER_HOOD)
    assert (await repos.citizens.get(me.id)).neighbourhood_id == OTHER_HOOD
    assert not await repos.citizens.set_neighbourhood(999_999, HOOD)


async def test_remind_me_is_stored(repos):
    me = await seed.citizen(repos)
    await repos.citizens.set_remind_me(me.id, True)
    assert (await repos.citizens.get(me.id)).remind_me
