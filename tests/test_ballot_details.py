"""Knowing what one votes for (issue 16, §2): each ballot entry opens its details (full description,
photo, place) with the same vote button; ballot and details are one message edited in place, so a
vote on one shows on the other; nothing to vote for is said before a phone number is asked for."""
from __future__ import annotations

import html

from bot.messenger.platforms import map_url
from messages_fa import buttons as b
from messages_fa import texts
from messages_fa.numbers import fa_digits
from tests.support.journeys import PHONE, VOTER, choose_tajrish, put_to_the_vote, seed_approved, verify

AUTHOR = 1700
LONG = ("در پیاده‌روی ضلع شمالی میدان تجریش، از ایستگاه مترو تا بازار، نیمکت و سایبان گذاشته شود "
        "تا سالمندان و کودکان هنگام انتظار برای اتوبوس جای نشستن داشته باشند و در تابستان زیر آفتاب نمانند.")


async def _photo_proposal(bot, messenger=None, user=AUTHOR):
    """An author sends a long description, a photo and a place; staff approve it; it is costed."""
    bot.at("proposals")
    m = messenger or bot.telegram
    await m.send(user, "/start")
    await m.press(user, "تجریش")
    await m.send(user, b.SEND_PROPOSAL)
    await m.press(user, "فضای سبز و محیط زیست")
    await m.send(user, "نیمکت و سایبان میدان تجریش")
    await m.send(user, LONG)
    await m.update(m.updates.photo(user))
    await m.update(m.updates.location(user, 35.8043, 51.4336))
    await m.send(user, b.CONTINUE)
    await m.press(user, b.CONFIRM)
    await put_to_the_vote(bot)


def _as_now(tg, message):
    return next(m for m in tg.request.messages(VOTER) if m["message_id"] == message["message_id"])


async def test_details_show_everything_and_stay_in_step_with_the_ballot(bot):
    await seed_approved(bot, count=1)
    await _photo_proposal(bot)
    tg = bot.telegram
    await choose_tajrish(bot, VOTER)
    await verify(bot)
    ballot = tg.last_with_buttons(VOTER)
    # Each entry: title with its cost; votes left and how to change them are on the page itself.
    assert "۲. نیمکت و سایبان میدان تجریش" in ballot["text"] and "هزینهٔ برآوردی: ۱۲٬۵۰۰٬۰۰۰" in ballot["text"]
    assert "۳ رأی باقی‌مانده" in ballot["text"] and texts.ballot_howto() in ballot["text"]
    assert LONG not in ballot["text"]  # the ballot shows it shortened

    tg.request.calls.clear()
    await tg.press(VOTER, b.details_button(fa_digits(2)))
    details = _as_now(tg, ballot)  # edited in place, not a new message
    assert LONG in details["text"] and html.escape(map_url(35.8043, 51.4336)) in details["text"]
    assert "هزینهٔ برآوردی: ۱۲٬۵۰۰٬۰۰۰" in details["text"]
    [photo] = tg.request.calls_to("sendPhoto")
    assert photo.params["photo"].startswith("photo") and "نیمکت" in photo.params["caption"]
    assert sorted(tg.request.methods) == ["answerCallbackQuery", "editMessageText", "sendPhoto"]
    assert [label for label, _ in tg.request.inline_buttons(details)] == [b.vote_button("۲", False), b.BACK_TO_BALLOT]

    # A vote on the details view shows there …
    await tg.press(VOTER, b.vote_button("۲", False))
    assert tg.alerts()[-1] == texts.vote_recorded(1, 3)
    details = _as_now(tg, ballot)
    assert "✅ شما به این پیشنهاد رأی داده‌اید." in details["text"] and "۲ رأی باقی‌مانده" in details["text"]
    assert [label for label, _ in tg.request.inline_buttons(details)] == [b.vote_button("۲", True), b.BACK_TO_BALLOT]
    # … and on the ballot it goes back to.
    await tg.press(VOTER, b.BACK_TO_BALLOT)
    ballot = _as_now(tg, ballot)
    assert "۱ از ۳ رأی" in ballot["text"] and "✅ " + "۲. نیمکت" in ballot["text"].replace("<b>", "")
    assert b.vote_button("۲", True) in [label for label, _ in tg.request.inline_buttons(ballot)]

    # A withdrawal on the ballot shows on the details opened after it.
    await tg.press(VOTER, b.vote_button("۲", True))
    await tg.press(VOTER, b.details_button("۲"))
    details = _as_now(tg, ballot)
    assert "☐ شما هنوز به این پیشنهاد رأی نداده‌اید." in details["text"] and "۳ رأی باقی‌مانده" in details["text"]
    citizen = await bot.services.repos.citizens.find("telegram", VOTER)
    assert await bot.services.repos.votes.count_by_citizen(citizen.id) == 0


