"""Staff decisions on proposals and ambassadors: each taken once when two staff press together."""
from __future__ import annotations

import asyncio

import pytest

from domain import (
    AMB_APPROVED,
    AMB_PENDING,
    AMB_REJECTED,
    AMB_REMOVED,
    AMB_SUSPENDED,
    APPROVED,
    FEASIBLE,
    NOT_FEASIBLE,
    PENDING,
    REJECTED,
    StaffCard,
)
from tests.storage import seed
from tests.storage.seed import NOW


async def test_a_proposal_is_decided_once(repos):
    proposal = await seed.pending(repos, await seed.citizen(repos))
    decided = await repos.proposals.decide(proposal.id, APPROVED, "telegram:900", NOW)
    assert (decided.status, decided.decided_by) == (APPROVED, "telegram:900")
    assert await repos.proposals.decide(proposal.id, REJECTED, "bale:901", NOW, "تکراری") is None
    assert (await repos.proposals.get(proposal.id)).status == APPROVED
    assert await repos.proposals.decide(999_999, APPROVED, "telegram:900", NOW) is None
    with pytest.raises(ValueError):
        await repos.proposals.decide(proposal.id, PENDING, "telegram:900", NOW)


async def test_a_proposal_is_decided_once_when_two_moderators_press_together(repos, open_store):
    other = (await open_store()).repos
    for _ in range(5):
        proposal = await seed.pending(repos, await seed.citizen(repos))
        approve, reject = await asyncio.gather(
            repos.proposals.decide(proposal.id, APPROVED, "telegram:900", NOW),
            other.proposals.decide(proposal.id, REJECTED, "bale:901", NOW, "خارج از محدوده"))
        assert (approve is None) != (reject is None)
        winner = approve or reject
        stored = await repos.proposals.get(proposal.id)
        assert (stored.status, stored.decided_by, stored.reject_reason) == (
            winner.status, winner.decided_by, winner.reject_reason)


async def test_decided_proposals_wait_for_their_author_to_be_told(repos):
    proposal = await seed.approved(repos, await seed.citizen(repos))
    assert [p.id for p in await repos.proposals.decided_but_author_not_told()] == [proposal.id]
    await repos.proposals.mark_author_told(proposal.id, NOW)
    assert await repos.proposals.decided_but_author_not_told() == []


async def test_a_proposal_without_a_staff_card_is_found_until_one_is_posted(repos):
    proposal = await seed.pending(repos, await seed.citizen(repos))
    assert [p.id for p in await repos.proposals.pending_without_staff_cards()] == [proposal.id]
    card = StaffCard(proposal.id, "telegram", -1000, 55)
    await repos.proposals.add_staff_card(card)
    assert await repos.proposals.pending_without_staff_cards() == []
    assert await repos.proposals.staff_cards(proposal.id) == [card]


async def test_the_category_changes_only_while_pending(repos):
    author = await seed.citizen(repos)
    proposal = await seed.pending(repos, author)
    before, after = await repos.proposals.set_category(proposal.id, "lighting")
    assert (before, after.category_id) == ("cleanliness", "lighting")
    await repos.proposals.decide(proposal.id, APPROVED, "telegram:900", NOW)
    assert await repos.proposals.set_category(proposal.id, "green") is None


async def test_a_duplicate_is_marked_once_against_an_original_that_stands(repos):
    author = await seed.citizen(repos)
    original, copy = await seed.pending(repos, author), await seed.pending(repos, author)
    assert await repos.proposals.mark_duplicate(copy.id, copy.id, "خودش", "telegram:900", NOW) is None
    marked = await repos.proposals.mark_duplicate(copy.id, original.id, "تکراری", "telegram:900", NOW)
    assert (marked.status, marked.duplicate_of) == (REJECTED, original.id)
    # Never each other's copy, never a chain, never twice.
    assert await repos.proposals.mark_duplicate(original.id, copy.id, "تکراری", "telegram:900", NOW) is None
    assert await repos.proposals.mark_duplicate(copy.id, original.id, "تکراری", "bale:901", NOW) is None
    assert (await repos.proposals.get(original.id)).status == PENDING


async def test_two_proposals_are_never_marked_as_each_others_copy_by_two_moderators_at_once(repos, open_store):
    other = (await open_store()).repos
    author = await seed.citizen(repos)
    for _ in range(5):
        a, b = await seed.pending(repos, author), await seed.pending(repos, author)
        answers = await asyncio.gather(repos.proposals.mark_duplicate(a.id, b.id, "تکراری", "x", NOW),
                                       other.proposals.mark_duplicate(b.id, a.id, "تکراری", "y", NOW))
        assert sum(answer is not None for answer in answers) == 1
        statuses = {(await repos.proposals.get(p.id)).status for p in (a, b)}
        assert statuses == {PENDING, REJECTED}


