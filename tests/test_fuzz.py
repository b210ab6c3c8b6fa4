"""A seeded crowd sends the bot everything people can send, in every phase, and the campaign's
invariants are checked after every step (the crowd and the checks: tests/support/fuzz.py).

Two modes:

    .venv/bin/python -m pytest tests/test_fuzz.py          # CI: two fixed seeds, 2,000 steps each (~8 s)
    FUZZ_STEPS=100000 FUZZ_SEED=123 .venv/bin/python -m pytest tests/test_fuzz.py -k test_crowd -s   # long

``FUZZ_STEPS``: steps in all (default 4,000, split between the fixed seeds); ``FUZZ_SEED``: run
that one seed, with all the steps. A failure names its seed, step count and step, with that
step's updates and API calls and the steps before it: ``FUZZ_SEED=<seed> FUZZ_STEPS=<steps>``
replays it (the clock's path through the phases depends on the number of steps). ``-s`` prints
each run's speed and what it covered. ``test_the_crowd_catches`` breaks the bot on purpose, once
per invariant, and expects the crowd to say so.

The crowd: a dozen citizens on Telegram and seven on Bale (one with the same numeric id as a
Telegram citizen, one the Bale account of a Telegram citizen, with the same phone), newcomers
arriving with ambassadors' links and every other kind of payload, two approved ambassadors and
an applicant, and staff of every role on both messengers, some in the Telegram staff chat with
two citizen volunteers and an ambassador. The clock walks through every phase (before,
proposals, review, voting, closed; admins may move the calendar meanwhile), at least 3 s a step
so that nobody reaches the flood limits; between steps the calendar announcements and the
broadcast worker run.

Invariants after every step (a failure says which):
1. no exception reached PTB's error handler;
2. every update is answered or deliberately ignored:
   - a new message in a private chat gets at least one API call to that chat;
   - a callback query, wherever it was pressed, gets exactly one answerCallbackQuery (Bale keeps
     a spinner otherwise; a second answer is an API error);
   - deliberately ignored, with no call to that chat at all: edited messages
     (handlers.common.NEW_MESSAGE), my_chat_member updates (blocked / unblocked), channel posts,
     and in groups everything except /whoami, the staff commands (answered, if only with a
     refusal) and a reply to the bot's rejection-reason question;
3. nobody holds more than ``limits.votes_per_citizen`` votes nor two on one proposal; every vote
   is a verified citizen's, for a proposal on their own neighbourhood's ballot; votes change only
   while voting is open;
4. no proposal is seen outside its neighbourhood or before approval: every title starts with a
   marker junk text cannot produce, and every text, caption, button and alert the bot sends is
   checked against who may read it (Crowd.marker_refusal spells out the product's rules);
5. staff-only state (moderation and review decisions with decided_by / reviewed_by, audit rows,
   broadcasts, calendar moves, ambassador decisions, results, open staff questions, rejection
   questions) changes only in a step of someone whose role allows it, and names them; a proposal
   is decided once however many staff press at once; results are published only after voting
   closed, from a count made after it;
6. PRAGMA integrity_check and foreign_key_check pass (every 50 steps and at the end);
7. every API call is one Telegram or Bale would accept: text and caption lengths after HTML
   parsing, well-formed HTML with supported tags only, alerts of at most 200 characters, callback
   data of 1–64 bytes, no parse_mode on Bale.

Concurrency: 15 % of the steps run two or three people's private updates at once, and 3 % have
two staff members press the same decision, as production does; those steps replay the same
inputs, not always the same interleaving.
"""
from __future__ import annotations

import datetime as dt
import os
import time

import pytest

from bot.campaign.clock import ManualClock
from tests.conftest import Bot, make_config
from tests.support.fuzz import Crowd, crowd_config, crowd_people, seed_world

# slow: thousands of seeded random steps through the whole bot (`pytest -m "not slow"` skips it).
pytestmark = pytest.mark.slow

