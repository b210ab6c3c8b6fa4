"""Ambassadors: the form and its approval, links and their rules, attribution, figures, staff."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.campaign.roles import Actor
from bot.campaign.services.ambassadors import PAYLOAD_RE, new_payload
from bot.messenger.platforms import PLATFORMS
from messages_fa import ambassadors as t
from messages_fa import buttons as b
from messages_fa import texts
from tests.conftest import BALE_ADMIN, STAFF_CHAT, TELEGRAM_ADMIN
from tests.support.journeys import seed_approved, submit_proposal, verify

AMB = 3001
AMB_PHONE = "+989121110000"


async def apply(bot, user=AMB, name="مریم احمدی", hood="تجریش", groups="گروه همسایگان تجریش\nt.me/tajrish_news",
                phone=AMB_PHONE, messenger=None):
    m = messenger or bot.telegram
    await m.send(user, "/start")
    await m.send(user, b.AMBASSADOR)
    assert "گام ۱ از ۴" in m.last_text(user)
    await m.send(user, name)
    assert "گام ۲ از ۴" in m.last_text(user)
    await m.press(user, hood)
    assert "گام ۳ از ۴" in m.last_text(user)
    await m.send(user, groups)
    assert "قابل مشاهده" in m.last_text(user)  # the form says the number will be readable
    await m.update(m.updates.contact(user, phone))
    await bot.settle()


async def approved_ambassador(bot, user=AMB, **kwargs):
    await apply(bot, user, **kwargs)
    card = bot.telegram.last_with_buttons(STAFF_CHAT)
    await bot.telegram.update(bot.telegram.updates.callback(TELEGRAM_ADMIN, card, f"amb:a:{await _id(bot, user)}"))
    await bot.settle()
    ambassador = await bot.services.repos.ambassadors.get(await _id(bot, user))
    payload = await bot.services.ambassadors.link(ambassador)
    return ambassador, payload


async def _id(bot, user, platform="telegram") -> int:
    return (await bot.services.repos.citizens.find(platform, user)).id


async def test_form_then_staff_approve_and_the_applicant_hears_it(bot):
    await apply(bot)
    m = bot.telegram
    assert m.last_text(AMB) == t.submitted()
    card = m.last_with_buttons(STAFF_CHAT)
    assert "مریم احمدی" in card["text"] and AMB_PHONE in card["text"] and "tajrish_news" in card["text"]
    assert [label for label, _ in m.request.inline_buttons(card)] == [t.APPROVE, t.REJECT]
    assert "مریم احمدی" in bot.bale.last_text(BALE_ADMIN)  # Bale's staff get it too

    await m.send(AMB, b.AMBASSADOR)
    assert m.last_text(AMB) == t.still_pending()

    await m.update(m.updates.callback(TELEGRAM_ADMIN, card, f"amb:a:{await _id(bot, AMB)}"))
    await bot.settle()
    assert "پذیرفته شد" in m.last_text(AMB)
    assert t.MY_LINKS in [label for label, _ in m.buttons(AMB)]
    assert "✅ پذیرفته شد" in m.request.messages(STAFF_CHAT)[-1]["text"]
    assert not m.request.inline_buttons(m.request.messages(STAFF_CHAT)[-1])
    # The Bale copy is closed too, and a second decision changes nothing.
    bale_card = bot.bale.request.messages(BALE_ADMIN)[-1]
    assert "✅ پذیرفته شد" in bale_card["text"]
    await bot.bale.update(bot.bale.updates.callback(BALE_ADMIN, bale_card, f"amb:r:{await _id(bot, AMB)}"))
    assert bot.bale.alerts()[-1] == t.already_decided()
    assert (await bot.services.repos.ambassadors.get(await _id(bot, AMB))).status == "approved"


async def test_reject_and_apply_again(bot):
    await apply(bot)
    m = bot.telegram
    await m.update(m.updates.callback(TELEGRAM_ADMIN, m.last_with_buttons(STAFF_CHAT), f"amb:r:{await _id(bot, AMB)}"))
    await bot.settle()
    assert m.last_text(AMB) == t.rejected()
    await m.send(AMB, b.AMBASSADOR)
    assert "گام ۱ از ۴" in m.last_text(AMB)


async def test_strangers_cannot_decide_nor_use_a_panel(bot):
    await apply(bot)
    m = bot.telegram
    card = m.last_with_buttons(STAFF_CHAT)
    ambassador_id = await _id(bot, AMB)
    for presser in (AMB, 4444, BALE_ADMIN):  # the applicant, a stranger, another messenger's admin
        before = len(m.alerts())
        await m.update(m.updates.callback(presser, card, f"amb:a:{ambassador_id}"))
        assert m.alerts()[before:] == [texts.staff_only()]
    assert (await bot.services.repos.ambassadors.get(ambassador_id)).status == "pending"
    await m.send(4444, "/start")
    await m.press_data(4444, "ap:links")
    assert m.alerts()[-1] == t.not_an_ambassador()
    await m.send(4444, "/ambassadors")
    assert "فقط برای مدیران" in m.last_text(4444)


async def test_form_refuses_someone_elses_phone_and_keeps_the_step(bot):
    m = bot.telegram
    await m.send(AMB, "/start")
    await m.send(AMB, b.AMBASSADOR)
    await m.send(AMB, "مریم احمدی")
    await m.press(AMB, "تجریش")
    await m.send(AMB, "گروه همسایگان")
    await m.update(m.updates.contact(AMB, "+989120000000", contact_user_id=5555))
    assert m.last_text(AMB) == t.phone_not_yours()
    await m.send(AMB, "سلام")
    assert m.last_text(AMB) == t.phone_expected()
    await m.update(m.updates.contact(AMB, AMB_PHONE))
    assert m.last_text(AMB) == t.submitted()


def test_payloads_are_short_unguessable_and_links_have_the_right_shape():
    payloads = {new_payload() for _ in range(200)}
    assert len(payloads) == 200
    for payload in payloads:
        assert len(payload) <= 64 and re.fullmatch(r"[A-Za-z0-9_-]+", payload) and PAYLOAD_RE.match(payload)
    payload = payloads.pop()
    assert PLATFORMS["telegram"].deep_link("manshahrdaram_bot", payload) == f"https://t.me/manshahrdaram_bot?start={payload}"
    assert PLATFORMS["bale"].deep_link("manshahrdaram_bot", payload) == f"https://ble.ir/manshahrdaram_bot?start={payload}"


async def test_links_on_both_messengers_and_the_card_carries_a_url_button(bot):
    ambassador, payload = await approved_ambassador(bot)
    m = bot.telegram
    await m.press(AMB, t.MY_LINKS)
    text = m.last_text(AMB)
    assert f"https://t.me/{m.app.bot.username}?start={payload}" in text
    assert f"https://ble.ir/{bot.bale.app.bot.username}?start={payload}" in text
    await m.press(AMB, t.INVITE_CARD)
    card = m.request.last(AMB)
    assert "تجریش" in card["text"] and "من شهردارم" in card["text"]
    assert m.request.inline_buttons(card) == [(t.OPEN_BOT, f"https://t.me/{m.app.bot.username}?start={payload}")]


async def test_poster_is_a_png_document(bot):
    ambassador, payload = await approved_ambassador(bot)
    m = bot.telegram
    await m.press(AMB, t.POSTER)
    [call] = m.request.calls_to("sendDocument")
    filename, data, _ = call.files["document"]
    assert filename == "poster.png" and data.startswith(b"\x89PNG")


async def test_a_new_person_is_attributed_once_with_the_neighbourhood_chosen(bot):
    ambassador, payload = await approved_ambassador(bot, hood="دربند")
    m = bot.telegram
    await m.send(5001, f"/start {payload}")
    assert "محلهٔ شما" in m.last_text(5001) and "دربند" in m.last_text(5001)
    assert b.CHANGE_NEIGHBOURHOOD in m.menu(5001)  # they can change it
    await m.send(5001, f"/start {payload}")  # again: still once
    await bot.bale.send(5001, f"/start {payload}")  # the same number on Bale is a new account
    figures = await bot.services.repos.ambassadors.figures(ambassador.citizen_id)
    assert figures.joined == 2


async def test_people_who_already_started_the_bot_and_the_ambassador_never_count(bot):
    m = bot.telegram
    await m.send(5002, "/start")
    ambassador, payload = await approved_ambassador(bot)
    await m.send(5002, f"/start {payload}")  # existed before
    await m.send(AMB, f"/start {payload}")  # their own account
    assert (await bot.services.repos.ambassadors.figures(ambassador.citizen_id)).joined == 0


async def test_the_ambassadors_own_phone_on_another_account_is_not_a_join(bot):
    bot.at("voting")
    ambassador, payload = await approved_ambassador(bot)
    await bot.bale.send(7001, f"/start {payload}")
    assert (await bot.services.repos.ambassadors.figures(ambassador.citizen_id)).joined == 1
    await verify(bot, 7001, AMB_PHONE, messenger=bot.bale)  # the ambassador's own number
    assert (await bot.services.repos.ambassadors.figures(ambassador.citizen_id)).joined == 0


@pytest.mark.parametrize("payload", ["", "x", "a" * 33, "a" + "!" * 32, "a" * 65, "ref_123", "a" + "b" * 32])
async def test_malformed_or_unknown_payload_is_an_ordinary_start(bot, payload):
    m = bot.telegram
    await m.send(5003, f"/start {payload}")
    assert texts.choose_neighbourhood() in m.last_text(5003)
    assert bot.errors == []


async def test_a_revoked_link_still_opens_the_bot_without_attribution(bot):
    ambassador, old = await approved_ambassador(bot)
    m = bot.telegram
    await m.press(AMB, t.NEW_LINK)
    new = await bot.services.ambassadors.link(ambassador)
    assert new != old
    await m.send(5004, f"/start {old}")
    assert texts.choose_neighbourhood() in m.last_text(5004)
    await m.send(5005, f"/start {new}")
    assert (await bot.services.repos.ambassadors.figures(ambassador.citizen_id)).joined == 1


async def test_suspended_links_do_not_attribute_and_staff_can_reinstate(bot):
    ambassador, payload = await approved_ambassador(bot)
    m = bot.telegram
    await m.send(TELEGRAM_ADMIN, "/ambassadors")
    assert "مریم احمدی" in m.last_text(TELEGRAM_ADMIN)
    await m.press(TELEGRAM_ADMIN, t.standing_button(1, "مریم احمدی", "تجریش", 0))
    await m.press(TELEGRAM_ADMIN, t.SUSPEND)
    await bot.settle()
    assert m.last_text(AMB) == t.suspended()
    await m.send(5006, f"/start {payload}")
    assert (await bot.services.repos.ambassadors.figures(ambassador.citizen_id)).joined == 0
    await m.press(TELEGRAM_ADMIN, t.REINSTATE)
    await bot.settle()
    # The same link again: posters already up keep working once they are reinstated.
    assert await bot.services.ambassadors.link(await bot.services.repos.ambassadors.get(ambassador.citizen_id)) == payload
    await m.send(5007, f"/start {payload}")
    assert (await bot.services.repos.ambassadors.figures(ambassador.citizen_id)).joined == 1
    await m.press(TELEGRAM_ADMIN, t.REMOVE)
    await bot.settle()
    assert m.last_text(AMB) == t.removed()
    await m.send(5008, f"/start {payload}")  # removed: the link is dead for good
    assert (await bot.services.repos.ambassadors.figures(ambassador.citizen_id)).joined == 1


async def test_figures_after_joins_verifications_proposals_and_votes(bot, config):
    ambassador, payload = await approved_ambassador(bot)
    m = bot.telegram
    for user in (6001, 6002, 6003, 6004):
        await m.send(user, f"/start {payload}")
    await submit_proposal(bot, user=6001)
    await seed_approved(bot, count=1)  # moves to voting
    for user, phone in ((6002, "+989121110002"), (6003, "+989121110003")):
        await m.send(user, b.VOTE)
        await verify(bot, user, phone)
    await m.press(6002, b.vote_button("۱", False))
    total, days = await bot.services.ambassadors.figures(ambassador)
    assert (total.joined, total.verified, total.proposed, total.voted) == (4, 2, 1, 1)
    assert len(days) == 1 and days[0].figures == total
    await m.press(AMB, t.MY_FIGURES)
    text = m.last_text(AMB)
    assert "پیوسته از طریق شما: ۴ نفر" in text and "رأی داده‌اند: ۱" in text and "آذر" in text
    assert "proposal" not in text


async def test_manufactured_joins_are_flagged_to_staff_once(bot):
    from bot.messenger.notices.ambassador_watch import report_suspicious
    ambassador, payload = await approved_ambassador(bot)
    m = bot.telegram
    for user in range(8000, 8025):
        await m.send(user, f"/start {payload}")
    assert await report_suspicious(bot.services, bot.notifier) == 0  # too early to tell
    bot.clock.advance(hours=2)
    assert await report_suspicious(bot.services, bot.notifier) == 1
    assert "مشکوک" in m.last_text(STAFF_CHAT)
    assert await report_suspicious(bot.services, bot.notifier) == 0  # once


async def test_joins_that_verify_are_not_flagged(bot):
    from bot.messenger.notices.ambassador_watch import report_suspicious
    ambassador, payload = await approved_ambassador(bot)
    m = bot.telegram
    bot.at("voting")
    for user in range(8100, 8122):
        await m.send(user, f"/start {payload}")
    for user in (8100, 8101, 8102):  # 3 of 22: real people among them
        await verify(bot, user, f"+98912111{user}")
    bot.clock.advance(hours=2)
    assert await report_suspicious(bot.services, bot.notifier) == 0


async def test_staff_overview_lists_pending_applications_with_their_buttons(bot):
    await apply(bot)
    m = bot.telegram
    await m.send(TELEGRAM_ADMIN, "/ambassadors")
    texts_seen = m.request.texts(TELEGRAM_ADMIN)
    assert any("در انتظار بررسی: ۱" in text for text in texts_seen)
    card = m.last_with_buttons(TELEGRAM_ADMIN)
    assert "مریم احمدی" in card["text"]
    await m.press(TELEGRAM_ADMIN, t.APPROVE)
    await bot.settle()
    assert (await bot.services.repos.ambassadors.get(await _id(bot, AMB))).status == "approved"
    # Every copy, the staff chat's included, shows the decision.
    assert "✅ پذیرفته شد" in m.request.messages(STAFF_CHAT)[-1]["text"]


def test_bursts_are_found_in_a_sliding_window_and_one_real_person_does_not_hide_them():
    from bot.campaign.services.ambassadors import suspicious_bursts
    start = dt.datetime(2026, 11, 26, 5, 58, tzinfo=dt.timezone.utc)
    # 30 joins in 4 minutes across 06:00 (a fixed 10-minute grid would split them 2+28 or so).
    across = [(1, start + dt.timedelta(seconds=8 * n), False) for n in range(30)]
    # 60 joins in 5 minutes, one of whom verified.
    one_real = [(2, start + dt.timedelta(seconds=5 * n), n == 0) for n in range(60)]
    # 40 joins spread over 4 hours: one every 6 minutes is not a burst.
    spread = [(3, start + dt.timedelta(minutes=6 * n), False) for n in range(40)]
    # 25 in 5 minutes, half of them verified: real people.
    real = [(4, start + dt.timedelta(seconds=12 * n), n % 2 == 0) for n in range(25)]
    assert suspicious_bursts(across + one_real + spread + real) == [1, 2]


async def test_the_ambassador_cannot_join_through_their_own_link(bot):
    ambassador, payload = await approved_ambassador(bot)
    me = await bot.services.repos.citizens.get(ambassador.citizen_id)
    assert await bot.services.ambassadors.join(me, True, payload) is None  # even if taken for new
    assert (await bot.services.repos.ambassadors.figures(ambassador.citizen_id)).joined == 0


async def test_an_account_whose_phone_was_already_here_is_not_a_join(bot):
    bot.at("voting")
    ambassador, payload = await approved_ambassador(bot)
    await verify(bot, AMB, "+989127770000")  # the ambassador verifies to vote, with another phone
    await bot.bale.send(7002, f"/start {payload}")  # their Bale account
    await verify(bot, 7002, "+989127770000", messenger=bot.bale)  # "in use"
    assert (await bot.services.repos.ambassadors.figures(ambassador.citizen_id)).joined == 0


async def test_staff_list_is_not_shown_in_other_groups_and_strangers_cannot_page_it(bot):
    ambassador, payload = await approved_ambassador(bot)
    m = bot.telegram
    await m.send(TELEGRAM_ADMIN, "/ambassadors", chat_id=-777)
    assert m.last_text(-777) == t.staff_place_only()
    await m.send(TELEGRAM_ADMIN, "/ambassadors", chat_id=STAFF_CHAT)  # the staff group is fine
    assert "مریم احمدی" in m.request.texts(STAFF_CHAT)[-1] or "مریم احمدی" in str(m.buttons(STAFF_CHAT))
    for data in (f"amb:v:{ambassador.citizen_id}", "amb:p:1", f"amb:k:{ambassador.citizen_id}"):
        before = len(m.alerts())
        await m.app.process_update(m.updates.callback(4444, m.last_with_buttons(STAFF_CHAT), data))
        assert m.alerts()[before:] == [texts.staff_only()]
    assert await bot.services.ambassadors.link(await bot.services.repos.ambassadors.get(ambassador.citizen_id)) == payload


async def test_staff_revoke_gives_a_new_link_and_tells_the_ambassador(bot):
    ambassador, payload = await approved_ambassador(bot)
    m = bot.telegram
    await m.send(TELEGRAM_ADMIN, "/ambassadors")
    await m.press(TELEGRAM_ADMIN, t.standing_button(1, "مریم احمدی", "تجریش", 0))
    await m.press(TELEGRAM_ADMIN, t.REVOKE)
    await bot.settle()
    assert m.last_text(AMB) == t.new_link_made()
    assert await bot.services.ambassadors.link(await bot.services.repos.ambassadors.get(ambassador.citizen_id)) != payload


async def test_the_poster_the_bot_sends_decodes_to_the_ambassadors_link(bot):
    import io

    import zxingcpp
    from PIL import Image
    ambassador, payload = await approved_ambassador(bot)
    m = bot.telegram
    await m.press(AMB, t.POSTER)
    [call] = m.request.calls_to("sendDocument")
    _, data, _ = call.files["document"]
    codes = sorted(zxingcpp.read_barcodes(Image.open(io.BytesIO(data))), key=lambda c: -c.position.top_left.x)
    # Both messengers' links, Bale's on the right (read first), each its own code.
    assert [c.text for c in codes] == [f"https://ble.ir/{bot.bale.app.bot.username}?start={payload}",
                                       f"https://t.me/{m.app.bot.username}?start={payload}"]


async def test_the_neighbourhood_step_has_a_way_back(bot):
    m = bot.telegram
    await m.send(AMB, "/start")
    await m.send(AMB, b.AMBASSADOR)
    await m.send(AMB, "مریم احمدی")
    await m.press(AMB, t.BACK)
    assert "گام ۱ از ۴" in m.last_text(AMB)


async def test_staff_overview_stays_one_message_with_many_ambassadors(bot):
    """Totals per neighbourhood in the text, the people as paged buttons: 150 ambassadors with
    long names still fit in one Telegram message (4,096 characters)."""
    services = bot.services
    for n in range(150):
        citizen, _ = await services.citizens.enter("telegram", 20_000 + n, 20_000 + n)
        hood = services.config.neighbourhoods[n % 27].id
        await services.repos.ambassadors.start_draft(citizen.id, bot.clock.now())
        await services.repos.ambassadors.update_draft(citizen.id, full_name="نام و نام خانوادگی بسیار بلند " * 2,
                                                      neighbourhood_id=hood, groups="گروه", phone="+989120000000")
        await services.repos.ambassadors.submit(citizen.id, bot.clock.now())
        await services.ambassadors.decide(Actor.person("telegram", 900), citizen.id, "approve")
    m = bot.telegram
    await m.send(TELEGRAM_ADMIN, "/ambassadors")
    overview = next(text for text in m.request.texts(TELEGRAM_ADMIN) if "سفیران طرح" in (text or ""))
    assert len(overview) < 4096 and "تجریش" in overview
    labels = [label for label, _ in m.buttons(TELEGRAM_ADMIN)]
    assert len(labels) == 8 + 1  # a page of people and «بعدی»
    await m.press(TELEGRAM_ADMIN, t.NEXT)
    await m.press(TELEGRAM_ADMIN, t.PREVIOUS)
    assert bot.errors == []


async def test_a_decision_that_did_not_reach_the_applicant_is_told_at_start_up(bot):
    await apply(bot)
    m = bot.telegram
    m.request.fail("sendMessage", 502, times=None)  # the messenger fails while staff decide
    await m.update(m.updates.callback(TELEGRAM_ADMIN, m.last_with_buttons(STAFF_CHAT), f"amb:a:{await _id(bot, AMB)}"))
    await bot.settle()
    m.request._failures.clear()
    assert t.approved("تجریش") not in m.request.texts(AMB)
    assert await bot.notifier.catch_up_ambassadors() == (0, 1)  # what the next start-up does
    assert t.approved("تجریش") in m.request.texts(AMB)
    assert await bot.notifier.catch_up_ambassadors() == (0, 0)  # once
