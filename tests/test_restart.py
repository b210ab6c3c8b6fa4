"""Data and conversation steps survive a restart (drafts in our tables, states via persistence)."""
from __future__ import annotations

from bot.campaign.clock import ManualClock
from messages_fa import buttons as b
from tests.conftest import Bot, phase_moments
from tests.support.journeys import USER, choose_tajrish


async def test_restart_in_the_middle_of_a_proposal_resumes_at_the_same_step(config):
    clock = ManualClock(phase_moments(config)["proposals"])
    first = await Bot(config, clock).start()
    await choose_tajrish(first)
    await first.telegram.send(USER, b.SEND_PROPOSAL)
    await first.telegram.press(USER, "ورزشی")
    await first.telegram.send(USER, "زمین بازی")
    assert "گام ۳" in first.telegram.last_text(USER)
    await first.stop()  # graceful: PTB hands the conversation states to our persistence

    second = await Bot(config, clock).start()
    try:
        await second.telegram.send(USER, "یک زمین بازی برای کودکان محله ساخته شود.")
        assert "گام ۴" in second.telegram.last_text(USER)
        await second.telegram.send(USER, b.CONTINUE)
        preview = second.telegram.last_text(USER)
        assert "ورزشی" in preview and "زمین بازی" in preview
        await second.telegram.press(USER, b.CONFIRM)
        citizen = await second.services.repos.citizens.find("telegram", USER)
        [proposal] = await second.services.proposals.mine(citizen)
        assert (proposal.category_id, proposal.title) == ("sport", "زمین بازی")
    finally:
        await second.stop()
    assert not first.errors and not second.errors


async def test_conversation_states_are_namespaced_per_messenger(config):
    """The same user id on Telegram and Bale are two people with two conversations."""
    clock = ManualClock(phase_moments(config)["proposals"])
    bot = await Bot(config, clock).start()
    await choose_tajrish(bot)
    await bot.telegram.send(USER, b.SEND_PROPOSAL)
    await bot.telegram.press(USER, "ورزشی")
    await bot.stop()
    second = await Bot(config, clock).start()
    try:
        await second.bale.send(USER, "/start")
        await second.bale.send(USER, "زمین بازی")  # on Bale this user is choosing a neighbourhood
        assert "پیدا نشد" in second.bale.last_text(USER)
        await second.telegram.send(USER, "زمین بازی")  # on Telegram it is the title step
        assert "گام ۳" in second.telegram.last_text(USER)
    finally:
        await second.stop()
