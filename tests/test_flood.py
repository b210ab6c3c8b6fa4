"""Floods and abuse: per-person flood control, the daily proposal limit, and input size limits.

The flood tests drive the real bot with the example config's allowances (20 at once, then 60 messages
and 120 button presses a minute, notice repeated after 60 quiet seconds) on the manual clock.
"""
from __future__ import annotations

import asyncio
import copy
import datetime as dt
import tomllib
from pathlib import Path

import jdatetime
import pytest

from bot.campaign.clock import ManualClock
from bot.campaign.config import ConfigError, Limits, load_config, parse_config
from bot.campaign.flood import Allowance, FloodControl, Kind, Verdict
from bot.campaign.money import parse_cost
from bot.campaign.phone import normalize_iranian_mobile
from bot.campaign.roles import Actor
from bot.campaign.services.proposals import MAX_REASON, Decision, Gate
from messages_fa import broadcasts as bt
from messages_fa import buttons as b
from messages_fa import staff as st
from messages_fa import texts
from tests.conftest import TELEGRAM_ADMIN, Bot, make_config
from tests.support.journeys import choose_tajrish, submit_proposal, write_to_preview
from tests.support.review import REVIEWER, approved, pending, staffed_config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"
FLOODER, OTHER = 3001, 3002
BURST = 20  # the example's flood_messages_burst and flood_buttons_burst


@pytest.fixture
def config(tmp_path):
    """This module's bot has a moderator and a reviewer too."""
    return staffed_config(tmp_path)


def tehran(jalali: str) -> dt.datetime:
    """"1405/09/06 23:40" in Tehran → aware UTC."""
    date, time = jalali.split()
    y, m, d = map(int, date.split("/"))
    hh, mm = map(int, time.split(":"))
    g = jdatetime.datetime(y, m, d, hh, mm).togregorian()
    local = dt.datetime(g.year, g.month, g.day, g.hour, g.minute, tzinfo=dt.timezone(dt.timedelta(hours=3, minutes=30)))
    return local.astimezone(dt.UTC)


def sent_to(messenger, chat_id: int) -> list[str]:
    return [c.params.get("text") for c in messenger.request.calls_to("sendMessage") if c.params["chat_id"] == chat_id]


def notices(messenger, chat_id: int) -> int:
    return sent_to(messenger, chat_id).count(texts.flood_notice())


async def dump(bot) -> list[str]:
    """Every row of the database as SQL. A table of processed update ids (deduplication, kept by
    another layer before flood control) is left out: it records updates, not their effects."""
    lines = await bot.services.repos.db.read(lambda conn: list(conn.iterdump()))
    return [line for line in lines if "update" not in line.split("(")[0].lower()]


# -- the example's allowances ----------------------------------------------------------------------

def test_example_config_allowances():
    limits = load_config(EXAMPLE).limits
    assert (limits.flood_messages_burst, limits.flood_messages_per_minute) == (BURST, 60)
    assert (limits.flood_buttons_burst, limits.flood_buttons_per_minute) == (BURST, 120)
    assert limits.flood_quiet_seconds == 60 and limits.proposals_per_day == 2


# -- messages ---------------------------------------------------------------------------------------

async def test_a_flooder_gets_one_notice_and_the_excess_is_not_processed(bot):
    tg = bot.telegram
    await tg.send(FLOODER, "/start")  # no neighbourhood yet: typed text is taken as a name
    for _ in range(BURST - 1):
        await tg.send(FLOODER, "ناکجاآباد")
    assert len(sent_to(tg, FLOODER)) == BURST  # all processed: a welcome and 19 "not found"
    before = await dump(bot)

    await tg.send(FLOODER, "تجریش")  # would choose the neighbourhood, were it processed
    for n in range(29):
        await tg.send(FLOODER, f"پیام {n}")
    replies = sent_to(tg, FLOODER)[BURST:]
    assert replies == [texts.flood_notice()]  # one notice for 30 updates, nothing else
    assert await dump(bot) == before  # and no trace of them in the database
    assert (await bot.services.repos.citizens.find("telegram", FLOODER)).neighbourhood_id is None

    bot.clock.advance(seconds=1)  # one message a second comes back
    await tg.send(FLOODER, "تجریش")
    assert (await bot.services.repos.citizens.find("telegram", FLOODER)).neighbourhood_id == "tajrish"
    for _ in range(10):  # still flooding, within the quiet period: no second notice
        await tg.send(FLOODER, "سلام")
    assert notices(tg, FLOODER) == 1

    bot.clock.advance(seconds=61)  # calmed down: the bucket is full again and the notice is owed anew
    for _ in range(BURST + 5):
        await tg.send(FLOODER, "سلام")
    assert notices(tg, FLOODER) == 2
    assert len(bot.services.flood) >= 1


