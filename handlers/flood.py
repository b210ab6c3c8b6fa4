"""Flood control at the door: every update from a person is counted (bot/campaign/flood.py) before any real
work, and what is over the limit stops here — no database, no conversation, no reply but one notice.

A polled update was counted already, before it was built or queued (bot/messenger/flood_door.py), and
what was dropped there never gets here: this guard acts on that verdict (``DECIDED``) — the
notice, in the update's turn — and counts only an update that went round the door
(process_update called directly, as the fast tests do).

The guard sits in group -2, registered before the moderation-reply handler of that group. It is a
handler whose check_update *is* the decision and which matches only updates to stop: an update
within the limit matches nothing here, so the next handler of the same group (the moderation
reply) still gets its turn — a plain TypeHandler would take every update and shadow it.
check_update runs exactly once per update (this handler is first in its group), so it is where
the token is taken.
"""
from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationHandlerStop, BaseHandler

from bot.campaign.flood import Verdict
from bot.messenger.context import KEY, AppContext
from bot.messenger.flood_door import DECIDED, subject
from handlers.common import Context, answer
from messages_fa import texts

log = logging.getLogger(__name__)


async def _never_called(update: Update, context: Context) -> None:  # handle_update is overridden
    raise AssertionError("FloodGuard's callback is not used")


class FloodGuard(BaseHandler[Update, Context, None]):
    """Matches (returns the Verdict for) only updates over the person's limit."""

    def __init__(self, application: Application) -> None:
        super().__init__(_never_called, block=True)
        self._application = application

    def check_update(self, update: object) -> Verdict | None:
        verdict = DECIDED.get()
        if verdict is None:
            who = subject(update)
            if who is None:
                return None  # channel posts and the like: nobody to slow down
            app: AppContext = self._application.bot_data[KEY]
            verdict = app.services.flood_check(app.platform.name, *who)
        return None if verdict is Verdict.PASS else verdict

    async def handle_update(self, update: Update, application: Application, check_result: Verdict,
                            context: Context) -> None:
        notice = check_result is Verdict.NOTICE
        if update.callback_query is not None:
            # The first press over the limit gets the notice as an alert. A dropped one gets here
            # only round the door (see above), where nothing queues: it is answered silently, as
            # Bale keeps a spinner otherwise.
            await answer(update, texts.flood_notice_buttons() if notice else None, alert=notice)
        elif notice:
            try:
                await context.bot.send_message(update.effective_chat.id, texts.flood_notice())
            except TelegramError as exc:  # blocked the bot meanwhile, or a hiccup: nothing to redo
                log.warning("update %s: flood notice not sent: %s", update.update_id, exc.__class__.__name__)
        if notice:
            app: AppContext = application.bot_data[KEY]
            log.info("%s: user %d over the flood limit; told to wait, excess dropped",
                     app.platform.name, update.effective_user.id)
        raise ApplicationHandlerStop
