"""/schedule: the campaign calendar with what has been announced, and moving a boundary (admins)."""
from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.campaign.calendar import MOVABLE, MoveRefused
from bot.messenger import buttons as bt
from bot.messenger.context import AppContext, app_context
from handlers.common import Context, acting, allowed, answer
from handlers.presses import staff_press
from messages_fa import broadcasts as t
from messages_fa import texts
from messages_fa.numbers import fa_digits

BOUNDARY = "boundary_time"  # what staff_inputs expects


async def calendar_text(app: AppContext) -> tuple[str, InlineKeyboardMarkup | None]:
    calendar = app.services.calendar
    now = app.services.clock.now()
    lines, movable = [], []
    for index, name in enumerate(MOVABLE):
        moment = getattr(calendar.current, name)
        if moment is None:
            continue
        lines.append(t.schedule_boundary(name, calendar.when(moment), moment <= now))
        if moment > now:
            movable.append(InlineKeyboardButton(t.move_button(name), callback_data=bt.MoveBoundary(index).pack()))
    done = await app.services.announcements()
    lines.append("")
    for planned in calendar.planned():
        record = done.get(planned.key)
        outcome = record.outcome if record else "pending"
        lines.append(t.schedule_announcement(planned.key, calendar.when(record.due_at if record else planned.due), outcome))
    markup = InlineKeyboardMarkup([[button] for button in movable]) if movable else None
    return t.schedule_text(lines, bool(movable)), markup


async def on_schedule(update: Update, context: Context) -> None:
    app = app_context(context)
    if not allowed(app, update, "schedule"):
        await context.bot.send_message(update.effective_chat.id, t.staff_command_only())
        return
    text, markup = await calendar_text(app)
    await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)


async def on_move_pressed(update: Update, context: Context) -> None:
    app = app_context(context)
    if (press := await staff_press(update, app, bt.MoveBoundary, "schedule")) is None:
        return
    if press.index >= len(MOVABLE):
        await answer(update, texts.button_expired(), alert=True)
        return
    name = MOVABLE[press.index]
    calendar = app.services.calendar
    current = getattr(calendar.current, name)
    if current is None or current <= app.services.clock.now():
        await answer(update, t.move_refused(MoveRefused.PASSED.value), alert=True)
        return
    if update.effective_chat.type != "private":
        await answer(update, t.private_only(), alert=True)
        return
    await app.services.questions.ask(acting(app, update), BOUNDARY, name)
    await answer(update)
    await context.bot.send_message(update.effective_chat.id, t.ask_new_time(
        name, calendar.when(current), fa_digits(calendar.example_time())))


async def take_boundary_time(update: Update, context: Context, app: AppContext, name: str) -> None:
    calendar = app.services.calendar
    chat_id = update.message.chat_id
    moment = calendar.parse_time(update.message.text or "")
    if moment is None:
        await context.bot.send_message(chat_id, t.send_time_invalid(fa_digits(calendar.example_time())))
        return
    old = getattr(calendar.current, name, None)
    refused = await calendar.move(name, moment, acting(app, update))
    if refused is MoveRefused.NOT_STAFF:  # the role was taken away since on_staff_input's check
        await context.bot.send_message(chat_id, t.staff_command_only())
        return
    if refused is MoveRefused.PAST:
        await context.bot.send_message(chat_id, t.move_refused(refused.value))
        return  # the question stays open: they can type another time
    await app.services.questions.close(acting(app, update))
    if refused is not None:
        await context.bot.send_message(chat_id, t.move_refused(refused.value))
        return
    await context.bot.send_message(chat_id, t.boundary_moved(name, calendar.when(old), calendar.when(moment)))
