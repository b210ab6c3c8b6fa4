"""The ballot: phone verification, pages of proposals, vote and withdraw — edited in place."""
from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.error import TelegramError

from bot.campaign.services.citizens import PhoneResult, after_verifying
from bot.campaign.services.voting import BallotGate, DetailsView, VoteOutcome
from bot.messenger import buttons as bt
from bot.messenger import keyboards, render
from bot.messenger.context import app_context
from bot.messenger.markup_dicts import NO_LINK_PREVIEW
from handlers import outbox
from handlers import states as S
from handlers.common import (
    Context,
    answer,
    changed,
    current_phase_line,
    enter,
    offer_neighbourhoods,
    private_buttons_only,
    reply,
    show_menu,
    unless_unchanged,
)
from handlers.presses import data_of
from messages_fa import texts

log = logging.getLogger(__name__)


async def open_ballot(update: Update, context: Context):
    app, citizen = await enter(update, context)
    gate = app.services.voting.gate(citizen)
    if gate is BallotGate.NOT_OPEN:
        await show_menu(update, context, citizen, texts.voting_not_open(current_phase_line(app)))
        return None
    if gate is BallotGate.NO_NEIGHBOURHOOD:
        await offer_neighbourhoods(update, context, texts.neighbourhood_needed())
        return S.HOOD
    if gate is BallotGate.NOT_VERIFIED:
        voting = app.services.voting
        if await voting.nothing_to_vote_for(citizen):
            # Told before a phone number is asked for: it would be asked for nothing.
            hood = render.neighbourhood_name(app.services.config, citizen.neighbourhood_id)
            closes = render.when(app.services.config, voting.closes())
            await show_menu(update, context, citizen, texts.nothing_on_ballot(app.platform.markup, hood, closes))
            return None
        await reply(update, context, texts.ask_phone(), keyboards.share_phone())
        return None
    await send_ballot(update, context, page=0)
    return None


async def send_ballot(update: Update, context: Context, page: int) -> None:
    app, citizen = await enter(update, context)
    view = await app.services.voting.ballot(citizen, page)
    text = render.ballot(app.platform, app.services.config, citizen.neighbourhood_id, view)
    await reply(update, context, text, keyboards.ballot(view) if view.proposals else None)


async def _edit_ballot(update: Update, context: Context, page: int) -> None:
    app, citizen = await enter(update, context)
    view = await app.services.voting.ballot(citizen, page)
    text = render.ballot(app.platform, app.services.config, citizen.neighbourhood_id, view)
    async with unless_unchanged():
        await update.callback_query.edit_message_text(
            text, parse_mode=app.platform.markup.parse_mode, reply_markup=keyboards.ballot(view) if view.proposals else None,
        )


async def _edit_details(update: Update, context: Context, view: DetailsView) -> None:
    app = app_context(context)
    text = render.details(app.platform, app.services.config, view)
    async with unless_unchanged():
        await update.callback_query.edit_message_text(
            text, parse_mode=app.platform.markup.parse_mode, reply_markup=keyboards.details(view),
            link_preview_options=NO_LINK_PREVIEW,
        )


async def _send_media(app, kind: str, chat_id: int, proposal, caption: str | None) -> None:
    # Plain caption: a title is the citizen's own text, and Bale renders no markup anyway.
    try:
        await outbox.send(lambda: app.notifier.send_media(kind, app.platform.name, chat_id, proposal, caption))
    except (TelegramError, LookupError) as exc:  # the details are shown; only the file is missing
        log.warning("%s of proposal %d not shown on %s: %s", kind, proposal.id, app.platform.name,
                    exc.__class__.__name__)


async def on_contact(update: Update, context: Context):
    app, citizen = await enter(update, context)
    contact = update.message.contact
    result = await app.services.citizens.verify_phone(citizen, update.effective_user.id, contact.user_id, contact.phone_number)
    refusals = {
        PhoneResult.NOT_YOURS: texts.phone_not_yours,
        PhoneResult.NOT_IRANIAN: texts.phone_not_iranian,
        PhoneResult.IN_USE: texts.phone_in_use,
    }
    if result in refusals:
        await reply(update, context, refusals[result](), keyboards.share_phone())
        return None
    citizen = changed(context, after_verifying(citizen))
    done = texts.phone_verified() if result is PhoneResult.VERIFIED else texts.phone_already_verified()
    await show_menu(update, context, citizen, done)
    if app.services.voting.gate(citizen) is BallotGate.OK:
        await send_ballot(update, context, page=0)
    return None


@private_buttons_only
async def on_vote_pressed(update: Update, context: Context) -> None:
    app, citizen = await enter(update, context)
    press = data_of(update, bt.Vote)
    voting = app.services.voting
    result = await (voting.withdraw if press.withdraw else voting.cast)(citizen, press.proposal_id)
    if result.outcome is VoteOutcome.NOT_VERIFIED:
        await answer(update)
        await reply(update, context, texts.ask_phone(), keyboards.share_phone())
        return
    alerts = {
        VoteOutcome.NOT_OPEN: texts.voting_closed_alert,
        VoteOutcome.INELIGIBLE: texts.vote_not_available,
        VoteOutcome.LIMIT: lambda: texts.vote_limit(result.limit),
    }
    if result.outcome in alerts:
        await answer(update, alerts[result.outcome](), alert=True)
        return
    toast = (texts.vote_recorded if result.outcome is VoteOutcome.VOTED else texts.vote_withdrawn)(result.used, result.limit)
    # The toast and the edited ballot are independent calls: in parallel, the citizen waits one
    # round trip instead of two. Pressed on the details view, that view is what is edited (the
    # ballot and the details are one message, so the other shows the vote when it comes back).
    view = await voting.details(citizen, press.proposal_id) if press.details else None
    edit = _edit_details(update, context, view) if view else _edit_ballot(update, context, press.page)
    await asyncio.gather(answer(update, toast), edit)


@private_buttons_only
async def on_details_pressed(update: Update, context: Context) -> None:
    """The ballot message becomes the proposal's details (edited in place, with the same vote
    button and the way back); a photo sent on this messenger follows as its own message."""
    app, citizen = await enter(update, context)
    voting = app.services.voting
    gate = voting.gate(citizen)
    if gate is not BallotGate.OK:
        await answer(update, texts.voting_closed_alert() if gate is BallotGate.NOT_OPEN else texts.button_expired(), alert=True)
        return
    view = await voting.details(citizen, data_of(update, bt.Details).proposal_id)
    if view is None:
        await answer(update, texts.vote_not_available(), alert=True)
        return
    # Two calls at once at most (bot/app.CALLS_AT_ONCE_PER_UPDATE): the photo and the voice after.
    await asyncio.gather(answer(update), _edit_details(update, context, view))
    # On the other messenger a copy, uploaded by the first voter who opens it and kept for the rest.
    p, chat_id = view.proposal, update.effective_chat.id
    if p.photo_file_id:
        await _send_media(app, "photo", chat_id, p, texts.details_photo_caption(view.number, p.title))
    if p.voice_file_id:
        await _send_media(app, "voice", chat_id, p, None)


@private_buttons_only
async def on_page_pressed(update: Update, context: Context) -> None:
    app, citizen = await enter(update, context)
    page = data_of(update, bt.BallotPage).page
    gate = app.services.voting.gate(citizen)
    if gate is not BallotGate.OK:
        await answer(update, texts.voting_closed_alert() if gate is BallotGate.NOT_OPEN else texts.button_expired(), alert=True)
        return
    await asyncio.gather(answer(update), _edit_ballot(update, context, page))
