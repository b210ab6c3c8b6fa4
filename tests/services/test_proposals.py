"""ProposalService: when a citizen may write, the checks on each step, submitting within the limits,
and the staff's decisions (moderation, duplicates, feasibility and cost) with their audit."""
from __future__ import annotations

import re

import pytest

from bot.campaign.roles import Actor
from bot.campaign.services.proposals import MAX_REASON, Decision, Gate, TextCheck
from domain import APPROVED, FEASIBLE, PENDING, REJECTED
from tests.conftest import TELEGRAM_ADMIN, make_config
from tests.support.services import ADMIN, DESCRIPTION, at, citizen, on_ballot, proposal

CITIZEN = Actor.person("telegram", 5555)  # no right in config.toml


@pytest.fixture
def config(tmp_path, request):
    """The example's limits, or those a test names through indirect parametrization."""
    return make_config(tmp_path, **getattr(request, "param", {}))


async def test_writing_is_open_during_registration_to_citizens_with_a_neighbourhood(services):
    author = await citizen(services, 1)
    assert await services.proposals.gate(author) is Gate.OK
    assert await services.proposals.gate(await citizen(services, 2, hood=None)) is Gate.NO_NEIGHBOURHOOD
    for phase in ("before", "review", "voting"):
        at(services, phase)
        assert (await services.proposals.start(author)) == (Gate.NOT_OPEN, None)


async def test_each_step_is_checked_and_only_what_passes_is_kept(services, repos):
    author = await citizen(services, 1)
    assert await services.proposals.start(author) == (Gate.OK, None)
    assert not await services.proposals.set_category(author, "no-such-category")
    assert await services.proposals.set_category(author, "sport")
    limit = services.config.limits.title_length
    checks = {typed: (await services.proposals.set_title(author, typed)).check
              for typed in ("ab", "؟؟؟ ... !!!", "ب" * (limit + 1), "  زمین   بازی\nکودکان  ")}
    assert list(checks.values()) == [TextCheck.TOO_SHORT, TextCheck.NO_WORDS, TextCheck.TOO_LONG, TextCheck.OK]
    draft = await repos.drafts.get(author.id)
    assert (draft.category_id, draft.title, draft.description) == ("sport", "زمین بازی کودکان", None)
    assert not await services.proposals.set_location(author, 91.0, 51.4)
    assert await services.proposals.set_location(author, 35.8, 51.43)
    # An unfinished draft is what the next start continues.
    gate, kept = await services.proposals.start(author)
    assert gate is Gate.OK and kept.title == "زمین بازی کودکان" and kept.latitude == 35.8


async def test_submitting_gives_a_tracking_code_and_leaves_the_proposal_pending(services, repos):
    author = await citizen(services, 1)
    submitted = await proposal(services, author, "نیمکت برای ایستگاه")
    assert re.fullmatch(r"\d{7}", submitted.code)
    stored = await repos.proposals.get(submitted.id)
    assert (stored.status, stored.title, stored.description, stored.neighbourhood_id) == (
        PENDING, "نیمکت برای ایستگاه", DESCRIPTION, "tajrish")
    assert await repos.drafts.get(author.id) is None
    assert [p.id for p in await services.proposals.mine(author)] == [submitted.id]
    # Nothing left to submit.
    assert (await services.proposals.submit(author)).gate is Gate.NO_DRAFT


@pytest.mark.parametrize("config", [{"proposals_per_day": 5}], indirect=True)
async def test_no_more_than_the_limit_per_citizen(services, repos):
    author = await citizen(services, 1)
    limit = services.config.limits.proposals_per_citizen
    for n in range(limit):
        await proposal(services, author, f"پیشنهاد شمارهٔ {n + 1}")
    assert await services.proposals.start(author) == (Gate.LIMIT, None)
    assert len(await repos.proposals.by_citizen(author.id)) == limit


async def test_no_more_than_the_daily_limit_and_the_next_day_opens_again(services, repos):
    author = await citizen(services, 1)
    per_day = services.config.limits.proposals_per_day
    for n in range(per_day):
        await proposal(services, author, f"پیشنهاد شمارهٔ {n + 1}")
    assert (await services.proposals.start(author))[0] is Gate.DAILY_LIMIT
    services.clock.set(services.proposals.next_day_starts())
    assert (await services.proposals.start(author))[0] is Gate.OK


