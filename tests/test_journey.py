"""The citizen's journey in-process: what the citizen sees and what the database holds."""
from __future__ import annotations

from messages_fa import buttons as b

USER = 1001


async def choose_tajrish(bot, user=USER, messenger=None):
    m = messenger or bot.telegram
    await m.send(user, "/start")
    await m.press(user, "تجریش")


async def test_start_shows_welcome_phase_and_neighbourhoods(bot):
    await bot.telegram.send(USER, "/start")
    text = bot.telegram.last_text(USER)
    assert "من شهردارم" in text
    assert "اکنون زمان ثبت پیشنهاد است" in text
    labels = [label for label, _ in bot.telegram.buttons(USER)]
    assert len(labels) == 27 and "گلاب‌دره" in labels


async def test_full_proposal_then_vote(bot):
    tg = bot.telegram
    await choose_tajrish(bot)
    assert "تجریش" in tg.last_text(USER)
    assert b.SEND_PROPOSAL in tg.menu(USER)

    await tg.send(USER, b.SEND_PROPOSAL)
    await tg.press(USER, "فضای سبز و محیط زیست")
    await tg.send(USER, "کاشت درخت در خیابان")
    await tg.send(USER, "در پیاده‌رو خیابان اصلی تجریش درخت کاشته شود تا سایه داشته باشیم.")
    await tg.send(USER, b.CONTINUE)
    assert "پیش‌نمایش" in tg.last_text(USER)
    await tg.press(USER, b.CONFIRM)
    assert "کد پیگیری" in tg.last_text(USER)
    proposals = await bot.services.proposals.mine(await bot.services.repos.citizens.find("telegram", USER))
    assert len(proposals) == 1 and proposals[0].status == "pending"
