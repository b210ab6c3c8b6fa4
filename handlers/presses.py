"""A button press, read once: did it come from the chat its message was sent to, what does it carry
(bot/messenger/buttons.py), and may this person take it.

Where a press comes from: the messenger puts the pressed message, with its chat, into the update.
In a private chat the chat is the person (a private chat's id is its person's id, on Telegram and
on Bale alike; tell_privately relies on it too): a press whose message sits in someone else's
private chat is not a press this person could have made (a forged or replayed update). Answered into that
chat, it would speak to a stranger, and ``enter()`` would store that chat as the presser's own: it
is refused before any handler runs. In a group the message's chat is the group and whoever sees
it may press it — that is how staff press the cards in the staff chat; citizen buttons are refused
in groups by ``private_buttons_only`` and staff buttons check the role (and, where the screen shows
what a group must not see, the place) at every press.
"""
from __future__ import annotations

from typing import TypeVar

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, BaseHandler

from bot.messenger.buttons import ButtonData
from bot.messenger.context import AppContext
from handlers.common import Context, allowed, answer, staff_place
from messages_fa import texts

B = TypeVar("B", bound=ButtonData)


def from_another_chat(update: object) -> bool:
    """A press on a message of a private chat that is not the presser's."""
    if not isinstance(update, Update) or update.callback_query is None:
        return False
    query = update.callback_query
    chat = query.message.chat if query.message is not None else None
    return chat is not None and chat.type == "private" and chat.id != query.from_user.id


async def _never_called(update: Update, context: Context) -> None:  # handle_update is overridden
    raise AssertionError("PressGuard's callback is not used")


def _without_data(update: object) -> bool:
    """A press that carries no data: PTB hands it to the first CallbackQueryHandler whatever its
    pattern (only a press with data is matched against one), so it is refused here."""
    return isinstance(update, Update) and update.callback_query is not None and not update.callback_query.data


class PressGuard(BaseHandler[Update, Context, None]):
    """Matches only a press to refuse before any handler reads it — one from another person's
    private chat, or one without data — and refuses it. Registered in group -2 after the flood
    guard (handlers/flood.py), so a flood of them is slowed like any other."""

    def __init__(self) -> None:
        super().__init__(_never_called, block=True)

    def check_update(self, update: object):
        if from_another_chat(update):
            return texts.press_from_another_chat
        if _without_data(update):
            return texts.button_expired
        return None

    async def handle_update(self, update: Update, application: Application, check_result,
                            context: Context) -> None:
        await answer(update, check_result(), alert=True)
        raise ApplicationHandlerStop


def data_of(update: Update, family: type[B]) -> B:
    """The press's data, read by its family. Handlers are registered with the family's own pattern
    (``family.PATTERN``), so what reaches them parses; anything else went to the one refusal,
    handlers/start.on_unknown_button (a press without data, to PressGuard)."""
    data = family.parse(update.callback_query.data)
    if data is None:  # a handler registered without its family's pattern: a bug, not a press
        raise ValueError(f"{family.__name__} handler got {update.callback_query.data!r}")
    return data


async def staff_press(update: Update, app: AppContext, family: type[B], action: str, *,
                      refused=texts.staff_only, elsewhere=None) -> B | None:
    """A staff button's data, and its presser's right to ``action`` checked on the server now; with
    ``elsewhere``, also that the press is in a private chat or the staff chat (what the screen shows
    is not for a group). None when a check fails — the press is then already answered with
    ``refused()`` or ``elsewhere()``."""
    data = data_of(update, family)
    if not allowed(app, update, action):
        await answer(update, refused(), alert=True)
        return None
    if elsewhere is not None and not staff_place(app, update):
        await answer(update, elsewhere(), alert=True)
        return None
    return data
