"""Issue 16, part 3 — similar proposals, end to end through the loopback Bot API: the real polling
loop, transport and persistence (tests/support/e2e.py), on Telegram and on Bale (plain text)."""
from __future__ import annotations

import pytest

from messages_fa import buttons as b
from messages_fa import texts
from tests.support.e2e import containing, inline_data, inline_labels, text_of
from tests.support.e2e_journeys import GREEN, assert_clean_logs, choose_neighbourhood, running, write_proposal

pytestmark = pytest.mark.slow

TG, BALE = "telegram", "bale"
BINS = "سطل زباله برای پارک تجریش"


@pytest.fixture
async def e2e(tmp_path, caplog):
    async with running(tmp_path, caplog) as harness:
        yield harness


async def _approved(e2e, title: str) -> int:
    author = e2e.person(TG, 1601)
    await choose_neighbourhood(author, "تجریش")
    await write_proposal(author, title, "کنار ورودی پارک چند سطل زباله گذاشته شود.")
    [(proposal_id,)] = await e2e.query("SELECT id FROM proposals WHERE title = ?", title)
    services = e2e.runtime.services
    assert await services.repos.proposals.decide(proposal_id, "approved", "telegram:900", services.clock.now())
    return proposal_id


@pytest.mark.parametrize("platform", [TG, BALE])
async def test_a_similar_title_offers_me_too_and_staff_see_it_on_review(e2e, caplog, platform):
    bins = await _approved(e2e, BINS)
    citizen = e2e.person(platform, 3201)
    await choose_neighbourhood(citizen, "تجریش")
    await citizen.tap(b.SEND_PROPOSAL)
    await citizen.press(GREEN, until=containing("گام ۲ از ۴"))
    [shown, ask] = await citizen.send("سطل‌های آشغال بیشتر در بوستان تجریش", count=2)  # the list, the question
    assert BINS in text_of(shown) and "گام ۳ از ۴" in text_of(ask)
    assert b.STAFF_WRITES_TITLE not in str(citizen.reply_keyboard())  # the title step's keyboard went
    assert inline_data(shown) == [f"sm:s:{bins}", "sm:c"]
    await citizen.press(inline_labels(shown)[0], until=containing("❤"))
    assert await e2e.query("SELECT count(*) FROM proposal_supports WHERE proposal_id = ?", bins) == [(1,)]
    assert await e2e.query("SELECT count(*) FROM drafts d JOIN citizens c ON c.id = d.citizen_id "
                           "WHERE c.user_id = ? AND d.title IS NOT NULL", citizen.id) == [(0,)]
    assert inline_labels(citizen.message(shown["message_id"])) == []  # the buttons went, in place

    staff = e2e.staff(TG)
    newcomer = e2e.person(TG, 3202)
    await choose_neighbourhood(newcomer, "تجریش")
    await newcomer.tap(b.SEND_PROPOSAL)
    await newcomer.press(GREEN, until=containing("گام ۲ از ۴"))
    [shown, _] = await newcomer.send("سطل آشغال در پارک تجریش", count=2)
    await newcomer.press(b.SIMILAR_DIFFERENT, until=lambda msgs: texts.similar_different() in text_of(
        next((m for m in msgs if m["message_id"] == shown["message_id"]), None)))
    [ask] = await newcomer.send("سطل‌های بزرگ کنار زمین بازی پارک گذاشته شود.")
    assert "گام ۴ از ۴" in text_of(ask)
    [preview] = await newcomer.tap(b.CONTINUE)
    await newcomer.press(b.CONFIRM, until=containing("کد پیگیری"))
    [card] = await staff.send("/review")
    assert "شاید تکراری" in text_of(card) and BINS in text_of(card) and "❤ ۱" in text_of(card)
    assert_clean_logs(caplog)


async def test_nothing_similar_sends_nothing_more(e2e, caplog):
    await _approved(e2e, BINS)
    citizen = e2e.person(TG, 3203)
    await choose_neighbourhood(citizen, "تجریش")
    await citizen.tap(b.SEND_PROPOSAL)
    await citizen.press(GREEN, until=containing("گام ۲ از ۴"))
    [ask] = await citizen.send("کلاس آموزش کامپیوتر برای سالمندان")
    assert "مشابه" not in text_of(ask) and inline_labels(ask) == []
    assert_clean_logs(caplog)
