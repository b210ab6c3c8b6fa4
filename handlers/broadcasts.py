"""Staff broadcasts: /broadcast (content → audience → preview → now or later), /broadcasts, cancel.

Only admins of the messenger the update comes from may do anything here; it is checked at every
command, message and press. What an admin's next message answers (the content, a time) is kept
in the database (staff_inputs), so a restart loses nothing and ordinary messages of an admin who
is also a citizen are never taken as broadcast content.
"""
from __future__ import annotations

from telegram import Message, Update

from bot.campaign.roles import NOT_STAFF
from bot.campaign.services.broadcasts import ScheduleResult, too_long
from bot.messenger import buttons as bt
from bot.messenger.broadcast.content import Content
from bot.messenger.context import AppContext, app_context
from bot.messenger.keyboards import broadcasts as kb
from bot.messenger.markup_dicts import NO_LINK_PREVIEW
from domain import DRAFT, NEIGHBOURHOODS, SENDING, Audience, Broadcast
from handlers.common import Context, acting, allowed, answer, staff_ref, unless_unchanged
from handlers.presses import staff_press
from messages_fa import broadcasts as t
from messages_fa import texts
from messages_fa.dates import jalali_datetime
from messages_fa.numbers import fa_digits

CONTENT, TIME = "broadcast_content", "broadcast_time"  # what staff_inputs expects
SNIPPET = 40


async def _send(context: Context, chat_id: int, text: str, markup=None) -> Message:
    # Staff texts are plain on both messengers: names and counts only, nothing to escape.
    return await context.bot.send_message(chat_id, text, reply_markup=markup, link_preview_options=NO_LINK_PREVIEW)


# -- commands -----------------------------------------------------------------------------------

async def on_broadcast(update: Update, context: Context) -> None:
    app = app_context(context)
    if not allowed(app, update, "broadcast"):
        await _send(context, update.effective_chat.id, t.staff_command_only())
        return
    if update.effective_chat.type != "private":
        await _send(context, update.effective_chat.id, t.private_only())
        return
    await app.services.questions.ask(acting(app, update), CONTENT, None)
    await _send(context, update.effective_chat.id, t.ask_content())


async def on_broadcasts(update: Update, context: Context) -> None:
    app = app_context(context)
    if not allowed(app, update, "broadcast"):
        await _send(context, update.effective_chat.id, t.staff_command_only())
        return
    items, cancellable = [], []
    for broadcast, progress in await app.services.broadcasts.recent():
        moment = broadcast.started_at or broadcast.send_at or broadcast.created_at
        items.append(t.list_item(
            broadcast.id, broadcast.status, jalali_datetime(moment, app.services.config.timezone),
            _audience_name(app, broadcast.audience), _snippet(broadcast),
            progress.sent if progress else None, progress.total if progress else None))
        if broadcast.status in ("scheduled", SENDING):
            cancellable.append(broadcast.id)
    await _send(context, update.effective_chat.id, t.list_text(items), kb.cancel_list(cancellable))


def _snippet(broadcast: Broadcast) -> str:
    text = " ".join((broadcast.text or "").split())
    if broadcast.announcement:
        text = t.ANNOUNCEMENT_NAMES[broadcast.announcement]
    elif not text:
        text = t.KIND_NAMES[broadcast.kind]
    return text if len(text) <= SNIPPET else text[:SNIPPET] + "…"


def _audience_name(app: AppContext, audience: Audience | None) -> str:
    if audience is None:
        return "—"
    names = [n.name for n in app.services.config.neighbourhoods if n.id in audience.neighbourhoods]
    return t.audience_label(audience.kind, names, audience.platform)


# -- what an admin types when the bot asked for it ------------------------------------------------

def _content_of(message: Message) -> tuple[str, str | None, list | None, str | None] | None:
    """(kind, text or caption, its entities, file_id), or None for what cannot be broadcast."""
    if message.photo:
        return "photo", message.caption, [e.to_dict() for e in message.caption_entities] or None, message.photo[-1].file_id
    if message.video:
        return "video", message.caption, [e.to_dict() for e in message.caption_entities] or None, message.video.file_id
    if message.document:
        return "document", message.caption, [e.to_dict() for e in message.caption_entities] or None, message.document.file_id
    if message.text:
        return "text", message.text, [e.to_dict() for e in message.entities] or None, None
    return None


async def take_content(update: Update, context: Context, app: AppContext) -> None:
    content = _content_of(update.message)
    if content is None:
        await _send(context, update.message.chat_id, t.content_unsupported())
        return
    kind, text, entities, file_id = content
    if over := too_long(kind, text):  # the question stays open for a shorter one
        await _send(context, update.message.chat_id, t.content_too_long(kind == "text", *over))
        return
    services, who = app.services, acting(app, update)
    broadcast = await services.broadcasts.draft(who, kind, text, entities, file_id)
    if broadcast is NOT_STAFF:  # the service's own check (on_staff_input's came first): a role just taken away
        await _send(context, update.message.chat_id, t.staff_command_only())
        return
    await services.questions.close(who)
    await services.broadcasts.choose(who, broadcast.id, Audience())
    text, markup = await _audience_menu(app, broadcast.id, None)
    await _send(context, update.message.chat_id, text, markup)


