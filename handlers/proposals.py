"""Sending a proposal: category → title → description → photo/location → preview → submit.

Each step's input is committed to the draft table before the next question is asked, so a
restart resumes at the same step with nothing lost. Edit mode reuses the same steps and
returns to the preview instead of moving on.
"""
from __future__ import annotations

import datetime as dt
import warnings

from telegram import Update, Voice
from telegram.ext import ConversationHandler
from telegram.warnings import PTBDeprecationWarning

from bot.campaign.services import free_text
from bot.campaign.services.proposals import Gate, TextCheck, VoiceCheck
from bot.campaign.services.similar import Support
from bot.campaign.services.voting import BallotGate
from bot.messenger import buttons as bt
from bot.messenger import keyboards, render
from domain import PENDING
from handlers import states as S
from handlers.common import (
    Context,
    answer,
    close_question,
    current_phase_line,
    edit_pressed,
    enter,
    offer_neighbourhoods,
    reply,
    set_buttons,
    show_menu,
)
from handlers.presses import data_of
from handlers.voting import _edit_details as show_details
from messages_fa import buttons as b
from messages_fa import texts
from messages_fa.dates import jalali_date

END = ConversationHandler.END


async def _gate_refused(update: Update, context: Context, gate: Gate, at_submit: bool = False):
    app, citizen = await enter(update, context)
    if gate is Gate.NO_NEIGHBOURHOOD:
        await offer_neighbourhoods(update, context, texts.neighbourhood_needed())
        return S.HOOD
    service = app.services.proposals
    text = {
        Gate.NOT_OPEN: lambda: texts.proposals_not_open(current_phase_line(app)),
        Gate.LIMIT: lambda: texts.proposal_limit(app.services.config.limits.proposals_per_citizen),
        Gate.DAILY_LIMIT: lambda: texts.proposal_daily_limit(
            app.services.config.limits.proposals_per_day,
            jalali_date(service.next_day_starts(), app.services.config.timezone) if service.open_on_next_day() else None,
            draft_kept=at_submit),
        Gate.NO_DRAFT: texts.draft_missing,
    }[gate]()
    await show_menu(update, context, citizen, text)
    return END


async def start_proposal(update: Update, context: Context):
    app, citizen = await enter(update, context)
    gate, unfinished = await app.services.proposals.start(citizen)
    if gate is not Gate.OK:
        return await _gate_refused(update, context, gate)
    if unfinished is None:
        return await ask_category(update, context, S.CATEGORY)
    await reply(update, context, texts.draft_resumed())
    if not unfinished.category_id:
        return await ask_category(update, context, S.CATEGORY)
    if not unfinished.title:
        return await ask_title(update, context)
    if not unfinished.description:
        return await ask_description(update, context)
    return await send_preview(update, context)


async def ask_category(update: Update, context: Context, state: str):
    app, citizen = await enter(update, context)
    name = render.neighbourhood_name(app.services.config, citizen.neighbourhood_id)
    await reply(update, context, texts.ask_category(app.platform.markup, name), keyboards.categories(app.services.config.categories))
    return state


async def ask_title(update: Update, context: Context, state: str = S.TITLE):
    app, _ = await enter(update, context)
    text = f"{texts.ask_title(app.services.config.limits.title_length)}\n{texts.ask_title_or_staff()}"
    await reply(update, context, text, keyboards.flow(b.STAFF_WRITES_TITLE))
    return state


async def ask_description(update: Update, context: Context, state: str = S.DESCRIPTION):
    app, _ = await enter(update, context)
    config = app.services.config
    await reply(update, context, texts.ask_description(config.limits.description_length, config.voice.max_seconds),
                keyboards.flow())
    return state


async def ask_media(update: Update, context: Context, state: str = S.MEDIA):
    await reply(update, context, texts.ask_media(), keyboards.media_step())
    return state


async def send_preview(update: Update, context: Context):
    app, citizen = await enter(update, context)
    draft = await app.services.proposals.draft(citizen)
    if draft is None or not (draft.category_id and draft.title and draft.description):
        return await _gate_refused(update, context, Gate.NO_DRAFT)
    text = render.preview(app.platform, app.services.config, citizen.neighbourhood_id, draft)
    await reply(update, context, text, keyboards.preview())
    return S.PREVIEW


def on_category(then):
    async def handler(update: Update, context: Context):
        app, citizen = await enter(update, context)
        category_id = data_of(update, bt.Category).category_id
        if not await app.services.proposals.set_category(citizen, category_id):
            await answer(update, texts.button_expired(), alert=True)
            return None
        await answer(update)
        await _close_inline(update, context, f"{render.category_name(app.services.config, category_id)} ✅")
        return await then(update, context)
    return handler


