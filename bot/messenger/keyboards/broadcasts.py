"""Staff keyboards of the broadcast flow. Every press is re-checked on the server (admin, state).

Callback data, packed by bt.Broadcast, all "bc:<action>:<broadcast id>[:<argument>]":
  bc:a:<id>:<e|s|m|v>   audience: everyone, "remind me" subscribers, ambassadors, non-voters
  bc:n:<id>             open the neighbourhood picker;  bc:t:<id>:<index>  toggle one neighbourhood
  bc:d:<id>             neighbourhoods chosen → preview
  bc:p:<id>:<a|t|b>     both messengers, only Telegram, only Bale
  bc:go:<id>            send now;  bc:at:<id>  ask for a time;  bc:back:<id>  back to the audiences
  bc:x:<id>             cancel: a draft, a scheduled broadcast, or one that is sending
"""
from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup

from bot.campaign.config import Neighbourhood
from bot.messenger import buttons as bt
from domain import AMBASSADORS, EVERYONE, NON_VOTERS, SUBSCRIBERS
from messages_fa import broadcasts as t

AUDIENCE_CODES = {"e": EVERYONE, "s": SUBSCRIBERS, "m": AMBASSADORS, "v": NON_VOTERS}
PLATFORM_CODES = {"a": None, "t": "telegram", "b": "bale"}
_CODE_OF_PLATFORM = {v: k for k, v in PLATFORM_CODES.items()}


def audience_menu(broadcast_id: int, counts: dict[str, int], platform: str | None, platforms: list[str],
                  voting: bool) -> InlineKeyboardMarkup:
    def kind(label: str, code: str) -> Button:
        return Button(t.with_count(label, counts[AUDIENCE_CODES[code]]), callback_data=bt.Broadcast("a", broadcast_id, code).pack())

    rows = [[kind(t.AUDIENCE_EVERYONE, "e")],
            [Button(t.AUDIENCE_NEIGHBOURHOODS, callback_data=bt.Broadcast("n", broadcast_id).pack())],
            [kind(t.AUDIENCE_SUBSCRIBERS, "s")],
            [kind(t.AUDIENCE_AMBASSADORS, "m")]]
    if voting:
        rows.append([kind(t.AUDIENCE_NON_VOTERS, "v")])
    if len(platforms) > 1:
        rows.append([Button(t.platform_choice(name, name == platform),
                            callback_data=bt.Broadcast("p", broadcast_id, _CODE_OF_PLATFORM[name]).pack())
                     for name in [None, *platforms]])
    rows.append([Button(t.CANCEL_DRAFT, callback_data=bt.Broadcast("x", broadcast_id).pack())])
    return InlineKeyboardMarkup(rows)


def neighbourhood_picker(broadcast_id: int, neighbourhoods: tuple[Neighbourhood, ...], chosen: set[str],
                         counts: dict[str, int]) -> InlineKeyboardMarkup:
    buttons = [Button(t.neighbourhood_choice(n.name, counts.get(n.id, 0), n.id in chosen),
                      callback_data=bt.Broadcast("t", broadcast_id, str(index)).pack()) for index, n in enumerate(neighbourhoods)]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    rows.append([Button(t.NEIGHBOURHOODS_DONE, callback_data=bt.Broadcast("d", broadcast_id).pack()),
                 Button(t.CHANGE_AUDIENCE, callback_data=bt.Broadcast("back", broadcast_id).pack())])
    return InlineKeyboardMarkup(rows)


def confirm(broadcast_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [Button(t.SEND_NOW, callback_data=bt.Broadcast("go", broadcast_id).pack()),
         Button(t.SCHEDULE, callback_data=bt.Broadcast("at", broadcast_id).pack())],
        [Button(t.CHANGE_AUDIENCE, callback_data=bt.Broadcast("back", broadcast_id).pack()),
         Button(t.CANCEL_DRAFT, callback_data=bt.Broadcast("x", broadcast_id).pack())],
    ])


def stop_sending(broadcast_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[Button(t.STOP_SENDING, callback_data=bt.Broadcast("x", broadcast_id).pack())]])


def cancel_list(broadcast_ids: list[int]) -> InlineKeyboardMarkup | None:
    if not broadcast_ids:
        return None
    return InlineKeyboardMarkup([[Button(t.cancel_item(i), callback_data=bt.Broadcast("x", i).pack())]
                                 for i in broadcast_ids])