async def take_time(update: Update, context: Context, app: AppContext, broadcast_id: int) -> None:
    services = app.services
    example = services.calendar.example_time()
    result, moment = await services.broadcasts.schedule(
        acting(app, update), broadcast_id, update.message.text or "", app.platform.name, update.message.chat_id)
    chat_id = update.message.chat_id
    if result is ScheduleResult.NOT_STAFF:
        await _send(context, chat_id, t.staff_command_only())
        return
    if result is ScheduleResult.INVALID:
        await _send(context, chat_id, t.send_time_invalid(fa_digits(example)))
        return
    if result is ScheduleResult.PAST:
        await _send(context, chat_id, t.send_time_past())
        return
    await services.questions.close(acting(app, update))
    if result is ScheduleResult.NOT_DRAFT:
        await _send(context, chat_id, t.not_a_draft())
        return
    count = sum((await services.broadcasts.count((await services.broadcasts.get(broadcast_id)).audience)).values())
    await _send(context, chat_id, t.scheduled(broadcast_id, jalali_datetime(moment, services.config.timezone), count))


# -- buttons ----------------------------------------------------------------------------------------

async def on_pressed(update: Update, context: Context) -> None:
    app = app_context(context)
    if (press := await staff_press(update, app, bt.Broadcast, "broadcast")) is None:
        return
    action, broadcast_id, arg = press.action, press.broadcast_id, press.arg
    broadcast = await app.services.broadcasts.get(broadcast_id)
    if broadcast is None:
        await answer(update, texts.button_expired(), alert=True)
        return
    if action == "x":
        await _cancel(update, context, app, broadcast)
        return
    if broadcast.status != DRAFT:
        await answer(update, t.not_a_draft(), alert=True)
        return
    if not app.services.broadcasts.may_shape(broadcast, staff_ref(app, update)):
        await answer(update, texts.button_expired(), alert=True)  # forged, or another admin's
        return
    if update.effective_chat is None or update.effective_chat.type != "private":
        await answer(update, t.private_only(), alert=True)  # drafts live in private chats only
        return
    await ACTIONS[action](update, context, app, broadcast, arg)


async def _edit(update: Update, text: str, markup) -> None:
    async with unless_unchanged():
        await update.callback_query.edit_message_text(text, reply_markup=markup)


async def _choose(update: Update, app: AppContext, broadcast: Broadcast, audience: Audience) -> bool:
    """Sets the draft's audience; False when refused (the press is then answered). A draft that
    stopped being one meanwhile goes on as before: the next step finds it and says so."""
    if await app.services.broadcasts.choose(acting(app, update), broadcast.id, audience) is NOT_STAFF:
        await answer(update, texts.staff_only(), alert=True)
        return False
    return True


async def _audience_menu(app: AppContext, broadcast_id: int, platform: str | None):
    services = app.services.broadcasts
    counts = await services.menu_counts(platform)
    markup = kb.audience_menu(broadcast_id, counts, platform, services.enabled_platforms(), services.voting())
    return t.ask_audience(platform), markup


async def _choose_kind(update, context, app, broadcast, code) -> None:
    kind = kb.AUDIENCE_CODES.get(code or "")
    if kind is None or (kind == "non_voters" and not app.services.broadcasts.voting()):
        await answer(update, texts.button_expired(), alert=True)
        return
    platform = broadcast.audience.platform if broadcast.audience else None
    await _preview(update, context, app, broadcast, Audience(kind, (), platform))


async def _choose_platform(update, context, app, broadcast, code) -> None:
    if code not in kb.PLATFORM_CODES or (kb.PLATFORM_CODES[code] not in (None, *app.services.broadcasts.enabled_platforms())):
        await answer(update, texts.button_expired(), alert=True)
        return
    platform = kb.PLATFORM_CODES[code]
    current = broadcast.audience or Audience()
    if not await _choose(update, app, broadcast, Audience(current.kind, current.neighbourhoods, platform)):
        return
    await answer(update)
    await _edit(update, *await _audience_menu(app, broadcast.id, platform))


async def _back(update, context, app, broadcast, arg) -> None:
    await answer(update)
    platform = broadcast.audience.platform if broadcast.audience else None
    text, markup = await _audience_menu(app, broadcast.id, platform)
    await _send(context, update.effective_chat.id, text, markup)
    async with unless_unchanged():
        await update.callback_query.edit_message_reply_markup(None)


