"""/start, the neighbourhood, the main menu and the small commands."""
from __future__ import annotations

import asyncio

from telegram import Update
from telegram.constants import MessageLimit
from telegram.ext import ConversationHandler

from bot.campaign.roles import roles_of
from bot.campaign.services.citizens import ChooseResult, ReminderResult, after_choosing
from bot.messenger import buttons as bt
from bot.messenger import keyboards, render
from bot.messenger.context import app_context
from handlers import ambassadors, proposals, results, voting
from handlers import states as S
from handlers.common import (
    Context,
    answer,
    changed,
    current_phase_line,
    enter,
    first_contact,
    offer_neighbourhoods,
    private_buttons_only,
    reply,
    show_menu,
)
from handlers.presses import data_of
from messages_fa import ambassadors as amb_texts
from messages_fa import buttons as b
from messages_fa import texts

END = ConversationHandler.END


async def on_start(update: Update, context: Context):
    app, citizen = await enter(update, context)
    config, markup = app.services.config, app.platform.markup
    payload = context.args[0] if context.args else None
    # An ambassador's link: counted only for someone new, and their neighbourhood comes with it.
    if await app.services.ambassadors.join(citizen, first_contact(context), payload):
        app, citizen = await enter(update, context, fresh=True)
        hood = config.neighbourhood(citizen.neighbourhood_id)
        if hood is not None:
            joined = amb_texts.joined_through_link(markup, hood.name)
            await show_menu(update, context, citizen, texts.welcome_through_link(markup, current_phase_line(app), joined))
            return END
    hood = config.neighbourhood(citizen.neighbourhood_id)
    if hood is None:
        await offer_neighbourhoods(update, context, texts.welcome(markup, current_phase_line(app), None))
        return S.HOOD
    await show_menu(update, context, citizen, texts.welcome(markup, current_phase_line(app), hood.name))
    return END


async def ask_neighbourhood(update: Update, context: Context):
    app, citizen = await enter(update, context)
    if citizen.neighbourhood_locked:
        name = render.neighbourhood_name(app.services.config, citizen.neighbourhood_id)
        await show_menu(update, context, citizen, texts.neighbourhood_locked(app.platform.markup, name))
        return END
    await offer_neighbourhoods(update, context, texts.choose_neighbourhood())
    return S.HOOD


async def _choose(update: Update, context: Context, neighbourhood_id: str):
    app, citizen = await enter(update, context)
    result = await app.services.citizens.choose_neighbourhood(citizen, neighbourhood_id)
    name = render.neighbourhood_name(app.services.config, neighbourhood_id)
    if result is ChooseResult.UNKNOWN:
        if update.callback_query:
            await answer(update, texts.button_expired(), alert=True)
        return None
    if result is ChooseResult.LOCKED:
        current = render.neighbourhood_name(app.services.config, citizen.neighbourhood_id)
        locked = texts.neighbourhood_locked(app.platform.markup, current)
        if update.callback_query:
            await answer(update, locked, alert=True)
        else:
            await show_menu(update, context, citizen, locked)
        return END
    citizen = changed(context, after_choosing(citizen, neighbourhood_id))
    confirm = show_menu(update, context, citizen, texts.neighbourhood_set(app.platform.markup, name))
    if update.callback_query:
        await asyncio.gather(answer(update), confirm)
    else:
        await confirm
    return END


@private_buttons_only
async def on_neighbourhood_pressed(update: Update, context: Context):
    return await _choose(update, context, data_of(update, bt.Neighbourhood).neighbourhood_id)


async def on_neighbourhood_typed(update: Update, context: Context):
    app, _ = await enter(update, context)
    typed = update.message.text[:MessageLimit.MAX_TEXT_LENGTH]
    matches = app.services.citizens.match_neighbourhoods(typed)
    if len(matches) == 1:
        return await _choose(update, context, matches[0].id)
    shown = typed[:50]
    if matches:
        await reply(update, context, texts.neighbourhood_several(app.platform.markup, shown), keyboards.neighbourhoods(tuple(matches)))
    else:
        await offer_neighbourhoods(update, context, texts.neighbourhood_not_found(app.platform.markup, shown))
    return S.HOOD


