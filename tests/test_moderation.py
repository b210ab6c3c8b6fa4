"""Basic moderation: cards in the staff chat, approve / reject with a reason, only admins count."""
from __future__ import annotations

from messages_fa import texts
from tests.conftest import BALE_ADMIN, STAFF_CHAT, TELEGRAM_ADMIN
from tests.support.journeys import USER, choose_tajrish, submit_proposal

STRANGER = 4242


async def card_and_proposal(bot, messenger=None, user=USER):
    messenger = messenger or bot.telegram
    await choose_tajrish(bot, user, messenger=messenger)
    await submit_proposal(bot, user=user, messenger=messenger)
    await bot.settle()
    citizen = await bot.services.repos.citizens.find(messenger.app.bot_data["app"].platform.name, user)
    [proposal] = await bot.services.proposals.mine(citizen)
    return proposal


def staff_card(bot):
    return bot.telegram.last_with_buttons(STAFF_CHAT)


async def test_card_reaches_staff_chat_and_bale_admin(bot):
    proposal = await card_and_proposal(bot)
    card = staff_card(bot)
    assert "کاشت درخت در خیابان" in card["text"] and "تجریش" in card["text"]
    # /review's buttons (tests/test_staff_screens.py); m:a and m:r on cards sent before still work (below).
    assert [d for _, d in bot.telegram.request.inline_buttons(card)] == [f"rv:{a}:{proposal.id}" for a in "arcdn"]
    # Bale has no staff chat configured: its admin gets the card privately.
    assert bot.bale.last_with_buttons(BALE_ADMIN) is not None


async def test_approve_tells_author_and_closes_every_card(bot):
    proposal = await card_and_proposal(bot)
    tg = bot.telegram
    await tg.update(tg.updates.callback(TELEGRAM_ADMIN, staff_card(bot), f"m:a:{proposal.id}"))
    assert (await bot.services.proposals.get(proposal.id)).status == "approved"
    await bot.settle()
    assert "تأیید شد" in tg.last_text(USER)
    assert tg.last_with_buttons(STAFF_CHAT) is None  # buttons gone from the card
    assert bot.bale.last_with_buttons(BALE_ADMIN) is None
    # the Bale admin pressing the stale card afterwards changes nothing
    bale_card = bot.bale.request.messages(BALE_ADMIN)[-1]
    await bot.bale.update(bot.bale.updates.callback(BALE_ADMIN, bale_card, f"m:r:{proposal.id}"))
    assert bot.bale.alerts()[-1] == texts.already_decided()
    assert (await bot.services.proposals.get(proposal.id)).status == "approved"


async def test_reject_asks_reason_and_author_hears_it(bot):
    proposal = await card_and_proposal(bot)
    tg = bot.telegram
    await tg.update(tg.updates.callback(TELEGRAM_ADMIN, staff_card(bot), f"m:r:{proposal.id}"))
    question = tg.request.last(STAFF_CHAT)
    assert "دلیل رد" in question["text"]
    assert tg.request.calls_to("sendMessage")[-1].params["reply_markup"]["force_reply"] is True
    await tg.send(TELEGRAM_ADMIN, "این محل در حریم رودخانه است.", chat_id=STAFF_CHAT, reply_to=question)
    await bot.settle()
    stored = await bot.services.proposals.get(proposal.id)
    assert stored.status == "rejected" and stored.reject_reason == "این محل در حریم رودخانه است."
    assert "حریم رودخانه" in tg.last_text(USER)
    await tg.send(USER, "📋 پیشنهادهای من")
    assert "ردشده" in tg.last_text(USER) and "حریم رودخانه" in tg.last_text(USER)


async def test_stranger_pressing_approve_changes_nothing(bot):
    proposal = await card_and_proposal(bot)
    tg = bot.telegram
    await tg.update(tg.updates.callback(STRANGER, staff_card(bot), f"m:a:{proposal.id}"))
    await tg.update(tg.updates.callback(USER, staff_card(bot), f"m:r:{proposal.id}"))
    assert all("فقط برای مدیران" in alert for alert in tg.alerts()[-2:])
    assert (await bot.services.proposals.get(proposal.id)).status == "pending"
    # an admin of the other messenger is not an admin here (ids are per platform)
    await tg.update(tg.updates.callback(BALE_ADMIN, staff_card(bot), f"m:a:{proposal.id}"))
    assert (await bot.services.proposals.get(proposal.id)).status == "pending"


async def test_forged_moderation_data(bot):
    await card_and_proposal(bot)
    tg = bot.telegram
    await tg.update(tg.updates.callback(TELEGRAM_ADMIN, staff_card(bot), "m:a:999999"))
    await tg.update(tg.updates.callback(TELEGRAM_ADMIN, staff_card(bot), "m:x:1"))
    assert len(tg.alerts()) >= 2