def on_text_step(setter: str, word: str, then):
    """A step that takes text: the service checks length; a refusal keeps the step."""
    async def handler(update: Update, context: Context):
        app, citizen = await enter(update, context)
        result = await getattr(app.services.proposals, setter)(citizen, update.message.text)
        if result.check is TextCheck.TOO_LONG:
            await reply(update, context, texts.too_long(word, result.limit, result.length))
            return None
        if result.check is TextCheck.TOO_SHORT:
            await reply(update, context, texts.too_short(word))
            return None
        if result.check is TextCheck.NO_WORDS:
            await reply(update, context, texts.no_words(word))
            return None
        return await then(update, context)
    return handler


def on_staff_writes_title(then):
    """The title step's button for a citizen who cannot type: staff will write the title."""
    async def handler(update: Update, context: Context):
        app, citizen = await enter(update, context)
        await app.services.proposals.let_staff_write_title(citizen)
        await reply(update, context, texts.title_left_to_staff())
        return await then(update, context)
    return handler


def voice_seconds(voice: Voice) -> int:
    """A voice's length in seconds, whether PTB gives an int (22.x) or, as announced, a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = voice.duration
    return int(value.total_seconds()) if isinstance(value, dt.timedelta) else int(value)


def on_voice(then):
    """A voice note at the description step is the description; too long or too big, the step stays.
    A voice note sent at the main menu is offered as a proposal the same way (handlers/start.on_free_voice)."""
    async def handler(update: Update, context: Context):
        app, citizen = await enter(update, context)
        voice = update.message.voice
        seconds = voice_seconds(voice)
        check = await app.services.proposals.set_voice(citizen, voice.file_id, seconds, voice.file_size)
        limits = app.services.config.voice
        if check is VoiceCheck.TOO_LONG:
            await reply(update, context, texts.voice_too_long(limits.max_seconds, seconds))
            return None
        if check is VoiceCheck.TOO_BIG:
            await reply(update, context, texts.voice_too_big(limits.max_megabytes))
            return None
        await reply(update, context, texts.voice_saved(seconds))
        return await then(update, context)
    return handler


def expect_text(word: str):
    async def handler(update: Update, context: Context):
        await reply(update, context, texts.text_expected(word))
        return None
    return handler


async def on_photo(update: Update, context: Context):
    app, citizen = await enter(update, context)
    # The last size is the largest; staff see the photo as the citizen sent it.
    await app.services.proposals.set_photo(citizen, update.message.photo[-1].file_id)
    await reply(update, context, texts.photo_saved())
    return None


async def on_location(update: Update, context: Context):
    app, citizen = await enter(update, context)
    location = update.message.location
    if not await app.services.proposals.set_location(citizen, location.latitude, location.longitude):
        await reply(update, context, texts.media_expected())
        return None
    await reply(update, context, texts.location_saved())
    return None


async def on_media_other(update: Update, context: Context):
    await reply(update, context, texts.media_expected())
    return None


async def on_press_buttons(update: Update, context: Context):
    await reply(update, context, texts.press_buttons_above())
    return None


async def on_preview_action(update: Update, context: Context):
    app, citizen = await enter(update, context)
    action = data_of(update, bt.Preview).action
    if action == bt.Preview.EDIT:
        await answer(update)
        await set_buttons(update, keyboards.edit_fields())
        return S.EDIT
    if action == bt.Preview.CANCEL:
        await answer(update)
        await app.services.proposals.discard(citizen)
        await _close_inline(update, context, None)
        await show_menu(update, context, citizen, texts.proposal_cancelled())
        return END
    result = await app.services.proposals.submit(citizen)
    if result.gate is Gate.OK:
        # Committed: the staff cards go out whatever happens to the replies below.
        context.application.create_task(app.notifier.post_staff_cards(result.proposal), update=update)
    await answer(update)
    if result.gate is not Gate.OK:
        return await _gate_refused(update, context, result.gate, at_submit=True)
    await _close_inline(update, context, None)
    await show_menu(update, context, citizen, texts.proposal_submitted(app.platform.markup, result.proposal.code))
    return END


async def on_edit_choice(update: Update, context: Context):
    choice = data_of(update, bt.EditField).field
    await answer(update)
    if choice == "back":
        await set_buttons(update, keyboards.preview())
        return S.PREVIEW
    await _close_inline(update, context, None)
    if choice == "cat":
        return await ask_category(update, context, S.EDIT_CATEGORY)
    if choice == "title":
        return await ask_title(update, context, S.EDIT_TITLE)
    if choice == "desc":
        return await ask_description(update, context, S.EDIT_DESCRIPTION)
    if choice == "media":
        return await ask_media(update, context, S.EDIT_MEDIA)
    return S.EDIT


async def _close_inline(update: Update, context: Context, suffix: str | None) -> None:
    await close_question(update, context, suffix)


async def back_to_menu(update: Update, context: Context):
    """Back from the first step leaves the flow; the draft stays and "send a proposal" resumes it."""
    app, citizen = await enter(update, context)
    await show_menu(update, context, citizen, texts.menu_hint(current_phase_line(app)))
    return END



# -- similar proposals (issue 16 §3) ----------------------------------------------------------------

def _similar_items(found) -> tuple[list, list]:
    return ([(f.title, f.code, f.mine, f.status == PENDING) for f in found],
            [(f.id, f.title, f.mine) for f in found])


async def after_title(update: Update, context: Context):
    """The description question; when the neighbourhood has proposals like the title, they come
    first, in a message of their own with «this is what I meant» buttons (none found: no extra
    message). The citizen may press one, or «mine is different», or just write the description.
    The question stays a message of its own: it carries the step's reply keyboard, and the title
    step's («staff write the title») must not stay on screen under the description."""
    app, citizen = await enter(update, context)
    draft = await app.services.proposals.draft(citizen)
    if draft is not None and draft.description:
        # Kept from a text typed at the main menu and offered as this proposal (issue 16 §1).
        return await after_description(update, context)
    found = await app.services.similar.for_title(citizen, update.message.text or "")
    if not found:
        return await ask_description(update, context)
    items, keys = _similar_items(found)
    await reply(update, context, texts.similar_found(app.platform.markup, items, ""), keyboards.similar(keys))
    return await ask_description(update, context)


