"""Updates without a person behind them: a message sent on behalf of a channel or anonymously for
a group (`sender_chat`), or one with no `from` at all. Nobody can be answered and no right can be
checked: every command and every kind of message is ignored quietly — no error, nothing posted.
"""
from __future__ import annotations

import itertools
import logging
import time

import pytest

from bot.campaign.roles import COMMAND_ACTIONS
from messages_fa import buttons as b
from tests.conftest import STAFF_CHAT, TELEGRAM_ADMIN

CHANNEL = {"id": -1001555, "type": "channel", "title": "District news"}
GROUP = {"id": -1002777, "type": "supergroup", "title": "Neighbours"}
STAFF_GROUP = {"id": STAFF_CHAT, "type": "supergroup", "title": "Staff"}
# What Telegram puts in `from` for such messages.
CHANNEL_BOT = {"id": 136817688, "is_bot": True, "first_name": "Channel", "username": "Channel_Bot"}
ANONYMOUS_ADMIN = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}

COMMANDS = ["/start", "/start amb_x", "/help", "/cancel", "/whoami", "/ambassador",
            *(f"/{name}" for name in sorted(COMMAND_ACTIONS)), "/whoami@test_bot"]
TEXTS = [*COMMANDS, b.SEND_PROPOSAL, b.VOTE, b.HELP, b.BACK, b.CANCEL, "تجریش", "hello"]

# (chat, from, sender_chat): who sent it, as the messenger says
SENDERS = {
    "a channel in a group": (GROUP, CHANNEL_BOT, CHANNEL),
    "a channel in the staff group": (STAFF_GROUP, CHANNEL_BOT, CHANNEL),
    "a channel, no from": (GROUP, None, CHANNEL),
    "an anonymous admin of the staff group": (STAFF_GROUP, ANONYMOUS_ADMIN, STAFF_GROUP),
    "no from in a group": (GROUP, None, None),
    "no from in a private chat": ({"id": 4242, "type": "private", "first_name": "X"}, None, None),
}
_ids = itertools.count(500_000)


def _message(chat: dict, sender: dict | None, sender_chat: dict | None, **content) -> dict:
    message = {"message_id": next(_ids), "date": int(time.time()), "chat": chat, **content}
    if sender is not None:
        message["from"] = sender
    if sender_chat is not None:
        message["sender_chat"] = sender_chat
    return message


def _contents(bot_message: dict | None) -> list[dict]:
    """Every kind of message a handler is registered for: commands, buttons, text, contact, a reply."""
    found = []
    for text in TEXTS:
        content = {"text": text}
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        found.append(content)
    found.append({"contact": {"phone_number": "+989121234567", "first_name": "Someone"}})
    found.append({"location": {"latitude": 35.8, "longitude": 51.4}})
    found.append({"photo": [{"file_id": "ph1", "file_unique_id": "ph1u", "width": 90, "height": 90}]})
    if bot_message is not None:  # a reply to the bot's message (a reason asked for in the staff group)
        found.append({"text": "دلیل", "reply_to_message": bot_message})
    return found


@pytest.mark.parametrize("sender", list(SENDERS))
async def test_every_handler_ignores_an_update_without_a_person(bot, caplog, sender):
    telegram = bot.telegram
    # The bot has posted in the staff group before (a moderation card would be there).
    await telegram.send(TELEGRAM_ADMIN, "/whoami", chat_id=STAFF_CHAT)
    bot_message = telegram.request.last(STAFF_CHAT)
    calls_before = len(telegram.request.calls)
    caplog.set_level(logging.WARNING)
    chat, from_user, sender_chat = SENDERS[sender]
    for content in _contents(bot_message):
        for kind in ("message", "edited_message"):
            body = _message(chat, from_user, sender_chat, **content)
            if kind == "edited_message":
                body["edit_date"] = body["date"]
            await telegram.update(telegram.updates.raw({kind: body}))
    await bot.settle()
    assert not bot.errors, [repr(e) for e in bot.errors]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    posted = [call.method for call in telegram.request.calls[calls_before:]]
    assert posted == [], posted
