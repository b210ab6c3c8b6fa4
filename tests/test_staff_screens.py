"""Issue 17, part 1: staff screens in the staff's language (/audit, /feasibility, the moderation card,
staff commands and the citizen conversation, the broadcast report's duration)."""
from __future__ import annotations

import pytest

from messages_fa import broadcasts as bt_texts
from tests.conftest import TELEGRAM_ADMIN
from tests.support.journeys import citizens
from tests.support.review import staffed_config


@pytest.fixture
def config(tmp_path):
    return staffed_config(tmp_path)


# -- the broadcast report's duration ----------------------------------------------------------------

@pytest.mark.parametrize("seconds, shown", [
    (0, "۰ ثانیه"), (0.4, "۰ ثانیه"), (42, "۴۲ ثانیه"), (59.4, "۵۹ ثانیه"), (60, "۱ دقیقه"),
    (12 * 60 + 10, "۱۲ دقیقه"), (3600, "۱ ساعت"), (2 * 3600 + 5 * 60, "۲ ساعت و ۵ دقیقه"),
])
def test_durations_read_in_seconds_under_a_minute(seconds, shown):
    assert bt_texts.duration(seconds) == shown


async def test_a_broadcast_over_in_42_seconds_reports_seconds_not_zero_minutes(bot):
    await citizens(bot, "telegram", [11, 12, 13])
    m = bot.telegram
    request = m.request

    def slow(params):  # every message to a citizen takes 14 s of the campaign's clock
        if params["chat_id"] in (11, 12, 13):
            bot.clock.advance(seconds=14)
        return request._answer("sendMessage", params, {})
    await m.send(TELEGRAM_ADMIN, "/broadcast")
    await m.send(TELEGRAM_ADMIN, "آب منطقه فردا قطع است.")
    await m.press(TELEGRAM_ADMIN, bt_texts.with_count(bt_texts.AUDIENCE_EVERYONE, 3))
    request.respond("sendMessage", slow)
    await m.press(TELEGRAM_ADMIN, bt_texts.SEND_NOW)
    await bot.broadcast()
    final = m.request.texts(TELEGRAM_ADMIN)[-1]
    assert "✅ تمام شد" in final and "مدت ارسال: ۴۲ ثانیه" in final and "دقیقه" not in final


# -- /feasibility ---------------------------------------------------------------------------------

async def test_feasibility_cards_have_their_heading_and_an_empty_queue_says_so(bot):
    from messages_fa import staff as t
    from messages_fa import texts
    from tests.support.review import REVIEWER, approved

    await approved(bot, 2)
    m = bot.telegram
    await m.send(REVIEWER, "/feasibility")
    card = m.last_text(REVIEWER)
    assert t.FEASIBILITY_HEADING in card and texts.MODERATION_HEADING not in card
    await m.press(REVIEWER, t.NOT_FEASIBLE)
    await m.send(REVIEWER, "در حریم رودخانه است.")
    assert m.request.texts(REVIEWER)[-2] == t.saved_next()  # a next card follows it
    assert t.FEASIBILITY_HEADING in m.last_text(REVIEWER)
    await m.press(REVIEWER, t.FEASIBLE)
    await m.send(REVIEWER, "شدنی است.")
    await m.send(REVIEWER, "۵٬۰۰۰٬۰۰۰")
    last = m.last_text(REVIEWER)
    assert "همهٔ پیشنهادها بررسی شده‌اند" in last and "پیشنهاد بعدی" not in last
    await m.press(REVIEWER, t.NEXT)  # the last card's «next»: nothing left, said so
    assert "همهٔ پیشنهادها بررسی شده‌اند" in m.last_text(REVIEWER)


# -- a staff command ends the citizen's step ---------------------------------------------------------

async def _move_proposals_close_by_a_week(bot, admin: int) -> None:
    import datetime as dt

    import jdatetime

    from messages_fa import broadcasts as t
    m = bot.telegram
    await m.send(admin, "/schedule")
    await m.press(admin, t.move_button("proposals_closes"))
    new_close = bot.config.calendar.proposals_closes + dt.timedelta(days=7)
    j = jdatetime.datetime.fromgregorian(datetime=new_close.astimezone(bot.config.timezone))
    await m.send(admin, f"{j.year}/{j.month}/{j.day} {j.hour}:{j.minute:02d}")
    assert "منتقل شد" in m.last_text(admin)


