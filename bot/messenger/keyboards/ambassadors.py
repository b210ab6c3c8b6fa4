"""Keyboards of the ambassador programme. Every press is re-checked on the server.

Callback data (bot/messenger/buttons.py): AmbassadorHood (the form's neighbourhood, or back to the name),
Panel (an ambassador's own panel), AmbassadorStaff (staff: approve, reject, suspend, reinstate,
remove, revoke the link, view; the staff list's pages).
"""
from __future__ import annotations

from functools import cache

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup

from bot.campaign.config import Neighbourhood
from bot.messenger import buttons as bt
from domain import AMB_APPROVED, AMB_SUSPENDED
from messages_fa import ambassadors as t

PAGE = 8


@cache
def neighbourhoods(items: tuple[Neighbourhood, ...]) -> InlineKeyboardMarkup:
    buttons = [Button(n.name, callback_data=bt.AmbassadorHood(n.id).pack()) for n in items]
    rows = [buttons[i:i + 3] for i in range(0, len(buttons), 3)]
    return InlineKeyboardMarkup([*rows, [Button(t.BACK, callback_data=bt.AmbassadorHood(None).pack())]])


@cache
def panel() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [Button(label, callback_data=bt.Panel(action).pack())]
        for label, action in ((t.MY_LINKS, "links"), (t.INVITE_CARD, "card"), (t.POSTER, "poster"),
                              (t.MY_FIGURES, "stats"), (t.NEW_LINK, "new"))
    ])


def open_bot(link: str) -> InlineKeyboardMarkup:
    # A URL button, not a callback: it still works in a copy forwarded into a group.
    return InlineKeyboardMarkup([[Button(t.OPEN_BOT, url=link)]])


def _staff(label: str, action: str, number: int) -> Button:
    return Button(label, callback_data=bt.AmbassadorStaff(action, number).pack())


def application(ambassador_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_staff(t.APPROVE, "a", ambassador_id), _staff(t.REJECT, "r", ambassador_id)]])


def manage(ambassador_id: int, status: str) -> InlineKeyboardMarkup:
    first = (_staff(t.SUSPEND, "s", ambassador_id) if status == AMB_APPROVED
             else _staff(t.REINSTATE, "u", ambassador_id))
    rows = [[first, _staff(t.REMOVE, "x", ambassador_id)]]
    if status == AMB_APPROVED:
        rows.append([_staff(t.REVOKE, "k", ambassador_id)])
    return InlineKeyboardMarkup(rows) if status in (AMB_APPROVED, AMB_SUSPENDED) else InlineKeyboardMarkup([])


def standings(entries: list[tuple[int, str]], page: int, pages: int) -> InlineKeyboardMarkup | None:
    """``entries``: (citizen id, label) of this page."""
    rows = [[_staff(label, "v", citizen_id)] for citizen_id, label in entries]
    turn = []
    if page > 0:
        turn.append(_staff(t.PREVIOUS, bt.AmbassadorStaff.PAGE, page - 1))
    if page + 1 < pages:
        turn.append(_staff(t.NEXT, bt.AmbassadorStaff.PAGE, page + 1))
    if turn:
        rows.append(turn)
    return InlineKeyboardMarkup(rows) if rows else None
