"""Small pieces every handler uses: who is this, how to reply, the main menu."""
from __future__ import annotations

import contextlib
import logging
import weakref
from collections import OrderedDict

from telegram import Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes, filters

from bot.campaign.roles import Actor, actor
from bot.messenger import keyboards, render
from bot.messenger.context import AppContext, app_context
from bot.messenger.markup_dicts import NO_LINK_PREVIEW
from domain import Citizen
from handlers import outbox
from messages_fa import buttons as b
from messages_fa import texts
from messages_fa.broadcasts import staff_command_only

Context = ContextTypes.DEFAULT_TYPE
log = logging.getLogger(__name__)

NEW_MESSAGE = filters.UpdateType.MESSAGE  # edited messages are not new input
PRIVATE = filters.ChatType.PRIVATE

MAIN_MENU_LABELS = {b.SEND_PROPOSAL, b.VOTE, b.MY_PROPOSALS, b.CHANGE_NEIGHBOURHOOD, b.HELP, b.REMIND_ME, b.AMBASSADOR,
                    b.RESULTS}


class _Recognised(filters.MessageFilter):
    """A text that stands for one of the given button labels, pressed or typed."""

    def __init__(self, labels: set[str], name: str) -> None:
        super().__init__(name=name)
        self.labels = labels

    def filter(self, message: Message) -> bool:
        return bool(message.text) and b.recognise(message.text) in self.labels


MAIN_MENU = _Recognised(MAIN_MENU_LABELS, "main menu")
BACK = _Recognised({b.BACK}, "back")
CANCEL_LABEL = _Recognised({b.CANCEL}, "cancel")
CONTINUE = _Recognised({b.CONTINUE}, "continue")
STAFF_WRITES_TITLE = _Recognised({b.STAFF_WRITES_TITLE}, "staff write the title")  # the title step only
# Free text for a step: anything typed that is not a command nor one of our buttons.
FREE_TEXT = filters.TEXT & ~filters.COMMAND & ~MAIN_MENU & ~BACK & ~CANCEL_LABEL & ~CONTINUE


class _WithoutPerson(filters.UpdateFilter):
    """A message no person is known to have sent: on behalf of a channel or anonymously for a group
    (``sender_chat``; ``from`` is then a stand-in such as Channel_Bot, or missing), or with no
    ``from`` at all. Nobody can be answered in private, no right checked, no citizen found."""

    def filter(self, update: Update) -> bool:
        return update.effective_user is None or update.effective_message.sender_chat is not None


WITHOUT_PERSON = _WithoutPerson(name="without a person")


async def enter(update: Update, context: Context, fresh: bool = False) -> tuple[AppContext, Citizen]:
    """The app and the citizen behind this update. PTB makes one context per update, so the
    citizen is read once and kept there; pass fresh=True after changing them."""
    app = app_context(context)
    citizen = getattr(context, "_citizen", None)
    if citizen is None or fresh:
        user = update.effective_user
        citizen, created = await app.services.citizens.enter(app.platform.name, user.id, update.effective_chat.id)
        if not fresh:
            context._citizen_new = created  # the first contact ever (an ambassador's link counts only then)
        context._citizen = citizen
    return app, citizen


def changed(context: Context, citizen: Citizen) -> Citizen:
    """The citizen as a service has just changed them (bot/campaign/services/citizens.py
    after_choosing, after_verifying), kept for the rest of this update instead of read again."""
    context._citizen = citizen
    return citizen


def first_contact(context: Context) -> bool:
    """Whether this update created the citizen (call enter() first)."""
    return getattr(context, "_citizen_new", False)


def staff_ref(app: AppContext, update: Update) -> str:
    """The presser, as the audit log names them."""
    return actor(app.platform.name, update.effective_user.id)


def acting(app: AppContext, update: Update) -> Actor:
    """The person behind this update, as a service that checks their rights itself takes them."""
    return Actor.person(app.platform.name, update.effective_user.id)


def staff_place(app: AppContext, update: Update) -> bool:
    """Staff screens (phones, proposals before moderation, staff ids) appear only in a private
    chat or the configured staff chat."""
    chat = update.effective_chat
    return chat is not None and (chat.type == "private"
                                 or chat.id == app.services.config.platforms[app.platform.name].staff_chat_id)


def allowed(app: AppContext, update: Update, action: str) -> bool:
    """Staff rights come from the config of the messenger this update arrived on, checked now
    for this action (bot/campaign/roles.py)."""
    return update.effective_user is not None and app.services.may(app.platform.name, update.effective_user.id, action)


async def reply(update: Update, context: Context, text: str, reply_markup=None) -> Message | None:
    """The message sent (None while a conversation step holds it: handlers/outbox.py)."""
    app = app_context(context)
    return await outbox.send(lambda: context.bot.send_message(
        update.effective_chat.id, text, parse_mode=app.platform.markup.parse_mode,
        reply_markup=reply_markup, link_preview_options=NO_LINK_PREVIEW,
    ))


def menu_markup(app: AppContext, citizen: Citizen):
    phase = app.services.phase().phase
    return keyboards.main_menu(phase, not citizen.neighbourhood_locked, remind_me_pending=not citizen.remind_me)


async def show_menu(update: Update, context: Context, citizen: Citizen, text: str) -> Message:
    return await reply(update, context, text, menu_markup(app_context(context), citizen))


