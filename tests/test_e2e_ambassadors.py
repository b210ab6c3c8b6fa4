"""End to end: an ambassador applies, is approved, forwards the invitation card into a group, and
a neighbour who opens it through that copy is counted — through the running bot and the loopback
Bot API server."""
from __future__ import annotations

import pytest

from messages_fa import ambassadors as t
from messages_fa import buttons as b
from tests.conftest import STAFF_CHAT
from tests.support.e2e import TOKENS, containing, text_of
from tests.support.e2e_journeys import assert_clean_logs, running

# slow: starts the loopback Bot API server and the bot's real polling loop (`pytest -m "not slow"` skips it).
pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")]
GROUP = -5005


@pytest.fixture
async def e2e(tmp_path, caplog):
    async with running(tmp_path, caplog) as harness:
        yield harness


async def test_card_forwarded_into_a_group_keeps_its_button_and_brings_people_in(e2e, caplog):
    token = TOKENS["telegram"]
    amb = e2e.person("telegram", 3001, first_name="Maryam")
    await amb.send("/start")
    await amb.press("دربند", until=containing("محلهٔ شما"))
    await amb.tap(b.AMBASSADOR)
    await amb.send("مریم احمدی")
    await amb.press("دربند", until=containing("گام ۳ از ۴"))
    await amb.send("گروه همسایگان دربند")
    e2e.state.send_contact(token, 3001, phone_number="+989121110000")
    await amb.wait_text("درخواست سفیری شما ثبت شد")

    staff = e2e.staff("telegram")
    await e2e.until(lambda: any("درخواست سفیری" in text_of(m) for m in staff.messages(STAFF_CHAT)),
                    what="the application card")
    await staff.press(t.APPROVE, until=lambda msgs: any("پذیرفته شد" in text_of(m) for m in msgs), chat_id=STAFF_CHAT)
    await amb.wait_text("درخواست شما پذیرفته شد")

    await amb.press(t.INVITE_CARD, until=containing("همسایه‌های دربند"))
    card = containing("همسایه‌های دربند")(amb.messages())[-1]
    e2e.state.add_group(GROUP, title="گروه همسایگان دربند")
    copy = e2e.state.forward_message(token, 3001, card["message_id"], GROUP)
    [[button]] = copy["reply_markup"]["inline_keyboard"]
    assert button["text"] == t.OPEN_BOT and "callback_data" not in button
    link = button["url"]
    assert link.startswith("https://t.me/manshahrdaram_bot?start=") and link in copy["text"]
    assert copy["forward_origin"]["type"] == "user"

    # A neighbour taps the button in the group: the messenger opens the bot with /start <payload>.
    neighbour = e2e.person("telegram", 5001)
    payload = link.split("start=", 1)[1]
    [welcome] = await neighbour.send(f"/start {payload}")
    assert "از لینک دعوت" in text_of(welcome)
    assert text_of(welcome).count("دربند") == 1, "the neighbourhood is announced once, not by the welcome and the link"
    rows = await e2e.query("SELECT COUNT(*) FROM citizens WHERE referred_by = "
                           "(SELECT id FROM citizens WHERE user_id = 3001 AND platform = 'telegram')")
    assert rows == [(1,)]
    assert_clean_logs(caplog)


async def test_a_keyboard_with_callback_buttons_does_not_survive_forwarding(e2e):
    """What the server models (Bot API 4.3): only url/login_url keyboards are forwarded."""
    token = TOKENS["telegram"]
    person = e2e.person("telegram", 5002)
    [welcome] = await person.send("/start")  # carries the neighbourhood (callback) buttons
    e2e.state.add_group(GROUP, title="گروه")
    copy = e2e.state.forward_message(token, 5002, welcome["message_id"], GROUP)
    assert "reply_markup" not in copy and copy["text"] == welcome["text"]
