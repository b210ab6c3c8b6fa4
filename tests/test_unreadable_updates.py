"""An update PTB cannot build costs only itself (issue 12, item 1).

Before: one such update (a poll whose options lack ``persistent_id``, a "kicked" chat member
without ``until_date`` — what an older Bot API such as Bale's sends) failed its whole getUpdates
batch inside Bot.get_updates; the Updater never confirmed it and fetched the same batch again in
a hot loop, answering nobody and logging the batch at CRITICAL each round.

End to end (the real polling loop against the loopback Bot API, on both messengers): several
malformed shapes in one batch among good updates, the last one of the batch malformed; the good
ones are answered, each bad one is logged once with its id and kind and none of its content,
everything is confirmed without a single re-delivery, and nothing is logged at CRITICAL.
In-process: the decoding itself, and the getUpdates request it is part of.
"""
from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from telegram import Update
from telegram.request import BaseRequest, RequestData

from bot.messenger.messenger_bot import MessengerBot
from bot.messenger.update_decoding import decode_updates
from tests.support.e2e import TOKENS, Harness, text_of
from tests.support.e2e_journeys import WELCOME

LOGGER = "bot.messenger.update_decoding"
# Content that must never reach a log line.
SECRETS = ("SECRET-QUESTION", "SECRET-ANSWER", "SECRET-NAME", "SECRET-TEXT")

_USER = {"id": 7777, "is_bot": False, "first_name": "SECRET-NAME"}
_CHAT = {"id": 7777, "type": "private", "first_name": "SECRET-NAME"}

# (kind, the update's fields): each one PTB 22 refuses to build.
MALFORMED = [
    # Bot API < 9.6: poll options without persistent_id (TypeError).
    ("poll", {"poll": {"id": "5", "question": "SECRET-QUESTION", "total_voter_count": 0, "is_closed": False,
                       "is_anonymous": True, "type": "regular", "allows_multiple_answers": False,
                       "options": [{"text": "SECRET-ANSWER", "voter_count": 0}]}}),
    # The bot removed from a chat, "kicked" without until_date (TypeError).
    ("my_chat_member", {"my_chat_member": {
        "chat": _CHAT, "from": _USER, "date": 1_700_000_000,
        "old_chat_member": {"status": "member", "user": _USER},
        "new_chat_member": {"status": "kicked", "user": _USER}}}),
    # A message without its date (KeyError, whose message would quote the field).
    ("message", {"message": {"message_id": 9, "chat": _CHAT, "from": _USER, "text": "SECRET-TEXT"}}),
    # An entity without offset and length (TypeError).
    ("edited_message", {"edited_message": {"message_id": 9, "date": 1_700_000_000, "edit_date": 1_700_000_001,
                                           "chat": _CHAT, "from": _USER, "text": "SECRET-TEXT",
                                           "entities": [{"type": "bold"}]}}),
    # Not an object at all (AttributeError).
    ("channel_post", {"channel_post": "SECRET-TEXT"}),
]


def decoding_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER]


def assert_no_content(caplog) -> None:
    text = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert not [s for s in SECRETS if s in text], "a malformed update's content reached the log"


# --- end to end ------------------------------------------------------------------------------

@pytest.mark.slow  # the loopback Bot API server and the real polling loop
@pytest.mark.parametrize("platform", ["telegram", "bale"])
async def test_malformed_updates_in_one_batch_cost_only_themselves(tmp_path, caplog, platform):
    caplog.set_level(logging.INFO)
    token = TOKENS[platform]
    async with Harness(tmp_path, latency=0.002) as h:
        await h.start()
        state = h.state
        before, after = h.person(platform, 4001), h.person(platform, 4002)
        await h.until(lambda: state.bot(token).polls_parked, what="the bot's long poll")
        polls_before = len(state.calls(token, "getUpdates"))

        # One batch: nothing awaits between these, and the parked long poll answers with all of it.
        first = state.send_text(token, before.id, "/start")["update_id"]
        bad = {state.send_raw_update(token, fields)["update_id"]: kind for kind, fields in MALFORMED[:3]}
        state.send_text(token, after.id, "/start")
        # A malformed update ends the batch: the next offset must still pass it.
        bad |= {state.send_raw_update(token, fields)["update_id"]: kind for kind, fields in MALFORMED[3:]}
        last = max(bad)

        [welcome_before] = await before.new_messages()
        [welcome_after] = await after.new_messages()
        assert WELCOME in text_of(welcome_before) and WELCOME in text_of(welcome_after)

        # Everything confirmed, the bad ones too: the server forgets an update only once a
        # getUpdates offset has passed it, and the last of the batch is a bad one.
        await h.until(lambda: not state.bot(token).updates, what="the batch confirmed")
        assert not state.update_deliveries(token)["unconfirmed"]
        # Handed out once, not fetched again and again.
        assert state.update_deliveries(token)["redelivered"] == {}
        # The poll that took the batch (the confirming one is parked, not logged yet), and a
        # spare for a long poll timing out meanwhile.
        polls = state.calls(token, "getUpdates")[polls_before:]
        assert 1 <= len(polls) <= 3, [c["params"] for c in polls]
        # The placeholders went through the journal like any update, and are marked handled.
        markers = {row[0] for row in await h.query(
            "SELECT update_id FROM processed_updates WHERE update_id BETWEEN ? AND ?", first, last)}
        assert set(bad) <= markers

    lines = decoding_lines(caplog)
    assert sorted(r.update_id for r in lines) == sorted(bad), [r.getMessage() for r in lines]
    for record in lines:
        message = record.getMessage()
        assert record.levelno == logging.WARNING
        assert f"{platform}: update {record.update_id} ({bad[record.update_id]}) could not be read" in message
    assert_no_content(caplog)
    assert not [r for r in caplog.records if r.levelno >= logging.CRITICAL]
    unexpected = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not unexpected, [f"{r.name}: {r.getMessage()}" for r in unexpected]