async def on_neighbourhood_other(update: Update, context: Context):
    await offer_neighbourhoods(update, context, texts.choose_neighbourhood())
    return None


async def on_help(update: Update, context: Context):
    # No keyboard of its own: /help in the middle of a step leaves that step's buttons in place.
    app = app_context(context)
    limits = app.services.config.limits
    await reply(update, context, texts.help_text(app.platform.markup, limits.votes_per_citizen, limits.proposals_per_citizen,
                                                 app.services.config.profile.support))
    return None


async def on_whoami(update: Update, context: Context) -> None:
    app = app_context(context)
    chat = update.effective_chat
    group_id = chat.id if chat.type != "private" else None
    await reply(update, context, texts.whoami(app.platform.persian_name, update.effective_user.id, group_id))


async def on_cancel(update: Update, context: Context):
    app, citizen = await enter(update, context)
    await app.services.proposals.discard(citizen)
    await show_menu(update, context, citizen, texts.cancelled())
    return END


async def on_remind_me(update: Update, context: Context):
    app, citizen = await enter(update, context)
    opens = render.when(app.services.config, app.services.calendar.current.proposals_opens)
    result = await app.services.citizens.remind_me(citizen)
    if result is ReminderResult.TOO_LATE:
        await show_menu(update, context, citizen, texts.menu_hint(current_phase_line(app)))
        return END
    _, citizen = await enter(update, context, fresh=True)
    saved = result is ReminderResult.STORED
    await show_menu(update, context, citizen, texts.remind_me_saved(opens) if saved else texts.remind_me_already(opens))
    return END


async def on_my_proposals(update: Update, context: Context):
    app, citizen = await enter(update, context)
    proposals = await app.services.proposals.mine(citizen)
    text = render.my_proposals(app.platform, proposals, app.services.config.money_unit)
    await show_menu(update, context, citizen, text)
    return END


async def on_unknown(update: Update, context: Context):
    """Anything no other handler took. A citizen with no neighbourhood is most likely typing one;
    staff, who write to the bot for their work (and may never choose one), are not guessed at."""
    app, citizen = await enter(update, context)
    if (citizen.neighbourhood_id is None and update.message and update.message.text
            and not roles_of(app.services.config, app.platform.name, update.effective_user.id)):
        return await on_neighbourhood_typed(update, context)
    await show_menu(update, context, citizen, texts.not_understood())
    return None


async def on_unknown_button(update: Update, context: Context) -> None:
    """Data no family reads (bot/messenger/buttons.py): the one refusal of every unknown or malformed press."""
    await answer(update, texts.button_expired(), alert=True)


async def on_menu(update: Update, context: Context):
    """A main-menu button, pressed or typed, from anywhere: it also ends any flow in progress."""
    app, citizen = await enter(update, context)
    label = b.recognise(update.message.text)
    if label == b.HELP:
        await on_help(update, context)
        return END
    if label == b.AMBASSADOR:  # the form asks for its own neighbourhood
        return await ambassadors.on_entry(update, context)
    if label == b.RESULTS:  # everyone's, not only one's own neighbourhood's
        await results.on_citizen_results(update, context)
        return END
    if citizen.neighbourhood_id is None:
        await offer_neighbourhoods(update, context, texts.neighbourhood_needed())
        return S.HOOD
    actions = {
        b.SEND_PROPOSAL: proposals.start_proposal,
        b.VOTE: voting.open_ballot,
        b.MY_PROPOSALS: on_my_proposals,
        b.CHANGE_NEIGHBOURHOOD: ask_neighbourhood,
        b.REMIND_ME: on_remind_me,
    }
    state = await actions[label](update, context)
    # A menu press always leaves the flow it interrupted, unless it starts another one.
    return END if state is None else state
