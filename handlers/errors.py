"""The last resort: log once with the update id (never the token or the citizen's text), and
tell the person something went wrong instead of leaving them waiting."""
from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest, TelegramError

from bot.messenger.context import app_context
from handlers.common import Context, was_answered
from messages_fa import texts

log = logging.getLogger("handlers.errors")


async def on_error(update: object, context: Context) -> None:
    update_id = update.update_id if isinstance(update, Update) else None
    error = context.error
    # Telegram and Bale number their updates independently: the messenger makes the id unique.
    platform = app_context(context).platform.name
    log.error("%s: update %s failed: %s", platform, update_id, error.__class__.__name__, exc_info=error,
              extra={"update_id": update_id, "platform": platform})
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query and await _alert(update):
            return
        if update.effective_chat and update.effective_chat.type == "private":
            await context.bot.send_message(update.effective_chat.id, texts.error_try_again(),
                                           parse_mode=app_context(context).platform.markup.parse_mode)
    except TelegramError:
        pass  # the messenger itself is failing; the log line above is what the operator needs


async def _alert(update: Update) -> bool:
    """«Try again» on the pressed button. False when no alert can show there: handlers answer a
    press first, so by the time a later reply fails the press is usually answered already (and a
    second answer would be refused: it is not tried)."""
    if was_answered(update):
        return False
    try:
        await update.callback_query.answer(texts.error_try_again(), show_alert=True)
    except BadRequest:
        return False
    return True
