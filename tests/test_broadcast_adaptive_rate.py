"""Issue 17 §2: the broadcast sender finds the messenger's rate itself (Bale publishes none).

The controller (bot/messenger/broadcast/adaptive.py) is driven in made-up time against a simulated
limit; the sender itself against the loopback Bot API server enforcing a hidden limit (the
"limit" fault: N messages a second per bot, 429 beyond it)."""
from __future__ import annotations

import asyncio
import collections
import random

import pytest
from telegram import Bot

from bot.app import make_request
from bot.devtools.localapi import LocalBotApi
from bot.messenger.broadcast.adaptive import AdaptiveRate
from bot.messenger.broadcast.content import Content
from bot.messenger.broadcast.sender import PlatformSender
from bot.runtime import BROADCAST_POOL
from messages_fa import broadcasts as t
from tests.support.journeys import citizens, sent_now

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

NOTICE = "جلسهٔ هم‌اندیشی محله: پنجشنبه ساعت ۱۸"
TOKEN = "4242:hidden-limit"


def simulate(controller: AdaptiveRate, limit: float | None, seconds: float, latency: float = 0.05,
             stray: float = 0.0, seed: int = 1) -> list[tuple[float, float]]:
    """Sends at the controller's rate against a sliding one-second limit (None: no limit), with
    a share of stray 429s; returns (time, rate) at every send."""
    rng = random.Random(seed)
    window: collections.deque[float] = collections.deque()
    answers: list[tuple[float, object, bool]] = []  # (time, send, is_429), by time
    now, trace = 0.0, []
    while now < seconds:
        while answers and answers[0][0] <= now:
            at, send, refused = answers.pop(0)
            controller.outcome(send, refused, at)
        while window and window[0] <= now - 1.0:
            window.popleft()
        refused = (limit is not None and len(window) >= limit) or rng.random() < stray
        if not refused:
            window.append(now)
        answers.append((now + latency, controller.sent(now), refused))
        trace.append((now, controller.rate))
        now += 1 / controller.rate
    return trace


def rate_after(trace: list[tuple[float, float]], moment: float) -> list[float]:
    return [rate for at, rate in trace if at >= moment]


@pytest.mark.parametrize(("start", "limit"), [(4, 12), (40, 12), (25, 4), (1000, 300)])
def test_the_rate_settles_within_a_tenth_of_the_hidden_limit(start, limit):
    controller = AdaptiveRate(start, ceiling=100 * limit)
    trace = simulate(controller, limit, seconds=300)
    settled = rate_after(trace, 200)
    assert min(settled) >= 0.9 * limit and max(settled) <= 1.1 * limit, (min(settled), max(settled))
    assert controller.decreases >= 1


def test_probing_is_slow_and_stops_at_the_ceiling():
    controller = AdaptiveRate(4, ceiling=20)
    trace = simulate(controller, None, seconds=120)
    assert rate_after(trace, 5)[0] < 5.5  # a few percent a window, not doubling
    assert max(rate for _, rate in trace) == 20 and trace[-1][1] == 20
    assert controller.decreases == 0


def test_stray_429s_do_not_drag_the_rate_down():
    """1% of the answers are 429s about single chats (bench.broadcast injects these): the rate
    stays where it was configured, as it did before it adapted."""
    controller = AdaptiveRate(1000, ceiling=1000)
    trace = simulate(controller, None, seconds=60, stray=0.01)
    assert sum(rate for _, rate in trace) / len(trace) >= 0.97 * 1000


@pytest.mark.slow  # about 10 s of real sending against the loopback server
async def test_the_sender_finds_a_hidden_limit_and_everyone_gets_the_message_once(bot):
    """The loopback server lets 50 messages a second through and answers 429 beyond; the sender
    starts at twice that, may go up to four times, and settles within 10% of 50 with every
    recipient reached exactly once."""
    limit, chats = 50, list(range(1000, 1400))
    await citizens(bot, "telegram", chats)
    repo = bot.services.repos.broadcasts
    draft = await sent_now(bot.services, NOTICE)
    await repo.start(draft.id, bot.clock.now())
    async with LocalBotApi(bots={TOKEN: "hidden_bot"}) as api:
        api.state.add_users(TOKEN, chats[0], len(chats))
        api.state.add_fault(kind="limit", per_second=limit, retry_after=1, token=TOKEN)
        # The broadcast bot's own transport and connections, as bot/runtime.py makes it: with PTB's
        # default single connection the requests would wait in line, and leave later than sent.
        messenger = Bot(TOKEN, base_url=api.bot_base_url, request=make_request("aiohttp", BROADCAST_POOL))
        await messenger.initialize()
        sender = PlatformSender("telegram", messenger, repo, bot.clock, rate=2 * limit, ceiling=4 * limit)
        content = Content(await repo.get(draft.id), repo, None)
        try:
            for _ in range(20):
                await asyncio.wait_for(sender.run(draft.id, content, lambda: True), 30)
                if not (await repo.progress(draft.id))["telegram"].pending:
                    break
                bot.clock.advance(seconds=2)  # the postponed ones' retry_after has passed
        finally:
            await messenger.shutdown()
        [rule] = api.state.faults
        received = {chat: len(api.state.messages(TOKEN, chat)) for chat in chats}
    progress = (await repo.progress(draft.id))["telegram"]
    assert (progress.sent, progress.pending, progress.failed, progress.uncertain) == (len(chats), 0, 0, 0)
    assert set(received.values()) == {1}, {c: n for c, n in received.items() if n != 1}
    assert rule.refused > 0 and rule.peak <= limit
    assert sender.adaptive.decreases >= 1
    assert 0.9 * limit <= sender.rate <= 1.1 * limit, sender.rate


async def test_the_final_report_says_the_rate_each_messenger_settled_on(bot):
    from bot.messenger.broadcast import report
    draft = await sent_now(bot.services, NOTICE)
    text = await report.final_report(bot.services, draft, rates={"telegram": (25.0, 25.0), "bale": (4.0, 7.4)})
    assert t.settled_rate("bale", 4.0, 7.4) in text
    assert "۷٫۴ پیام در ثانیه" in text and "۴" in t.settled_rate("bale", 4.0, 7.4)
    assert t.settled_rate("telegram", 25.0, 25.0) in text


def test_bale_starts_conservative_and_a_ceiling_under_the_rate_is_named():
    import tomllib

    from bot.campaign.config import ConfigError, load_config, parse_config
    from tests.conftest import ROOT
    example = load_config(ROOT / "config.example.toml").platforms
    assert (example["bale"].broadcast_rate, example["bale"].broadcast_rate_ceiling) == (4, 20)
    assert (example["telegram"].broadcast_rate, example["telegram"].broadcast_rate_ceiling) == (25, None)
    root = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    del root["bale"]["broadcast_rate_ceiling"]
    root["bale"]["broadcast_rate"] = 30  # above the default ceiling: the ceiling follows it
    assert parse_config(root).platforms["bale"].broadcast_rate_ceiling == 30
    root["bale"]["broadcast_rate_ceiling"] = 10
    with pytest.raises(ConfigError, match="bale.broadcast_rate_ceiling"):
        parse_config(root)
