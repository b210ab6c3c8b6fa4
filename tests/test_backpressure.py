"""More work in flight than connections: it waits its turn, it does not fail (issue 13).

Until issue 13 a call waited at most a second for one of the transport's connections, and a vote
sends its answer and its edit at once: with more updates in flight than connections, votes ended
in «try again», and the error handler answered presses that were answered already.
"""
from __future__ import annotations

import asyncio
import logging

import pytest
from telegram import Bot

import bot.runtime
from bot.app import CALLS_AT_ONCE_PER_UPDATE, CONCURRENT_UPDATES, CONNECTION_POOL
from bot.devtools.localapi import LocalBotApi
from bot.messenger.transport import AiohttpRequest
from messages_fa import buttons as b
from messages_fa import texts
from tests.support.e2e import TOKENS, Harness, handler_failures, text_of
from tests.support.e2e_journeys import approved_proposal, ballot_shows, choose_neighbourhood

# slow: starts the loopback Bot API server and the bot's real polling loop (`pytest -m "not slow"` skips it).
pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")]

VOTERS = 12
POOL = 2  # far fewer connections than the votes' calls in flight (2 per vote)
LATENCY = 0.2  # per call: the votes' 24 calls through 2 connections take ~2.4 s, beyond the old 1 s wait


@pytest.fixture
async def small_pool(tmp_path, caplog, monkeypatch):
    caplog.set_level(logging.INFO)

    def few_connections(transport: str, pool_size: int) -> AiohttpRequest:
        return AiohttpRequest(connection_pool_size=POOL)  # the bot's own defaults otherwise

    monkeypatch.setattr(bot.runtime, "make_request", few_connections)
    async with Harness(tmp_path, latency=0.002) as harness:
        await harness.start()
        yield harness


async def test_votes_beyond_the_pool_wait_and_every_press_is_answered_once(small_pool, caplog):
    e2e = small_pool
    await approved_proposal(e2e)
    e2e.at("voting")
    voters = [e2e.person("bale", 4001 + i) for i in range(VOTERS)]

    async def to_the_ballot(voter) -> None:
        await choose_neighbourhood(voter, "تجریش")
        await voter.tap(b.VOTE)
        await voter.tap(b.SHARE_PHONE, count=2)
    await asyncio.gather(*(to_the_ballot(v) for v in voters))

    e2e.state.configure(latency=LATENCY)
    vote = b.vote_button("۱", False)
    pressed = [e2e.state.press_button(v.token, v.id, vote)["callback_query_id"] for v in voters]
    await e2e.until(lambda: all(ballot_shows("۱", b.vote_button("۱", True))(v.messages()) for v in voters),
                    timeout=30, what="every ballot edited")
    await e2e.until(lambda: all(v.callback_answer(cq) for v, cq in zip(voters, pressed, strict=True)),
                    timeout=30, what="every press answered")

    assert not [t for v in voters for t in map(text_of, v.messages()) if t == texts.error_try_again()]
    for voter, cq in zip(voters, pressed, strict=True):
        assert voter.callback_answer(cq)["text"] == "رأی شما ثبت شد ✅ (۱ از ۳ رأی)"
    answers = e2e.state.calls(method="answerCallbackQuery")
    assert [c["status"] for c in answers] == [200] * len(answers)  # no press answered twice
    assert not handler_failures(caplog.records)
    assert await e2e.query("SELECT COUNT(*) FROM votes") == [(VOTERS,)]


def test_the_pool_has_a_connection_for_every_call_in_flight():
    assert CONNECTION_POOL >= CONCURRENT_UPDATES * CALLS_AT_ONCE_PER_UPDATE


# --- the transport alone ------------------------------------------------------------------------


@pytest.fixture
async def api():
    token = TOKENS["telegram"]
    async with LocalBotApi(bots={token: "manshahrdaram_bot"}, timeout_seconds=2.0) as server:
        server.state.add_user(55)
        server.state.send_text(token, 55, "hello")
        yield server


async def test_calls_beyond_the_pool_wait_in_arrival_order(api):
    api.state.configure(latency=0.05)
    request = AiohttpRequest(connection_pool_size=1)
    async with Bot(TOKENS["telegram"], base_url=api.bot_base_url, request=request) as telegram_bot:
        # 30 calls through one connection take ~1.5 s: past the second they used to wait at most.
        sent = await asyncio.gather(*(telegram_bot.send_message(55, f"پیام {i}") for i in range(30)))
    assert [m.text for m in sent] == [f"پیام {i}" for i in range(30)]
    texts_seen = [m["text"] for m in api.state.messages(TOKENS["telegram"], 55) if m["text"].startswith("پیام")]
    assert texts_seen == [f"پیام {i}" for i in range(30)]  # in the order they were made


async def test_an_answer_that_arrived_but_timed_out_is_success_and_answers_once(api):
    """The press was answered, but the answer came back after the client gave up: the repetition
    hears «query is too old» (answered already), which is success; the press has one answer."""
    token = TOKENS["telegram"]
    request = AiohttpRequest(read_timeout=0.5, write_timeout=0.5, connect_timeout=0.5)
    async with Bot(token, base_url=api.bot_base_url, request=request) as telegram_bot:
        message = await telegram_bot.send_message(55, "دکمه", reply_markup={"inline_keyboard": [[
            {"text": "بزن", "callback_data": "x"}]]})
        pressed = api.state.press_button(token, 55, "بزن", message_id=message.message_id)
        api.state.add_fault("answerCallbackQuery", "timeout", count=1, perform=True)
        assert await telegram_bot.answer_callback_query(pressed["callback_query_id"], text="ثبت شد") is True
    assert api.state.callback_answer(token, pressed["callback_query_id"])["text"] == "ثبت شد"
    # Only the repetition got an answer, a refusal (the first one's client had given up: 0).
    assert [c["status"] for c in api.state.calls(method="answerCallbackQuery") if c["status"]] == [400]