async def test_two_admins_at_once_only_one_decision(bot):
    import asyncio

    proposal = await card_and_proposal(bot)
    tg = bot.telegram
    card = staff_card(bot)
    await asyncio.gather(
        tg.update(tg.updates.callback(TELEGRAM_ADMIN, card, f"m:a:{proposal.id}")),
        bot.bale.update(bot.bale.updates.callback(BALE_ADMIN, bot.bale.last_with_buttons(BALE_ADMIN), f"m:a:{proposal.id}")),
    )
    await bot.settle()
    outcomes = tg.alerts()[-1:] + bot.bale.alerts()[-1:]
    assert sorted(outcomes) == sorted([texts.decision_saved(), texts.already_decided()])
    told = [m for m in tg.request.messages(USER) if "تأیید شد" in (m["text"] or "")]
    assert len(told) == 1


async def test_only_a_reply_to_the_question_is_a_reason_and_two_rejections_do_not_mix(bot):
    """The Bale admin moderates in a private chat where they also use the bot as a citizen."""
    first = await card_and_proposal(bot)
    second = await card_and_proposal(bot, user=USER + 1)
    bale = bot.bale
    cards = [m for m in bale.request.messages(BALE_ADMIN) if bale.request.inline_buttons(m)]
    for card, proposal in zip(cards, (first, second), strict=True):
        await bale.update(bale.updates.callback(BALE_ADMIN, card, f"m:r:{proposal.id}"))
    questions = [m for m in bale.request.messages(BALE_ADMIN) if "دلیل رد" in (m["text"] or "")]
    assert len(questions) == 2
    # Ordinary use of the bot afterwards is not a reason
    await bale.send(BALE_ADMIN, "/start")
    await bale.send(BALE_ADMIN, "تجریش")
    assert (await bot.services.proposals.get(first.id)).status == "pending"
    assert (await bot.services.repos.citizens.find("bale", BALE_ADMIN)).neighbourhood_id == "tajrish"
    # Answering the FIRST question rejects the first proposal, whatever was pressed last
    await bale.send(BALE_ADMIN, "تکراری است", reply_to=questions[0])
    assert (await bot.services.proposals.get(first.id)).reject_reason == "تکراری است"
    assert (await bot.services.proposals.get(second.id)).status == "pending"
    # A reply to any other bot message is ordinary input
    await bale.send(BALE_ADMIN, "سلام", reply_to=cards[1])
    assert (await bot.services.proposals.get(second.id)).status == "pending"


async def test_reason_question_survives_a_restart(config):
    from bot.campaign.clock import ManualClock
    from tests.conftest import Bot, phase_moments

    clock = ManualClock(phase_moments(config)["proposals"])
    first = await Bot(config, clock).start()
    proposal = await card_and_proposal(first)
    await first.telegram.update(first.telegram.updates.callback(TELEGRAM_ADMIN, staff_card(first), f"m:r:{proposal.id}"))
    question = first.telegram.request.last(STAFF_CHAT)
    await first.stop()
    second = await Bot(config, clock).start()
    try:
        await second.telegram.send(TELEGRAM_ADMIN, "خارج از محدوده", chat_id=STAFF_CHAT, reply_to=question)
        assert (await second.services.proposals.get(proposal.id)).reject_reason == "خارج از محدوده"
    finally:
        await second.settle()
        await second.stop()


async def test_an_outcome_that_did_not_reach_the_author_is_retold_at_start_up(bot):
    from bot.messenger.context import KEY

    proposal = await card_and_proposal(bot)
    tg = bot.telegram
    tg.request.fail("sendMessage", 502, "Bad Gateway")  # the author's message fails once
    await tg.update(tg.updates.callback(TELEGRAM_ADMIN, staff_card(bot), f"m:a:{proposal.id}"))
    await bot.settle()
    assert not any("تأیید شد" in (t or "") for t in tg.request.texts(USER))
    notifier = tg.app.bot_data[KEY].notifier
    assert await notifier.tell_untold_authors() == 1
    assert "تأیید شد" in tg.last_text(USER)
    assert await notifier.tell_untold_authors() == 0


async def test_a_stranger_answering_the_reason_question_is_refused_privately_not_in_the_group(bot):
    proposal = await card_and_proposal(bot)
    tg = bot.telegram
    await tg.update(tg.updates.callback(TELEGRAM_ADMIN, staff_card(bot), f"m:r:{proposal.id}"))
    question = tg.request.last(STAFF_CHAT)
    in_group = len(tg.request.messages(STAFF_CHAT))
    await tg.send(STRANGER, "به نظر من خوب است", chat_id=STAFF_CHAT, reply_to=question)
    assert len(tg.request.messages(STAFF_CHAT)) == in_group  # nothing posted into the staff group
    assert tg.last_text(STRANGER) == texts.staff_only()
    assert (await bot.services.proposals.get(proposal.id)).status == "pending"
    # The question stays open for a moderator.
    await tg.send(TELEGRAM_ADMIN, "خارج از محدوده", chat_id=STAFF_CHAT, reply_to=question)
    assert (await bot.services.proposals.get(proposal.id)).status == "rejected"