async def after_description(update: Update, context: Context):
    """The media question, after the similar proposals the description found (those the title
    found are not asked about again) when there are any."""
    app, citizen = await enter(update, context)
    draft = await app.services.proposals.draft(citizen)
    found = [] if draft is None or not draft.title else await app.services.similar.for_description(
        citizen, draft.title, draft.description or "")
    if found:
        items, keys = _similar_items(found)
        await reply(update, context, texts.similar_found(app.platform.markup, items, ""), keyboards.similar(keys))
    return await ask_media(update, context)


async def on_similar_pressed(update: Update, context: Context):
    """«This is what I meant»: a ❤ on someone else's proposal (once; staff see the count) or the
    citizen's own earlier one; the draft is dropped and the flow ends. «Mine is different»: the
    buttons go, the step stays. Re-checked on the server: neighbourhood, status, phase."""
    app, citizen = await enter(update, context)
    press = data_of(update, bt.Similar)
    if press.proposal_id is None:
        await answer(update)
        # The list goes with its buttons: pressed later, after a move, it would show another
        # neighbourhood's proposals again (tests/test_fuzz.py found it).
        await edit_pressed(update, context, texts.similar_different())
        return None
    outcome, proposal = await app.services.similar.support(citizen, press.proposal_id)
    if outcome is Support.CLOSED and proposal.on_the_ballot and app.services.voting.gate(citizen) is BallotGate.OK:
        # Pressed once voting is open: «support it» is a vote now — the message becomes the
        # proposal's details on the ballot, with its vote button (handlers/voting.py).
        view = await app.services.voting.details(citizen, proposal.id)
        if view is not None:
            await answer(update)
            await show_details(update, context, view)
            return None
    if outcome in (Support.GONE, Support.CLOSED):
        await answer(update, texts.similar_gone() if outcome is Support.GONE else texts.similar_closed(), alert=True)
        return None
    await app.services.proposals.discard(citizen)
    await answer(update)
    markup = app.platform.markup
    await _close_inline(update, context, None)
    text = (texts.similar_is_mine(markup, proposal.title, proposal.code) if outcome is Support.MINE
            else texts.similar_supported(markup, proposal.title, proposal.code, already=outcome is Support.ALREADY))
    await show_menu(update, context, citizen, text)
    return END


# --- a proposal from text typed at the main menu (issue 16; bot/campaign/services/free_text.py) -----

async def on_from_text_pressed(update: Update, context: Context):
    """The offer's answer. Yes: the proposal goes on from its first missing step (an old offer
    pressed while writing resumes that draft); no: the kept text is dropped."""
    app, citizen = await enter(update, context)
    accept = data_of(update, bt.FromText).accept
    await answer(update)
    if not accept:
        await free_text.decline(app.services.proposals, citizen)
        await close_question(update, context, None)
        await show_menu(update, context, citizen, texts.from_text_declined())
        return END
    gate = await app.services.proposals.gate(citizen)
    draft = await app.services.proposals.draft(citizen)
    if gate is Gate.OK and (draft is None or not draft.description):
        gate = Gate.NO_DRAFT  # declined or cancelled meanwhile: nothing kept to go on with
    if gate is not Gate.OK:
        return await _gate_refused(update, context, gate)
    await close_question(update, context, None)
    if not draft.category_id:
        return await ask_category(update, context, S.CATEGORY)
    if not draft.title:
        return await ask_title(update, context)
    return await send_preview(update, context)


refused = _gate_refused  # the refusals of the free-text offer (handlers/start.on_free_text) are these