async def test_everyone_else_in_the_same_burst_is_answered(bot):
    tg = bot.telegram
    await choose_tajrish(bot, OTHER)
    others_before = len(sent_to(tg, OTHER))
    for n in range(50):
        await tg.send(FLOODER, "سلام")
        if n % 5 == 0:
            await tg.send(OTHER, b.MY_PROPOSALS)
    assert len(sent_to(tg, OTHER)) - others_before == 10  # each of theirs answered
    assert notices(tg, OTHER) == 0 and notices(tg, FLOODER) == 1
    # The same user id on the other messenger is another person's bucket.
    await bot.bale.send(FLOODER, "/start")
    assert "من شهردارم" in bot.bale.last_text(FLOODER) and notices(bot.bale, FLOODER) == 0


async def test_the_bucket_refills_with_the_clock(bot):
    tg = bot.telegram
    await choose_tajrish(bot, FLOODER)  # 1 message, 1 press
    for _ in range(BURST + 10):
        await tg.send(FLOODER, "سلام")
    answered = len(sent_to(tg, FLOODER))
    bot.clock.advance(seconds=5)  # 60 a minute: five more
    for _ in range(10):
        await tg.send(FLOODER, "سلام")
    assert len(sent_to(tg, FLOODER)) - answered == 5
    assert notices(tg, FLOODER) == 1


async def test_staff_are_not_limited(bot):
    """A moderator working through the queue fast must not have presses dropped; staff are a few
    configured people. Their id on the other messenger is somebody else, and limited."""
    tg = bot.telegram
    for _ in range(BURST + 3):
        await tg.send(TELEGRAM_ADMIN, "/whoami")
    assert notices(tg, TELEGRAM_ADMIN) == 0
    assert sum("شناسهٔ کاربری" in (text or "") for text in sent_to(tg, TELEGRAM_ADMIN)) == BURST + 3
    bale = bot.bale
    for _ in range(BURST + 3):
        await bale.send(TELEGRAM_ADMIN, "/whoami")
    assert TELEGRAM_ADMIN not in bot.config.platforms["bale"].admins
    assert notices(bale, TELEGRAM_ADMIN) == 1


# -- buttons ----------------------------------------------------------------------------------------

async def test_presses_over_the_limit_are_answered_and_not_processed(bot):
    tg = bot.telegram
    await tg.send(FLOODER, "/start")
    welcome = tg.request.last(FLOODER)
    for _ in range(40):
        await tg.update(tg.updates.callback(FLOODER, welcome, "n:tajrish"))
    answers = tg.request.calls_to("answerCallbackQuery")
    assert len(answers) == 40  # every press answered: Bale keeps a spinner otherwise
    alerts = [c.params.get("text") for c in answers[BURST:]]
    assert alerts == [texts.flood_notice_buttons()] + [None] * 19  # one alert, then silent answers
    assert str(answers[BURST].params.get("show_alert")).lower() == "true"
    assert sum(1 for text in sent_to(tg, FLOODER) if text and text.startswith("محلهٔ شما")) == BURST
    assert len(texts.flood_notice_buttons()) <= 200  # Telegram's limit for an alert
    # Buttons have their own allowance: a message still goes through.
    await tg.send(FLOODER, b.MY_PROPOSALS)
    assert "هنوز پیشنهادی" in tg.last_text(FLOODER)



