"""The campaign calendar: announcements on time, exactly once, whatever happens to the process."""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest

from bot.campaign.calendar import Fired
from bot.campaign.clock import ManualClock
from bot.campaign.roles import Actor
from bot.messenger.broadcast.worker import BroadcastWorker
from domain import Phase
from messages_fa import broadcasts as t
from tests.conftest import BALE_ADMIN, STAFF_CHAT, TELEGRAM_ADMIN, Bot, phase_moments
from tests.support.journeys import citizens

UTC = dt.timezone.utc
OPENS = dt.datetime(2026, 11, 26, 5, 30, tzinfo=UTC)  # 1405/09/05 09:00 in Tehran


def announcements_to(messenger, chat_id: int, key: str) -> int:
    """How many times this chat got the announcement (its first line is enough to tell)."""
    needle = {"proposals_open": "ثبت پیشنهاد در طرح", "voting_open": "رأی‌گیری طرح",
              "voting_reminder": "یادآوری", "voting_close": "به پایان رسید"}[key]
    return sum(1 for c in messenger.request.calls_to("sendMessage")
               if c.params["chat_id"] == chat_id and needle in c.params.get("text", "") and c.ok)


async def started(config, moment: dt.datetime) -> Bot:
    bot = await Bot(config, ManualClock(moment)).start()
    _started.append(bot)
    return bot


_started: list[Bot] = []


@pytest.fixture(autouse=True)
def no_handler_errors():
    """Bots started by hand here (not the bot fixture) must end without handler errors too."""
    _started.clear()
    yield
    assert not [e for bot in _started for e in bot.errors]


async def test_the_5_azar_job_is_at_0900_tehran_and_reaches_everyone_subscribers_first(config):
    assert config.calendar.proposals_opens == OPENS
    bot = await started(config, OPENS - dt.timedelta(days=2))
    try:
        await citizens(bot, "telegram", [11, 12])
        await citizens(bot, "telegram", [13], remind=True)
        await citizens(bot, "bale", [21], remind=True)
        await bot.announcer.start()
        [job] = bot.telegram.app.job_queue.jobs("announce:proposals_open")
        assert job.next_t == OPENS
        local = job.next_t.astimezone(config.timezone)
        assert (local.hour, local.minute, local.utcoffset()) == (9, 0, dt.timedelta(hours=3, minutes=30))

        bot.clock.set(OPENS)
        await job.run(bot.telegram.app)  # what APScheduler does at 05:30 UTC
        await bot.broadcast()
        sends = [c.params["chat_id"] for c in bot.telegram.request.calls_to("sendMessage")
                 if "ثبت پیشنهاد در طرح" in c.params.get("text", "")]
        assert sends == [13, 11, 12]  # the «به من خبر بده» subscriber first
        assert announcements_to(bot.bale, 21, "proposals_open") == 1
        # A second firing (a duplicate job, another process) changes nothing.
        assert await bot.announcer.fire("proposals_open") is Fired.ALREADY
        await bot.broadcast()
        assert announcements_to(bot.telegram, 11, "proposals_open") == 1
    finally:
        await bot.stop()


async def test_a_job_that_fires_before_its_moment_does_nothing(config):
    bot = await started(config, OPENS - dt.timedelta(minutes=1))
    try:
        assert await bot.announcer.fire("proposals_open") is Fired.NOT_DUE
        assert await bot.services.repos.calendar.announcements() == {}
    finally:
        await bot.stop()


async def test_restart_before_and_after_the_moment_sends_once(config):
    first = await started(config, OPENS - dt.timedelta(hours=1))
    await citizens(first, "telegram", [11, 12])
    await first.announcer.start()
    assert await first.services.repos.calendar.announcements() == {}
    await first.stop()

    second = await started(config, OPENS - dt.timedelta(minutes=5))  # restarted before 09:00
    await second.announcer.start()
    second.clock.set(OPENS)
    [job] = second.telegram.app.job_queue.jobs("announce:proposals_open")
    await job.run(second.telegram.app)
    await second.broadcast()
    assert announcements_to(second.telegram, 11, "proposals_open") == 1
    await second.stop()

    third = await started(config, OPENS + dt.timedelta(minutes=10))  # restarted after 09:00
    await third.announcer.start()
    await third.broadcast()
    assert announcements_to(third.telegram, 11, "proposals_open") == 0
    assert len(await third.services.repos.broadcasts.recent(10)) == 1
    await third.stop()


async def test_down_at_the_moment_but_back_within_the_grace_period_sends_at_start(config):
    bot = await started(config, OPENS - dt.timedelta(days=1))
    await citizens(bot, "telegram", [11])
    await bot.stop()
    back = await started(config, OPENS + dt.timedelta(minutes=40))  # grace is 60 minutes
    try:
        await back.announcer.start()
        await back.broadcast()
        assert announcements_to(back.telegram, 11, "proposals_open") == 1
        assert not back.telegram.app.job_queue.jobs("announce:proposals_open")
        assert back.telegram.app.job_queue.jobs("announce:proposals_close")
    finally:
        await back.stop()


