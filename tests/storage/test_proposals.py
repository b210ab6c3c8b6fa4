"""Drafts and submission: a draft becomes one proposal, within the citizen's limits."""
from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from domain import PENDING, REJECTED
from tests.storage import seed
from tests.storage.seed import HOOD, NOW


async def _draft(repos, citizen_id: int) -> None:
    await repos.drafts.update(citizen_id, NOW, category_id="lighting", title="چراغ کوچه", description="تاریک است")


async def test_a_draft_is_written_step_by_step_and_started_afresh(repos):
    me = await seed.citizen(repos)
    assert await repos.drafts.get(me.id) is None
    assert (await repos.drafts.update(me.id, NOW, title="چراغ")).title == "چراغ"
    draft = await repos.drafts.update(me.id, NOW, latitude=35.8, longitude=51.4)
    assert (draft.title, draft.latitude) == ("چراغ", 35.8)
    with pytest.raises(ValueError):
        await repos.drafts.update(me.id, NOW, author="someone")
    await repos.drafts.start(me.id, NOW)
    assert (await repos.drafts.get(me.id)).title is None
    await repos.drafts.delete(me.id)
    assert await repos.drafts.get(me.id) is None


async def test_an_incomplete_draft_is_refused_with_lookuperror(repos):
    me = await seed.citizen(repos)
    await repos.drafts.update(me.id, NOW, title="فقط عنوان")
    with pytest.raises(LookupError):
        await repos.proposals.submit_draft(me.id, HOOD, "telegram", seed.new_code, 3, NOW)
    assert (await repos.drafts.get(me.id)).title == "فقط عنوان"


async def test_submit_keeps_the_draft_at_the_limit_and_a_rejected_one_frees_a_place(repos):
    me = await seed.citizen(repos)
    first = await seed.pending(repos, me)
    await _draft(repos, me.id)
    assert await repos.proposals.submit_draft(me.id, HOOD, "telegram", seed.new_code, 1, NOW) is None
    assert await repos.drafts.get(me.id) is not None
    await repos.proposals.decide(first.id, REJECTED, "telegram:900", NOW, "تکراری")
    assert await repos.proposals.count_active_by_citizen(me.id) == 0
    second = await repos.proposals.submit_draft(me.id, HOOD, "telegram", seed.new_code, 1, NOW)
    assert second.status == PENDING and await repos.drafts.get(me.id) is None
    assert [p.id for p in await repos.proposals.by_citizen(me.id)] == [first.id, second.id]


async def test_the_daily_limit_counts_from_the_given_moment(repos):
    me = await seed.citizen(repos)
    await seed.pending(repos, me)
    await _draft(repos, me.id)
    today = NOW - dt.timedelta(hours=1)
    submit = repos.proposals.submit_draft
    assert await submit(me.id, HOOD, "telegram", seed.new_code, 5, NOW, per_day=(1, today)) is None
    assert await repos.proposals.count_since(me.id, today) == 1
    tomorrow = NOW + dt.timedelta(seconds=1)
    assert await submit(me.id, HOOD, "telegram", seed.new_code, 5, NOW, per_day=(1, tomorrow))


async def test_a_tracking_code_in_use_is_drawn_again(repos):
    me = await seed.citizen(repos)
    taken = await seed.pending(repos, me)
    codes = iter([taken.code, taken.code, "FRESH1"])
    await _draft(repos, me.id)
    proposal = await repos.proposals.submit_draft(me.id, HOOD, "telegram", lambda: next(codes), 5, NOW)
    assert proposal.code == "FRESH1"
    assert (await repos.proposals.by_code("FRESH1")).id == proposal.id


async def test_a_draft_becomes_one_proposal_when_two_connections_submit_it_together(repos, open_store):
    other = (await open_store()).repos
    me = await seed.citizen(repos)
    await _draft(repos, me.id)
    answers = await asyncio.gather(
        *(r.proposals.submit_draft(me.id, HOOD, "telegram", seed.new_code, 5, NOW) for r in (repos, other)),
        return_exceptions=True)
    assert sorted(type(a).__name__ for a in answers) == ["LookupError", "Proposal"]
    assert len(await repos.proposals.by_citizen(me.id)) == 1


async def test_the_proposal_limit_holds_when_two_connections_submit_together(repos, open_store):
    """Two accounts' worth of drafts cannot exist for one citizen, so the race is on the count:
    each connection submits, redrafts and submits again."""
    other = (await open_store()).repos
    me = await seed.citizen(repos)

    async def keep_submitting(r) -> int:
        made = 0
        for _ in range(4):
            await _draft(r, me.id)
            try:
                made += await r.proposals.submit_draft(me.id, HOOD, "telegram", seed.new_code, 3, NOW) is not None
            except LookupError:
                pass  # the other connection submitted this draft
        return made
    made = await asyncio.gather(keep_submitting(repos), keep_submitting(other))
    assert sum(made) == 3
    assert await repos.proposals.count_active_by_citizen(me.id) == 3


async def test_a_reason_question_is_found_by_its_message(repos):
    proposal = await seed.pending(repos, await seed.citizen(repos))
    await repos.proposals.add_reason_prompt("telegram", -1000, 31, proposal.id, NOW)
    assert await repos.proposals.reason_prompt("telegram", -1000, 31) == proposal.id
    assert await repos.proposals.reason_prompt("telegram", -1000, 32) is None


async def test_the_review_queue_walks_pending_proposals_in_order(repos):
    author = await seed.citizen(repos)
    first, second = await seed.pending(repos, author), await seed.pending(repos, author)
    assert (await repos.proposals.next_pending(0)).id == first.id
    assert (await repos.proposals.next_pending(first.id)).id == second.id
    assert await repos.proposals.next_pending(second.id) is None
