"""Sends and edits return a SentMessage: its ids without building a Message, anything else the
Message PTB would have built (issue 13: no parsing of answers nobody reads)."""
from __future__ import annotations

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.ext import AIORateLimiter

from bot.messenger.messenger_bot import MessengerBot
from bot.messenger.sent_messages import SentMessage
from tests.support.recording_request import RecordingRequest

KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("محلهٔ یک", callback_data="n:1")],
                                 [InlineKeyboardButton("محلهٔ دو", callback_data="n:2")]])


@pytest.fixture
def built(monkeypatch) -> list[dict]:
    """Every Message PTB builds, by its data."""
    seen: list[dict] = []
    original = Message.de_json.__func__

    def spy(cls, data, bot=None):
        seen.append(data)
        return original(cls, data, bot)
    monkeypatch.setattr(Message, "de_json", classmethod(spy))
    return seen


@pytest.mark.parametrize("limiter", [False, True])
async def test_ids_are_read_without_building_the_message(built, limiter):
    request = RecordingRequest()
    bot = MessengerBot("1:unit-token", platform="telegram", request=request,
                      rate_limiter=AIORateLimiter(overall_max_rate=0) if limiter else None)
    async with bot:
        sent = await bot.send_message(42, "سلام", reply_markup=KEYBOARD)
        edited = await bot.edit_message_text("دوباره", chat_id=42, message_id=sent.message_id, reply_markup=KEYBOARD)

    assert isinstance(sent, SentMessage) and isinstance(edited, SentMessage)
    assert (sent.chat_id, sent.message_id) == (42, request.messages(42)[0]["message_id"])
    assert (edited.chat_id, edited.message_id) == (42, sent.message_id)
    assert built == []  # nobody read more than the ids: no Message, no keyboard built


async def test_anything_else_reads_the_message_ptb_builds(built):
    request = RecordingRequest()
    async with MessengerBot("1:unit-token", platform="telegram", request=request) as bot:
        sent = await bot.send_message(42, "سلام", reply_markup=KEYBOARD)

    assert sent.text == "سلام"
    assert sent.reply_markup == KEYBOARD
    assert sent.chat.id == 42 and sent.chat.type == "private"
    assert sent.get_bot() is bot  # its shortcuts (reply_text, edit_text …) work as on PTB's
    assert sent == sent.message and hash(sent) == hash(sent.message)
    assert isinstance(sent.message, Message)
    assert len(built) == 1  # built once, on the first read beyond the ids
    sent.text  # noqa: B018 — read again
    assert len(built) == 1


async def test_an_inline_message_edit_still_answers_true():
    request = RecordingRequest()
    request.respond("editMessageText", lambda params: True)
    async with MessengerBot("1:unit-token", platform="telegram", request=request) as bot:
        assert await bot.edit_message_text("x", inline_message_id="abc") is True
        # The next send is not confused by the edit before it.
        sent = await bot.send_message(42, "سلام")
    assert sent.text == "سلام"


async def test_other_calls_answer_as_before():
    request = RecordingRequest()
    async with MessengerBot("1:unit-token", platform="telegram", request=request) as bot:
        me = await bot.get_me()
        answered = await bot.answer_callback_query("q1")
    assert me.id == bot.id and me.is_bot
    assert answered is True