@pytest.mark.parametrize("first", ["/start", None])
async def test_what_staff_type_after_a_schedule_move_is_not_a_neighbourhood_name(bot, first):
    """An admin without a neighbourhood who had sent /start was left in the citizen conversation's
    neighbourhood step by /schedule (staff commands were handled beside the conversation, so it
    never ended): the next thing they typed was looked up as a neighbourhood («پیدا نشد»). Without
    /start the catch-all read it as one too."""
    from messages_fa import texts
    m = bot.telegram
    if first:
        await m.send(TELEGRAM_ADMIN, first)
        assert m.buttons(TELEGRAM_ADMIN)  # the neighbourhood keyboard: the conversation waits for one
    await _move_proposals_close_by_a_week(bot, TELEGRAM_ADMIN)
    await m.send(TELEGRAM_ADMIN, "ممنون")
    said = m.last_text(TELEGRAM_ADMIN)
    assert "پیدا نشد" not in said and "ممنون" not in said and said == texts.not_understood()
    citizen = await bot.services.repos.citizens.find("telegram", TELEGRAM_ADMIN)
    assert citizen.neighbourhood_id is None
    # A citizen who is asked for their neighbourhood still may type it.
    await m.send(1234, "/start")
    await m.send(1234, "تجریش")
    assert (await bot.services.repos.citizens.find("telegram", 1234)).neighbourhood_id == "tajrish"


# -- the card pushed to the staff chat is /review's screen ----------------------------------------------

async def test_the_pushed_card_offers_what_review_offers(bot, config):
    from messages_fa import staff as t
    from tests.conftest import STAFF_CHAT
    from tests.support.review import MODERATOR, pending

    await pending(bot, 3)
    m = bot.telegram
    repos = bot.services.repos

    async def proposal_of(user):
        return (await repos.proposals.by_citizen((await repos.citizens.find("telegram", user)).id))[0]

    cards = [msg for msg in m.request.messages(STAFF_CHAT) if m.request.inline_buttons(msg)]
    assert len(cards) == 3
    labels = [label for label, _ in m.request.inline_buttons(cards[0])]
    assert labels == [t.APPROVE, t.REJECT, t.CATEGORY, t.DUPLICATE, t.NEXT]  # the same as /review's card
    await m.send(MODERATOR, "/review")
    assert [label for label, _ in m.buttons(MODERATOR)] == labels

    def press_on(card, label):
        data = next(d for lb, d in m.request.inline_buttons(card) if lb == label)
        return m.update(m.updates.callback(MODERATOR, card, data))

    # A ready reason, from the first card in the group.
    await press_on(cards[0], t.REJECT)
    await m.press(MODERATOR, config.reject_reasons[0], chat_id=STAFF_CHAT)
    await bot.settle()
    first = await proposal_of(1601)
    assert first.status == "rejected" and first.reject_reason == config.reject_reasons[0]
    assert config.reject_reasons[0] in m.last_text(1601)
    assert not m.request.inline_buttons(m.request.messages(STAFF_CHAT)[0])  # that card is closed
    # Fixing the second one's category.
    await press_on(cards[1], t.CATEGORY)
    posted = len(m.request.messages(STAFF_CHAT))
    await m.press(MODERATOR, config.categories[-1].name, chat_id=STAFF_CHAT)
    await bot.settle()
    assert (await proposal_of(1602)).category_id == config.categories[-1].id
    # Its card in the group shows the new category, buttons kept; no second card for it.
    refreshed = next(msg for msg in m.request.messages(STAFF_CHAT) if msg["message_id"] == cards[1]["message_id"])
    assert f"دسته: {config.categories[-1].name}" in refreshed["text"] and m.request.inline_buttons(refreshed)
    assert len(m.request.messages(STAFF_CHAT)) == posted
    # The third one is a duplicate of the second: asked privately, typed there.
    await press_on(cards[2], t.DUPLICATE)
    assert m.alerts()[-1] == t.asked_privately()
    assert "کد پیگیری پیشنهاد اصلی" in m.last_text(MODERATOR)
    await m.send(MODERATOR, (await proposal_of(1602)).code)
    await bot.settle()
    third = await proposal_of(1603)
    assert third.status == "rejected" and third.duplicate_of == (await proposal_of(1602)).id
    # A press on a card already decided (a colleague was quicker) posts nothing into the group.
    before = len(m.request.messages(STAFF_CHAT))
    await m.update(m.updates.callback(MODERATOR, cards[0], f"rv:a:{first.id}"))  # its stale approve
    assert m.alerts()[-1] == t.already_done() and len(m.request.messages(STAFF_CHAT)) == before
    # «Next» from a card in the group shows the next pending card there.
    before = len(m.request.messages(STAFF_CHAT))
    await press_on(cards[1], t.NEXT)
    assert len(m.request.messages(STAFF_CHAT)) == before + 1 and "1602" in m.last_text(STAFF_CHAT).translate(_ASCII)


_ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")


# -- /audit -------------------------------------------------------------------------------------------

async def test_audit_reads_as_sentences_with_names_jalali_times_and_money(bot, config):
    import datetime as dt

    from bot.campaign.roles import Actor
    from messages_fa import staff as t
    from messages_fa import texts
    from tests.support.review import MODERATOR, REVIEWER, approved

    m = bot.telegram
    m.updates.set_user(MODERATOR, first_name="مریم", username="maryam_r")
    m.updates.set_user(REVIEWER, first_name="رضا")  # no @username
    bot.clock.set(dt.datetime(2026, 11, 26, 5, 39, tzinfo=dt.UTC))  # Thursday 5 Azar 1405, 9:09 in Tehran
    await approved(bot, 1)  # by the admin, from /review
    await m.send(MODERATOR, "/review")  # the moderator is seen (and named) once they use the bot
    await m.send(REVIEWER, "/feasibility")
    await m.press(REVIEWER, t.FEASIBLE)
    await m.send(REVIEWER, "زمین متعلق به شهرداری است.")
    await m.send(REVIEWER, "12500000")
    proposal = (await bot.services.repos.proposals.by_citizen(
        (await bot.services.repos.citizens.find("telegram", 1601)).id))[0]
    # A calendar move, by someone never seen (the id is all the log knows of them).
    closes = config.calendar.proposals_closes
    await bot.services.repos.audit.record("bale:4321", "calendar", "proposals_closes", closes.isoformat(),
                                          (closes + dt.timedelta(days=7)).isoformat(), bot.clock.now())
    await bot.services.proposals.decide(Actor.person("telegram", MODERATOR), proposal.id, True)  # ALREADY: no entry
    await m.send(TELEGRAM_ADMIN, "/audit")
    page = m.last_text(TELEGRAM_ADMIN)
    lines = page.split("\n")
    assert "telegram:" not in page and "T" not in page.replace("TEL", "")  # no ISO moments, no refs
    code = proposal.code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    cost_line = next(line for line in lines if "هزینهٔ برآوردی" in line)
    assert cost_line.startswith("▫️ پنجشنبه ۵ آذر ۱۴۰۵، ساعت ۹:۰۹ — رضا: ")
    assert f"هزینهٔ برآوردی پیشنهاد {code} را ۱۲٬۵۰۰٬۰۰۰ تومان ثبت کرد." in cost_line
    assert any(f"رضا: پیشنهاد {code} را اجراپذیر دانست؛ توضیح: «زمین متعلق به شهرداری است.»" in line
               for line in lines)
    assert any(f"User{TELEGRAM_ADMIN}: پیشنهاد {code} را تأیید کرد." in line for line in lines)
    calendar = next(line for line in lines if "منتقل کرد" in line)
    assert "شناسهٔ ۴۳۲۱ در بله" in calendar and "«پایان ثبت پیشنهاد» را از " in calendar
    moved = bot.services.calendar.when(closes + dt.timedelta(days=7))
    assert moved in calendar and "شنبه" in moved  # Jalali, Tehran, with the weekday
    assert len([line for line in lines if line.startswith("▫️")]) == 4  # one line per action

    # Filters on buttons, the one message edited in place: by person …
    messages = len(m.request.messages(TELEGRAM_ADMIN))
    await m.press(TELEGRAM_ADMIN, t.AUDIT_BY_PERSON)
    labels = [label for label, _ in m.buttons(TELEGRAM_ADMIN)]
    assert "رضا" in labels and f"User{TELEGRAM_ADMIN}" in labels and "شناسهٔ ۴۳۲۱ در بله" in labels
    await m.press(TELEGRAM_ADMIN, "رضا")
    only = m.last_text(TELEGRAM_ADMIN)
    assert "فقط: رضا" in only and len([x for x in only.split("\n") if x.startswith("▫️")]) == 2
    # … by action …
    await m.press(TELEGRAM_ADMIN, t.AUDIT_BY_ACTION)
    await m.press(TELEGRAM_ADMIN, t.ACTION_NAMES["approve"])
    only = m.last_text(TELEGRAM_ADMIN)
    assert [x for x in only.split("\n") if x.startswith("▫️")] == [
        next(line for line in lines if "را تأیید کرد" in line)]
    # … by day (Tehran's): the day before has nothing, the day itself everything.
    await m.press(TELEGRAM_ADMIN, t.AUDIT_BY_DAY)
    assert [label for label, _ in m.buttons(TELEGRAM_ADMIN)][0] == "پنجشنبه ۵ آذر ۱۴۰۵"
    await m.press(TELEGRAM_ADMIN, "پنجشنبه ۵ آذر ۱۴۰۵")
    assert len([x for x in m.last_text(TELEGRAM_ADMIN).split("\n") if x.startswith("▫️")]) == 4
    await m.press_data(TELEGRAM_ADMIN, "au:0:d20261125")
    assert "رویدادی با این انتخاب نیست" in m.last_text(TELEGRAM_ADMIN)
    await m.press(TELEGRAM_ADMIN, t.AUDIT_ALL)
    assert "فقط:" not in m.last_text(TELEGRAM_ADMIN)
    assert len(m.request.messages(TELEGRAM_ADMIN)) == messages
    await m.press_data(TELEGRAM_ADMIN, "au:0:d20261340")  # a day that does not exist (forged)
    assert m.alerts()[-1] == texts.button_expired()
    # The buttons are checked on the server: a moderator's press (forged) shows nothing.
    before = len(m.request.messages(MODERATOR))
    await m.press_data(MODERATOR, "au:0:t920")
    await m.press_data(MODERATOR, "au:m:p")
    assert len(m.request.messages(MODERATOR)) == before and m.alerts()[-1] == t.not_for_you()


