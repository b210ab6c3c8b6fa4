"""Keyboards of the ambassador programme. Every press is re-checked on the server.

Callback data:
  an:<neighbourhood id>            the form's neighbourhood;  an:-  back to the name
  ap:links|card|poster|stats|new   an ambassador's own panel
  amb:<a|r|s|u|x|k|v>:<citizen id> staff: approve, reject, suspend, reinstate (unsuspend), remove,
                                   revoke the link, view;  amb:p:<page>  the staff list's pages
"""
from __future__ import annotations

from functools import cache

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup

from bot.config import Neighbourhood
from messages_fa import ambassadors as t
from storage.models import AMB_APPROVED, AMB_SUSPENDED

PAGE = 8


BACK = "-"  # an:- goes back a step; config ids start with a letter or a digit


@cache
def neighbourhoods(items: tuple[Neighbourhood, ...]) -> InlineKeyboardMarkup:
    buttons = [Button(n.name, callback_data=f"an:{n.id}") for n in items]
    rows = [buttons[i:i + 3] for i in range(0, len(buttons), 3)]
    return InlineKeyboardMarkup([*rows, [Button(t.BACK, callback_data=f"an:{BACK}")]])


@cache
def panel() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [Button(t.MY_LINKS, callback_data="ap:links")],
        [Button(t.INVITE_CARD, callback_data="ap:card")],
        [Button(t.POSTER, callback_data="ap:poster")],
        [Button(t.MY_FIGURES, callback_data="ap:stats")],
        [Button(t.NEW_LINK, callback_data="ap:new")],
    ])


def open_bot(link: str) -> InlineKeyboardMarkup:
    # A URL button, not a callback: it still works in a copy forwarded into a group.
    return InlineKeyboardMarkup([[Button(t.OPEN_BOT, url=link)]])


def application(ambassador_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[Button(t.APPROVE, callback_data=f"amb:a:{ambassador_id}"),
                                  Button(t.REJECT, callback_data=f"amb:r:{ambassador_id}")]])


def manage(ambassador_id: int, status: str) -> InlineKeyboardMarkup:
    first = (Button(t.SUSPEND, callback_data=f"amb:s:{ambassador_id}") if status == AMB_APPROVED
             else Button(t.REINSTATE, callback_data=f"amb:u:{ambassador_id}"))
    rows = [[first, Button(t.REMOVE, callback_data=f"amb:x:{ambassador_id}")]]
    if status == AMB_APPROVED:
        rows.append([Button(t.REVOKE, callback_data=f"amb:k:{ambassador_id}")])
    return InlineKeyboardMarkup(rows) if status in (AMB_APPROVED, AMB_SUSPENDED) else InlineKeyboardMarkup([])


def standings(entries: list[tuple[int, str]], page: int, pages: int) -> InlineKeyboardMarkup | None:
    """``entries``: (citizen id, label) of this page."""
    rows = [[Button(label, callback_data=f"amb:v:{citizen_id}")] for citizen_id, label in entries]
    turn = []
    if page > 0:
        turn.append(Button(t.PREVIOUS, callback_data=f"amb:p:{page - 1}"))
    if page + 1 < pages:
        turn.append(Button(t.NEXT, callback_data=f"amb:p:{page + 1}"))
    if turn:
        rows.append(turn)
    return InlineKeyboardMarkup(rows) if rows else None
