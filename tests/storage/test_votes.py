"""VoteRepository: the vote limit, one vote per proposal, only the voter's own ballot."""
from __future__ import annotations

import asyncio

from tests.storage import seed
from tests.storage.races import race_processes
from tests.storage.seed import HOOD, NOW, OTHER_HOOD


async def test_cast_counts_up_to_the_limit_then_refuses_with_limit(repos):
    ids = await seed.ballot(repos, 4)
    me = await seed.voter(repos)
    outcomes = [await repos.votes.cast(me.id, pid, HOOD, 3, NOW) for pid in ids]
    assert outcomes == [("voted", 1), ("voted", 2), ("voted", 3), ("limit", 3)]
    assert await repos.votes.count_by_citizen(me.id) == 3
    page = await repos.votes.ballot_page(me.id, HOOD, 0, 10, True)
    assert page.my_votes == set(ids[:3])


async def test_a_second_vote_for_the_same_proposal_is_already_and_adds_nothing(repos):
    (pid,) = await seed.ballot(repos, 1)
    me = await seed.voter(repos)
    assert await repos.votes.cast(me.id, pid, HOOD, 3, NOW) == ("voted", 1)
    assert await repos.votes.cast(me.id, pid, HOOD, 3, NOW) == ("already", 1)
    page = await repos.votes.ballot_page(me.id, HOOD, 0, 10, True)
    assert page.vote_counts == {pid: 1}


async def test_a_proposal_off_the_ballot_or_elsewhere_is_ineligible_and_writes_nothing(repos):
    author = await seed.citizen(repos)
    pending = await seed.pending(repos, author)
    approved_only = await seed.approved(repos, author)  # no feasibility, no cost yet
    elsewhere = await seed.on_ballot(repos, await seed.citizen(repos, neighbourhood=OTHER_HOOD), OTHER_HOOD)
    me = await seed.voter(repos)
    for pid in (pending.id, approved_only.id, elsewhere.id, 999_999):
        assert await repos.votes.cast(me.id, pid, HOOD, 3, NOW) == ("ineligible", 0)
    assert await repos.votes.count_by_citizen(me.id) == 0
    # Nothing was cast, so the neighbourhood is still theirs to change.
    assert await repos.citizens.set_neighbourhood(me.id, OTHER_HOOD)


async def test_withdraw_frees_a_place_and_is_idempotent(repos):
    ids = await seed.ballot(repos, 3)
    me = await seed.voter(repos)
    for pid in ids[:2]:
        await repos.votes.cast(me.id, pid, HOOD, 2, NOW)
    assert await repos.votes.withdraw(me.id, ids[0]) == 1
    assert await repos.votes.withdraw(me.id, ids[0]) == 1
    assert await repos.votes.cast(me.id, ids[2], HOOD, 2, NOW) == ("voted", 2)


async def test_the_first_vote_locks_the_neighbourhood_even_after_every_vote_is_withdrawn(repos):
    (pid,) = await seed.ballot(repos, 1)
    me = await seed.voter(repos)
    assert not me.neighbourhood_locked
    await repos.votes.cast(me.id, pid, HOOD, 3, NOW)
    assert (await repos.citizens.get(me.id)).neighbourhood_locked
    assert not await repos.citizens.set_neighbourhood(me.id, OTHER_HOOD)
    await repos.votes.withdraw(me.id, pid)
    assert not await repos.citizens.set_neighbourhood(me.id, OTHER_HOOD)
    assert (await repos.citizens.get(me.id)).neighbourhood_id == HOOD


async def test_ballot_page_pages_in_id_order_with_counts_only_when_asked(repos):
    ids = await seed.ballot(repos, 7)
    await seed.ballot(repos, 2, OTHER_HOOD)
    me = await seed.voter(repos)
    await repos.votes.cast(me.id, ids[5], HOOD, 3, NOW)
    second = await repos.votes.ballot_page(me.id, HOOD, 5, 5, True)
    assert [p.id for p in second.proposals] == ids[5:]
    assert second.total == 7
    assert second.vote_counts == {ids[5]: 1}
    assert second.my_votes == {ids[5]}
    assert (await repos.votes.ballot_page(me.id, HOOD, 5, 5, False)).vote_counts == {}


async def test_the_limit_holds_when_two_connections_race_for_one_citizen(repos, open_store):
    ids = await seed.ballot(repos, 8)
    me = await seed.voter(repos)
    other = (await open_store()).repos
    # Each connection tries every proposal, in opposite orders, all at once.
    outcomes = await asyncio.gather(
        *(r.votes.cast(me.id, pid, HOOD, 3, NOW) for r, order in ((repos, ids), (other, ids[::-1])) for pid in order))
    assert sum(status == "voted" for status, _ in outcomes) == 3
    assert {status for status, _ in outcomes} <= {"voted", "already", "limit"}
    assert all(used <= 3 for _, used in outcomes)
    assert await repos.votes.count_by_citizen(me.id) == 3
    assert await other.votes.count_by_citizen(me.id) == 3


async def test_one_vote_per_proposal_when_two_connections_press_together(repos, open_store):
    (pid,) = await seed.ballot(repos, 1)
    me = await seed.voter(repos)
    other = (await open_store()).repos
    outcomes = await asyncio.gather(*(r.votes.cast(me.id, pid, HOOD, 3, NOW) for r in (repos, other) * 5))
    assert sorted(status for status, _ in outcomes) == ["already"] * 9 + ["voted"]
    assert (await repos.votes.ballot_page(me.id, HOOD, 0, 5, True)).vote_counts == {pid: 1}


async def test_the_limit_holds_when_two_processes_race_for_one_citizen(repos, backend, address):
    ids = await seed.ballot(repos, 10)
    me = await seed.voter(repos)
    first, second = await race_processes(backend.name, address, "cast", [
        (me.id, ids, HOOD, 4), (me.id, ids[::-1], HOOD, 4)])
    assert first.count("voted") + second.count("voted") == 4
    assert await repos.votes.count_by_citizen(me.id) == 4
    page = await repos.votes.ballot_page(me.id, HOOD, 0, 10, True)
    assert len(page.my_votes) == 4
    assert set(page.vote_counts.values()) == {1}  # never two votes on one proposal


async def test_a_vote_goes_only_to_the_ballot_of_the_neighbourhood_the_citizen_has_now(repos):
    """The caller passes the neighbourhood it read with the citizen; another process may have
    changed it since (the lock only starts at the first vote). The stored one decides."""
    here = (await seed.ballot(repos, 1))[0]
    me = await seed.voter(repos)
    assert await repos.citizens.set_neighbourhood(me.id, OTHER_HOOD)  # from another update
    assert await repos.votes.cast(me.id, here, me.neighbourhood_id, 3, NOW) == ("ineligible", 0)
    assert await repos.citizens.set_neighbourhood(me.id, HOOD)  # still unlocked: nothing was cast


async def test_a_vote_and_a_change_of_neighbourhood_racing_leave_the_vote_in_the_citizens_neighbourhood(
        repos, open_store):
    other = (await open_store()).repos
    for _ in range(5):
        (pid,) = await seed.ballot(repos, 1)
        me = await seed.voter(repos)
        cast, moved = await asyncio.gather(repos.votes.cast(me.id, pid, HOOD, 3, NOW),
                                           other.citizens.set_neighbourhood(me.id, OTHER_HOOD))
        # Whichever came first, never both: a vote in HOOD by a citizen of OTHER_HOOD.
        assert (cast[0] == "voted") != moved
        where = (await repos.citizens.get(me.id)).neighbourhood_id
        assert where == (HOOD if cast[0] == "voted" else OTHER_HOOD)