async def test_audit_names_follow_the_messenger_and_only_staff_are_kept(bot):
    from tests.support.review import MODERATOR
    m = bot.telegram
    m.updates.set_user(MODERATOR, first_name="مریم", username="maryam_r")
    await m.send(MODERATOR, "/review")
    m.updates.set_user(MODERATOR, first_name="مریم", username="maryam_new")
    await m.send(MODERATOR, "/review")
    await m.send(1234, "/start")  # a citizen: never kept
    names = await bot.services.repos.audit.names(["telegram:910", "telegram:1234"])
    assert {k: (v.first_name, v.username) for k, v in names.items()} == {"telegram:910": ("مریم", "maryam_new")}


async def test_after_a_question_from_a_pushed_card_typing_is_not_a_neighbourhood(bot):
    """Bale has no staff chat: its admin gets the cards privately and can work them without a
    command. The admin had sent /start (the neighbourhood step), then marked a duplicate from a
    card: the step outlived the answer and took the next text as a neighbourhood."""
    from messages_fa import staff as t
    from messages_fa import texts
    from tests.conftest import BALE_ADMIN
    from tests.support.review import pending

    bale = bot.bale
    await bale.send(BALE_ADMIN, "/start")
    await pending(bot, 2)
    first, second = [await bot.services.repos.proposals.by_citizen(
        (await bot.services.repos.citizens.find("telegram", user)).id) for user in (1601, 1602)]
    cards = [msg for msg in bale.request.messages(BALE_ADMIN) if bale.request.inline_buttons(msg)]
    data = next(d for label, d in bale.request.inline_buttons(cards[-1]) if label == t.DUPLICATE)
    await bale.update(bale.updates.callback(BALE_ADMIN, cards[-1], data))
    await bale.send(BALE_ADMIN, first[0].code)
    await bot.settle()
    assert (await bot.services.proposals.get(second[0].id)).duplicate_of == first[0].id
    await bale.send(BALE_ADMIN, "ممنون")
    assert bale.last_text(BALE_ADMIN) == texts.not_understood()
