"""The citizen's journey in-process: what the citizen sees and what the database holds."""
from __future__ import annotations

from messages_fa import buttons as b
from messages_fa import texts
from tests.support.journeys import USER, choose_tajrish, submit_proposal


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


async def test_typed_neighbourhood_tolerates_arabic_letters_and_spaces(bot):
    tg = bot.telegram
    await tg.send(USER, "/start")
    await tg.send(USER, "گلاب دره")
    citizen = await bot.services.repos.citizens.find("telegram", USER)
    assert citizen.neighbourhood_id == "golabdareh"
    assert b.SEND_PROPOSAL in tg.menu(USER)


async def test_typed_partial_name_with_several_matches_offers_a_choice(bot):
    tg = bot.telegram
    await tg.send(USER, "/start")
    await tg.send(USER, "شهرک")
    labels = [label for label, _ in tg.buttons(USER)]
    # The names found, and the full list only on request (no new live 27-button message).
    assert sorted(labels) == sorted(["شهرک نفت", "دانشگاه (شهرک گل‌ها)", b.ALL_NEIGHBOURHOODS])
    await tg.press(USER, "شهرک نفت")
    assert (await bot.services.repos.citizens.find("telegram", USER)).neighbourhood_id == "shahrak-naft"


async def test_unknown_name_is_answered_and_state_kept(bot):
    tg = bot.telegram
    await tg.send(USER, "/start")
    await tg.send(USER, "پاریس")
    assert "پیدا نشد" in tg.last_text(USER)
    await tg.send(USER, "تجريش")  # Arabic yeh
    assert (await bot.services.repos.citizens.find("telegram", USER)).neighbourhood_id == "tajrish"


async def test_before_registration_menu_says_when_and_offers_reminder(bot):
    bot.at("before")
    tg = bot.telegram
    await choose_tajrish(bot)
    await tg.send(USER, "/start")
    text = tg.last_text(USER)
    assert "پنجشنبه ۵ آذر ۱۴۰۵، ساعت ۹:۰۰" in text and "۳ روز دیگر" in text
    assert b.REMIND_ME in tg.menu(USER) and b.SEND_PROPOSAL not in tg.menu(USER)
    await tg.send(USER, b.REMIND_ME)
    assert (await bot.services.repos.citizens.find("telegram", USER)).remind_me
    assert b.REMIND_ME not in tg.menu(USER)
    await tg.send(USER, b.SEND_PROPOSAL)  # typed or a stale button: refused with the date
    assert "اکنون امکان ثبت پیشنهاد نیست" in tg.last_text(USER)


async def test_my_proposals_lists_status_and_code(bot):
    await choose_tajrish(bot)
    await submit_proposal(bot)
    await bot.telegram.send(USER, b.MY_PROPOSALS)
    text = bot.telegram.last_text(USER)
    assert "کاشت درخت در خیابان" in text and "در انتظار بررسی" in text
    code = (await bot.services.proposals.mine(await bot.services.repos.citizens.find("telegram", USER)))[0].code
    from messages_fa.numbers import fa_digits
    assert fa_digits(code) in text


async def test_proposal_limit(bot):
    await choose_tajrish(bot)
    for n in range(3):
        await submit_proposal(bot, title=f"پیشنهاد شماره {n + 1}")
        bot.clock.advance(days=1)  # limits.proposals_per_day is 2
    await bot.telegram.send(USER, b.SEND_PROPOSAL)
    assert "بیشترین تعداد مجاز" in bot.telegram.last_text(USER)
    citizen = await bot.services.repos.citizens.find("telegram", USER)
    assert len(await bot.services.proposals.mine(citizen)) == 3


async def test_back_steps_and_cancel_keep_flow_consistent(bot):
    tg = bot.telegram
    await choose_tajrish(bot)
    await tg.send(USER, b.SEND_PROPOSAL)
    await tg.press(USER, "ورزشی")
    await tg.send(USER, "زمین بازی")
    assert "گام ۳" in tg.last_text(USER)
    await tg.send(USER, b.BACK)
    assert "گام ۲" in tg.last_text(USER)
    await tg.send(USER, "زمین بازی کودکان")
    await tg.send(USER, "/cancel")
    assert "لغو شد" in tg.last_text(USER)
    citizen = await bot.services.repos.citizens.find("telegram", USER)
    assert await bot.services.proposals.draft(citizen) is None
    # after cancel, text is not taken as a description: it is only offered as a new proposal's
    await tg.send(USER, "یک متن بی‌ربط")
    assert "می‌خواهید با همین متن پیشنهاد بدهید؟" in tg.last_text(USER)
    assert (await bot.services.proposals.draft(citizen)).title is None


