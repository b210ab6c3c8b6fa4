"""Ambassadors' cards and posters (issue 16 §5): both messengers' links (Bale first, a QR code for
each on the poster), the campaign's dates and who runs it; what is printed can be typed back without
guessing between I, l and 1 or O and 0."""
from __future__ import annotations

import datetime as dt
import io

import zxingcpp
from PIL import Image

from bot.campaign.services.ambassadors import (
    LOOKALIKES,
    PAYLOAD_RE,
    campaign_days,
    new_payload,
    reads_unambiguously,
)
from bot.outputs.persian_render import shape_rtl
from bot.outputs.poster import render_poster
from messages_fa import ambassadors as t
from messages_fa.texts import ORGANISER
from tests.test_ambassadors import AMB, approved_ambassador


def test_new_payloads_have_no_characters_that_read_alike():
    payloads = [new_payload() for _ in range(500)]
    assert all(PAYLOAD_RE.match(p) and reads_unambiguously(p) for p in payloads)
    assert not LOOKALIKES & set("".join(payloads)) and not set("".join(payloads)) & set("ilo01IO")
    assert len(set(payloads)) == 500 and len(payloads[0]) == 17
    # A link made before the new alphabet still attributes (PAYLOAD_RE), though it may not print well.
    legacy = "a" + "Il0O" * 8
    assert PAYLOAD_RE.match(legacy) and not reads_unambiguously(legacy)


def test_campaign_dates_from_the_calendar(config):
    days = campaign_days(config.calendar, config.timezone)
    # 1405/09/05 09:00 to 1405/09/26 00:00 (the 25th is the last day); 1405/10/10 09:00 to 1405/10/20 21:00.
    assert t.campaign_dates(*days) == "ثبت پیشنهاد: ۵ تا ۲۵ آذر ۱۴۰۵ — رأی‌گیری: ۱۰ تا ۲۰ دی ۱۴۰۵"
    autumn, winter = dt.date(2026, 12, 15), dt.date(2027, 1, 5)  # 24 آذر and 15 دی 1405
    assert t.campaign_dates((autumn, winter), (winter, winter)).startswith("ثبت پیشنهاد: ۲۴ آذر تا ۱۵ دی ۱۴۰۵")


async def test_the_card_carries_both_links_bale_first_the_dates_and_the_organiser(bot, config):
    _, payload = await approved_ambassador(bot)
    m = bot.telegram
    await m.press(AMB, t.INVITE_CARD)
    card = m.request.last(AMB)["text"]
    bale = f"https://ble.ir/{bot.bale.app.bot.username}?start={payload}"
    telegram = f"https://t.me/{m.app.bot.username}?start={payload}"
    assert f"بله: {bale}\nتلگرام: {telegram}" in card
    assert ORGANISER in card and t.campaign_dates(*campaign_days(config.calendar, config.timezone)) in card


async def test_the_poster_has_a_code_per_messenger_the_dates_and_the_organiser(bot, config):
    _, payload = await approved_ambassador(bot)
    m = bot.telegram
    await m.press(AMB, t.POSTER)
    [call] = m.request.calls_to("sendDocument")
    assert "بله و تلگرام" in call.params["caption"]
    image = Image.open(io.BytesIO(call.files["document"][1]))
    codes = sorted(zxingcpp.read_barcodes(image), key=lambda c: -c.position.top_left.x)
    assert [c.text for c in codes] == [f"https://ble.ir/{bot.bale.app.bot.username}?start={payload}",
                                       f"https://t.me/{m.app.bot.username}?start={payload}"]
    # The same poster, laid out again to see its lines.
    dates = t.campaign_date_lines(*campaign_days(config.calendar, config.timezone))
    codes = [("بله", "https://ble.ir/x_bot?start=" + payload, "ble.ir/x_bot?start=" + payload),
             ("تلگرام", "https://t.me/x_bot?start=" + payload, "t.me/x_bot?start=" + payload)]
    shown = render_poster(codes, "من شهردارم", "محلهٔ تجریش", t.poster_lines(dates), "", ORGANISER)
    assert [b.text for b in shown.blocks if b.kind == "organiser"] == [shape_rtl(ORGANISER)]
    lines = [b.text for b in shown.blocks if b.kind == "line"]
    assert lines[-2:] == [shape_rtl(dates[0]), shape_rtl(dates[1])]  # a line per phase, each whole
    links = [b for b in shown.blocks if b.kind == "link"]
    assert not LOOKALIKES & set(payload)
    assert "".join(b.text for b in links) == "ble.ir/x_bot?start=" + payload + "t.me/x_bot?start=" + payload
    (bale_box, telegram_box) = shown.qr_boxes
    assert bale_box[0] > telegram_box[2]  # Bale's code on the right, read first
    for block in links:  # each link under its own code, inside the page
        assert block.box[1] >= bale_box[3] and 0 <= block.box[0] and block.box[2] <= image.width


async def test_a_link_made_before_prints_the_bots_address_not_its_lookalike_payload(bot, monkeypatch):
    from bot.outputs import poster
    drawn = []
    real = poster.invite_poster
    monkeypatch.setattr(poster, "invite_poster", lambda codes, *args: drawn.append(codes) or real(codes, *args))
    ambassador, _ = await approved_ambassador(bot)
    legacy = "a" + "Il0O" * 8
    repo = bot.services.repos.ambassadors
    assert await repo.replace_link(ambassador.citizen_id, legacy, bot.clock.now())
    m = bot.telegram
    await m.press(AMB, t.POSTER)
    [call] = m.request.calls_to("sendDocument")
    image = Image.open(io.BytesIO(call.files["document"][1]))
    # The codes still carry the whole link (a phone reads them exactly).
    assert {c.text.rsplit("=", 1)[1] for c in zxingcpp.read_barcodes(image)} == {legacy}
    [codes] = drawn
    assert [printed for _, _, printed in codes] == [f"ble.ir/{bot.bale.app.bot.username}",
                                                    f"t.me/{m.app.bot.username}"]
    await m.press(AMB, t.NEW_LINK)  # a new link prints in full, and reads unambiguously
    await m.press(AMB, t.POSTER)
    payload = await bot.services.ambassadors.link(await bot.services.repos.ambassadors.get(ambassador.citizen_id))
    assert [printed for _, _, printed in drawn[-1]][0] == f"ble.ir/{bot.bale.app.bot.username}?start={payload}"
    assert reads_unambiguously(payload)
