"""VotingService: who may see the ballot, the limit, withdrawing, idempotent presses, wrong phase
and forged proposals refused."""
from __future__ import annotations

import pytest

from bot.campaign.services.voting import PAGE_SIZE, BallotGate, VoteOutcome
from tests.conftest import make_config
from tests.support.services import at, citizen, on_ballot, phone_of, proposal


async def ballot_of(services, count: int, hood: str = "tajrish", first_user: int = 100) -> list[int]:
    """``count`` proposals on ``hood``'s ballot (from as many authors), then voting opens."""
    ids = []
    for n in range(count):
        author = await citizen(services, first_user + n, hood)
        ids.append((await on_ballot(services, await proposal(services, author, f"پروژهٔ شمارهٔ {n + 1}"))).id)
    at(services, "voting")
    return ids


async def test_the_ballot_is_for_verified_citizens_with_a_neighbourhood_while_voting(services):
    voter = await citizen(services, 1, phone=phone_of(1))
    assert services.voting.gate(voter) is BallotGate.NOT_OPEN
    at(services, "voting")
    assert services.voting.gate(voter) is BallotGate.OK
    assert services.voting.gate(await citizen(services, 2, hood=None)) is BallotGate.NO_NEIGHBOURHOOD
    assert services.voting.gate(await citizen(services, 3)) is BallotGate.NOT_VERIFIED
    at(services, "closed")
    assert services.voting.gate(voter) is BallotGate.NOT_OPEN


async def test_votes_up_to_the_limit_then_refused_and_a_withdrawal_frees_one(services, repos):
    ids = await ballot_of(services, 4)
    voter = await citizen(services, 1, phone=phone_of(1))
    limit = services.config.limits.votes_per_citizen
    assert limit == 3
    for used, proposal_id in enumerate(ids[:limit], 1):
        result = await services.voting.cast(voter, proposal_id)
        assert (result.outcome, result.used, result.limit) == (VoteOutcome.VOTED, used, limit)
    refused = await services.voting.cast(voter, ids[3])
    assert (refused.outcome, refused.used) == (VoteOutcome.LIMIT, limit)
    assert await repos.votes.count_by_citizen(voter.id) == limit

    withdrawn = await services.voting.withdraw(voter, ids[0])
    assert (withdrawn.outcome, withdrawn.used) == (VoteOutcome.WITHDRAWN, limit - 1)
    assert (await services.voting.cast(voter, ids[3])).outcome is VoteOutcome.VOTED
    view = await services.voting.ballot(voter, 0)
    assert view.my_votes == set(ids[1:]) and view.used == limit


async def test_a_double_press_leaves_one_vote_and_withdrawing_twice_is_harmless(services, repos):
    [proposal_id] = await ballot_of(services, 1)
    voter = await citizen(services, 1, phone=phone_of(1))
    assert [(await services.voting.cast(voter, proposal_id)).used for _ in range(2)] == [1, 1]
    assert await repos.votes.count_by_citizen(voter.id) == 1
    assert [(await services.voting.withdraw(voter, proposal_id)).used for _ in range(2)] == [0, 0]
    assert await repos.votes.count_by_citizen(voter.id) == 0


@pytest.mark.parametrize("phase", ["proposals", "review", "closed"])
async def test_outside_voting_nothing_is_cast_or_withdrawn(services, repos, phase):
    [proposal_id] = await ballot_of(services, 1)
    voter = await citizen(services, 1, phone=phone_of(1))
    assert (await services.voting.cast(voter, proposal_id)).outcome is VoteOutcome.VOTED
    at(services, phase)
    assert (await services.voting.cast(voter, proposal_id)).outcome is VoteOutcome.NOT_OPEN
    assert (await services.voting.withdraw(voter, proposal_id)).outcome is VoteOutcome.NOT_OPEN
    assert await repos.votes.count_by_citizen(voter.id) == 1


async def test_forged_presses_for_another_neighbourhood_or_an_unapproved_proposal_are_refused(services, repos):
    [darband] = await ballot_of(services, 1, hood="darband")
    at(services, "proposals")
    pending = await proposal(services, await citizen(services, 50))  # never approved
    at(services, "voting")
    voter = await citizen(services, 1, phone=phone_of(1))
    for proposal_id in (darband, pending.id, 999_999):
        assert (await services.voting.cast(voter, proposal_id)).outcome is VoteOutcome.INELIGIBLE
    unverified = await citizen(services, 2)
    assert (await services.voting.cast(unverified, darband)).outcome is VoteOutcome.NOT_VERIFIED
    assert await repos.votes.count_by_citizen(voter.id) == 0


async def test_pages_hold_page_size_and_a_stale_page_shows_the_last(services):
    ids = await ballot_of(services, PAGE_SIZE + 2)
    voter = await citizen(services, 1, phone=phone_of(1))
    first = await services.voting.ballot(voter, 0)
    assert (first.page, first.pages, len(first.proposals)) == (0, 2, PAGE_SIZE)
    assert first.vote_counts is None  # the example config hides counts while voting
    stale = await services.voting.ballot(voter, 7)
    assert (stale.page, len(stale.proposals)) == (1, 2)
    assert [stale.number_of(p) for p in stale.proposals] == [PAGE_SIZE + 1, PAGE_SIZE + 2]
    # A proposal read again (equal, not the same object) has the same number.
    import dataclasses
    assert stale.number_of(dataclasses.replace(stale.proposals[1])) == PAGE_SIZE + 2
    assert {p.id for p in first.proposals + stale.proposals} == set(ids)


@pytest.fixture
def config(tmp_path, request):
    """The example's limits, or those a test names through indirect parametrization."""
    return make_config(tmp_path, **getattr(request, "param", {}))


@pytest.mark.parametrize("config", [{"show_vote_counts": True}], indirect=True)
async def test_counts_are_shown_when_the_config_says_so(services):
    [proposal_id] = await ballot_of(services, 1)
    voter = await citizen(services, 1, phone=phone_of(1))
    await services.voting.cast(voter, proposal_id)
    assert (await services.voting.ballot(voter, 0)).vote_counts == {proposal_id: 1}