async def test_edit_from_preview_returns_to_preview(bot):
    tg = bot.telegram
    await choose_tajrish(bot)
    await tg.send(USER, b.SEND_PROPOSAL)
    await tg.press(USER, "ورزشی")
    await tg.send(USER, "زمین بازی")
    await tg.send(USER, "یک زمین بازی برای کودکان در پارک محله ساخته شود.")
    await tg.update(tg.updates.photo(USER))
    await tg.update(tg.updates.location(USER, 35.80, 51.42))
    await tg.send(USER, b.CONTINUE)
    assert "عکس پیوست شده" in tg.last_text(USER) and "مکان مشخص شده" in tg.last_text(USER)
    await tg.press(USER, b.EDIT)
    await tg.press(USER, b.EDIT_TITLE)
    await tg.send(USER, "زمین بازی کودکان در پارک")
    assert "پیش‌نمایش" in tg.last_text(USER) and "زمین بازی کودکان در پارک" in tg.last_text(USER)
    await tg.press(USER, b.CONFIRM)
    citizen = await bot.services.repos.citizens.find("telegram", USER)
    [proposal] = await bot.services.proposals.mine(citizen)
    assert proposal.title == "زمین بازی کودکان در پارک" and proposal.photo_file_id and proposal.latitude == 35.80


async def test_old_neighbourhood_button_pressed_mid_proposal_asks_and_keeps_the_step(bot):
    """Issue 16: an old 27-name message pressed while writing never moves the citizen nor ends the step."""
    tg = bot.telegram
    await tg.send(USER, "/start")
    welcome = tg.last_with_buttons(USER)
    darband = next(d for label, d in tg.request.inline_buttons(welcome) if label == "دربند")
    await tg.press(USER, "تجریش")
    await tg.send(USER, b.SEND_PROPOSAL)
    await tg.press(USER, "ورزشی")
    await tg.update(tg.updates.callback(USER, welcome, darband))  # the old list, as it was first sent
    asked = tg.request.calls_to("editMessageText")[-1].params["text"]  # the old list, edited in place
    assert "محلهٔ کنونی شما <b>تجریش</b> است" in asked and "پیشنهاد نیمه‌کارهٔ شما نگه داشته" in asked
    citizen = await bot.services.repos.citizens.find("telegram", USER)
    assert citizen.neighbourhood_id == "tajrish"
    await tg.send(USER, "زمین بازی کودکان")  # still the title step
    assert (await bot.services.proposals.draft(citizen)).title == "زمین بازی کودکان"


async def test_full_name_without_brackets_matches(bot):
    await bot.telegram.send(USER, "/start")
    await bot.telegram.send(USER, "دانشگاه شهرک گلها")
    assert (await bot.services.repos.citizens.find("telegram", USER)).neighbourhood_id == "daneshgah"


async def test_menu_press_mid_flow_keeps_the_draft_and_resumes_it(bot):
    tg = bot.telegram
    await choose_tajrish(bot)
    await tg.send(USER, b.SEND_PROPOSAL)
    await tg.press(USER, "ورزشی")
    await tg.send(USER, "زمین بازی")
    await tg.send(USER, b.MY_PROPOSALS)  # leaves the flow
    await tg.send(USER, b.SEND_PROPOSAL)
    texts_seen = tg.request.texts(USER)[-2:]
    assert texts.draft_resumed() in texts_seen[0] and "گام ۳" in texts_seen[1]
    await tg.send(USER, "یک زمین بازی برای کودکان محله ساخته شود.")
    await tg.send(USER, b.CONTINUE)
    assert "زمین بازی" in tg.last_text(USER) and "ورزشی" in tg.last_text(USER)
    # «انصراف» discards it: the next start is fresh
    await tg.send(USER, b.CANCEL)
    await tg.send(USER, b.SEND_PROPOSAL)
    assert "گام ۱" in tg.last_text(USER)


async def test_contact_shared_while_choosing_a_neighbourhood_still_verifies(bot):
    tg = bot.telegram
    await tg.send(USER, "/start")
    await tg.update(tg.updates.contact(USER, "09121234567"))
    assert (await bot.services.repos.citizens.find("telegram", USER)).verified


async def test_cards_that_were_never_posted_go_out_at_start_up(bot):
    from bot.messenger.context import KEY
    from tests.conftest import STAFF_CHAT

    await choose_tajrish(bot)
    citizen = await bot.services.repos.citizens.find("telegram", USER)
    # A proposal committed without its card (as if the process died right after the commit).
    await bot.services.proposals.start(citizen)
    await bot.services.proposals.set_category(citizen, "sport")
    await bot.services.proposals.set_title(citizen, "زمین بازی")
    await bot.services.proposals.set_description(citizen, "یک زمین بازی برای کودکان محله ساخته شود.")
    proposal = (await bot.services.proposals.submit(citizen)).proposal
    notifier = bot.telegram.app.bot_data[KEY].notifier
    assert await notifier.post_missing_staff_cards() == 1
    assert f"rv:a:{proposal.id}" in [d for _, d in bot.telegram.buttons(STAFF_CHAT)]
    assert await notifier.post_missing_staff_cards() == 0


async def test_remind_me_after_registration_opened_is_not_stored(bot):
    await choose_tajrish(bot)
    await bot.telegram.send(USER, b.REMIND_ME)  # a stale button from an older menu
    assert "اکنون زمان ثبت پیشنهاد است" in bot.telegram.last_text(USER)
    assert not (await bot.services.repos.citizens.find("telegram", USER)).remind_me
