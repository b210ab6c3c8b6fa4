"""Keyboards turned into the Bot API's JSON once, not at every send.

bot/messenger/keyboards/__init__.py builds each keyboard that depends only on the config and the phase once
(@cache), but PTB turns the keyboard object into a dict again for every call (``to_dict`` walks
every button by reflection): the 27-button neighbourhood keyboard cost more than the rest of its
sendMessage together. PTB's keyboards are frozen once built, so their dict never changes; PTB
sends a dict given as ``reply_markup`` as it is.

Keyed by the object's identity (PTB's objects take no weak references), so the cache holds the
objects it knows: the most recently used ``SIZE`` of them. Keyboards built for one message (a
ballot page) pass through it once and fall out; the cached ones stay, being sent all the time.

A keyboard made for one message is still turned into JSON once per send: for the usual inline
buttons (a label and either callback data or a link) that is done here directly, because PTB's
``to_dict`` reads every one of a button's eleven fields by reflection, and a ballot's ten buttons
cost a twentieth of the bot's CPU that way. Anything else goes through ``to_dict``.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, TelegramObject

SIZE = 128


class JsonReady(dict):
    """A dict that is a JSON value already (made here): sent as it is (bot/messenger/messenger_bot.py)."""

    __slots__ = ()


# What every message of the bot passes instead of disable_web_page_preview=True, for which PTB makes
# a new LinkPreviewOptions, and turns it into a dict, at every send; this one is made and turned
# into JSON once.
NO_LINK_PREVIEW = LinkPreviewOptions(is_disabled=True)


class MarkupDicts:
    __slots__ = ("_known",)

    def __init__(self) -> None:
        self._known: OrderedDict[int, tuple[TelegramObject, JsonReady]] = OrderedDict()

    def as_dict(self, markup: TelegramObject) -> JsonReady:
        key = id(markup)
        known = self._known.get(key)
        if known is not None and known[0] is markup:
            self._known.move_to_end(key)
            return known[1]
        as_dict = JsonReady(_plain_inline(markup) or markup.to_dict())
        self._known[key] = (markup, as_dict)  # holding the object keeps its id from being reused
        if len(self._known) > SIZE:
            self._known.popitem(last=False)
        return as_dict

    def __len__(self) -> int:
        return len(self._known)


# The button fields _plain_inline writes; a button with any other set goes through to_dict.
_PLAIN = ("text", "callback_data", "url")
_OTHER = tuple(name for name in InlineKeyboardButton.__slots__ if name not in _PLAIN and not name.startswith("_"))


def _plain_inline(markup: TelegramObject) -> dict[str, Any] | None:
    """An inline keyboard of plain buttons as the Bot API's JSON, what ``to_dict`` gives for it;
    None when it has anything else."""
    if type(markup) is not InlineKeyboardMarkup or markup.api_kwargs:
        return None
    rows = []
    for row in markup.inline_keyboard:
        out = []
        for button in row:
            if type(button) is not InlineKeyboardButton or button.api_kwargs or any(
                    getattr(button, name) is not None for name in _OTHER):
                return None
            plain = {"text": button.text}
            if button.callback_data is not None:
                plain["callback_data"] = button.callback_data
            if button.url is not None:
                plain["url"] = button.url
            out.append(plain)
        rows.append(out)
    return {"inline_keyboard": rows}
