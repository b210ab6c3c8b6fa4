"""/start, the neighbourhood, the main menu and the small commands."""
from __future__ import annotations

import asyncio

from telegram import Update
from telegram.constants import MessageLimit
from telegram.ext import ConversationHandler

from bot.campaign.phone import looks_like_phone
from bot.campaign.roles import roles_of
from bot.campaign.services import free_text
from bot.campaign.services.citizens import ChooseResult, MoveCheck, ReminderResult, after_choosing
from bot.campaign.services.free_text import Offer
from bot.campaign.services.proposals import Gate, VoiceCheck
from bot.campaign.services.voting import BallotGate
from bot.messenger import buttons as bt
from bot.messenger import keyboards, render
from bot.messenger.context import app_context
from handlers import ambassadors, proposals, results, voting
from handlers import states as S
from handlers.common import (
    Context,
    answer,
    changed,
    close_question,
    current_phase_line,
    edit_pressed,
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
    name = render.neighbourhood_name(app.services.config, citizen.neighbourhood_id)
    if citizen.neighbourhood_locked:
        await show_menu(update, context, citizen, texts.neighbourhood_locked(app.platform.markup, name))
        return END
    await offer_neighbourhoods(update, context, texts.choose_new_neighbourhood(app.platform.markup, name))
    return S.HOOD


async def _choose(update: Update, context: Context, neighbourhood_id: str):
    """A neighbourhood button (from whatever message, however old) or a typed name. Returns the
    state to go to: None keeps the step the citizen is in (a stray tap while writing a proposal)."""
    app, citizen = await enter(update, context)
    config, markup, pressed = app.services.config, app.platform.markup, update.callback_query is not None
    plan = await app.services.citizens.plan_move(citizen, neighbourhood_id)
    name = render.neighbourhood_name(config, neighbourhood_id)
    if plan.check is MoveCheck.UNKNOWN:
        if pressed:
            await answer(update, texts.button_expired(), alert=True)
        return None
    if plan.check is MoveCheck.LOCKED:
        locked = texts.neighbourhood_locked(markup, render.neighbourhood_name(config, citizen.neighbourhood_id))
        if pressed:
            await answer(update, locked, alert=True)
            return None
        await show_menu(update, context, citizen, locked)
        return END
    if plan.check is MoveCheck.CONFIRM:
        # Never a move on a tap alone: the question, in place of the pressed list.
        current = config.neighbourhood(citizen.neighbourhood_id)
        question = texts.move_confirm(markup, current.name, name, plan.has_draft)
        buttons = keyboards.move_confirm(config.neighbourhood(neighbourhood_id), current)
        if pressed:
            await asyncio.gather(answer(update), edit_pressed(update, context, question, buttons))
        else:
            await reply(update, context, question, buttons)
        return None
    result = await app.services.citizens.choose_neighbourhood(citizen, neighbourhood_id)
    if result is not ChooseResult.CHOSEN:  # moved and voted meanwhile, in another process: nothing changed
        if pressed:
            await answer(update, texts.button_expired(), alert=True)
        return None
    citizen = changed(context, after_choosing(citizen, neighbourhood_id))
    confirm = show_menu(update, context, citizen, texts.neighbourhood_set(markup, name))
    if pressed:
        await asyncio.gather(answer(update), confirm)
        # Then the list shows what was chosen and loses its buttons, so that it cannot be pressed
        # again later; only after the menu went out: if that failed («try again»), the buttons are
        # still there to press again.
        await close_question(update, context, texts.neighbourhood_picked(name))
    else:
        await confirm
    return END


@private_buttons_only
async def on_neighbourhood_pressed(update: Update, context: Context):
    return await _choose(update, context, data_of(update, bt.Neighbourhood).neighbourhood_id)


@private_buttons_only
async def on_move_pressed(update: Update, context: Context):
    """The answer to "you are in X; move to Y?", checked again now (a vote may have come between)."""
    app, citizen = await enter(update, context)
    config, markup = app.services.config, app.platform.markup
    target = data_of(update, bt.MoveNeighbourhood).neighbourhood_id
    current = render.neighbourhood_name(config, citizen.neighbourhood_id)
    if citizen.neighbourhood_id is None:  # nobody is asked to move before choosing: forged or stale
        await answer(update, texts.button_expired(), alert=True)
        return None
    if target is None:
        await asyncio.gather(answer(update), edit_pressed(update, context, texts.stayed(markup, current)))
        return END
    plan = await app.services.citizens.plan_move(citizen, target)
    if plan.check is MoveCheck.UNKNOWN:
        await answer(update, texts.button_expired(), alert=True)
        return None
    if plan.check is MoveCheck.LOCKED or (
            plan.check is MoveCheck.CONFIRM
            and await app.services.citizens.choose_neighbourhood(citizen, target) is ChooseResult.LOCKED):
        locked = texts.neighbourhood_locked(markup, current)
        await asyncio.gather(answer(update, locked, alert=True), edit_pressed(update, context, locked))
        return END
    changed(context, after_choosing(citizen, target))
    name = render.neighbourhood_name(config, target)
    await asyncio.gather(answer(update), edit_pressed(update, context, texts.moved(markup, name, plan.has_draft)))
    return END


@private_buttons_only
async def on_all_neighbourhoods_pressed(update: Update, context: Context) -> None:
    """The full list, asked for on a "not found" answer: that very message becomes it."""
    app = app_context(context)
    await asyncio.gather(answer(update), edit_pressed(update, context, texts.choose_neighbourhood(),
                                                      keyboards.neighbourhoods(app.services.config.neighbourhoods)))


async def on_neighbourhood_typed(update: Update, context: Context):
    app, _ = await enter(update, context)
    typed = update.message.text[:MessageLimit.MAX_TEXT_LENGTH]
    match = app.services.citizens.match_name(typed)
    if len(match.found) == 1:
        return await _choose(update, context, match.found[0].id)
    shown, markup = typed[:50], app.platform.markup
    # Never the full list again: each "not found" would leave one more live 27-button message.
    if match.found:
        await reply(update, context, texts.neighbourhood_several(markup, shown), keyboards.neighbourhood_choices(tuple(match.found)))
    elif match.close:
        await reply(update, context, texts.neighbourhood_close(markup, shown), keyboards.neighbourhood_choices(tuple(match.close)))
    else:
        await reply(update, context, texts.neighbourhood_not_found(markup, shown), keyboards.all_neighbourhoods_button())
    return S.HOOD


async def on_neighbourhood_other(update: Update, context: Context):
    await reply(update, context, texts.choose_neighbourhood(), keyboards.all_neighbourhoods_button())
    return None


async def on_group_start(update: Update, context: Context) -> None:
    """/start or /help in a group: one short answer with the way into the private chat."""
    app = app_context(context)
    link = app.platform.deep_link(context.bot.username)
    await reply(update, context, texts.group_start(), keyboards.private_chat(link))


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
    one who is asked for their phone may type it; a proposal may be typed straight into the chat.
    Staff, who write to the bot for their work (and may never choose one), are not guessed at."""
    app, citizen = await enter(update, context)
    message = update.message
    if (citizen.neighbourhood_id is None and message and message.text
            and not roles_of(app.services.config, app.platform.name, update.effective_user.id)):
        return await on_neighbourhood_typed(update, context)
    typed = (message.text or message.caption) if message else None
    if typed and typed.startswith("/"):  # a command we do not have is no proposal
        typed = None
    if typed and looks_like_phone(typed) and app.services.voting.gate(citizen) is BallotGate.NOT_VERIFIED:
        await reply(update, context, texts.phone_typed(), keyboards.share_phone())
        return None
    if typed and citizen.neighbourhood_id is not None:
        return await on_free_text(update, context, typed)
    if message and message.voice and citizen.neighbourhood_id is not None:
        return await on_free_voice(update, context)
    await show_menu(update, context, citizen, texts.not_understood())
    return None


async def on_free_text(update: Update, context: Context, typed: str):
    """Text at the main menu: an offer to make it a proposal, or what can be done now."""
    app, citizen = await enter(update, context)
    result = await free_text.offer_text(app.services.proposals, citizen, typed)
    return await _offered(update, context, result, texts.from_text_offer, b.START_FROM_TEXT)


async def on_free_voice(update: Update, context: Context):
    """A voice note at the main menu (issue 16 §4): offered as a proposal's description like text."""
    app, citizen = await enter(update, context)
    voice = update.message.voice
    seconds = proposals.voice_seconds(voice)
    result = await free_text.offer_voice(app.services.proposals, citizen, voice.file_id, seconds, voice.file_size)
    if result.offer is Offer.VOICE_REFUSED:
        limits = app.services.config.voice
        text = (texts.voice_too_long(limits.max_seconds, seconds) if result.voice is VoiceCheck.TOO_LONG
                else texts.voice_too_big(limits.max_megabytes))
        await show_menu(update, context, citizen, text)
        return None
    return await _offered(update, context, result, texts.from_voice_offer, b.START_FROM_VOICE)


async def _offered(update: Update, context: Context, result, offer_text, yes: str):
    app, citizen = await enter(update, context)
    if result.offer is Offer.OFFERED:
        name = render.neighbourhood_name(app.services.config, citizen.neighbourhood_id)
        await reply(update, context, offer_text(app.platform.markup, name), keyboards.from_text_offer(yes))
        return None
    if result.offer is Offer.GATE and result.gate is not Gate.NOT_OPEN:
        return await proposals.refused(update, context, result.gate)
    text = {
        Offer.DRAFT_EXISTS: texts.from_text_draft_exists,
        Offer.TOO_LONG: lambda: texts.from_text_too_long(result.limit, result.length),
    }.get(result.offer)
    if text is None:
        phase = app.services.phase().phase
        action = keyboards.main_action(phase, remind_me_pending=not citizen.remind_me)
        text = lambda: texts.what_now(current_phase_line(app), action)  # noqa: E731
    await show_menu(update, context, citizen, text())
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