FIXED_SEEDS = (20251129, 7)
STEPS = int(os.environ.get("FUZZ_STEPS", "4000"))
SEEDS = (int(os.environ["FUZZ_SEED"]),) if os.environ.get("FUZZ_SEED") else FIXED_SEEDS


async def start_crowd(tmp_path, seed: int, steps: int) -> Crowd:
    config = crowd_config(make_config(tmp_path))
    # The crowd's clock starts where Crowd.move_clock's "before" span starts.
    bot = await Bot(config, ManualClock(config.calendar.proposals_opens - dt.timedelta(days=3))).start()
    crowd = Crowd(bot, seed, steps, crowd_people())
    await seed_world(crowd)
    return crowd


@pytest.mark.parametrize("seed", SEEDS)
async def test_crowd(tmp_path, seed):
    steps = max(1, STEPS // len(SEEDS))
    crowd = await start_crowd(tmp_path, seed, steps)
    started = time.perf_counter()
    try:
        await crowd.run()
        summary = await crowd.summary()
    finally:
        await crowd.bot.stop()
    seconds = time.perf_counter() - started
    print(f"\nfuzz seed {seed}: {steps} steps in {seconds:.1f} s ({steps / seconds:.0f} steps/s): {summary}")
    if steps >= 500:  # the run reached what it is for, not only junk
        assert summary["phases"] == ["before", "closed", "proposals", "review", "voting"], summary
        assert summary["votes"] > 0 and summary["audit"] > 0 and summary["broadcasts"] > 0, summary


# -- the crowd has teeth: each sabotage below breaks one invariant, and the run must say so ----------

def _callbacks_unanswered(monkeypatch):
    from telegram import CallbackQuery

    async def silent(self, *args, **kwargs):
        return True
    monkeypatch.setattr(CallbackQuery, "answer", silent)


def _everyones_proposals_are_mine(monkeypatch):
    from bot.campaign.services.proposals import ProposalService

    async def everyones(self, citizen):
        found = [await self.repos.proposals.get(i) for i in range(1, 30)]
        return [p for p in found if p is not None]
    monkeypatch.setattr(ProposalService, "mine", everyones)


def _everyone_is_staff(monkeypatch):
    from bot.campaign import services

    monkeypatch.setattr(services, "may", lambda config, platform, user_id, action: True)


def _html_unescaped(monkeypatch):
    from messages_fa.markup import HtmlMarkup

    monkeypatch.setattr(HtmlMarkup, "esc", lambda self, text: text)


def _votes_unlimited(monkeypatch):
    from storage.repositories import VoteRepository

    original = VoteRepository.cast

    async def one_more(self, citizen_id, proposal_id, neighbourhood_id, limit, now):
        return await original(self, citizen_id, proposal_id, neighbourhood_id, limit + 1, now)
    monkeypatch.setattr(VoteRepository, "cast", one_more)


@pytest.mark.parametrize("sabotage, invariant", [
    (_callbacks_unanswered, r"answerCallbackQuery \(exactly 1 expected\)"),
    (_everyones_proposals_are_mine, "shown to citizen"),
    # A citizen acting as staff changes staff-only state, or tells someone else about it, or is
    # answered in a group where a citizen's staff command is ignored (which one comes first depends
    # on the crowd's path: a staff command more, /title, changed it).
    (_everyone_is_staff, "staff-only state changed|a citizen's step sent .* to another person's chat"
                         "|a deliberately ignored update was answered"),
    # Caught by the API check, or by the messenger's refusal reaching the error handler first
    # (which one depends on the crowd's path).
    (_html_unescaped, "would be refused|Can't parse entities"),
    (_votes_unlimited, "more than 3 votes"),
])
async def test_the_crowd_catches(tmp_path, monkeypatch, sabotage, invariant):
    sabotage(monkeypatch)
    crowd = await start_crowd(tmp_path, FIXED_SEEDS[0], 4000)
    try:
        with pytest.raises(AssertionError, match=invariant) as caught:
            await crowd.run()
    finally:
        crowd.bot.errors.clear()
        await crowd.bot.stop()
    assert f"FUZZ_SEED={FIXED_SEEDS[0]}" in str(caught.value)