async def test_down_past_the_grace_period_is_reported_to_staff_not_sent(config):
    bot = await started(config, OPENS - dt.timedelta(days=1))
    await citizens(bot, "telegram", [11])
    await bot.stop()
    late = await started(config, OPENS + dt.timedelta(hours=3))
    try:
        await late.announcer.start()
        await late.broadcast()
        assert announcements_to(late.telegram, 11, "proposals_open") == 0
        report = late.telegram.last_text(STAFF_CHAT)
        assert "آغاز ثبت پیشنهاد" in report and "فرستاده نشد" in report
        assert "آغاز ثبت پیشنهاد" in late.bale.last_text(BALE_ADMIN)
        record = (await late.services.repos.calendar.announcements())["proposals_open"]
        assert record.outcome == "missed" and record.broadcast_id is None
    finally:
        await late.stop()
    again = await started(config, OPENS + dt.timedelta(hours=4))
    try:
        await again.announcer.start()
        assert not [c for c in again.telegram.request.calls_to("sendMessage") if c.params["chat_id"] == STAFF_CHAT]
    finally:
        await again.stop()


async def test_two_processes_on_one_database_announce_and_send_once(config):
    clock = ManualClock(OPENS - dt.timedelta(hours=1))
    a = await Bot(config, clock).start()
    b = await Bot(config, clock).start()
    try:
        await citizens(a, "telegram", range(100, 130))
        clock.set(OPENS + dt.timedelta(minutes=1))
        outcomes = await asyncio.gather(a.announcer.fire("proposals_open"), b.announcer.fire("proposals_open"))
        assert sorted(o.value for o in outcomes) == ["already", "sent"]
        assert await a.worker.hold_lease()
        assert not await b.worker.hold_lease()
        await asyncio.gather(a.worker.pass_once(), b.worker.pass_once())
        await a.settle()
        total = sum(announcements_to(m, chat, "proposals_open") for m in (a.telegram, b.telegram)
                    for chat in range(100, 130))
        assert total == 30
        assert all(announcements_to(b.telegram, chat, "proposals_open") == 0 for chat in range(100, 130))
    finally:
        await a.stop()
        await b.stop()


async def test_voting_reminder_goes_to_non_voters_only(bot, config):
    from messages_fa import buttons as b
    from messages_fa.numbers import fa_digits
    from tests.support.journeys import VOTER, choose_tajrish, seed_approved, verify
    await seed_approved(bot, count=1)  # authors 1500 (citizens, no vote) and the admin
    await choose_tajrish(bot, VOTER)
    await bot.telegram.send(VOTER, b.VOTE)
    await verify(bot)
    await bot.telegram.press(VOTER, b.vote_button(fa_digits(1), False))
    await citizens(bot, "bale", [21])
    await bot.announcer.catch_up()  # voting opened an hour ago: that one goes out now
    await bot.broadcast()
    bot.clock.set(config.calendar.voting_closes - config.announcements.voting_reminder)
    assert await bot.announcer.fire("voting_reminder") is Fired.SENT
    await bot.broadcast()
    assert announcements_to(bot.telegram, VOTER, "voting_open") == 1
    assert announcements_to(bot.telegram, VOTER, "voting_reminder") == 0
    assert announcements_to(bot.telegram, 1500, "voting_reminder") == 1
    assert announcements_to(bot.bale, 21, "voting_reminder") == 1


async def test_schedule_shows_the_calendar_and_what_was_announced(bot):
    m = bot.telegram
    await m.send(TELEGRAM_ADMIN, "/schedule")
    text = m.last_text(TELEGRAM_ADMIN)
    assert "آغاز ثبت پیشنهاد" in text and "پایان رأی‌گیری" in text and "۱۴۰۵" in text
    assert t.OUTCOME_NAMES["pending"] in text
    labels = [label for label, _ in m.buttons(TELEGRAM_ADMIN)]
    assert t.move_button("proposals_opens") not in labels  # it has passed
    assert t.move_button("proposals_closes") in labels