def current_phase_line(app: AppContext) -> str:
    services = app.services
    return render.phase_line(services.config, services.phase(), services.clock.now())


async def answer(update: Update, text: str | None = None, alert: bool = False) -> None:
    """Every callback is answered exactly once (Bale keeps a spinner otherwise).

    Best effort: the answer only stops the spinner. When it fails, what was already committed
    must still be reported and acted on, so the failure is logged and the handler goes on.
    """
    async def answer_now() -> None:
        try:
            await update.callback_query.answer(text, show_alert=alert)
            _answered_lately(update)
        except TelegramError as exc:
            log.warning("update %s: answerCallbackQuery failed: %s", update.update_id, exc.__class__.__name__,
                        extra={"update_id": update.update_id})
    await outbox.send(answer_now, concurrent=True)


# Presses answered lately, per bot (query ids are the messenger's, one numbering per bot), so the
# error handler does not answer one a second time: the messenger refuses that ("query is too
# old"), and a press is answered exactly once. Bounded: an update's error handler runs right after
# its handlers.
# Keyed by the bot object itself (a Bot compares equal to any other with the same token).
_ANSWERED: dict[int, OrderedDict[str, None]] = {}
_ANSWERED_KEPT = 10_000


def _answered_by(bot: object) -> OrderedDict[str, None]:
    answered = _ANSWERED.get(id(bot))
    if answered is None:
        answered = _ANSWERED[id(bot)] = OrderedDict()
        weakref.finalize(bot, _ANSWERED.pop, id(bot), None)
    return answered


def _answered_lately(update: Update) -> None:
    answered = _answered_by(update.callback_query.get_bot())
    answered[update.callback_query.id] = None
    if len(answered) > _ANSWERED_KEPT:
        answered.popitem(last=False)


def was_answered(update: Update) -> bool:
    """Whether this update's press has been answered already (by answer())."""
    query = update.callback_query
    return query is not None and query.id in _ANSWERED.get(id(query.get_bot()), ())


async def offer_neighbourhoods(update: Update, context: Context, text: str) -> Message:
    """The question with the full 27-name keyboard (the citizen may also type a name)."""
    app = app_context(context)
    return await reply(update, context, text, keyboards.neighbourhoods(app.services.config.neighbourhoods))


def staff_command(action: str, handler):
    """A staff command from someone who may not take ``action``, sent in a group: refused in their
    private chat, never in the group (a stranger's /stats would otherwise make the bot post into a
    neighbourhood group). If the messenger will not let the bot write to them first, nobody hears
    of it. Everything else, refusals in a private chat included, is the handler's own."""
    async def guarded(update: Update, context: Context):
        chat = update.effective_chat
        if chat.type != "private" and not allowed(app_context(context), update, action):
            await tell_privately(update, context, staff_command_only())
            return None
        return await handler(update, context)
    guarded.__name__ = handler.__name__
    return guarded


async def tell_privately(update: Update, context: Context, text: str) -> None:
    """A refusal for one person in a group goes to their private chat; if the messenger will not
    let the bot write to them first, nobody hears of it."""
    with contextlib.suppress(TelegramError):
        # A private chat's id is its person's id.
        await context.bot.send_message(update.effective_user.id, text)


def private_buttons_only(handler):
    """Citizen buttons are only ever posted in private chats; pressed elsewhere (a tampered
    client), they are refused before anything changes or is posted in a group."""
    async def guarded(update: Update, context: Context):
        if update.effective_chat is None or update.effective_chat.type != "private":
            await answer(update, texts.button_expired(), alert=True)
            return None
        return await handler(update, context)
    guarded.__name__ = handler.__name__
    return guarded


@contextlib.asynccontextmanager
async def unless_unchanged():
    """An edit that changes nothing (a double tap, the same page twice) is not an error."""
    try:
        yield
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def set_buttons(update: Update, markup) -> None:
    """Replace the pressed message's buttons."""
    async def edit() -> None:
        async with unless_unchanged():
            await update.callback_query.edit_message_reply_markup(markup)
    await outbox.send(edit)


async def edit_pressed(update: Update, context: Context, text: str, markup=None) -> None:
    """The pressed message becomes ``text`` (with ``markup``'s buttons, or none): a question
    answered in place, without a new message."""
    app = app_context(context)

    async def edit() -> None:
        async with unless_unchanged():
            await update.callback_query.edit_message_text(
                text, parse_mode=app.platform.markup.parse_mode, reply_markup=markup,
                link_preview_options=NO_LINK_PREVIEW)
    await outbox.send(edit)


async def close_question(update: Update, context: Context, suffix: str | None) -> None:
    """Take the buttons off a message whose question has been answered (optionally noting the
    answer under it). Cosmetic: when the edit fails (already edited, too old, a hiccup) the flow
    goes on."""
    query = update.callback_query
    markup = app_context(context).platform.markup

    async def edit() -> None:
        try:
            if suffix and query.message and query.message.text:
                # Rebuild the message in the messenger's markup so its bold survives the edit.
                original = query.message.text_html if markup.parse_mode == "HTML" else query.message.text
                await query.edit_message_text(f"{original}\n\n{markup.esc(suffix)}", reply_markup=None,
                                              parse_mode=markup.parse_mode, link_preview_options=NO_LINK_PREVIEW)
            else:
                await query.edit_message_reply_markup(None)
        except TelegramError:
            pass
    await outbox.send(edit)
