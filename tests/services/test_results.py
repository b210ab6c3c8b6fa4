"""ResultsService: each neighbourhood's budget allocated by its votes, stored; published once, only
after voting has closed and only from a count made after it; the pabulib export."""
from __future__ import annotations

import dataclasses

import pytest

from bot.campaign.roles import Actor
from bot.campaign.services.results import ANNOUNCEMENT, Publish, UnfundedNeighbourhoods
from tests.conftest import TELEGRAM_ADMIN, make_config
from tests.support.services import at, citizen, on_ballot, phone_of, proposal

BY = Actor.person("telegram", TELEGRAM_ADMIN)
BILLION = 1_000_000_000


@pytest.fixture
def config(tmp_path, request):
    """The example's results section (greedy), or the changes a test names through indirect
    parametrization."""
    config = make_config(tmp_path)
    changes = {"rule": "greedy", **getattr(request, "param", {})}
    return dataclasses.replace(config, results=dataclasses.replace(config.results, **changes))


async def tajrish_votes(services) -> dict[str, int]:
    """Three Tajrish proposals costing 3, 3 and 1 billion with 3, 2 and 1 votes; then voting closes.
    Tajrish's budget is the example's 5 billion."""
    ids = {}
    for n, (label, cost) in enumerate((("A", 3), ("B", 3), ("C", 1))):
        submitted = await proposal(services, await citizen(services, 100 + n), f"پروژهٔ {label}")
        ids[label] = (await on_ballot(services, submitted, cost=str(cost * BILLION))).id
    at(services, "voting")
    for user_id, labels in ((1, "ABC"), (2, "AB"), (3, "A")):
        voter = await citizen(services, user_id, phone=phone_of(user_id))
        for label in labels:
            await services.voting.cast(voter, ids[label])
    return ids


async def test_greedy_funds_the_most_voted_that_still_fit(services):
    ids = await tajrish_votes(services)
    at(services, "closed")
    run = await services.results.compute(BY)
    tajrish = [(w.rank, w.proposal_id, w.votes) for w in run.winners if w.neighbourhood_id == "tajrish"]
    assert tajrish == [(1, ids["A"], 3), (2, ids["C"], 1)]  # B does not fit after A
    assert run.neighbourhoods["tajrish"] == (5 * BILLION, 4 * BILLION, 3)
    assert run.neighbourhoods["darband"] == (services.config.results.budget("darband"), 0, 0)
    assert (run.rule, run.computed_by, run.published_at) == ("greedy", BY.ref, None)
    assert await services.results.get(run.id) == run


async def test_a_count_only_for_the_operator_stores_nothing(services, repos):
    await tajrish_votes(services)
    run = await services.results.compute(BY, save=False)
    assert run.id == 0 and run.winners
    assert await repos.results.get(1) is None and await services.results.published() is None


async def test_published_once_after_voting_closes_from_a_count_made_after_it(services, repos):
    await tajrish_votes(services)
    early = await services.results.compute(BY)
    assert await services.results.publish(BY, early.id) is Publish.TOO_EARLY
    at(services, "closed")
    assert await services.results.publish(BY, early.id) is Publish.STALE
    final = await services.results.compute(BY)
    assert await services.results.publish(BY, final.id) is Publish.DONE
    assert await services.results.publish(BY, final.id) is Publish.ALREADY
    published = await services.results.published()
    assert published.id == final.id and published.published_at == services.clock.now()
    # Everyone is told through the broadcast engine, once: a recorded announcement.
    assert ANNOUNCEMENT in await repos.calendar.announcements()


@pytest.mark.parametrize("config", [{"default_budget": 0, "budgets": (("tajrish", 5 * BILLION),)}], indirect=True)
async def test_no_results_while_a_neighbourhood_has_no_budget(services, repos):
    at(services, "closed")
    with pytest.raises(UnfundedNeighbourhoods) as refused:
        await services.results.compute(BY)
    assert "tajrish" not in refused.value.neighbourhood_ids
    assert len(refused.value.neighbourhood_ids) == len(services.config.neighbourhoods) - 1
    assert await repos.results.get(1) is None


async def test_a_neighbourhoods_election_as_a_pabulib_file(services):
    await tajrish_votes(services)
    text = await services.results.pabulib("tajrish")
    codes = [(await services.proposals.get(pid)).code for pid in (1, 2, 3)]
    assert text.startswith("META") and all(code in text for code in codes)
    assert "num_votes;3" in text and "budget;5000000000" in text
