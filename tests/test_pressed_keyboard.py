"""A pressed button's update is read without the keyboard of the message it sits under (issue 13):
building those buttons was most of the cost of reading a press, and nothing reads them."""
from __future__ import annotations

import copy

from telegram import Bot

from bot.messenger.update_decoding import decode_updates

_USER = {"id": 7777, "is_bot": False, "first_name": "Sara"}
_CHAT = {"id": 7777, "type": "private", "first_name": "Sara"}
_BALLOT = {"inline_keyboard": [[{"text": f"☐ رأی به {n}", "callback_data": f"v:{n}"}] for n in range(10)]}
PRESS = {"update_id": 41, "callback_query": {
    "id": "q1", "from": _USER, "chat_instance": "c", "data": "v:3",
    "message": {"message_id": 9, "date": 1_700_000_000, "chat": _CHAT, "from": {"id": 1, "is_bot": True, "first_name": "b"},
                "text": "برگهٔ رأی", "entities": [{"type": "bold", "offset": 0, "length": 5}],
                "reply_markup": _BALLOT}}}


def test_a_press_is_built_without_its_message_keyboard_and_keeps_the_rest():
    raw = copy.deepcopy(PRESS)
    (update,) = decode_updates([raw], Bot("1:x"), "telegram")
    query = update.callback_query
    assert query.data == "v:3" and query.from_user.id == 7777
    assert query.message.reply_markup is None
    # What handlers read of the pressed message stays: its ids, text and formatting.
    assert (query.message.chat_id, query.message.message_id) == (7777, 9)
    assert query.message.text == "برگهٔ رأی" and query.message.text_html == "<b>برگهٔ</b> رأی"
    assert raw == PRESS  # the server's answer itself is not changed


def test_other_updates_are_built_as_they_came():
    message = {"update_id": 42, "message": {"message_id": 3, "date": 1_700_000_000, "chat": _CHAT, "from": _USER,
                                             "text": "سلام", "reply_markup": _BALLOT}}
    (update,) = decode_updates([message], Bot("1:x"), "telegram")
    assert update.message.reply_markup is not None  # only a press's message loses it


def _pressed(data: str) -> dict:
    raw = copy.deepcopy(PRESS)
    raw["callback_query"]["data"] = data
    return raw


def test_a_vote_page_or_neighbourhood_press_is_built_without_the_pressed_formatting():
    """Their handlers replace the whole message (or send a new one) and never read its formatting;
    building each entity (an enum lookup per type) was a large part of reading a press."""
    for data in ("v:12:0", "w:12:1", "p:2", "n:tajrish"):
        raw = _pressed(data)
        (update,) = decode_updates([raw], Bot("1:x"), "telegram")
        message = update.callback_query.message
        assert update.callback_query.data == data
        assert message.entities == () and message.reply_markup is None
        assert (message.chat_id, message.message_id, message.text) == (7777, 9, "برگهٔ رأی")
        assert raw == _pressed(data)  # the server's answer itself is not changed


def test_a_press_whose_handler_rebuilds_the_text_keeps_its_formatting():
    # Choosing a category notes the choice under the pressed text, bold kept (handlers/proposals.py);
    # data no family reads, forged or truncated, is built as it came too.
    for data in ("c:sport", "pv:ok", "v:12", "x"):
        (update,) = decode_updates([_pressed(data)], Bot("1:x"), "telegram")
        assert update.callback_query.message.text_html == "<b>برگهٔ</b> رأی"