async def test_a_moderator_approves_once_and_the_audit_says_who(services, repos):
    submitted = await proposal(services, await citizen(services, 1))
    first = await services.proposals.decide(by=ADMIN, proposal_id=submitted.id, approve=True)
    assert first.decision is Decision.DONE and first.proposal.status == APPROVED
    again = await services.proposals.decide(by=ADMIN, proposal_id=submitted.id, approve=False, reason="دیر")
    assert again.decision is Decision.ALREADY
    assert (await repos.proposals.get(submitted.id)).status == APPROVED
    [entry] = await repos.audit.recent(10)
    assert (entry.actor, entry.action, entry.before, entry.after) == (
        f"telegram:{TELEGRAM_ADMIN}", "approve", PENDING, APPROVED)


async def test_a_rejection_keeps_its_reason_unless_the_reason_is_too_long(services, repos):
    submitted = await proposal(services, await citizen(services, 1))
    too_long = await services.proposals.decide(by=ADMIN, proposal_id=submitted.id, approve=False,
                                               reason="دلیل " * MAX_REASON)
    assert too_long.decision is Decision.TOO_LONG
    assert (await repos.proposals.get(submitted.id)).status == PENDING
    done = await services.proposals.decide(by=ADMIN, proposal_id=submitted.id, approve=False,
                                           reason="خارج از محدودهٔ منطقه")
    assert done.decision is Decision.DONE
    stored = await repos.proposals.get(submitted.id)
    assert (stored.status, stored.reject_reason) == (REJECTED, "خارج از محدودهٔ منطقه")


async def test_someone_without_the_right_changes_nothing(services, repos):
    submitted = await proposal(services, await citizen(services, 1))
    assert (await services.proposals.decide(by=CITIZEN, proposal_id=submitted.id, approve=True)).decision \
        is Decision.NOT_STAFF
    assert (await services.proposals.judge(by=CITIZEN, proposal_id=submitted.id, feasible=True, note="")).decision \
        is Decision.NOT_STAFF
    assert (await services.proposals.set_cost(by=CITIZEN, proposal_id=submitted.id, typed="۱۰۰۰")).decision \
        is Decision.NOT_STAFF
    assert (await repos.proposals.get(submitted.id)).status == PENDING
    assert await repos.audit.recent(10) == []
    assert (await services.proposals.decide(by=ADMIN, proposal_id=999_999, approve=True)).decision is Decision.MISSING


async def test_a_duplicate_is_rejected_naming_the_original(services, repos):
    original = await proposal(services, await citizen(services, 1), "پارک محله")
    copy = await proposal(services, await citizen(services, 2), "پارک محلهٔ ما")
    mark = services.proposals.mark_duplicate
    assert (await mark(by=ADMIN, proposal_id=copy.id, typed_code=copy.code, reason_for=lambda o: o.code)).decision \
        is Decision.MISSING  # not a duplicate of itself
    done = await mark(by=ADMIN, proposal_id=copy.id, typed_code=f" {original.code} ", reason_for=lambda o: o.title)
    assert done.decision is Decision.DONE
    stored = await repos.proposals.get(copy.id)
    assert (stored.status, stored.reject_reason) == (REJECTED, "پارک محله")


async def test_feasibility_and_cost_until_voting_opens(services, repos):
    submitted = await proposal(services, await citizen(services, 1))
    costed = await on_ballot(services, submitted, cost="۱۲٬۵۰۰٬۰۰۰")
    assert (costed.feasibility, costed.cost) == (FEASIBLE, 12_500_000)
    assert (await services.proposals.set_cost(by=ADMIN, proposal_id=submitted.id, typed="صد")).decision \
        is Decision.INVALID
    at(services, "voting")
    assert (await services.proposals.set_cost(by=ADMIN, proposal_id=submitted.id, typed="5000")).decision \
        is Decision.CLOSED
    assert (await services.proposals.judge(by=ADMIN, proposal_id=submitted.id, feasible=False, note="")).decision \
        is Decision.CLOSED
    assert (await repos.proposals.get(submitted.id)).cost == 12_500_000
