"""An admin's message that answers the bot's question: a broadcast's content, a time.

Runs before the citizen handlers and consumes a message only when that admin has an open question
in staff_inputs (the database, so it survives restarts). Other commands work as usual and leave
the question open; /cancel closes it.
"""
from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ConversationHandler

from bot.campaign.roles import COMMAND_ACTIONS, roles_of
from bot.messenger.context import app_context
from handlers import broadcasts, review, schedule
from handlers.common import MAIN_MENU, Context, acting
from messages_fa import broadcasts as t

# kind → (the action it belongs to, checked again now; what takes the answer)
TAKERS = {
    broadcasts.CONTENT: ("broadcast", lambda u, c, app, target: broadcasts.take_content(u, c, app)),
    broadcasts.TIME: ("broadcast", lambda u, c, app, target: broadcasts.take_time(u, c, app, int(target))),
    schedule.BOUNDARY: ("schedule", schedule.take_boundary_time),
    review.DUPLICATE: ("moderate", review.take_duplicate_code),
    review.NOTE: ("review", review.take_note),
    review.COST: ("review", review.take_cost),
}


async def remember_staff_name(update: Update, context: Context) -> None:
    """Before anything else, for every update: a staff member's first name and @username as their
    messenger shows them now, so /audit names them (bot/campaign/services/audit.py keeps staff's
    only, and writes only when it changed)."""
    user = update.effective_user
    if user is None or user.is_bot:
        return
    app = app_context(context)
    await app.services.audit_log.remember(app.platform.name, user.id, user.first_name, user.username)


async def end_citizen_step(update: Update, context: Context):
    """A staff command, seen by the citizen conversation: it ends the step (END) of someone who may
    take it, so what they type afterwards is not read as that step's answer (a neighbourhood
    name); anyone else's step is kept (None). The command itself runs after this (group 1)."""
    app = app_context(context)
    name = update.message.text.split()[0][1:].split("@")[0].lower()
    action = COMMAND_ACTIONS.get(name)
    if action is None or not app.services.may(app.platform.name, update.effective_user.id, action):
        return None
    return ConversationHandler.END


async def on_staff_input(update: Update, context: Context) -> None:
    app = app_context(context)
    user = update.effective_user
    if user is None or not roles_of(app.services.config, app.platform.name, user.id):
        return
    questions, who = app.services.questions, acting(app, update)
    expected = await questions.open_question(who)
    if expected is None:
        return
    kind, target = expected
    message = update.message
    if MAIN_MENU.check_update(update):
        return  # an admin is a citizen too: the menu is never taken as an answer
    if message.text and message.text.startswith("/"):
        if message.text.split()[0].split("@")[0] != "/cancel":
            return
        await questions.close(who)
        await context.bot.send_message(message.chat_id, t.input_cancelled())
        raise ApplicationHandlerStop
    action, taker = TAKERS.get(kind, (None, None))
    if taker is None or not app.services.may(app.platform.name, user.id, action):
        # Written by a newer version, or the role was taken away meanwhile.
        await questions.close(who)
        return
    # Whatever citizen step they had left open ends: once the question is answered, what they type
    # next must not be taken as that step's answer (a neighbourhood name, a title).
    if context.application.persistence is not None:
        context.application.persistence.end_steps(update)
    await taker(update, context, app, target)
    raise ApplicationHandlerStop