async def test_a_reviewer_never_overwrites_a_verdict_they_did_not_see(repos):
    proposal = await seed.approved(repos, await seed.citizen(repos))
    before, after = await repos.proposals.set_feasibility(proposal.id, FEASIBLE, "", "telegram:900", NOW, seen=None)
    assert (before.feasibility, after.feasibility) == (None, FEASIBLE)
    # A second reviewer whose card still showed "no verdict yet".
    assert await repos.proposals.set_feasibility(proposal.id, NOT_FEASIBLE, "", "bale:901", NOW, seen=None) is None
    assert (await repos.proposals.get(proposal.id)).feasibility == FEASIBLE


async def test_one_verdict_when_two_reviewers_press_together(repos, open_store):
    other = (await open_store()).repos
    for _ in range(5):
        proposal = await seed.approved(repos, await seed.citizen(repos))
        answers = await asyncio.gather(
            repos.proposals.set_feasibility(proposal.id, FEASIBLE, "", "a", NOW, seen=None),
            other.proposals.set_feasibility(proposal.id, NOT_FEASIBLE, "", "b", NOW, seen=None))
        assert sum(answer is not None for answer in answers) == 1


async def test_cost_only_on_a_feasible_proposal_and_a_changed_verdict_clears_it(repos):
    proposal = await seed.approved(repos, await seed.citizen(repos))
    assert await repos.proposals.set_cost(proposal.id, 500, "telegram:900", NOW) is None
    await repos.proposals.set_feasibility(proposal.id, FEASIBLE, "", "telegram:900", NOW)
    assert (await repos.proposals.next_to_review(0)).id == proposal.id  # feasible, no cost yet
    assert await repos.proposals.review_backlog() == {seed.HOOD: 1}
    _, after = await repos.proposals.set_cost(proposal.id, 500, "telegram:900", NOW)
    assert after.on_the_ballot and await repos.proposals.next_to_review(0) is None
    assert [p.id for p in await repos.proposals.reviewed_but_not_told()] == [proposal.id]
    await repos.proposals.mark_review_told(proposal.id, NOW)
    assert await repos.proposals.reviewed_but_not_told() == []
    _, after = await repos.proposals.set_feasibility(proposal.id, NOT_FEASIBLE, "گران", "telegram:900", NOW)
    assert after.cost is None
    assert [p.id for p in await repos.proposals.reviewed_but_not_told()] == [proposal.id]
    pending = await seed.pending(repos, await seed.citizen(repos))
    assert await repos.proposals.set_feasibility(pending.id, FEASIBLE, "", "telegram:900", NOW) is None


async def test_an_ambassador_decision_is_taken_once_when_two_moderators_press_together(repos, open_store):
    other = (await open_store()).repos
    for _ in range(5):
        person = await seed.citizen(repos)
        await repos.ambassadors.start_draft(person.id, NOW)
        await repos.ambassadors.update_draft(person.id, full_name="علی رضایی", neighbourhood_id=seed.HOOD,
                                             phone="09121111111")
        await repos.ambassadors.submit(person.id, NOW)
        approve, reject = await asyncio.gather(
            repos.ambassadors.change_status(person.id, AMB_APPROVED, (AMB_PENDING,), "a", NOW),
            other.ambassadors.change_status(person.id, AMB_REJECTED, (AMB_PENDING,), "b", NOW))
        assert (approve is None) != (reject is None)
        assert (await repos.ambassadors.get(person.id)).status == (approve or reject).status


async def test_ambassador_decisions_follow_their_states(repos):
    ambassador = await seed.ambassador(repos, "a" + "k" * 32)
    change = repos.ambassadors.change_status
    assert await change(ambassador.citizen_id, AMB_APPROVED, (AMB_PENDING,), "x", NOW) is None
    assert (await change(ambassador.citizen_id, AMB_SUSPENDED, (AMB_APPROVED,), "x", NOW)).status == AMB_SUSPENDED
    assert (await change(ambassador.citizen_id, AMB_REMOVED, (AMB_APPROVED, AMB_SUSPENDED), "x", NOW)).status == (
        AMB_REMOVED)
    assert await repos.ambassadors.current_link(ambassador.citizen_id) is None  # removed: links revoked


async def test_a_rejection_without_a_reason_is_an_error_and_decides_nothing(repos):
    proposal = await seed.pending(repos, await seed.citizen(repos))
    with pytest.raises(Exception):  # noqa: B017 - each engine raises its own integrity error
        await repos.proposals.decide(proposal.id, REJECTED, "telegram:900", NOW)
    assert (await repos.proposals.get(proposal.id)).status == PENDING
