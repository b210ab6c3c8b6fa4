"""A voice note as the description, end to end through the loopback Bot API (issue 16, §4): the
citizen's voice on Telegram, heard by Telegram's staff group by its file id and by Bale's admin as
a copy downloaded from Telegram and uploaded to Bale once."""
from __future__ import annotations

import pytest

from messages_fa import buttons as b
from messages_fa import texts
from messages_fa.numbers import fa_digits
from tests.conftest import STAFF_CHAT
from tests.support.e2e import containing, text_of
from tests.support.e2e_journeys import GREEN, TG, assert_clean_logs, choose_neighbourhood, running

pytestmark = pytest.mark.slow


@pytest.fixture
async def e2e(tmp_path, caplog):
    async with running(tmp_path, caplog) as harness:
        yield harness


async def test_a_voice_description_reaches_staff_on_both_messengers(e2e, caplog):
    author = e2e.person(TG, 1001, first_name="Sara")
    await choose_neighbourhood(author, "تجریش")
    await author.tap(b.SEND_PROPOSAL)
    await author.press(GREEN, until=containing("گام ۲ از ۴"))
    [left, ask] = await author.tap(b.STAFF_WRITES_TITLE, count=2)
    assert text_of(left) == texts.title_left_to_staff() and "پیام صوتی" in text_of(ask)
    e2e.state.send_voice(author.token, author.id, duration=95)
    [saved, media] = await author.new_messages(2)
    assert text_of(saved) == texts.voice_saved(95) and "گام ۴ از ۴" in text_of(media)
    [preview] = await author.tap(b.CONTINUE)
    assert texts.voice_description(95) in text_of(preview)
    await author.press(b.CONFIRM, until=containing("کد پیگیری"))
    [(code, voice_id, platform, seconds)] = await e2e.query(
        "SELECT code, voice_file_id, voice_platform, voice_duration FROM proposals")
    assert (platform, seconds) == ("telegram", 95)

    caption = f"🎤 پیام صوتی پیشنهاد {fa_digits(code)}"
    staff = e2e.staff(TG)
    voices = await staff.wait(lambda msgs: [m for m in msgs if m.get("voice")], chat_id=STAFF_CHAT)
    [voice] = [m for m in voices if m.get("voice")]
    assert voice["voice"]["file_id"] == voice_id and text_of(voice).startswith(caption)
    assert f"/title {code}" in text_of(voice)
    bale_staff = e2e.staff("bale")
    [copy] = [m for m in await bale_staff.wait(lambda msgs: [m for m in msgs if m.get("voice")]) if m.get("voice")]
    assert copy["voice"]["file_id"] != voice_id and text_of(copy).startswith(caption)
    assert await e2e.query("SELECT platform, file_id FROM voice_copies") == [("bale", copy["voice"]["file_id"])]
    # The card follows the voice on both.
    await bale_staff.wait_text("پیشنهاد تازه برای بررسی")
    assert_clean_logs(caplog)