async def test_a_press_flood_is_decided_as_it_arrives_and_costs_nothing(bot):
    """Through the update processor, as polling feeds it: the flooder's first press is held (its
    turn has not ended) while 200 more arrive. The flood is decided as each press arrives, so his
    lane holds only what flood control let in; the dropped presses make no API call and are still
    marked handled, so a restart does not handle them after all; his own presses keep their order."""
    tg = bot.telegram
    app = tg.app
    start = tg.updates.text(FLOODER, "/start")
    # Through the processor too: the journal reads the newest marker once, at the first update.
    await app.update_processor.process_update(start, app.process_update(start))
    welcome = tg.request.last(FLOODER)
    presses = [tg.updates.callback(FLOODER, welcome, "n:tajrish") for _ in range(201)]
    tg.request.clear()
    release = asyncio.Event()

    async def held(update):
        await release.wait()
        await app.process_update(update)

    # As Application's update fetcher does it: one task per update, in arrival order.
    tasks = [asyncio.create_task(app.update_processor.process_update(presses[0], held(presses[0])))]
    tasks += [asyncio.create_task(app.update_processor.process_update(u, app.process_update(u))) for u in presses[1:]]
    for _ in range(20):
        await asyncio.sleep(0)
    assert sum(not task.done() for task in tasks) == BURST + 1  # the held one, 19 passed, the notice
    assert tg.request.calls == []  # dropping cost nothing

    release.set()
    await asyncio.gather(*tasks)
    answers = tg.request.calls_to("answerCallbackQuery")
    assert [c.params["callback_query_id"] for c in answers] == [u.callback_query.id for u in presses[:BURST + 1]]
    assert [c.params.get("text") for c in answers[BURST:]] == [texts.flood_notice_buttons()]
    journal = app.persistence.journal
    await journal.flush()
    ids = [u.update_id for u in presses]
    assert await bot.services.repos.processed_updates.among(journal.key, ids) == set(ids)
    assert not bot.errors


# -- the bucket itself --------------------------------------------------------------------------------

def _control(clock, quiet: float = 60) -> FloodControl:
    return FloodControl(clock, Allowance(20, 60), Allowance(20, 120), quiet)


def test_burst_then_rate_and_the_notice_once():
    clock = ManualClock(dt.datetime(2026, 11, 27, tzinfo=dt.UTC))
    flood = _control(clock)
    verdicts = [flood.check("telegram", 1, Kind.MESSAGE) for _ in range(25)]
    assert verdicts == [Verdict.PASS] * 20 + [Verdict.NOTICE] + [Verdict.DROP] * 4
    assert flood.check("telegram", 1, Kind.BUTTON) is Verdict.PASS  # its own bucket
    clock.advance(seconds=2.5)
    assert [flood.check("telegram", 1, Kind.MESSAGE) for _ in range(3)] == [Verdict.PASS] * 2 + [Verdict.DROP]
    clock.advance(seconds=-3600)  # the system clock stepped back: nobody is drained or refilled by it
    assert flood.check("telegram", 1, Kind.MESSAGE) is Verdict.DROP
    assert flood.check("telegram", 2, Kind.MESSAGE) is Verdict.PASS


def test_an_update_without_a_chat_keeps_the_notice_owed():
    clock = ManualClock(dt.datetime(2026, 11, 27, tzinfo=dt.UTC))
    flood = _control(clock)
    for _ in range(20):
        flood.check("bale", 7, Kind.MESSAGE)
    assert flood.check("bale", 7, Kind.MESSAGE, can_notify=False) is Verdict.DROP
    assert flood.check("bale", 7, Kind.MESSAGE) is Verdict.NOTICE


def test_memory_is_bounded_idle_people_leave_nothing_behind():
    clock = ManualClock(dt.datetime(2026, 11, 27, tzinfo=dt.UTC))
    flood = _control(clock)
    assert flood.horizon == 60  # max(20 s, 10 s to refill, 60 s quiet)
    most = 0
    for user in range(500_000):  # the district, a thousand new people a second
        if user % 1000 == 0:
            clock.advance(seconds=1)
            most = max(most, len(flood))
        flood.check("telegram", user, Kind.MESSAGE)
    assert most <= 61_000  # only the last minute's people are held
    # A flooder keeps their entry (and their "already told") while they go on.
    for _ in range(25):
        flood.check("telegram", -1, Kind.MESSAGE)
    clock.advance(seconds=59)
    assert flood.check("telegram", -1, Kind.MESSAGE) is Verdict.PASS  # refilled, still remembered
    clock.advance(seconds=flood.horizon)
    flood.check("bale", 1, Kind.BUTTON)
    assert len(flood) == 1


