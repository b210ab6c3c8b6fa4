"""An admin's message that answers the bot's question: a broadcast's content, a time.

Runs before the citizen handlers and consumes a message only when that admin has an open question
in staff_inputs (the database, so it survives restarts). Other commands work as usual and leave
the question open; /cancel closes it.
"""
from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.context import app_context
from handlers import broadcasts, schedule
from handlers.common import Context
from messages_fa import broadcasts as t

TAKERS = {
    broadcasts.CONTENT: lambda u, c, app, target: broadcasts.take_content(u, c, app),
    broadcasts.TIME: lambda u, c, app, target: broadcasts.take_time(u, c, app, int(target)),
    schedule.BOUNDARY: schedule.take_boundary_time,
}


async def on_staff_input(update: Update, context: Context) -> None:
    app = app_context(context)
    user = update.effective_user
    if user is None or not app.services.is_admin(app.platform.name, user.id):
        return
    expected = await app.services.repos.staff_inputs.expected(app.platform.name, user.id)
    if expected is None:
        return
    kind, target = expected
    message = update.message
    if message.text and message.text.startswith("/"):
        if message.text.split()[0].split("@")[0] != "/cancel":
            return
        await app.services.repos.staff_inputs.clear(app.platform.name, user.id)
        await context.bot.send_message(message.chat_id, t.input_cancelled())
        raise ApplicationHandlerStop
    taker = TAKERS.get(kind)
    if taker is None:  # written by a newer version of the bot
        await app.services.repos.staff_inputs.clear(app.platform.name, user.id)
        return
    await taker(update, context, app, target)
    raise ApplicationHandlerStop