async def test_admin_extends_proposals_by_a_week_without_restart(bot, config):
    m = bot.telegram
    await bot.announcer.start()
    old_close = config.calendar.proposals_closes
    new_close = old_close + dt.timedelta(days=7)
    await m.send(TELEGRAM_ADMIN, "/schedule")
    await m.press(TELEGRAM_ADMIN, t.move_button("proposals_closes"))
    assert "زمان تازه" in m.last_text(TELEGRAM_ADMIN)
    local = new_close.astimezone(config.timezone)
    import jdatetime
    j = jdatetime.datetime.fromgregorian(datetime=local)
    await m.send(TELEGRAM_ADMIN, f"{j.year}/{j.month}/{j.day} {j.hour}:{j.minute:02d}".translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")))
    assert "منتقل شد" in m.last_text(TELEGRAM_ADMIN)
    # The jobs follow …
    [job] = m.app.job_queue.jobs("announce:proposals_close")
    assert job.next_t == new_close
    # … and so does the phase: a day after the old close, registration is still open.
    bot.clock.set(old_close + dt.timedelta(days=1))
    assert bot.services.phase().phase is Phase.PROPOSALS
    # The move survives a restart.
    again = await Bot(config, ManualClock(old_close + dt.timedelta(days=1))).start()
    try:
        assert again.services.calendar.current.proposals_closes == new_close
        assert again.services.phase().phase is Phase.PROPOSALS
    finally:
        await again.stop()


async def test_moves_that_would_break_the_calendar_are_refused(bot, config):
    m = bot.telegram
    await m.send(TELEGRAM_ADMIN, "/schedule")
    await m.press(TELEGRAM_ADMIN, t.move_button("proposals_closes"))
    await m.send(TELEGRAM_ADMIN, "1405/12/01 09:00")  # after voting opens
    assert m.last_text(TELEGRAM_ADMIN) == t.move_refused("order")
    await m.press_data(TELEGRAM_ADMIN, "cal:mv:0")  # proposals_opens has passed
    assert m.alerts()[-1] == t.move_refused("passed")
    assert bot.services.calendar.current == config.calendar


async def test_strangers_cannot_see_or_move_the_calendar(bot, config):
    m = bot.telegram
    await m.send(11, "/start")
    await m.send(11, "/schedule")
    assert m.last_text(11) == t.staff_command_only()
    await m.send(TELEGRAM_ADMIN, "/schedule")
    await m.press_data(11, "cal:mv:1")  # forged in their own chat (another's is refused earlier)
    assert m.alerts()[-1] == "این دکمه فقط برای مدیران طرح است."
    assert await bot.services.repos.staff_inputs.expected("telegram", 11, bot.clock.now() - dt.timedelta(days=1)) is None
    assert bot.services.calendar.current == config.calendar


async def test_worker_waits_for_a_broadcast_made_by_another_process(config):
    """A second process may record an announcement; the lease holder sends it on its next pass."""
    clock = ManualClock(OPENS + dt.timedelta(minutes=1))
    a = await Bot(config, clock).start()
    b = await Bot(config, clock).start()
    try:
        await citizens(a, "telegram", [11])
        assert await a.worker.hold_lease()
        assert await b.announcer.fire("proposals_open") is Fired.SENT
        await a.broadcast()
        assert announcements_to(a.telegram, 11, "proposals_open") == 1
        assert isinstance(b.worker, BroadcastWorker) and not await b.worker.hold_lease()
    finally:
        await a.stop()
        await b.stop()


def test_calendar_config_keys():
    import tomllib

    import pytest

    from bot.campaign.config import ConfigError, parse_config
    from tests.conftest import ROOT
    root = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    root["campaign"]["results_announced"] = "1405/10/19 12:00"
    with pytest.raises(ConfigError, match="campaign.results_announced"):
        parse_config(root)
    root["campaign"]["results_announced"] = "1405/10/25 12:00"
    root["campaign"]["voting_reminder_hours"] = -1
    with pytest.raises(ConfigError, match="campaign.voting_reminder_hours"):
        parse_config(root)
    root["campaign"]["voting_reminder_hours"] = 0
    config = parse_config(root)
    assert config.announcements.voting_reminder == dt.timedelta(0)
    assert dataclasses.replace(config).calendar.results_announced is not None


async def test_a_move_in_another_process_is_followed(config):
    clock = ManualClock(OPENS - dt.timedelta(days=1))
    a = await Bot(config, clock).start()
    b = await Bot(config, clock).start()
    try:
        await citizens(a, "telegram", [11])
        later = OPENS + dt.timedelta(days=1)
        assert await a.services.calendar.move("proposals_opens", later, Actor.person("telegram", TELEGRAM_ADMIN)) is None
        clock.set(OPENS + dt.timedelta(minutes=1))
        # b still has the old calendar in memory, but looks before announcing.
        assert await b.announcer.fire("proposals_open") is Fired.NOT_DUE
        assert b.services.phase().phase is Phase.BEFORE
        assert await b.services.repos.calendar.announcements() == {}
    finally:
        await a.stop()
        await b.stop()
    assert not a.errors and not b.errors


async def test_a_reminder_that_a_move_puts_in_the_past_goes_out_now(bot, config):
    moments = phase_moments(config)
    bot.clock.set(moments["voting"] + dt.timedelta(days=2))
    await citizens(bot, "telegram", [11])
    await bot.announcer.start()
    await bot.broadcast()  # voting_open, within grace? no: two days late, reported instead
    soon = bot.clock.now() + dt.timedelta(hours=12)  # close brought forward: the 24 h reminder is past
    assert await bot.services.calendar.move("voting_closes", soon, Actor.person("telegram", TELEGRAM_ADMIN)) is None
    for _ in range(50):
        if await bot.services.repos.calendar.announcements() and "voting_reminder" in await bot.services.repos.calendar.announcements():
            break
        await asyncio.sleep(0.02)  # the JobQueue runs the catch-up at once
    assert (await bot.services.repos.calendar.announcements())["voting_reminder"].outcome == "sent"
    await bot.broadcast()
    assert announcements_to(bot.telegram, 11, "voting_reminder") == 1