# -- config -----------------------------------------------------------------------------------------

@pytest.fixture
def root() -> dict:
    return copy.deepcopy(tomllib.loads(EXAMPLE.read_text(encoding="utf-8")))


@pytest.mark.parametrize("key, value, fault", [
    ("flood_messages_burst", 5, "limits.flood_messages_burst: must be at least 10 (or real people are slowed down), not 5"),
    ("flood_messages_per_minute", 0, "limits.flood_messages_per_minute: must be a positive whole number, not 0"),
    ("flood_buttons_burst", "20", 'limits.flood_buttons_burst: must be a whole number, not "20"'),
    ("flood_buttons_per_minute", 10, "limits.flood_buttons_per_minute: must be at least 30 (or real people are slowed down), not 10"),
    ("flood_quiet_seconds", 7200, "limits.flood_quiet_seconds: may be at most 3600 (an hour), not 7200"),
    ("flood_quiet_seconds", 1.5, "limits.flood_quiet_seconds: must be a whole number, not 1.5"),
    ("proposals_per_day", 0, "limits.proposals_per_day: must be a positive whole number, not 0"),
    ("proposals_per_day", True, "limits.proposals_per_day: must be a whole number, not True"),
    ("flood_message_burst", 20, "limits.flood_message_burst: is not a known setting (check the spelling)"),
])
def test_flood_and_daily_settings_are_checked(root, key, value, fault):
    root["limits"][key] = value
    with pytest.raises(ConfigError) as info:
        parse_config(root)
    assert str(info.value) == fault and info.value.key == f"limits.{key}"


def test_flood_settings_are_read(root):
    root["limits"].update(flood_messages_burst=30, flood_messages_per_minute=90, flood_buttons_burst=12,
                          flood_buttons_per_minute=40, flood_quiet_seconds=5, proposals_per_day=1)
    limits = parse_config(root).limits
    assert (limits.flood_messages_burst, limits.flood_messages_per_minute, limits.flood_buttons_burst,
            limits.flood_buttons_per_minute, limits.flood_quiet_seconds, limits.proposals_per_day) == (30, 90, 12, 40, 5, 1)


# -- proposals per day --------------------------------------------------------------------------------

async def test_the_daily_limit_follows_the_tehran_calendar_day(bot):
    tg = bot.telegram
    bot.clock.set(tehran("1405/09/06 23:30"))  # = 20:00 UTC: the UTC day would last until 03:30 Tehran
    await choose_tajrish(bot)
    await submit_proposal(bot, title="پیشنهاد نخست")
    await submit_proposal(bot, title="پیشنهاد دوم")
    await tg.send(1001, b.SEND_PROPOSAL)
    assert tg.last_text(1001) == texts.proposal_daily_limit(2, "شنبه ۷ آذر ۱۴۰۵", draft_kept=False)
    citizen = await bot.services.repos.citizens.find("telegram", 1001)
    assert await bot.services.proposals.draft(citizen) is None  # nothing was started

    bot.clock.set(tehran("1405/09/07 00:05"))  # a new Tehran day, still the same UTC day
    await submit_proposal(bot, title="پیشنهاد سوم")
    assert "کد پیگیری" in tg.last_text(1001)
    assert len(await bot.services.proposals.mine(citizen)) == 3


