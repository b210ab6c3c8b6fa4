"""/title <code> <title>: staff write the title a citizen left to them (issue 16, §4: a voice note
as the description, and a citizen who cannot type)."""
from __future__ import annotations

from telegram import Update

from bot.campaign.services.proposals import Decision
from bot.messenger.context import app_context
from handlers.common import Context, acting, allowed, reply, staff_place
from messages_fa import staff as t
from messages_fa import texts
from messages_fa.fit import units


async def on_title(update: Update, context: Context) -> None:
    app = app_context(context)
    # As /review: only who may moderate, only where staff work (their private chat, the staff chat).
    if not allowed(app, update, "moderate"):
        await reply(update, context, t.not_for_you())
        return
    if not staff_place(app, update):
        await reply(update, context, t.staff_place_only())
        return
    code, _, title = " ".join(context.args or []).partition(" ")
    if not code or not title.strip():
        await reply(update, context, texts.title_usage())
        return
    decision, proposal, limit = await app.services.proposals.write_title(acting(app, update), code, title)
    markup = app.platform.markup
    answers = {
        Decision.DONE: lambda: texts.title_written(proposal.code, markup.esc(proposal.title)),
        Decision.NOT_STAFF: texts.staff_only,
        Decision.CLOSED: texts.title_closed,
        Decision.MISSING: texts.title_not_left_to_staff,
        Decision.TOO_LONG: lambda: texts.too_long(texts.TITLE_WORD, limit, units(title.strip())),
        Decision.INVALID: lambda: texts.too_short(texts.TITLE_WORD),
    }
    await reply(update, context, answers.get(decision, t.already_done)())