async def test_a_photo_sent_on_the_other_messenger_is_copied_once(bot):
    await _photo_proposal(bot, messenger=bot.bale)
    tg = bot.telegram
    await choose_tajrish(bot, VOTER)
    await verify(bot)
    await tg.press(VOTER, b.details_button("۱"))
    [upload] = tg.request.calls_to("sendPhoto")
    assert upload.files and upload.params["chat_id"] == VOTER  # downloaded from Bale, uploaded here
    [proposal_id] = [r[0] for r in await bot.db.read(lambda c: c.execute("SELECT id FROM proposals").fetchall())]
    copy = await bot.services.repos.proposals.media_copy("photo", proposal_id, "telegram")
    assert copy and copy != (await bot.services.proposals.get(proposal_id)).photo_file_id
    # The next voter gets the kept copy: nothing downloaded or uploaded again.
    await choose_tajrish(bot, VOTER + 1)
    await verify(bot, user=VOTER + 1, phone="+989121230000")
    await tg.press(VOTER + 1, b.details_button("۱"))
    again = tg.request.calls_to("sendPhoto")[-1]
    assert again.params["photo"] == copy and not again.files
    assert len(bot.bale.request.calls_to("getFile")) == 1


async def test_details_buttons_are_rechecked_on_the_server(bot):
    await seed_approved(bot, count=1, hood_label="دربند", neighbourhood_user=1600)
    await seed_approved(bot, count=1)
    tg = bot.telegram
    await choose_tajrish(bot, VOTER)
    await verify(bot)
    ids = [r[0] for r in await bot.db.read(lambda c: c.execute(
        "SELECT id FROM proposals WHERE neighbourhood_id = 'darband'").fetchall())]
    before = tg.request.last(VOTER)["text"]
    for forged in (f"i:{ids[0]}", "i:999999", f"v:{ids[0]}:0:d"):
        await tg.press_data(VOTER, forged)
        assert tg.alerts()[-1] == texts.vote_not_available()
    for junk in ("i:", "i:x", "v:1:0:x"):
        await tg.press_data(VOTER, junk)
        assert tg.alerts()[-1] == texts.button_expired()
    assert tg.request.last(VOTER)["text"] == before
    bot.at("closed")
    await tg.press(VOTER, b.details_button("۱"))
    assert tg.alerts()[-1] == texts.voting_closed_alert()


async def test_nothing_on_the_ballot_is_said_before_a_phone_is_asked_for(bot):
    await seed_approved(bot, count=1, hood_label="دربند", neighbourhood_user=1600)
    tg = bot.telegram
    await choose_tajrish(bot, VOTER)
    await tg.send(VOTER, b.VOTE)
    text = tg.last_text(VOTER)
    assert "هنوز پیشنهادی در فهرست رأی‌گیری محلهٔ تجریش نیست" in text
    assert "رأی‌گیری تا " in text and "۱۴۰" in text  # when voting closes, as a Jalali date
    assert "ربات را مسدود نکنید" in text  # how to be told
    assert texts.ask_phone() not in tg.request.texts(VOTER)
    keyboard = tg.request.reply_keyboard(VOTER)["keyboard"]
    assert not any(button.get("request_contact") for row in keyboard for button in row)
    # Someone in a neighbourhood with proposals is asked for the phone as before.
    await tg.send(VOTER + 1, "/start")
    await tg.press(VOTER + 1, "دربند")
    await tg.send(VOTER + 1, b.VOTE)
    assert tg.last_text(VOTER + 1) == texts.ask_phone()


async def test_the_vote_journey_stays_at_thirteen_calls(bot):
    """The details add no call to the journey: 13 since the answered neighbourhood list is edited
    to show the choice (issue 16 §1; bench/README.md), 12 before."""
    await seed_approved(bot, count=4)
    tg = bot.telegram
    tg.request.calls.clear()
    await choose_tajrish(bot, VOTER)
    await tg.send(VOTER, b.VOTE)
    await verify(bot, phone=PHONE)
    for n in "۱۲۳":
        await tg.press(VOTER, b.vote_button(n, False))
    sent = [m for m in tg.request.methods if m not in ("getMe",)]
    assert len(sent) == 13, sent