async def test_the_daily_limit_is_checked_again_at_submit_and_the_draft_is_kept(tmp_path):
    daily_one = make_config(tmp_path, proposals_per_day=1)
    bot = await Bot(daily_one, ManualClock(tehran("1405/09/10 12:00"))).start()
    try:
        tg, repos = bot.telegram, bot.services.repos
        await choose_tajrish(bot)
        await write_to_preview(tg, title="پیشنهاد من")  # the gate let them start: none today yet
        citizen = await repos.citizens.find("telegram", 1001)
        draft = await repos.drafts.get(citizen.id)
        # Meanwhile one of theirs is submitted (what the gate at start could not see), and the
        # draft on screen is still there.
        await repos.proposals.submit_draft(citizen.id, "tajrish", "telegram", lambda: "1234567", 3, bot.clock.now())
        await repos.drafts.update(citizen.id, bot.clock.now(), category_id=draft.category_id, title=draft.title,
                                  description=draft.description)
        await tg.press(1001, b.CONFIRM)
        assert texts.proposal_daily_limit(1, "چهارشنبه ۱۱ آذر ۱۴۰۵", draft_kept=True) in tg.request.texts(1001)
        assert (await repos.drafts.get(citizen.id)).title == "پیشنهاد من"  # nothing lost

        # Inside the transaction too: a gate passed a moment earlier does not let a second through.
        today = bot.services.proposals.today_starts()
        assert await repos.proposals.submit_draft(citizen.id, "tajrish", "telegram", lambda: "7654321", 3,
                                                  bot.clock.now(), per_day=(1, today)) is None
        assert await repos.drafts.get(citizen.id) is not None

        bot.clock.set(tehran("1405/09/11 08:00"))
        await tg.send(1001, b.SEND_PROPOSAL)  # the kept draft is resumed at its preview
        assert "پیش‌نمایش" in tg.last_text(1001)
        await tg.press(1001, b.CONFIRM)
        assert "کد پیگیری" in tg.last_text(1001)
        assert not bot.errors
    finally:
        await bot.stop()


async def test_no_tomorrow_when_registration_closes_first(bot):
    tg = bot.telegram
    bot.clock.set(tehran("1405/09/25 20:00"))  # registration closes at 1405/09/26 00:00
    await choose_tajrish(bot)
    await submit_proposal(bot, title="پیشنهاد نخست")
    await submit_proposal(bot, title="پیشنهاد دوم")
    await tg.send(1001, b.SEND_PROPOSAL)
    assert tg.last_text(1001) == texts.proposal_daily_limit(2, None, draft_kept=False)
    assert bot.services.proposals.open_on_next_day() is False
    citizen = await bot.services.repos.citizens.find("telegram", 1001)
    assert await bot.services.proposals.gate(citizen) is Gate.DAILY_LIMIT


# -- input size limits ------------------------------------------------------------------------------

def test_typed_amounts_times_phones_and_names_have_a_size():
    assert parse_cost("1" * 5000) is None  # int() of 5,000 digits raised ValueError before
    assert parse_cost(" ۱۲٬۵۰۰٬۰۰۰ ") == 12_500_000
    assert normalize_iranian_mobile("0912 345 6789" + " " * 5000) is None
    assert normalize_iranian_mobile("+98 912 345 6789") == "+989123456789"


async def test_a_paragraph_is_not_a_neighbourhood_name(bot):
    assert bot.services.citizens.match_neighbourhoods("تجریش " * 40) == []
    assert [n.id for n in bot.services.citizens.match_neighbourhoods("محلهٔ تجریش")] == ["tajrish"]
    tg = bot.telegram
    await tg.send(FLOODER, "/start")
    await tg.send(FLOODER, "تجریش " * 900)
    assert "پیدا نشد" in tg.last_text(FLOODER) and len(tg.last_text(FLOODER)) < 300


async def test_a_huge_start_payload_is_an_ordinary_start(bot):
    tg = bot.telegram
    await tg.send(FLOODER, "/start a" + "x" * 4000)
    assert "من شهردارم" in tg.last_text(FLOODER)


async def test_a_huge_contact_number_is_refused(bot):
    tg = bot.telegram
    await choose_tajrish(bot, FLOODER)
    await tg.update(tg.updates.contact(FLOODER, "0912 345 6789" + " " * 4000))  # a valid number, padded
    assert tg.last_text(FLOODER) == texts.phone_not_iranian()
    assert not (await bot.services.repos.citizens.find("telegram", FLOODER)).verified