async def _picker(update, context, app, broadcast, chosen: set[str]) -> None:
    config = app.services.config
    platform = broadcast.audience.platform if broadcast.audience else None
    counts = await app.services.broadcasts.neighbourhood_counts(platform)
    names = [n.name for n in config.neighbourhoods if n.id in chosen]
    total = sum(counts.get(n, 0) for n in chosen)
    await _edit(update, t.ask_neighbourhoods(names, total),
                kb.neighbourhood_picker(broadcast.id, config.neighbourhoods, chosen, counts))


async def _open_picker(update, context, app, broadcast, arg) -> None:
    current = broadcast.audience or Audience()
    chosen = set(current.neighbourhoods) if current.kind == NEIGHBOURHOODS else set()
    if not await _choose(update, app, broadcast, Audience(NEIGHBOURHOODS, tuple(sorted(chosen)), current.platform)):
        return
    await answer(update)
    await _picker(update, context, app, broadcast, chosen)


async def _toggle(update, context, app, broadcast, arg) -> None:
    hoods = app.services.config.neighbourhoods
    if arg is None or not arg.isdigit() or int(arg) >= len(hoods):
        await answer(update, texts.button_expired(), alert=True)
        return
    current = broadcast.audience or Audience()
    chosen = set(current.neighbourhoods) if current.kind == NEIGHBOURHOODS else set()
    chosen ^= {hoods[int(arg)].id}
    if not await _choose(update, app, broadcast, Audience(NEIGHBOURHOODS, tuple(sorted(chosen)), current.platform)):
        return
    await answer(update)
    await _picker(update, context, app, broadcast, chosen)


async def _hoods_done(update, context, app, broadcast, arg) -> None:
    audience = broadcast.audience
    if audience is None or audience.kind != NEIGHBOURHOODS or not audience.neighbourhoods:
        await answer(update, t.no_neighbourhood_chosen(), alert=True)
        return
    await _preview(update, context, app, broadcast, audience)


async def _preview(update, context, app, broadcast, audience: Audience) -> None:
    services = app.services
    per_platform = await services.broadcasts.count(audience)
    count = sum(per_platform.values())
    if count == 0:
        await answer(update, t.audience_empty(), alert=True)
        return
    if not await _choose(update, app, broadcast, audience):
        return
    await answer(update)
    chat_id = update.effective_chat.id
    async with unless_unchanged():
        await update.callback_query.edit_message_reply_markup(None)
    await _send(context, chat_id, t.preview_intro())
    # The very function the sender uses: what the admin sees is what citizens get.
    await Content(broadcast, services.broadcasts, None).send(context.bot, app.platform.name, chat_id)
    other_platform = any(n for p, n in per_platform.items() if p != app.platform.name)
    summary = t.preview_summary(_audience_name(app, audience), count, per_platform,
                                other_platform and bool(broadcast.entities))
    await _send(context, chat_id, summary, kb.confirm(broadcast.id))


async def _send_now(update, context, app, broadcast, arg) -> None:
    services = app.services
    sent = await services.broadcasts.send_now(acting(app, update), broadcast.id, app.platform.name,
                                              update.effective_chat.id)
    if not sent:
        await answer(update, texts.staff_only() if sent is NOT_STAFF else t.not_a_draft(), alert=True)
        return
    # A time asked for earlier is no longer wanted.
    await services.questions.close(acting(app, update))
    await answer(update)
    count = sum((await services.broadcasts.count(broadcast.audience)).values())
    await _edit(update, t.starting(broadcast.id, count), None)
    if app.worker is not None:
        app.worker.wake()


async def _ask_time(update, context, app, broadcast, arg) -> None:
    services = app.services
    await services.questions.ask(acting(app, update), TIME, str(broadcast.id))
    await answer(update)
    await _send(context, update.effective_chat.id, t.ask_send_time(fa_digits(services.calendar.example_time())))


async def _cancel(update: Update, context: Context, app: AppContext, broadcast: Broadcast) -> None:
    was = await app.services.broadcasts.cancel(acting(app, update), broadcast.id)
    if was is NOT_STAFF:
        await answer(update, texts.staff_only(), alert=True)
        return
    if was is None:
        await answer(update, t.nothing_to_cancel(), alert=True)
        return
    if was == DRAFT:
        await answer(update)
        await _edit(update, t.draft_cancelled(), None)
        return
    if was == SENDING:
        # The sender stops before its next batch of requests; once what is in flight is written,
        # the worker edits every progress message to its final state and sends the report.
        await answer(update, t.stopping(broadcast.id), alert=True)
        if app.worker is not None:
            app.worker.wake()
        return
    await answer(update, t.cancelled_by_you(broadcast.id), alert=True)
    async with unless_unchanged():
        await update.callback_query.edit_message_reply_markup(None)


ACTIONS = {
    "a": _choose_kind, "p": _choose_platform, "n": _open_picker, "t": _toggle, "d": _hoods_done,
    "back": _back, "go": _send_now, "at": _ask_time,
}