# --- in process ------------------------------------------------------------------------------

def _good(update_id: int, text: str = "/start") -> dict:
    return {"update_id": update_id, "message": {"message_id": update_id, "date": 1_700_000_000, "chat": _CHAT,
                                                "from": _USER, "text": text}}


def test_each_update_is_decoded_on_its_own(caplog):
    caplog.set_level(logging.INFO)
    bot = MessengerBot("1:unit-token", platform="bale")
    raw = [_good(10)] + [{"update_id": 11 + i, **fields} for i, (_, fields) in enumerate(MALFORMED)] \
        + [_good(16, "hello"), {"update_id": 17, **MALFORMED[0][1]}]

    updates = decode_updates(raw, bot, "bale")

    assert [u.update_id for u in updates] == list(range(10, 18))
    assert updates[0].message.text == "/start" and updates[6].message.text == "hello"
    assert updates[0].get_bot() is bot
    for placeholder in (*updates[1:6], updates[7]):
        # Nothing a handler or the flood guard could take for a person's update.
        assert (placeholder.effective_user, placeholder.effective_chat, placeholder.effective_message) == (None,) * 3
        assert placeholder.to_dict() == {"update_id": placeholder.update_id}
    lines = decoding_lines(caplog)
    assert [(r.update_id, r.levelno) for r in lines] == [(i, logging.WARNING) for i in (11, 12, 13, 14, 15, 17)]
    kinds = [kind for kind, _ in MALFORMED] + ["poll"]
    for record, kind in zip(lines, kinds, strict=True):
        assert f"bale: update {record.update_id} ({kind}) could not be read" in record.getMessage()
    # The operator learns which field PTB wanted; never what the update said.
    assert "persistent_id" in lines[0].getMessage() and "until_date" in lines[1].getMessage()
    assert_no_content(caplog)


def test_an_update_without_an_id_is_dropped_and_the_rest_served(caplog):
    bot = MessengerBot("1:unit-token", platform="telegram")
    updates = decode_updates([{"poll": MALFORMED[0][1]["poll"]}, "SECRET-TEXT", _good(5)], bot, "telegram")
    assert [u.update_id for u in updates] == [5]
    assert len(decoding_lines(caplog)) == 2
    assert_no_content(caplog)


class _GetUpdatesRequest(BaseRequest):
    """Answers getUpdates with a fixed batch and remembers what the bot asked."""

    def __init__(self, batch: list) -> None:
        self.batch, self.asked = batch, []

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    @property
    def read_timeout(self) -> float:
        return 2.0

    async def do_request(self, url, method, request_data: RequestData | None = None, read_timeout=None,
                         write_timeout=None, connect_timeout=None, pool_timeout=None):
        self.asked.append((url.rsplit("/", 1)[-1], request_data.parameters if request_data else {}, read_timeout))
        return 200, json.dumps({"ok": True, "result": self.batch}).encode()


@pytest.mark.parametrize("timeout", [10, dt.timedelta(seconds=10)])
async def test_get_updates_asks_as_ptb_does_and_serves_the_rest(caplog, timeout):
    request = _GetUpdatesRequest([_good(20), {"update_id": 21, **MALFORMED[1][1]}])
    bot = MessengerBot("1:unit-token", platform="telegram", request=request, get_updates_request=request)

    updates = await bot.get_updates(offset=20, timeout=timeout, allowed_updates=["message"])

    assert [u.update_id for u in updates] == [20, 21] and isinstance(updates[1], Update)
    [(method, params, read_timeout)] = request.asked
    assert method == "getUpdates"
    assert params == {"offset": 20, "timeout": 10, "allowed_updates": ["message"]}
    assert read_timeout == 12.0  # the request's read timeout plus the long poll's wait, as in PTB
    assert [r.update_id for r in decoding_lines(caplog)] == [21]
