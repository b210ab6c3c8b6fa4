"""End to end: a staff broadcast and a calendar announcement through the real Runtime (polling,
the worker's own loop and lease, its own HTTP connections) against the loopback Bot API server."""
from __future__ import annotations

import logging

import pytest

from messages_fa import broadcasts as t
from tests.support.e2e import Harness, containing, text_of
from tests.support.e2e_journeys import assert_clean_logs, choose_neighbourhood

# slow: starts the loopback Bot API server and the bot's real polling loop (`pytest -m "not slow"` skips it).
pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")]

NOTICE = "جلسهٔ هم‌اندیشی محله: پنجشنبه ساعت ۱۸ در سرای محله"


@pytest.fixture
async def e2e(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    async with Harness(tmp_path, latency=0.002, phase="before") as harness:
        await harness.start()
        yield harness


async def test_staff_broadcast_reaches_both_messengers_once_with_progress_and_report(e2e, caplog):
    people = [e2e.person("telegram", 5001), e2e.person("telegram", 5002), e2e.person("bale", 6001)]
    for person in people:
        await choose_neighbourhood(person, "تجریش")
    admin = e2e.staff("telegram")
    [ask] = await admin.send("/broadcast")
    assert "پیام همگانی" in text_of(ask)
    [menu] = await admin.send(NOTICE)
    everyone = t.with_count(t.AUDIENCE_EVERYONE, 3)
    assert everyone in [b["text"] for row in menu["reply_markup"]["inline_keyboard"] for b in row]
    await admin.press(everyone, until=containing("ارسال شود؟"))
    assert NOTICE in admin.texts()  # the preview
    await admin.press(t.SEND_NOW, until=containing("تمام شد"))
    for person in people:
        assert person.texts().count(NOTICE) == 1
    rows = await e2e.query("SELECT platform, status FROM deliveries ORDER BY id")
    assert sorted(rows) == [("bale", "sent"), ("telegram", "sent"), ("telegram", "sent")]
    assert_clean_logs(caplog)


async def test_registration_opening_is_announced_by_the_running_bot(e2e, caplog):
    early = e2e.person("telegram", 5001)
    await choose_neighbourhood(early, "دربند")
    await e2e.stop()
    e2e.at("proposals")  # an hour after 09:00: within the grace period
    await e2e.start()
    await e2e.until(lambda: any("ثبت پیشنهاد در طرح" in text for text in early.texts()), what="the announcement")
    await e2e.restart()
    await e2e.until(lambda: e2e.runtime.worker is not None and e2e.runtime.worker.holding, what="the lease")
    await e2e.stop()  # a graceful stop finishes the worker's pass: anything resent is in by now
    assert await e2e.query("SELECT announcement, total FROM broadcasts") == [("proposals_open", 1)]
    assert await e2e.query("SELECT status FROM deliveries") == [("sent",)]
    assert sum("ثبت پیشنهاد در طرح" in text for text in early.texts()) == 1
    assert_clean_logs(caplog)


async def test_admins_get_the_staff_commands_in_their_own_menu(e2e):
    from messages_fa.texts import COMMANDS, STAFF_ALWAYS, STAFF_COMMANDS
    from tests.conftest import TELEGRAM_ADMIN
    from tests.support.e2e import TOKENS
    staff = e2e.state.commands(TOKENS["telegram"], scope={"type": "chat", "chat_id": TELEGRAM_ADMIN})
    assert [c["command"] for c in staff] == [name for name, _ in (*COMMANDS, *STAFF_ALWAYS, *STAFF_COMMANDS)]
    everyone = e2e.state.commands(TOKENS["telegram"])
    assert "broadcast" not in [c["command"] for c in everyone]
