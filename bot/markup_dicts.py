"""Keyboards turned into the Bot API's JSON once, not at every send.

bot/keyboards.py builds each keyboard that depends only on the config and the phase once
(@cache), but PTB turns the keyboard object into a dict again for every call (``to_dict`` walks
every button by reflection): the 27-button neighbourhood keyboard cost more than the rest of its
sendMessage together. PTB's keyboards are frozen once built, so their dict never changes; PTB
sends a dict given as ``reply_markup`` as it is.

Keyed by the object's identity (PTB's objects take no weak references), so the cache holds the
objects it knows: the most recently used ``SIZE`` of them. Keyboards built for one message (a
ballot page) pass through it once and fall out; the cached ones stay, being sent all the time.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

from telegram import TelegramObject

SIZE = 128


class MarkupDicts:
    __slots__ = ("_known",)

    def __init__(self) -> None:
        self._known: OrderedDict[int, tuple[TelegramObject, dict[str, Any]]] = OrderedDict()

    def as_dict(self, markup: TelegramObject) -> dict[str, Any]:
        key = id(markup)
        known = self._known.get(key)
        if known is not None and known[0] is markup:
            self._known.move_to_end(key)
            return known[1]
        as_dict = markup.to_dict()
        self._known[key] = (markup, as_dict)  # holding the object keeps its id from being reused
        if len(self._known) > SIZE:
            self._known.popitem(last=False)
        return as_dict

    def __len__(self) -> int:
        return len(self._known)
