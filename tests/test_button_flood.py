"""A flood of button presses costs the bot next to nothing (issue 12, item 2).

Before: flood control saw a press only in its turn, after PTB had built it and it had waited in
its sender's queue, and every dropped press was still answered: 20 people pressing 50 times a
second grew the bot by 300 MB and left 80 s of queue (bench: ``python -m bench.flood --presses``).
Now each press is decided as getUpdates reads it (bot/messenger/flood_door.py): over the limit it is never
built, queued or answered, and it is still marked handled.
"""
from __future__ import annotations

import datetime as dt

import pytest
from telegram import Update

from bot.campaign.clock import ManualClock
from bot.campaign.flood import Allowance, FloodControl, Kind, Verdict
from bot.messenger.flood_door import DroppedUnread, FloodDoor
from bot.messenger.messenger_bot import MessengerBot
from bot.messenger.update_decoding import decode_updates
from messages_fa import texts
from tests.support.e2e import TOKENS, Harness, inline_data

BURST = 20  # the example config's flood_buttons_burst


@pytest.mark.slow  # the loopback Bot API server and the real polling loop
async def test_a_press_flood_is_dropped_before_it_is_built_queued_or_answered(tmp_path):
    async with Harness(tmp_path, latency=0.002) as h:
        runtime = await h.start()
        state, token = h.state, TOKENS["telegram"]
        application = runtime.applications["telegram"]
        flooder, other = h.person("telegram", 4101), h.person("telegram", 4102)
        [welcome] = await flooder.send("/start")
        hood = inline_data(welcome)[0]
        await h.until(lambda: state.bot(token).polls_parked, what="the bot's long poll")
        answered_before = len(state.calls(token, "answerCallbackQuery"))

        # Queued at the server at once, as a thumb on a phone with a slow network sends them.
        presses = [state.press(token, flooder.id, welcome["message_id"], hood, forge=True) for _ in range(200)]
        state.send_text(token, other.id, "/start")
        [hello] = await other.new_messages()
        assert "من شهردارم" in hello["text"]  # the other citizen is served meanwhile
        await h.until(lambda: not state.bot(token).updates, what="every press fetched and confirmed")
        await application.update_queue.join()  # and handled

        answers = state.calls(token, "answerCallbackQuery")[answered_before:]
        # The presses within the allowance and the one notice; nothing for the 179 dropped.
        assert [c["params"]["callback_query_id"] for c in answers] == \
            [p["callback_query_id"] for p in presses[:BURST + 1]]
        assert answers[-1]["params"].get("text") == texts.flood_notice_buttons()
        assert application.update_processor.dropped == 200 - BURST - 1
        assert application.update_processor.active_keys == 0
        # Dropped or not, every press is marked handled: a restart does not handle them after all.
        await application.persistence.journal.flush()
        ids = [p["update_id"] for p in presses]
        [(marked,)] = await h.query("SELECT count(*) FROM processed_updates WHERE update_id BETWEEN ? AND ?",
                                    min(ids), max(ids))
        assert marked == len(ids)


def test_the_door_decides_each_update_once_and_builds_no_dropped_one(monkeypatch):
    clock = ManualClock(dt.datetime(2026, 11, 27, tzinfo=dt.UTC))
    control = FloodControl(clock, Allowance(BURST, 60), Allowance(BURST, 120), 60)
    checked: list[tuple[int, Kind, bool]] = []

    def check(user_id: int, kind: Kind, can_notify: bool) -> Verdict:
        checked.append((user_id, kind, can_notify))
        return control.check("telegram", user_id, kind, can_notify)

    door = FloodDoor(check)
    built: list[int] = []
    build = Update.de_json
    monkeypatch.setattr(Update, "de_json", lambda data, bot=None: built.append(data["update_id"]) or build(data, bot))
    user = {"id": 7, "is_bot": False, "first_name": "x"}
    chat = {"id": 7, "type": "private", "first_name": "x"}
    keyboard = {"inline_keyboard": [[{"text": str(i), "callback_data": f"n:{i}"}] for i in range(27)]}
    message = {"message_id": 5, "date": 0, "chat": chat, "text": "welcome", "reply_markup": keyboard}
    raw = [{"update_id": i, "callback_query": {"id": str(i), "from": user, "chat_instance": "7", "message": message,
                                               "data": "n:1"}} for i in range(1, 31)]
    raw.append({"update_id": 31, "edited_message": {**message, "from": user, "edit_date": 1}})  # read only once built
    raw.append({"update_id": 32, "message": {**message, "from": {**user, "id": 8}, "text": "/start"}})

    updates = decode_updates(raw, MessengerBot("1:unit-token", platform="telegram"), "telegram", door.unread)

    assert [u.update_id for u in updates] == list(range(1, 33))
    assert built == [*range(1, BURST + 2), 31, 32]  # the 9 presses over the limit were never built
    assert all(isinstance(u, DroppedUnread) for u in updates[BURST + 1:30]) and door.dropped_unread == 9
    assert checked[BURST + 1] == (7, Kind.BUTTON, True)
    verdicts = [door.verdict(u) for u in updates if not isinstance(u, DroppedUnread)]
    # Read at getUpdates, taken then; the edited message is of a shape read only once built, so
    # it is checked as it reaches the processor. Nobody is checked twice.
    assert verdicts == [Verdict.PASS] * BURST + [Verdict.NOTICE, Verdict.PASS, Verdict.PASS]
    assert checked[30:] == [(8, Kind.MESSAGE, True), (7, Kind.MESSAGE, True)]
    assert door.verdict(Update(update_id=99)) is None  # nobody to limit
