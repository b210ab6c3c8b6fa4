"""Broadcasts: the staff flow, durable delivery, unreachable people, cancel, crash and lease."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bot.campaign.roles import Actor
from bot.messenger.broadcast.worker import LEASE_TTL, BroadcastWorker
from domain import SENDING, Audience
from messages_fa import broadcasts as t
from messages_fa import texts
from messages_fa.numbers import fa_number
from tests.conftest import BALE_ADMIN, TELEGRAM_ADMIN, Bot, phase_moments
from tests.support.journeys import citizens, sent_now
from tests.support.recording_request import _ApiError

NOTICE = "آب منطقه فردا از ساعت ۸ تا ۱۲ قطع است."


def received(messenger, chat_id: int, text: str = NOTICE) -> int:
    return sum(1 for c in messenger.request.calls_to("sendMessage") if c.params["chat_id"] == chat_id
               and c.params.get("text") == text and c.ok)


def refuse_chats(messenger, chats: set[int], status: int = 403, description: str = "Forbidden: bot was blocked by the user",
                 times: int | None = None, retry_after: int | None = None):
    """sendMessage to these chats answers an error (``times`` times each, None: always);
    everyone else is served as usual."""
    request = messenger.request
    left = {chat: times for chat in chats}

    def respond(params):
        chat = params["chat_id"]
        if chat in left and (left[chat] is None or left[chat] > 0):
            if left[chat] is not None:
                left[chat] -= 1
            raise _ApiError(status, description, retry_after)
        return request._answer("sendMessage", params, {})
    request.respond("sendMessage", respond)


async def compose(bot, text: str = NOTICE, admin: int = TELEGRAM_ADMIN, messenger=None):
    m = messenger or bot.telegram
    await m.send(admin, "/broadcast")
    assert "پیام همگانی" in m.last_text(admin)
    await m.send(admin, text)
    return m


async def test_admin_sends_to_everyone_on_both_messengers(bot):
    await citizens(bot, "telegram", [11, 12, 13])
    await citizens(bot, "bale", [21, 22])
    m = await compose(bot)
    labels = [label for label, _ in m.buttons(TELEGRAM_ADMIN)]
    assert t.with_count(t.AUDIENCE_EVERYONE, 5) in labels  # the admin is not a citizen yet
    await m.press(TELEGRAM_ADMIN, t.with_count(t.AUDIENCE_EVERYONE, 5))
    texts = m.request.texts(TELEGRAM_ADMIN)
    assert t.preview_intro() in texts and NOTICE in texts  # the preview is the message itself
    assert f"{fa_number(5)} نفر" in m.last_text(TELEGRAM_ADMIN)
    assert not any(received(m, chat) for chat in (11, 12, 13))  # nothing before confirming

    await m.press(TELEGRAM_ADMIN, t.SEND_NOW)
    await bot.broadcast()
    for chat in (11, 12, 13):
        assert received(m, chat) == 1
    for chat in (21, 22):
        assert received(bot.bale, chat) == 1
    [broadcast] = await bot.services.repos.broadcasts.recent(5)
    assert broadcast.status == "done" and broadcast.total == 5
    progress = await bot.services.repos.broadcasts.progress(broadcast.id)
    assert {name: p.sent for name, p in progress.items()} == {"telegram": 3, "bale": 2}
    # Progress message, then the final report, in the admin's chat.
    final = m.request.texts(TELEGRAM_ADMIN)[-1]
    assert "✅ تمام شد" in final and f"ارسال‌شده: {fa_number(5)} از {fa_number(5)}" in final


async def test_a_second_pass_sends_nobody_anything_again(bot):
    await citizens(bot, "telegram", [11, 12])
    m = await compose(bot)
    await m.press(TELEGRAM_ADMIN, t.with_count(t.AUDIENCE_EVERYONE, 2))
    await m.press(TELEGRAM_ADMIN, t.SEND_NOW)
    await bot.broadcast()
    await bot.broadcast()
    assert received(m, 11) == received(m, 12) == 1


async def test_neighbourhood_picker_counts_and_only_those_neighbourhoods_receive(bot):
    await citizens(bot, "telegram", [11, 12], hood="tajrish")
    await citizens(bot, "telegram", [13], hood="darband")
    await citizens(bot, "telegram", [14], hood="evin")
    m = await compose(bot)
    await m.press(TELEGRAM_ADMIN, t.AUDIENCE_NEIGHBOURHOODS)
    labels = [label for label, _ in m.buttons(TELEGRAM_ADMIN)]
    assert t.neighbourhood_choice("تجریش", 2, False) in labels
    await m.press(TELEGRAM_ADMIN, t.NEIGHBOURHOODS_DONE)  # nothing chosen yet
    assert m.alerts()[-1] == t.no_neighbourhood_chosen()
    await m.press(TELEGRAM_ADMIN, t.neighbourhood_choice("تجریش", 2, False))
    await m.press(TELEGRAM_ADMIN, t.neighbourhood_choice("دربند", 1, False))
    assert f"{fa_number(3)} نفر" in m.last_text(TELEGRAM_ADMIN)
    await m.press(TELEGRAM_ADMIN, t.neighbourhood_choice("دربند", 1, True))  # and off again
    await m.press(TELEGRAM_ADMIN, t.neighbourhood_choice("دربند", 1, False))
    await m.press(TELEGRAM_ADMIN, t.NEIGHBOURHOODS_DONE)
    await m.press(TELEGRAM_ADMIN, t.SEND_NOW)
    await bot.broadcast()
    assert [received(m, c) for c in (11, 12, 13, 14)] == [1, 1, 1, 0]


async def test_subscribers_and_one_platform_only(bot):
    await citizens(bot, "telegram", [11], remind=True)
    await citizens(bot, "telegram", [12])
    await citizens(bot, "bale", [21], remind=True)
    m = await compose(bot)
    await m.press(TELEGRAM_ADMIN, t.platform_choice("telegram", False))
    assert t.with_count(t.AUDIENCE_EVERYONE, 2) in [label for label, _ in m.buttons(TELEGRAM_ADMIN)]
    await m.press(TELEGRAM_ADMIN, t.with_count(t.AUDIENCE_SUBSCRIBERS, 1))
    await m.press(TELEGRAM_ADMIN, t.SEND_NOW)
    await bot.broadcast()
    assert (received(m, 11), received(m, 12), received(bot.bale, 21)) == (1, 0, 0)


async def test_non_voters_only_offered_while_voting(bot, config):
    m = await compose(bot)
    assert not any(t.AUDIENCE_NON_VOTERS in label for label, _ in m.buttons(TELEGRAM_ADMIN))
    broadcast_id = (await bot.services.repos.broadcasts.in_status("draft"))[-1].id
    await m.press_data(TELEGRAM_ADMIN, f"bc:a:{broadcast_id}:v")  # forged: not the voting phase
    assert m.alerts()[-1]
    assert (await bot.services.repos.broadcasts.get(broadcast_id)).audience == Audience()
    bot.at("voting")
    await compose(bot)
    assert any(t.AUDIENCE_NON_VOTERS in label for label, _ in m.buttons(TELEGRAM_ADMIN))


async def test_strangers_cannot_broadcast_nor_press_its_buttons(bot):
    await citizens(bot, "telegram", [11])
    m = bot.telegram
    await m.send(11, "/broadcast")
    assert m.last_text(11) == t.staff_command_only()
    await m.send(11, NOTICE)  # an ordinary message, not content
    assert await bot.services.repos.broadcasts.in_status("draft") == []

    await compose(bot)
    [draft] = await bot.services.repos.broadcasts.in_status("draft")
    for data in (f"bc:a:{draft.id}:e", f"bc:go:{draft.id}", f"bc:x:{draft.id}"):
        before = len(m.alerts())
        # Forged in their own chat: a press on the admin's message itself is refused earlier, as
        # from another chat (tests/test_button_chat.py).
        await m.press_data(11, data)
        assert m.alerts()[before:] == ["این دکمه فقط برای مدیران طرح است."]
        assert (await bot.services.repos.broadcasts.get(draft.id)).status == "draft"
    # The Bale admin is not a Telegram admin either.
    await m.app.process_update(m.updates.callback(BALE_ADMIN, m.last_with_buttons(TELEGRAM_ADMIN), f"bc:go:{draft.id}"))
    assert (await bot.services.repos.broadcasts.get(draft.id)).status == "draft"
    assert await bot.services.repos.broadcasts.in_status("scheduled", SENDING) == []


async def test_a_draft_is_its_authors_alone(bot, config):
    """Found by tests/test_fuzz.py (seed 42, 30,000 steps): the Telegram admin pressed forged
    buttons of the Bale admin's photo draft; its preview crashed (a Bale photo cannot be shown from
    Telegram) and the draft's audience was someone else's to change."""
    await citizens(bot, "telegram", [11])
    bale = bot.bale
    await bale.send(BALE_ADMIN, "/broadcast")
    await bale.update(bale.updates.photo(BALE_ADMIN, caption="جلسهٔ محله"))
    [draft] = await bot.services.repos.broadcasts.in_status("draft")
    # A second Telegram admin, so that a same-messenger colleague is tried too (roles are read
    # from the config at every press).
    colleague = 902
    telegram = dataclasses.replace(config.platforms["telegram"], admins=config.platforms["telegram"].admins | {colleague})
    config.platforms["telegram"] = telegram
    m = bot.telegram
    for admin in (TELEGRAM_ADMIN, colleague):
        await m.send(admin, "/start")
        for data in (f"bc:a:{draft.id}:e", f"bc:p:{draft.id}:t", f"bc:n:{draft.id}", f"bc:go:{draft.id}"):
            before = len(m.alerts())
            await m.press_data(admin, data)
            assert m.alerts()[before:] == [texts.button_expired()], (admin, data)
    after = await bot.services.repos.broadcasts.get(draft.id)
    assert (after.status, after.audience) == ("draft", draft.audience)
    await bale.press(BALE_ADMIN, t.with_count(t.AUDIENCE_EVERYONE, 1))  # its author still can
    assert t.preview_intro() in bale.request.texts(BALE_ADMIN)


async def test_forged_or_stale_data_is_refused(bot):
    m = await compose(bot)
    for data in ("bc:go:999999", "bc:t:1:99", "bc:zz:1", "bc:go:1:" + "x" * 60):
        before = len(m.alerts())
        await m.press_data(TELEGRAM_ADMIN, data)
        assert len(m.alerts()) == before + 1 and m.alerts()[-1]
    [draft] = await bot.services.repos.broadcasts.in_status("draft")
    assert draft.audience == Audience()


async def test_unsupported_content_keeps_the_question_open(bot):
    m = bot.telegram
    await m.send(TELEGRAM_ADMIN, "/broadcast")
    await m.update(m.updates.sticker(TELEGRAM_ADMIN))
    assert m.last_text(TELEGRAM_ADMIN) == t.content_unsupported()
    await m.send(TELEGRAM_ADMIN, NOTICE)
    assert t.ask_audience(None) in m.last_text(TELEGRAM_ADMIN)


async def test_cancel_closes_the_question_and_nothing_is_kept(bot):
    m = bot.telegram
    await m.send(TELEGRAM_ADMIN, "/broadcast")
    await m.send(TELEGRAM_ADMIN, "/cancel")
    assert m.last_text(TELEGRAM_ADMIN) == t.input_cancelled()
    await m.send(TELEGRAM_ADMIN, NOTICE)  # now an ordinary message again
    assert await bot.services.repos.broadcasts.in_status("draft") == []


async def test_photo_with_caption_reaches_the_other_messenger_uploaded_once(bot):
    await citizens(bot, "telegram", [11])
    await citizens(bot, "bale", [21, 22, 23])
    m = bot.telegram
    await m.send(TELEGRAM_ADMIN, "/broadcast")
    await m.update(m.updates.photo(TELEGRAM_ADMIN, caption="جلسهٔ محله"))
    await m.press(TELEGRAM_ADMIN, t.with_count(t.AUDIENCE_EVERYONE, 4))
    await m.press(TELEGRAM_ADMIN, t.SEND_NOW)
    await bot.broadcast()
    [to_telegram] = [c for c in m.request.calls_to("sendPhoto") if c.params["chat_id"] == 11]
    assert isinstance(to_telegram.params["photo"], str)  # the original file_id
    bale_photos = bot.bale.request.calls_to("sendPhoto")
    assert sorted(c.params["chat_id"] for c in bale_photos) == [21, 22, 23]
    uploads = [c for c in bale_photos if c.files]
    assert len(uploads) == 1  # downloaded from Telegram once, then Bale's own file_id
    assert all(c.params["caption"] == "جلسهٔ محله" for c in bale_photos)


async def test_blocked_people_are_unreachable_and_skipped_until_they_write_again(bot):
    await citizens(bot, "telegram", [11, 12, 13])
    refuse_chats(bot.telegram, {12})
    m = await compose(bot)
    await m.press(TELEGRAM_ADMIN, t.with_count(t.AUDIENCE_EVERYONE, 3))
    await m.press(TELEGRAM_ADMIN, t.SEND_NOW)
    await bot.broadcast()
    assert "در دسترس نیستند (ربات را مسدود کرده‌اند): ۱" in m.request.texts(TELEGRAM_ADMIN)[-1]
    await compose(bot)
    assert t.with_count(t.AUDIENCE_EVERYONE, 2) in [label for label, _ in m.buttons(TELEGRAM_ADMIN)]
    del m.request._responders["sendMessage"]
    await m.send(12, "/start")  # they unblocked the bot and wrote
    await compose(bot)
    assert t.with_count(t.AUDIENCE_EVERYONE, 3) in [label for label, _ in m.buttons(TELEGRAM_ADMIN)]


def _then_502_once(inner, chat: int):
    failed = []

    def respond(params):
        if params["chat_id"] == chat and not failed:
            failed.append(chat)
            raise _ApiError(502, "Bad Gateway")
        return inner(params)
    return respond


async def test_429_and_5xx_are_retried_later_not_lost(bot):
    await citizens(bot, "telegram", [11, 12])
    m = await compose(bot)
    await m.press(TELEGRAM_ADMIN, t.with_count(t.AUDIENCE_EVERYONE, 2))
    refuse_chats(m, {11}, 429, "Too Many Requests: retry after 3", times=1, retry_after=3)
    m.request.respond("sendMessage", _then_502_once(m.request._responders["sendMessage"], chat=12))
    await m.press(TELEGRAM_ADMIN, t.SEND_NOW)
    assert await bot.worker.hold_lease()
    assert await bot.worker.pass_once() is True  # both postponed, nobody lost
    assert received(m, 11) == received(m, 12) == 0
    bot.clock.advance(seconds=2)
    await bot.broadcast()
    assert received(m, 12) == 1 and received(m, 11) == 0  # 502: again after 1 s; 429: after 3 s
    bot.clock.advance(seconds=5)
    await bot.broadcast()
    assert received(m, 11) == received(m, 12) == 1
    [broadcast] = await bot.services.repos.broadcasts.recent(1)
    assert broadcast.status == "done"


async def test_a_message_that_keeps_failing_is_counted_failed_after_its_attempts(bot):
    await citizens(bot, "telegram", [11])
    m = await compose(bot)
    await m.press(TELEGRAM_ADMIN, t.with_count(t.AUDIENCE_EVERYONE, 1))
    await m.press(TELEGRAM_ADMIN, t.SEND_NOW)
    refuse_chats(m, {11}, status=500, description="Internal Server Error")
    assert await bot.worker.hold_lease()
    for _ in range(6):
        await bot.worker.pass_once()
        bot.clock.advance(seconds=30)
    [broadcast] = await bot.services.repos.broadcasts.recent(1)
    progress = await bot.services.repos.broadcasts.progress(broadcast.id)
    assert progress["telegram"].failed == 1 and broadcast.status == "done"
    assert len([c for c in m.request.calls_to("sendMessage") if c.params["chat_id"] == 11]) == 5


async def test_cancel_while_sending_stops_the_rest(bot, config):
    await citizens(bot, "telegram", range(100, 140))
    m = await compose(bot)
    await m.press(TELEGRAM_ADMIN, t.with_count(t.AUDIENCE_EVERYONE, 40))
    await m.press(TELEGRAM_ADMIN, t.SEND_NOW)
    assert await bot.worker.hold_lease()
    broadcast_id = (await bot.services.repos.broadcasts.due(bot.clock.now()))[0]
    sent = 0

    def keep_going():
        nonlocal sent
        sent += 1
        return sent <= 10  # the admin presses stop after about ten messages

    await bot.worker.pass_once(keep_going)
    progress_message = m.last_with_buttons(TELEGRAM_ADMIN)
    assert t.STOP_SENDING in [label for label, _ in m.request.inline_buttons(progress_message)]
    await m.press(TELEGRAM_ADMIN, t.STOP_SENDING)
    await bot.broadcast()
    delivered = sum(received(m, chat) for chat in range(100, 140))
    assert 5 <= delivered < 40
    broadcast = await bot.services.repos.broadcasts.get(broadcast_id)
    assert broadcast.status == "cancelled"
    assert "⛔️ متوقف شد" in m.request.texts(TELEGRAM_ADMIN)[-1]


async def test_progress_message_shows_bar_counts_and_expected_end(bot):
    await citizens(bot, "telegram", range(100, 110))
    m = await compose(bot)
    await m.press(TELEGRAM_ADMIN, t.with_count(t.AUDIENCE_EVERYONE, 10))
    await m.press(TELEGRAM_ADMIN, t.SEND_NOW)
    assert await bot.worker.hold_lease()
    calls = 0

    def keep_going():
        nonlocal calls
        calls += 1
        return calls <= 5

    await bot.worker.pass_once(keep_going)
    await bot.worker.update_progress()
    text = m.last_with_buttons(TELEGRAM_ADMIN)["text"]
    assert "▓" in text and "░" in text and "پایان تقریبی" in text
    sent = (await bot.services.repos.broadcasts.progress(1))["telegram"].sent
    assert 0 < sent < 10 and f"ارسال‌شده: {fa_number(sent)} از {fa_number(10)}" in text
    edits = len(m.request.calls_to("editMessageText"))
    await bot.worker.update_progress()  # nothing changed: no edit
    assert len(m.request.calls_to("editMessageText")) == edits


async def test_schedule_for_later_in_persian_digits(bot):
    await citizens(bot, "telegram", [11])
    m = await compose(bot)
    await m.press(TELEGRAM_ADMIN, t.with_count(t.AUDIENCE_EVERYONE, 1))
    await m.press(TELEGRAM_ADMIN, t.SCHEDULE)
    await m.send(TELEGRAM_ADMIN, "فردا")
    assert "خوانده نشد" in m.last_text(TELEGRAM_ADMIN)
    await m.send(TELEGRAM_ADMIN, "۱۴۰۰/۰۱/۰۱ ۰۹:۰۰")
    assert m.last_text(TELEGRAM_ADMIN) == t.send_time_past()
    later = bot.clock.now() + dt.timedelta(days=1)
    typed = bot.services.calendar.example_time()  # an hour from now, e.g. "1405/09/05 11:00"
    await m.send(TELEGRAM_ADMIN, typed.replace("1", "۱").replace("4", "۴"))
    assert "زمان‌بندی شد" in m.last_text(TELEGRAM_ADMIN)
    await bot.broadcast()
    assert received(m, 11) == 0
    await m.send(TELEGRAM_ADMIN, "/broadcasts")
    listing = m.last_text(TELEGRAM_ADMIN)
    assert t.STATUS_NAMES["scheduled"] in listing and "آب منطقه" in listing
    bot.clock.set(later)
    await bot.broadcast()
    assert received(m, 11) == 1


async def test_cancel_a_scheduled_one_from_the_list(bot):
    await citizens(bot, "telegram", [11])
    m = await compose(bot)
    await m.press(TELEGRAM_ADMIN, t.with_count(t.AUDIENCE_EVERYONE, 1))
    await m.press(TELEGRAM_ADMIN, t.SCHEDULE)
    await m.send(TELEGRAM_ADMIN, bot.services.calendar.example_time())
    await m.send(TELEGRAM_ADMIN, "/broadcasts")
    [(label, _)] = m.buttons(TELEGRAM_ADMIN)
    await m.press(TELEGRAM_ADMIN, label)
    bot.clock.advance(days=2)
    await bot.broadcast()
    assert received(m, 11) == 0
    [broadcast] = await bot.services.repos.broadcasts.recent(1)
    assert broadcast.status == "cancelled"


async def test_blocked_recipients_and_counts_after_a_crash_in_flight(tmp_path, config):
    """A process dies with requests in flight (rows marked 'sending'): the next holder counts them
    uncertain, sends everyone else once, and never resends those."""
    from tests.conftest import ManualClock
    clock = ManualClock(phase_moments(config)["proposals"])
    first = await Bot(config, clock).start()
    try:
        await citizens(first, "telegram", range(100, 110))
        repos = first.services.repos
        draft = await sent_now(first.services, NOTICE)
        assert await first.worker.hold_lease()
        await repos.broadcasts.start(draft.id, clock.now())
        # The dead process had three requests in flight, and one of them had arrived.
        claimed = await repos.broadcasts.next_due(draft.id, "telegram", 3, clock.now())
        assert await repos.broadcasts.mark_sending(draft.id, [d.id for d in claimed]) == {d.id for d in claimed}
        await first.telegram.app.bot.send_message(claimed[0].chat_id, NOTICE)
    finally:
        await first.stop()  # no release: a SIGKILL leaves the lease in the table

    clock.advance(seconds=LEASE_TTL.total_seconds() + 1)
    second = await Bot(config, clock).start()
    try:
        await second.broadcast()
        m = second.telegram
        counts = {chat: received(m, chat) for chat in range(100, 110)}
        claimed_chats = {d.chat_id for d in claimed}
        assert all(counts[chat] == 0 for chat in claimed_chats)  # uncertain: never resent
        assert all(counts[chat] == 1 for chat in set(range(100, 110)) - claimed_chats)
        progress = await second.services.repos.broadcasts.progress(draft.id)
        assert progress["telegram"].uncertain == 3 and progress["telegram"].sent == 7
        assert "نامعلوم" in m.request.texts(TELEGRAM_ADMIN)[-1]
    finally:
        await second.stop()


async def test_two_processes_on_one_database_do_not_both_send(bot, config):
    await citizens(bot, "telegram", range(100, 120))
    other = BroadcastWorker(bot.services, dict(bot.worker.bots), bot.notifier)
    assert await bot.worker.hold_lease()
    assert not await other.hold_lease()
    await sent_now(bot.services, NOTICE)
    assert not await other.hold_lease()  # renewal by the first is what keeps it
    assert await other.pass_once() is False  # without the lease it sends nothing
    assert all(received(bot.telegram, chat) == 0 for chat in range(100, 120))
    await bot.broadcast()
    assert all(received(bot.telegram, chat) == 1 for chat in range(100, 120))
    # The holder stops cleanly: the lease is released and the other may take over at once.
    await bot.worker.stop()
    assert await other.hold_lease()


@pytest.mark.parametrize("rate", [0, -1, 20_000, "fast"])
async def test_broadcast_rate_is_checked_in_config(rate):
    import tomllib

    from bot.campaign.config import ConfigError, load_config, parse_config
    from tests.conftest import ROOT
    root = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    root["telegram"]["broadcast_rate"] = rate
    with pytest.raises(ConfigError, match="telegram.broadcast_rate"):
        parse_config(root)
    assert load_config(ROOT / "config.example.toml").platforms["telegram"].broadcast_rate == 25
    assert dataclasses.is_dataclass(load_config(ROOT / "config.example.toml").announcements)


async def test_a_dead_process_on_this_machine_is_taken_over_at_once(bot):
    import socket
    import subprocess
    import sys
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_holder = f"{socket.gethostname()}:{gone.stdout.strip()}:deadbeef"
    leases = bot.services.repos.leases
    assert await leases.acquire("broadcast-sender", dead_holder, bot.clock.now(), LEASE_TTL)
    assert not await bot.worker.hold_lease()  # it may have just renewed: two renewals first
    bot.clock.advance(seconds=11)
    assert await bot.worker.hold_lease()  # not the whole 30 seconds after a SIGKILL and restart
    # A live holder elsewhere is respected until its lease runs out.
    await bot.worker.stop()
    assert await leases.acquire("broadcast-sender", "elsewhere:1:abc", bot.clock.now(), LEASE_TTL)
    assert not await bot.worker.hold_lease()


async def test_citizens_replies_take_broadcast_slots():
    """At 100/s configured, 60 replies a second leave 40 for the broadcast; a flood of replies
    leaves it a fifth, never nothing."""
    from bot.messenger.broadcast.sender import PlatformSender
    replies = 0
    sender = PlatformSender("telegram", None, None, None, rate=100, replies_made=lambda: replies)
    assert sender._current_interval(0.0) == pytest.approx(1 / 100)
    replies = 30
    assert sender._current_interval(0.5) == pytest.approx(1 / 40)
    replies = 30 + 500
    assert sender._current_interval(1.0) == pytest.approx(1 / 20)
    assert sender._current_interval(1.2) == pytest.approx(1 / 20)  # measured every half second
    assert PlatformSender("bale", None, None, None, rate=10)._current_interval(5.0) == pytest.approx(1 / 10)


async def test_an_open_question_never_swallows_the_menu_and_expires(bot):
    from messages_fa import buttons as b
    m = bot.telegram
    await m.send(TELEGRAM_ADMIN, "/start")
    await m.press(TELEGRAM_ADMIN, "تجریش")
    await m.send(TELEGRAM_ADMIN, "/broadcast")
    await m.send(TELEGRAM_ADMIN, b.MY_PROPOSALS)  # the admin as a citizen
    assert await bot.services.repos.broadcasts.in_status("draft") == []
    assert "پیشنهاد" in m.last_text(TELEGRAM_ADMIN)
    bot.clock.advance(minutes=31)
    await m.send(TELEGRAM_ADMIN, NOTICE)  # the next day's ordinary message: not content
    assert await bot.services.repos.broadcasts.in_status("draft") == []


async def test_a_new_draft_retires_the_older_one(bot):
    m = await compose(bot)
    [first] = await bot.services.repos.broadcasts.in_status("draft")
    old_menu = m.last_with_buttons(TELEGRAM_ADMIN)
    await compose(bot, "پیام دوم")
    [second] = await bot.services.repos.broadcasts.in_status("draft")
    assert second.id != first.id
    await m.app.process_update(m.updates.callback(TELEGRAM_ADMIN, old_menu, f"bc:go:{first.id}"))
    assert m.alerts()[-1] == t.not_a_draft()
    assert (await bot.services.repos.broadcasts.get(first.id)).status == "cancelled"


async def test_typing_a_time_after_send_now_changes_nothing(bot):
    await citizens(bot, "telegram", [11])
    m = await compose(bot)
    await m.press(TELEGRAM_ADMIN, t.with_count(t.AUDIENCE_EVERYONE, 1))
    await m.press(TELEGRAM_ADMIN, t.SCHEDULE)
    await m.press(TELEGRAM_ADMIN, t.SEND_NOW)
    await bot.broadcast()
    watchers = await bot.services.repos.broadcasts.watchers(1)
    await m.send(TELEGRAM_ADMIN, bot.services.calendar.example_time())  # the question was closed
    assert await bot.services.repos.broadcasts.watchers(1) == watchers
    assert watchers[0].message_id is not None


async def test_recipients_are_written_in_chunks_subscribers_first(bot):
    await citizens(bot, "telegram", range(100, 125))
    await citizens(bot, "telegram", [90, 130], remind=True)
    repo = bot.services.repos.broadcasts
    draft = await sent_now(bot.services, NOTICE)
    assert await repo.start(draft.id, bot.clock.now(), span=4) == 27
    assert await repo.start(draft.id, bot.clock.now(), span=4) is None  # once
    due = await repo.next_due(draft.id, "telegram", 30, bot.clock.now())
    assert [d.chat_id for d in due] == [90, 130, *range(100, 125)]


async def test_stray_429s_do_not_pause_everything_a_flood_does():
    from bot.messenger.broadcast.sender import PlatformSender
    sender = PlatformSender("telegram", None, None, None, rate=1000)
    for n in range(3000):  # 1% of 429s, bunched: 6 within 100 outcomes, never 5% of a second
        sender._note_outcome(False)
        if n % 500 < 6:
            sender._note_429(1.0)
    assert sender.paused_until == 0.0
    for _ in range(60):  # then the messenger says no to everything
        sender._note_429(1.0)
    assert sender.paused_until > 0.0


class _Recorder:
    """Stands in for a Bot in the sender: notes whom a request went to."""

    def __init__(self) -> None:
        self.chats: list[int] = []

    async def send_message(self, chat_id: int, text: str, **kwargs) -> None:
        self.chats.append(chat_id)


async def test_a_kill_while_the_sender_waits_for_its_slot_loses_nobody(bot, tmp_path):
    """Issue 12: a SIGKILL while the sender waits for its next rate slot. The next process starts
    from the database as it was at that instant (copied then); a recipient may be uncertain only
    if a request for them was made, and everyone else gets the message exactly once."""
    import asyncio
    import contextlib

    from bot.messenger.broadcast.content import Content
    from bot.messenger.broadcast.sender import PlatformSender
    from storage.backup import backup
    from storage.broadcasts import BroadcastRepository
    from storage.db import Database
    chats = list(range(100, 108))
    await citizens(bot, "telegram", chats)
    services, repo = bot.services, bot.services.repos.broadcasts
    draft = await sent_now(services, NOTICE)
    await repo.start(draft.id, bot.clock.now())

    dead = _Recorder()
    sender = PlatformSender("telegram", dead, repo, bot.clock, rate=10)  # a slot every 100 ms
    waiting_for_fourth = asyncio.Event()
    paced, pace = 0, sender._pace

    async def counted_pace(*args):
        nonlocal paced
        paced += 1
        if paced == 4:
            waiting_for_fourth.set()
        return await pace(*args)
    sender._pace = counted_pace
    running = asyncio.create_task(sender.run(draft.id, Content(await repo.get(draft.id), repo, None), lambda: True))
    await asyncio.wait_for(waiting_for_fourth.wait(), 5)
    while len(dead.chats) < 3:  # the third request leaves while the fourth slot is awaited
        await asyncio.sleep(0)
    # The kill: what is committed now is what the next process finds (the copy is synchronous,
    # so the sender cannot move meanwhile); requests made after it never happened.
    backup(bot.config.database, tmp_path / "at-the-kill.sqlite3")
    requested = list(dead.chats)
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    assert requested == chats[:3]

    db = Database(tmp_path / "at-the-kill.sqlite3")
    await db.open()
    try:
        after = BroadcastRepository(db)
        await after.mark_in_flight_uncertain()
        alive = _Recorder()
        content = Content(await after.get(draft.id), after, None)
        await PlatformSender("telegram", alive, after, bot.clock, rate=1000).run(draft.id, content, lambda: True)
        uncertain = {chat for (chat,) in await db.read(lambda conn: conn.execute(
            "SELECT chat_id FROM deliveries WHERE status = 'uncertain'").fetchall())}
        progress = (await after.progress(draft.id))["telegram"]
    finally:
        await db.close()
    assert uncertain <= set(requested), f"uncertain without a request: {sorted(uncertain - set(requested))}"
    assert sorted(requested + alive.chats) == chats  # everyone once: no duplicate, no miss
    assert (progress.sent, progress.uncertain) == (len(chats) - len(uncertain), len(uncertain))


def test_no_more_broadcast_requests_in_flight_than_connections():
    """A request queued for one of the broadcast bot's connections has not left: it must not be
    marked 'sending' (a kill then would report someone uncertain who was never sent to)."""
    from bot.messenger.broadcast.sender import MAX_IN_FLIGHT
    from bot.runtime import BROADCAST_POOL
    assert MAX_IN_FLIGHT <= BROADCAST_POOL


def _counted_by_rows(conn, broadcast_id: int) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for platform, status, n in conn.execute("SELECT platform, status, COUNT(*) FROM deliveries WHERE broadcast_id = ? "
                                            "GROUP BY platform, status", (broadcast_id,)):
        counts.setdefault(platform, {})[status] = n
    return counts


def _as_counts(progress) -> dict[str, dict[str, int]]:
    return {platform: {name: n for name, n in dataclasses.asdict(p).items() if n and name != "total"}
            for platform, p in progress.items()}


async def test_progress_is_kept_with_every_outcome_and_rolled_back_with_it(bot):
    """Progress is read from counts the database keeps (issue 13), never by counting the rows: they
    must agree with the rows after every kind of change, and a failed write changes neither."""
    from domain import DeliveryResult
    await citizens(bot, "telegram", range(100, 110))
    await citizens(bot, "bale", range(200, 205))
    repo, db = bot.services.repos.broadcasts, bot.services.repos.broadcasts.db
    draft = await sent_now(bot.services, NOTICE)
    now = bot.clock.now()
    assert await repo.start(draft.id, now, span=3) == 15
    assert _as_counts(await repo.progress(draft.id)) == {"telegram": {"pending": 10}, "bale": {"pending": 5}}

    telegram = await repo.next_due(draft.id, "telegram", 10, now)
    assert await repo.mark_sending(draft.id, [d.id for d in telegram[:8]]) == {d.id for d in telegram[:8]}
    await repo.record([DeliveryResult(telegram[0].id, "sent"), DeliveryResult(telegram[1].id, "unreachable"),
                       DeliveryResult(telegram[2].id, "failed"),
                       DeliveryResult(telegram[3].id, "pending", now + dt.timedelta(seconds=1)),
                       DeliveryResult(telegram[4].id, "sent")], now)
    assert await repo.mark_in_flight_uncertain() == 3  # telegram[5:8], as after a crash

    def fails(conn):
        conn.execute("UPDATE deliveries SET status = 'sent' WHERE broadcast_id = ?", (draft.id,))
        raise RuntimeError("the write fails half-way")
    with pytest.raises(RuntimeError):
        await db.write(fails)

    progress = await repo.progress(draft.id)
    assert _as_counts(progress) == await db.read(_counted_by_rows, draft.id) == {
        "telegram": {"pending": 3, "sent": 2, "unreachable": 1, "failed": 1, "uncertain": 3},
        "bale": {"pending": 5}}
    assert progress["telegram"].total == 10 and progress["bale"].total == 5


async def test_progress_of_broadcasts_sent_before_the_counts_existed(tmp_path):
    """Migration 9 counts the delivery rows already there once, then keeps the counts."""
    import sqlite3

    from storage.broadcasts import BroadcastRepository
    from storage.db import Database
    from storage.migrations import MIGRATIONS

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:8]):
        conn.executescript(f"BEGIN; {script}; PRAGMA user_version = {number + 1}; COMMIT;")
    conn.executescript(
        "INSERT INTO citizens (id, platform, user_id, chat_id, created_at) VALUES "
        "(1, 'telegram', 1, 1, 'x'), (2, 'telegram', 2, 2, 'x'), (3, 'bale', 3, 3, 'x');"
        "INSERT INTO broadcasts (id, status, created_by, kind, created_at, total) VALUES (1, 'done', 's', 'text', 'x', 3);"
        "INSERT INTO deliveries (broadcast_id, citizen_id, platform, chat_id, status) VALUES "
        "(1, 1, 'telegram', 1, 'sent'), (1, 2, 'telegram', 2, 'sent'), (1, 3, 'bale', 3, 'unreachable');")
    conn.close()
    db = Database(path)
    await db.open()
    try:
        progress = await BroadcastRepository(db).progress(1)
        assert _as_counts(progress) == {"telegram": {"sent": 2}, "bale": {"unreachable": 1}}
        await db.write(lambda conn: conn.execute("UPDATE deliveries SET status = 'failed' WHERE citizen_id = 1"))
        assert _as_counts(await BroadcastRepository(db).progress(1)) == {"telegram": {"sent": 1, "failed": 1},
                                                                        "bale": {"unreachable": 1}}
    finally:
        await db.close()


async def test_a_neighbourhoods_recipients_are_written_span_by_span(bot):
    """The span walks citizen ids, not the neighbourhood index: every span's own recipients,
    subscribers first, and nobody from another neighbourhood."""
    await citizens(bot, "telegram", range(100, 110), hood="tajrish")
    await citizens(bot, "telegram", range(110, 120), hood="darband")
    await citizens(bot, "telegram", [120, 121], hood="darband", remind=True)
    repo = bot.services.repos.broadcasts
    assert await bot.services.broadcasts.count(Audience("neighbourhoods", ("darband",))) == {"telegram": 12}
    draft = await bot.services.broadcasts.draft(Actor.person("telegram", TELEGRAM_ADMIN), "text", NOTICE, None, None)
    await bot.services.broadcasts.choose(Actor.person("telegram", TELEGRAM_ADMIN), draft.id, Audience("neighbourhoods", ("darband",)))
    await bot.services.broadcasts.send_now(Actor.person("telegram", TELEGRAM_ADMIN), draft.id, "telegram", TELEGRAM_ADMIN)
    assert await repo.start(draft.id, bot.clock.now(), span=3) == 12
    due = await repo.next_due(draft.id, "telegram", 30, bot.clock.now())
    assert [d.chat_id for d in due] == [120, 121, *range(110, 120)]