async def test_reviewers_long_note_and_huge_cost_keep_the_question_open(bot):
    await approved(bot)
    m = bot.telegram
    await m.send(REVIEWER, "/feasibility")
    await m.press(REVIEWER, st.FEASIBLE)
    await m.send(REVIEWER, "ش" * (MAX_REASON + 1))
    assert m.last_text(REVIEWER) == st.note_too_long(MAX_REASON)
    proposal = (await bot.services.repos.proposals.by_citizen(
        (await bot.services.repos.citizens.find("telegram", 1601)).id))[0]
    assert proposal.feasibility is None  # nothing was cut and stored
    await m.send(REVIEWER, "شدنی است.")  # the question was still open
    assert "هزینهٔ برآوردی" in m.last_text(REVIEWER)
    await m.send(REVIEWER, "9" * 5000)
    assert m.last_text(REVIEWER) == st.cost_invalid(bot.config.money_unit)
    await m.send(REVIEWER, "5000000")
    proposal = await bot.services.repos.proposals.get(proposal.id)
    assert proposal.feasibility == "feasible" and proposal.cost == 5_000_000


async def test_a_long_typed_reason_rejects_nothing(bot):
    await pending(bot, 1)
    m = bot.telegram
    await m.send(TELEGRAM_ADMIN, "/review")
    await m.press(TELEGRAM_ADMIN, st.REJECT)
    await m.press(TELEGRAM_ADMIN, st.OTHER_REASON)
    question = m.request.last(TELEGRAM_ADMIN)
    await m.send(TELEGRAM_ADMIN, "د" * (MAX_REASON + 1), reply_to=question)
    assert m.last_text(TELEGRAM_ADMIN) == texts.reason_too_long(MAX_REASON)
    proposal = (await bot.services.repos.proposals.by_citizen(
        (await bot.services.repos.citizens.find("telegram", 1601)).id))[0]
    assert proposal.status == "pending"
    result = await bot.services.proposals.decide(Actor.person("telegram", 900), proposal.id, False, "د" * 600)
    assert result.decision is Decision.TOO_LONG
    await m.send(TELEGRAM_ADMIN, "نشانی ندارد.", reply_to=question)  # the same question, answered shorter
    assert (await bot.services.repos.proposals.get(proposal.id)).status == "rejected"


async def test_a_huge_duplicate_code_is_unknown(bot):
    await pending(bot, 1)
    m = bot.telegram
    await m.send(TELEGRAM_ADMIN, "/review")
    await m.press(TELEGRAM_ADMIN, st.DUPLICATE)
    await m.send(TELEGRAM_ADMIN, "1" * 5000)
    assert m.last_text(TELEGRAM_ADMIN) == st.duplicate_code_unknown()


async def test_broadcast_text_and_caption_over_one_message_keep_the_question_open(bot):
    m = bot.telegram
    await m.send(TELEGRAM_ADMIN, "/broadcast")
    await m.send(TELEGRAM_ADMIN, "ا" * 4097)
    assert m.last_text(TELEGRAM_ADMIN) == bt.content_too_long(True, 4096, 4097)
    await m.update(m.updates.photo(TELEGRAM_ADMIN, caption="🌳" * 513))  # 1,026 UTF-16 units
    assert m.last_text(TELEGRAM_ADMIN) == bt.content_too_long(False, 1024, 1026)
    assert await bot.services.repos.broadcasts.recent(5) == []  # no draft was made
    await m.send(TELEGRAM_ADMIN, "ا" * 4096)  # the question was still open
    assert "برای چه کسانی" in m.last_text(TELEGRAM_ADMIN)


async def test_a_huge_typed_time_is_not_a_time(bot):
    assert bot.services.calendar.parse_time("1405/09/20 10:00" + " " * 100) is None  # valid, padded
    assert bot.services.calendar.parse_time("۱۴۰۵/۰۹/۲۰ ۱۰:۰۰") is not None
    m = bot.telegram
    await m.send(TELEGRAM_ADMIN, "/schedule")
    await m.press(TELEGRAM_ADMIN, bt.move_button("proposals_closes"))
    await m.send(TELEGRAM_ADMIN, "۱" * 5000)
    assert m.last_text(TELEGRAM_ADMIN).startswith(bt.send_time_invalid("")[:20])
    assert bot.services.calendar.current == bot.config.calendar


def test_limits_defaults_are_the_examples():
    assert Limits() == load_config(EXAMPLE).limits
