"""Issue 16 §1 in-process (the fast twin of tests/test_e2e_stray_taps.py): each written against
what the bot had before the change, and each failed there (run at 9e1eb2e: 7 failed)."""
from bot.campaign.services.citizens import PhoneResult
from bot.messenger import buttons as bt
from messages_fa import buttons as b
from tests.support.journeys import USER, choose_tajrish

GROUP = -100555


async def test_old_list_pressed_mid_proposal_does_not_move(bot):
    tg = bot.telegram
    await tg.send(USER, "/start")
    welcome = tg.last_with_buttons(USER)
    darband = next(d for label, d in tg.request.inline_buttons(welcome) if label == "دربند")
    await tg.press(USER, "تجریش")
    await tg.send(USER, b.SEND_PROPOSAL)
    await tg.press(USER, "ورزشی")
    await tg.update(tg.updates.callback(USER, welcome, darband))
    assert (await bot.services.repos.citizens.find("telegram", USER)).neighbourhood_id == "tajrish"


async def test_chosen_list_loses_its_buttons(bot):
    tg = bot.telegram
    await tg.send(USER, "/start")
    await tg.press(USER, "تجریش")
    assert tg.request.calls_to("editMessageText") or tg.request.calls_to("editMessageReplyMarkup")


async def test_not_found_adds_no_27_list(bot):
    tg = bot.telegram
    await tg.send(USER, "/start")
    await tg.send(USER, "پاریس")
    assert len(tg.request.inline_buttons(tg.request.last(USER))) < 27


async def test_typed_phone_keeps_share_keyboard(bot):
    bot.at("voting")
    tg = bot.telegram
    await choose_tajrish(bot)
    await tg.send(USER, b.VOTE)
    await tg.send(USER, "۰۹۱۲۱۲۳۴۵۶۷")
    assert b.SHARE_PHONE in tg.menu(USER)


async def test_free_text_offers_a_proposal(bot):
    tg = bot.telegram
    await choose_tajrish(bot)
    await tg.send(USER, "در پارک محله چند سطل زباله و یک آب‌خوری گذاشته شود لطفاً.")
    assert tg.request.inline_buttons(tg.request.last(USER))


async def test_typo_offers_closest(bot):
    tg = bot.telegram
    await tg.send(USER, "/start")
    await tg.send(USER, "نیاورن")
    labels = [label for label, _ in tg.request.inline_buttons(tg.request.last(USER))]
    assert labels and labels[0] == "نیاوران" and len(labels) <= 4


async def test_group_start_is_answered(bot):
    tg = bot.telegram
    await tg.send(USER, "/start", chat_id=GROUP)
    assert [c for c in tg.request.calls_to("sendMessage") if c.params.get("chat_id") == GROUP]


async def test_a_move_confirmed_after_a_vote_is_refused_and_the_question_closed(bot):
    """The confirmation is checked again at the press: a vote since then fixes the neighbourhood."""
    from tests.support.journeys import seed_approved
    tg = bot.telegram
    await seed_approved(bot, count=1)  # voting is open now, one proposal on tajrish's ballot
    await choose_tajrish(bot)
    await tg.send(USER, b.CHANGE_NEIGHBOURHOOD)
    await tg.press(USER, "دربند")
    question = tg.last_with_buttons(USER)
    assert [label for label, _ in tg.request.inline_buttons(question)] == [b.move_to("دربند"), b.stay_in("تجریش")]
    # Meanwhile (another messenger, another process): the citizen votes.
    citizen = await bot.services.repos.citizens.find("telegram", USER)
    assert await bot.services.citizens.verify_phone(citizen, USER, USER, "+989121110000") is PhoneResult.VERIFIED
    citizen = await bot.services.repos.citizens.find("telegram", USER)
    view = await bot.services.voting.ballot(citizen, 0)
    await bot.services.voting.cast(citizen, view.proposals[0].id)
    await tg.update(tg.updates.callback(USER, question, bt.MoveNeighbourhood("darband").pack()))
    assert (await bot.services.repos.citizens.find("telegram", USER)).neighbourhood_id == "tajrish"
    assert "دیگر قابل تغییر نیست" in tg.alerts()[-1]
    assert tg.request.inline_buttons(tg.request.calls_to("editMessageText")[-1].params) == []
