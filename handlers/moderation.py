"""Approve / reject buttons on staff cards. The role is checked on the server at every press.

Rejecting asks for a reason with a question the admin answers by replying to it (ForceReply makes
the reply automatic). The reason is matched to its proposal by the question's message id, kept in
the database: nothing else the admin types is ever taken as a reason, a restart loses nothing,
and two pending rejections cannot mix.
"""
from __future__ import annotations

from telegram import ForceReply, Update
from telegram.ext import ApplicationHandlerStop

from bot.campaign.services.proposals import MAX_REASON, Decision
from bot.messenger import buttons as bt
from bot.messenger.context import app_context
from domain import PENDING
from handlers.common import Context, acting, answer, reply, tell_privately
from handlers.presses import staff_press
from messages_fa import texts


async def _decide(update: Update, context: Context, proposal_id: int, approve: bool, reason: str | None):
    app = app_context(context)
    # The service checks the right: a reply to the reason question comes from anyone in the group.
    result = await app.services.proposals.decide(acting(app, update), proposal_id, approve, reason)
    if result.decision is Decision.DONE:
        # Committed. Editing every card on both messengers and telling the author can take a
        # while; the admin's answer must not wait for it.
        context.application.create_task(_announce(app, result.proposal, update.effective_user.full_name), update=update)
    return result.decision


async def _announce(app, proposal, by: str) -> None:
    await app.notifier.close_staff_cards(proposal, by)
    await app.notifier.tell_author(proposal)


async def on_moderation_pressed(update: Update, context: Context) -> None:
    app = app_context(context)
    if (press := await staff_press(update, app, bt.Moderation, "moderate")) is None:
        return
    proposal_id = press.proposal_id
    if press.approve:
        decision = await _decide(update, context, proposal_id, True, None)
        await answer(update, _decision_text(decision), alert=decision is not Decision.DONE)
        return
    proposal = await app.services.proposals.get(proposal_id)
    if proposal is None or proposal.status != PENDING:
        await answer(update, texts.already_decided() if proposal else texts.button_expired(), alert=True)
        return
    await answer(update)
    # Bots in groups see only replies to their own messages: ForceReply makes the reason one.
    # Not selective: the pressing admin is neither mentioned nor the author of a replied message.
    question = await reply(update, context, texts.ask_reject_reason(proposal.code), ForceReply())
    await app.services.proposals.remember_reason_question(
        app.platform.name, question.chat_id, question.message_id, proposal_id)


async def on_reply(update: Update, context: Context) -> None:
    """A reply to one of our reason questions is a rejection reason; any other reply goes on
    to the other handlers (this runs in an earlier group and stops only what it consumes)."""
    app = app_context(context)
    message = update.message
    replied = message.reply_to_message
    if replied.from_user is None or replied.from_user.id != context.bot.id:
        return
    proposal_id = await app.services.proposals.reason_question(app.platform.name, message.chat_id, replied.message_id)
    if proposal_id is None:
        return
    decision = await _decide(update, context, proposal_id, False, message.text)
    if decision is Decision.NOT_STAFF and update.effective_chat.type != "private":
        # Someone in the staff group who is not a moderator: told privately, not in the group.
        await tell_privately(update, context, texts.staff_only())
        raise ApplicationHandlerStop
    # Too long: nothing changed, and the question stays open for a shorter reply.
    await reply(update, context, texts.reason_too_long(MAX_REASON) if decision is Decision.TOO_LONG
                else _decision_text(decision))
    raise ApplicationHandlerStop


def _decision_text(decision: Decision) -> str:
    return {
        Decision.DONE: texts.decision_saved(),
        Decision.ALREADY: texts.already_decided(),
        Decision.NOT_STAFF: texts.staff_only(),
        Decision.MISSING: texts.button_expired(),
        Decision.NO_TITLE: texts.title_first(),
    }[decision]
