"""Approve / reject buttons on staff cards. The role is checked on the server at every press."""
from __future__ import annotations

import re

from telegram import ForceReply, Update
from telegram.ext import ConversationHandler

from bot.context import app_context
from bot.services.proposals import MAX_REASON, Decision
from handlers import states as S
from handlers.common import Context, answer, reply
from messages_fa import texts
from storage.models import PENDING

END = ConversationHandler.END
MODERATION_DATA = re.compile(r"^m:([ar]):(\d{1,12})$")
PENDING_REJECTION = "rejecting_proposal"


def _staff_ref(update: Update, platform: str) -> str:
    return f"{platform}:{update.effective_user.id}"


async def _decide(update: Update, context: Context, proposal_id: int, approve: bool, reason: str | None):
    app = app_context(context)
    services = app.services
    result = await services.proposals.decide(
        services.is_admin(app.platform.name, update.effective_user.id), _staff_ref(update, app.platform.name),
        proposal_id, approve, reason,
    )
    if result.decision is Decision.DONE:
        # Committed. Editing every card on both messengers and telling the author can take a
        # while; the admin's answer must not wait for it.
        context.application.create_task(_announce(app, result.proposal, update.effective_user.full_name), update=update)
    return result.decision


async def _announce(app, proposal, by: str) -> None:
    await app.notifier.close_staff_cards(proposal, by)
    await app.notifier.tell_author(proposal)


async def on_moderation_pressed(update: Update, context: Context):
    app = app_context(context)
    match = MODERATION_DATA.match(update.callback_query.data or "")
    if match is None:
        await answer(update, texts.button_expired(), alert=True)
        return END
    if not app.services.is_admin(app.platform.name, update.effective_user.id):
        await answer(update, texts.staff_only(), alert=True)
        return END
    proposal_id = int(match[2])
    if match[1] == "a":
        decision = await _decide(update, context, proposal_id, True, None)
        await answer(update, _decision_text(decision), alert=decision is not Decision.DONE)
        return END
    proposal = await app.services.proposals.get(proposal_id)
    if proposal is None or proposal.status != PENDING:
        await answer(update, texts.already_decided() if proposal else texts.button_expired(), alert=True)
        return END
    await answer(update)
    context.user_data[PENDING_REJECTION] = proposal_id
    # Bots in groups see only replies to their own messages: ForceReply makes the reason one.
    # Not selective: the pressing admin is neither mentioned nor the author of a replied message.
    await reply(update, context, texts.ask_reject_reason(proposal.code), ForceReply())
    return S.REJECT_REASON


async def on_reject_reason(update: Update, context: Context):
    proposal_id = context.user_data.pop(PENDING_REJECTION, None)
    if proposal_id is None:
        # The process restarted between the press and the reason: in-memory state is gone.
        await reply(update, context, texts.button_expired())
        return END
    if len(update.message.text) > MAX_REASON:
        context.user_data[PENDING_REJECTION] = proposal_id
        await reply(update, context, texts.reason_too_long(MAX_REASON), ForceReply())
        return None
    decision = await _decide(update, context, proposal_id, False, update.message.text)
    await reply(update, context, _decision_text(decision))
    return END


async def on_reject_cancel(update: Update, context: Context):
    context.user_data.pop(PENDING_REJECTION, None)
    await reply(update, context, texts.cancelled())
    return END


def _decision_text(decision: Decision) -> str:
    return {
        Decision.DONE: texts.decision_saved(),
        Decision.ALREADY: texts.already_decided(),
        Decision.NOT_STAFF: texts.staff_only(),
        Decision.MISSING: texts.button_expired(),
    }[decision]
